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
}

/// The journal of `dir` as it is on disk, read without its lock: whether it is a `--quick`
/// run's and what it has measured (the newest line of a key counts); `None` without one.
pub fn measured_in(dir: &Path) -> anyhow::Result<Option<(bool, Measured)>> {
    let path = dir.join(JOURNAL_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let shown = path.display().to_string();
    let (entries, _, _) = kas_search::journal::parse_lines::<Entry>(&bytes, &shown)?;
    let quick = entries.first().is_some_and(|e| e.quick);
    let seconds: BTreeMap<String, f64> = entries.into_iter().map(|e| (e.key, e.seconds)).collect();
    Ok(Some((quick, Measured::of(seconds.values().copied()))))
}

/// An open journal: the measurements done so far, and the file to append to.
pub struct Journal {
    _lock: kas_search::lock::DirLock,
    experiment: String,
    quick: bool,
    file: File,
    path: PathBuf,
    /// Each measurement's data and the seconds it took.
    done: BTreeMap<String, (serde_json::Value, f64)>,
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
            done.insert(e.key, (e.data, e.seconds));
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
            .map(|(v, _)| {
                serde_json::from_value(v.clone())
                    .with_context(|| format!("{}: entry `{key}` is malformed", self.path.display()))
            })
            .transpose()
    }

    /// The measurements done and the seconds they took, summed (the newest line of a key
    /// counts; a measurement `--redo` dropped counts once measured again).
    pub fn measured(&self) -> Measured {
        Measured::of(self.done.values().map(|(_, s)| *s))
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
        if let Some((v, _)) = self.done.get(key) {
            eprintln!("{key}: done in an earlier run (journal), skipped");
            return serde_json::from_value(v.clone())
                .with_context(|| format!("{}: entry `{key}` is malformed", self.path.display()));
        }
        let start = std::time::Instant::now();
        let value = f()?;
        let data = serde_json::to_value(&value)?;
        let entry = Entry {
            experiment: self.experiment.clone(),
            quick: self.quick,
            key: key.into(),
            seconds: start.elapsed().as_secs_f64(),
            data: data.clone(),
        };
        kas_search::journal::append_line(&mut self.file, &self.path, &entry)?;
        self.done.insert(key.into(), (data, entry.seconds));
        Ok(value)
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
            j.measured().count,
            1,
            "a dropped measurement's seconds do not count"
        );
        assert_eq!(j.measure("m-a", || Ok(10u32)).unwrap(), 10);
        assert_eq!(j.measured().count, 2);
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
        let m = j.measured();
        assert!(m.count == 3 && m.seconds >= 0.0 && m.seconds < 1.0, "{m:?}");
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
}
