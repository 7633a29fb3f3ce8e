//! Timing a candidate in every slot of a host model against the slots' original layers, at
//! the model's batch, through the timing API (which validates the candidate numerically
//! before timing it): the slot set's time is the sum over slots of the median times. Slots
//! with one shape (a ResNet's repeated blocks) are one binding of the request, validated and
//! timed once and counted once per slot: the same operator at the same sizes from the same
//! seed is the same measurement. A graph kernel (a graph campaign's candidate) is timed the same
//! way, as a `kas-graph` file in the request (`crate::timing::graph`).

use crate::error::{ConfigError, Result};
use crate::models::slot::{SlotInfo, SlotShape, graph_slot_binding, slot_binding};
use crate::timing::{
    Backend, Baseline, Protocol, TimingRequest, TimingResult, Turns, WorkerLimits, run_collect,
    run_isolated_in_turns,
};
use kas_campaign::{FailureKind, Kernel};
use kas_primitives::{NamedBinding, Operator, write_operator};
use std::path::{Path, PathBuf};
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
    /// libtorch's CPU threads in the worker (`OMP_NUM_THREADS`, `MKL_NUM_THREADS`), if set.
    pub threads: Option<usize>,
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
        SlotShape::GroupedConv { groups, .. } => Baseline::GroupedConv3x3 {
            groups: *groups as u32,
        },
        SlotShape::Qkv { .. } | SlotShape::Linear { .. } => Baseline::Matmul,
        SlotShape::Mix { heads, .. } => Baseline::CausalAttention {
            heads: *heads as u32,
        },
    }
}

/// A slot set's timing request: one binding per distinct slot shape.
#[derive(Debug, Clone)]
pub struct SlotRequest {
    /// The request (each binding named after the first slot of its shape).
    pub request: TimingRequest,
    /// How many slots each of its bindings stands for.
    pub counts: Vec<usize>,
}

/// The timing request for `op` in every slot of `slots` at batch `batch`, `repeats` timed
/// runs per measurement, each distinct binding once.
pub fn request(
    op: &Operator,
    slots: &[SlotInfo],
    batch: i64,
    repeats: u32,
    setup: &TimingSetup,
) -> Result<SlotRequest> {
    kernel_request(&Kernel::Operator(op.clone()), slots, batch, repeats, setup)
}

/// [`request`] for a candidate's kernel, an operator or a graph kernel.
pub fn kernel_request(
    kernel: &Kernel,
    slots: &[SlotInfo],
    batch: i64,
    repeats: u32,
    setup: &TimingSetup,
) -> Result<SlotRequest> {
    let first = slots.first().ok_or(ConfigError::NoSlots)?;
    let mut bindings: Vec<NamedBinding> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    for s in slots {
        let mut b = match kernel {
            Kernel::Operator(op) => {
                NamedBinding::from_binding(&slot_binding(op, s, batch)?, &op.vars)
            }
            Kernel::Graph(g) => {
                NamedBinding::from_binding(&graph_slot_binding(g, s, batch)?, &g.vars)
            }
        };
        match bindings.iter().position(|x| x.values == b.values) {
            Some(i) => counts[i] += 1,
            None => {
                b.name = s.name.clone();
                bindings.push(b);
                counts.push(1);
            }
        }
    }
    let text = match kernel {
        Kernel::Operator(op) => write_operator("candidate", "a search candidate", op)?,
        Kernel::Graph(g) => {
            let mut g = g.clone();
            g.name = "candidate".into();
            kas_graph::write_graph(&g, "a search candidate")?
        }
    };
    let mut req = TimingRequest::new("candidate", text, bindings, setup.backend);
    req.graph = matches!(kernel, Kernel::Graph(_));
    req.protocol = Protocol {
        budget_s: setup.budget_s,
        ..Protocol::default()
    }
    .with_repeats(repeats as usize);
    req.baseline = Some(original_layer(&first.shape));
    req.seed = setup.seed;
    req.kernels = setup.kernels;
    Ok(SlotRequest {
        request: req,
        counts,
    })
}

/// The worker process `setup` names (`EXE internal time-candidate`), with its device and
/// thread settings.
fn worker_command(exe: &Path, setup: &TimingSetup) -> Command {
    let mut c = Command::new(exe);
    c.args(["internal", "time-candidate"]);
    if let Some(d) = &setup.visible_device {
        c.env("CUDA_VISIBLE_DEVICES", d);
    }
    if let Some(n) = setup.threads {
        c.env("OMP_NUM_THREADS", n.to_string());
        c.env("MKL_NUM_THREADS", n.to_string());
    }
    c
}

