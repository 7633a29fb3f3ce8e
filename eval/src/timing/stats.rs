//! Robust summary statistics of timing samples.

use serde::{Deserialize, Serialize};

/// Samples further than this many interquartile ranges outside the quartiles are outliers.
pub const OUTLIER_IQRS: f64 = 3.0;

/// Summary of a set of timing samples (seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleStats {
    /// Number of samples.
    pub n: usize,
    /// Median.
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// First quartile.
    pub q1: f64,
    /// Third quartile.
    pub q3: f64,
    /// Interquartile range `q3 − q1`.
    pub iqr: f64,
    /// Mean of the samples that are not outliers.
    pub trimmed_mean: f64,
    /// Samples outside `[q1 − 3·IQR, q3 + 3·IQR]` (reported, kept out of the trimmed mean;
    /// the median and quartiles are robust to them anyway).
    pub outliers: usize,
}

impl SampleStats {
    /// The summary of `samples`; `None` when there are none (or one is not finite).
    pub fn of(samples: &[f64]) -> Option<SampleStats> {
        if samples.is_empty() || samples.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let (q1, median, q3) = (quantile(&s, 0.25), quantile(&s, 0.5), quantile(&s, 0.75));
        let iqr = q3 - q1;
        let (lo, hi) = (q1 - OUTLIER_IQRS * iqr, q3 + OUTLIER_IQRS * iqr);
        let kept: Vec<f64> = s.iter().copied().filter(|&x| x >= lo && x <= hi).collect();
        Some(SampleStats {
            n: s.len(),
            median,
            min: s[0],
            max: s[s.len() - 1],
            q1,
            q3,
            iqr,
            trimmed_mean: kept.iter().sum::<f64>() / kept.len().max(1) as f64,
            outliers: s.len() - kept.len(),
        })
    }

    /// Estimated standard error of the median relative to the median: `1.2533·σ/√n` with
    /// `σ ≈ IQR/1.349` (normal approximation), divided by the median. Infinite for a median
    /// of zero.
    pub fn relative_median_error(&self) -> f64 {
        if self.median <= 0.0 {
            return f64::INFINITY;
        }
        let sigma = self.iqr / 1.349;
        1.2533 * sigma / (self.n as f64).sqrt() / self.median
    }
}

/// Linear-interpolation quantile (type 7) of sorted, non-empty `s`.
pub fn quantile(s: &[f64], p: f64) -> f64 {
    let h = (s.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

/// Geometric mean of positive values; `None` if empty or any value is not positive and finite.
pub fn geomean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() || xs.iter().any(|&x| !(x > 0.0 && x.is_finite())) {
        return None;
    }
    Some((xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_median_and_outliers() {
        let s = SampleStats::of(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!((s.n, s.median, s.min, s.max), (5, 3.0, 1.0, 5.0));
        assert_eq!((s.q1, s.q3, s.iqr), (2.0, 4.0, 2.0));
        assert_eq!(s.outliers, 0);
        assert_eq!(s.trimmed_mean, 3.0);
        // Even count: the median interpolates.
        let e = SampleStats::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(e.median, 2.5);
        assert_eq!((e.q1, e.q3), (1.75, 3.25));
        // One huge sample: an outlier, the median barely moves.
        let mut v: Vec<f64> = (10..=20).map(|i| i as f64 / 10.0).collect();
        v.push(100.0);
        let o = SampleStats::of(&v).unwrap();
        assert_eq!(o.outliers, 1);
        assert!((o.median - 1.55).abs() < 1e-12);
        assert!((o.trimmed_mean - 1.5).abs() < 1e-12);
        assert!(SampleStats::of(&[]).is_none());
        assert!(SampleStats::of(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn median_error_shrinks_with_n() {
        let a = SampleStats::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        let b = SampleStats::of(&[1.0, 2.0, 3.0, 4.0].repeat(25)).unwrap();
        assert!(b.relative_median_error() < a.relative_median_error() / 4.0);
        assert_eq!(
            SampleStats::of(&[2.0; 5]).unwrap().relative_median_error(),
            0.0
        );
    }

    #[test]
    fn geometric_mean() {
        assert!((geomean(&[2.0, 8.0]).unwrap() - 4.0).abs() < 1e-12);
        assert!((geomean(&[0.5, 2.0, 1.0]).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(geomean(&[]), None);
        assert_eq!(geomean(&[1.0, 0.0]), None);
    }
}
