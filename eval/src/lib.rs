//! # kas-eval
//!
//! Everything that touches a GPU or (later) libtorch (issues "Code generation" and
//! "Evaluation").
//!
//! Today: run-time compilation of the generated CUDA C with NVRTC ([`nvrtc`], no GPU needed)
//! and running it on a CUDA device through the driver API ([`gpu`]), both through cudarc with
//! dynamic loading (a missing library is a clear error, never a panic). To come: the tch
//! lowering of the stage IR, the training harness, datasets, host models with placeholder
//! slots, GPU timing against cuDNN / cuBLAS, the device fingerprint, and the search crate's
//! `Evaluator`.

pub mod bench;
pub mod error;
pub mod fingerprint;
pub mod gpu;
pub mod nvrtc;
pub mod tch_plan;
pub mod timing;

pub use error::{Error, Result};
pub use kas_codegen;
pub use kas_search;
