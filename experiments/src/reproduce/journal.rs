//! The journal of a reproduction: one JSON line per finished measurement in
//! `journal.jsonl` of the output directory, appended and flushed to disk as the campaign
//! journal is (`kas_search::journal::append_line`), so that a rerun into the same directory
//! skips what is done. A torn last line (a kill) is ignored and cut off. The directory's lock
//! (`kas_search::lock`, as a campaign's) is held while the journal is open, so two runs never
//! write into the same directory at once.

use super::outcome::Measured;
use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// File name of the journal inside the output directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// One finished measurement.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// The experiment's name.
    experiment: String,
    /// Whether it was the `--quick` version.
    quick: bool,
    /// The measurement's key, unique within the experiment.
    key: String,
    /// Wall seconds the measurement took.
    seconds: f64,
    /// What it measured.
    data: serde_json::Value,
    /// Where the data was adopted from (`EXPERIMENT/KEY`: the same measurement journaled by
    /// another experiment, [`Twin`]); `seconds` is then 0, the time being counted there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    adopted: Option<String>,
}

/// The entries of the journal of `dir` as it is on disk, read without its lock (a torn last
/// line left out); `None` without one.
fn entries_in(dir: &Path) -> anyhow::Result<Option<Vec<Entry>>> {
    let path = dir.join(JOURNAL_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let shown = path.display().to_string();
    let (entries, _, _) = kas_search::journal::parse_lines::<Entry>(&bytes, &shown)?;
    Ok(Some(entries))
}

/// The journal of `dir` as it is on disk, read without its lock: whether it is a `--quick`
/// run's and the seconds of each measurement by key (the newest line of a key counts);
/// `None` without one.
pub fn seconds_in(dir: &Path) -> anyhow::Result<Option<(bool, BTreeMap<String, f64>)>> {
    Ok(entries_in(dir)?.map(|entries| {
        let quick = entries.first().is_some_and(|e| e.quick);
        let seconds = entries.into_iter().map(|e| (e.key, e.seconds)).collect();
        (quick, seconds)
    }))
}

/// A measurement that another experiment also makes, identically (the same model trained
/// from the same seed at the same precision and sizes): where its journal is and its key
/// there. A journal adopts it from there rather than measuring it again
/// ([`Journal::measure_or_adopt`]).
pub struct Twin {
    /// The other experiment's output folder.
    pub dir: PathBuf,
    /// The other experiment's name.
    pub experiment: &'static str,
    /// The measurement's key in the other journal.
    pub key: String,
}

impl Twin {
    /// The twin's journaled data, if its journal holds it (a journal of the same `quick`).
    fn find(&self, quick: bool) -> anyhow::Result<Option<serde_json::Value>> {
        let entries = entries_in(&self.dir)?.unwrap_or_default();
        Ok((entries.into_iter().rev())
            .find(|e| e.experiment == self.experiment && e.quick == quick && e.key == self.key)
            .map(|e| e.data))
    }

    /// Where it comes from, in words: `EXPERIMENT/KEY`.
    fn source(&self) -> String {
        format!("{}/{}", self.experiment, self.key)
    }
}

/// An open journal: the measurements done so far, and the file to append to.
pub struct Journal {
    _lock: kas_search::lock::DirLock,
    experiment: String,
    quick: bool,
    file: File,
    path: PathBuf,
    /// Each measurement's newest line (its data, seconds and source if adopted), by key.
    done: BTreeMap<String, Entry>,
    /// No new measurement starts after this instant (`--minutes`).
    deadline: Option<Instant>,
    /// Measurements left for a later run because the deadline had passed.
    pending: Vec<String>,
}

impl Journal {
    /// Opens (or creates) the journal of `dir` for `experiment`; a journal of another
    /// experiment, or of the other of quick and full, is an error.
    pub fn open(dir: &Path, experiment: &str, quick: bool) -> anyhow::Result<Journal> {
        let lock = kas_search::lock::DirLock::acquire(dir)?;
        let path = dir.join(JOURNAL_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let shown = path.display().to_string();
        let (entries, valid_len, torn) = kas_search::journal::parse_lines::<Entry>(&bytes, &shown)?;
        let mut done = BTreeMap::new();
        for e in entries {
            if e.experiment != experiment || e.quick != quick {
                bail!(
                    "{} holds a run of `{}`{}, not `{experiment}`{}: choose another --out",
                    dir.display(),
                    e.experiment,
                    if e.quick { " --quick" } else { "" },
                    if quick { " --quick" } else { "" }
                );
            }
            done.insert(e.key.clone(), e);
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        if torn {
            file.set_len(valid_len)
                .and_then(|_| file.sync_data())
                .with_context(|| format!("cutting the torn last line of {}", path.display()))?;
        }
        Ok(Journal {
            _lock: lock,
            experiment: experiment.into(),
            quick,
            file,
            path,
            done,
            deadline: None,
            pending: Vec::new(),
        })
    }

    /// Measures again, in this run, every journaled measurement whose key starts with one of
    /// `prefixes` (`--redo`: after a fix to what measured it). The old lines stay in the file
    /// as its history; the newer line of a key wins when a journal is read. Returns the keys
    /// dropped; a prefix that matches none is an error.
    pub fn redo(&mut self, prefixes: &[String]) -> anyhow::Result<Vec<String>> {
        let matches = |k: &str, p: &str| k.starts_with(p);
        if let Some(p) = (prefixes.iter()).find(|p| !self.done.keys().any(|k| matches(k, p))) {
            let known: Vec<&str> = self.done.keys().map(String::as_str).collect();
            bail!(
                "--redo {p}: no journaled measurement's key starts with it (journaled: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        }
        let dropped: Vec<String> = (self.done.keys())
            .filter(|k| prefixes.iter().any(|p| matches(k, p)))
            .cloned()
            .collect();
        for k in &dropped {
            self.done.remove(k);
        }
        Ok(dropped)
    }

    /// Starts no new measurement after `minutes` from now (none: no limit).
    pub fn set_minutes(&mut self, minutes: Option<f64>) {
        self.deadline = minutes.map(|m| Instant::now() + Duration::from_secs_f64(m * 60.0));
    }

    /// Minutes left before the deadline (none: no limit; 0 once it has passed).
    pub fn minutes_left(&self) -> Option<f64> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()).as_secs_f64() / 60.0)
    }

    /// The measurements left for a later run (their keys), because time ran out.
    pub fn pending(&self) -> &[String] {
        &self.pending
    }

    /// [`Journal::measure`], unless the measurement is not journaled and the deadline has
    /// passed: then `None`, and the key is recorded as pending.
    pub fn measure_in_time<T: Serialize + DeserializeOwned>(
        &mut self,
        key: &str,
        f: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        let late = self.deadline.is_some_and(|d| Instant::now() >= d);
        if late && !self.done.contains_key(key) {
            self.pending.push(key.to_string());
            return Ok(None);
        }
        self.measure(key, f).map(Some)
    }

    /// The journaled measurement `key`, if there is one: nothing is measured, nothing is
    /// recorded as pending (for figures that another run of the experiment measures, such as
    /// its other precisions').
    pub fn peek<T: DeserializeOwned>(&self, key: &str) -> anyhow::Result<Option<T>> {
        self.done
            .get(key)
            .map(|e| {
                serde_json::from_value(e.data.clone())
                    .with_context(|| format!("{}: entry `{key}` is malformed", self.path.display()))
            })
            .transpose()
    }

    /// The measurements done whose key passes `keep`, and the seconds they took, summed (the
    /// newest line of a key counts; a measurement `--redo` dropped counts once measured again).
    pub fn measured_where(&self, keep: impl Fn(&str) -> bool) -> Measured {
        Measured::of(
            (self.done.iter())
                .filter(|(k, _)| keep(k))
                .map(|(_, e)| e.seconds),
        )
    }

    /// Where measurement `key` was adopted from (`EXPERIMENT/KEY`), if it was.
    pub fn adopted(&self, key: &str) -> Option<&str> {
        self.done.get(key)?.adopted.as_deref()
    }

    /// [`Journal::measure_in_time`], except that a measurement not journaled here but
    /// journaled by its `twin` is adopted from there, in time or not: journaled here with its
    /// source and 0 seconds (they count in the twin's journal), not measured again.
    pub fn measure_or_adopt<T: Serialize + DeserializeOwned>(
        &mut self,
        key: &str,
        twin: Option<&Twin>,
        f: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        if !self.done.contains_key(key)
            && let Some(twin) = twin
            && let Some(data) = twin.find(self.quick)?
        {
            let value = serde_json::from_value(data.clone()).with_context(|| {
                format!("{}: entry `{}` is malformed", twin.dir.display(), twin.key)
            })?;
            eprintln!("{key}: adopted from {}'s journal", twin.source());
            self.append(key, data, 0.0, Some(twin.source()))?;
            return Ok(Some(value));
        }
        self.measure_in_time(key, f)
    }

    /// How many journaled measurements have a key starting with `prefix`.
    pub fn keys_with_prefix(&self, prefix: &str) -> usize {
        self.done.keys().filter(|k| k.starts_with(prefix)).count()
    }

    /// How many measurements are done.
    pub fn done(&self) -> usize {
        self.done.len()
    }

    /// The measurement `key`: from the journal when it is there, else measured by `f` and
    /// journaled before it is returned.
    pub fn measure<T: Serialize + DeserializeOwned>(
        &mut self,
        key: &str,
        f: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        if let Some(e) = self.done.get(key) {
            eprintln!("{key}: done in an earlier run (journal), skipped");
            return serde_json::from_value(e.data.clone())
                .with_context(|| format!("{}: entry `{key}` is malformed", self.path.display()));
        }
        let start = std::time::Instant::now();
        let value = f()?;
        let data = serde_json::to_value(&value)?;
        self.append(key, data, start.elapsed().as_secs_f64(), None)?;
        Ok(value)
    }

    /// Journals measurement `key` (on disk first, then in memory).
    fn append(
        &mut self,
        key: &str,
        data: serde_json::Value,
        seconds: f64,
        adopted: Option<String>,
    ) -> anyhow::Result<()> {
        let entry = Entry {
            experiment: self.experiment.clone(),
            quick: self.quick,
            key: key.into(),
            seconds,
            data,
            adopted,
        };
        kas_search::journal::append_line(&mut self.file, &self.path, &entry)?;
        self.done.insert(entry.key.clone(), entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rerun_skips_what_is_journaled_and_a_torn_line_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), "x", true).unwrap();
        assert_eq!(j.measure("a", || Ok(1.5f64)).unwrap(), 1.5);
        assert_eq!(j.measure("b", || Ok(2.5f64)).unwrap(), 2.5);
        drop(j);
        // A kill in the middle of a line.
        let path = dir.path().join(JOURNAL_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"{\"experiment\":\"x\",\"qu");
        std::fs::write(&path, &bytes).unwrap();
        let mut j = Journal::open(dir.path(), "x", true).unwrap();
        assert_eq!(j.done(), 2);
        let a: f64 = j.measure("a", || anyhow::bail!("measured again")).unwrap();
        assert_eq!(a, 1.5);
        assert_eq!(j.measure("c", || Ok(3.0f64)).unwrap(), 3.0);
        drop(j);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(Journal::open(dir.path(), "x", false).is_err());
        assert!(Journal::open(dir.path(), "y", true).is_err());
    }

    #[test]
    fn past_the_deadline_only_journaled_measurements_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), "x", true).unwrap();
        assert_eq!(j.measure_in_time("a", || Ok(1u32)).unwrap(), Some(1));
        j.set_minutes(Some(0.0));
        assert_eq!(j.measure_in_time("a", || Ok(9u32)).unwrap(), Some(1));
        let b: Option<u32> = j.measure_in_time("b", || Ok(2)).unwrap();
        assert_eq!(b, None);
        assert_eq!(j.pending(), ["b".to_string()]);
        // Peeking measures nothing and marks nothing pending.
        assert_eq!(j.peek::<u32>("a").unwrap(), Some(1));
        assert_eq!(j.peek::<u32>("z").unwrap(), None);
        assert!(
            j.peek::<String>("a").is_err(),
            "a malformed entry is an error"
        );
        assert_eq!(j.pending(), ["b".to_string()]);
        j.set_minutes(None);
        assert_eq!(j.measure_in_time("b", || Ok(2u32)).unwrap(), Some(2));
    }

    #[test]
    fn redo_measures_again_and_the_newer_line_wins() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), "x", true).unwrap();
        for (k, v) in [("m-a", 1u32), ("m-b", 2), ("n-a", 3)] {
            j.measure(k, || Ok(v)).unwrap();
        }
        drop(j);
        let mut j = Journal::open(dir.path(), "x", true).unwrap();
        let e = j.redo(&["z".into()]).unwrap_err().to_string();
        assert!(e.contains("--redo z") && e.contains("m-a, m-b, n-a"), "{e}");
        let dropped = j.redo(&["m-".into()]).unwrap();
        assert_eq!(dropped, ["m-a", "m-b"]);
        assert_eq!(j.done(), 1);
        assert_eq!(
            j.measured_where(|_| true).count,
            1,
            "a dropped measurement's seconds do not count"
        );
        assert_eq!(j.measure("m-a", || Ok(10u32)).unwrap(), 10);
        assert_eq!(j.measured_where(|_| true).count, 2);
        let n: u32 = j
            .measure("n-a", || anyhow::bail!("measured again"))
            .unwrap();
        assert_eq!(n, 3);
        drop(j);
        // Four lines (the old m-a kept); read back, the new m-a wins and m-b stays pending.
        let text = std::fs::read_to_string(dir.path().join(JOURNAL_FILE)).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        let mut j = Journal::open(dir.path(), "x", true).unwrap();
        assert_eq!(j.done(), 3);
        let m = j.measured_where(|k| k.starts_with('m'));
        assert!(m.count == 2 && m.seconds >= 0.0 && m.seconds < 1.0, "{m:?}");
        let a: u32 = j
            .measure("m-a", || anyhow::bail!("measured again"))
            .unwrap();
        assert_eq!(a, 10);
    }

    #[test]
    fn one_run_at_a_time_in_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path(), "x", true).unwrap();
        let e = Journal::open(dir.path(), "x", true)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("in use by another kas process"), "{e}");
        drop(j);
        assert!(Journal::open(dir.path(), "x", true).is_ok());
    }

    #[test]
    fn a_twin_measurement_is_adopted_once_with_its_source_and_no_seconds() {
        let root = tempfile::tempdir().unwrap();
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let twin = Twin {
            dir: a.clone(),
            experiment: "exp-a",
            key: "conv-seed-0".into(),
        };
        // Nothing journaled in the twin: measured here.
        let mut jb = Journal::open(&b, "exp-b", false).unwrap();
        let v: Option<u32> = jb.measure_or_adopt("x", Some(&twin), || Ok(1)).unwrap();
        assert_eq!(v, Some(1));
        assert_eq!(jb.adopted("x"), None);
        // Journaled in the twin (a run of the same mode): adopted, even past the deadline.
        let mut ja = Journal::open(&a, "exp-a", false).unwrap();
        ja.measure("conv-seed-0", || Ok(7u32)).unwrap();
        drop(ja);
        jb.set_minutes(Some(0.0));
        let v: Option<u32> = (jb.measure_or_adopt("y", Some(&twin), || {
            anyhow::bail!("measured instead of adopted")
        }))
        .unwrap();
        assert_eq!(v, Some(7));
        assert_eq!(jb.adopted("y"), Some("exp-a/conv-seed-0"));
        assert!(jb.pending().is_empty());
        drop(jb);
        let m = seconds_in(&b).unwrap().unwrap().1;
        assert_eq!(
            m["y"], 0.0,
            "the adopted measurement's seconds count in the twin"
        );
        // Read back: the source is kept; journaled now, the twin is not read again.
        let mut jb = Journal::open(&b, "exp-b", false).unwrap();
        assert_eq!(jb.adopted("y"), Some("exp-a/conv-seed-0"));
        std::fs::remove_file(a.join(JOURNAL_FILE)).unwrap();
        let v: Option<u32> = jb.measure_or_adopt("y", Some(&twin), || Ok(9)).unwrap();
        assert_eq!(v, Some(7));
        // A --quick twin is another measurement: not adopted.
        let mut jq = Journal::open(&a, "exp-a", true).unwrap();
        jq.measure("conv-seed-0", || Ok(5u32)).unwrap();
        drop(jq);
        let v: Option<u32> = jb.measure_or_adopt("z", Some(&twin), || Ok(3)).unwrap();
        assert_eq!(v, Some(3));
        assert_eq!(jb.adopted("z"), None);
        // Measured again after --redo, it is this journal's own.
        jb.redo(&["y".into()]).unwrap();
        assert_eq!(jb.adopted("y"), None);
    }
}
