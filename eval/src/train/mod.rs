//! Brief training of a host model with its slots filled: deterministic for a seed on a given
//! device and precision (weights, data order, augmentation and dropout from the seed, cuDNN's
//! deterministic algorithms: [`context`]), SGD or AdamW with a per-step schedule, a step or
//! epoch budget, periodic evaluation, and divergence detection (a non-finite or exploding
//! training loss stops the run with a recorded reason). It runs at f32, tf32 or bf16
//! ([`TrainConfig::precision`]), with images and convolution weights channels-last on CUDA.
//! Config in, [`TrainResult`] out, progress through an optional callback: the search campaign
//! calls [`vision::train_vision`] and [`lm::train_lm`] for every candidate.

pub mod context;
pub mod lm;
mod monitor;
pub mod schedule;
pub mod sources;
pub mod vision;
pub mod weights;

use crate::error::{ConfigError, Result};
use crate::models::ModelKind;
use kas_codegen::Precision;
use schedule::LrSchedule;
use serde::Serialize;
use tch::nn::{self, OptimizerConfig, VarStore};
use tch::{Device, Tensor};

/// The optimiser and its hyper-parameters (the learning rate is [`TrainConfig::lr`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Optimizer {
    /// Stochastic gradient descent with momentum (weight decay on every parameter).
    Sgd {
        /// Momentum.
        momentum: f64,
        /// Nesterov momentum.
        nesterov: bool,
        /// L2 weight decay.
        weight_decay: f64,
    },
    /// Adam with decoupled weight decay (on every parameter).
    AdamW {
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Decoupled weight decay.
        weight_decay: f64,
    },
}

/// How long to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Budget {
    /// Whole passes over the training data.
    Epochs(usize),
    /// Optimisation steps.
    Steps(usize),
}

/// A training run's settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainConfig {
    /// Seed of the weights (libtorch's generator, through [`crate::seeded::seeded`]), the data
    /// order and augmentation.
    pub seed: u64,
    /// Samples (images or sequences) per step.
    pub batch: i64,
    /// Peak learning rate.
    pub lr: f64,
    /// Optimiser.
    pub optimizer: Optimizer,
    /// Learning-rate schedule over the whole budget.
    pub schedule: LrSchedule,
    /// Budget.
    pub budget: Budget,
    /// Evaluate every this many epochs (vision) or steps (language), and always at the end;
    /// 0: only at the end.
    pub eval_every: usize,
    /// Validation batches per evaluation (language; vision evaluates the whole test split).
    pub eval_batches: usize,
    /// Clip the global gradient norm to this value.
    pub grad_clip: Option<f64>,
    /// Stop when the mean training loss over a check window exceeds this multiple of the first
    /// step's.
    pub explode: f64,
    /// Steps per loss check (each check reads the loss back from the device).
    pub check_every: usize,
    /// Stop (a time-out, [`TrainResult::timed_out`]) once the run has taken this many seconds
    /// (model construction excluded, periodic evaluations included), or as soon as a loss check
    /// projects that it will (from the pace since the first check, which leaves warm-up out).
    /// `None`: no limit.
    pub max_train_seconds: Option<f64>,
    /// Where to train.
    #[serde(serialize_with = "device_name")]
    pub device: Device,
    /// Arithmetic precision (`docs/ARCHITECTURE.md`, "Precision"): f32 (IEEE f32, TF32 off),
    /// tf32 (f32 weights and activations, TF32 products in cuDNN and cuBLAS) or bf16 (the
    /// forward pass and loss in a bf16 autocast region, f32 master weights and optimiser). tf32
    /// and bf16 train on CUDA only: elsewhere the run is refused, never run at f32 under their
    /// label.
    pub precision: Precision,
    /// Images and convolution weights in channels-last memory order (image models; the recipe
    /// turns it on on CUDA, where cuDNN's convolutions run fastest in it).
    pub channels_last: bool,
    /// Where to write the trained weights of the operators in the slots when a run ends
    /// without diverging or timing out ([`weights::save_slot_weights`]); `None`: nowhere.
    #[serde(skip)]
    pub save_weights: Option<std::path::PathBuf>,
}

fn device_name<S: serde::Serializer>(d: &Device, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&match d {
        Device::Cpu => "cpu".to_string(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}"),
    })
}

