//! The real evaluator of search campaigns ([`TchEvaluator`], implementing
//! [`kas_campaign::Evaluator`]): a candidate operator is placed in every slot of a host model,
//! validated and timed against the slots' original layers at the model's batch (the slot set's
//! summed time: on the CPU the tch plan against libtorch, on a GPU kas's CUDA kernels against
//! cuDNN / cuBLAS), then the model is trained at the fidelity's budget with the model's recipe
//! from the evaluation's training seed (`kas_campaign::seeds`: weights, data order and
//! augmentation). Image classifiers are judged by test accuracy; the GPT (its slots: the
//! projections of the campaign's slot family) by its validation loss, recorded as the
//! outcome's `loss` with its `perplexity`; a non-finite validation loss is `diverged`. `time`
//! makes the same checks and timing without training (a candidate timed again on a new
//! device). The baseline is the model with its original layers, trained the
//! same way (speedup 1 by definition).
//!
//! Outcomes carry, besides accuracy, speedup and latency, these `extra` figures:
//! `baseline_latency_ms` (the original layers' summed time), `train_seconds`, `test_seconds`
//! (the final test pass), `train_steps`, `train_loss`, `params`, the training precision's flag
//! (`trained_f32`, `trained_tf32` or `trained_bf16`: 1; the campaign's `precision`),
//! `timed_slots`, `timing_seconds` (wall time of the slot set's
//! timing), `compile_seconds` (kernel generation, compilation and tuning, summed over the
//! slots), and a flag naming what was timed:
//! `timed_tch_plan_cpu` or `timed_kas_cuda_kernels` (1). An operator that does not fit a slot
//! is `invalid`; on a GPU, one whose tch plan would create more than a share of the device's
//! memory is `other` (neither timed nor trained); one whose slot set is slower than the
//! configured floor is not trained (`timeout`: its training would take as much longer), and
//! one whose training runs past its limit (a multiple of the baseline's training time) is
//! stopped (`timeout`); a mismatch, compile error, time-out or crash of the timing keeps its
//! kind; a diverging training run is `diverged`. Any other error takes the kind of its type
//! ([`Error::failure_kind`]): a libtorch, driver or worker failure is `crashed`, a bad
//! configuration (a fidelity without a budget, a model that does not match the data) `other`.
//! Nothing panics on a bad candidate.

pub mod config;
pub mod gate;
pub mod host;
pub mod slot_timing;
pub mod training;

pub use config::TchEvaluatorConfig;
pub use host::CampaignHost;

use crate::error::{ConfigError, Error, Result};
use crate::fingerprint::Fingerprint;
use crate::models::slot::{Fill, SlotInfo, slot_binding};
use crate::models::{HostModel, ModelConfig};
use crate::timing::Backend;
use crate::train::TrainConfig;
use gate::DeviceGate;
use kas_campaign::{Candidate, Evaluator, FailureKind, Fidelity, Figure, Kernel, Metrics, Outcome};
use kas_primitives::Operator;
use slot_timing::{SlotSetTime, TimingSetup};
use std::sync::{Arc, Mutex, PoisonError};
use training::TrainData;

/// A device string: `cpu` or `cuda:K`.
pub fn parse_device(d: &str) -> Result<tch::Device> {
    if d == "cpu" {
        return Ok(tch::Device::Cpu);
    }
    d.strip_prefix("cuda:")
        .and_then(|k| k.parse::<usize>().ok())
        .map(tch::Device::Cuda)
        .ok_or_else(|| Error::UnknownDevice(d.to_string()))
}

/// The value of `CUDA_VISIBLE_DEVICES` that shows device `k` of this process first.
fn visible_device(k: usize) -> String {
    match std::env::var("CUDA_VISIBLE_DEVICES") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .nth(k)
            .map_or_else(|| k.to_string(), |s| s.trim().to_string()),
        _ => k.to_string(),
    }
}

