//! Output folders of commands that write files (`docs/CLI.md`: default `runs/<command>-<time>/`).

use anyhow::Context;
use std::path::{Path, PathBuf};

/// The folder given by `--out`, or `runs/<command>-<YYYYmmdd-HHMMSS>/`; created if missing.
pub fn out_dir(given: Option<&Path>, command: &str) -> anyhow::Result<PathBuf> {
    let dir = out_path(given, command);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// The folder given by `--out`, or `runs/<command>-<YYYYmmdd-HHMMSS>/`, not created (for a
/// command that checks the folder before it writes there).
pub fn out_path(given: Option<&Path>, command: &str) -> PathBuf {
    match given {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from("runs").join(format!(
            "{command}-{}",
            chrono::Local::now().format("%Y%m%d-%H%M%S")
        )),
    }
}
