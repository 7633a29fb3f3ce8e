//! The one reader of a campaign's journal, for resume and report alike: the records of
//! `journal.jsonl` checked against its header, the stored campaign file and each other.
//!
//! Checks, each an error of one line (naming the journal line where a record is at fault):
//! * the first record is a header of this format version, and no other record is one;
//! * the header's campaign digest and seed are those of `campaign.ron`;
//! * a `baseline` is at a fidelity of the campaign, measured on a device of the header, and
//!   the only one of its fidelity;
//! * `job` records are numbered 0, 1, 2, … in order, at a fidelity of the campaign, with
//!   32-hex-digit hashes, the header's rule-set digest and seed;
//! * an `outcome` comes after its job's record and is the only one of that job — a second
//!   outcome is an error, never counted twice — with the job's canonical hash and fidelity,
//!   the header's rule-set digest and seed, and a device of the header.
//!
//! A job without an outcome is running now or was in flight at the last stop
//! ([`History::unfinished`]): a resume runs it again, a report lists it.

use crate::error::{Result, SearchError};
use crate::journal::{self, Contents, JOURNAL_FILE, JOURNAL_VERSION, Record};
use std::path::Path;

/// The digest of a stored campaign file's text, as the journal's header records it.
pub fn campaign_digest(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex()[..32].to_string()
}

/// What the journal must agree with: the campaign file stored in the directory.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// [`campaign_digest`] of `campaign.ron`.
    pub digest: &'a str,
    /// The campaign's seed.
    pub seed: u64,
    /// The number of fidelities of the campaign.
    pub fidelities: usize,
}

/// The journal's header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Campaign name.
    pub campaign: String,
    /// Digest of the canonicalization rule set of every canonical hash.
    pub rules: String,
    /// Device keys of the evaluators, sorted.
    pub devices: Vec<String>,
}

/// A job with a `job` record and no `outcome` (yet).
#[derive(Debug, Clone, PartialEq)]
pub struct UnfinishedJob {
    /// Job number.
    pub job: u64,
    /// Canonical hash.
    pub canonical: String,
    /// Fidelity index.
    pub fidelity: usize,
}

/// A journal that passed every check.
#[derive(Debug, Clone)]
pub struct History {
    /// The header.
    pub header: Header,
    /// Every record, in order, the header first.
    pub records: Vec<Record>,
    /// Jobs without an outcome, by job number.
    pub unfinished: Vec<UnfinishedJob>,
    /// Whether a torn last line was ignored.
    pub torn: bool,
}

