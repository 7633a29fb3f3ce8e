//! Output folders of commands that write files (`docs/CLI.md`: default `runs/<command>-<time>/`).

use anyhow::Context;
use std::path::{Path, PathBuf};

/// The folder given by `--out`, or `runs/<command>-<YYYYmmdd-HHMMSS>/`; created if missing.
pub fn out_dir(given: Option<&Path>, command: &str) -> anyhow::Result<PathBuf> {
    let dir = match given {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from("runs").join(format!(
            "{command}-{}",
            chrono::Local::now().format("%Y%m%d-%H%M%S")
        )),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}
