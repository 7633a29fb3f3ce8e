//! Rewards: one number per outcome that rises with accuracy (or falls with loss) and with the
//! measured speedup of the slot set over its original layers.
//!
//! Let `q` be the candidate's quality — its accuracy, or `max(0, (max_loss − loss)/max_loss)`
//! for a loss target — and `q_b` the baseline's quality at the same fidelity.
//!
//! * **Balanced** (default): `r = max(0, q + λ·log2(speedup) − penalty·max(0, q_b − q))`.
//!   With λ = 0.05 a twice-as-fast operator is worth 5 accuracy points, and every point
//!   below the baseline costs `1 + penalty` points. Without a measured speedup the speed term
//!   is 0; without a baseline there is no penalty.
//! * **Constrained** (maximise speed subject to accuracy ≥ baseline − δ): a candidate within
//!   the bound (`accuracy ≥ baseline − δ`, or `loss ≤ baseline + δ`) scores `1 + speedup`
//!   (≥ 1); one outside scores `q / q_t` (< 1), with `q_t` the quality at the bound, so the
//!   search is pulled towards feasibility first. Without a baseline every candidate is within
//!   the bound.
//!
//! Failed outcomes score 0, and so does a measured outcome without the target figure.

use crate::outcome::{Metrics, Outcome};
use serde::{Deserialize, Serialize};

/// Nats of validation loss above the baseline's that still count as "as good": the window of a
/// loss campaign's acceptance line and top-up order (the accuracy campaigns' window is one
/// point of accuracy).
pub const WITHIN_NATS: f64 = 0.02;

/// What the campaign optimises besides speed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum RewardTarget {
    /// Held-out accuracy (higher is better).
    Accuracy,
    /// Held-out loss (lower is better); `max` maps to quality 0.
    Loss {
        /// Loss at and above which quality is 0.
        max: f64,
    },
}

impl RewardTarget {
    /// The target figure of `m`: its accuracy, or its loss.
    pub fn of(self, m: &Metrics) -> Option<f64> {
        match self {
            RewardTarget::Accuracy => m.accuracy,
            RewardTarget::Loss { .. } => m.loss,
        }
    }

    /// Whether lower figures are better (a loss).
    pub fn lower_is_better(self) -> bool {
        matches!(self, RewardTarget::Loss { .. })
    }

    /// `figure` as a score in which higher is better (a loss negated): what Pareto fronts and
    /// orderings compare.
    pub fn score(self, figure: f64) -> f64 {
        if self.lower_is_better() {
            -figure
        } else {
            figure
        }
    }

    /// Whether `figure` is within `margin` of `baseline`: accuracy at most `margin` below it,
    /// a loss at most `margin` above it.
    pub fn within(self, figure: f64, baseline: f64, margin: f64) -> bool {
        if self.lower_is_better() {
            figure <= baseline + margin
        } else {
            figure >= baseline - margin
        }
    }

    /// The name of the figure in reports (`accuracy` or `validation loss`).
    pub fn label(self) -> &'static str {
        match self {
            RewardTarget::Accuracy => "accuracy",
            RewardTarget::Loss { .. } => "validation loss",
        }
    }
}

/// The form of the reward.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Form {
    /// `q + λ·log2(speedup) − penalty·max(0, q_b − q)`, floored at 0.
    Balanced {
        /// Weight of `log2(speedup)`.
        lambda: f64,
        /// Extra weight of quality lost below the baseline.
        penalty: f64,
    },
    /// Maximise speedup subject to accuracy ≥ baseline − δ (loss ≤ baseline + δ).
    Constrained {
        /// Allowed accuracy drop (or loss rise), in the target's own units.
        delta: f64,
    },
}

/// The reward of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardConfig {
    /// Accuracy or loss.
    #[serde(default = "default_target")]
    pub target: RewardTarget,
    /// Balanced or constrained.
    #[serde(default = "default_form")]
    pub form: Form,
    /// The baseline's accuracy (or loss) to use instead of the measured one.
    #[serde(default)]
    pub baseline: Option<f64>,
}

