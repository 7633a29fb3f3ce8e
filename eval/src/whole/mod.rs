//! Whole-model timing (`kas bench OP --model M`; `docs/ARCHITECTURE.md`, "Whole-model
//! timing"): a host model's forward pass with an operator in every slot against the original
//! model, or, with [`ModelRequest::train`], one training step of each, side by side in one
//! process, at the batch sizes the request names.
//!
//! On the GPU the candidate's slots run kas's CUDA kernels (`whole::kernels`) on libtorch's current
//! stream, into output tensors libtorch allocates; the original model runs cuDNN / cuBLAS at the
//! same precision; every layer outside the slots runs through libtorch on both sides, identically.
//! Both forward passes are captured as CUDA graphs and replayed (`whole::graph`); if a capture
//! fails, both sides are timed as eager launches and the row says why. Before timing, the
//! candidate's output with kas's kernels is checked against its output with the tch plan in the
//! slots, slot by slot and at the model's output ([`ModelValidation`]). A third measurement runs
//! the original model with its slots doing no work (`whole::skip`), which gives the slots' share of
//! each model's time. Training steps run eagerly (forward, loss, backward and the optimiser's
//! update of the training recipe, at its precision), with the tch plan in the slots: the path a
//! candidate trains through.
//!
//! On the CPU the candidate's slots run the tch plan, timed by the wall clock.

mod cpu;
mod cuda;
mod graph;
pub mod isolate;
mod kernels;
mod pair;
mod skip;

pub use isolate::run_model_isolated;

use crate::error::{ConfigError, Result};
use crate::fingerprint::Fingerprint;
use crate::models::slot::Fill;
use crate::models::{HostModel, ModelKind};
use crate::timing::{Backend, Measurement, Precision, Protocol};
use kas_campaign::KernelMode;
use kas_primitives::Operator;
use kas_primitives::format::read_operator;
use serde::{Deserialize, Serialize};

/// What to time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRequest {
    /// A name for the operator.
    pub name: String,
    /// The operator as a `kas-operator` file (RON text).
    pub operator: String,
    /// The host model's command-line name (its default sizes).
    pub model: String,
    /// The batch sizes, each a row.
    pub batches: Vec<i64>,
    /// Where to run.
    pub backend: Backend,
    /// Precision of both sides.
    pub precision: Precision,
    /// Which kas kernels fill the slots (GPU).
    pub kernels: KernelMode,
    /// Time a training step instead of the forward pass.
    pub train: bool,
    /// The timing protocol of every measurement.
    pub protocol: Protocol,
    /// Seed of weights and inputs.
    pub seed: u64,
}

/// How the checked candidate compares with its tch plan (GPU).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelValidation {
    /// The slot whose kernels' output differs most from the tch plan's on the same input.
    pub worst_slot: String,
    /// Its relative Frobenius error.
    pub slot_err: f64,
    /// The bound every slot is held to.
    pub slot_tolerance: f64,
    /// Relative Frobenius error of the model's output (kas's kernels vs the tch plan in the
    /// slots, both eager).
    pub model_err: f64,
    /// The bound the model's output is held to.
    pub model_tolerance: f64,
    /// Relative Frobenius error of the replayed CUDA graph's output against the eager one, when
    /// the graph was captured.
    pub graph_err: Option<f64>,
}

/// One batch size's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRow {
    /// The batch size.
    pub batch: i64,
    /// The original model (seconds).
    pub original: Option<Measurement>,
    /// The model with the operator in every slot (seconds).
    pub kas: Option<Measurement>,
    /// The original model with its slots doing no work (seconds; forward passes only).
    pub rest: Option<Measurement>,
    /// How the runs were launched and timed.
    pub execution: String,
    /// The check of kas's kernels against the tch plan, when it ran.
    pub validation: Option<ModelValidation>,
    /// The kernels in the slots: one line per distinct slot shape (GPU).
    pub kernels: Vec<String>,
    /// Seconds spent generating, tuning and compiling the slots' kernels.
    pub compile_s: Option<f64>,
    /// Why the row is incomplete, if it is.
    pub failure: Option<String>,
}

impl ModelRow {
    /// An empty row.
    pub fn new(batch: i64, execution: &str) -> ModelRow {
        ModelRow {
            batch,
            original: None,
            kas: None,
            rest: None,
            execution: execution.into(),
            validation: None,
            kernels: Vec::new(),
            compile_s: None,
            failure: None,
        }
    }

    /// `original median / kas median`.
    pub fn speedup(&self) -> Option<f64> {
        let (o, k) = (self.original.as_ref()?, self.kas.as_ref()?);
        (k.stats.median > 0.0).then(|| o.stats.median / k.stats.median)
    }

    /// The slots' share of the original model's time: `1 − rest / original` (medians).
    pub fn slot_share(&self) -> Option<f64> {
        share(self.original.as_ref()?, self.rest.as_ref()?)
    }

    /// The slots' share of the candidate's time: `1 − rest / kas` (medians).
    pub fn kas_slot_share(&self) -> Option<f64> {
        share(self.kas.as_ref()?, self.rest.as_ref()?)
    }
}

fn share(whole: &Measurement, rest: &Measurement) -> Option<f64> {
    (whole.stats.median > 0.0).then(|| (1.0 - rest.stats.median / whole.stats.median).max(0.0))
}

/// One line of a worker's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelEvent {
    /// The worker is up: where it runs.
    Ready {
        /// The fingerprint.
        fingerprint: Box<Fingerprint>,
    },
    /// What the worker does now.
    Progress {
        /// One line.
        message: String,
    },
    /// A batch size is done.
    Row {
        /// Its figures.
        row: Box<ModelRow>,
    },
}