impl TrainConfig {
    /// The recipe for a model: ResNet-18 and the CNN train with SGD (lr 0.1, Nesterov
    /// momentum 0.9, weight decay 5e-4, batch 128, cosine to 0) for one epoch; the GPT with
    /// AdamW (lr 1e-3, β = (0.9, 0.99), weight decay 0.1, batch 64, 100 warm-up steps, cosine
    /// to 0.1×, gradient clipping at 1) for 1,000 steps, evaluated every 250. At f32; image
    /// models channels-last on CUDA.
    pub fn recipe(kind: ModelKind, device: Device) -> TrainConfig {
        match kind {
            ModelKind::ResNet18
            | ModelKind::Cnn
            | ModelKind::ResNet34
            | ModelKind::DenseNet121
            | ModelKind::EfficientNetV2S
            | ModelKind::ResNeXt29 => TrainConfig {
                seed: 0,
                batch: 128,
                lr: 0.1,
                optimizer: Optimizer::Sgd {
                    momentum: 0.9,
                    nesterov: true,
                    weight_decay: 5e-4,
                },
                schedule: LrSchedule::Cosine {
                    warmup: 0,
                    floor: 0.0,
                },
                budget: Budget::Epochs(1),
                eval_every: 1,
                eval_batches: 0,
                grad_clip: None,
                explode: 10.0,
                check_every: 25,
                max_train_seconds: None,
                device,
                precision: Precision::F32,
                channels_last: device.is_cuda(),
                save_weights: None,
            },
            ModelKind::Gpt => TrainConfig {
                seed: 0,
                batch: 64,
                lr: 1e-3,
                optimizer: Optimizer::AdamW {
                    beta1: 0.9,
                    beta2: 0.99,
                    weight_decay: 0.1,
                },
                schedule: LrSchedule::Cosine {
                    warmup: 100,
                    floor: 0.1,
                },
                budget: Budget::Steps(1000),
                eval_every: 250,
                eval_batches: 20,
                grad_clip: Some(1.0),
                explode: 10.0,
                check_every: 25,
                max_train_seconds: None,
                device,
                precision: Precision::F32,
                channels_last: false,
                save_weights: None,
            },
        }
    }

    /// Refuses a precision the device cannot train at: tf32 and bf16 need a CUDA device, and
    /// tf32 needs TF32 allowed (`NVIDIA_TF32_OVERRIDE` other than `0`).
    pub fn check_precision(&self) -> Result<()> {
        if self.precision != Precision::F32 && !self.device.is_cuda() {
            return Err(ConfigError::TrainPrecision {
                precision: self.precision,
            }
            .into());
        }
        crate::precision::check_allowed(self.precision)
    }

    fn check(&self) -> Result<()> {
        self.check_precision()?;
        let bad = |e: ConfigError| Err(e.into());
        if self.batch < 1 {
            return bad(ConfigError::Batch { batch: self.batch });
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(ConfigError::LearningRate { lr: self.lr });
        }
        if matches!(self.budget, Budget::Epochs(0) | Budget::Steps(0)) {
            return bad(ConfigError::EmptyBudget);
        }
        if self
            .max_train_seconds
            .is_some_and(|s| !(s.is_finite() && s > 0.0))
        {
            return bad(ConfigError::MaxTrainSeconds);
        }
        if self.check_every == 0
            || self.explode.partial_cmp(&1.0) != Some(std::cmp::Ordering::Greater)
        {
            return bad(ConfigError::DivergenceCheck);
        }
        Ok(())
    }

    /// The optimiser of this run over the variables of `vs`.
    pub(crate) fn build_optimizer(&self, vs: &VarStore) -> Result<nn::Optimizer> {
        Ok(match self.optimizer {
            Optimizer::Sgd {
                momentum,
                nesterov,
                weight_decay,
            } => nn::Sgd {
                momentum,
                dampening: 0.0,
                wd: weight_decay,
                nesterov,
            }
            .build(vs, self.lr)?,
            Optimizer::AdamW {
                beta1,
                beta2,
                weight_decay,
            } => nn::AdamW {
                beta1,
                beta2,
                wd: weight_decay,
                eps: 1e-8,
                amsgrad: false,
            }
            .build(vs, self.lr)?,
        })
    }
}

/// Where a run is, reported to the progress callback after every step, and after every test
/// batch of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainProgress {
    /// Steps done.
    pub step: usize,
    /// Steps in the whole run.
    pub total: usize,
    /// Epochs done (fractional).
    pub epoch: f64,
    /// Mean training loss of the last check window, on the steps that close one.
    pub loss: Option<f64>,
    /// During an evaluation (vision): how far it is; `None` after a training step.
    pub evaluating: Option<EvalProgress>,
}

/// How far an evaluation of the test images is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalProgress {
    /// Test images evaluated so far.
    pub done: usize,
    /// Test images in all, when the source says ([`vision::ImageSource::test_len`]).
    pub total: Option<usize>,
}

/// One periodic evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EvalPoint {
    /// Steps done.
    pub step: usize,
    /// Epochs done (fractional).
    pub epoch: f64,
    /// Mean training loss since the previous evaluation.
    pub train_loss: f64,
    /// Test accuracy (vision) or validation loss (language).
    pub metric: f64,
}

