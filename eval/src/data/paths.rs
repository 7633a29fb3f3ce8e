//! Where datasets live on disk.

use super::DatasetName;
use std::path::{Path, PathBuf};

/// The data directory: `override_dir` (a `--data-dir` flag) when given, else `$KAS_HOME/data`,
/// with `KAS_HOME` defaulting to `~/.cache/kas` (the same default as `scripts/env.sh`).
///
/// Without `HOME` either, falls back to `./.cache/kas/data` relative to the working directory.
pub fn data_dir(override_dir: Option<&Path>) -> PathBuf {
    if let Some(dir) = override_dir {
        return dir.to_path_buf();
    }
    kas_home().join("data")
}

/// `$KAS_HOME`, defaulting to `$HOME/.cache/kas`.
pub fn kas_home() -> PathBuf {
    match std::env::var_os("KAS_HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home),
        _ => {
            let base = std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."));
            base.join(".cache").join("kas")
        }
    }
}

/// The directory holding one dataset's files: `dir/<name>` (e.g. `dir/fashion-mnist`).
pub fn dataset_dir(name: DatasetName, dir: &Path) -> PathBuf {
    dir.join(name.as_str())
}
