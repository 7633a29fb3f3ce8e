//! Random search over graph kernels (a campaign's `space: Graph(...)`): the graph sampler's
//! descents in index order (`kas_graph::sample::descend`, each from its own seed), each
//! proposed if its canonical hash is new.
//!
//! Descents are run in batches on the rayon pool and queued in index order, so the proposals
//! are a function of the seed alone, whatever the thread count. The descents are independent
//! draws (a descent's moves are not a tree a searcher could revisit: each is checked by
//! closing the kernel on a copy, and lifts above the windows' floors are chosen by the
//! closed cost), so rewards do not steer it, as in the operator space's random search.

use crate::proposal::{Proposal, ProposalId};
use crate::searcher::Searcher;
use crate::space::SpaceStats;
use kas_campaign::{Candidate, Kernel};
use kas_graph::GraphKernel;
use kas_graph::canon::{GraphHash, LinearHashes};
use kas_graph::cost::kernel_cost;
use kas_graph::sample::{Failure, SampleConfig, Slot, descend};
use kas_primitives::StructuralHash;
use kas_primitives::canon::CanonicalHash;
use rayon::prelude::*;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// Descents run at once.
pub const BATCH: u64 = 16;

/// Descents in a row that give no new kernel before the searcher gives up (the space is
/// exhausted as far as it can tell).
pub const MAX_FRUITLESS: u64 = 4096;

/// What one descent gave: a kernel with its canonical hash, or why it failed.
type Drawn = Result<(GraphKernel, GraphHash), Failure>;

/// Random search over graph kernels.
pub struct GraphRandom {
    slot: Slot,
    cfg: SampleConfig,
    seed: u64,
    prefix: String,
    rules: String,
    memo: LinearHashes,
    /// Descents run but not yet looked at, in index order.
    queue: VecDeque<(u64, Drawn)>,
    next_descent: u64,
    next: ProposalId,
    seen: HashSet<u128>,
    stats: SpaceStats,
    done: bool,
}

impl std::fmt::Debug for GraphRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphRandom")
            .field("seed", &self.seed)
            .field("next_descent", &self.next_descent)
            .field("proposed", &self.seen.len())
            .finish()
    }
}

impl GraphRandom {
    /// A random searcher over the graph kernels of `slot` within `cfg`'s budgets, seeded with
    /// `seed`; its candidates are keyed under rule-set digest `rules` and named after
    /// `prefix`.
    pub fn new(slot: Slot, cfg: SampleConfig, seed: u64, prefix: &str, rules: &str) -> Self {
        GraphRandom {
            slot,
            cfg,
            seed,
            prefix: prefix.to_string(),
            rules: rules.to_string(),
            memo: LinearHashes::new(),
            queue: VecDeque::new(),
            next_descent: 0,
            next: 0,
            seen: HashSet::new(),
            stats: SpaceStats::default(),
            done: false,
        }
    }

    /// Runs the next batch of descents into the queue; `false` if the sampler refuses the slot
    /// or its budgets.
    fn refill(&mut self) -> bool {
        let first = self.next_descent;
        let (slot, cfg, seed, prefix, memo) =
            (&self.slot, &self.cfg, self.seed, &self.prefix, &self.memo);
        let batch: Vec<_> = (first..first + BATCH)
            .into_par_iter()
            .map(|i| (i, descend(slot, cfg, i, seed, prefix, memo)))
            .collect();
        self.next_descent += BATCH;
        for (i, r) in batch {
            match r {
                Ok(r) => self.queue.push_back((i, r)),
                Err(_) => return false,
            }
        }
        true
    }

    fn proposal(&mut self, i: u64, g: GraphKernel, h: GraphHash) -> Proposal {
        let id = self.next;
        self.next += 1;
        let flops = kernel_cost(&g).flops;
        Proposal {
            id,
            candidate: Arc::new(Candidate {
                kernel: Kernel::Graph(g),
                canonical: CanonicalHash(h.0),
                rules: self.rules.clone(),
                structural: StructuralHash(h.0),
                flops,
                path: vec![u32::try_from(i).unwrap_or(u32::MAX)],
            }),
        }
    }
}

impl Searcher for GraphRandom {
    fn name(&self) -> &'static str {
        "random"
    }

    fn propose(&mut self) -> Option<Proposal> {
        let mut fruitless = 0;
        while !self.done && fruitless < MAX_FRUITLESS {
            if self.queue.is_empty() && !self.refill() {
                break;
            }
            let (i, r) = self.queue.pop_front()?;
            match r {
                Ok((g, h)) if self.seen.insert(h.0) => return Some(self.proposal(i, g, h)),
                Ok(_) => self.stats.duplicates += 1,
                Err(_) => self.stats.abandoned_walks += 1,
            }
            fruitless += 1;
        }
        self.done = true;
        None
    }

    fn observe(&mut self, _id: ProposalId, _reward: f64) {}

    fn revise(&mut self, _id: ProposalId, _reward: f64) {}

    fn stats(&self) -> SpaceStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kas_primitives::Spec;

    pub(crate) const SPEC: &str = r#"(
        kind: "kas-spec",
        version: 1,
        name: "tiny",
        input: "[N, C_in: unordered, H, H]",
        output: "[N, C_out: unordered, H, H]",
        variables: (primary: ["N", "C_in", "C_out", "H"], coefficient: ["k=3"]),
        fixed: [(0, 0)],
        bindings: [(name: "a", values: {"N": 2, "C_in": 4, "C_out": 4, "H": 6})],
    )"#;

    fn hashes(seed: u64, threads: usize, n: usize) -> Vec<(u128, Vec<u32>)> {
        let spec = Spec::read(SPEC, "tiny").unwrap();
        let slot = Slot::from_spec(&spec).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut s = GraphRandom::new(slot, SampleConfig::default(), seed, "tiny", "r");
            (0..n)
                .map(|_| {
                    let p = s.propose().unwrap();
                    (p.candidate.canonical.0, p.candidate.path.clone())
                })
                .collect()
        })
    }

    #[test]
    fn proposals_are_distinct_and_the_same_for_every_thread_count() {
        let one = hashes(5, 1, 12);
        assert_eq!(one, hashes(5, 3, 12));
        let distinct: HashSet<u128> = one.iter().map(|p| p.0).collect();
        assert_eq!(distinct.len(), one.len());
        assert_ne!(one, hashes(6, 1, 12), "another seed, other kernels");
        // Descent indices increase.
        assert!(one.windows(2).all(|w| w[0].1[0] < w[1].1[0]));
    }
}
