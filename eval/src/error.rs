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
    /// An operator does not fit a host model's slot.
    #[error("{0}")]
    Slot(String),
    /// A host model, training or spec configuration is invalid.
    #[error("{0}")]
    Config(String),
    /// A dataset name that kas does not know.
    #[error("unknown dataset `{0}` (known: fashion-mnist, mnist, shakespeare)")]
    UnknownDataset(String),
    /// A dataset is not in the data directory.
    #[error("dataset {name} not found in {}: run `kas data fetch {name}`", dir.display())]
    DatasetMissing {
        /// The dataset's name.
        name: String,
        /// The data directory searched.
        dir: std::path::PathBuf,
    },
    /// A dataset file is truncated, malformed or fails its checksum.
    #[error("corrupt dataset file {}: {reason}", file.display())]
    CorruptData {
        /// The offending file.
        file: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing a file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A package client (apt-get, npm, pip, dpkg-deb) needed to fetch a dataset is missing or
    /// failed.
    #[error("{0}")]
    Fetch(String),
    /// Invalid arguments to a data loader (batch size, image size, context length).
    #[error("{0}")]
    DataArgs(String),
    /// A libtorch operation failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A timing worker process failed or could not be run.
    #[error("timing worker: {0}")]
    Worker(String),
    /// The tuning cache is unreadable or malformed.
    #[error("{0}")]
    Tune(String),
    /// A benchmark request is invalid (unknown binding set, bindings that do not fit).
    #[error("{0}")]
    Bench(String),
}

/// Result with the crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