/// The evaluator's device key: the device, the TF32 override and, on a GPU, which kas kernels
/// are timed. Timing figures depend on all three: a campaign resumed with other kernels times
/// its candidates again (a retime), as on another device.
pub fn device_key(
    device: &str,
    tf32_override: &str,
    backend: Backend,
    kernels: kas_campaign::KernelMode,
) -> String {
    let key = format!("{device}-tf32override-{tf32_override}");
    match backend {
        Backend::Cuda => format!("{key}-kernels-{}", kernels.label()),
        Backend::Cpu => key,
    }
}

/// The real evaluator (see the module docs).
#[derive(Debug)]
pub struct TchEvaluator {
    model: ModelConfig,
    slots: Vec<SlotInfo>,
    recipe: TrainConfig,
    timing: TimingSetup,
    train_min_speedup: f64,
    train_slowdown_limit: f64,
    train_grace_s: f64,
    /// Bytes the tch plan's tensors may take over the slot set (a GPU's share).
    max_plan_bytes: Option<f64>,
    /// The baseline's training seconds and steps per fidelity (by name).
    baseline_pace: Mutex<std::collections::HashMap<String, (f64, f64)>>,
    key: String,
    // tch tensors are Send but not Sync: the data is used by one evaluation at a time.
    data: Mutex<TrainData>,
    /// Where the device is: timing holds it alone (shared by the evaluators of one device).
    gate: Arc<DeviceGate>,
    device: tch::Device,
    /// Where the trained slot weights of operators evaluated at one fidelity go: the folder
    /// and the fidelity's name ([`TchEvaluator::saving_weights`]).
    save_weights: Option<(std::path::PathBuf, String)>,
}

impl TchEvaluator {
    /// Opens the device, loads the dataset once and lists the model's slots. Errors: an
    /// unknown device or one that is not there, a model and dataset that do not go together
    /// (images for the image classifiers, text for the GPT), a missing dataset (the message
    /// names `kas data fetch`).
    pub fn new(cfg: &TchEvaluatorConfig) -> Result<TchEvaluator> {
        let batch = TrainConfig::recipe(cfg.model.kind(), tch::Device::Cpu).batch;
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let slots = HostModel::new(cfg.model, batch, Fill::Original, &vs.root())?.slots;
        TchEvaluator::with_slots(cfg, slots)
    }

    /// [`TchEvaluator::new`] for a model whose slots are known (a [`CampaignHost`] built it).
    pub fn with_slots(cfg: &TchEvaluatorConfig, slots: Vec<SlotInfo>) -> Result<TchEvaluator> {
        let device = parse_device(&cfg.device)?;
        let kind = cfg.model.kind();
        if kind.is_language() == cfg.data.is_image() {
            return Err(Error::NotImageClassifier {
                model: kind,
                data: cfg.data,
            });
        }
        let mut max_plan_bytes = None;
        let (fingerprint, backend, visible) = match device {
            tch::Device::Cuda(k) => {
                if !crate::tch_plan::cuda_available() || !crate::gpu::present() {
                    return Err(Error::Missing(format!(
                        "device {}: no CUDA GPU is visible (no driver or no device)",
                        cfg.device
                    )));
                }
                if k > 0 && cfg.worker.is_none() {
                    return Err(ConfigError::WorkerNeeded {
                        device: cfg.device.clone(),
                    }
                    .into());
                }
                let gpu = crate::gpu::Gpu::open(k)?;
                tch::Cuda::cudnn_set_benchmark(true);
                if cfg.max_memory_fraction > 0.0 {
                    max_plan_bytes = Some(cfg.max_memory_fraction * gpu.total_memory()? as f64);
                }
                (
                    Fingerprint::cuda(&gpu, "f32", true)?,
                    Backend::Cuda,
                    Some(visible_device(k)),
                )
            }
            _ => (Fingerprint::cpu("f32"), Backend::Cpu, None),
        };
        let tf32 = fingerprint
            .settings
            .nvidia_tf32_override
            .clone()
            .unwrap_or_else(|| "unset".into());
        let key = device_key(&fingerprint.device_key(), &tf32, backend, cfg.kernels);
        let mut model = cfg.model;
        let mut recipe = TrainConfig::recipe(kind, device);
        let subsets = (cfg.train_subset, cfg.test_subset);
        let data = TrainData::load(
            cfg.data,
            &cfg.data_dir,
            &mut model,
            device,
            subsets,
            &recipe,
        )?;
        recipe.seed = cfg.seed;
        recipe.precision = cfg.precision;
        // tf32 and bf16 need a GPU: refused before the campaign starts.
        recipe.check_precision()?;
        Ok(TchEvaluator {
            model,
            slots,
            recipe,
            timing: TimingSetup {
                backend,
                worker: cfg.worker.clone(),
                visible_device: visible,
                threads: cfg.timing_threads,
                budget_s: cfg.timing_budget_s,
                seed: cfg.seed,
                kernels: cfg.kernels,
            },
            train_min_speedup: cfg.train_min_speedup,
            train_slowdown_limit: cfg.train_slowdown_limit,
            train_grace_s: cfg.train_grace_s,
            max_plan_bytes,
            baseline_pace: Mutex::new(Default::default()),
            key,
            data: Mutex::new(data),
            gate: Arc::new(DeviceGate::new()),
            device,
            save_weights: None,
        })
    }

