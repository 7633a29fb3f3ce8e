//! # kas-eval
//!
//! Everything that touches a GPU or libtorch (`docs/ARCHITECTURE.md`, "Evaluation").
//!
//! Run-time compilation of the generated CUDA C with NVRTC ([`nvrtc`], no GPU needed)
//! and running it on a CUDA device through the driver API ([`gpu`]), both through cudarc with
//! dynamic loading (a missing library is a clear error, never a panic); datasets ([`data`]:
//! fetched from package registries, verified, parsed into tch tensors, batched with
//! normalisation and augmentation); host models with placeholder slots ([`models`]) and the
//! brief-training harness ([`train`]); the device [`fingerprint`]; [`timing`] of operators
//! against cuDNN / cuBLAS (or libtorch on the CPU) with validation, a tested protocol, the
//! roofline and worker-process isolation; binding sets and benchmark summaries ([`mod@bench`]);
//! whole-model timing with kas's kernels in every slot ([`whole`]); the search campaigns' real
//! [`evaluator`].

pub mod bench;
pub mod data;
pub mod error;
pub mod evaluator;
pub mod fingerprint;
pub mod gather;
pub mod gpu;
pub mod graph_plan;
pub mod models;
pub mod nvrtc;
pub mod precision;
pub mod seeded;
pub mod spec_gen;
pub mod tch_plan;
pub mod timing;
pub mod torch_context;
pub mod train;
pub mod tune;
pub mod whole;

pub use error::{Error, Result};
pub use kas_codegen;
