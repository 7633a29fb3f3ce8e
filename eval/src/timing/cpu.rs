//! The CPU target: the operator's tch plan (f32) and the baseline through libtorch, timed with
//! the wall clock; validation against the stage IR evaluated in f64.

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
use kas_primitives::interp::random_inputs;
use kas_primitives::{Binding, Operator, Tensor};
use tch::nn::VarStore;
use tch::{Device, Kind};

/// Bytes written between CPU runs when the last-level cache size is unknown.
const DEFAULT_FLUSH_BYTES: usize = 64 << 20;

/// Times on the CPU.
pub struct CpuTarget {
    precision: Precision,
    flush_bytes: usize,
}

impl CpuTarget {
    /// The CPU target.
    pub fn new(precision: Precision) -> CpuTarget {
        CpuTarget {
            precision,
            flush_bytes: flush_bytes(),
        }
    }
}

/// Twice the last-level cache (from sysfs), or 64 MiB.
fn flush_bytes() -> usize {
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
        let sampler = ClockSampler::new(WallClock::new(), self.flush_bytes, move || {
            let _keep = &vs;
            let y = tch::no_grad(|| plan.apply(&x));
            drop(std::hint::black_box(y));
            Ok(())
        });
        Ok(Box::new(sampler))
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

    fn baseline(
        &mut self,
        kind: Baseline,
        input: &[usize],
        output: &[usize],
        seed: u64,
    ) -> Result<Box<dyn Sampler>> {
        let (x, w) = crate::seeded::seeded(seed, || kind.tensors(input, output, Device::Cpu));
        let sampler = ClockSampler::new(WallClock::new(), self.flush_bytes, move || {
            let y = tch::no_grad(|| kind.run(&x, &w));
            drop(std::hint::black_box(y));
            Ok(())
        });
        Ok(Box::new(sampler))
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
}
