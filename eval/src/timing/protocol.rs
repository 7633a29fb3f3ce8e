//! The timing protocol, generic over what is timed: warm-up, repeats until the median is
//! stable or a cap is reached, an L2 flush before every repeat, a per-run time-out and an
//! overall time budget.
//!
//! What is timed is a [`Sampler`]: CUDA events around kernel launches on the GPU
//! ([`super::cuda`]), a [`Clock`] around a closure on the CPU ([`ClockSampler`]), or a script
//! in tests. The protocol itself never reads a real clock except through the [`Clock`] it is
//! given, so its logic is tested with a [`super::clock::ManualClock`].

use super::clock::Clock;
use super::stats::SampleStats;
use serde::{Deserialize, Serialize};

/// At least this many samples before the time budget may stop a measurement.
pub const MIN_SAMPLES_UNDER_BUDGET: usize = 3;

/// How to time one thing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// Untimed runs first (lazy initialisation, cuDNN's algorithm search, caches, clocks).
    pub warmup: usize,
    /// Timed runs before the stop rule is consulted.
    pub min_repeats: usize,
    /// Timed runs at most.
    pub max_repeats: usize,
    /// Stop once the estimated standard error of the median is at most this fraction of it.
    pub rel_error: f64,
    /// Stop (with at least [`MIN_SAMPLES_UNDER_BUDGET`] samples) once this many seconds of wall
    /// time have passed since the first warm-up run.
    pub budget_s: f64,
    /// A single run longer than this fails the measurement.
    pub run_timeout_s: f64,
    /// Flush the caches before every run (L2 on the GPU, the last-level cache on the CPU).
    pub flush: bool,
}

impl Default for Protocol {
    fn default() -> Self {
        Protocol {
            warmup: 3,
            min_repeats: 10,
            max_repeats: 100,
            rel_error: 0.01,
            budget_s: 10.0,
            run_timeout_s: 30.0,
            flush: true,
        }
    }
}

impl Protocol {
    /// This protocol with at most `repeats` timed runs (and at most that many before the stop
    /// rule applies).
    pub fn with_repeats(mut self, repeats: usize) -> Protocol {
        self.max_repeats = repeats.max(1);
        self.min_repeats = self.min_repeats.min(self.max_repeats);
        self
    }
}

/// What the protocol times.
pub trait Sampler {
    /// Untimed work before each run (cache flush).
    fn prepare(&mut self) -> Result<(), String>;
    /// Runs the timed work once and returns its duration in seconds.
    fn sample(&mut self) -> Result<f64, String>;
}

/// Why a measurement stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// The median's relative standard error fell below the protocol's target.
    Stable,
    /// The repeat cap was reached first.
    MaxRepeats,
    /// The time budget ran out first.
    Budget,
}

/// A successful measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Statistics of the timed runs (seconds).
    pub stats: SampleStats,
    /// Why it stopped.
    pub stop: Stop,
    /// Untimed warm-up runs made.
    pub warmup: usize,
    /// Wall time of the whole measurement, warm-up included (seconds).
    pub elapsed_s: f64,
}

/// Why a measurement failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum MeasureError {
    /// The timed work or the flush failed.
    Failed {
        /// The sampler's message.
        reason: String,
    },
    /// One run took longer than the protocol's time-out.
    Timeout {
        /// The run's duration (seconds).
        took_s: f64,
        /// The limit (seconds).
        limit_s: f64,
    },
}

impl std::fmt::Display for MeasureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MeasureError::Failed { reason } => write!(f, "{reason}"),
            MeasureError::Timeout { took_s, limit_s } => write!(
                f,
                "one run took {took_s:.3} s, over the {limit_s} s run time-out"
            ),
        }
    }
}

/// Times `sampler` under `p`, reading elapsed time from `clock`.
pub fn measure<S: Sampler + ?Sized, C: Clock + ?Sized>(
    p: &Protocol,
    sampler: &mut S,
    clock: &C,
) -> Result<Measurement, MeasureError> {
    let start = clock.now();
    let run = |s: &mut S| -> Result<f64, MeasureError> {
        if p.flush {
            s.prepare()
                .map_err(|reason| MeasureError::Failed { reason })?;
        }
        let t = s
            .sample()
            .map_err(|reason| MeasureError::Failed { reason })?;
        if !t.is_finite() || t < 0.0 {
            return Err(MeasureError::Failed {
                reason: format!("the timer returned {t} s"),
            });
        }
        if t > p.run_timeout_s {
            return Err(MeasureError::Timeout {
                took_s: t,
                limit_s: p.run_timeout_s,
            });
        }
        Ok(t)
    };
    for _ in 0..p.warmup {
        run(sampler)?;
    }
    let max = p.max_repeats.max(1);
    let min = p.min_repeats.clamp(1, max);
    let mut samples = Vec::with_capacity(max);
    let stop = loop {
        samples.push(run(sampler)?);
        let n = samples.len();
        if n >= min
            && SampleStats::of(&samples).is_some_and(|s| s.relative_median_error() <= p.rel_error)
        {
            break Stop::Stable;
        }
        if n >= max {
            break Stop::MaxRepeats;
        }
        if n >= MIN_SAMPLES_UNDER_BUDGET.min(max) && clock.now() - start > p.budget_s {
            break Stop::Budget;
        }
    };
    let stats = SampleStats::of(&samples).ok_or_else(|| MeasureError::Failed {
        reason: "no valid sample".into(),
    })?;
    Ok(Measurement {
        stats,
        stop,
        warmup: p.warmup,
        elapsed_s: clock.now() - start,
    })
}

