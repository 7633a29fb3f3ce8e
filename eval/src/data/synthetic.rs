//! Small synthetic stand-ins for the datasets, for tests and quick checks of the training and
//! evaluation paths without the real data, each in the on-disk layout of [`super::catalog`]:
//! an MNIST-format image set (gzipped IDX files; class `c`'s images are dark with a bright band
//! over rows `2c..2c+6` plus seeded noise, so a small model learns them in a few steps), and a
//! Shakespeare corpus of seeded lines over a few words ([`write_synthetic_text`]).

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

/// The words of the synthetic text: 15 letters, so with space and newline a 17-symbol
/// vocabulary.
const WORDS: [&str; 8] = [
    "the", "king", "shall", "speak", "of", "love", "and", "night",
];

/// Writes a synthetic Shakespeare corpus of at least `chars` characters into
/// `dir/shakespeare/` (the layout `kas data fetch` makes): lines of 8 words drawn from a fixed
/// list with `seed`, for tests and quick checks of the character-level GPT paths.
pub fn write_synthetic_text(dir: &Path, chars: usize, seed: u64) -> Result<()> {
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut text = String::with_capacity(chars + 64);
    while text.len() < chars {
        for i in 0..8 {
            text.push_str(WORDS[rng.random_range(0..WORDS.len())]);
            text.push(if i == 7 { '\n' } else { ' ' });
        }
    }
    let folder = dataset_dir(DatasetName::Shakespeare, dir);
    std::fs::create_dir_all(&folder).map_err(|source| Error::Io {
        path: folder.clone(),
        source,
    })?;
    let path = folder.join(stored_files(DatasetName::Shakespeare)[0].name);
    let write = || -> std::io::Result<()> {
        let mut gz = GzEncoder::new(std::fs::File::create(&path)?, Compression::fast());
        gz.write_all(text.as_bytes())?;
        gz.finish()?.sync_all()
    };
    write().map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn text(dir: &Path) -> String {
        let f = std::fs::File::open(dir.join("shakespeare/shakespeare.txt.gz")).unwrap();
        let mut s = String::new();
        flate2::read::GzDecoder::new(f)
            .read_to_string(&mut s)
            .unwrap();
        s
    }

    #[test]
    fn synthetic_text_is_seeded_long_enough_and_small_in_vocabulary() {
        let dirs = [(); 3].map(|_| tempfile::tempdir().unwrap());
        for (d, seed) in dirs.iter().zip([1, 1, 2]) {
            write_synthetic_text(d.path(), 5_000, seed).unwrap();
        }
        let [ta, tb, tc] = dirs.each_ref().map(|d| text(d.path()));
        assert!(ta.len() >= 5_000 && ta.ends_with('\n'), "{}", ta.len());
        assert_eq!(ta, tb);
        assert_ne!(ta, tc);
        let mut symbols: Vec<char> = ta.chars().collect();
        symbols.sort();
        symbols.dedup();
        assert_eq!(symbols.len(), 17, "{symbols:?}");
    }
}