    /// This evaluator saving the trained slot weights of every operator it trains at fidelity
    /// `fidelity` as `dir/<canonical hash>.safetensors` (`crate::train::weights`), the first
    /// training of each operator only (an existing file is kept).
    pub fn saving_weights(mut self, dir: std::path::PathBuf, fidelity: String) -> TchEvaluator {
        self.save_weights = Some((dir, fidelity));
        self
    }

    /// This evaluator sharing `gate` with the other evaluators of its device: their timings
    /// take turns, and their trainings hold while one times (see [`gate`]).
    pub fn with_gate(mut self, gate: Arc<DeviceGate>) -> TchEvaluator {
        self.gate = gate;
        self
    }

    /// The model's slots.
    pub fn slots(&self) -> &[SlotInfo] {
        &self.slots
    }

    /// The model's configuration (classes from the dataset).
    pub fn model(&self) -> ModelConfig {
        self.model
    }

    /// Checks that `op` fits every slot of the model (builds the model on the CPU).
    pub fn check_fit(&self, op: &Operator) -> Result<()> {
        self.check_kernel_fit(&Kernel::Operator(op.clone()))
    }

    /// Checks that `kernel`, an operator or a graph kernel, fits every slot of the model.
    pub fn check_kernel_fit(&self, kernel: &Kernel) -> Result<()> {
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        HostModel::new(self.model, self.recipe.batch, fill(kernel), &vs.root()).map(|_| ())
    }

    /// Bytes of the tensors `op`'s tch plan creates over the slot set at the training batch
    /// (each distinct slot shape lowered once).
    fn plan_bytes(&self, op: &Operator) -> Result<f64> {
        let mut by_shape = std::collections::HashMap::new();
        let mut total = 0.0;
        for s in &self.slots {
            let b = slot_binding(op, s, self.recipe.batch)?;
            let bytes = match by_shape.get(&(b.primary, b.coeff)) {
                Some(&bytes) => bytes,
                None => {
                    let ir = kas_codegen::StageIr::lower_for(op, std::slice::from_ref(&b))?;
                    let bytes = 4.0 * crate::tch_plan::created_elements(&ir, &b)?;
                    by_shape.insert((b.primary, b.coeff), bytes);
                    bytes
                }
            };
            total += bytes;
        }
        Ok(total)
    }

