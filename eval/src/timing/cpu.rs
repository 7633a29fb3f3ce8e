//! The CPU target: the operator's tch plan (f32) and the baseline through libtorch, timed with
//! the wall clock; validation against the stage IR evaluated in f64.
//!
//! The protocol's flush, on x86-64, evicts from every cache level exactly the memory a run
//! reads that outlives it (the input, the weights, the plan's index maps and masks) with
//! `clflush`, as the GPU's L2 flush makes operands come from device memory; what a run
//! allocates comes from libtorch's allocator as it would in a model. It costs about what
//! reading those bytes once costs. (A buffer write of twice the last-level cache, as before,
//! wrote 960 MB before every run on a VM that reports its host's 480 MiB L3: 0.1 s per run
//! against runs of 1 to 10 ms, and the dirty lines it left were written back during the
//! timed run.) Elsewhere the flush writes a buffer of twice the last-level cache.

use super::baseline::Baseline;
use super::clock::WallClock;
use super::protocol::{ClockSampler, Sampler};
use super::request::{Fault, Precision};
use super::roofline::Peak;
use super::worker::TimingTarget;
use crate::error::{Result, WorkerError};
use crate::fingerprint::Fingerprint;
use crate::tch_plan::{TchPlan, run_f32};
use kas_codegen::StageIr;
use kas_codegen::stage_eval::run_stages;
use kas_graph::GraphKernel;
use kas_primitives::interp::random_inputs;
use kas_primitives::{Binding, Operator, Tensor};
use tch::nn::VarStore;
use tch::{Device, Kind};

/// Bytes written between CPU runs when the last-level cache size is unknown.
const DEFAULT_FLUSH_BYTES: usize = 64 << 20;

/// Times on the CPU.
pub struct CpuTarget {
    precision: Precision,
    flush: Flush,
}

/// How the memory of a run leaves the caches before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flush {
    /// `clflush` every cache line of the tensors the run reads (x86-64).
    EvictHeld,
    /// Write a buffer of this many bytes.
    Buffer(usize),
}

impl CpuTarget {
    /// The CPU target.
    pub fn new(precision: Precision) -> CpuTarget {
        let flush = if cfg!(target_arch = "x86_64") {
            Flush::EvictHeld
        } else {
            Flush::Buffer(flush_bytes())
        };
        CpuTarget { precision, flush }
    }

    /// A sampler of `work` whose flush evicts `held` (the tensors `work` reads that outlive
    /// a run), or writes a buffer.
    /// A sampler of `apply(x)` without gradients, holding the plan's tensors `held` and `x`
    /// (evicted between samples) and keeping `vs`, their owner, alive.
    fn forward_sampler(
        &self,
        vs: VarStore,
        mut held: Vec<tch::Tensor>,
        x: tch::Tensor,
        apply: impl Fn(&tch::Tensor) -> tch::Tensor + 'static,
    ) -> Box<dyn Sampler> {
        held.push(x.shallow_clone());
        self.sampler(held, move || {
            let _keep = &vs;
            let y = tch::no_grad(|| apply(&x));
            drop(std::hint::black_box(y));
            Ok(())
        })
    }

    fn sampler(
        &self,
        held: Vec<tch::Tensor>,
        work: impl FnMut() -> Result<(), String> + 'static,
    ) -> Box<dyn Sampler> {
        match self.flush {
            Flush::EvictHeld => Box::new(ClockSampler::with_flush(
                WallClock::new(),
                Box::new(move || {
                    evict(&held);
                    Ok(())
                }),
                work,
            )),
            Flush::Buffer(bytes) => Box::new(ClockSampler::new(WallClock::new(), bytes, work)),
        }
    }
}

/// The bytes `t`'s elements span in memory (its strides may skip or repeat elements).
fn span_bytes(t: &tch::Tensor) -> usize {
    if t.numel() == 0 {
        return 0;
    }
    let last: i64 = t
        .size()
        .iter()
        .zip(t.stride())
        .map(|(&n, s)| (n - 1) * s.max(0))
        .sum();
    (last as usize + 1) * t.kind().elt_size_in_bytes()
}

/// Evicts every cache line of `tensors` (CPU tensors) from every cache level, and waits until
/// that is done.
fn evict(tensors: &[tch::Tensor]) {
    for t in tensors {
        evict_range(t.data_ptr() as usize, span_bytes(t));
    }
    fence();
}

