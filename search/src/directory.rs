//! What a directory holds, checked before a new campaign is written into it: nothing, a
//! campaign that never started, a campaign, or other files (refused: a campaign is never
//! written among files that are not its own).

use crate::error::{Result, SearchError};
use crate::journal::{self, JOURNAL_FILE};
use crate::lock::LOCK_FILE;
use crate::runner::{CAMPAIGN_FILE, OPERATORS_DIR};
use std::path::Path;

/// The entries a campaign whose start failed, or was killed, before its journal header can
/// leave behind (besides the lock file), with the reports of a campaign whose journal is gone.
const NEVER_STARTED: [&str; 7] = [
    CAMPAIGN_FILE,
    "campaign.tmp",
    OPERATORS_DIR,
    JOURNAL_FILE,
    "journal.tmp",
    "report.md",
    "report.svg",
];

/// What a directory holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirContents {
    /// No directory, or one with nothing in it but a lock file.
    Empty,
    /// `campaign.ron` but no journal record: a start that failed or was killed before its
    /// journal's header. A new campaign may replace it; there is nothing to resume.
    NeverStarted,
    /// A journal with at least one record (or one that does not parse): a campaign.
    Campaign,
    /// Files that are not a campaign's; `entry` names one.
    Other {
        /// One of the entries.
        entry: String,
    },
}

/// Looks at `dir` (reading nothing but its listing and journal).
pub fn inspect(dir: &Path) -> Result<DirContents> {
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DirContents::Empty),
        Err(e) => return Err(SearchError::io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| SearchError::io(dir, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.retain(|n| n != LOCK_FILE);
    names.sort();
    if names.iter().any(|n| n == JOURNAL_FILE) {
        match journal::read(dir) {
            Ok(c) if c.records.is_empty() => {}
            Ok(_) | Err(SearchError::Journal { .. }) => return Ok(DirContents::Campaign),
            Err(e) => return Err(e),
        }
    }
    if names.is_empty() {
        return Ok(DirContents::Empty);
    }
    let other = names.iter().find(|n| !NEVER_STARTED.contains(&n.as_str()));
    match other {
        None if names.iter().any(|n| n == CAMPAIGN_FILE) => Ok(DirContents::NeverStarted),
        None => Ok(DirContents::Other {
            entry: names[0].clone(),
        }),
        Some(n) => Ok(DirContents::Other { entry: n.clone() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_told_apart() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("d");
        assert_eq!(inspect(&d).unwrap(), DirContents::Empty);
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join(LOCK_FILE), "pid 1").unwrap();
        assert_eq!(inspect(&d).unwrap(), DirContents::Empty);
        std::fs::write(d.join(JOURNAL_FILE), "").unwrap();
        assert_eq!(
            inspect(&d).unwrap(),
            DirContents::Other {
                entry: JOURNAL_FILE.into()
            }
        );
        std::fs::write(d.join(CAMPAIGN_FILE), "(…)").unwrap();
        std::fs::create_dir(d.join(OPERATORS_DIR)).unwrap();
        assert_eq!(inspect(&d).unwrap(), DirContents::NeverStarted);
        std::fs::write(d.join("report.md"), "# report").unwrap();
        assert_eq!(inspect(&d).unwrap(), DirContents::NeverStarted);
        std::fs::write(d.join("notes.txt"), "mine").unwrap();
        assert_eq!(
            inspect(&d).unwrap(),
            DirContents::Other {
                entry: "notes.txt".into()
            }
        );
        let header = crate::journal::Record::Session {
            started: 0,
            max_evals: 1,
            minutes: None,
            rerun: vec![],
            devices: None,
            seeds: None,
            promote_min_speedup: None,
        };
        let line = serde_json::to_string(&header).unwrap() + "\n";
        std::fs::write(d.join(JOURNAL_FILE), line).unwrap();
        assert_eq!(inspect(&d).unwrap(), DirContents::Campaign);
        std::fs::write(d.join(JOURNAL_FILE), "#\n{}\n").unwrap();
        assert_eq!(inspect(&d).unwrap(), DirContents::Campaign);
    }
}