/// What a run achieved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainResult {
    /// Final test accuracy in [0, 1] (vision).
    pub accuracy: Option<f64>,
    /// Best test accuracy over the evaluations (vision).
    pub best_accuracy: Option<f64>,
    /// Final validation loss (language).
    pub val_loss: Option<f64>,
    /// Mean training loss over the last epoch (vision) or the last evaluation interval.
    pub train_loss: f64,
    /// Wall time of the whole run, model construction and evaluations included.
    pub wall_seconds: f64,
    /// Time spent in training steps only.
    pub train_seconds: f64,
    /// Time spent in the evaluations (test images or validation batches).
    pub test_seconds: f64,
    /// The precision it trained at.
    pub precision: Precision,
    /// Training throughput: images (vision) or tokens (language) per second of training.
    pub samples_per_sec: f64,
    /// Epochs done (fractional for a step budget).
    pub epochs: f64,
    /// Optimisation steps done.
    pub steps: usize,
    /// Why the run stopped early, if it diverged.
    pub diverged: Option<String>,
    /// Why the run stopped early, if it ran out of [`TrainConfig::max_train_seconds`].
    pub timed_out: Option<String>,
    /// Every evaluation.
    pub history: Vec<EvalPoint>,
    /// Trainable parameters of the model.
    pub params: i64,
}

/// Waits for the device's queued work (so that wall times are honest on a GPU).
fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Why a run stops before its budget: divergence, or its time limit.
#[derive(Debug)]
struct Early {
    deadline: Deadline,
    diverged: Option<String>,
    timed_out: Option<String>,
}

impl Early {
    fn new(limit: Option<f64>) -> Early {
        Early {
            deadline: Deadline::new(limit),
            diverged: None,
            timed_out: None,
        }
    }

    /// Whether the run must stop.
    fn stopped(&self) -> bool {
        self.diverged.is_some() || self.timed_out.is_some()
    }
}

/// After step `steps` of `total`: when `check`, reads the loss window back (a divergence is
/// recorded in `early`) and checks the time limit, then reports progress. Returns whether the
/// run must stop.
fn after_step<'a>(
    monitor: &mut monitor::LossMonitor,
    check: bool,
    early: &mut Early,
    progress: &mut Option<&'a mut (dyn FnMut(&TrainProgress) + 'a)>,
    (steps, total, per_epoch): (usize, usize, usize),
) -> bool {
    let mut loss_now = None;
    if check {
        match monitor.flush() {
            Ok(l) => loss_now = Some(l),
            Err(reason) => early.diverged = Some(reason),
        }
        if early.diverged.is_none() {
            early.timed_out = early.deadline.check(steps, total);
        }
    }
    if let Some(p) = progress.as_mut() {
        // The caller's time is not the run's: a campaign's evaluator holds a training here
        // while another evaluation times on the device.
        let t = std::time::Instant::now();
        p(&TrainProgress {
            step: steps,
            total,
            epoch: steps as f64 / per_epoch as f64,
            loss: loss_now,
            evaluating: None,
        });
        early.deadline.exclude(t.elapsed().as_secs_f64());
    }
    early.stopped()
}

/// Watches a run's pace against [`TrainConfig::max_train_seconds`], on the run's own time
/// (wall time less the seconds spent in the progress callback).
#[derive(Debug)]
struct Deadline {
    limit: Option<f64>,
    start: std::time::Instant,
    /// Seconds that are not the run's (see [`Deadline::exclude`]).
    excluded: f64,
    /// Seconds and steps at the first check (the pace is measured from there).
    first: Option<(f64, usize)>,
}

impl Deadline {
    fn new(limit: Option<f64>) -> Deadline {
        Deadline {
            limit,
            start: std::time::Instant::now(),
            excluded: 0.0,
            first: None,
        }
    }

    /// Leaves `seconds` out of the run's time.
    fn exclude(&mut self, seconds: f64) {
        self.excluded += seconds;
    }

    /// At a loss check after `steps` of `total` (the device is in sync): why to stop, if the
    /// steps so far, or those projected, exceed the limit.
    fn check(&mut self, steps: usize, total: usize) -> Option<String> {
        let limit = self.limit?;
        let now = self.start.elapsed().as_secs_f64() - self.excluded;
        let projected = match self.first {
            None => {
                self.first = Some((now, steps));
                now
            }
            Some((t1, s1)) if steps > s1 => {
                now + (now - t1) / (steps - s1) as f64 * total.saturating_sub(steps) as f64
            }
            Some(_) => now,
        };
        (now > limit || projected > limit).then(|| {
            format!(
                "training stopped after {steps} of {total} steps ({now:.1} s): the whole run would take {projected:.0} s, over its limit of {limit:.0} s"
            )
        })
    }
}

/// One optimiser step on `loss` (its gradients clipped to a global norm of `clip`).
pub(crate) fn step(opt: &mut nn::Optimizer, loss: &Tensor, clip: Option<f64>) {
    match clip {
        Some(c) => opt.backward_step_clip_norm(loss, c),
        None => opt.backward_step(loss),
    }
}

/// Trainable parameters of a store.
fn param_count(vs: &VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::Deadline;

    #[test]
    fn excluded_seconds_do_not_count_against_the_limit() {
        let mut held = Deadline::new(Some(0.2));
        std::thread::sleep(std::time::Duration::from_millis(300));
        held.exclude(0.3);
        assert_eq!(held.check(1, 2), None);
        let mut plain = Deadline::new(Some(0.2));
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(plain.check(1, 2).unwrap().contains("over its limit"));
    }
}
