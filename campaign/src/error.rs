//! The one error type of the crate.

use thiserror::Error;

/// What can go wrong reading a campaign file. Every variant renders as one line.
#[derive(Debug, Error)]
pub enum CampaignError {
    /// A campaign file is malformed or inconsistent.
    #[error("{path}: {message}")]
    File {
        /// The file (with `:line:column` when the parser knows it).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The slot spec is to be generated from the model and was not yet.
    #[error(
        "campaign `{campaign}`: the spec generated from model `{model}` must be resolved before it is read"
    )]
    Unresolved {
        /// The campaign's name.
        campaign: String,
        /// The host model's name.
        model: String,
    },
    /// A file could not be read (missing, too large), or is not a campaign file or not this
    /// version (checked before the rest is parsed).
    #[error(transparent)]
    Read(#[from] kas_primitives::Error),
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl CampaignError {
    /// A [`CampaignError::Io`] for `path`.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> CampaignError {
        CampaignError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// Result with [`CampaignError`].
pub type Result<T> = std::result::Result<T, CampaignError>;