    /// Times `kernel` in every slot against the original layers, holding the device alone
    /// while it measures (a timing worker compiles and validates while the device's trainings
    /// run; in this process the whole timing holds it).
    fn time(&self, kernel: &Kernel, repeats: u32) -> std::result::Result<SlotSetTime, Outcome> {
        let mut req = slot_timing::kernel_request(
            kernel,
            &self.slots,
            self.recipe.batch,
            repeats,
            &self.timing,
        )
        .map_err(failed)?;
        let start = std::time::Instant::now();
        let result = if self.timing.worker.is_some() {
            req.request.turns = true;
            slot_timing::run(&req.request, &self.timing, Some(&*self.gate))
        } else {
            let _hold = self.gate.timing();
            slot_timing::run(&req.request, &self.timing, None)
        }
        .map_err(failed)?;
        let mut t = slot_timing::summed(&result, &req.counts)
            .map_err(|(kind, msg)| Outcome::failed(kind, msg))?;
        t.wall_s = start.elapsed().as_secs_f64();
        Ok(t)
    }

    /// The training-time limit of a candidate at `fidelity` trained for `steps` steps, if the
    /// baseline's pace there is known.
    fn train_limit(&self, fidelity: &Fidelity, steps: usize) -> Option<f64> {
        if self.train_slowdown_limit <= 0.0 {
            return None;
        }
        let (secs, base_steps) = *self
            .baseline_pace
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&fidelity.name)?;
        Some(
            self.train_slowdown_limit * secs * steps as f64 / base_steps.max(1.0)
                + self.train_grace_s,
        )
    }

    /// Trains with `fill` at `fidelity` from training seed `seed` (weights, data order and
    /// augmentation) and builds the outcome; `plan_bytes` is what the operator's tch plan
    /// reserves of the device's shared memory limit ([`TchEvaluator::checked_time`]). The
    /// trained slot weights go to `save` if given.
    fn train_outcome(
        &self,
        fill: Fill<'_>,
        fidelity: &Fidelity,
        (time, plan_bytes): (Option<SlotSetTime>, f64),
        seed: u64,
        save: Option<std::path::PathBuf>,
    ) -> Outcome {
        let data = self.data.lock().unwrap_or_else(PoisonError::into_inner);
        let steps = match training::steps_of(fidelity, &data, &self.model, self.recipe.batch) {
            Ok(s) => s,
            Err(e) => return failed(e),
        };
        let mut recipe = self.recipe.clone();
        recipe.seed = seed;
        recipe.save_weights = save;
        if matches!(fill, Fill::Operator(_) | Fill::Graph(_)) {
            recipe.max_train_seconds = self.train_limit(fidelity, steps);
        }
        // Waits (before the training clock starts) while the device's other trainings hold
        // the memory this one needs.
        let _memory = self
            .max_plan_bytes
            .map(|limit| self.gate.memory(plan_bytes, limit));
        let device = self.device;
        // Its own stream: the trainings of the device's other evaluations (threads of this
        // process) overlap with it instead of queueing behind it on the default stream.
        let _stream = match device {
            tch::Device::Cuda(k) => match crate::torch_context::pool_stream(k) {
                Ok(s) => Some(s),
                Err(e) => return failed(e),
            },
            _ => None,
        };
        let mut pass = self.gate.training();
        let trained = training::train(self.model, fill, &data, &recipe, steps, &mut || {
            pass.between_steps(|| {
                if let tch::Device::Cuda(k) = device {
                    tch::Cuda::synchronize(k as i64);
                }
            })
        });
        let paused_s = pass.paused_s;
        drop(pass);
        let r = match trained {
            Ok(r) => r,
            Err(e) => return failed(e),
        };
        if let Some(reason) = r.diverged {
            return Outcome::failed(
                FailureKind::Diverged,
                format!("after {} steps: {reason}", r.steps),
            );
        }
        if let Some(reason) = r.timed_out {
            let kernels = time.map_or(String::new(), |t| {
                format!(" (its kernels: {:.3}x the original layers)", t.speedup())
            });
            let paused = if paused_s > 0.0 {
                format!(
                    " (held {paused_s:.1} s while other evaluations timed on the device, not counted)"
                )
            } else {
                String::new()
            };
            return Outcome::failed(
                FailureKind::Timeout,
                format!(
                    "{reason}, {}x the baseline's{kernels}{paused}",
                    self.train_slowdown_limit
                ),
            );
        }
        if let Some(l) = r.val_loss.filter(|l| !l.is_finite()) {
            return Outcome::failed(
                FailureKind::Diverged,
                format!("after {} steps: validation loss {l}", r.steps),
            );
        }
        let mut m = Metrics {
            accuracy: r.accuracy,
            loss: r.val_loss,
            ..Metrics::default()
        };
        let extra = &mut m.extra;
        if let Some(l) = r.val_loss {
            extra.insert(Figure::Perplexity, l.exp());
        }
        extra.insert(Figure::TrainSeconds, r.train_seconds);
        extra.insert(Figure::TestSeconds, r.test_seconds);
        extra.insert(Figure::trained_at(r.precision), 1.0);
        extra.insert(Figure::TrainSteps, r.steps as f64);
        extra.insert(Figure::TrainLoss, r.train_loss);
        extra.insert(Figure::Params, r.params as f64);
        if let Some(t) = time {
            m = m.with_timing(&self.timing_metrics(&t));
        }
        Outcome::Ok(m).sanitized()
    }

    /// The timing figures of a slot-set time.
    fn timing_metrics(&self, t: &SlotSetTime) -> Metrics {
        let mut m = Metrics {
            speedup: Some(t.speedup()),
            latency_ms: Some(t.kas_s * 1e3),
            ..Metrics::default()
        };
        let extra = &mut m.extra;
        extra.insert(Figure::BaselineLatencyMs, t.original_s * 1e3);
        extra.insert(Figure::TimedSlots, t.slots as f64);
        extra.insert(Figure::TimingSeconds, t.wall_s);
        extra.insert(Figure::CompileSeconds, t.compile_s);
        let flag = match self.timing.backend {
            Backend::Cpu => Figure::TimedTchPlanCpu,
            Backend::Cuda => Figure::TimedKasCudaKernels,
        };
        extra.insert(flag, 1.0);
        m
    }

    /// The checks before training (the tch plan's memory, the fit in every slot) and the
    /// slot set's timing at `fidelity` (none without `timing_repeats`): the time and the tch
    /// plan's bytes (0 without a memory limit), or the failure that ends the evaluation. A
    /// graph kernel's memory is bounded by its space instead (its largest intermediate, a
    /// multiple of the slot's input and output), so only operators are checked here.
    fn checked_time(
        &self,
        kernel: &Kernel,
        fidelity: &Fidelity,
    ) -> std::result::Result<(Option<SlotSetTime>, f64), Outcome> {
        // The memory check needs only the plan's shapes; building the model (check_fit)
        // computes every gather's index map, which for a plan over-the-limit takes minutes.
        let mut plan_bytes = 0.0;
        if let (Some(limit), Kernel::Operator(op)) = (self.max_plan_bytes, kernel) {
            match self.plan_bytes(op) {
                Ok(bytes) if bytes > limit => {
                    const GIB: f64 = (1u64 << 30) as f64;
                    return Err(Outcome::failed(
                        FailureKind::Other,
                        format!(
                            "its tch plan would create {:.1} GiB of tensors over the {} slots at batch {} (gathered views and stage results, kept for the backward pass); the limit is {:.1} GiB",
                            bytes / GIB,
                            self.slots.len(),
                            self.recipe.batch,
                            limit / GIB
                        ),
                    ));
                }
                Ok(bytes) => plan_bytes = bytes,
                Err(e) => return Err(failed(e)),
            }
        }
        self.check_kernel_fit(kernel).map_err(failed)?;
        match fidelity.timing_repeats {
            Some(n) if n > 0 => match self.time(kernel, n) {
                Ok(t) if t.speedup() < self.train_min_speedup => Err(Outcome::failed(
                    FailureKind::Timeout,
                    format!(
                        "the slot set is {:.1}x slower than the original layers (limit {:.1}x): not trained",
                        1.0 / t.speedup(),
                        1.0 / self.train_min_speedup
                    ),
                )),
                Ok(t) => Ok((Some(t), plan_bytes)),
                Err(failed) => Err(failed),
            },
            _ => Ok((None, plan_bytes)),
        }
    }
}

