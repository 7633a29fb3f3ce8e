//! The real datasets of [`crate::data`] as training sources.

use super::lm::TokenSource;
use super::vision::{Batches, ImageSource};
use crate::data::{DeviceImages, ImagePrep, ImageSet, Split, TextSet, window_starts};
use crate::error::{ConfigError, Result};
use std::cell::RefCell;
use tch::{Device, Kind, Tensor};

/// An image set prepared for a model (resize, channels, augmentation of the training split),
/// moved to the training device once ([`DeviceImages`]): every epoch's batches and every
/// evaluation's are cut from it on the device.
#[derive(Debug)]
pub struct DatasetImages {
    images: DeviceImages,
}

impl DatasetImages {
    /// Uses `set` with `prep` on `device`, keeping only the first `limit_train` training and
    /// `limit_test` test images when given (for quick checks).
    pub fn new(
        mut set: ImageSet,
        prep: ImagePrep,
        device: Device,
        limit_train: Option<i64>,
        limit_test: Option<i64>,
    ) -> Result<DatasetImages> {
        let cut = |t: &mut tch::Tensor, n: Option<i64>, split: &'static str| -> Result<()> {
            if let Some(n) = n {
                if n < 1 {
                    return Err(ConfigError::Limit { split }.into());
                }
                let have = t.size()[0];
                *t = t.narrow(0, 0, n.min(have));
            }
            Ok(())
        };
        cut(&mut set.train_images, limit_train, "train")?;
        cut(&mut set.train_labels, limit_train, "train")?;
        cut(&mut set.test_images, limit_test, "test")?;
        cut(&mut set.test_labels, limit_test, "test")?;
        Ok(DatasetImages {
            images: DeviceImages::new(&set, prep, device)?,
        })
    }

    /// Training and test images kept.
    pub fn sizes(&self) -> (i64, i64) {
        self.images.sizes()
    }

    /// Another handle on the same tensors (no copy): one per thread that trains from them
    /// (tch tensors are `Send` but not `Sync`; concurrent reads of one tensor are safe).
    pub fn share(&self) -> DatasetImages {
        DatasetImages {
            images: self.images.share(),
        }
    }
}

impl ImageSource for DatasetImages {
    fn classes(&self) -> i64 {
        self.images.classes()
    }

    fn steps_per_epoch(&self, batch: i64) -> usize {
        (self.sizes().0 / batch.max(1)) as usize
    }

    fn train_epoch(&self, batch: i64, seed: u64, epoch: usize) -> Result<Batches<'_>> {
        let it = self
            .images
            .batches(Split::Train, batch, seed, epoch as u64)?;
        Ok(Box::new(it))
    }

    fn test(&self, batch: i64) -> Result<Batches<'_>> {
        Ok(Box::new(self.images.batches(Split::Test, batch, 0, 0)?))
    }

    fn test_len(&self) -> Option<usize> {
        usize::try_from(self.sizes().1).ok()
    }
}

/// A character corpus on the training device: both splits' tokens are moved there once, and
/// each step's windows are gathered there from their starts, which are drawn on the host
/// ([`window_starts`], the same windows as [`crate::data::text_batch`]) and uploaded
/// [`STARTS_PER_UPLOAD`] steps at a time (a host-to-device copy synchronises the stream).
/// Validation windows are drawn from a fixed seed so that every evaluation sees the same text.
#[derive(Debug)]
pub struct DatasetText {
    set: TextSet,
    train: Tensor,
    val: Tensor,
    device: Device,
    train_starts: StartsCache,
    val_starts: StartsCache,
}

/// Seed of the validation windows.
const VAL_SEED: u64 = 0x7661_6c69_6461_7465;

/// Steps (or validation batches) whose window starts are uploaded together.
pub const STARTS_PER_UPLOAD: usize = 128;

/// The window starts of [`STARTS_PER_UPLOAD`] consecutive steps, on the device.
#[derive(Debug, Default)]
struct StartsCache(RefCell<Option<StartsChunk>>);

#[derive(Debug)]
struct StartsChunk {
    /// Seed, batch, context and first step.
    key: (u64, i64, i64, usize),
    /// `i64 [STARTS_PER_UPLOAD, batch]`.
    starts: Tensor,
}

impl StartsCache {
    /// The starts of step `step`'s windows (`i64 [batch]` on `device`), from the cached
    /// chunk or a new one.
    fn starts(
        &self,
        tokens: &[i64],
        (batch, context): (i64, i64),
        seed: u64,
        step: usize,
        device: Device,
    ) -> Result<Tensor> {
        let first = step - step % STARTS_PER_UPLOAD;
        let key = (seed, batch, context, first);
        let mut cell = self.0.borrow_mut();
        let chunk = match cell.take() {
            Some(c) if c.key == key => c,
            _ => {
                let mut all = Vec::with_capacity(STARTS_PER_UPLOAD * batch as usize);
                for s in first..first + STARTS_PER_UPLOAD {
                    all.extend(window_starts(tokens, batch, context, seed, s as u64)?);
                }
                let starts = Tensor::from_slice(&all)
                    .view([STARTS_PER_UPLOAD as i64, batch])
                    .f_to_device(device)?;
                StartsChunk { key, starts }
            }
        };
        let row = chunk.starts.get((step - first) as i64);
        *cell = Some(chunk);
        Ok(row)
    }
}

/// `x` and `y` (`i64 [B, context]`) of the windows of `corpus` (on the device) at `starts`.
fn windows(corpus: &Tensor, starts: &Tensor, context: i64) -> Result<(Tensor, Tensor)> {
    let b = starts.size()[0];
    let span = Tensor::arange(context + 1, (Kind::Int64, corpus.device()));
    let idx = starts.unsqueeze(1) + span.unsqueeze(0);
    let w = corpus
        .f_index_select(0, &idx.view([-1]))?
        .view([b, context + 1]);
    Ok((
        w.narrow(1, 0, context).contiguous(),
        w.narrow(1, 1, context).contiguous(),
    ))
}

impl DatasetText {
    /// Moves `set`'s tokens to `device`.
    pub fn new(set: TextSet, device: Device) -> Result<DatasetText> {
        let train = Tensor::from_slice(&set.train).f_to_device(device)?;
        let val = Tensor::from_slice(&set.val).f_to_device(device)?;
        Ok(DatasetText {
            set,
            train,
            val,
            device,
            train_starts: StartsCache::default(),
            val_starts: StartsCache::default(),
        })
    }
}

impl TokenSource for DatasetText {
    fn vocab(&self) -> i64 {
        self.set.vocab_size()
    }

    fn train_tokens(&self) -> usize {
        self.set.train.len()
    }

    fn train_batch(
        &self,
        batch: i64,
        context: i64,
        seed: u64,
        step: usize,
    ) -> Result<(Tensor, Tensor)> {
        let starts =
            self.train_starts
                .starts(&self.set.train, (batch, context), seed, step, self.device)?;
        windows(&self.train, &starts, context)
    }

    fn val_batch(&self, batch: i64, context: i64, index: usize) -> Result<(Tensor, Tensor)> {
        let starts = self.val_starts.starts(
            &self.set.val,
            (batch, context),
            VAL_SEED,
            index,
            self.device,
        )?;
        windows(&self.val, &starts, context)
    }
}
