//! Benchmarks of operators against their baselines over named binding sets: the sets
//! ([`sets`]) and the aggregate figures of a run ([`BenchSummary`]).

pub mod sets;

use crate::timing::{Peak, TimingResult, geomean};
use serde::{Deserialize, Serialize};

/// Aggregates over the bindings where both kas and the baseline were measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchSummary {
    /// Bindings measured on both sides.
    pub compared: usize,
    /// Bindings that failed.
    pub failed: usize,
    /// Geometric mean of the speedups (baseline median / kas median).
    pub geomean_speedup: Option<f64>,
    /// Σ baseline medians / Σ kas medians.
    pub summed_time_ratio: Option<f64>,
    /// Σ kas medians (seconds).
    pub kas_total_s: f64,
    /// Σ baseline medians (seconds).
    pub baseline_total_s: f64,
    /// Geometric mean of kas's fraction of the roofline, when peak figures are known.
    pub geomean_roofline_fraction: Option<f64>,
}

impl BenchSummary {
    /// The summary of a timing result.
    pub fn of(r: &TimingResult) -> BenchSummary {
        let both: Vec<(f64, f64)> = r
            .bindings
            .iter()
            .filter_map(|b| {
                Some((
                    b.kas.as_ref()?.stats.median,
                    b.baseline.as_ref()?.stats.median,
                ))
            })
            .collect();
        let speedups: Vec<f64> = both.iter().map(|(k, b)| b / k).collect();
        let kas_total_s: f64 = both.iter().map(|x| x.0).sum();
        let baseline_total_s: f64 = both.iter().map(|x| x.1).sum();
        let fractions: Option<Vec<f64>> = r.peak.as_ref().map(|p: &Peak| {
            r.bindings
                .iter()
                .filter_map(|b| b.roofline_fraction(p))
                .collect()
        });
        BenchSummary {
            compared: both.len(),
            failed: r.bindings.iter().filter(|b| b.failure.is_some()).count(),
            geomean_speedup: geomean(&speedups),
            summed_time_ratio: (kas_total_s > 0.0).then(|| baseline_total_s / kas_total_s),
            kas_total_s,
            baseline_total_s,
            geomean_roofline_fraction: fractions.and_then(|f| geomean(&f)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::Fingerprint;
    use crate::timing::protocol::{Measurement, Stop};
    use crate::timing::{BindingResult, Failure, Phase, SampleStats, Work};
    use kas_campaign::FailureKind;

    fn m(median: f64) -> Measurement {
        Measurement {
            stats: SampleStats::of(&[median]).unwrap(),
            stop: Stop::Stable,
            warmup: 0,
            elapsed_s: median,
        }
    }

    #[test]
    fn geomean_of_speedups_and_ratio_of_sums() {
        let mut a = BindingResult::new("a", Default::default());
        a.kas = Some(m(1.0));
        a.baseline = Some(m(2.0));
        a.work = Some(Work {
            flops: 1_000,
            min_bytes: 0,
        });
        let mut b = BindingResult::new("b", Default::default());
        b.kas = Some(m(4.0));
        b.baseline = Some(m(2.0));
        b.work = Some(Work {
            flops: 1_000,
            min_bytes: 0,
        });
        let mut c = BindingResult::new("c", Default::default());
        c.failure = Some(Failure {
            phase: Phase::Validate,
            kind: FailureKind::Mismatch,
            reason: "err".into(),
        });
        let mut r = TimingResult {
            name: "x".into(),
            fingerprint: Fingerprint::cpu("f32"),
            peak: None,
            bindings: vec![a, b, c],
        };
        let s = BenchSummary::of(&r);
        assert_eq!((s.compared, s.failed), (2, 1));
        // Speedups 2 and 0.5: geomean 1; sums 4 / 5.
        assert!((s.geomean_speedup.unwrap() - 1.0).abs() < 1e-12);
        assert!((s.summed_time_ratio.unwrap() - 0.8).abs() < 1e-12);
        assert_eq!(s.geomean_roofline_fraction, None);
        r.peak = Some(Peak {
            flops_per_s: 1000.0,
            bytes_per_s: 1.0,
            source: "test".into(),
        });
        // Roofline 1 s: fractions 1 and 0.25, geomean 0.5.
        let s = BenchSummary::of(&r);
        assert!((s.geomean_roofline_fraction.unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(r.bindings[0].speedup(), Some(2.0));
        assert_eq!(r.bindings[2].speedup(), None);
    }
}
