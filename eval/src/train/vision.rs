//! Training an image classifier (ResNet-18 or the CNN) on a source of image batches.

use super::context::{at_precision, channels_last, enter, weights_channels_last};
use super::monitor::LossMonitor;
use super::{
    Budget, Early, EvalPoint, EvalProgress, TrainConfig, TrainProgress, TrainResult, after_step,
    param_count, step, sync,
};
use crate::error::{ConfigError, Result};
use crate::models::slot::Fill;
use crate::models::{HostModel, ModelConfig};
use kas_codegen::Precision;
use std::time::Instant;
use tch::nn::{ModuleT, VarStore};
use tch::{Kind, Tensor};

/// Batches of `(images f32 [B, C, S, S], labels i64 [B])` on the training device.
pub type Batches<'a> = Box<dyn Iterator<Item = (Tensor, Tensor)> + 'a>;

/// Where a classifier's images come from.
pub trait ImageSource {
    /// Number of classes.
    fn classes(&self) -> i64;
    /// Training steps per epoch at batch size `batch`.
    fn steps_per_epoch(&self, batch: i64) -> usize;
    /// The training batches of epoch `epoch`, in an order (and augmentation) drawn from
    /// `(seed, epoch)`.
    fn train_epoch(&self, batch: i64, seed: u64, epoch: usize) -> Result<Batches<'_>>;
    /// The test batches, in order, each image once.
    fn test(&self, batch: i64) -> Result<Batches<'_>>;
    /// Test images, when known (for progress reports).
    fn test_len(&self) -> Option<usize> {
        None
    }
}

/// How a model's forward passes run: at a precision, with inputs channels-last or not.
#[derive(Debug, Clone, Copy)]
struct Mode {
    precision: Precision,
    channels_last: bool,
}

impl Mode {
    fn of(cfg: &TrainConfig) -> Mode {
        Mode {
            precision: cfg.precision,
            channels_last: cfg.channels_last,
        }
    }

    /// `f` (a forward pass and what follows it) on the images `x`, laid out and at the
    /// precision of this mode.
    fn run<T>(&self, x: &Tensor, f: impl FnOnce(&Tensor) -> T) -> Result<T> {
        let x = if self.channels_last {
            channels_last(x)
        } else {
            x.shallow_clone()
        };
        at_precision(self.precision, || f(&x))
    }
}

/// Fraction of the test images `model` classifies correctly (evaluation mode, no gradients,
/// f32).
pub fn accuracy(model: &HostModel, data: &dyn ImageSource, batch: i64) -> Result<f64> {
    let f32 = Mode {
        precision: Precision::F32,
        channels_last: false,
    };
    accuracy_reporting(model, data, batch, f32, &mut |_| {})
}

/// [`accuracy`] in `mode`, calling `on_batch` with the test images done after every test
/// batch.
fn accuracy_reporting(
    model: &HostModel,
    data: &dyn ImageSource,
    batch: i64,
    mode: Mode,
    on_batch: &mut dyn FnMut(usize),
) -> Result<f64> {
    let (correct, total) = tch::no_grad(|| -> Result<(i64, i64)> {
        let mut correct: Option<Tensor> = None;
        let mut total = 0i64;
        for (x, y) in data.test(batch)? {
            let hits = mode
                .run(&x, |x| model.forward_t(x, false).argmax(-1, false))?
                .eq_tensor(&y)
                .sum(Kind::Int64);
            correct = Some(match correct {
                Some(c) => c + hits,
                None => hits,
            });
            total += y.size()[0];
            on_batch(usize::try_from(total).unwrap_or(usize::MAX));
        }
        let correct = match correct {
            Some(c) => i64::try_from(c)?,
            None => 0,
        };
        Ok((correct, total))
    })?;
    if total == 0 {
        return Err(ConfigError::NoTestImages.into());
    }
    Ok(correct as f64 / total as f64)
}