/// Cache-line step of the eviction (x86-64 lines are 64 bytes; a larger line is evicted more
/// than once, never skipped).
const LINE: usize = 64;

#[cfg(target_arch = "x86_64")]
fn evict_range(start: usize, len: usize) {
    let mut p = start & !(LINE - 1);
    while p < start + len {
        // SAFETY: `p` lies in a cache line of a live tensor's allocation (a tensor's data is
        // held by the caller); `clflush` only writes the line back and invalidates it.
        unsafe { std::arch::x86_64::_mm_clflush(p as *const u8) };
        p += LINE;
    }
}

#[cfg(target_arch = "x86_64")]
fn fence() {
    // SAFETY: a memory fence has no operands.
    unsafe { std::arch::x86_64::_mm_mfence() };
}

// Never called elsewhere: the target writes a buffer there (`Flush::Buffer`).
#[cfg(not(target_arch = "x86_64"))]
fn evict_range(_start: usize, _len: usize) {}

#[cfg(not(target_arch = "x86_64"))]
fn fence() {}

/// Twice the last-level cache (from sysfs), or 64 MiB.
pub(crate) fn flush_bytes() -> usize {
    let dir = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    let mut best = 0usize;
    for i in 0..8 {
        let Ok(t) = std::fs::read_to_string(dir.join(format!("index{i}/size"))) else {
            continue;
        };
        if let Some(bytes) = parse_cache_size(t.trim()) {
            best = best.max(bytes);
        }
    }
    if best == 0 {
        DEFAULT_FLUSH_BYTES
    } else {
        2 * best
    }
}

/// `32768K` → 33554432.
fn parse_cache_size(s: &str) -> Option<usize> {
    let (num, mul) = match s.chars().last()? {
        'K' => (&s[..s.len() - 1], 1 << 10),
        'M' => (&s[..s.len() - 1], 1 << 20),
        _ => (s, 1),
    };
    num.parse::<usize>().ok().map(|n| n * mul)
}

fn shape_i64(s: &[usize]) -> Vec<i64> {
    s.iter().map(|&x| x as i64).collect()
}

impl TimingTarget for CpuTarget {
    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::cpu(self.precision.label())
    }

    fn peak(&self) -> Option<Peak> {
        None
    }

    fn compile(
        &mut self,
        _name: &str,
        op: &Operator,
        b: &Binding,
        seed: u64,
    ) -> Result<Box<dyn Sampler>> {
        let vs = VarStore::new(Device::Cpu);
        let (plan, x) = crate::seeded::seeded(seed, || -> Result<_> {
            let plan = TchPlan::new(op, b, &vs.root())?;
            let x = tch::Tensor::randn(
                shape_i64(&op.concrete(&op.input, b)?),
                (Kind::Float, Device::Cpu),
            );
            Ok((plan, x))
        })?;
        let held = plan
            .held_tensors()
            .into_iter()
            .map(|t| t.shallow_clone())
            .collect();
        Ok(self.forward_sampler(vs, held, x, move |x| plan.apply(x)))
    }

    fn validate(
        &mut self,
        _name: &str,
        op: &Operator,
        b: &Binding,
        seed: u64,
    ) -> Result<(f64, String)> {
        let xs = rounded_inputs(op, b, seed)?;
        // The stage IR in f64 follows the planner's cheap order (the naive interpreter's loop
        // nest is far slower at real layer sizes); `kas verify` holds it to the interpreter
        // within 1e-9.
        let ir = StageIr::lower_for(op, std::slice::from_ref(b))?;
        let want = run_stages(&ir, b, &xs)?;
        let got = run_f32(op, b, &xs, Device::Cpu)?;
        Ok((
            got.rel_err(&want),
            "the stage IR in f64 vs the tch plan on the CPU (f32)".into(),
        ))
    }

    fn compile_graph(
        &mut self,
        _name: &str,
        g: &GraphKernel,
        b: &Binding,
        seed: u64,
    ) -> Result<Box<dyn Sampler>> {
        let vs = VarStore::new(Device::Cpu);
        let (plan, x) = crate::seeded::seeded(seed, || -> Result<_> {
            let plan = crate::graph_plan::GraphPlan::new(g, b, &vs.root())?;
            let x = tch::Tensor::randn(
                shape_i64(&g.concrete(g.input(), b)?),
                (Kind::Float, Device::Cpu),
            );
            Ok((plan, x))
        })?;
        let held = plan
            .weights()
            .into_iter()
            .map(|t| t.shallow_clone())
            .collect();
        Ok(self.forward_sampler(vs, held, x, move |x| plan.apply(x)))
    }

    fn validate_graph(
        &mut self,
        _name: &str,
        g: &GraphKernel,
        b: &Binding,
        seed: u64,
    ) -> Result<(f64, String)> {
        let (x, w, want) = super::graph::graph_case(g, b, seed)?;
        let got = crate::graph_plan::run_graph(g, b, &x, &w, Device::Cpu, Kind::Float)?;
        Ok((
            got.rel_err(&want),
            "the graph interpreter in f64 vs the graph's tch path on the CPU (f32)".into(),
        ))
    }

    fn baseline(
        &mut self,
        kind: Baseline,
        input: &[usize],
        output: &[usize],
        seed: u64,
    ) -> Result<Box<dyn Sampler>> {
        let (x, w) = crate::seeded::seeded(seed, || kind.tensors(input, output, Device::Cpu));
        let held = vec![x.shallow_clone(), w.shallow_clone()];
        Ok(self.sampler(held, move || {
            let y = tch::no_grad(|| kind.run(&x, &w));
            drop(std::hint::black_box(y));
            Ok(())
        }))
    }

    fn inject(&mut self, fault: Fault) -> Result<()> {
        match fault {
            Fault::Hang => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            Fault::Crash => crash(),
            Fault::DeviceFault => Err(WorkerError::FaultOnCpu.into()),
        }
    }

    fn healthy(&mut self) -> bool {
        true
    }
}

