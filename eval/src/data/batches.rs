//! Batches of images for training and evaluation: deterministic shuffling, resizing, channel
//! replication, augmentation (random crop with zero padding, horizontal flip) and normalisation,
//! all on whole batch tensors on the target device.

use super::images::{ChannelStats, ImageSet, channel_stats, check_images};
use super::stream_rng;
use crate::Result;
use crate::error::DataArgsError;
use rand::RngExt;
use rand::seq::SliceRandom;
use tch::{Device, Kind, Tensor};

/// Purpose tags of the random streams (see [`stream_rng`]).
const TAG_SHUFFLE: u64 = 1;
const TAG_AUGMENT: u64 = 2;

/// Which part of an [`ImageSet`] to iterate over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The training images: shuffled per epoch, augmented if asked, incomplete last batch
    /// dropped (every step sees `batch` images).
    Train,
    /// The test images: in order, never augmented, every image once (the last batch may be
    /// smaller).
    Test,
}

/// How images are turned into network inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImagePrep {
    /// Side of the square output images (bilinear resize when it differs from the stored side).
    pub size: i64,
    /// Output channels: the stored channel count, or any count when the set has one channel
    /// (grey images are replicated, so Fashion-MNIST can stand in for CIFAR at 3 channels).
    pub channels: i64,
    /// Random crop with zero padding of `size / 8` pixels on each side (4 at 32) and a random
    /// horizontal flip, on the training split only.
    pub augment: bool,
}

impl ImagePrep {
    /// Padding of the random crop: `size / 8`.
    pub fn padding(&self) -> i64 {
        self.size / 8
    }
}

/// The batches of one epoch of an image split; see [`image_batches`] and
/// [`DeviceImages::batches`].
#[derive(Debug)]
pub struct ImageBatches {
    images: Tensor,
    labels: Tensor,
    /// The epoch's image order, on the device (uploaded once: a host-to-device copy per batch
    /// would synchronise the stream every step and starve the GPU).
    order: Tensor,
    /// Per batch, the augmentation draws on the device: crop offsets `[2, B]` and flips `[B]`
    /// (empty when not augmenting).
    draws: Vec<(Option<Tensor>, Tensor)>,
    images_len: usize,
    batch: usize,
    batches: usize,
    next: usize,
    prep: ImagePrep,
    mean: Tensor,
    std: Tensor,
}

/// An image set on the training device, prepared once for a model: both splits' images and
/// labels moved to `device` (as compact `u8` and `i64` tensors) and the training split's
/// per-channel statistics computed, so that every epoch's batches and every evaluation's are
/// cut from tensors already there. Per batch, only the order's slice is read; resizing,
/// augmentation, channel replication and normalisation run on the device.
#[derive(Debug)]
pub struct DeviceImages {
    train: (Tensor, Tensor),
    test: (Tensor, Tensor),
    name: String,
    classes: i64,
    prep: ImagePrep,
    mean: Tensor,
    std: Tensor,
    device: Device,
}

impl DeviceImages {
    /// Checks `set` against `prep` (image tensors, labels, channels) and moves it to `device`.
    ///
    /// Errors on an image size or channel count below 1, images that are not non-empty
    /// `u8 [N, C, H, W]` tensors, labels that do not match them, or a channel count the set
    /// cannot provide.
    pub fn new(set: &ImageSet, prep: ImagePrep, device: Device) -> Result<DeviceImages> {
        if prep.size < 1 || prep.channels < 1 {
            return Err(DataArgsError::ImagePrep {
                batch: 1,
                size: prep.size,
                channels: prep.channels,
            }
            .into());
        }
        let split = |images: &Tensor, labels: &Tensor| -> Result<(Tensor, Tensor)> {
            check_split(set, &prep, images, labels)?;
            Ok((images.f_to_device(device)?, labels.f_to_device(device)?))
        };
        let train = split(&set.train_images, &set.train_labels)?;
        let test = split(&set.test_images, &set.test_labels)?;
        let stats = channel_stats(&set.train_images)?;
        let (mean, std) = stat_tensors(&stats, prep.channels, device)?;
        Ok(DeviceImages {
            train,
            test,
            name: set.name.clone(),
            classes: set.classes,
            prep,
            mean,
            std,
            device,
        })
    }

    /// Another handle on the same tensors on the device (shallow clones: nothing is copied).
    pub fn share(&self) -> DeviceImages {
        DeviceImages {
            train: (self.train.0.shallow_clone(), self.train.1.shallow_clone()),
            test: (self.test.0.shallow_clone(), self.test.1.shallow_clone()),
            name: self.name.clone(),
            classes: self.classes,
            prep: self.prep,
            mean: self.mean.shallow_clone(),
            std: self.std.shallow_clone(),
            device: self.device,
        }
    }