/// Times a closure with a [`Clock`] (CPU work, which is synchronous), running a flush before
/// each run: writing a buffer ([`ClockSampler::new`]) or any other eviction
/// ([`ClockSampler::with_flush`]).
pub struct ClockSampler<C: Clock, F: FnMut() -> Result<(), String>> {
    clock: C,
    work: F,
    flush: Box<dyn FnMut() -> Result<(), String>>,
}

impl<C: Clock, F: FnMut() -> Result<(), String>> ClockSampler<C, F> {
    /// Times `work` with `clock`; the flush writes a buffer of `flush_bytes` bytes, allocated
    /// here and written once now, so that its first touch (page faults) is not charged to a
    /// flush.
    pub fn new(clock: C, flush_bytes: usize, work: F) -> Self {
        let mut buffer = vec![0u8; flush_bytes];
        let mut round = 0u8;
        let mut write = move || {
            round = round.wrapping_add(1);
            buffer.fill(round);
            std::hint::black_box(&buffer);
            Ok(())
        };
        let _ = write();
        Self::with_flush(clock, Box::new(write), work)
    }

    /// Times `work` with `clock`; `flush` runs before every run.
    pub fn with_flush(clock: C, flush: Box<dyn FnMut() -> Result<(), String>>, work: F) -> Self {
        ClockSampler { clock, work, flush }
    }
}

impl<C: Clock, F: FnMut() -> Result<(), String>> Sampler for ClockSampler<C, F> {
    fn prepare(&mut self) -> Result<(), String> {
        (self.flush)()
    }

    fn sample(&mut self) -> Result<f64, String> {
        let t0 = self.clock.now();
        (self.work)()?;
        Ok(self.clock.now() - t0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timing::clock::ManualClock;

    /// Returns scripted durations (cycling), advancing a manual clock by each.
    struct Script<'a> {
        clock: &'a ManualClock,
        times: Vec<f64>,
        i: usize,
        prepared: usize,
        fail_at: Option<usize>,
    }

    impl<'a> Script<'a> {
        fn new(clock: &'a ManualClock, times: &[f64]) -> Self {
            Script {
                clock,
                times: times.to_vec(),
                i: 0,
                prepared: 0,
                fail_at: None,
            }
        }
    }

    impl Sampler for Script<'_> {
        fn prepare(&mut self) -> Result<(), String> {
            self.prepared += 1;
            self.clock.advance(0.001);
            Ok(())
        }
        fn sample(&mut self) -> Result<f64, String> {
            if self.fail_at == Some(self.i) {
                return Err("illegal memory access".into());
            }
            let t = self.times[self.i % self.times.len()];
            self.i += 1;
            self.clock.advance(t);
            Ok(t)
        }
    }

    fn proto() -> Protocol {
        Protocol {
            warmup: 2,
            min_repeats: 5,
            max_repeats: 50,
            rel_error: 0.01,
            budget_s: 100.0,
            run_timeout_s: 10.0,
            flush: true,
        }
    }

    #[test]
    fn constant_times_stop_at_min_repeats_and_warmup_is_counted_out() {
        let clock = ManualClock::new();
        // Warm-up runs are slow (first-call initialisation); they must not enter the stats.
        let mut times = vec![5.0, 3.0];
        times.extend([0.5; 100]);
        let mut s = Script::new(&clock, &times);
        let m = measure(&proto(), &mut s, &clock).unwrap();
        assert_eq!(m.stop, Stop::Stable);
        assert_eq!(m.stats.n, 5);
        assert_eq!(m.stats.median, 0.5);
        assert_eq!(m.stats.max, 0.5, "warm-up excluded");
        assert_eq!(m.warmup, 2);
        assert_eq!(s.i, 7);
        assert_eq!(s.prepared, 7, "a flush before every run");
        assert!((m.elapsed_s - (5.0 + 3.0 + 2.5 + 0.007)).abs() < 1e-9);
    }

