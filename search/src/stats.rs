//! The statistics of a report over training seeds: mean, sample standard deviation, and the
//! 95 % confidence interval of a mean from Student's t distribution (for the paired difference
//! between a candidate and the baseline trained on the same seeds).
//!
//! The two-sided 95 % quantile `t(0.975, df)` is tabulated for 1 to 30 degrees of freedom
//! (four significant digits, the standard table) and computed beyond by the Cornish–Fisher
//! expansion around the normal quantile `z = 1.959964`:
//! `t ≈ z + (z³ + z)/(4·df) + (5z⁵ + 16z³ + 3z)/(96·df²)`, within 10⁻³ of the exact value from
//! 30 degrees of freedom on (a campaign has at most `kas_campaign::seeds::MAX_SEEDS` seeds, so
//! the table is what it uses).

/// `t(0.975, df)` for df = 1 … 30.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The 97.5 % quantile of Student's t distribution with `df` ≥ 1 degrees of freedom (the
/// half-width factor of a two-sided 95 % interval); infinite for `df` = 0.
pub fn t975(df: u64) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T975[df as usize - 1],
        _ => {
            let z: f64 = 1.959_964;
            let d = df as f64;
            z + (z.powi(3) + z) / (4.0 * d)
                + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
        }
    }
}

/// Mean, spread and 95 % interval of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Number of values.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator); `None` for one value.
    pub sd: Option<f64>,
    /// Half-width of the 95 % confidence interval of the mean (`t(0.975, n−1)·sd/√n`); `None`
    /// for one value.
    pub half_width: Option<f64>,
}

impl Sample {
    /// The statistics of `xs` (`None` when empty).
    pub fn of(xs: &[f64]) -> Option<Sample> {
        let n = xs.len();
        if n == 0 {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let (sd, half_width) = if n >= 2 {
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let sd = var.sqrt();
            (Some(sd), Some(t975(n as u64 - 1) * sd / (n as f64).sqrt()))
        } else {
            (None, None)
        };
        Some(Sample {
            n,
            mean,
            sd,
            half_width,
        })
    }

    /// The 95 % interval `(low, high)` of the mean, if there are two values or more.
    pub fn interval(&self) -> Option<(f64, f64)> {
        self.half_width.map(|h| (self.mean - h, self.mean + h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quantile_matches_the_table_and_approaches_the_normal() {
        assert_eq!(t975(1), 12.706);
        assert_eq!(t975(2), 4.303);
        assert_eq!(t975(30), 2.042);
        assert!((t975(31) - 2.0395).abs() < 1e-3, "{}", t975(31));
        assert!((t975(120) - 1.9799).abs() < 1e-3, "{}", t975(120));
        assert!((t975(1_000_000) - 1.96).abs() < 1e-3);
        assert!(t975(0).is_infinite());
        // Decreasing in df.
        for df in 1..200 {
            assert!(t975(df + 1) < t975(df), "df {df}");
        }
    }

    #[test]
    fn a_sample_of_three_has_the_textbook_interval() {
        let s = Sample::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.n, s.mean), (3, 2.0));
        assert!((s.sd.unwrap() - 1.0).abs() < 1e-12);
        // 4.303 · 1 / √3
        assert!((s.half_width.unwrap() - 2.484_34).abs() < 1e-4);
        let one = Sample::of(&[0.5]).unwrap();
        assert_eq!((one.sd, one.interval()), (None, None));
        assert_eq!(Sample::of(&[]), None);
    }
}