/// The slot fill of a candidate's kernel.
fn fill(kernel: &Kernel) -> Fill<'_> {
    match kernel {
        Kernel::Operator(op) => Fill::Operator(op),
        Kernel::Graph(g) => Fill::Graph(g),
    }
}

/// The outcome of an evaluation that fails with `e`: its [kind](Error::failure_kind) and the
/// first line of its message.
fn failed(e: Error) -> Outcome {
    let message = e.to_string();
    Outcome::failed(
        e.failure_kind(),
        message.lines().next().unwrap_or("").to_string(),
    )
}

impl Evaluator for TchEvaluator {
    fn device_key(&self) -> String {
        self.key.clone()
    }

    fn evaluate(&self, candidate: &Candidate, fidelity: &Fidelity, seed: u64) -> Outcome {
        match self.checked_time(&candidate.kernel, fidelity) {
            Ok(checked) => {
                let save = (self.save_weights.as_ref())
                    .filter(|(_, f)| *f == fidelity.name)
                    .map(|(dir, _)| dir.join(format!("{}.safetensors", candidate.canonical)))
                    .filter(|p| !p.exists());
                self.train_outcome(fill(&candidate.kernel), fidelity, checked, seed, save)
            }
            Err(failed) => failed,
        }
    }

    fn time(&self, candidate: &Candidate, fidelity: &Fidelity) -> Outcome {
        match self.checked_time(&candidate.kernel, fidelity) {
            Ok((Some(t), _)) => Outcome::Ok(self.timing_metrics(&t)).sanitized(),
            Ok((None, _)) => Outcome::failed(
                FailureKind::Other,
                format!("fidelity `{}` has no timing_repeats", fidelity.name),
            ),
            Err(failed) => failed,
        }
    }

