//! The arithmetic of MCTS: per-node statistics with virtual loss, the UCB1-tuned score, and
//! progressive widening.
//!
//! Scores are computed on rewards rescaled by a [`Scale`]: MCTS uses the range of the
//! positive rewards observed so far, so the UCB constants mean the same whatever the reward's
//! units, and failures (reward 0) fall below every measured candidate. Virtual loss counts an
//! in-flight proposal as a visit with rescaled reward 0 (the worst measured so far) on every
//! node of its path, so parallel proposals spread out; it is removed when the outcome is
//! observed.

use serde::{Deserialize, Serialize};

/// Statistics of one DAG node (shared by every path that reaches it: transpositions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeStats {
    /// Observed visits.
    pub visits: u64,
    /// Sum of observed rewards.
    pub sum: f64,
    /// Sum of squared observed rewards.
    pub sum_sq: f64,
    /// Best observed reward (0 before any).
    pub best: f64,
    /// Proposals through this node still in flight.
    pub virtual_loss: u64,
}

/// An affine rescaling of rewards: `r ↦ (r − low) / span`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// The reward mapped to 0.
    pub low: f64,
    /// The reward range mapped to 1 (> 0).
    pub span: f64,
}

impl Scale {
    /// The identity.
    pub const IDENTITY: Scale = Scale {
        low: 0.0,
        span: 1.0,
    };

    /// The scale mapping `[low, high]` onto `[0, 1]` (the identity if the range is empty).
    pub fn of_range(low: f64, high: f64) -> Scale {
        if high > low && (high - low).is_finite() {
            Scale {
                low,
                span: high - low,
            }
        } else {
            Scale::IDENTITY
        }
    }
}

impl NodeStats {
    /// Visits including virtual losses.
    pub fn effective_visits(&self) -> u64 {
        self.visits + self.virtual_loss
    }

    /// Sum and sum of squares of the rescaled observed rewards.
    fn scaled_sums(&self, sc: Scale) -> (f64, f64) {
        let n = self.visits as f64;
        let sum = (self.sum - n * sc.low) / sc.span;
        let sum_sq =
            (self.sum_sq - 2.0 * sc.low * self.sum + n * sc.low * sc.low) / (sc.span * sc.span);
        (sum, sum_sq)
    }

    /// Mean rescaled reward, virtual losses counting as 0 (0 when never visited).
    pub fn mean(&self, sc: Scale) -> f64 {
        let n = self.effective_visits();
        if n == 0 {
            0.0
        } else {
            self.scaled_sums(sc).0 / n as f64
        }
    }

    /// Variance of the rescaled rewards, virtual losses counting as 0.
    pub fn variance(&self, sc: Scale) -> f64 {
        let n = self.effective_visits();
        if n == 0 {
            return 0.0;
        }
        let m = self.mean(sc);
        (self.scaled_sums(sc).1 / n as f64 - m * m).max(0.0)
    }

    /// Records an observed reward.
    pub fn add(&mut self, reward: f64) {
        self.visits += 1;
        self.sum += reward;
        self.sum_sq += reward * reward;
        self.best = self.best.max(reward);
    }

    /// Replaces an observed reward `old` by `new` (a more trustworthy figure of the same
    /// visit): the sums change, the visits do not; `best` keeps the largest reward ever
    /// recorded.
    pub fn replace(&mut self, old: f64, new: f64) {
        self.sum += new - old;
        self.sum_sq += new * new - old * old;
        self.best = self.best.max(new);
    }

    /// The value of the node for selection: `(1 − w)·mean + w·best`, rescaled (0 when never
    /// observed). `w > 0` credits a subtree with its best operator, not only its average, as a
    /// search for one best operator wants.
    pub fn value(&self, sc: Scale, max_weight: f64) -> f64 {
        let best = if self.visits == 0 {
            0.0
        } else {
            (self.best - sc.low) / sc.span
        };
        (1.0 - max_weight) * self.mean(sc) + max_weight * best
    }
}

/// UCB1-tuned score of a child with statistics `child` under a parent whose children have
/// `parent_visits` effective visits in all, on rewards rescaled by `sc`:
///
/// `value + c · sqrt( ln(N+1)/n · min(cap, var + sqrt(2 ln(N+1)/n)) )`
///
/// with `n` the child's effective visits and `value` = [`NodeStats::value`] (the mean when
/// `max_weight` is 0). An unvisited child (n = 0) scores +∞.
pub fn ucb1_tuned(
    child: &NodeStats,
    parent_visits: u64,
    c: f64,
    variance_cap: f64,
    sc: Scale,
    max_weight: f64,
) -> f64 {
    let n = child.effective_visits();
    if n == 0 {
        return f64::INFINITY;
    }
    let n = n as f64;
    let ln = ((parent_visits + 1) as f64).ln();
    let v = child.variance(sc) + (2.0 * ln / n).sqrt();
    child.value(sc, max_weight) + c * (ln / n * v.min(variance_cap)).sqrt()
}