impl History {
    /// Reads and checks the journal of `dir`; `action` (`resume`, `report on`) words the
    /// errors. A missing journal, or one without a record, is [`SearchError::NotStarted`].
    pub fn read(dir: &Path, expected: &Expected, action: &'static str) -> Result<History> {
        match journal::read(dir) {
            Ok(c) => History::check(c, dir, expected, action),
            Err(SearchError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Err(SearchError::NotStarted {
                    action,
                    path: dir.display().to_string(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Checks journal `contents` read from `dir` (see the module's documentation).
    pub fn check(
        contents: Contents,
        dir: &Path,
        expected: &Expected,
        action: &'static str,
    ) -> Result<History> {
        let path = dir.display().to_string();
        let name = dir.join(JOURNAL_FILE).display().to_string();
        let at = |line: usize, message: String| SearchError::Inconsistent {
            path: name.clone(),
            line,
            message,
        };
        let mismatch = |message: String| SearchError::Mismatch {
            action,
            path: path.clone(),
            message,
        };
        let records = contents.records;
        let (campaign, digest, rules, devices, seed) = match records.first() {
            None => return Err(SearchError::NotStarted { action, path }),
            Some(Record::Header {
                version,
                campaign,
                campaign_digest,
                rules,
                devices,
                seed,
            }) => {
                if *version != JOURNAL_VERSION {
                    return Err(mismatch(format!(
                        "journal version {version}, this build reads version {JOURNAL_VERSION}"
                    )));
                }
                (campaign, campaign_digest, rules, devices, *seed)
            }
            Some(r) => {
                return Err(at(
                    1,
                    format!("the first record is {}, not the header", kind(r)),
                ));
            }
        };
        if digest != expected.digest {
            return Err(mismatch(format!(
                "campaign.ron changed since the campaign started (digest {digest}, now {}); change budgets with --max-evals / --minutes instead",
                expected.digest
            )));
        }
        if seed != expected.seed {
            return Err(mismatch(format!(
                "journal seed {seed}, campaign seed {}",
                expected.seed
            )));
        }
        let fidelity_ok = |line: usize, f: usize| {
            if f < expected.fidelities {
                Ok(())
            } else {
                Err(at(
                    line,
                    format!(
                        "fidelity {f}, the campaign has {} (0 to {})",
                        expected.fidelities,
                        expected.fidelities.saturating_sub(1)
                    ),
                ))
            }
        };
        let device_ok = |line: usize, what: &str, d: &str| {
            if devices.iter().any(|x| x == d) {
                Ok(())
            } else {
                Err(at(
                    line,
                    format!(
                        "{what} measured on device {d}, the journal's devices are [{}]",
                        devices.join(", ")
                    ),
                ))
            }
        };
        let keys_ok = |line: usize, what: &str, r: &str, s: u64| {
            if r != rules {
                Err(at(
                    line,
                    format!("{what} under rule set {r}, the journal's is {rules}"),
                ))
            } else if s != seed {
                Err(at(
                    line,
                    format!("{what} with seed {s}, the journal's is {seed}"),
                ))
            } else {
                Ok(())
            }
        };
        // Per job number: canonical hash, fidelity, whether its outcome was read.
        let mut jobs: Vec<(String, usize, bool)> = Vec::new();
        let mut baselines = vec![false; expected.fidelities];
        for (i, r) in records.iter().enumerate().skip(1) {
            let line = i + 1;
            match r {
                Record::Header { .. } => return Err(at(line, "a second header".into())),
                Record::Session { .. } => {}
                Record::Baseline {
                    fidelity, device, ..
                } => {
                    fidelity_ok(line, *fidelity)?;
                    device_ok(line, "the baseline", device)?;
                    if std::mem::replace(&mut baselines[*fidelity], true) {
                        return Err(at(
                            line,
                            format!("a second baseline for fidelity {fidelity}"),
                        ));
                    }
                }
                Record::Job {
                    job,
                    fidelity,
                    canonical,
                    rules: r,
                    structural,
                    seed: s,
                    ..
                } => {
                    let what = format!("job {job}");
                    if *job != jobs.len() as u64 {
                        return Err(at(
                            line,
                            format!("{what} where job {} comes next", jobs.len()),
                        ));
                    }
                    fidelity_ok(line, *fidelity)?;
                    for (h, which) in [(canonical, "canonical"), (structural, "structural")] {
                        if !is_hash(h) {
                            return Err(at(
                                line,
                                format!("{what} has {which} hash `{h}`, not 32 hex digits"),
                            ));
                        }
                    }
                    keys_ok(line, &what, r, *s)?;
                    jobs.push((canonical.clone(), *fidelity, false));
                }
                Record::Outcome {
                    job,
                    canonical,
                    rules: r,
                    fidelity,
                    device,
                    seed: s,
                    ..
                } => {
                    let what = format!("the outcome of job {job}");
                    let Some(entry) = usize::try_from(*job).ok().and_then(|j| jobs.get_mut(j))
                    else {
                        return Err(at(
                            line,
                            format!("{what}, which has no job record before it"),
                        ));
                    };
                    if entry.2 {
                        return Err(at(
                            line,
                            format!(
                                "a second outcome of job {job} (was the campaign run by two processes at once?)"
                            ),
                        ));
                    }
                    if *canonical != entry.0 || *fidelity != entry.1 {
                        return Err(at(
                            line,
                            format!(
                                "{what} is for {canonical} at fidelity {fidelity}, the job was {} at fidelity {}",
                                entry.0, entry.1
                            ),
                        ));
                    }
                    keys_ok(line, &what, r, *s)?;
                    device_ok(line, &what, device)?;
                    entry.2 = true;
                }
            }
        }
        let header = Header {
            campaign: campaign.clone(),
            rules: rules.clone(),
            devices: devices.clone(),
        };
        let unfinished = (jobs.into_iter().enumerate())
            .filter(|(_, (_, _, done))| !done)
            .map(|(job, (canonical, fidelity, _))| UnfinishedJob {
                job: job as u64,
                canonical,
                fidelity,
            })
            .collect();
        Ok(History {
            header,
            records,
            unfinished,
            torn: contents.torn,
        })
    }
}

/// Whether `h` is 32 lower-case hex digits.
fn is_hash(h: &str) -> bool {
    h.len() == 32
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A record's type, for messages.
fn kind(r: &Record) -> &'static str {
    match r {
        Record::Header { .. } => "a header",
        Record::Session { .. } => "a session",
        Record::Baseline { .. } => "a baseline",
        Record::Job { .. } => "a job",
        Record::Outcome { .. } => "an outcome",
    }
}
