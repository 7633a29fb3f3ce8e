//! Beam-style best-first search (after Syno's beam baseline; `docs/ARCHITECTURE.md`, "Search").
//!
//! The beam is a list of prefixes (DAG nodes). Each proposal goes to the prefix with the
//! highest priority `(1 − noise)·score + noise·u`, `u` uniform in [0, 1): it samples a random
//! descent from that prefix. A prefix's score is the best reward observed below it (until
//! then, its parent's score when it was created). Once a prefix has issued its quota of
//! samples (`remaining depth + 2`), it is replaced by its children; the beam then keeps only
//! its `width` best prefixes (a trimmed prefix comes back when none is left). A revised reward
//! (a promoted result) credits the prefixes above it like an observed one: their scores are
//! maxima, so it can raise them and never lowers them.

use crate::proposal::{Proposal, ProposalId};
use crate::searcher::{Searcher, proposal};
use crate::space::{Space, SpaceStats};
use crate::walk::{Walk, walk};
use kas_campaign::BeamConfig;
use kas_synth::{Child, Node};
use rand::rngs::ChaCha8Rng;
use rand::{Rng, RngExt, SeedableRng};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug)]
struct Entry {
    node: Arc<Node>,
    prefix: Vec<u32>,
    parent: Option<usize>,
    best: Option<f64>,
    inherited: f64,
    issued: u32,
    quota: u32,
    active: bool,
    /// Expanded or found empty: never active again (a trimmed entry may come back).
    done: bool,
}

impl Entry {
    fn score(&self) -> f64 {
        self.best.unwrap_or(self.inherited)
    }
}

/// Beam-style best-first searcher.
#[derive(Debug)]
pub struct Beam {
    space: Space,
    cfg: BeamConfig,
    rng: ChaCha8Rng,
    next: ProposalId,
    entries: Vec<Entry>,
    pending: HashMap<ProposalId, usize>,
    /// The prefix of every observed proposal (for revised rewards).
    observed: HashMap<ProposalId, usize>,
}

impl Beam {
    /// A beam searcher over `space` seeded with `seed`.
    pub fn new(space: Space, cfg: BeamConfig, seed: u64) -> Beam {
        let root = space.dag.root().clone();
        let mut b = Beam {
            space,
            rng: ChaCha8Rng::seed_from_u64(seed),
            next: 0,
            entries: Vec::new(),
            pending: HashMap::new(),
            observed: HashMap::new(),
            cfg,
        };
        let prior = b.cfg.prior;
        b.push(root, Vec::new(), None, prior);
        b
    }

    /// Credits prefix `e` and its ancestors with `reward` (a prefix's score is the best
    /// reward below it: a revised reward raises it, never lowers it).
    fn credit(&mut self, e: usize, reward: f64) {
        let mut at = Some(e);
        while let Some(e) = at {
            let entry = &mut self.entries[e];
            entry.best = Some(entry.best.map_or(reward, |b| b.max(reward)));
            at = entry.parent;
        }
    }

    fn push(&mut self, node: Arc<Node>, prefix: Vec<u32>, parent: Option<usize>, inherited: f64) {
        let depth = self.space.dag.cfg.budgets().depth;
        let quota = depth.saturating_sub(node.state.depth as u32) + 2;
        self.entries.push(Entry {
            node,
            prefix,
            parent,
            best: None,
            inherited,
            issued: 0,
            quota,
            active: true,
            done: false,
        });
    }

    /// Replaces entry `e` by its live children, then trims the beam to its width.
    fn expand(&mut self, e: usize) {
        self.entries[e].active = false;
        self.entries[e].done = true;
        let dag = self.space.dag.clone();
        let node = self.entries[e].node.clone();
        let score = self.entries[e].score();
        for (i, (_, c)) in dag.children(&node).iter().enumerate() {
            if let Child::Node(n) = c
                && !self.space.is_exhausted(n)
            {
                let mut prefix = self.entries[e].prefix.clone();
                prefix.push(i as u32);
                self.push(n.clone(), prefix, Some(e), score);
            }
        }
        let mut active: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].active)
            .collect();
        if active.len() > self.cfg.width {
            // Best first; ties keep the older entry.
            active.sort_by(|&a, &b| {
                self.entries[b]
                    .score()
                    .total_cmp(&self.entries[a].score())
                    .then(a.cmp(&b))
            });
            for &i in &active[self.cfg.width..] {
                self.entries[i].active = false;
            }
        }
    }

    /// The active entry with the highest noisy priority. When none is active, the best
    /// trimmed entry comes back.
    fn pick(&mut self) -> Option<usize> {
        if !self.entries.iter().any(|e| e.active) {
            let back = (0..self.entries.len())
                .filter(|&i| !self.entries[i].done)
                .max_by(|&a, &b| {
                    self.entries[a]
                        .score()
                        .total_cmp(&self.entries[b].score())
                        .then(b.cmp(&a))
                })?;
            self.entries[back].active = true;
        }
        let mut best: Option<(f64, usize)> = None;
        for i in 0..self.entries.len() {
            if !self.entries[i].active {
                continue;
            }
            let u: f64 = self.rng.random();
            let p = (1.0 - self.cfg.noise) * self.entries[i].score() + self.cfg.noise * u;
            if best.is_none_or(|(b, _)| p > b) {
                best = Some((p, i));
            }
        }
        best.map(|(_, i)| i)
    }
}

impl Searcher for Beam {
    fn name(&self) -> &'static str {
        "beam"
    }

    fn propose(&mut self) -> Option<Proposal> {
        loop {
            let e = self.pick()?;
            if self.entries[e].issued >= self.entries[e].quota {
                self.expand(e);
                continue;
            }
            let node = self.entries[e].node.clone();
            match walk(&mut self.space, &node, self.rng.next_u64()) {
                Walk::Found(f) => {
                    self.entries[e].issued += 1;
                    let p = proposal(self.next, &self.entries[e].prefix, &f);
                    self.pending.insert(self.next, e);
                    self.next += 1;
                    return Some(p);
                }
                // Nothing fresh below (or too hard to reach): drop the prefix.
                Walk::Exhausted | Walk::Abandoned => {
                    self.entries[e].active = false;
                    self.entries[e].done = true;
                }
            }
        }
    }

    fn observe(&mut self, id: ProposalId, reward: f64) {
        let Some(e) = self.pending.remove(&id) else {
            return;
        };
        self.observed.insert(id, e);
        self.credit(e, reward);
    }

    fn revise(&mut self, id: ProposalId, reward: f64) {
        if let Some(&e) = self.observed.get(&id) {
            self.credit(e, reward);
        }
    }

    fn stats(&self) -> SpaceStats {
        self.space.stats
    }
}
