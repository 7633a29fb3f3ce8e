//! # kas-eval
//!
//! Everything that touches a GPU or (later) libtorch (issues "Code generation" and
//! "Evaluation").
//!
//! Today: run-time compilation of the generated CUDA C with NVRTC ([`nvrtc`], no GPU needed)
//! and running it on a CUDA device through the driver API ([`gpu`]), both through cudarc with
//! dynamic loading (a missing library is a clear error, never a panic), and datasets ([`data`]:
//! fetched from package registries, verified, parsed into tch tensors, batched with
//! normalisation and augmentation). To come: the training harness, host models with placeholder
//! slots, GPU timing against cuDNN / cuBLAS, the device fingerprint, and the search crate's
//! `Evaluator`.

pub mod data;
pub mod error;
pub mod gpu;
pub mod models;
pub mod nvrtc;
pub mod spec_gen;
pub mod tch_plan;
pub mod train;

pub use error::{Error, Result};
pub use kas_codegen;
pub use kas_search;