/// Number of children a node with `visits` effective visits may choose from under
/// progressive widening: `max(1, floor(k · visits^alpha))`.
pub fn widened(visits: u64, k: f64, alpha: f64) -> usize {
    let w = (k * (visits as f64).powf(alpha)).floor();
    if w.is_finite() && w >= 1.0 {
        w as usize
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: Scale = Scale::IDENTITY;

    fn stats(rewards: &[f64], vl: u64) -> NodeStats {
        let mut s = NodeStats::default();
        for &r in rewards {
            s.add(r);
        }
        s.virtual_loss = vl;
        s
    }

    #[test]
    fn unvisited_children_come_first() {
        assert_eq!(
            ucb1_tuned(&NodeStats::default(), 10, 1.0, 0.25, ID, 0.0),
            f64::INFINITY
        );
        assert!(ucb1_tuned(&stats(&[], 1), 10, 1.0, 0.25, ID, 0.0).is_finite());
    }

    #[test]
    fn ucb1_tuned_matches_the_formula() {
        let s = stats(&[0.2, 0.6], 0);
        let (mean, var) = (0.4, 0.04);
        let ln = 11f64.ln();
        let want = mean + 2.0 * (ln / 2.0 * (var + (2.0 * ln / 2.0).sqrt()).min(0.25)).sqrt();
        assert!((ucb1_tuned(&s, 10, 2.0, 0.25, ID, 0.0) - want).abs() < 1e-12);
        // A larger cap lets the variance term through.
        let big = mean + 2.0 * (ln / 2.0 * (var + (2.0 * ln / 2.0).sqrt())).sqrt();
        assert!((ucb1_tuned(&s, 10, 2.0, 100.0, ID, 0.0) - big).abs() < 1e-12);
    }

    #[test]
    fn virtual_loss_lowers_the_score_and_is_reward_zero() {
        let s = stats(&[0.8, 0.8], 0);
        let v = stats(&[0.8, 0.8], 2);
        assert!((v.mean(ID) - 0.4).abs() < 1e-12);
        assert!((v.variance(ID) - 0.16).abs() < 1e-12);
        assert!(ucb1_tuned(&v, 10, 0.5, 0.25, ID, 0.0) < ucb1_tuned(&s, 10, 0.5, 0.25, ID, 0.0));
    }

    #[test]
    fn variance_term_prefers_the_uncertain_child() {
        // Same mean and visits; the child with spread rewards gets the larger bonus.
        let steady = stats(&[0.5, 0.5, 0.5, 0.5], 0);
        let spread = stats(&[0.0, 1.0, 0.0, 1.0], 0);
        assert!(
            ucb1_tuned(&spread, 20, 1.0, 10.0, ID, 0.0)
                > ucb1_tuned(&steady, 20, 1.0, 10.0, ID, 0.0)
        );
    }

    #[test]
    fn max_weight_credits_the_best_reward() {
        let s = stats(&[0.2, 0.6], 0);
        assert!((s.value(ID, 0.0) - 0.4).abs() < 1e-12);
        assert!((s.value(ID, 1.0) - 0.6).abs() < 1e-12);
        assert!((s.value(ID, 0.5) - 0.5).abs() < 1e-12);
        let plain = ucb1_tuned(&s, 10, 1.0, 0.25, ID, 0.0);
        assert!((ucb1_tuned(&s, 10, 1.0, 0.25, ID, 0.5) - plain - 0.1).abs() < 1e-12);
    }

    #[test]
    fn rescaling_is_affine() {
        let s = stats(&[0.8, 0.9], 0);
        let sc = Scale::of_range(0.7, 0.9);
        assert!((s.mean(sc) - 0.75).abs() < 1e-12);
        assert!((s.variance(sc) - 0.0625).abs() < 1e-12);
        // A failure (0) below the positive range gets a negative rescaled reward.
        assert!(stats(&[0.0], 0).mean(sc) < 0.0);
        assert_eq!(Scale::of_range(0.5, 0.5), Scale::IDENTITY);
    }

    #[test]
    fn widening_grows_with_visits() {
        assert_eq!(widened(0, 1.0, 0.5), 1);
        assert_eq!(widened(1, 1.0, 0.5), 1);
        assert_eq!(widened(4, 1.0, 0.5), 2);
        assert_eq!(widened(9, 1.0, 0.5), 3);
        assert_eq!(widened(100, 2.0, 0.5), 20);
        assert_eq!(widened(8, 1.0, 0.8), 5);
    }
}
