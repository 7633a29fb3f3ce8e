//! Timing a candidate in every slot of a host model against the slots' original layers, at
//! the model's batch, through the timing API (which validates the candidate numerically
//! before timing it): the slot set's time is the sum over slots of the median times.

use crate::error::{ConfigError, Result};
use crate::models::slot::{SlotInfo, SlotShape, slot_binding};
use crate::timing::{
    Backend, Baseline, Protocol, TimingRequest, TimingResult, WorkerLimits, run_collect,
    run_isolated,
};
use kas_campaign::FailureKind;
use kas_primitives::{NamedBinding, Operator, write_operator};
use std::path::PathBuf;
use std::process::Command;

/// The slot set's times, summed over the slots (seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotSetTime {
    /// The candidate's time.
    pub kas_s: f64,
    /// The original layers' time, measured side by side.
    pub original_s: f64,
    /// Slots timed.
    pub slots: usize,
    /// Seconds the worker spent generating, compiling and (on a GPU) tuning the candidate's
    /// kernels, summed over the slots.
    pub compile_s: f64,
    /// Wall seconds of the whole timing request (worker start, compile, validation, timing).
    pub wall_s: f64,
}

impl SlotSetTime {
    /// `original / candidate`.
    pub fn speedup(&self) -> f64 {
        self.original_s / self.kas_s
    }
}

/// Where the timing runs.
#[derive(Debug, Clone)]
pub struct TimingSetup {
    /// The backend: the tch plan against libtorch on the CPU, or kas's CUDA kernels against
    /// cuDNN / cuBLAS.
    pub backend: Backend,
    /// The worker executable (`kas`, run as `kas internal time-candidate`) for isolated
    /// timing; `None` times in this process.
    pub worker: Option<PathBuf>,
    /// The CUDA device the worker sees as its first (`CUDA_VISIBLE_DEVICES`), if any.
    pub visible_device: Option<String>,
    /// Seconds of wall time each measurement may take (the protocol's budget).
    pub budget_s: f64,
    /// Seed of the timing's inputs and weights.
    pub seed: u64,
    /// Which kas kernels the GPU times.
    pub kernels: kas_campaign::KernelMode,
}

/// The library layer each kind of slot originally holds.
fn original_layer(shape: &SlotShape) -> Baseline {
    match shape {
        SlotShape::Conv { .. } => Baseline::Conv3x3,
        SlotShape::Qkv { .. } => Baseline::Matmul,
    }
}

/// The timing request for `op` in every slot of `slots` at batch `batch`, `repeats` timed
/// runs per measurement.
pub fn request(
    op: &Operator,
    slots: &[SlotInfo],
    batch: i64,
    repeats: u32,
    setup: &TimingSetup,
) -> Result<TimingRequest> {
    let first = slots.first().ok_or(ConfigError::NoSlots)?;
    let bindings: Vec<NamedBinding> = slots
        .iter()
        .map(|s| slot_binding(op, s, batch).map(|b| NamedBinding::from_binding(&b, &op.vars)))
        .collect::<Result<_>>()?;
    let mut req = TimingRequest::new(
        "candidate",
        write_operator("candidate", "a search candidate", op)?,
        bindings,
        setup.backend,
    );
    req.protocol = Protocol {
        budget_s: setup.budget_s,
        ..Protocol::default()
    }
    .with_repeats(repeats as usize);
    req.baseline = Some(original_layer(&first.shape));
    req.seed = setup.seed;
    req.kernels = setup.kernels;
    Ok(req)
}

/// Runs `req` where `setup` says.
pub fn run(req: &TimingRequest, setup: &TimingSetup) -> Result<TimingResult> {
    match &setup.worker {
        None => run_collect(req),
        Some(exe) => {
            let worker = || {
                let mut c = Command::new(exe);
                c.args(["internal", "time-candidate"]);
                if let Some(d) = &setup.visible_device {
                    c.env("CUDA_VISIBLE_DEVICES", d);
                }
                c
            };
            run_isolated(req, &worker, WorkerLimits::of(req), &mut |_, _| {})
        }
    }
}

/// The slot set's time from a result, or the first failure's kind and one line.
pub fn summed(r: &TimingResult) -> std::result::Result<SlotSetTime, (FailureKind, String)> {
    let mut t = SlotSetTime {
        kas_s: 0.0,
        original_s: 0.0,
        slots: 0,
        compile_s: r.bindings.iter().filter_map(|b| b.compile_s).sum(),
        wall_s: 0.0,
    };
    for b in &r.bindings {
        if let Some(f) = &b.failure {
            let msg = format!("slot `{}` ({}): {}", b.binding, f.phase.label(), f.reason);
            return Err((f.kind, msg));
        }
        match (&b.kas, &b.baseline) {
            (Some(k), Some(o)) => {
                t.kas_s += k.stats.median;
                t.original_s += o.stats.median;
                t.slots += 1;
            }
            _ => {
                return Err((
                    FailureKind::Other,
                    format!("slot `{}` was not timed on both sides", b.binding),
                ));
            }
        }
    }
    if t.slots == 0 || t.kas_s <= 0.0 || t.original_s <= 0.0 {
        return Err((FailureKind::Other, "no slot was timed".into()));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::Fingerprint;
    use crate::timing::{BindingResult, SampleStats, Stop};
    use crate::timing::{Failure, Measurement, Phase};

    fn measured(median: f64) -> Measurement {
        Measurement {
            stats: SampleStats::of(&[median, median, median]).unwrap(),
            stop: Stop::MaxRepeats,
            warmup: 1,
            elapsed_s: 4.0 * median,
        }
    }

    fn result(bs: Vec<BindingResult>) -> TimingResult {
        TimingResult {
            name: "t".into(),
            fingerprint: Fingerprint::cpu("f32"),
            peak: None,
            bindings: bs,
        }
    }

    #[test]
    fn times_sum_over_slots_and_failures_keep_their_kind() {
        let mut a = BindingResult::new("a", Default::default());
        a.kas = Some(measured(1.0));
        a.baseline = Some(measured(3.0));
        let mut b = BindingResult::new("b", Default::default());
        b.kas = Some(measured(3.0));
        b.baseline = Some(measured(1.0));
        let t = summed(&result(vec![a.clone(), b])).unwrap();
        assert_eq!((t.kas_s, t.original_s, t.slots), (4.0, 4.0, 2));
        assert_eq!(t.speedup(), 1.0);
        let mut bad = BindingResult::new("c", Default::default());
        bad.failure = Some(Failure {
            phase: Phase::Validate,
            kind: FailureKind::Mismatch,
            reason: "err 0.5".into(),
        });
        let (kind, msg) = summed(&result(vec![a, bad])).unwrap_err();
        assert_eq!(kind, FailureKind::Mismatch);
        assert!(msg.contains("slot `c` (validate): err 0.5"), "{msg}");
        assert!(summed(&result(vec![])).is_err());
    }
}
