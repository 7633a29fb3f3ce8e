//! Monte-Carlo tree search over the synthesis DAG (`docs/ARCHITECTURE.md`, "Search").
//!
//! One iteration of [`Mcts::propose`]: from the root, repeatedly choose among a node's first
//! `widened(visits)` live children (progressive widening; children are revealed in a seeded
//! random order per node) the one with the best UCB1-tuned score ([`crate::uct`]), virtual
//! losses included; stop at the first child never visited (expansion) and finish with a
//! random descent from it ([`crate::walk`]) — or at a leaf child, proposed directly. Scores
//! use rewards rescaled to the range of positive rewards observed so far. The
//! nodes of the selected path get a virtual loss until the outcome is observed; then every one
//! of them records the reward. Statistics are keyed by the node's state key, so every path
//! through a node shares them (transpositions). A node all of whose leaves were proposed (or
//! whose leaves' canonical hashes all were) is marked exhausted and never chosen again; a
//! leaf whose canonical hash was proposed before gives the path a free visit with the known
//! reward, when that is known. A revised reward (the candidate's result at a higher fidelity,
//! [`Searcher::revise`]) replaces the observed one on every node of its path: the sums change,
//! the visit counts do not, and the rescaling range widens to include it.

use crate::proposal::{Proposal, ProposalId};
use crate::searcher::{Searcher, proposal};
use crate::space::{Space, SpaceStats};
use crate::uct::{NodeStats, Scale, ucb1_tuned, widened};
use crate::walk::{Walk, walk};
use kas_campaign::MctsConfig;
use kas_synth::{Child, Node};
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::Arc;

/// MCTS searcher.
#[derive(Debug)]
pub struct Mcts {
    space: Space,
    cfg: MctsConfig,
    seed: u64,
    rng: ChaCha8Rng,
    next: ProposalId,
    stats: HashMap<u64, NodeStats>,
    order: HashMap<u64, Vec<u32>>,
    pending: HashMap<ProposalId, (Vec<u64>, u128)>,
    /// Path keys, canonical hash and current reward of every observed proposal.
    observed: HashMap<ProposalId, (Vec<u64>, u128, f64)>,
    rewards: HashMap<u128, f64>,
    /// Range of the positive rewards observed so far.
    range: Option<(f64, f64)>,
}

