//! The campaign journal: append-only JSON lines in `journal.jsonl` of the campaign
//! directory, one record per line, each written whole and then flushed to disk
//! (`sync_data`) before the campaign goes on.
//!
//! Records (field `type`): a `header` (format version, campaign digest, rule-set digest,
//! device keys, seed), one `session` per start or resume (with its device keys and training
//! seeds), a `baseline` per fidelity and seed index, a `job` before every evaluation starts and
//! an `outcome` after it ends, a `retime` per candidate timed again on a new device, and a
//! `migration` where a resume re-keyed the journal to a new canonicalization rule set. Jobs and
//! outcomes are keyed by canonical hash + rule-set digest, fidelity, seed index, device key and
//! campaign seed. Fields added after the first journals (`seed_index`, a session's `devices`,
//! `seeds` and `promote_min_speedup`) are optional: a journal without them was written with one
//! seed, one device set and no promotion floor.
//!
//! The journal is created with its header in one rename, so it never exists without one. A
//! kill can only tear the last line; reading ignores a last line that has no newline or
//! does not parse (and opening for append cuts it off). A malformed line elsewhere is an
//! error.

use crate::error::{Result, SearchError};
use kas_campaign::Outcome;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// File name of the journal inside a campaign directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// Version of the journal format.
pub const JOURNAL_VERSION: u32 = 1;

/// One journal record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Record {
    /// First line: what every later record was produced under.
    Header {
        /// [`JOURNAL_VERSION`].
        version: u32,
        /// Campaign name.
        campaign: String,
        /// BLAKE3 of the campaign file as stored in the directory.
        campaign_digest: String,
        /// Digest of the canonicalization rule set.
        rules: String,
        /// Device keys of the evaluators, sorted, without duplicates.
        devices: Vec<String>,
        /// The campaign seed.
        seed: u64,
    },
    /// A start or resume of the campaign.
    Session {
        /// Seconds since the Unix epoch.
        started: u64,
        /// Evaluation budget of this session (total over the campaign).
        max_evals: u64,
        /// Wall-time budget of this session, in minutes.
        minutes: Option<f64>,
        /// Jobs in flight at the previous stop, re-run now.
        rerun: Vec<u64>,
        /// Device keys of this session's evaluators, sorted (absent in old journals: the
        /// header's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        devices: Option<Vec<String>>,
        /// Training seeds at the last fidelity from this session on (absent in old journals:
        /// one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seeds: Option<u32>,
        /// The promotion floor on the measured speedup from this session on (absent in old
        /// journals: none, 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        promote_min_speedup: Option<f64>,
    },
    /// The original layers at one fidelity and seed index.
    Baseline {
        /// Fidelity index.
        fidelity: usize,
        /// Seed index (`kas_campaign::seeds`; absent in old journals: 0).
        #[serde(default)]
        seed_index: u32,
        /// Device key of the evaluator.
        device: String,
        /// What was measured.
        outcome: Outcome,
    },
    /// An evaluation about to start.
    Job {
        /// Job number (0, 1, … in issue order).
        job: u64,
        /// Proposal number of the candidate.
        proposal: u64,
        /// Fidelity index.
        fidelity: usize,
        /// Seed index of the training seed (absent in old journals: 0).
        #[serde(default)]
        seed_index: u32,
        /// Canonical hash (32 hex digits).
        canonical: String,
        /// Rule-set digest of the canonical hash.
        rules: String,
        /// Structural hash.
        structural: String,
        /// Multiply-adds over the spec's bindings.
        flops: f64,
        /// Child indices from the DAG's root.
        path: Vec<u32>,
        /// The campaign seed.
        seed: u64,
    },
    /// An evaluation that ended.
    Outcome {
        /// Job number.
        job: u64,
        /// Canonical hash.
        canonical: String,
        /// Rule-set digest.
        rules: String,
        /// Fidelity index.
        fidelity: usize,
        /// Seed index of the training seed (absent in old journals: 0).
        #[serde(default)]
        seed_index: u32,
        /// Device key of the evaluator that ran it.
        device: String,
        /// The campaign seed.
        seed: u64,
        /// What was measured.
        outcome: Outcome,
        /// Its reward.
        reward: f64,
        /// Wall seconds of the evaluation.
        seconds: f64,
    },
    /// A candidate timed again, without training, on a device of this session whose key no
    /// earlier timing of it has (a campaign resumed on another device).
    Retime {
        /// Canonical hash.
        canonical: String,
        /// Rule-set digest.
        rules: String,
        /// Fidelity whose `timing_repeats` were used.
        fidelity: usize,
        /// Device key of the evaluator that timed it.
        device: String,
        /// Timing figures only, or the failure.
        outcome: Outcome,
        /// Wall seconds of the timing.
        seconds: f64,
    },
    /// A worker lost while it ran a job (its evaluator answered a `lost` failure: a failed GPU
    /// or host, or a task the engine lost). The worker stops; the job, still without an
    /// outcome, is run again once by another worker of the session.
    Retire {
        /// The job it ran.
        job: u64,
        /// Device key of the lost worker.
        device: String,
        /// Why it was lost.
        message: String,
    },
    /// The journal's canonical hashes re-keyed to a new canonicalization rule set: every
    /// record before this one is read with `rekeyed` applied, and every later one is under
    /// `to`.
    Migration {
        /// The rule-set digest of the records before.
        from: String,
        /// The rule-set digest from here on.
        to: String,
        /// Old canonical hash → new one, for every operator re-canonicalized.
        rekeyed: BTreeMap<String, String>,
        /// Old canonical hash → why it could not be re-keyed (its operator file is missing or
        /// unreadable, or it has no canonical form now); its figures stay under the old hash.
        lost: BTreeMap<String, String>,
    },
}

