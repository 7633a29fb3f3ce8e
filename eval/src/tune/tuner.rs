//! Per-binding tuning on the GPU: for each stage in turn, every candidate schedule at the
//! precision asked for ([`kas_codegen::cuda::precise_candidates`]: tensor-core tiles at TF32
//! and bf16) is generated, compiled (to a CUBIN, candidates in
//! parallel on the CPU), run once as a whole program and compared with the reference kernels'
//! output, and only then timed (the stage's kernels alone, caches flushed before every run). The
//! fastest valid candidate is kept and the next stage is tuned on top of it, so the last
//! stage's winner is the whole tuned program, already validated. A candidate whose first timed
//! run is slower than [`PRUNE_FACTOR`] times the best median so far is not timed further
//! ([`median_unless_slower`]): it cannot win, and on large bindings the slow tiles dominated
//! the tuning time.

use super::cache::TuneEntry;
use crate::error::{Error, Result};
use crate::gpu::{EventTimer, Gpu, Loaded};
use crate::nvrtc;
use cudarc::nvrtc::Ptx;
use kas_codegen::cuda::{
    CudaProgram, contractions, generate, generate_precise, precise_candidates,
};
use kas_codegen::schedule::{Schedule, StageSchedule};
use kas_codegen::{Precision, StageIr};
use kas_primitives::Binding;

/// How hard to tune.
#[derive(Debug, Clone)]
pub struct TuneOptions {
    /// Timed runs per candidate (the median counts), after one warm-up.
    pub runs: usize,
    /// Bytes written before every run to flush the L2 cache.
    pub flush_bytes: usize,
    /// The precision of the candidates (the reference kernels stay f32).
    pub precision: Precision,
}

impl Default for TuneOptions {
    fn default() -> Self {
        TuneOptions::at(Precision::F32)
    }
}

impl TuneOptions {
    /// Seven timed runs, a 100 MiB flush, candidates at precision `p`.
    pub fn at(p: Precision) -> TuneOptions {
        TuneOptions {
            runs: 7,
            flush_bytes: 100 << 20,
            precision: p,
        }
    }
}

/// The error of a result `a` at precision `p` against the f32 reference `b`, and whether it
/// is accepted: at f32 [`rel_err`] ≤ 1e-4 (`docs/ARCHITECTURE.md`, "Tolerance"); at TF32 and
/// bf16 the relative Frobenius error [`frobenius_err`] ≤ [`Precision::tolerance`]. A NaN (an
/// unwritten, poisoned element) is never accepted.
pub fn precision_err(p: Precision, a: &[f32], b: &[f32]) -> (f64, bool) {
    let (err, tol) = match p {
        Precision::F32 => (rel_err(a, b), 1e-4),
        Precision::Tf32 | Precision::Bf16 => (frobenius_err(a, b), p.tolerance()),
    };
    (err, !err.is_nan() && err <= tol)
}

/// `‖a − b‖₂ / ‖b‖₂` of f32 or f64 values (NaN when an element of `a` is; infinite for
/// different lengths).
pub fn frobenius_err<T: Copy + Into<f64>>(a: &[T], b: &[T]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    let (mut num, mut den) = (0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y): (f64, f64) = (x.into(), y.into());
        num += (x - y) * (x - y);
        den += y * y;
    }
    (num / den.max(1e-300)).sqrt()
}

/// `max|a − b| / (max|b| + 1e-6)`.
pub fn rel_err(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    let mut num = 0f64;
    let mut den = 0f64;
    for (&x, &y) in a.iter().zip(b) {
        let d = (x as f64 - y as f64).abs();
        num = if d.is_nan() { f64::NAN } else { num.max(d) };
        den = den.max((y as f64).abs());
    }
    num / (den + 1e-6)
}

/// A candidate whose first timed run exceeds this multiple of the best median so far stops
/// being timed: run-to-run spread under an L2 flush is a few per cent, so it cannot win.
pub const PRUNE_FACTOR: f64 = 2.0;

/// How timing a candidate ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Timing {
    /// The median of all the runs (seconds).
    Median(f64),
    /// Stopped after the first timed run (its seconds), slower than the bound.
    Pruned(f64),
}

/// One warm-up run of `run`, then `runs` timed runs (at least one) and their median; when the
/// first timed run exceeds `bound`, the rest are skipped and the result is [`Timing::Pruned`].
pub fn median_unless_slower<E>(
    runs: usize,
    bound: Option<f64>,
    mut run: impl FnMut() -> std::result::Result<f64, E>,
) -> std::result::Result<Timing, E> {
    run()?;
    let runs = runs.max(1);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = run()?;
        if times.is_empty() && bound.is_some_and(|b| t > b) {
            return Ok(Timing::Pruned(t));
        }
        times.push(t);
    }
    times.sort_by(f64::total_cmp);
    Ok(Timing::Median(times[times.len() / 2]))
}