/// Mixes two words (SplitMix64 finalizer of their combination).
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_add(0x9e37_79b9_7f4a_7c15).rotate_left(23);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Mcts {
    /// An MCTS searcher over `space` seeded with `seed`.
    pub fn new(space: Space, cfg: MctsConfig, seed: u64) -> Mcts {
        Mcts {
            space,
            cfg,
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            next: 0,
            stats: HashMap::new(),
            order: HashMap::new(),
            pending: HashMap::new(),
            observed: HashMap::new(),
            rewards: HashMap::new(),
            range: None,
        }
    }

    /// The statistics of `node` (default if never visited).
    pub fn node_stats(&self, node: &Node) -> NodeStats {
        self.stats.get(&node.state.key).copied().unwrap_or_default()
    }

    /// The seeded order in which `node`'s children are revealed.
    fn reveal_order(&mut self, node: &Node, len: usize) -> Vec<u32> {
        let seed = self.seed;
        self.order
            .entry(node.state.key)
            .or_insert_with(|| {
                let mut v: Vec<u32> = (0..len as u32).collect();
                v.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(seed, node.state.key)));
                v
            })
            .clone()
    }

    /// The child of `node` to follow: the best UCB1-tuned score among the first widened live
    /// children (the first in reveal order on ties); `None` if no child is live.
    fn choose(&mut self, node: &Arc<Node>) -> Option<u32> {
        let dag = self.space.dag.clone();
        let children = dag.children(node);
        let order = self.reveal_order(node, children.len());
        let k = widened(
            self.node_stats(node).effective_visits(),
            self.cfg.widening_k,
            self.cfg.widening_alpha,
        );
        let live: Vec<u32> = order
            .into_iter()
            .filter(|&i| match &children[i as usize].1 {
                Child::Leaf(l) => !self.space.is_used(l),
                Child::Node(n) => !self.space.is_exhausted(n),
            })
            .take(k)
            .collect();
        let child_stats = |i: u32| match &children[i as usize].1 {
            Child::Node(n) => self.node_stats(n),
            Child::Leaf(_) => NodeStats::default(),
        };
        let total: u64 = live
            .iter()
            .map(|&i| child_stats(i).effective_visits())
            .sum();
        let scale = self
            .range
            .map_or(Scale::IDENTITY, |(lo, hi)| Scale::of_range(lo, hi));
        let mut best: Option<(f64, u32)> = None;
        for &i in &live {
            let s = ucb1_tuned(
                &child_stats(i),
                total,
                self.cfg.exploration,
                self.cfg.variance_cap,
                scale,
                self.cfg.max_weight,
            );
            if best.is_none_or(|(b, _)| s > b) {
                best = Some((s, i));
            }
        }
        best.map(|(_, i)| i)
    }

    /// Widens the range of positive rewards by `reward`.
    fn widen_range(&mut self, reward: f64) {
        if reward > 0.0 {
            let (lo, hi) = self.range.unwrap_or((reward, reward));
            self.range = Some((lo.min(reward), hi.max(reward)));
        }
    }

    fn stats_mut(&mut self, key: u64) -> &mut NodeStats {
        self.stats.entry(key).or_default()
    }

    /// One selection iteration: a proposal, or `None` to try again (or stop when the root is
    /// exhausted).
    fn iterate(&mut self) -> Option<Proposal> {
        let dag = self.space.dag.clone();
        let mut node = dag.root().clone();
        let mut keys = vec![node.state.key];
        let mut prefix: Vec<u32> = Vec::new();
        loop {
            let Some(i) = self.choose(&node) else {
                self.space.mark_exhausted(&node);
                return None;
            };
            prefix.push(i);
            match &dag.children(&node)[i as usize].1 {
                Child::Leaf(leaf) => match self.space.take(leaf) {
                    Ok(canonical) => {
                        prefix.pop();
                        let found = crate::walk::Found {
                            leaf: leaf.clone(),
                            canonical,
                            path: vec![i],
                            nodes: vec![node.clone()],
                        };
                        return Some(self.issue(&prefix, &found, keys));
                    }
                    Err(dup) => {
                        prefix.pop();
                        if let Some(r) = dup.and_then(|h| self.rewards.get(&h.0).copied()) {
                            for &k in &keys {
                                self.stats_mut(k).add(r);
                            }
                        }
                    }
                },
                Child::Node(child) => {
                    let child = child.clone();
                    let fresh = self.node_stats(&child).effective_visits() == 0;
                    keys.push(child.state.key);
                    if !fresh {
                        node = child;
                        continue;
                    }
                    // Expansion: a random descent from the new node.
                    let seed = self.rng.next_u64();
                    match walk(&mut self.space, &child, seed) {
                        Walk::Found(f) => return Some(self.issue(&prefix, &f, keys)),
                        Walk::Exhausted => return None,
                        Walk::Abandoned => {
                            // Count a failed simulation so the node is not picked as new forever.
                            self.stats_mut(child.state.key).add(0.0);
                            return None;
                        }
                    }
                }
            }
        }
    }

    /// Issues a proposal for `found` (below the node reached by `prefix`), putting a virtual
    /// loss on the nodes `keys`.
    fn issue(&mut self, prefix: &[u32], found: &crate::walk::Found, keys: Vec<u64>) -> Proposal {
        for &k in &keys {
            self.stats_mut(k).virtual_loss += 1;
        }
        let p = proposal(self.next, prefix, found);
        self.pending.insert(self.next, (keys, found.canonical.0));
        self.next += 1;
        p
    }
}

impl Searcher for Mcts {
    fn name(&self) -> &'static str {
        "mcts"
    }

    fn propose(&mut self) -> Option<Proposal> {
        for _ in 0..self.cfg.max_iterations {
            if self.space.is_exhausted(self.space.dag.root()) {
                return None;
            }
            if let Some(p) = self.iterate() {
                return Some(p);
            }
        }
        None
    }

    fn observe(&mut self, id: ProposalId, reward: f64) {
        let Some((keys, canonical)) = self.pending.remove(&id) else {
            return;
        };
        self.rewards.insert(canonical, reward);
        self.widen_range(reward);
        for &k in &keys {
            let s = self.stats_mut(k);
            s.virtual_loss = s.virtual_loss.saturating_sub(1);
            s.add(reward);
        }
        self.observed.insert(id, (keys, canonical, reward));
    }

    fn revise(&mut self, id: ProposalId, reward: f64) {
        let Some((keys, canonical, old)) = self.observed.get(&id).cloned() else {
            return;
        };
        self.rewards.insert(canonical, reward);
        self.widen_range(reward);
        for &k in &keys {
            self.stats_mut(k).replace(old, reward);
        }
        self.observed.insert(id, (keys, canonical, reward));
    }

    fn stats(&self) -> SpaceStats {
        self.space.stats
    }
}
