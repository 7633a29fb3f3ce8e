//! # kas-codegen
//!
//! Lowering of complete operators to runnable code (issue "Code generation").
//!
//! This crate will own the stage IR (a sequence of contractions of at most two tensors, in the
//! order chosen by the contraction planner of [`kas_primitives::plan`]), the CUDA C emitted for
//! each stage, and export bundles. Every backend is checked against the reference interpreter
//! [`kas_primitives::interp`].

pub use kas_primitives;
