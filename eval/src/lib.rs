//! # kas-eval
//!
//! Everything that touches libtorch or a GPU (issues "Code generation" and "Evaluation").
//!
//! This crate will own the tch lowering of the stage IR (trainable), the training harness,
//! datasets fetched from registry packages, host models with placeholder slots, GPU timing with
//! cudarc, cuDNN / cuBLAS baselines, the device fingerprint, and the implementation of the
//! search crate's `Evaluator` trait. It is the only crate that will link libtorch; until the
//! code-generation issue introduces tch it has no native dependencies.

pub use kas_codegen;
pub use kas_search;
