//! The tuning cache: the winning [`Schedule`] per operator, binding and device, so nothing is
//! tuned twice.
//!
//! A key names the operator's canonical hash and the digest of the rule set that produced it,
//! a digest of its stage IR (two operators with one canonical form can lower differently),
//! the binding's values, the device key of the fingerprint, the precision and the generator's
//! version. The
//! cache is one JSON file (`$KAS_HOME/tune/cache.json`), written whole to a temporary file and
//! renamed, so a kill never leaves half a file. [`TuneCache::export`] / [`TuneCache::import`]
//! move entries between machines (a bare GPU machine starts empty).

use crate::error::{Error, Result, TuneError};
use kas_codegen::schedule::Schedule;
use kas_codegen::{Precision, StageIr};
use kas_primitives::canon::canonicalize;
use kas_primitives::{Binding, NamedBinding, Operator};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Version of the kernel generator: entries tuned by another version are not used.
pub const GENERATOR_VERSION: u32 = 12;

/// What identifies one tuning problem.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TuneKey {
    /// Canonical hash of the operator (hex).
    pub canonical: String,
    /// Digest of the rule set behind the canonical hash.
    pub rules: String,
    /// Digest of the stage IR (hex, 16 digits).
    pub plan: String,
    /// The binding's variable values, `N=1,C_in=64,…`.
    pub binding: String,
    /// The device key of the GPU's fingerprint.
    pub device: String,
    /// [`GENERATOR_VERSION`] at tuning time.
    pub generator: u32,
    /// The precision the schedule was tuned at (entries written before precisions existed
    /// are f32).
    #[serde(default)]
    pub precision: Precision,
}

impl TuneKey {
    /// The key of `op` lowered as `ir` under `b` on `device` at precision `p`.
    pub fn new(
        op: &Operator,
        ir: &StageIr,
        b: &Binding,
        device: &str,
        p: Precision,
    ) -> Result<TuneKey> {
        let c = canonicalize(op)?;
        let values = NamedBinding::from_binding(b, &op.vars)
            .values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let plan = blake3::hash(ir.display().as_bytes()).to_hex()[..16].to_string();
        Ok(TuneKey {
            canonical: format!("{:032x}", c.hash.0),
            rules: c.rules.to_string(),
            plan,
            binding: values,
            device: device.to_string(),
            generator: GENERATOR_VERSION,
            precision: p,
        })
    }

    /// One line: `canonical/rules/plan/binding/device/g<version>` (`…/g<version>/<precision>`
    /// at TF32 or bf16).
    pub fn text(&self) -> String {
        let mut s = format!(
            "{}/{}/{}/{}/{}/g{}",
            self.canonical, self.rules, self.plan, self.binding, self.device, self.generator
        );
        if self.precision != Precision::F32 {
            s.push_str(&format!("/{}", self.precision));
        }
        s
    }
}

/// A tuned schedule and what it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneEntry {
    /// The winner.
    pub schedule: Schedule,
    /// Median time of each stage's winning kernel(s) (seconds).
    pub stage_seconds: Vec<f64>,
    /// Median time of each stage's reference kernel (seconds).
    pub reference_seconds: Vec<f64>,
    /// Candidates validated and timed through all their runs.
    pub candidates: usize,
    /// Candidates rejected (compile error, wrong result or launch failure).
    pub rejected: usize,
    /// Valid candidates whose first timed run was slower than twice the best so far, not
    /// timed further ([`crate::tune::tuner::PRUNE_FACTOR`]; 0 in caches written before).
    #[serde(default)]
    pub pruned: usize,
    /// Unix time of the tuning.
    pub tuned_at: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CacheFile {
    format: String,
    entries: Vec<(TuneKey, TuneEntry)>,
}

const FORMAT: &str = "kas-tune-cache v1";

/// The cache in memory.
#[derive(Debug, Clone, Default)]
pub struct TuneCache {
    entries: BTreeMap<TuneKey, TuneEntry>,
}

/// `$KAS_HOME/tune/cache.json`.
pub fn default_path() -> PathBuf {
    crate::data::paths::kas_home()
        .join("tune")
        .join("cache.json")
}

