//! Random search: independent random descents from the root (Syno's random baseline), each
//! to a leaf with a canonical hash not proposed before.

use crate::proposal::{Proposal, ProposalId};
use crate::searcher::{Searcher, proposal};
use crate::space::{Space, SpaceStats};
use crate::walk::{Walk, walk};
use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};

/// Most abandoned walks in a row before the searcher gives up.
pub const MAX_ABANDONED: u32 = 64;

/// Random search.
#[derive(Debug)]
pub struct RandomSearch {
    space: Space,
    rng: ChaCha8Rng,
    next: ProposalId,
}

impl RandomSearch {
    /// A random searcher over `space` seeded with `seed`.
    pub fn new(space: Space, seed: u64) -> RandomSearch {
        RandomSearch {
            space,
            rng: ChaCha8Rng::seed_from_u64(seed),
            next: 0,
        }
    }
}

impl Searcher for RandomSearch {
    fn name(&self) -> &'static str {
        "random"
    }

    fn propose(&mut self) -> Option<Proposal> {
        let root = self.space.dag.root().clone();
        for _ in 0..MAX_ABANDONED {
            match walk(&mut self.space, &root, self.rng.next_u64()) {
                Walk::Found(f) => {
                    let p = proposal(self.next, &[], &f);
                    self.next += 1;
                    return Some(p);
                }
                Walk::Exhausted => return None,
                Walk::Abandoned => {}
            }
        }
        None
    }

    fn observe(&mut self, _id: ProposalId, _reward: f64) {}

    fn revise(&mut self, _id: ProposalId, _reward: f64) {}

    fn stats(&self) -> SpaceStats {
        self.space.stats
    }
}
