//! The one error type of the crate.

use thiserror::Error;

/// What can go wrong while setting up, running or resuming a search campaign.
///
/// Every variant renders as one line, so the command line prints it as is. Failed or invalid
/// *candidates* are not errors: they are `kas_campaign::Outcome::Failed` outcomes.
#[derive(Debug, Error)]
pub enum SearchError {
    /// A campaign file is malformed, inconsistent or unreadable.
    #[error(transparent)]
    Campaign(#[from] kas_campaign::CampaignError),
    /// The slot spec could not be read or synthesized for.
    #[error("spec: {0}")]
    Spec(String),
    /// Reading or writing a campaign directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A journal line other than a torn last line is malformed.
    #[error("{path}:{line}: malformed journal record: {message}")]
    Journal {
        /// The journal file.
        path: String,
        /// One-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A journal record disagrees with the journal's header or with an earlier record (an
    /// outcome under another rule-set digest or device, a second outcome for a job, …).
    #[error("{path}:{line}: {message}")]
    Inconsistent {
        /// The journal file.
        path: String,
        /// One-based line number.
        line: usize,
        /// What disagrees, with both values.
        message: String,
    },
    /// The journal was written under other keys (rule-set digest, device, seed, campaign).
    #[error("cannot {action} {path}: {message}")]
    Mismatch {
        /// What was refused: `resume` or `report on`.
        action: &'static str,
        /// The campaign directory.
        path: String,
        /// Which key differs, with both values.
        message: String,
    },
    /// The directory holds a campaign file but no journal record: its start failed or was
    /// killed before the journal's header, so there is nothing to resume or report.
    #[error(
        "cannot {action} {path}: the campaign never started (its journal.jsonl is missing or holds no record); start it again with --out {path}"
    )]
    NotStarted {
        /// What was refused: `resume` or `report on`.
        action: &'static str,
        /// The campaign directory.
        path: String,
    },
    /// Another process works on the campaign directory (it holds the directory's lock).
    #[error("{path} is in use by another kas process ({holder}); wait for it to end or stop it")]
    Locked {
        /// The campaign directory.
        path: String,
        /// Who holds the lock, as its lock file says (pid and start time).
        holder: String,
    },
    /// A new campaign was asked for in a directory that holds other files.
    #[error(
        "{path} is not empty and holds no campaign (it has {entry}): choose a new or empty directory for --out"
    )]
    NotEmpty {
        /// The directory.
        path: String,
        /// One of the entries found there.
        entry: String,
    },
    /// Replaying the journal did not reproduce the recorded proposals.
    #[error("cannot resume: the journal diverges from the search at job {job}: {message}")]
    Diverged {
        /// The first job that differs.
        job: u64,
        /// What was expected and what was found.
        message: String,
    },
    /// Every worker of the session was lost (each evaluator answered a `lost` failure).
    #[error("every worker was lost, the last one: {last}")]
    WorkersLost {
        /// Why the last worker was lost.
        last: String,
    },
    /// An argument is out of range.
    #[error("{0}")]
    Invalid(String),
}

impl SearchError {
    /// An [`SearchError::Io`] for `path`.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> SearchError {
        SearchError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// Result with [`SearchError`].
pub type Result<T> = std::result::Result<T, SearchError>;