/// Runs `req` where `setup` says: in a worker process, whose timing phases take their turns
/// from `turns` when `req` asks for turns, or in this process (the caller holds the device).
pub fn run(
    req: &TimingRequest,
    setup: &TimingSetup,
    turns: Option<&dyn Turns>,
) -> Result<TimingResult> {
    match &setup.worker {
        None => run_collect(req),
        Some(exe) => {
            let worker = || worker_command(exe, setup);
            run_isolated_in_turns(req, &worker, WorkerLimits::of(req), turns, &mut |_, _| {})
        }
    }
}

/// The slot set's time from a result whose binding `i` stands for `counts[i]` slots, or the
/// first failure's kind and one line.
pub fn summed(
    r: &TimingResult,
    counts: &[usize],
) -> std::result::Result<SlotSetTime, (FailureKind, String)> {
    let mut t = SlotSetTime {
        kas_s: 0.0,
        original_s: 0.0,
        slots: 0,
        compile_s: r.bindings.iter().filter_map(|b| b.compile_s).sum(),
        wall_s: 0.0,
    };
    if counts.len() != r.bindings.len() {
        return Err((
            FailureKind::Other,
            format!(
                "the timing result has {} bindings, the request {}",
                r.bindings.len(),
                counts.len()
            ),
        ));
    }
    for (b, &count) in r.bindings.iter().zip(counts) {
        if let Some(f) = &b.failure {
            let msg = format!("slot `{}` ({}): {}", b.binding, f.phase.label(), f.reason);
            return Err((f.kind, msg));
        }
        match (&b.kas, &b.baseline) {
            (Some(k), Some(o)) => {
                t.kas_s += count as f64 * k.stats.median;
                t.original_s += count as f64 * o.stats.median;
                t.slots += count;
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
        let t = summed(&result(vec![a.clone(), b.clone()]), &[1, 1]).unwrap();
        assert_eq!((t.kas_s, t.original_s, t.slots), (4.0, 4.0, 2));
        assert_eq!(t.speedup(), 1.0);
        // A binding standing for three slots counts three times.
        let t = summed(&result(vec![a.clone(), b]), &[3, 1]).unwrap();
        assert_eq!((t.kas_s, t.original_s, t.slots), (6.0, 10.0, 4));
        assert!(summed(&result(vec![a.clone()]), &[1, 1]).is_err());
        let mut bad = BindingResult::new("c", Default::default());
        bad.failure = Some(Failure {
            phase: Phase::Validate,
            kind: FailureKind::Mismatch,
            reason: "err 0.5".into(),
        });
        let (kind, msg) = summed(&result(vec![a, bad]), &[1, 1]).unwrap_err();
        assert_eq!(kind, FailureKind::Mismatch);
        assert!(msg.contains("slot `c` (validate): err 0.5"), "{msg}");
        assert!(summed(&result(vec![]), &[]).is_err());
    }

    fn setup(backend: Backend, threads: Option<usize>) -> TimingSetup {
        TimingSetup {
            backend,
            worker: Some(PathBuf::from("kas")),
            visible_device: None,
            threads,
            budget_s: 2.0,
            seed: 0,
            kernels: Default::default(),
        }
    }

    #[test]
    fn the_cpu_worker_runs_with_the_set_threads() {
        let env = |c: &Command| -> Vec<(String, String)> {
            c.get_envs()
                .filter_map(|(k, v)| Some((k.to_str()?.into(), v?.to_str()?.into())))
                .collect()
        };
        let c = worker_command(Path::new("kas"), &setup(Backend::Cpu, Some(1)));
        let args: Vec<_> = c.get_args().collect();
        assert_eq!(args, ["internal", "time-candidate"]);
        let e = env(&c);
        assert!(e.contains(&("OMP_NUM_THREADS".into(), "1".into())), "{e:?}");
        assert!(e.contains(&("MKL_NUM_THREADS".into(), "1".into())), "{e:?}");
        let c = worker_command(Path::new("kas"), &setup(Backend::Cuda, None));
        assert!(env(&c).is_empty());
    }

    #[test]
    fn slots_of_one_shape_are_one_binding_counted_per_slot() {
        use crate::models::slot::SlotShape;
        let op = (kas_primitives::library::get("conv2d").unwrap().build)().unwrap();
        let conv = |name: &str, c: i64, h: i64| SlotInfo {
            name: name.into(),
            shape: SlotShape::Conv {
                c_in: c,
                c_out: c,
                h,
            },
        };
        let slots = [
            conv("a", 8, 8),
            conv("b", 8, 8),
            conv("c", 16, 4),
            conv("d", 8, 8),
        ];
        let r = request(&op, &slots, 2, 5, &setup(Backend::Cpu, Some(1))).unwrap();
        let names: Vec<&str> = r.request.bindings.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(r.counts, [3, 1]);
        assert_eq!(r.request.protocol.max_repeats, 5);
    }
}
