//! One training run of the host model at a fidelity: the model's recipe, the campaign's seed,
//! a step budget from the fidelity's `train_steps` or `epochs`.

use crate::error::{ConfigError, Result};
use crate::models::ModelConfig;
use crate::models::slot::Fill;
use crate::train::vision::{ImageSource, train_vision};
use crate::train::{Budget, TrainConfig, TrainProgress, TrainResult};
use kas_campaign::Fidelity;

/// The training steps of `fidelity` on `data` at batch `batch`: its `train_steps`, else its
/// `epochs` (fractional allowed) times the steps of one epoch, at least one step.
pub fn steps_of(fidelity: &Fidelity, data: &dyn ImageSource, batch: i64) -> Result<usize> {
    let per_epoch = data.steps_per_epoch(batch);
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
/// batch (where the device's [gate](super::gate) may hold the training).
pub fn train(
    model: ModelConfig,
    fill: Fill<'_>,
    data: &dyn ImageSource,
    recipe: &TrainConfig,
    steps: usize,
    between_steps: &mut dyn FnMut(),
) -> Result<TrainResult> {
    let mut cfg = recipe.clone();
    cfg.budget = Budget::Steps(steps);
    // Evaluate once, at the end: the search compares final accuracies.
    cfg.eval_every = 0;
    let mut progress = |_: &TrainProgress| between_steps();
    train_vision(model, fill, data, &cfg, Some(&mut progress))
}
