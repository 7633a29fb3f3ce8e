//! The real datasets of [`crate::data`] as training sources.

use super::lm::TokenSource;
use super::vision::{Batches, ImageSource};
use crate::data::{ImagePrep, ImageSet, Split, TextSet, image_batches, text_batch};
use crate::error::{ConfigError, Result};
use tch::Device;

/// An image set prepared for a model (resize, channels, augmentation of the training split),
/// batches on `device`.
#[derive(Debug)]
pub struct DatasetImages {
    set: ImageSet,
    prep: ImagePrep,
    device: Device,
}

impl DatasetImages {
    /// Uses `set` with `prep`, keeping only the first `limit_train` training and `limit_test`
    /// test images when given (for quick checks).
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
        Ok(DatasetImages { set, prep, device })
    }

    /// Training and test images kept.
    pub fn sizes(&self) -> (i64, i64) {
        (
            self.set.train_images.size()[0],
            self.set.test_images.size()[0],
        )
    }
}

impl ImageSource for DatasetImages {
    fn classes(&self) -> i64 {
        self.set.classes
    }

    fn steps_per_epoch(&self, batch: i64) -> usize {
        (self.set.train_images.size()[0] / batch.max(1)) as usize
    }

    fn train_epoch(&self, batch: i64, seed: u64, epoch: usize) -> Result<Batches<'_>> {
        let it = image_batches(
            &self.set,
            Split::Train,
            &self.prep,
            batch,
            seed,
            epoch as u64,
            self.device,
        )?;
        Ok(Box::new(it))
    }

    fn test(&self, batch: i64) -> Result<Batches<'_>> {
        let it = image_batches(&self.set, Split::Test, &self.prep, batch, 0, 0, self.device)?;
        Ok(Box::new(it))
    }

    fn test_len(&self) -> Option<usize> {
        usize::try_from(self.set.test_images.size()[0]).ok()
    }
}

/// A character corpus, batches on `device`; validation windows are drawn from a fixed seed so
/// that every evaluation sees the same text.
#[derive(Debug)]
pub struct DatasetText {
    set: TextSet,
    device: Device,
}

/// Seed of the validation windows.
const VAL_SEED: u64 = 0x7661_6c69_6461_7465;

impl DatasetText {
    /// Uses `set` on `device`.
    pub fn new(set: TextSet, device: Device) -> DatasetText {
        DatasetText { set, device }
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
    ) -> Result<(tch::Tensor, tch::Tensor)> {
        let (x, y) = text_batch(&self.set.train, batch, context, seed, step as u64)?;
        Ok((x.to_device(self.device), y.to_device(self.device)))
    }

    fn val_batch(
        &self,
        batch: i64,
        context: i64,
        index: usize,
    ) -> Result<(tch::Tensor, tch::Tensor)> {
        let (x, y) = text_batch(&self.set.val, batch, context, VAL_SEED, index as u64)?;
        Ok((x.to_device(self.device), y.to_device(self.device)))
    }
}
