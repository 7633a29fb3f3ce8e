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
    /// A stage or tensor has more elements (or a stage more iterations) under a binding than
    /// kas generates code for ([`crate::cuda::MAX_ELEMENTS`]): refused before any work
    /// proportional to the sizes.
    #[error(
        "too large to generate under binding `{binding}`: {what} has {elements} elements, more than the 2^48 kas generates code for"
    )]
    TooLarge {
        /// The binding.
        binding: String,
        /// Which tensor or stage (`input`, `weight 1`, `stage 2 result`, …).
        what: String,
        /// Its element count (saturated at `u128::MAX`).
        elements: u128,
    },
}

/// Result with the crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
