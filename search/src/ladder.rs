//! Multi-fidelity evaluation: every candidate gets the cheapest fidelity (the screen); the
//! best fraction of each fidelity's results is promoted to the next one, asynchronously
//! (successive halving in the ASHA manner).
//!
//! Rule: with `n` finished results at fidelity `k` (failures included), the best
//! `⌊n / eta⌋` of them are promotable; each time a job is wanted, the best promotable result
//! not yet promoted — highest fidelity first — goes up one fidelity. Only measured outcomes
//! are promoted. Ties go to the earlier proposal.

use crate::proposal::ProposalId;
use std::collections::BTreeSet;

/// Results at one fidelity.
#[derive(Debug, Default, Clone)]
struct Rung {
    /// (reward, proposal, measured) per finished result.
    results: Vec<(f64, ProposalId, bool)>,
    promoted: BTreeSet<ProposalId>,
}

/// The promotion state of all fidelities.
#[derive(Debug, Clone)]
pub struct Ladder {
    rungs: Vec<Rung>,
    eta: u32,
}

impl Ladder {
    /// A ladder of `levels` fidelities promoting the best `1/eta` of each.
    pub fn new(levels: usize, eta: u32) -> Ladder {
        Ladder {
            rungs: vec![Rung::default(); levels.max(1)],
            eta: eta.max(2),
        }
    }

    /// Records a finished result at `level`.
    pub fn record(&mut self, level: usize, proposal: ProposalId, reward: f64, measured: bool) {
        self.rungs[level].results.push((reward, proposal, measured));
    }

    /// The next promotion, as (proposal, level to run at), marking it promoted.
    pub fn promote(&mut self) -> Option<(ProposalId, usize)> {
        for k in (0..self.rungs.len().saturating_sub(1)).rev() {
            let rung = &self.rungs[k];
            let allowed = rung.results.len() / self.eta as usize;
            let mut best: Vec<&(f64, ProposalId, bool)> = rung.results.iter().collect();
            best.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            if let Some(&&(_, p, _)) = best
                .iter()
                .take(allowed)
                .find(|(_, p, measured)| *measured && !rung.promoted.contains(p))
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
            l.record(0, p, r, true);
        }
        assert_eq!(l.promote(), None, "3 results, eta 4: nothing yet");
        l.record(0, 3, 0.7, true);
        assert_eq!(l.promote(), Some((1, 1)));
        assert_eq!(l.promote(), None, "only one of four may go up");
        for (p, r) in [(4, 0.95), (5, 0.1), (6, 0.2), (7, 0.2)] {
            l.record(0, p, r, true);
        }
        assert_eq!(l.promote(), Some((4, 1)));
        assert_eq!(l.promote(), None);
    }

    #[test]
    fn failures_count_but_are_never_promoted() {
        let mut l = Ladder::new(2, 2);
        l.record(0, 0, 0.0, false);
        l.record(0, 1, 0.0, false);
        assert_eq!(l.promote(), None);
        l.record(0, 2, 0.4, true);
        l.record(0, 3, 0.0, false);
        assert_eq!(l.promote(), Some((2, 1)));
    }

    #[test]
    fn higher_fidelities_promote_first() {
        let mut l = Ladder::new(3, 2);
        for p in 0..4 {
            l.record(0, p, p as f64, true);
        }
        assert_eq!(l.promote(), Some((3, 1)));
        l.record(1, 3, 1.0, true);
        l.record(1, 0, 0.2, true);
        // Rung 1 now has two results: its best goes up before rung 0's second.
        assert_eq!(l.promote(), Some((3, 2)));
        assert_eq!(l.promote(), Some((2, 1)));
        assert_eq!(l.promote(), None);
    }
}