/// An open journal, positioned for appending.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
}

/// What reading a journal found.
#[derive(Debug, Clone)]
pub struct Contents {
    /// The records, in order.
    pub records: Vec<Record>,
    /// Length in bytes of the valid prefix.
    pub valid_len: u64,
    /// Whether a torn last line was ignored.
    pub torn: bool,
}

/// Reads the journal of `dir`.
pub fn read(dir: &Path) -> Result<Contents> {
    let path = dir.join(JOURNAL_FILE);
    let mut bytes = Vec::new();
    File::open(&path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| SearchError::io(&path, e))?;
    parse(&bytes, &path.display().to_string())
}

/// Parses journal bytes (named `name` in errors).
pub fn parse(bytes: &[u8], name: &str) -> Result<Contents> {
    let (records, valid_len, torn) = parse_lines(bytes, name)?;
    Ok(Contents {
        records,
        valid_len,
        torn,
    })
}

/// Parses append-only JSON lines of any record type `T` (named `name` in errors), as the
/// journal is read: returns the records, the length in bytes of the valid prefix, and whether a
/// torn last line (unterminated, or the last line and unparsable) was ignored. A malformed line
/// before the last is a [`SearchError::Journal`].
pub fn parse_lines<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    name: &str,
) -> Result<(Vec<T>, u64, bool)> {
    let mut records = Vec::new();
    let mut pos = 0usize;
    let mut line_no = 0usize;
    while pos < bytes.len() {
        line_no += 1;
        let end = bytes[pos..].iter().position(|&b| b == b'\n');
        let line = &bytes[pos..pos + end.unwrap_or(bytes.len() - pos)];
        let parsed = std::str::from_utf8(line)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str::<T>(s).map_err(|e| e.to_string()));
        match (end, parsed) {
            (Some(e), Ok(r)) => {
                records.push(r);
                pos += e + 1;
            }
            // The last line, unterminated or unparsable: torn by a kill.
            (None, _) => return Ok((records, pos as u64, true)),
            (Some(e), Err(_)) if pos + e + 1 == bytes.len() => {
                return Ok((records, pos as u64, true));
            }
            (Some(_), Err(message)) => {
                return Err(SearchError::Journal {
                    path: name.to_string(),
                    line: line_no,
                    message,
                });
            }
        }
    }
    Ok((records, pos as u64, false))
}

/// Appends `record` to `file` (named `path` in errors) as one JSON line and flushes it to disk
/// (`sync_data`), as the journal appends.
pub fn append_line<T: Serialize>(file: &mut File, path: &Path, record: &T) -> Result<()> {
    let mut line = serde_json::to_vec(record)
        .map_err(|e| SearchError::io(path, std::io::Error::other(e.to_string())))?;
    line.push(b'\n');
    file.write_all(&line)
        .and_then(|_| file.sync_data())
        .map_err(|e| SearchError::io(path, e))
}