/// Times launches of some kernels of loaded programs: events on the stream, an L2 flush before
/// every run.
pub struct KernelClock {
    timer: EventTimer,
    runs: usize,
}

impl KernelClock {
    /// A clock whose flush writes `flush_bytes`.
    pub fn new(gpu: &Gpu, flush_bytes: usize, runs: usize) -> Result<KernelClock> {
        Ok(KernelClock {
            timer: EventTimer::new(gpu, flush_bytes)?,
            runs: runs.max(1),
        })
    }

    /// Median seconds of launching `range` of `loaded` (one warm-up run first).
    pub fn median(&mut self, loaded: &Loaded, range: std::ops::Range<usize>) -> Result<f64> {
        match self.median_unless_slower(loaded, range, None)? {
            Timing::Median(t) | Timing::Pruned(t) => Ok(t),
        }
    }

    /// Like [`KernelClock::median`], stopping after the first timed run when it exceeds
    /// `bound` ([`median_unless_slower`]).
    pub fn median_unless_slower(
        &mut self,
        loaded: &Loaded,
        range: std::ops::Range<usize>,
        bound: Option<f64>,
    ) -> Result<Timing> {
        let timer = &mut self.timer;
        median_unless_slower(self.runs, bound, || {
            timer.flush().map_err(Error::Driver)?;
            timer
                .time(|| {
                    loaded
                        .launch_kernels(range.clone())
                        .map_err(|e| e.to_string())
                })
                .map_err(Error::Driver)
        })
    }
}

/// Compiles programs to CUBINs for `arch` on all CPU cores; each in its own slot.
fn compile_all(progs: &[(String, CudaProgram)], arch: &str) -> Vec<Result<Vec<u8>>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(progs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<Vec<u8>>>>> =
        progs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((name, p)) = progs.get(i) else { break };
                    let r = nvrtc::compile_cubin(name, &p.source, arch);
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(Error::Driver("a compile thread failed".into())))
        })
        .collect()
}