    fn set_baseline(&self, fidelity: &Fidelity, outcome: &Outcome) {
        if let Outcome::Ok(m) = outcome
            && let (Some(&secs), Some(&steps)) = (
                m.extra.get(&Figure::TrainSeconds),
                m.extra.get(&Figure::TrainSteps),
            )
            && secs > 0.0
            && steps > 0.0
        {
            self.baseline_pace
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(fidelity.name.clone(), (secs, steps));
        }
    }

    fn baseline(&self, fidelity: &Fidelity, seed: u64) -> Outcome {
        let mut o = self.train_outcome(Fill::Original, fidelity, (None, 0.0), seed, None);
        if let Outcome::Ok(m) = &mut o {
            m.speedup = Some(1.0);
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kas_campaign::KernelMode;

    #[test]
    fn gpu_keys_name_the_kernels_and_cpu_keys_do_not() {
        let gpu = |k| device_key("nvidia-h200-sm90-ab", "unset", Backend::Cuda, k);
        assert_eq!(
            gpu(KernelMode::Tuned),
            "nvidia-h200-sm90-ab-tf32override-unset-kernels-tuned"
        );
        assert_ne!(gpu(KernelMode::Tuned), gpu(KernelMode::Heuristic));
        assert_eq!(
            device_key("cpu-x", "unset", Backend::Cpu, KernelMode::Tuned),
            device_key("cpu-x", "unset", Backend::Cpu, KernelMode::Heuristic)
        );
    }
}
