//! Training the character-level GPT on a source of token windows.

use super::context::{at_precision, dropout_seed, enter};
use super::monitor::LossMonitor;
use super::{
    Budget, EvalPoint, TrainConfig, TrainProgress, TrainResult, after_step, param_count, step, sync,
};
use crate::error::{ConfigError, Result};
use crate::models::slot::Fill;
use crate::models::{HostModel, ModelConfig};
use kas_codegen::Precision;
use std::time::Instant;
use tch::nn::{ModuleT, VarStore};
use tch::{Kind, Tensor};

/// Where a language model's token windows come from: `(x, y)` pairs of `i64 [B, T]` on the
/// training device, `y` being `x` shifted by one token.
pub trait TokenSource {
    /// Vocabulary size.
    fn vocab(&self) -> i64;
    /// Tokens in the training split (an epoch is this many tokens of targets).
    fn train_tokens(&self) -> usize;
    /// The training batch of step `step`, drawn from `(seed, step)`.
    fn train_batch(
        &self,
        batch: i64,
        context: i64,
        seed: u64,
        step: usize,
    ) -> Result<(Tensor, Tensor)>;
    /// Validation batch number `index` (the same windows on every call).
    fn val_batch(&self, batch: i64, context: i64, index: usize) -> Result<(Tensor, Tensor)>;
}

/// Mean next-token cross-entropy of `logits [B, T, V]` against `y [B, T]`.
fn lm_loss(logits: &Tensor, y: &Tensor) -> Tensor {
    let v = logits.size()[2];
    logits.view([-1, v]).cross_entropy_for_logits(&y.view([-1]))
}

/// Mean validation loss of `model` over `batches` validation batches (evaluation mode, f32).
pub fn val_loss(
    model: &HostModel,
    data: &dyn TokenSource,
    batch: i64,
    context: i64,
    batches: usize,
) -> Result<f64> {
    val_loss_at(model, data, (batch, context, batches), Precision::F32)
}

/// [`val_loss`] over `(batch, context, batches)` with the forward passes at `precision`.
fn val_loss_at(
    model: &HostModel,
    data: &dyn TokenSource,
    (batch, context, batches): (i64, i64, usize),
    precision: Precision,
) -> Result<f64> {
    if batches == 0 {
        return Err(ConfigError::NoEvalBatches.into());
    }
    tch::no_grad(|| {
        let mut sum: Option<Tensor> = None;
        for i in 0..batches {
            let (x, y) = data.val_batch(batch, context, i)?;
            let l = at_precision(precision, || lm_loss(&model.forward_t(&x, false), &y))?
                .to_kind(Kind::Double);
            sum = Some(match sum {
                Some(s) => s + l,
                None => l,
            });
        }
        let total = sum.map(f64::try_from).transpose()?.unwrap_or(f64::NAN);
        Ok(total / batches as f64)
    })
}

/// Trains the GPT `model` (built here, seeded with `cfg.seed`, every QKV slot filled by
/// `fill`) on `data` at `cfg.precision`, evaluating the validation loss over
/// `cfg.eval_batches` batches every `cfg.eval_every` steps and at the end. An epoch budget is
/// converted to steps (training tokens / (batch × context)). Divergence is a result, not an
/// error (see [`super::vision::train_vision`]).
///
/// With dropout, each step's forward pass (where the masks are drawn) runs under
/// [`crate::seeded::seeded`] with a seed of `(cfg.seed, step)`: the masks, and so the run, are
/// a function of the seed even while other threads seed and draw from libtorch's generator.
/// The lock is held for the forward pass only (on a GPU, for its kernel launches).
pub fn train_lm(
    model: ModelConfig,
    fill: Fill<'_>,
    data: &dyn TokenSource,
    cfg: &TrainConfig,
    mut progress: Option<&mut dyn FnMut(&TrainProgress)>,
) -> Result<TrainResult> {
    let start = Instant::now();
    cfg.check()?;
    enter(cfg)?;
    let ModelConfig::Gpt(g) = model else {
        return Err(ConfigError::ImageModel {
            model: model.kind(),
        }
        .into());
    };
    if g.vocab != data.vocab() {
        return Err(ConfigError::Vocabulary {
            model: g.vocab,
            data: data.vocab(),
        }
        .into());
    }
    let per_epoch = (data.train_tokens() / (cfg.batch * g.context) as usize).max(1);
    let total = match cfg.budget {
        Budget::Epochs(e) => e * per_epoch,
        Budget::Steps(s) => s,
    };
    let vs = VarStore::new(cfg.device);
    let net = crate::seeded::seeded(cfg.seed, || {
        HostModel::new(model, cfg.batch, fill, &vs.root())
    })?;
    let mut opt = cfg.build_optimizer(&vs)?;
    let mut monitor = LossMonitor::new(cfg.explode);
    let (mut train_seconds, mut test_seconds) = (0.0, 0.0);
    let mut t0 = Instant::now();
    let mut early = super::Early::new(cfg.max_train_seconds);
    let mut history = Vec::new();
    let mut last_train_loss = f64::NAN;
    let mut steps = 0usize;
    while steps < total {
        let (x, y) = data.train_batch(cfg.batch, g.context, cfg.seed, steps)?;
        opt.set_lr(cfg.schedule.lr(cfg.lr, steps, total));
        let forward = || at_precision(cfg.precision, || lm_loss(&net.forward_t(&x, true), &y));
        let loss = if g.dropout > 0.0 {
            crate::seeded::seeded(dropout_seed(cfg.seed, steps), forward)
        } else {
            forward()
        }?;
        step(&mut opt, &loss, cfg.grad_clip);
        monitor.add(&loss);
        steps += 1;
        let at_end = steps == total;
        let eval_now = at_end || (cfg.eval_every > 0 && steps.is_multiple_of(cfg.eval_every));
        if after_step(
            &mut monitor,
            steps.is_multiple_of(cfg.check_every) || eval_now,
            &mut early,
            &mut progress,
            (steps, total, per_epoch),
        ) {
            break;
        }
        if eval_now {
            sync(cfg.device);
            let eval_start = Instant::now();
            train_seconds += eval_start.duration_since(t0).as_secs_f64();
            last_train_loss = monitor.take_interval();
            let sizes = (cfg.batch, g.context, cfg.eval_batches);
            let metric = val_loss_at(&net, data, sizes, cfg.precision)?;
            t0 = Instant::now();
            test_seconds += t0.duration_since(eval_start).as_secs_f64();
            history.push(EvalPoint {
                step: steps,
                epoch: steps as f64 / per_epoch as f64,
                train_loss: last_train_loss,
                metric,
            });
        }
    }
    let stopped = early.stopped();
    if stopped {
        sync(cfg.device);
        train_seconds += t0.elapsed().as_secs_f64();
    }
    let tokens = steps as f64 * (cfg.batch * g.context) as f64;
    if let Some(path) = cfg.save_weights.as_deref().filter(|_| !stopped) {
        super::weights::save_slot_weights(&vs, path)?;
    }
    Ok(TrainResult {
        accuracy: None,
        best_accuracy: None,
        val_loss: if stopped {
            None
        } else {
            history.last().map(|p| p.metric)
        },
        train_loss: last_train_loss,
        wall_seconds: start.elapsed().as_secs_f64(),
        train_seconds,
        test_seconds,
        precision: cfg.precision,
        samples_per_sec: tokens / train_seconds.max(1e-9),
        epochs: steps as f64 / per_epoch as f64,
        steps,
        diverged: early.diverged,
        timed_out: early.timed_out,
        history,
        params: param_count(&vs),
    })
}