/// Tunes `ir` (lowered for `b`) on `gpu` with inputs `host` (input, then weights) at the
/// options' precision; each candidate is checked against the f32 reference kernels with
/// [`precision_err`] before it is timed.
pub fn tune(
    gpu: &Gpu,
    ir: &StageIr,
    b: &Binding,
    host: &[Vec<f32>],
    opts: &TuneOptions,
) -> Result<TuneEntry> {
    let n = ir.stages.len();
    let conts = contractions(ir, b)?;
    let arch = gpu.arch();
    let mut clock = KernelClock::new(gpu, opts.flush_bytes, opts.runs)?;
    let reference = generate(ir, b)?;
    let ref_loaded = gpu.load("kas-reference", &reference, host)?;
    ref_loaded.launch()?;
    let want = ref_loaded.output()?;
    let mut reference_seconds = Vec::with_capacity(n);
    for i in 0..n {
        reference_seconds.push(clock.median(&ref_loaded, reference.stage_kernels(i))?);
    }
    drop(ref_loaded);
    let mut chosen = Schedule::direct(n);
    let mut stage_seconds = vec![0.0; n];
    let (mut timed, mut rejected, mut pruned) = (0, 0, 0);
    for i in 0..n {
        let cands = precise_candidates(conts[i].as_ref(), opts.precision);
        let progs: Vec<(StageSchedule, String, Result<CudaProgram>)> = cands
            .iter()
            .enumerate()
            .map(|(c, s)| {
                let mut sched = chosen.clone();
                sched.stages[i] = *s;
                let name = format!("kas_t{i}_{c}");
                let p = generate_precise(ir, b, "kas", &sched, opts.precision).map_err(Error::from);
                (*s, name, p)
            })
            .collect();
        let ok: Vec<(String, CudaProgram)> = progs
            .iter()
            .filter_map(|(_, name, p)| p.as_ref().ok().map(|p| (name.clone(), p.clone())))
            .collect();
        let mut cubins = compile_all(&ok, &arch).into_iter();
        let mut best: Option<(f64, StageSchedule)> = None;
        for (s, name, p) in &progs {
            let Ok(p) = p else {
                rejected += 1;
                continue;
            };
            let cubin = cubins
                .next()
                .unwrap_or_else(|| Err(Error::Driver("no CUBIN".into())));
            let bound = best.map(|(bt, _)| bt * PRUNE_FACTOR);
            let run = || -> Result<Option<Timing>> {
                let mut loaded = gpu.load_module(name, p, Ptx::from_binary(cubin?), host)?;
                loaded.poison()?;
                loaded.launch()?;
                let got = loaded.output()?;
                if !precision_err(opts.precision, &got, &want).1 {
                    return Ok(None);
                }
                Ok(Some(clock.median_unless_slower(
                    &loaded,
                    p.stage_kernels(i),
                    bound,
                )?))
            };
            match run() {
                Ok(Some(Timing::Pruned(_))) => pruned += 1,
                Ok(Some(Timing::Median(t))) => {
                    timed += 1;
                    if best.is_none_or(|(bt, _)| t < bt) {
                        best = Some((t, *s));
                    }
                }
                Ok(None) => rejected += 1,
                Err(e) => {
                    // A faulting kernel poisons the context: nothing after it can be trusted.
                    if gpu.context().synchronize().is_err() {
                        return Err(Error::Driver(format!(
                            "tuning stage {i}: candidate {} faulted: {e}",
                            s.label()
                        )));
                    }
                    rejected += 1;
                }
            }
        }
        let (t, s) = best.ok_or_else(|| {
            Error::Driver(format!(
                "tuning stage {i}: no candidate matched the reference"
            ))
        })?;
        chosen.stages[i] = s;
        stage_seconds[i] = t;
    }
    Ok(TuneEntry {
        schedule: chosen,
        stage_seconds,
        reference_seconds,
        candidates: timed,
        rejected,
        pruned,
        tuned_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manual clock: returns the given times in turn and counts the runs.
    fn clock(
        times: &[f64],
    ) -> (
        impl FnMut() -> Result<f64> + '_,
        std::rc::Rc<std::cell::Cell<usize>>,
    ) {
        let count = std::rc::Rc::new(std::cell::Cell::new(0));
        let seen = count.clone();
        let mut it = times.iter();
        (
            move || {
                seen.set(seen.get() + 1);
                it.next()
                    .copied()
                    .ok_or_else(|| Error::Driver("out of runs".into()))
            },
            count,
        )
    }

    #[test]
    fn the_median_skips_the_warm_up_run() {
        let (run, count) = clock(&[100.0, 3.0, 1.0, 2.0]);
        assert_eq!(
            median_unless_slower(3, None, run).unwrap(),
            Timing::Median(2.0)
        );
        assert_eq!(count.get(), 4);
    }

    #[test]
    fn a_first_run_slower_than_the_bound_stops_the_timing() {
        let (run, count) = clock(&[100.0, 7.0, 1.0, 1.0]);
        assert_eq!(
            median_unless_slower(3, Some(6.0), run).unwrap(),
            Timing::Pruned(7.0)
        );
        assert_eq!(count.get(), 2, "warm-up and one timed run only");
        // Within the bound (and a slow warm-up does not count): timed to the end.
        let (run, count) = clock(&[100.0, 5.0, 9.0, 4.0]);
        assert_eq!(
            median_unless_slower(3, Some(6.0), run).unwrap(),
            Timing::Median(5.0)
        );
        assert_eq!(count.get(), 4);
    }

    #[test]
    fn a_failing_run_is_an_error_and_zero_runs_mean_one() {
        let (run, _) = clock(&[1.0]);
        assert!(median_unless_slower(2, None, run).is_err());
        let (run, count) = clock(&[1.0, 2.0]);
        assert_eq!(
            median_unless_slower(0, None, run).unwrap(),
            Timing::Median(2.0)
        );
        assert_eq!(count.get(), 2);
    }

    #[test]
    fn relative_error_is_scaled_by_the_reference() {
        assert_eq!(rel_err(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
        assert!((rel_err(&[1.0, 2.5], &[1.0, 2.0]) - 0.25).abs() < 1e-6);
        assert!(rel_err(&[f32::NAN], &[1.0]).is_nan());
        assert!(rel_err(&[1.0], &[1.0, 2.0]).is_infinite());
    }

    #[test]
    fn precision_checks_use_their_tolerance() {
        let want = [3.0f32, 4.0];
        assert!((frobenius_err(&[3.0, 4.05], &want) - 0.01).abs() < 1e-6);
        assert!(precision_err(Precision::Bf16, &[3.0, 4.05], &want).1);
        assert!(!precision_err(Precision::Tf32, &[3.0, 4.05], &want).1);
        assert!(!precision_err(Precision::F32, &[3.0, 4.05], &want).1);
        assert!(precision_err(Precision::F32, &want, &want).1);
        assert!(!precision_err(Precision::Bf16, &[f32::NAN, 4.0], &want).1);
    }
}
