//! # kas-codegen
//!
//! Lowering of complete operators to runnable code (`docs/ARCHITECTURE.md`, "Code generation").
//!
//! - [`stage`]: the stage IR — a sequence of contractions of at most two operands, in the order
//!   chosen by the contraction planner of [`kas_primitives::plan`], with views folded into index
//!   maps and reductions performed as early as possible.
//! - [`stage_eval`]: an f64 evaluation of the stage IR, checked against the reference
//!   interpreter [`kas_primitives::interp`].
//! - [`cuda`]: CUDA C, shape-specialised per binding, each stage as its [`schedule`] says:
//!   the reference one-thread-per-element kernel or a tiled contraction ([`contraction`]
//!   gives the matrix-product view), or a contraction on tensor cores ([`tensor_core`]) at
//!   a reduced [`Precision`].

pub mod contraction;
pub mod cuda;
pub mod emulate;
pub mod error;
pub mod export;
pub mod graph;
pub mod linear;
pub mod precision;
pub mod schedule;
pub mod stage;
pub mod stage_eval;
pub mod tensor_core;

pub use error::{Error, Refusal, Result};
pub use precision::Precision;
pub use stage::{Stage, StageIr};
