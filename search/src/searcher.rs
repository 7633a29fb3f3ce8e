//! The pull-style interface every search algorithm implements, and the choice of algorithm
//! of a campaign file.
//!
//! A searcher is a deterministic state machine: what it proposes depends only on its seed and
//! on the sequence of `propose`, `observe` and `revise` calls so far. Replaying a journal's calls in
//! order therefore rebuilds its state exactly (see [`crate::journal`]).

use crate::beam::Beam;
use crate::mcts::Mcts;
use crate::proposal::{Proposal, ProposalId};
use crate::random::RandomSearch;
use crate::space::{Space, SpaceStats};
use crate::walk::Found;
use kas_campaign::{Algorithm, Candidate, Kernel};
use kas_primitives::canon::rules;

use std::sync::Arc;

/// A search algorithm behind a pull-style interface.
pub trait Searcher: Send {
    /// The algorithm's name (`mcts`, `random`, `beam`).
    fn name(&self) -> &'static str;
    /// The next operator to evaluate, never one whose canonical hash was proposed before.
    /// `None` is final: the space is exhausted (or the searcher is stuck) and it will not be
    /// asked again.
    fn propose(&mut self) -> Option<Proposal>;
    /// The reward of proposal `id` (≥ 0; failures are 0). Each proposal is observed at most
    /// once; proposals not yet observed are "in flight".
    fn observe(&mut self, id: ProposalId, reward: f64);
    /// A later, more trustworthy reward of proposal `id` (its result at a higher fidelity,
    /// expressed at the screen's scale: `crate::scheduler`), which replaces the one observed
    /// before. Ignored for a proposal not yet observed. May be called several times.
    fn revise(&mut self, id: ProposalId, reward: f64);
    /// Counters of the space it explores.
    fn stats(&self) -> SpaceStats;
}

/// A searcher of `algorithm`'s kind over `space`, seeded with `seed`.
pub fn build(algorithm: &Algorithm, space: Space, seed: u64) -> Box<dyn Searcher> {
    match algorithm {
        Algorithm::Mcts(c) => Box::new(Mcts::new(space, c.clone(), seed)),
        Algorithm::Random => Box::new(RandomSearch::new(space, seed)),
        Algorithm::Beam(c) => Box::new(Beam::new(space, c.clone(), seed)),
    }
}

/// A proposal for a leaf found below a node reached by `prefix` (child indices from the root).
pub(crate) fn proposal(id: ProposalId, prefix: &[u32], found: &Found) -> Proposal {
    let mut path = prefix.to_vec();
    path.extend_from_slice(&found.path);
    let leaf = &found.leaf;
    Proposal {
        id,
        candidate: Arc::new(Candidate {
            kernel: Kernel::Operator(leaf.op.clone()),
            canonical: found.canonical,
            rules: rules::digest().to_string(),
            structural: leaf.hash,
            flops: leaf.flops,
            path,
        }),
    }
}