impl Journal {
    /// Creates the journal of a new campaign in `dir` (which must not have one) with its
    /// first record `header`: written to `journal.tmp`, flushed and renamed into place, so a
    /// journal never exists without its header. The caller holds the directory's lock
    /// ([`crate::lock`]), so nothing else creates a journal between the check and the rename.
    pub fn create(dir: &Path, header: &Record) -> Result<Journal> {
        let path = dir.join(JOURNAL_FILE);
        if path.exists() {
            return Err(SearchError::io(
                &path,
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }
        let tmp = dir.join("journal.tmp");
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| SearchError::io(&tmp, e))?;
        let mut journal = Journal { file, path: tmp };
        journal.append(header)?;
        std::fs::rename(&journal.path, &path).map_err(|e| SearchError::io(&path, e))?;
        journal.path = path;
        // Make the new file's directory entry durable too.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(journal)
    }

    /// Opens the journal of `dir` for appending, cutting off a torn last line; returns the
    /// records read.
    pub fn open(dir: &Path) -> Result<(Journal, Contents)> {
        let contents = read(dir)?;
        let path = dir.join(JOURNAL_FILE);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| SearchError::io(&path, e))?;
        if contents.torn {
            file.set_len(contents.valid_len)
                .and_then(|_| file.sync_data())
                .map_err(|e| SearchError::io(&path, e))?;
        }
        Ok((Journal { file, path }, contents))
    }

    /// Appends one record and flushes it to disk.
    pub fn append(&mut self, record: &Record) -> Result<()> {
        append_line(&mut self.file, &self.path, record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kas_campaign::{FailureKind, Metrics};

    fn records() -> Vec<Record> {
        vec![
            Record::Header {
                version: JOURNAL_VERSION,
                campaign: "t".into(),
                campaign_digest: "abc".into(),
                rules: "r".into(),
                devices: vec!["stand-in".into()],
                seed: 3,
            },
            Record::Job {
                job: 0,
                proposal: 0,
                fidelity: 0,
                seed_index: 0,
                canonical: format!("{:032x}", 7u128),
                rules: "r".into(),
                structural: format!("{:032x}", 9u128),
                flops: 1234.5,
                path: vec![0, 3, 1],
                seed: 3,
            },
            Record::Outcome {
                job: 0,
                canonical: format!("{:032x}", 7u128),
                rules: "r".into(),
                fidelity: 0,
                seed_index: 0,
                device: "stand-in".into(),
                seed: 3,
                outcome: Outcome::Ok(Metrics {
                    accuracy: Some(0.1 + 0.2),
                    ..Metrics::default()
                }),
                reward: 0.1 + 0.2,
                seconds: 0.5,
            },
            Record::Outcome {
                job: 1,
                canonical: format!("{:032x}", 8u128),
                rules: "r".into(),
                fidelity: 0,
                seed_index: 0,
                device: "stand-in".into(),
                seed: 3,
                outcome: Outcome::failed(FailureKind::Crashed, "boom"),
                reward: 0.0,
                seconds: 0.0,
            },
        ]
    }

    #[test]
    fn round_trip_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), &records()[0]).unwrap();
        for r in &records()[1..] {
            j.append(r).unwrap();
        }
        let c = read(dir.path()).unwrap();
        assert!(!c.torn);
        assert_eq!(c.records, records());
        assert!(
            Journal::create(dir.path(), &records()[0]).is_err(),
            "never overwrite a journal"
        );
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), &records()[0]).unwrap();
        for r in &records()[1..] {
            j.append(r).unwrap();
        }
        drop(j);
        let path = dir.path().join(JOURNAL_FILE);
        let full = std::fs::read(&path).unwrap();
        // Cut inside the last line, at every possible point.
        let last_start = full[..full.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap()
            + 1;
        for cut in last_start..full.len() - 1 {
            let c = parse(&full[..cut], "j").unwrap();
            assert_eq!(c.records, records()[..3], "cut at {cut}");
            assert_eq!(c.torn, cut > last_start);
        }
        std::fs::write(&path, &full[..full.len() - 7]).unwrap();
        let (mut j, c) = Journal::open(dir.path()).unwrap();
        assert!(c.torn);
        j.append(&records()[3]).unwrap();
        let c = read(dir.path()).unwrap();
        assert!(!c.torn);
        assert_eq!(c.records, records());
    }

    #[test]
    fn a_bad_line_before_the_end_is_an_error() {
        let mut bytes = Vec::new();
        for r in records() {
            bytes.extend(serde_json::to_vec(&r).unwrap());
            bytes.push(b'\n');
        }
        let first_nl = bytes.iter().position(|&b| b == b'\n').unwrap();
        bytes[first_nl + 3] = b'#';
        let e = parse(&bytes, "j.jsonl").unwrap_err().to_string();
        assert!(e.starts_with("j.jsonl:2: malformed journal record"), "{e}");
    }
}