    #[test]
    fn noisy_times_run_to_the_cap() {
        let clock = ManualClock::new();
        let mut s = Script::new(&clock, &[1.0, 2.0, 1.0, 3.0]);
        let m = measure(&proto(), &mut s, &clock).unwrap();
        assert_eq!(m.stop, Stop::MaxRepeats);
        assert_eq!(m.stats.n, 50);
        assert_eq!(m.stats.median, 1.5);
        assert_eq!(m.stats.min, 1.0);
        // After the two warm-up runs the samples cycle 1, 3, 1, 2: 25 ones, 12 twos, 13 threes.
        assert_eq!(m.stats.iqr, 1.75);
    }

    #[test]
    fn mild_noise_becomes_stable_once_enough_samples() {
        let clock = ManualClock::new();
        // IQR 0.05 around 1.0: the median's error 1.2533·(0.05/1.349)/√n is at most 1 % from
        // n ≈ 22 on.
        let mut s = Script::new(&clock, &[0.9, 1.0, 1.1, 1.0]);
        let mut p = proto();
        p.warmup = 0;
        let m = measure(&p, &mut s, &clock).unwrap();
        assert_eq!(m.stop, Stop::Stable);
        assert!(m.stats.n > 5 && m.stats.n < 50, "{}", m.stats.n);
        assert!(m.stats.relative_median_error() <= 0.01);
    }

    #[test]
    fn budget_stops_long_runs_after_three_samples() {
        let clock = ManualClock::new();
        let mut s = Script::new(&clock, &[4.0, 6.0]);
        let mut p = proto();
        p.budget_s = 15.0;
        p.warmup = 1;
        let m = measure(&p, &mut s, &clock).unwrap();
        assert_eq!(m.stop, Stop::Budget);
        // 4 (warm-up) + 6 + 4 = 14 s after two samples, over 15 s after the third (6).
        assert_eq!(m.stats.n, 3);
        assert_eq!(m.stats.median, 6.0);
    }

    #[test]
    fn a_slow_run_is_a_timeout_failure() {
        let clock = ManualClock::new();
        let mut s = Script::new(&clock, &[0.5, 0.5, 0.5, 12.0, 0.5]);
        let err = measure(&proto(), &mut s, &clock).unwrap_err();
        assert_eq!(
            err,
            MeasureError::Timeout {
                took_s: 12.0,
                limit_s: 10.0
            }
        );
        assert!(err.to_string().contains("over the 10 s run time-out"));
        // Also during warm-up.
        let mut s = Script::new(&clock, &[11.0]);
        assert!(matches!(
            measure(&proto(), &mut s, &clock),
            Err(MeasureError::Timeout { .. })
        ));
    }

    #[test]
    fn a_failing_run_is_recorded() {
        let clock = ManualClock::new();
        let mut s = Script::new(&clock, &[0.5]);
        s.fail_at = Some(4);
        let err = measure(&proto(), &mut s, &clock).unwrap_err();
        assert_eq!(
            err,
            MeasureError::Failed {
                reason: "illegal memory access".into()
            }
        );
    }

    #[test]
    fn no_flush_when_disabled_and_repeats_cap() {
        let clock = ManualClock::new();
        let mut s = Script::new(&clock, &[1.0, 2.0]);
        let mut p = proto().with_repeats(3);
        p.flush = false;
        let m = measure(&p, &mut s, &clock).unwrap();
        assert_eq!(s.prepared, 0);
        assert_eq!((m.stats.n, m.stop), (3, Stop::MaxRepeats));
    }

    #[test]
    fn clock_sampler_times_the_closure_only() {
        let clock = ManualClock::new();
        let mut calls = 0;
        let mut s = ClockSampler::new(&clock, 1024, || {
            calls += 1;
            clock.advance(0.25);
            Ok(())
        });
        s.prepare().unwrap();
        assert_eq!(s.sample().unwrap(), 0.25);
        let mut p = proto();
        p.warmup = 1;
        let m = measure(&p, &mut s, &clock).unwrap();
        drop(s);
        assert_eq!(m.stats.median, 0.25);
        assert_eq!(calls, 1 + 1 + 5);
    }

    #[test]
    fn clock_sampler_runs_its_flush_before_every_run_untimed() {
        let clock = std::rc::Rc::new(ManualClock::new());
        let flushes = std::rc::Rc::new(std::cell::Cell::new(0));
        let (seen, flush_clock) = (flushes.clone(), clock.clone());
        let mut s = ClockSampler::with_flush(
            &*clock,
            Box::new(move || {
                seen.set(seen.get() + 1);
                flush_clock.advance(1.0);
                Ok(())
            }),
            || {
                clock.advance(0.5);
                Ok(())
            },
        );
        let mut p = proto();
        p.warmup = 2;
        let m = measure(&p, &mut s, &*clock).unwrap();
        assert_eq!(flushes.get(), 2 + 5, "one flush per run, warm-up included");
        assert_eq!(m.stats.median, 0.5, "the flush is not timed");
    }
}