    /// The device the images are on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The set's classes.
    pub fn classes(&self) -> i64 {
        self.classes
    }

    /// Images in the training and test splits.
    pub fn sizes(&self) -> (i64, i64) {
        (self.train.0.size()[0], self.test.0.size()[0])
    }

    /// The batches of one epoch of `split` (see [`image_batches`] for what they hold); no
    /// image is copied to the device, only the epoch's order and augmentation draws.
    ///
    /// Errors on a batch size below 1 or a training split with fewer images than one batch.
    pub fn batches(&self, split: Split, batch: i64, seed: u64, epoch: u64) -> Result<ImageBatches> {
        if batch < 1 {
            return Err(DataArgsError::ImagePrep {
                batch,
                size: self.prep.size,
                channels: self.prep.channels,
            }
            .into());
        }
        let (images, labels) = match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        };
        let n = images.size()[0];
        let train = split == Split::Train;
        let mut order: Vec<i64> = (0..n).collect();
        let batch = batch as usize;
        let batches = if train {
            order.shuffle(&mut stream_rng(seed, TAG_SHUFFLE, epoch, 0));
            if order.len() < batch {
                return Err(DataArgsError::BatchOverSet {
                    batch,
                    images: n,
                    set: self.name.clone(),
                }
                .into());
            }
            order.len() / batch
        } else {
            order.len().div_ceil(batch)
        };
        let draws = if train && self.prep.augment {
            augment_draws(
                batch as i64,
                batches,
                self.prep.padding(),
                seed,
                epoch,
                self.device,
            )?
        } else {
            Vec::new()
        };
        Ok(ImageBatches {
            images: images.shallow_clone(),
            labels: labels.shallow_clone(),
            images_len: order.len(),
            order: Tensor::from_slice(&order).f_to_device(self.device)?,
            draws,
            batch,
            batches,
            next: 0,
            prep: self.prep,
            mean: self.mean.shallow_clone(),
            std: self.std.shallow_clone(),
        })
    }
}

/// Checks one split of `set`: `u8 [N, C, H, W]` images, `i64 [N]` labels, `C` the wanted
/// channels or 1.
fn check_split(set: &ImageSet, prep: &ImagePrep, images: &Tensor, labels: &Tensor) -> Result<()> {
    check_images(images, &format!("{} images", set.name))?;
    let size = images.size();
    let (n, c) = (size[0], size[1]);
    if labels.kind() != Kind::Int64 || labels.size() != [n] {
        return Err(DataArgsError::Labels {
            set: set.name.clone(),
            images: n,
            kind: labels.kind(),
            size: labels.size(),
        }
        .into());
    }
    if c != prep.channels && c != 1 {
        return Err(DataArgsError::Channels {
            set: set.name.clone(),
            channels: c,
            wanted: prep.channels,
        }
        .into());
    }
    Ok(())
}

/// The batches of one epoch: `f32 [B, channels, size, size]` normalised images and `i64 [B]`
/// labels on `device`.
///
/// [`Split::Train`]: a permutation of the training images drawn from `(seed, epoch)`, the last
/// incomplete batch dropped, augmentation (if `prep.augment`) drawn from `(seed, epoch, batch
/// index)`. [`Split::Test`]: the test images in order, no augmentation. Images are resized
/// (bilinear, no corner alignment), augmented (padding with black pixels before normalisation,
/// as torchvision's `RandomCrop(padding=…)` does), channel-replicated, then normalised with
/// the training set's per-channel mean and standard deviation ([`channel_stats`]). The same
/// arguments give the same batches on any device.
///
/// This moves `set` to `device` on every call: a training run makes one [`DeviceImages`] and
/// takes every epoch's batches from it.
///
/// Errors on a batch size or image size below 1, a channel count the set cannot provide, or
/// a training split with fewer images than one batch.
pub fn image_batches(
    set: &ImageSet,
    split: Split,
    prep: &ImagePrep,
    batch: i64,
    seed: u64,
    epoch: u64,
    device: Device,
) -> Result<ImageBatches> {
    if batch < 1 || prep.size < 1 || prep.channels < 1 {
        return Err(DataArgsError::ImagePrep {
            batch,
            size: prep.size,
            channels: prep.channels,
        }
        .into());
    }
    DeviceImages::new(set, *prep, device)?.batches(split, batch, seed, epoch)
}

