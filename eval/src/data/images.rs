//! Image-classification sets as tensors: loading (Fashion-)MNIST from the IDX files, and the
//! per-channel statistics used for normalisation. Batching: [`image_batches`].

use super::DatasetName;
use super::catalog::{corrupt, stored_files};
use super::idx::{Idx, read_idx};
use super::paths::dataset_dir;
use crate::error::DataArgsError;
use crate::{Error, Result};
use std::path::Path;
use tch::{Kind, Tensor};

pub use super::batches::{DeviceImages, ImageBatches, ImagePrep, Split, image_batches};

/// A labelled image set, held on the CPU as compact tensors.
#[derive(Debug)]
pub struct ImageSet {
    /// Training images, `u8 [N, C, H, W]`.
    pub train_images: Tensor,
    /// Training labels, `i64 [N]`, each in `0..classes`.
    pub train_labels: Tensor,
    /// Test images, `u8 [M, C, H, W]`.
    pub test_images: Tensor,
    /// Test labels, `i64 [M]`, each in `0..classes`.
    pub test_labels: Tensor,
    /// Number of classes.
    pub classes: i64,
    /// The dataset's name (`fashion-mnist`, `mnist`, `cifar-10`, …).
    pub name: String,
}

/// Per-channel mean and standard deviation of pixel values scaled to `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelStats {
    /// Mean of each channel.
    pub mean: Vec<f64>,
    /// Standard deviation of each channel (population, over every pixel of every image).
    pub std: Vec<f64>,
}

/// Number of classes of (Fashion-)MNIST.
const MNIST_CLASSES: u8 = 10;

/// Loads an image dataset fetched by `kas data fetch` from `dir` (the data directory).
///
/// Checks each IDX file's header (magic, rank, dimensions, exact length), that images and labels
/// agree in count and that every label is a valid class; a missing dataset is
/// [`Error::DatasetMissing`] ("run `kas data fetch NAME`"), a bad file [`Error::CorruptData`]
/// naming it. Full checksums are [`super::verify_dataset`]'s job (`kas data list`).
pub fn load_images(name: DatasetName, dir: &Path) -> Result<ImageSet> {
    if !name.is_image() {
        return Err(DataArgsError::NotImages { name }.into());
    }
    let folder = dataset_dir(name, dir);
    if !folder.is_dir() {
        return Err(Error::DatasetMissing {
            name: name.to_string(),
            dir: dir.to_path_buf(),
        });
    }
    let files = stored_files(name);
    let read = |i: usize| {
        let path = folder.join(files[i].name);
        read_idx(&path).map(|idx| (idx, path))
    };
    let (train_images, train_labels) = idx_pair(read(0)?, read(1)?)?;
    let (test_images, test_labels) = idx_pair(read(2)?, read(3)?)?;
    Ok(ImageSet {
        train_images,
        train_labels,
        test_images,
        test_labels,
        classes: i64::from(MNIST_CLASSES),
        name: name.to_string(),
    })
}

/// Checks an images/labels pair of IDX arrays and turns it into tensors.
fn idx_pair(
    (images, images_path): (Idx, std::path::PathBuf),
    (labels, labels_path): (Idx, std::path::PathBuf),
) -> Result<(Tensor, Tensor)> {
    let &[n, h, w] = images.dims.as_slice() else {
        return Err(corrupt(
            &images_path,
            format!(
                "expected image dimensions [N, H, W], found {:?}",
                images.dims
            ),
        ));
    };
    let &[m] = labels.dims.as_slice() else {
        return Err(corrupt(
            &labels_path,
            format!("expected label dimensions [N], found {:?}", labels.dims),
        ));
    };
    if m != n {
        return Err(corrupt(
            &labels_path,
            format!("{m} labels for {n} images in {}", images_path.display()),
        ));
    }
    if let Some(pos) = labels.data.iter().position(|&l| l >= MNIST_CLASSES) {
        return Err(corrupt(
            &labels_path,
            format!(
                "label {} at index {pos} is not a class (0..{MNIST_CLASSES})",
                labels.data[pos]
            ),
        ));
    }
    Ok((u8_images(&images.data, n, 1, h, w), u8_labels(&labels.data)))
}

/// `u8 [n, c, h, w]` tensor from row-major bytes.
pub(crate) fn u8_images(data: &[u8], n: usize, c: usize, h: usize, w: usize) -> Tensor {
    Tensor::from_slice(data).view([n as i64, c as i64, h as i64, w as i64])
}

/// `i64 [n]` tensor from byte labels.
pub(crate) fn u8_labels(data: &[u8]) -> Tensor {
    Tensor::from_slice(data).to_kind(Kind::Int64)
}

/// Per-channel mean and standard deviation of a `u8 [N, C, H, W]` image tensor, with pixels
/// scaled to `[0, 1]` (exact: computed from a 256-bin histogram per channel).
pub fn channel_stats(images: &Tensor) -> Result<ChannelStats> {
    check_images(images, "images")?;
    let channels = images.size()[1];
    let mut mean = Vec::new();
    let mut std = Vec::new();
    for c in 0..channels {
        let hist = images
            .f_select(1, c)?
            .f_flatten(0, -1)?
            .f_bincount(None::<Tensor>, 256)?
            .f_to_device(tch::Device::Cpu)?;
        let hist = Vec::<i64>::try_from(&hist)?;
        let count: f64 = hist.iter().map(|&h| h as f64).sum();
        let m = hist
            .iter()
            .enumerate()
            .map(|(v, &h)| v as f64 / 255.0 * h as f64)
            .sum::<f64>()
            / count;
        let var = hist
            .iter()
            .enumerate()
            .map(|(v, &h)| (v as f64 / 255.0 - m).powi(2) * h as f64)
            .sum::<f64>()
            / count;
        mean.push(m);
        std.push(var.sqrt());
    }
    Ok(ChannelStats { mean, std })
}

/// Checks that `images` is a non-empty `u8 [N, C, H, W]` tensor.
pub(crate) fn check_images(images: &Tensor, what: &str) -> Result<()> {
    let size = images.size();
    if images.kind() != Kind::Uint8 || size.len() != 4 || size.contains(&0) {
        return Err(DataArgsError::Images {
            tensor: what.into(),
            kind: images.kind(),
            size,
        }
        .into());
    }
    Ok(())
}
