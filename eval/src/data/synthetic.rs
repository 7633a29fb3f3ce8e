//! A small synthetic stand-in for an MNIST-format dataset, written in the on-disk layout of
//! [`super::catalog`] (gzipped IDX files): for tests and quick checks of the training and
//! evaluation paths without the real data. Class `c`'s images are dark with a bright band over
//! rows `2c..2c+6` plus seeded noise, so a small model learns them in a few steps.

use super::DatasetName;
use super::catalog::stored_files;
use super::paths::dataset_dir;
use crate::error::DataArgsError;
use crate::{Error, Result};
use flate2::Compression;
use flate2::write::GzEncoder;
use rand::{RngExt, SeedableRng};
use std::io::Write;
use std::path::Path;

/// Side of the synthetic images.
const SIDE: usize = 28;
/// Classes.
const CLASSES: u8 = 10;

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn split(n: usize, rng: &mut rand::rngs::Xoshiro256PlusPlus) -> (Vec<u8>, Vec<u8>) {
    let mut images = Vec::with_capacity(n * SIDE * SIDE);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = (i % CLASSES as usize) as u8;
        labels.push(c);
        for row in 0..SIDE {
            let band = (2 * c as usize..2 * c as usize + 6).contains(&row);
            for _ in 0..SIDE {
                let noise: u8 = rng.random_range(0..64);
                images.push(if band { 190 + noise } else { noise });
            }
        }
    }
    (images, labels)
}

/// Writes a synthetic `name` (an image dataset) with `train` and `test` images into
/// `dir/<name>/`, from `seed`.
pub fn write_synthetic(
    name: DatasetName,
    dir: &Path,
    train: usize,
    test: usize,
    seed: u64,
) -> Result<()> {
    if !name.is_image() || train == 0 || test == 0 {
        return Err(DataArgsError::Synthetic { name }.into());
    }
    let folder = dataset_dir(name, dir);
    std::fs::create_dir_all(&folder).map_err(|source| Error::Io {
        path: folder.clone(),
        source,
    })?;
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
    let (tr_x, tr_y) = split(train, &mut rng);
    let (te_x, te_y) = split(test, &mut rng);
    let s = SIDE as u32;
    let contents = [
        idx(&[train as u32, s, s], &tr_x),
        idx(&[train as u32], &tr_y),
        idx(&[test as u32, s, s], &te_x),
        idx(&[test as u32], &te_y),
    ];
    for (file, bytes) in stored_files(name).iter().zip(contents) {
        let path = folder.join(file.name);
        let write = || -> std::io::Result<()> {
            let mut gz = GzEncoder::new(std::fs::File::create(&path)?, Compression::fast());
            gz.write_all(&bytes)?;
            gz.finish()?.sync_all()
        };
        write().map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}