/// Ends the process at once with the exit status of an abort, without a core file.
pub(crate) fn crash() -> ! {
    eprintln!("kas worker: injected crash");
    std::process::exit(134)
}

/// Seeded random inputs rounded to f32 (so the f64 reference sees what the f32 backend sees).
pub(crate) fn rounded_inputs(op: &Operator, b: &Binding, seed: u64) -> Result<Vec<Tensor>> {
    Ok(random_inputs(op, b, seed, false)?
        .into_iter()
        .map(|t| Tensor {
            data: t.data.iter().map(|&v| v as f32 as f64).collect(),
            shape: t.shape,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_parse() {
        assert_eq!(parse_cache_size("32768K"), Some(32 << 20));
        assert_eq!(parse_cache_size("2M"), Some(2 << 20));
        assert_eq!(parse_cache_size("512"), Some(512));
        assert_eq!(parse_cache_size("x"), None);
        assert!(flush_bytes() >= 1 << 20);
    }

    #[test]
    fn the_flush_costs_what_a_run_holds() {
        let mut target = CpuTarget::new(Precision::F32);
        if cfg!(target_arch = "x86_64") {
            assert_eq!(target.flush, Flush::EvictHeld);
        }
        let shape = [2, 4, 8, 8];
        let mut s = target
            .baseline(Baseline::Conv3x3, &shape, &shape, 0)
            .unwrap();
        let t0 = std::time::Instant::now();
        for _ in 0..10 {
            s.prepare().unwrap();
        }
        // Ten flushes of 2.3 KiB; writing twice a last-level cache took 0.1 s each here.
        let took = t0.elapsed().as_secs_f64();
        assert!(took < 0.05, "{took} s");
        assert!(s.sample().unwrap() > 0.0);
    }

    #[test]
    fn spans_follow_strides() {
        let t = tch::Tensor::zeros([3, 4], (Kind::Float, Device::Cpu));
        assert_eq!(span_bytes(&t), 48);
        // A transposed view spans the same bytes; a broadcast one only its row.
        assert_eq!(span_bytes(&t.tr()), 48);
        let row = tch::Tensor::zeros([4], (Kind::Int64, Device::Cpu));
        assert_eq!(span_bytes(&row.expand([5, 4], false)), 32);
        assert_eq!(span_bytes(&t.narrow(1, 1, 2)), (2 * 4 + 1 + 1) * 4);
        let empty = tch::Tensor::zeros([0, 4], (Kind::Float, Device::Cpu));
        assert_eq!(span_bytes(&empty), 0);
        // Evicting leaves the values as they were.
        let v = tch::Tensor::arange(1000, (Kind::Float, Device::Cpu));
        evict(&[v.shallow_clone(), t.tr()]);
        assert_eq!(v.sum(Kind::Float).double_value(&[]), 499500.0);
    }
}