impl TuneCache {
    /// Reads a cache file; an absent file is an empty cache.
    pub fn load(path: &Path) -> Result<TuneCache> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TuneCache::default()),
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let file: CacheFile =
            serde_json::from_str(&text).map_err(|source| TuneError::NotACache {
                path: path.to_path_buf(),
                source,
            })?;
        if file.format != FORMAT {
            return Err(TuneError::Format {
                path: path.to_path_buf(),
                found: file.format,
                expected: FORMAT,
            }
            .into());
        }
        Ok(TuneCache {
            entries: file.entries.into_iter().collect(),
        })
    }

    /// Writes the cache whole (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = CacheFile {
            format: FORMAT.into(),
            entries: self
                .entries
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let text = serde_json::to_string_pretty(&file).map_err(TuneError::Serialize)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The entry of a key.
    pub fn get(&self, key: &TuneKey) -> Option<&TuneEntry> {
        self.entries.get(key)
    }

    /// The entries of an operator, binding and precision on any device (the most recent
    /// first): what an export bundle carries when the exporting machine has no GPU.
    pub fn any_device(&self, key: &TuneKey) -> Vec<(&TuneKey, &TuneEntry)> {
        let mut v: Vec<_> = self
            .entries
            .iter()
            .filter(|(k, _)| {
                k.canonical == key.canonical
                    && k.rules == key.rules
                    && k.plan == key.plan
                    && k.binding == key.binding
                    && k.generator == key.generator
                    && k.precision == key.precision
            })
            .collect();
        v.sort_by_key(|(_, e)| std::cmp::Reverse(e.tuned_at));
        v
    }

    /// Adds or replaces an entry.
    pub fn insert(&mut self, key: TuneKey, entry: TuneEntry) {
        self.entries.insert(key, entry);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&TuneKey, &TuneEntry)> {
        self.entries.iter()
    }

    /// Writes every entry to `path` (same format as the cache).
    pub fn export(&self, path: &Path) -> Result<()> {
        self.save(path)
    }

    /// Merges the entries of the file at `path` (theirs win on equal keys); returns how many
    /// were read.
    pub fn import(&mut self, path: &Path) -> Result<usize> {
        if !path.exists() {
            return Err(TuneError::NoFile {
                path: path.to_path_buf(),
            }
            .into());
        }
        let other = TuneCache::load(path)?;
        let n = other.len();
        self.entries.extend(other.entries);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kas_codegen::schedule::{StageSchedule, Tile};
    use kas_primitives::library;

    fn entry() -> TuneEntry {
        TuneEntry {
            schedule: Schedule {
                stages: vec![StageSchedule::Tiled(Tile {
                    bm: 64,
                    bn: 64,
                    bk: 8,
                    tm: 4,
                    tn: 4,
                    split_k: 1,
                    min_blocks: 1,
                })],
            },
            stage_seconds: vec![1e-5],
            reference_seconds: vec![1e-4],
            candidates: 9,
            rejected: 0,
            pruned: 0,
            tuned_at: 1,
        }
    }

    #[test]
    fn keys_separate_bindings_and_devices_and_entries_round_trip() {
        let op = (library::get("conv2d").unwrap().build)().unwrap();
        let ir = StageIr::lower(&op).unwrap();
        let k0 = TuneKey::new(&op, &ir, &op.bindings[0], "dev-a", Precision::F32).unwrap();
        let k1 = TuneKey::new(&op, &ir, &op.bindings[1], "dev-a", Precision::F32).unwrap();
        let k2 = TuneKey::new(&op, &ir, &op.bindings[0], "dev-b", Precision::F32).unwrap();
        assert_ne!(k0, k1);
        assert_ne!(k0, k2);
        assert_eq!(
            k0,
            TuneKey::new(&op, &ir, &op.bindings[0], "dev-a", Precision::F32).unwrap()
        );
        assert!(k0.text().contains("dev-a"));
        let bf = TuneKey::new(&op, &ir, &op.bindings[0], "dev-a", Precision::Bf16).unwrap();
        assert_ne!(bf, k0);
        assert!(bf.text().ends_with("/bf16") && !k0.text().ends_with("f32"));

        // The canonical hash is symbolic (no binding enters it, `docs/ARCHITECTURE.md`,
        // "Canonicalization"): the key's binding values keep two bindings apart, even two that
        // differ only in a coefficient, and an operator listed with fewer bindings shares keys.
        let mut values = kas_primitives::NamedBinding::from_binding(&op.bindings[0], &op.vars);
        let k = values.values.get_mut("k").unwrap();
        *k = if *k == 5 { 3 } else { 5 };
        let other_k = values.resolve(&op.vars).unwrap();
        let k3 = TuneKey::new(&op, &ir, &other_k, "dev-a", Precision::F32).unwrap();
        assert_eq!((&k3.canonical, &k3.rules), (&k0.canonical, &k0.rules));
        assert_ne!(k3, k0);
        let mut fewer = op.clone();
        fewer.bindings.truncate(1);
        assert_eq!(
            TuneKey::new(&fewer, &ir, &op.bindings[0], "dev-a", Precision::F32).unwrap(),
            k0
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t").join("cache.json");
        assert!(TuneCache::load(&path).unwrap().is_empty());
        let mut c = TuneCache::default();
        c.insert(k0.clone(), entry());
        c.save(&path).unwrap();
        let back = TuneCache::load(&path).unwrap();
        assert_eq!(back.get(&k0), Some(&entry()));
        assert!(back.get(&k1).is_none());
        assert_eq!(back.any_device(&k2).len(), 1);

        // Export from one cache, import into another.
        let file = dir.path().join("export.json");
        back.export(&file).unwrap();
        let mut fresh = TuneCache::default();
        assert_eq!(fresh.import(&file).unwrap(), 1);
        assert_eq!(fresh.get(&k0), Some(&entry()));
        assert!(fresh.import(&dir.path().join("missing.json")).is_err());
        std::fs::write(&file, "{}").unwrap();
        assert!(TuneCache::load(&file).is_err());
    }
}
