//! Learning-rate schedules, per optimisation step.

use serde::Serialize;
use std::f64::consts::PI;

/// How the learning rate moves over a run of `total` steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum LrSchedule {
    /// The peak rate throughout.
    Constant,
    /// Linear warm-up from 0 over `warmup` steps, then a half cosine from the peak down to
    /// `floor` × peak at the last step.
    Cosine {
        /// Warm-up steps.
        warmup: usize,
        /// Final rate as a fraction of the peak.
        floor: f64,
    },
    /// One cycle: a half cosine up from peak/25 to the peak over the first `pct_up` of the
    /// run, then a half cosine down to peak/10⁴.
    OneCycle {
        /// Fraction of the run spent rising.
        pct_up: f64,
    },
}

/// `a` to `b` along a half cosine, `t` in [0, 1].
fn cos_ramp(a: f64, b: f64, t: f64) -> f64 {
    b + (a - b) * 0.5 * (1.0 + (PI * t.clamp(0.0, 1.0)).cos())
}

impl LrSchedule {
    /// The learning rate at `step` (0-based) of `total` steps, for peak rate `peak`.
    pub fn lr(&self, peak: f64, step: usize, total: usize) -> f64 {
        let total = total.max(1);
        match *self {
            LrSchedule::Constant => peak,
            LrSchedule::Cosine { warmup, floor } => {
                if step < warmup {
                    return peak * (step + 1) as f64 / warmup as f64;
                }
                let span = total.saturating_sub(warmup).max(1);
                let t = (step - warmup) as f64 / span as f64;
                cos_ramp(peak, peak * floor, t)
            }
            LrSchedule::OneCycle { pct_up } => {
                let up = ((pct_up * total as f64) as usize).max(1);
                if step < up {
                    cos_ramp(peak / 25.0, peak, step as f64 / up as f64)
                } else {
                    let span = (total - up).max(1);
                    cos_ramp(peak, peak / 1e4, (step - up) as f64 / span as f64)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_start_peak_and_end_where_stated() {
        let c = LrSchedule::Cosine {
            warmup: 10,
            floor: 0.1,
        };
        assert!((c.lr(1.0, 0, 110) - 0.1).abs() < 1e-12);
        assert!((c.lr(1.0, 9, 110) - 1.0).abs() < 1e-12);
        assert!((c.lr(1.0, 10, 110) - 1.0).abs() < 1e-12);
        assert!((c.lr(1.0, 60, 110) - 0.55).abs() < 1e-12);
        assert!((c.lr(1.0, 110, 110) - 0.1).abs() < 1e-12);
        let o = LrSchedule::OneCycle { pct_up: 0.25 };
        assert!((o.lr(2.0, 0, 100) - 0.08).abs() < 1e-12);
        assert!((o.lr(2.0, 25, 100) - 2.0).abs() < 1e-12);
        assert!(o.lr(2.0, 99, 100) < 0.01);
        assert_eq!(LrSchedule::Constant.lr(0.3, 5, 10), 0.3);
    }
}
