//! The one reader of a campaign's journal, for resume and report alike: the records of
//! `journal.jsonl` checked against its header, the stored campaign file and each other.
//!
//! Checks, each an error of one line (naming the journal line where a record is at fault):
//! * the first record is a header of this format version, and no other record is one;
//! * the header's campaign digest and seed are those of `campaign.ron`;
//! * a `session` that names devices names at least one, its seeds lie in 1 to `MAX_SEEDS`,
//!   and its promotion floor is finite and not negative;
//! * a `baseline` is at a fidelity of the campaign, measured on a device the header or an
//!   earlier session named, at a seed index below that fidelity's seeds (the last session's
//!   `seeds` at the last fidelity, else 1), and the only one of its fidelity and seed index;
//! * `job` records are numbered 0, 1, 2, … in order, at a fidelity of the campaign and a seed
//!   index it has, with 32-hex-digit hashes, the rule-set digest in effect (the header's, or the
//!   last migration's) and the header's seed;
//! * an `outcome` comes after its job's record, with no migration in between, and is the only
//!   one of that job — a second outcome is an error, never counted twice — with the job's
//!   canonical hash, fidelity and seed index, the rule set in effect, the header's seed and a
//!   device named before;
//! * a `retime` names a candidate evaluated before (re-keyed), the rule set in effect and a
//!   device named before;
//! * a `migration` goes from the rule set in effect to another one, with 32-hex-digit hashes.
//!
//! A job without an outcome since the last migration is running now or was in flight at the
//! last stop ([`History::unfinished`]): a resume runs it again, a report lists it. One before
//! the last migration is abandoned ([`History::abandoned`]).

use crate::error::{Result, SearchError};
use crate::journal::{self, Contents, JOURNAL_FILE, JOURNAL_VERSION, Record};
use kas_campaign::seeds::{MAX_SEEDS, seeds_at};
use std::collections::{HashMap, HashSet};
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
    /// Digest of the canonicalization rule set of the first records.
    pub rules: String,
    /// Device keys of the first session's evaluators, sorted.
    pub devices: Vec<String>,
}

/// A job with a `job` record and no `outcome` (yet).
#[derive(Debug, Clone, PartialEq)]
pub struct UnfinishedJob {
    /// Job number.
    pub job: u64,
    /// Canonical hash (re-keyed to the journal's current rule set).
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
    /// Jobs without an outcome since the last migration, by job number: a resume runs them
    /// again.
    pub unfinished: Vec<UnfinishedJob>,
    /// Jobs without an outcome before the last migration: abandoned (the search of the new
    /// rule set proposes them again if it finds them).
    pub abandoned: Vec<UnfinishedJob>,
    /// Whether a torn last line was ignored.
    pub torn: bool,
    /// The rule-set digest of the last records (the header's, or the last migration's `to`).
    pub rules: String,
    /// Device keys of the last session (the header's without a session that names them).
    pub devices: Vec<String>,
    /// Training seeds at the last fidelity of the last session (1 in journals that do not
    /// say).
    pub seeds: u32,
    /// Index into `records` of the last migration, if any.
    pub last_migration: Option<usize>,
    /// Old canonical hash → its hash under `rules`, composed over every migration.
    rekey: HashMap<String, String>,
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

    /// A canonical hash as the journal's current rule set keys it (re-keyed through every
    /// migration after the record that named it; unchanged when never re-keyed).
    pub fn canonical<'a>(&'a self, hash: &'a str) -> &'a str {
        self.rekey.get(hash).map_or(hash, String::as_str)
    }

