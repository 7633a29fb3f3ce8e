//! The one error type of synthesis.

use thiserror::Error;

/// What can go wrong while setting up or running synthesis.
#[derive(Debug, Error)]
pub enum SynthError {
    /// The spec cannot be synthesized for (an unsupported feature or an inconsistent budget).
    #[error("spec `{spec}`: {reason}")]
    Spec {
        /// Name of the spec.
        spec: String,
        /// Why it is not usable.
        reason: String,
    },
    /// Replaying a finished partial operator through the builder failed (a synthesis bug).
    #[error("replaying a synthesized operator through the builder failed: {0}")]
    Replay(#[from] kas_primitives::Error),
    /// The thread pool could not be created.
    #[error("thread pool: {0}")]
    Threads(String),
}

/// Result with [`SynthError`].
pub type Result<T> = std::result::Result<T, SynthError>;