/// Everything measured for a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelResult {
    /// Where it ran.
    pub fingerprint: Fingerprint,
    /// One row per batch size of the request, in order.
    pub rows: Vec<ModelRow>,
}

/// The host model `name` with `op` in every slot, checked to fit: its kind and slot count.
/// One-line errors for an unknown model, a model without slots, or an operator that does not
/// fit a slot (built on the CPU at batch 1, nothing timed).
pub fn check_fit(name: &str, op: &Operator) -> Result<(ModelKind, usize)> {
    let kind: ModelKind = name.parse()?;
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let model = HostModel::new(kind.default_config(), 1, Fill::Operator(op), &vs.root())?;
    if model.slots.is_empty() {
        return Err(ConfigError::ModelWithoutSlots { model: kind }.into());
    }
    Ok((kind, model.slots.len()))
}

/// The training batch of a model (its training recipe's).
pub fn training_batch(kind: ModelKind) -> i64 {
    crate::train::TrainConfig::recipe(kind, tch::Device::Cpu).batch
}

/// Runs `req` in this process, passing every [`ModelEvent`] to `emit` as it happens (the
/// worker's side of [`run_model_isolated`]).
pub fn run_model_in_process(
    req: &ModelRequest,
    emit: &mut dyn FnMut(&ModelEvent) -> Result<()>,
) -> Result<()> {
    let (_, op) = read_operator(&req.operator, &req.name)?;
    let (kind, _) = check_fit(&req.model, &op)?;
    if req.batches.iter().any(|&b| b < 1) {
        return Err(ConfigError::Batch {
            batch: req.batches.iter().copied().min().unwrap_or(0),
        }
        .into());
    }
    match req.backend {
        Backend::Cpu => {
            if req.precision != Precision::F32 {
                return Err(ConfigError::PrecisionNotTimed(req.precision).into());
            }
            cpu::run(req, &op, kind, emit)
        }
        Backend::Cuda => cuda::run(req, &op, kind, emit),
    }
}

/// Relative Frobenius error `‖a − b‖ / ‖b‖` of two tensors of one shape, in f64 (NaN when
/// `a` has a NaN; infinite for different shapes).
pub(crate) fn rel_frobenius(a: &tch::Tensor, b: &tch::Tensor) -> f64 {
    if a.size() != b.size() {
        return f64::INFINITY;
    }
    let (a, b) = (a.to_kind(tch::Kind::Double), b.to_kind(tch::Kind::Double));
    let num = f64::try_from((&a - &b).norm()).unwrap_or(f64::NAN);
    let den = f64::try_from(b.norm()).unwrap_or(f64::NAN);
    if den > 0.0 { num / den } else { num }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timing::SampleStats;
    use crate::timing::protocol::Stop;

    fn m(median: f64) -> Measurement {
        Measurement {
            stats: SampleStats::of(&[median]).unwrap(),
            stop: Stop::Stable,
            warmup: 0,
            elapsed_s: median,
        }
    }

    #[test]
    fn speedup_and_shares_from_medians() {
        let mut r = ModelRow::new(4, "test");
        assert_eq!((r.speedup(), r.slot_share()), (None, None));
        r.original = Some(m(10.0));
        r.kas = Some(m(5.0));
        r.rest = Some(m(4.0));
        assert_eq!(r.speedup(), Some(2.0));
        assert!((r.slot_share().unwrap() - 0.6).abs() < 1e-12);
        assert!((r.kas_slot_share().unwrap() - 0.2).abs() < 1e-12);
        // A rest slower than the whole (noise) is a share of 0, never negative.
        r.rest = Some(m(6.0));
        assert_eq!(r.kas_slot_share(), Some(0.0));
    }

    #[test]
    fn relative_frobenius_error() {
        let b = tch::Tensor::from_slice(&[3.0f32, 4.0]);
        let a = tch::Tensor::from_slice(&[3.0f32, 4.5]);
        assert!((rel_frobenius(&a, &b) - 0.1).abs() < 1e-9);
        assert_eq!(rel_frobenius(&b, &b), 0.0);
        let nan = tch::Tensor::from_slice(&[f32::NAN, 4.0]);
        assert!(rel_frobenius(&nan, &b).is_nan());
        let short = tch::Tensor::from_slice(&[3.0f32]);
        assert_eq!(rel_frobenius(&short, &b), f64::INFINITY);
    }

    #[test]
    fn models_are_checked_before_anything_is_timed() {
        let conv = (kas_primitives::library::get("conv2d").unwrap().build)().unwrap();
        let (kind, slots) = check_fit("cnn", &conv).unwrap();
        assert_eq!((kind, slots), (ModelKind::Cnn, 4));
        assert!(
            check_fit("vgg", &conv)
                .unwrap_err()
                .to_string()
                .contains("unknown model")
        );
        let e = check_fit("gpt", &conv).unwrap_err().to_string();
        assert!(e.contains("slot"), "{e}");
        // The operators of the whole-model table fit ResNet-18's 16 slots.
        for name in ["conv2d", "syno-op1", "syno-op2"] {
            let op = (kas_primitives::library::get(name).unwrap().build)().unwrap();
            assert_eq!(check_fit("resnet18", &op).unwrap().1, 16, "{name}");
        }
        assert_eq!(training_batch(ModelKind::ResNet18), 128);
        assert_eq!(training_batch(ModelKind::Gpt), 64);
    }
}
