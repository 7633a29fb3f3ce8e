//! # kas-eval
//!
//! Everything that touches a GPU or (later) libtorch (issues "Code generation" and
//! "Evaluation").
//!
//! Today: run-time compilation of the generated CUDA C with NVRTC ([`nvrtc`], no GPU needed)
//! and running it on a CUDA device through the driver API ([`gpu`]), both through cudarc with
//! dynamic loading (a missing library is a clear error, never a panic); the device
//! [`fingerprint`]; [`timing`] of operators against cuDNN / cuBLAS (or libtorch on the CPU)
//! with validation, a tested protocol, the roofline and worker-process isolation; binding sets
//! and benchmark summaries ([`mod@bench`]). To come: the training harness, datasets, host models
//! with placeholder slots, and the search crate's `Evaluator`.

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
