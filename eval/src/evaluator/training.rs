//! One training run of the host model at a fidelity: the model's recipe, the campaign's seed,
//! a step budget from the fidelity's `train_steps` or `epochs`. Image classifiers train on an
//! image set and are judged by test accuracy; the GPT trains on a character corpus and is
//! judged by its validation loss.

use crate::data::{DatasetName, ImagePrep, check_text_context, load_images, load_text};
use crate::error::{ConfigError, Error, Result};
use crate::models::ModelConfig;
use crate::models::slot::Fill;
use crate::train::lm::{TokenSource, train_lm};
use crate::train::sources::{DatasetImages, DatasetText};
use crate::train::vision::{ImageSource, train_vision};
use crate::train::{Budget, TrainConfig, TrainProgress, TrainResult};
use kas_campaign::Fidelity;
use std::path::Path;

/// What an evaluator trains on.
#[derive(Debug)]
pub enum TrainData {
    /// Images, for an image classifier.
    Images(DatasetImages),
    /// A character corpus, for the GPT, and the validation batches of each evaluation.
    Text {
        /// The corpus on the training device.
        text: DatasetText,
        /// Validation batches at the end of every run.
        eval_batches: usize,
    },
}

impl TrainData {
    /// Loads dataset `name` from `dir` for `model` on `device`: images prepared for an image
    /// classifier (its classes set from the dataset), or a corpus for the GPT (its vocabulary
    /// set from the corpus). `train_subset` keeps the first this many training images (or
    /// tokens); `test_subset` the first this many test images (or, for text, validation
    /// windows: `⌈test_subset / batch⌉` batches, else the recipe's `eval_batches`). Errors: a
    /// model and dataset that do not go together, a missing or corrupt dataset, a corpus
    /// shorter than the context.
    pub fn load(
        name: DatasetName,
        dir: &Path,
        model: &mut ModelConfig,
        device: tch::Device,
        (train_subset, test_subset): (Option<i64>, Option<i64>),
        recipe: &TrainConfig,
    ) -> Result<TrainData> {
        let kind = model.kind();
        let mismatch = || Error::NotImageClassifier {
            model: kind,
            data: name,
        };
        match model {
            ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) => {
                if !name.is_image() {
                    return Err(mismatch());
                }
                let set = load_images(name, dir)?;
                v.classes = set.classes;
                let prep = ImagePrep {
                    size: v.image,
                    channels: v.channels,
                    augment: true,
                };
                Ok(TrainData::Images(DatasetImages::new(
                    set,
                    prep,
                    device,
                    train_subset,
                    test_subset,
                )?))
            }
            ModelConfig::Gpt(g) => {
                if name.is_image() {
                    return Err(mismatch());
                }
                let mut set = load_text(name, dir)?;
                if let Some(n) = train_subset {
                    if n < 1 {
                        return Err(ConfigError::Limit { split: "train" }.into());
                    }
                    set.train.truncate(usize::try_from(n).unwrap_or(usize::MAX));
                }
                check_text_context(&set.train, g.context)?;
                check_text_context(&set.val, g.context)?;
                g.vocab = set.vocab_size();
                let eval_batches = match test_subset {
                    Some(n) if n < 1 => {
                        return Err(ConfigError::Limit { split: "test" }.into());
                    }
                    Some(n) => usize::try_from((n + recipe.batch - 1) / recipe.batch.max(1))
                        .unwrap_or(1)
                        .max(1),
                    None => recipe.eval_batches,
                };
                Ok(TrainData::Text {
                    text: DatasetText::new(set, device)?,
                    eval_batches,
                })
            }
        }
    }

    /// Training steps of one epoch at batch `batch` (for the GPT: the training tokens over
    /// `batch × context`).
    pub fn steps_per_epoch(&self, model: &ModelConfig, batch: i64) -> usize {
        match (self, model) {
            (TrainData::Images(d), _) => d.steps_per_epoch(batch),
            (TrainData::Text { text, .. }, ModelConfig::Gpt(g)) => {
                (text.train_tokens() / (batch.max(1) * g.context.max(1)) as usize).max(1)
            }
            (TrainData::Text { text, .. }, _) => text.train_tokens(),
        }
    }
}

/// The training steps of `fidelity` for `model` on `data` at batch `batch`: its
/// `train_steps`, else its `epochs` (fractional allowed) times the steps of one epoch, at least
/// one step.
pub fn steps_of(
    fidelity: &Fidelity,
    data: &TrainData,
    model: &ModelConfig,
    batch: i64,
) -> Result<usize> {
    let per_epoch = data.steps_per_epoch(model, batch);
    let steps = match (fidelity.train_steps, fidelity.epochs) {
        (Some(s), _) => s as usize,
        (None, Some(e)) if e.is_finite() && e > 0.0 => (e * per_epoch as f64).round() as usize,
        (None, Some(e)) => {
            return Err(ConfigError::Epochs {
                fidelity: fidelity.name.clone(),
                epochs: e,
            }
            .into());
        }
        (None, None) => {
            return Err(ConfigError::NoBudget {
                fidelity: fidelity.name.clone(),
            }
            .into());
        }
    };
    Ok(steps.max(1))
}

/// Trains `model` with every slot filled by `fill` for `steps` steps of `recipe` (whose seed
/// and device are used as given), calling `between_steps` after every step and every test
/// batch (where the device's [gate](super::gate) may hold the training). Evaluates once, at
/// the end: test accuracy, or the validation loss over the data's `eval_batches`.
pub fn train(
    model: ModelConfig,
    fill: Fill<'_>,
    data: &TrainData,
    recipe: &TrainConfig,
    steps: usize,
    between_steps: &mut dyn FnMut(),
) -> Result<TrainResult> {
    let mut cfg = recipe.clone();
    cfg.budget = Budget::Steps(steps);
    // Evaluate once, at the end: the search compares final figures.
    cfg.eval_every = 0;
    let mut progress = |_: &TrainProgress| between_steps();
    match data {
        TrainData::Images(d) => train_vision(model, fill, d, &cfg, Some(&mut progress)),
        TrainData::Text { text, eval_batches } => {
            cfg.eval_batches = *eval_batches;
            train_lm(model, fill, text, &cfg, Some(&mut progress))
        }
    }
}
