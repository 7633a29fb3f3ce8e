//! Multi-fidelity evaluation: every candidate gets the cheapest fidelity (the screen); the
//! best fraction of each fidelity's results is promoted to the next one, asynchronously
//! (successive halving in the ASHA manner).
//!
//! Rule: with `n` finished results at fidelity `k` (failures included), the best
//! `⌊n / eta⌋` of them are promotable; each time a job is wanted, the best promotable result
//! not yet promoted — highest fidelity first — goes up one fidelity. Only measured outcomes
//! are promoted, and only those whose measured speedup is at least the speed floor (the
//! campaign's `promote_min_speedup`; an outcome without a speedup is not held back): a result
//! below it keeps its place among the best `⌊n / eta⌋`, as a failure does, and is never
//! promoted. Ties go to the earlier proposal.

use crate::proposal::ProposalId;
use std::collections::BTreeSet;

/// Results at one fidelity.
#[derive(Debug, Default, Clone)]
struct Rung {
    /// Finished results.
    results: Vec<Entry>,
    promoted: BTreeSet<ProposalId>,
}

/// One finished result at a fidelity.
#[derive(Debug, Clone, Copy)]
struct Entry {
    reward: f64,
    proposal: ProposalId,
    measured: bool,
    speedup: Option<f64>,
}

/// The promotion state of all fidelities.
#[derive(Debug, Clone)]
pub struct Ladder {
    rungs: Vec<Rung>,
    eta: u32,
    floor: f64,
}

impl Ladder {
    /// A ladder of `levels` fidelities promoting the best `1/eta` of each.
    pub fn new(levels: usize, eta: u32) -> Ladder {
        Ladder {
            rungs: vec![Rung::default(); levels.max(1)],
            eta: eta.max(2),
            floor: 0.0,
        }
    }

    /// Sets the speed floor of the promotions decided from now on (0: none).
    pub fn set_floor(&mut self, floor: f64) {
        self.floor = floor;
    }

    /// Whether a result with `speedup` is below the speed floor (so never promoted).
    pub fn below_floor(&self, speedup: Option<f64>) -> bool {
        speedup.is_some_and(|s| s < self.floor)
    }

    /// Records a finished result at `level`: its reward, whether it was measured (not a
    /// failure) and its measured speedup, if timed.
    pub fn record(
        &mut self,
        level: usize,
        proposal: ProposalId,
        reward: f64,
        measured: bool,
        speedup: Option<f64>,
    ) {
        self.rungs[level].results.push(Entry {
            reward,
            proposal,
            measured,
            speedup,
        });
    }

    /// The next promotion, as (proposal, level to run at), marking it promoted.
    pub fn promote(&mut self) -> Option<(ProposalId, usize)> {
        for k in (0..self.rungs.len().saturating_sub(1)).rev() {
            let rung = &self.rungs[k];
            let allowed = rung.results.len() / self.eta as usize;
            let mut best: Vec<&Entry> = rung.results.iter().collect();
            best.sort_by(|a, b| (b.reward.total_cmp(&a.reward)).then(a.proposal.cmp(&b.proposal)));
            if let Some(p) = (best.iter().take(allowed))
                .find(|r| {
                    r.measured
                        && !self.below_floor(r.speedup)
                        && !rung.promoted.contains(&r.proposal)
                })
                .map(|r| r.proposal)
            {
                self.rungs[k].promoted.insert(p);
                return Some((p, k + 1));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotes_the_best_fraction_once() {
        let mut l = Ladder::new(2, 4);
        for (p, r) in [(0, 0.3), (1, 0.9), (2, 0.5)] {
            l.record(0, p, r, true, None);
        }
        assert_eq!(l.promote(), None, "3 results, eta 4: nothing yet");
        l.record(0, 3, 0.7, true, None);
        assert_eq!(l.promote(), Some((1, 1)));
        assert_eq!(l.promote(), None, "only one of four may go up");
        for (p, r) in [(4, 0.95), (5, 0.1), (6, 0.2), (7, 0.2)] {
            l.record(0, p, r, true, None);
        }
        assert_eq!(l.promote(), Some((4, 1)));
        assert_eq!(l.promote(), None);
    }

    #[test]
    fn failures_count_but_are_never_promoted() {
        let mut l = Ladder::new(2, 2);
        l.record(0, 0, 0.0, false, None);
        l.record(0, 1, 0.0, false, None);
        assert_eq!(l.promote(), None);
        l.record(0, 2, 0.4, true, None);
        l.record(0, 3, 0.0, false, None);
        assert_eq!(l.promote(), Some((2, 1)));
    }

    #[test]
    fn higher_fidelities_promote_first() {
        let mut l = Ladder::new(3, 2);
        for p in 0..4 {
            l.record(0, p, p as f64, true, None);
        }
        assert_eq!(l.promote(), Some((3, 1)));
        l.record(1, 3, 1.0, true, None);
        l.record(1, 0, 0.2, true, None);
        // Rung 1 now has two results: its best goes up before rung 0's second.
        assert_eq!(l.promote(), Some((3, 2)));
        assert_eq!(l.promote(), Some((2, 1)));
        assert_eq!(l.promote(), None);
    }

    #[test]
    fn a_result_below_the_speed_floor_keeps_its_place_and_is_never_promoted() {
        let mut l = Ladder::new(2, 2);
        l.set_floor(0.5);
        // The best result is slow: it takes one of the two places and is not promoted.
        l.record(0, 0, 0.9, true, Some(0.1));
        l.record(0, 1, 0.8, true, Some(0.5));
        l.record(0, 2, 0.7, true, None);
        l.record(0, 3, 0.1, true, Some(3.0));
        assert!(l.below_floor(Some(0.49)) && !l.below_floor(Some(0.5)));
        assert!(!l.below_floor(None), "an untimed result is not held back");
        assert_eq!(l.promote(), Some((1, 1)));
        assert_eq!(l.promote(), None);
        // Without a floor the slow one would have gone first.
        let mut free = Ladder::new(2, 2);
        for (p, r, s) in [(0, 0.9, 0.1), (1, 0.8, 0.5)] {
            free.record(0, p, r, true, Some(s));
        }
        assert_eq!(free.promote(), Some((0, 1)));
    }
}