/// Trains `model` (built here, seeded with `cfg.seed`, every slot filled by `fill`) on
/// `data` at `cfg.precision` and evaluates it every `cfg.eval_every` epochs and at the end,
/// after setting libtorch's switches for a deterministic run ([`super::context`]). A
/// diverging run stops early and is reported in [`TrainResult::diverged`], not as an error;
/// errors are bad configurations, an operator that does not fit, or a failing data source.
pub fn train_vision(
    model: ModelConfig,
    fill: Fill<'_>,
    data: &dyn ImageSource,
    cfg: &TrainConfig,
    mut progress: Option<&mut dyn FnMut(&TrainProgress)>,
) -> Result<TrainResult> {
    let start = Instant::now();
    cfg.check()?;
    enter(cfg)?;
    let mode = Mode::of(cfg);
    let classes = match model {
        ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) => v.classes,
        ModelConfig::Gpt(_) => {
            return Err(ConfigError::LanguageModel {
                model: model.kind(),
            }
            .into());
        }
    };
    if classes != data.classes() {
        return Err(ConfigError::Classes {
            model: classes,
            data: data.classes(),
        }
        .into());
    }
    let per_epoch = data.steps_per_epoch(cfg.batch);
    if per_epoch == 0 {
        return Err(ConfigError::BatchOverData { batch: cfg.batch }.into());
    }
    let total = match cfg.budget {
        Budget::Epochs(e) => e * per_epoch,
        Budget::Steps(s) => s,
    };
    let vs = VarStore::new(cfg.device);
    let net = crate::seeded::seeded(cfg.seed, || {
        HostModel::new(model, cfg.batch, fill, &vs.root())
    })?;
    if cfg.channels_last {
        weights_channels_last(&vs);
    }
    let mut opt = cfg.build_optimizer(&vs)?;
    let mut monitor = LossMonitor::new(cfg.explode);
    let (mut steps, mut epoch, mut images) = (0usize, 0usize, 0i64);
    let (mut train_seconds, mut test_seconds) = (0.0, 0.0);
    let mut early = Early::new(cfg.max_train_seconds);
    let mut history = Vec::new();
    let mut last_train_loss = f64::NAN;
    while steps < total && !early.stopped() {
        let t0 = Instant::now();
        for (x, y) in data.train_epoch(cfg.batch, cfg.seed, epoch)? {
            if steps >= total {
                break;
            }
            opt.set_lr(cfg.schedule.lr(cfg.lr, steps, total));
            let loss = mode.run(&x, |x| net.forward_t(x, true).cross_entropy_for_logits(&y))?;
            step(&mut opt, &loss, cfg.grad_clip);
            monitor.add(&loss);
            images += y.size()[0];
            steps += 1;
            if after_step(
                &mut monitor,
                steps.is_multiple_of(cfg.check_every),
                &mut early,
                &mut progress,
                (steps, total, per_epoch),
            ) {
                break;
            }
        }
        if early.diverged.is_none()
            && monitor.pending()
            && let Err(reason) = monitor.flush()
        {
            early.diverged = Some(reason);
        }
        sync(cfg.device);
        train_seconds += t0.elapsed().as_secs_f64();
        epoch += 1;
        if early.stopped() {
            break;
        }
        let at_end = steps >= total;
        if at_end || (cfg.eval_every > 0 && epoch.is_multiple_of(cfg.eval_every)) {
            last_train_loss = monitor.take_interval();
            let epoch_now = steps as f64 / per_epoch as f64;
            let test_len = data.test_len();
            let mut report = |done: usize| {
                if let Some(p) = progress.as_mut() {
                    p(&TrainProgress {
                        step: steps,
                        total,
                        epoch: epoch_now,
                        loss: None,
                        evaluating: Some(EvalProgress {
                            done,
                            total: test_len,
                        }),
                    });
                }
            };
            let t_test = Instant::now();
            let metric = accuracy_reporting(&net, data, cfg.batch, mode, &mut report)?;
            test_seconds += t_test.elapsed().as_secs_f64();
            history.push(EvalPoint {
                step: steps,
                epoch: epoch_now,
                train_loss: last_train_loss,
                metric,
            });
        }
    }
    let final_acc = history.last().map(|p| p.metric);
    if let Some(path) = cfg.save_weights.as_deref().filter(|_| !early.stopped()) {
        super::weights::save_slot_weights(&vs, path)?;
    }
    Ok(TrainResult {
        accuracy: if early.stopped() { None } else { final_acc },
        best_accuracy: history.iter().map(|p| p.metric).reduce(f64::max),
        val_loss: None,
        train_loss: last_train_loss,
        wall_seconds: start.elapsed().as_secs_f64(),
        train_seconds,
        test_seconds,
        precision: cfg.precision,
        samples_per_sec: images as f64 / train_seconds.max(1e-9),
        epochs: steps as f64 / per_epoch as f64,
        steps,
        diverged: early.diverged,
        timed_out: early.timed_out,
        history,
        params: param_count(&vs),
    })
}