/// Mean and std as `f32 [1, channels, 1, 1]` tensors on `device` (replicated from one channel
/// if needed).
fn stat_tensors(stats: &ChannelStats, channels: i64, device: Device) -> Result<(Tensor, Tensor)> {
    let pick = |v: &[f64]| -> Vec<f32> {
        (0..channels as usize)
            .map(|c| v[if v.len() == 1 { 0 } else { c }] as f32)
            .collect()
    };
    let shape = [1, channels, 1, 1];
    // A constant channel has std 0: divide by 1 instead.
    let std: Vec<f32> = (pick(&stats.std).iter())
        .map(|&s| if s > 0.0 { s } else { 1.0 })
        .collect();
    Ok((
        Tensor::from_slice(&pick(&stats.mean))
            .view(shape)
            .f_to_device(device)?,
        Tensor::from_slice(&std).view(shape).f_to_device(device)?,
    ))
}

impl ImageBatches {
    /// Prepares the batch at `index` (its position in the epoch).
    fn make(&self, index: usize) -> (Tensor, Tensor) {
        let start = index * self.batch;
        let end = (start + self.batch).min(self.images_len);
        let idx = self.order.narrow(0, start as i64, (end - start) as i64);
        let labels = self.labels.index_select(0, &idx);
        let mut x = self.images.index_select(0, &idx).to_kind(Kind::Float) / 255.0;
        let size = x.size();
        let (b, c, h, w) = (size[0], size[1], size[2], size[3]);
        let s = self.prep.size;
        if h != s || w != s {
            x = x.upsample_bilinear2d([s, s], false, None, None);
        }
        if let Some((offsets, flips)) = self.draws.get(index) {
            x = augment(&x, self.prep.padding(), offsets.as_ref(), flips);
        }
        // Replicate grey channels last (a view), so resizing and cropping touch one channel;
        // normalising writes the full batch.
        if c != self.prep.channels {
            x = x.expand([b, self.prep.channels, s, s], false);
        }
        ((x - &self.mean) / &self.std, labels)
    }
}

/// The augmentation draws of every batch of an epoch, uploaded to `device` in one copy each:
/// per batch, from `(seed, epoch, batch index)`, one crop offset pair per image (rows first,
/// then columns; none when `pad` is 0), then one flip per image.
fn augment_draws(
    b: i64,
    batches: usize,
    pad: i64,
    seed: u64,
    epoch: u64,
    device: Device,
) -> Result<Vec<(Option<Tensor>, Tensor)>> {
    let (mut offsets, mut flips) = (Vec::new(), Vec::new());
    for index in 0..batches {
        let mut rng = stream_rng(seed, TAG_AUGMENT, epoch, index as u64);
        if pad > 0 {
            offsets.extend((0..2 * b).map(|_| rng.random_range(0..=2 * pad)));
        }
        flips.extend((0..b).map(|_| rng.random_bool(0.5)));
    }
    let n = batches as i64;
    let offsets = (pad > 0)
        .then(|| {
            Tensor::from_slice(&offsets)
                .view([n, 2, b, 1, 1])
                .f_to_device(device)
        })
        .transpose()?;
    let flips = Tensor::from_slice(&flips)
        .view([n, b, 1, 1, 1])
        .f_to_device(device)?;
    Ok((0..n)
        .map(|i| (offsets.as_ref().map(|o| o.get(i)), flips.get(i)))
        .collect())
}

/// Random crop with zero padding `pad` and random horizontal flip of a `[B, C, S, S]` batch,
/// given the draws on the batch's device: crop offsets `[2, B, 1, 1]` (rows, columns; `None`
/// when `pad` is 0) and flips `[B, 1, 1, 1]`.
pub(crate) fn augment(x: &Tensor, pad: i64, offsets: Option<&Tensor>, flips: &Tensor) -> Tensor {
    let size = x.size();
    let (b, s) = (size[0], size[2]);
    let device = x.device();
    let mut x = x.shallow_clone();
    if let Some(offsets) = offsets.filter(|_| pad > 0) {
        let span = Tensor::arange(s, (Kind::Int64, device));
        let rows = offsets.get(0) + span.view([1, s, 1]);
        let cols = offsets.get(1) + span.view([1, 1, s]);
        let batch = Tensor::arange(b, (Kind::Int64, device)).view([b, 1, 1]);
        // [B, C, S+2p, S+2p] -> [B, S+2p, S+2p, C]; gather [B, S, S, C]; back to [B, C, S, S].
        let padded = x
            .constant_pad_nd([pad, pad, pad, pad])
            .permute([0, 2, 3, 1]);
        x = padded
            .index(&[Some(batch), Some(rows), Some(cols)])
            .permute([0, 3, 1, 2])
            .contiguous();
    }
    x.flip([3]).where_self(flips, &x)
}

impl Iterator for ImageBatches {
    type Item = (Tensor, Tensor);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.batches {
            return None;
        }
        let item = self.make(self.next);
        self.next += 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.batches - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for ImageBatches {}
