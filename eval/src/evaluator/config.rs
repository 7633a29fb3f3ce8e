//! A campaign's evaluator settings, in one place: what [`TchEvaluatorConfig::from_campaign`]
//! takes from the campaign file and the limits it adds, each a documented constant here.
//!
//! The limits, per candidate:
//!
//! * timing: each measurement may take [`TIMING_BUDGET_S`] of wall time;
//! * a slot set more than [`SLOWDOWN_LIMIT`] times slower than the original layers is not
//!   trained (`timeout`), or one slower than the campaign's `train_min_speedup` when it sets
//!   one;
//! * training may take [`SLOWDOWN_LIMIT`] (CPU) or [`GPU_TRAIN_SLOWDOWN_LIMIT`] (GPU) times the
//!   baseline's training time at the same fidelity, plus [`TRAIN_GRACE_S`] (`timeout`);
//! * on a GPU, a tch plan that would create more than [`MAX_MEMORY_FRACTION`] of the device's
//!   memory in tensors (divided among the evaluations that share the device) is neither timed
//!   nor trained (`other`);
//! * on the CPU, the timing worker runs libtorch on [`CPU_TIMING_THREADS`] thread(s).

use crate::data::{DatasetName, data_dir};
use crate::error::{Error, Result};
use crate::models::{ModelConfig, ModelKind};
use kas_campaign::{CampaignFile, KernelMode};
use std::path::{Path, PathBuf};

/// Seconds of wall time each timing measurement may take.
pub const TIMING_BUDGET_S: f64 = 2.0;
/// libtorch's CPU threads (intra-op, OpenMP and MKL) in the CPU timing worker, on both sides
/// (the tch plan and the original layers). One thread measures the work; with more, a run
/// waits for its slowest thread, and on a machine whose cores other processes share a
/// descheduled thread turns a 1-3 ms convolution into 20-50 ms (measured on the 2-core
/// machine `scripts/main` was sized on: medians of one layer jumped between 1.3 and 32 ms with
/// two threads, and stayed within 1.7-2.4 ms with one).
pub const CPU_TIMING_THREADS: usize = 1;
/// Candidates whose slot set is more than this many times slower than the original layers
/// are not trained (a `timeout` failure): on a CPU their training would take as much longer.
/// On the CPU, training may take as many times the baseline's too.
pub const SLOWDOWN_LIMIT: f64 = 25.0;
/// On a GPU, a candidate's training (its tch plan) may take at most this many times the
/// baseline's (cuDNN) at the same fidelity, plus a grace: the timed kernels are kas's, which
/// say nothing of the tch plan's speed, so training has its own bound.
pub const GPU_TRAIN_SLOWDOWN_LIMIT: f64 = 4.0;
/// Seconds added to every candidate's training-time limit (allocations, warm-up).
pub const TRAIN_GRACE_S: f64 = 10.0;
/// On a GPU, a candidate whose tch plan would create more than this fraction of the device's
/// memory in tensors over the slot set is not evaluated (it would run out of memory in
/// training, or crawl). Evaluations that share a device (`evaluations_per_device`) split it:
/// each gets this fraction divided by their number.
pub const MAX_MEMORY_FRACTION: f64 = 0.4;

/// Everything a [`TchEvaluator`](super::TchEvaluator) needs.
#[derive(Debug, Clone)]
pub struct TchEvaluatorConfig {
    /// The host model and its sizes (the classes are taken from the dataset).
    pub model: ModelConfig,
    /// The dataset.
    pub data: DatasetName,
    /// The data directory (`kas data fetch` puts datasets there).
    pub data_dir: PathBuf,
    /// Keep only the first this many training images.
    pub train_subset: Option<i64>,
    /// Keep only the first this many test images.
    pub test_subset: Option<i64>,
    /// Where to train and time: `cpu` or `cuda:K`.
    pub device: String,
    /// Seed of training (weights, data order) and of the timing's inputs.
    pub seed: u64,
    /// The `kas` executable for timing in worker processes (`kas internal time-candidate`);
    /// `None` times in this process (on a GPU only `cuda:0`).
    pub worker: Option<PathBuf>,
    /// libtorch's CPU threads in the timing worker (`None`: libtorch's default).
    pub timing_threads: Option<usize>,
    /// Wall-time budget of each timing measurement (seconds).
    pub timing_budget_s: f64,
    /// A candidate whose measured slot-set speedup is below this is not trained (its
    /// training would take that much longer than the original's, or the campaign wants only
    /// faster kernels: its `train_min_speedup`): a `timeout` failure. 0 trains everything.
    pub train_min_speedup: f64,
    /// Which kas kernels the GPU times.
    pub kernels: KernelMode,
    /// The precision the model trains at (the campaign's `precision`; tf32 and bf16 on a GPU
    /// only).
    pub precision: kas_codegen::Precision,
    /// A candidate's training may take at most this many times the baseline's at the same
    /// fidelity (scaled by steps, plus `train_grace_s`); a slower one stops early as a
    /// `timeout`. 0: no limit. (On a GPU the timed kernels are kas's, but training runs the
    /// tch plan, whose speed can differ by orders of magnitude.)
    pub train_slowdown_limit: f64,
    /// Seconds added to every candidate's training-time limit (allocations and warm-up).
    pub train_grace_s: f64,
    /// A candidate whose tch plan would create more than this fraction of the device's memory
    /// in tensors ([`crate::tch_plan::created_elements`], f32, summed over the slots at the
    /// training batch) is not timed or trained (`other`); the evaluations sharing a device
    /// share the fraction (a training waits while the others' plans leave too little). Applies
    /// on a GPU; 0: no limit.
    pub max_memory_fraction: f64,
}

