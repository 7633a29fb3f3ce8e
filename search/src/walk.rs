//! Random descent with backtracking from a node to a fresh leaf (the rollout of MCTS, the
//! sampler of random and beam search), as Syno's simulations do: at each node pick a
//! primitive type uniformly among the types with untried children, then a child of that type
//! uniformly. A leaf whose canonical hash was already proposed counts as a failure and the
//! walk goes on; a node whose every child failed is marked exhausted.

use crate::space::Space;
use kas_primitives::canon::CanonicalHash;
use kas_synth::{Child, Leaf, Node, StepType};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use std::sync::Arc;

/// Most nodes one walk enters before it gives up (nothing is then marked).
pub const MAX_WALK_VISITS: u64 = 4000;

/// A fresh leaf found by a walk.
#[derive(Debug, Clone)]
pub struct Found {
    /// The leaf.
    pub leaf: Arc<Leaf>,
    /// Its canonical hash (now recorded as proposed).
    pub canonical: CanonicalHash,
    /// Child indices from the walk's start to the leaf.
    pub path: Vec<u32>,
    /// Nodes from the start (included) to the leaf's parent.
    pub nodes: Vec<Arc<Node>>,
}

/// What a walk ended with.
#[derive(Debug, Clone)]
pub enum Walk {
    /// A fresh leaf.
    Found(Found),
    /// Everything below the start was tried: the start is now marked exhausted.
    Exhausted,
    /// The visit cap was reached.
    Abandoned,
}

/// Walks from `start` with a generator seeded by `seed`.
pub fn walk(space: &mut Space, start: &Arc<Node>, seed: u64) -> Walk {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut visits = 0;
    let mut path = Vec::new();
    let mut nodes = Vec::new();
    match step(space, start, &mut rng, &mut visits, &mut path, &mut nodes) {
        Some((leaf, canonical)) => {
            path.reverse();
            nodes.reverse();
            Walk::Found(Found {
                leaf,
                canonical,
                path,
                nodes,
            })
        }
        None if space.is_exhausted(start) => Walk::Exhausted,
        None => {
            space.stats.abandoned_walks += 1;
            Walk::Abandoned
        }
    }
}

/// Depth-first random search below `node`; on success `path` and `nodes` hold the way back
/// (leaf first).
fn step(
    space: &mut Space,
    node: &Arc<Node>,
    rng: &mut ChaCha8Rng,
    visits: &mut u64,
    path: &mut Vec<u32>,
    nodes: &mut Vec<Arc<Node>>,
) -> Option<(Arc<Leaf>, CanonicalHash)> {
    if space.is_exhausted(node) || *visits >= MAX_WALK_VISITS {
        return None;
    }
    *visits += 1;
    let dag = space.dag.clone();
    let children = dag.children(node);
    let mut groups: Vec<(StepType, Vec<usize>)> = Vec::new();
    for (i, (t, c)) in children.iter().enumerate() {
        let live = match c {
            Child::Leaf(l) => !space.is_used(l),
            Child::Node(n) => !space.is_exhausted(n),
        };
        if !live {
            continue;
        }
        match groups.last_mut() {
            Some((g, v)) if g == t => v.push(i),
            _ => groups.push((*t, vec![i])),
        }
    }
    while !groups.is_empty() {
        let g = rng.random_range(0..groups.len());
        let pick = rng.random_range(0..groups[g].1.len());
        let i = groups[g].1.swap_remove(pick);
        if groups[g].1.is_empty() {
            groups.remove(g);
        }
        let found = match &children[i].1 {
            Child::Leaf(l) => space.take(l).ok().map(|h| (l.clone(), h)),
            Child::Node(n) => step(space, n, rng, visits, path, nodes),
        };
        if let Some(f) = found {
            path.push(i as u32);
            nodes.push(node.clone());
            return Some(f);
        }
        if *visits >= MAX_WALK_VISITS {
            return None;
        }
    }
    if *visits < MAX_WALK_VISITS {
        space.mark_exhausted(node);
    }
    None
}
