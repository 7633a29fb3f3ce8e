//! The one error type of the crate.

use thiserror::Error;

/// What can go wrong when compiling or running an operator.
#[derive(Debug, Error)]
pub enum Error {
    /// The operator, plan or lowering failed.
    #[error(transparent)]
    Codegen(#[from] kas_codegen::Error),
    /// The operator itself is invalid for the request.
    #[error(transparent)]
    Primitives(#[from] kas_primitives::Error),
    /// A CUDA library cannot be loaded (no driver, no NVRTC): a missing prerequisite.
    #[error("{0}")]
    Missing(String),
    /// NVRTC rejected a kernel.
    #[error("NVRTC failed to compile `{name}`: {log}")]
    Compile {
        /// Program name.
        name: String,
        /// The compiler's log (first lines).
        log: String,
    },
    /// The tch plan cannot be built for this operator.
    #[error("tch plan: {0}")]
    Plan(String),
    /// A CUDA driver call failed (launch, copy, module load).
    #[error("CUDA driver: {0}")]
    Driver(String),
    /// A timing worker process failed or could not be run.
    #[error("timing worker: {0}")]
    Worker(String),
    /// A benchmark request is invalid (unknown binding set, bindings that do not fit).
    #[error("{0}")]
    Bench(String),
}

/// Result with the crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