impl TchEvaluatorConfig {
    /// The settings of the campaign `file`'s evaluator on `device` (`cpu` or `cuda:K`), with
    /// the limits of this module. `data_root` overrides the data directory; `worker` is the
    /// `kas` executable that times in worker processes (a faulting kernel then fails its
    /// candidate, not the campaign; on the CPU the worker runs on [`CPU_TIMING_THREADS`]).
    pub fn from_campaign(
        file: &CampaignFile,
        device: &str,
        data_root: Option<&Path>,
        worker: Option<PathBuf>,
    ) -> Result<TchEvaluatorConfig> {
        let cpu = device == "cpu";
        let subset = |v: Option<u64>| v.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        Ok(TchEvaluatorConfig {
            model: model_config(file)?,
            data: file.data.parse()?,
            data_dir: data_dir(data_root),
            train_subset: subset(file.train_subset),
            test_subset: subset(file.test_subset),
            device: device.to_string(),
            seed: file.seed,
            worker,
            timing_threads: cpu.then_some(CPU_TIMING_THREADS),
            timing_budget_s: TIMING_BUDGET_S,
            train_min_speedup: file.train_min_speedup.unwrap_or(1.0 / SLOWDOWN_LIMIT),
            kernels: file.kernels,
            precision: file.precision,
            // Trainings that share a device (`evaluations_per_device`) each get about its n-th
            // part, against a baseline pace measured the same way or alone: n times the slack.
            train_slowdown_limit: f64::from(file.evaluations_per_device.max(1))
                * if cpu {
                    SLOWDOWN_LIMIT
                } else {
                    GPU_TRAIN_SLOWDOWN_LIMIT
                },
            train_grace_s: TRAIN_GRACE_S,
            // Shared by the evaluations of the device (each training reserves its plan's
            // bytes out of it, `gate::DeviceGate::memory`), not divided among them.
            max_memory_fraction: MAX_MEMORY_FRACTION,
        })
    }
}

/// The campaign's host model with its size overrides (`model.width`, `model.image`; for the
/// GPT `model.layers`, `model.heads`, `model.context` and the slot family `model.slots`).
pub fn model_config(file: &CampaignFile) -> Result<ModelConfig> {
    let kind: ModelKind = file.model.name.parse()?;
    let mut m = kind.default_config();
    let size = |field: &'static str, v: u64| {
        i64::try_from(v).map_err(|_| Error::ModelSize { field, value: v })
    };
    match &mut m {
        ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) => {
            if let Some(w) = file.model.width {
                v.width = size("model.width", w)?;
            }
            if let Some(s) = file.model.image {
                v.image = size("model.image", s)?;
            }
            let gpt_fields = [
                ("model.layers", file.model.layers.is_some()),
                ("model.heads", file.model.heads.is_some()),
                ("model.context", file.model.context.is_some()),
                ("model.slots", file.model.slots.is_some()),
            ];
            if let Some((field, _)) = gpt_fields.into_iter().find(|(_, set)| *set) {
                return Err(Error::GptOnlyField { field, model: kind });
            }
        }
        ModelConfig::Gpt(g) => {
            if let Some(w) = file.model.width {
                g.width = size("model.width", w)?;
            }
            if let Some(l) = file.model.layers {
                g.layers = size("model.layers", l)?;
            }
            if let Some(h) = file.model.heads {
                g.heads = size("model.heads", h)?;
            }
            if let Some(t) = file.model.context {
                g.context = size("model.context", t)?;
            }
            if let Some(f) = &file.model.slots {
                g.slots = f.parse()?;
            }
            if file.model.image.is_some() {
                return Err(Error::NoImageSize(kind));
            }
        }
    }
    Ok(m)
}

/// The dataset a campaign names.
pub fn dataset(file: &CampaignFile) -> Result<DatasetName> {
    file.data.parse()
}
