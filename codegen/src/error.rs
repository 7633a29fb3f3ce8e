//! The one error type of the crate.

use thiserror::Error;

/// What can go wrong when lowering an operator.
#[derive(Debug, Error)]
pub enum Error {
    /// The operator or its plan is invalid.
    #[error(transparent)]
    Primitives(#[from] kas_primitives::Error),
    /// A stage could not be lowered (an internal inconsistency, reported rather than panicking).
    #[error("cannot lower stage {stage}: {reason}")]
    Lowering {
        /// Stage index.
        stage: usize,
        /// What went wrong.
        reason: String,
    },
}

/// Result with the crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
