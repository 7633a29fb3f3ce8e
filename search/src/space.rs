//! The space a searcher explores: the synthesis DAG, a shared cache of canonical hashes, and
//! the searcher's own marks (canonical hashes already proposed, leaves used, subtrees
//! exhausted).
//!
//! Searchers decide only from these marks, never from the DAG's own dead flags (which other
//! users of a shared DAG may set at any time), so a searcher's proposals are a function of its
//! seed and of what it observed, in order.

use kas_primitives::canon::{self, CanonicalHash};
use kas_synth::{Dag, Leaf, Node};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Canonical hashes of leaves, keyed by structural hash; shareable between searchers over the
/// same DAG (canonicalization is a pure function, so sharing changes no result).
#[derive(Debug, Default)]
pub struct CanonCache {
    map: Mutex<HashMap<u128, Option<CanonicalHash>>>,
}

impl CanonCache {
    /// The canonical hash of `leaf` (`None` if the canonicalizer rejects it, or its e-graph
    /// does not saturate within the limits: then it has no canonical form).
    pub fn get(&self, leaf: &Leaf) -> Option<CanonicalHash> {
        if let Some(h) = self.map.lock().expect("canon cache lock").get(&leaf.hash.0) {
            return *h;
        }
        let h = canon::canonicalize(&leaf.op).ok().map(|c| c.hash);
        self.map
            .lock()
            .expect("canon cache lock")
            .insert(leaf.hash.0, h);
        h
    }

    /// Number of leaves canonicalized so far.
    pub fn len(&self) -> usize {
        self.map.lock().expect("canon cache lock").len()
    }

    /// Whether nothing was canonicalized yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Counters shared by the searchers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpaceStats {
    /// Leaves met whose canonical hash was already proposed.
    pub duplicates: u64,
    /// Leaves with no canonical hash: the canonicalizer rejected them, or their e-graph did not
    /// saturate within the limits.
    pub uncanonical: u64,
    /// Nodes marked exhausted (no unproposed leaf below).
    pub exhausted: u64,
    /// Random walks abandoned at the visit cap.
    pub abandoned_walks: u64,
}

/// The DAG seen by one searcher.
#[derive(Debug)]
pub struct Space {
    /// The synthesis DAG.
    pub dag: Arc<Dag>,
    /// The canonical-hash cache (possibly shared).
    pub canon: Arc<CanonCache>,
    seen: HashSet<u128>,
    used_leaves: HashSet<u128>,
    exhausted: HashSet<u64>,
    /// Counters.
    pub stats: SpaceStats,
}

impl Space {
    /// A fresh view of `dag`.
    pub fn new(dag: Arc<Dag>, canon: Arc<CanonCache>) -> Space {
        Space {
            dag,
            canon,
            seen: HashSet::new(),
            used_leaves: HashSet::new(),
            exhausted: HashSet::new(),
            stats: SpaceStats::default(),
        }
    }

    /// Whether `node` has no unproposed leaf below it (as far as this searcher knows), or the
    /// DAG's relaxed feasibility test finds no completion of it (children are offered before
    /// that test runs; a node that fails it is as if it had not been offered).
    pub fn is_exhausted(&self, node: &Node) -> bool {
        self.exhausted.contains(&node.state.key) || !self.dag.feasible(node)
    }

    /// Marks `node` exhausted.
    pub fn mark_exhausted(&mut self, node: &Node) {
        if self.exhausted.insert(node.state.key) {
            self.stats.exhausted += 1;
        }
    }

    /// Whether `leaf` was proposed or found useless.
    pub fn is_used(&self, leaf: &Leaf) -> bool {
        self.used_leaves.contains(&leaf.hash.0)
    }

    /// Whether canonical hash `h` was proposed.
    pub fn was_proposed(&self, h: CanonicalHash) -> bool {
        self.seen.contains(&h.0)
    }

    /// Number of canonical hashes proposed.
    pub fn proposed(&self) -> usize {
        self.seen.len()
    }

    /// Tries to take `leaf`: marks it used and returns its canonical hash if that hash is new
    /// (recording it as proposed); `Err` with the hash if it was proposed before, `Err(None)`
    /// if the canonicalizer rejects the leaf.
    pub fn take(&mut self, leaf: &Leaf) -> Result<CanonicalHash, Option<CanonicalHash>> {
        self.used_leaves.insert(leaf.hash.0);
        match self.canon.get(leaf) {
            None => {
                self.stats.uncanonical += 1;
                Err(None)
            }
            Some(h) if self.seen.insert(h.0) => Ok(h),
            Some(h) => {
                self.stats.duplicates += 1;
                Err(Some(h))
            }
        }
    }
}