    /// Whether a migration re-keyed `hash` to the journal's current rule set (a hash of an
    /// operator that no migration could re-key is not).
    pub fn is_rekeyed(&self, hash: &str) -> bool {
        self.rekey.contains_key(hash)
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
        let levels = expected.fidelities;
        let fidelity_ok = |line: usize, f: usize| {
            if f < levels {
                Ok(())
            } else {
                Err(at(
                    line,
                    format!(
                        "fidelity {f}, the campaign has {levels} (0 to {})",
                        levels.saturating_sub(1)
                    ),
                ))
            }
        };
        // What is in effect at each record: the rule set, the devices named so far (any of
        // them may have measured a figure), the last session's devices and seeds.
        let mut rules_now = rules.clone();
        let mut known: Vec<String> = devices.clone();
        let mut devices_now = devices.clone();
        let mut seeds_now = 1u32;
        let device_ok = |line: usize, what: &str, d: &str, known: &[String]| {
            if known.iter().any(|x| x == d) {
                Ok(())
            } else {
                Err(at(
                    line,
                    format!(
                        "{what} measured on device {d}, the journal's devices are [{}]",
                        known.join(", ")
                    ),
                ))
            }
        };
        let keys_ok = |line: usize, what: &str, r: &str, s: u64, rules_now: &str| {
            if r != rules_now {
                Err(at(
                    line,
                    format!("{what} under rule set {r}, the journal's is {rules_now}"),
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
        let seed_index_ok = |line: usize, what: &str, f: usize, i: u32, seeds_now: u32| {
            let n = seeds_at(f, levels, seeds_now);
            if i < n {
                Ok(())
            } else {
                Err(at(
                    line,
                    format!(
                        "{what} has seed index {i}, fidelity {f} has {n} seed(s) (0 to {})",
                        n - 1
                    ),
                ))
            }
        };
        let hash_ok = |line: usize, what: &str, which: &str, h: &str| {
            if is_hash(h) {
                Ok(())
            } else {
                Err(at(
                    line,
                    format!("{what} has {which} hash `{h}`, not 32 hex digits"),
                ))
            }
        };
        // Per job number: canonical hash, fidelity, seed index, epoch, whether its outcome
        // was read.
        let mut jobs: Vec<JobSeen> = Vec::new();
        let mut epoch = 0usize;
        let mut baselines: HashSet<(usize, u32)> = HashSet::new();
        let mut rekey: HashMap<String, String> = HashMap::new();
        let mut last_migration = None;
        for (i, r) in records.iter().enumerate().skip(1) {
            let line = i + 1;
            match r {
                Record::Header { .. } => return Err(at(line, "a second header".into())),
                Record::Session {
                    devices,
                    seeds,
                    promote_min_speedup,
                    ..
                } => {
                    if let Some(f) = promote_min_speedup
                        && !(f.is_finite() && *f >= 0.0)
                    {
                        return Err(at(
                            line,
                            format!("a session with promotion floor {f} (finite, at least 0)"),
                        ));
                    }
                    if let Some(d) = devices {
                        if d.is_empty() {
                            return Err(at(line, "a session without devices".into()));
                        }
                        for k in d {
                            if !known.contains(k) {
                                known.push(k.clone());
                            }
                        }
                        devices_now = d.clone();
                    }
                    if let Some(n) = seeds {
                        if !(1..=MAX_SEEDS).contains(n) {
                            return Err(at(
                                line,
                                format!("a session with {n} seeds (1 to {MAX_SEEDS})"),
                            ));
                        }
                        seeds_now = *n;
                    }
                }
                Record::Baseline {
                    fidelity,
                    seed_index,
                    device,
                    ..
                } => {
                    fidelity_ok(line, *fidelity)?;
                    device_ok(line, "the baseline", device, &known)?;
                    seed_index_ok(line, "the baseline", *fidelity, *seed_index, seeds_now)?;
                    if !baselines.insert((*fidelity, *seed_index)) {
                        return Err(at(
                            line,
                            format!(
                                "a second baseline for fidelity {fidelity}, seed index {seed_index}"
                            ),
                        ));
                    }
                }
                Record::Job {
                    job,
                    fidelity,
                    seed_index,
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
                    hash_ok(line, &what, "canonical", canonical)?;
                    hash_ok(line, &what, "structural", structural)?;
                    keys_ok(line, &what, r, *s, &rules_now)?;
                    seed_index_ok(line, &what, *fidelity, *seed_index, seeds_now)?;
                    jobs.push(JobSeen {
                        canonical: canonical.clone(),
                        fidelity: *fidelity,
                        seed_index: *seed_index,
                        epoch,
                        done: false,
                    });
                }
                Record::Outcome {
                    job,
                    canonical,
                    rules: r,
                    fidelity,
                    seed_index,
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
                    if entry.done {
                        return Err(at(
                            line,
                            format!(
                                "a second outcome of job {job} (was the campaign run by two processes at once?)"
                            ),
                        ));
                    }
                    if entry.epoch != epoch {
                        return Err(at(
                            line,
                            format!("{what}, whose job came before a migration of the rule set"),
                        ));
                    }
                    if *canonical != entry.canonical
                        || *fidelity != entry.fidelity
                        || *seed_index != entry.seed_index
                    {
                        return Err(at(
                            line,
                            format!(
                                "{what} is for {canonical} at fidelity {fidelity} seed index {seed_index}, the job was {} at fidelity {} seed index {}",
                                entry.canonical, entry.fidelity, entry.seed_index
                            ),
                        ));
                    }
                    keys_ok(line, &what, r, *s, &rules_now)?;
                    device_ok(line, &what, device, &known)?;
                    entry.done = true;
                }
                Record::Retime {
                    canonical,
                    rules: r,
                    fidelity,
                    device,
                    ..
                } => {
                    let what = format!("the retime of {canonical}");
                    fidelity_ok(line, *fidelity)?;
                    hash_ok(line, "a retime", "canonical", canonical)?;
                    keys_ok(line, &what, r, seed, &rules_now)?;
                    device_ok(line, &what, device, &known)?;
                    let evaluated = jobs
                        .iter()
                        .any(|j| rekey.get(&j.canonical).unwrap_or(&j.canonical) == canonical);
                    if !evaluated {
                        return Err(at(line, format!("{what}, which was never evaluated")));
                    }
                }
                Record::Retire { job, device, .. } => {
                    let what = format!("the retire of job {job}'s worker");
                    let running = usize::try_from(*job)
                        .ok()
                        .and_then(|j| jobs.get(j))
                        .is_some_and(|e| !e.done);
                    if !running {
                        return Err(at(
                            line,
                            format!("{what}, a job not running (no job record, or an outcome)"),
                        ));
                    }
                    device_ok(line, &what, device, &known)?;
                }
                Record::Migration {
                    from,
                    to,
                    rekeyed,
                    lost,
                } => {
                    if *from != rules_now {
                        return Err(at(
                            line,
                            format!(
                                "a migration from rule set {from}, the journal's is {rules_now}"
                            ),
                        ));
                    }
                    if to == from {
                        return Err(at(
                            line,
                            format!("a migration from rule set {from} to itself"),
                        ));
                    }
                    for (old, new) in rekeyed {
                        hash_ok(line, "a migration", "old canonical", old)?;
                        hash_ok(line, "a migration", "new canonical", new)?;
                    }
                    for old in lost.keys() {
                        hash_ok(line, "a migration", "lost canonical", old)?;
                    }
                    // Compose: what mapped to an old hash now maps to its new one.
                    for v in rekey.values_mut() {
                        if let Some(n) = rekeyed.get(v) {
                            *v = n.clone();
                        }
                    }
                    for (old, new) in rekeyed {
                        rekey.entry(old.clone()).or_insert_with(|| new.clone());
                    }
                    rules_now = to.clone();
                    epoch += 1;
                    last_migration = Some(i);
                }
            }
        }
        let header = Header {
            campaign: campaign.clone(),
            rules: rules.clone(),
            devices: devices.clone(),
        };
        let (mut unfinished, mut abandoned) = (Vec::new(), Vec::new());
        for (job, j) in jobs.into_iter().enumerate() {
            if j.done {
                continue;
            }
            let u = UnfinishedJob {
                job: job as u64,
                canonical: rekey.get(&j.canonical).cloned().unwrap_or(j.canonical),
                fidelity: j.fidelity,
            };
            if j.epoch == epoch {
                unfinished.push(u);
            } else {
                abandoned.push(u);
            }
        }
        Ok(History {
            header,
            records,
            unfinished,
            abandoned,
            torn: contents.torn,
            rules: rules_now,
            devices: devices_now,
            seeds: seeds_now,
            last_migration,
            rekey,
        })
    }
}

/// What the reader knows of a job.
struct JobSeen {
    canonical: String,
    fidelity: usize,
    seed_index: u32,
    /// Migrations before it.
    epoch: usize,
    done: bool,
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
        Record::Retime { .. } => "a retime",
        Record::Retire { .. } => "a retire",
        Record::Migration { .. } => "a migration",
    }
}
