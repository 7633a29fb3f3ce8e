//! The CIFAR-10 and CIFAR-100 binary formats, for users who have those files (no package
//! registry ships them, so `kas data fetch` cannot).
//!
//! CIFAR-10 (`cifar-10-batches-bin/`): `data_batch_1.bin` … `data_batch_5.bin` and
//! `test_batch.bin`, each a sequence of 3,073-byte records: one label byte (0–9), then 1,024
//! red, 1,024 green and 1,024 blue bytes of a 32×32 image in row-major order.
//! CIFAR-100 (`cifar-100-binary/`): `train.bin` and `test.bin`, 3,074-byte records: a coarse
//! label byte (0–19), a fine label byte (0–99), then the same 3,072 pixel bytes; kas uses the
//! fine labels.

use super::catalog::corrupt;
use super::images::{ImageSet, u8_images, u8_labels};
use crate::{Error, Result};
use std::path::Path;

/// Side of a CIFAR image.
const SIDE: usize = 32;
/// Pixel bytes of one CIFAR image (3 × 32 × 32).
const PIXELS: usize = 3 * SIDE * SIDE;

/// One CIFAR binary format.
struct Format {
    /// Dataset name for [`ImageSet::name`].
    name: &'static str,
    /// Label bytes before the pixels, and the exclusive upper bound of each.
    label_limits: &'static [u8],
    /// Which label byte is the class.
    class_byte: usize,
    /// Number of classes.
    classes: u8,
    /// Training files.
    train: &'static [&'static str],
    /// Test files.
    test: &'static [&'static str],
}

const CIFAR10: Format = Format {
    name: "cifar-10",
    label_limits: &[10],
    class_byte: 0,
    classes: 10,
    train: &[
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
    ],
    test: &["test_batch.bin"],
};

const CIFAR100: Format = Format {
    name: "cifar-100",
    label_limits: &[20, 100],
    class_byte: 1,
    classes: 100,
    train: &["train.bin"],
    test: &["test.bin"],
};

/// Reads CIFAR-10 from the binary files in `dir` (the `cifar-10-batches-bin` folder).
pub fn read_cifar10(dir: &Path) -> Result<ImageSet> {
    read(&CIFAR10, dir)
}

/// Reads CIFAR-100 (fine labels) from the binary files in `dir` (the `cifar-100-binary`
/// folder).
pub fn read_cifar100(dir: &Path) -> Result<ImageSet> {
    read(&CIFAR100, dir)
}

fn read(format: &Format, dir: &Path) -> Result<ImageSet> {
    let (train_images, train_labels) = read_files(format, dir, format.train)?;
    let (test_images, test_labels) = read_files(format, dir, format.test)?;
    Ok(ImageSet {
        train_images,
        train_labels,
        test_images,
        test_labels,
        classes: i64::from(format.classes),
        name: format.name.to_string(),
    })
}

/// Reads and concatenates the records of `files`.
fn read_files(format: &Format, dir: &Path, files: &[&str]) -> Result<(tch::Tensor, tch::Tensor)> {
    let label_bytes = format.label_limits.len();
    let record = label_bytes + PIXELS;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for file in files {
        let path = dir.join(file);
        let bytes = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::DataFileMissing {
                    dataset: format.name,
                    file: path.clone(),
                    dir: dir.to_path_buf(),
                }
            } else {
                corrupt(&path, format!("cannot read it ({e})"))
            }
        })?;
        if bytes.is_empty() || bytes.len() % record != 0 {
            return Err(corrupt(
                &path,
                format!(
                    "{} bytes is not a whole, non-zero number of {record}-byte records",
                    bytes.len()
                ),
            ));
        }
        for (i, rec) in bytes.chunks_exact(record).enumerate() {
            if let Some(pos) = (0..label_bytes).find(|&b| rec[b] >= format.label_limits[b]) {
                return Err(corrupt(
                    &path,
                    format!(
                        "record {i}: label byte {pos} is {}, not below {}",
                        rec[pos], format.label_limits[pos]
                    ),
                ));
            }
            labels.push(rec[format.class_byte]);
            pixels.extend_from_slice(&rec[label_bytes..]);
        }
    }
    let n = labels.len();
    Ok((u8_images(&pixels, n, 3, SIDE, SIDE), u8_labels(&labels)))
}