fn default_target() -> RewardTarget {
    RewardTarget::Accuracy
}

fn default_form() -> Form {
    Form::Balanced {
        lambda: 0.05,
        penalty: 1.0,
    }
}

impl Default for RewardConfig {
    fn default() -> RewardConfig {
        RewardConfig {
            target: default_target(),
            form: default_form(),
            baseline: None,
        }
    }
}

impl RewardConfig {
    /// Checks the constants.
    pub fn validate(&self) -> Result<(), String> {
        let finite_nonneg = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("reward.{name} must be finite and ≥ 0, got {v}"))
            }
        };
        if let RewardTarget::Loss { max } = self.target
            && !(max.is_finite() && max > 0.0)
        {
            return Err(format!(
                "reward.target: Loss(max) must be positive, got {max}"
            ));
        }
        match self.form {
            Form::Balanced { lambda, penalty } => {
                finite_nonneg("lambda", lambda)?;
                finite_nonneg("penalty", penalty)?;
            }
            Form::Constrained { delta } => finite_nonneg("delta", delta)?,
        }
        if let Some(b) = self.baseline {
            finite_nonneg("baseline", b)?;
        }
        Ok(())
    }

    /// The target figure of an outcome (accuracy or loss), if measured.
    pub fn figure(&self, outcome: &Outcome) -> Option<f64> {
        self.target.of(outcome.metrics()?)
    }

    /// Quality in which higher is better: the accuracy, or the loss mapped into [0, 1].
    fn quality(&self, figure: f64) -> f64 {
        match self.target {
            RewardTarget::Accuracy => figure,
            RewardTarget::Loss { max } => ((max - figure) / max).max(0.0),
        }
    }

    /// The reward of `outcome`, given the baseline's figure at the same fidelity (the
    /// configured baseline, if any, takes precedence).
    pub fn reward(&self, outcome: &Outcome, measured_baseline: Option<f64>) -> f64 {
        let Some(fig) = self.figure(outcome) else {
            return 0.0;
        };
        let speedup = outcome.metrics().and_then(|m| m.speedup);
        let q = self.quality(fig);
        let base = self.baseline.or(measured_baseline);
        let r = match self.form {
            Form::Balanced { lambda, penalty } => {
                let speed = speedup.filter(|s| *s > 0.0).map_or(0.0, |s| s.log2());
                let lost = base.map_or(0.0, |b| (self.quality(b) - q).max(0.0));
                q + lambda * speed - penalty * lost
            }
            Form::Constrained { delta } => {
                let bound = base.map(|b| match self.target {
                    RewardTarget::Accuracy => b - delta,
                    RewardTarget::Loss { .. } => b + delta,
                });
                let q_t = bound.map_or(f64::NEG_INFINITY, |b| self.quality(b));
                if q >= q_t {
                    1.0 + speedup.unwrap_or(1.0).max(0.0)
                } else if q_t > 0.0 {
                    q / q_t
                } else {
                    0.0
                }
            }
        };
        if r.is_finite() { r.max(0.0) } else { 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{FailureKind, Metrics};

    fn ok(acc: f64, speedup: Option<f64>) -> Outcome {
        Outcome::Ok(Metrics {
            accuracy: Some(acc),
            speedup,
            ..Metrics::default()
        })
    }

    #[test]
    fn balanced_rises_with_accuracy_and_speed() {
        let r = RewardConfig::default();
        let base = Some(0.9);
        assert!((r.reward(&ok(0.9, Some(1.0)), base) - 0.9).abs() < 1e-12);
        assert!((r.reward(&ok(0.9, Some(2.0)), base) - 0.95).abs() < 1e-12);
        assert!((r.reward(&ok(0.9, Some(0.5)), base) - 0.85).abs() < 1e-12);
        // One point under the baseline costs two points in all (penalty 1).
        assert!((r.reward(&ok(0.89, Some(1.0)), base) - 0.88).abs() < 1e-12);
        // No speedup measured: no speed term; no baseline: no penalty.
        assert!((r.reward(&ok(0.5, None), None) - 0.5).abs() < 1e-12);
        assert!(r.reward(&ok(0.91, Some(1.0)), base) > r.reward(&ok(0.9, Some(1.0)), base));
    }

    #[test]
    fn failures_and_missing_figures_score_zero() {
        let r = RewardConfig::default();
        let f = Outcome::failed(FailureKind::Diverged, "loss nan");
        assert_eq!(r.reward(&f, Some(0.9)), 0.0);
        assert_eq!(r.reward(&Outcome::Ok(Metrics::default()), Some(0.9)), 0.0);
    }

    #[test]
    fn constrained_prefers_any_feasible_candidate() {
        let r = RewardConfig {
            form: Form::Constrained { delta: 0.01 },
            ..RewardConfig::default()
        };
        let base = Some(0.9);
        let feasible_slow = r.reward(&ok(0.895, Some(0.5)), base);
        let feasible_fast = r.reward(&ok(0.891, Some(3.0)), base);
        let infeasible = r.reward(&ok(0.85, Some(10.0)), base);
        assert!((feasible_slow - 1.5).abs() < 1e-12);
        assert!((feasible_fast - 4.0).abs() < 1e-12);
        assert!((infeasible - 0.85 / 0.89).abs() < 1e-12);
        assert!(feasible_fast > feasible_slow && feasible_slow > infeasible);
    }

    #[test]
    fn loss_target_falls_with_loss() {
        let r = RewardConfig {
            target: RewardTarget::Loss { max: 4.0 },
            ..RewardConfig::default()
        };
        let loss = |l: f64| {
            Outcome::Ok(Metrics {
                loss: Some(l),
                ..Metrics::default()
            })
        };
        assert!((r.reward(&loss(1.0), None) - 0.75).abs() < 1e-12);
        assert!(r.reward(&loss(1.0), None) > r.reward(&loss(2.0), None));
        assert_eq!(r.reward(&loss(5.0), None), 0.0);
        // Baseline loss 1.0: a loss of 1.4 loses 0.1 quality, penalised once more.
        assert!((r.reward(&loss(1.4), Some(1.0)) - (0.65 - 0.1)).abs() < 1e-12);
    }

    #[test]
    fn loss_targets_compare_downwards() {
        let t = RewardTarget::Loss { max: 5.0 };
        assert!(t.lower_is_better() && !RewardTarget::Accuracy.lower_is_better());
        assert!(t.within(1.51, 1.5, WITHIN_NATS) && !t.within(1.53, 1.5, WITHIN_NATS));
        assert!(t.within(1.2, 1.5, WITHIN_NATS));
        assert!(RewardTarget::Accuracy.within(0.895, 0.9, 0.01));
        assert!(!RewardTarget::Accuracy.within(0.88, 0.9, 0.01));
        assert!(t.score(1.0) > t.score(2.0));
        let m = Metrics {
            loss: Some(1.25),
            accuracy: Some(0.5),
            ..Metrics::default()
        };
        assert_eq!(
            (t.of(&m), RewardTarget::Accuracy.of(&m)),
            (Some(1.25), Some(0.5))
        );
        // Constrained: within δ nats of the baseline scores 1 + speedup.
        let r = RewardConfig {
            target: t,
            form: Form::Constrained { delta: 0.02 },
            baseline: None,
        };
        let at = |l: f64, s: f64| {
            Outcome::Ok(Metrics {
                loss: Some(l),
                speedup: Some(s),
                ..Metrics::default()
            })
        };
        assert!((r.reward(&at(1.51, 1.5), Some(1.5)) - 2.5).abs() < 1e-12);
        assert!(r.reward(&at(1.6, 3.0), Some(1.5)) < 1.0);
    }

    #[test]
    fn configured_baseline_overrides_the_measured_one() {
        let r = RewardConfig {
            baseline: Some(0.5),
            ..RewardConfig::default()
        };
        assert!((r.reward(&ok(0.6, None), Some(0.9)) - 0.6).abs() < 1e-12);
    }
}
