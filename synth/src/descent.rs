//! Random descent with backtracking over the DAG.
//!
//! At each node a descent picks a primitive type uniformly among the types with untried
//! children that pass the relaxed feasibility test, then such a child of that type uniformly, from a generator seeded by
//! `(run seed, descent index, node key)`. A child known dead is skipped; when every child of
//! a node fails the node is marked dead and the descent backtracks, up to a budget of node
//! visits. Descents run in *epochs* (fixed-size batches): a descent honours only the dead
//! marks of earlier epochs, so what it visits, finds and marks is the same whatever the
//! thread count and scheduling.

use crate::dag::{Child, Dag, Node};
use crate::finalize::Leaf;
use crate::generate::StepType;
use crate::mix::{SplitMix64, mix};
use std::sync::Arc;
use std::time::Instant;

/// What one descent found.
#[derive(Debug, Clone)]
pub struct Descent {
    /// The leaf, unless the whole DAG below the root is dead.
    pub leaf: Option<Arc<Leaf>>,
    /// Nodes from the root to the leaf's parent.
    pub path: Vec<Arc<Node>>,
    /// Nodes abandoned on the way (0: the first walk reached a leaf).
    pub backtracks: u64,
    /// Nodes entered, including abandoned ones.
    pub visited: u64,
    /// Stopped by the run's deadline before finishing (not a real descent).
    pub aborted: bool,
}

/// What one descent goes by: its generator seed, the epoch whose dead marks it honours and its
/// deadline.
#[derive(Debug, Clone, Copy)]
struct DescentParams {
    seed: u64,
    epoch: u64,
    deadline: Option<Instant>,
}

/// Most node visits of one descent before it gives up.
pub(crate) const MAX_VISITS: u64 = 2000;

/// Descent number `index` of a run seeded with `seed`, in epoch `epoch`.
pub fn descend(dag: &Dag, seed: u64, index: u64, epoch: u64) -> Descent {
    descend_until(dag, seed, index, epoch, None)
}

/// Like [`descend`], giving up (with `aborted` set) once `deadline` has passed.
pub(crate) fn descend_until(
    dag: &Dag,
    seed: u64,
    index: u64,
    epoch: u64,
    deadline: Option<Instant>,
) -> Descent {
    let mut path = Vec::new();
    let mut backtracks = 0;
    let mut visited = 0;
    let seed = mix(mix(0xde5c, seed), index);
    let root = dag.root().clone();
    let params = DescentParams {
        seed,
        epoch,
        deadline,
    };
    let leaf = walk(dag, &root, params, &mut path, &mut backtracks, &mut visited);
    let aborted = leaf.is_none() && deadline.is_some_and(|d| Instant::now() >= d);
    Descent {
        leaf,
        path,
        backtracks,
        visited,
        aborted,
    }
}

fn walk(
    dag: &Dag,
    node: &Arc<Node>,
    params: DescentParams,
    path: &mut Vec<Arc<Node>>,
    backtracks: &mut u64,
    visited: &mut u64,
) -> Option<Arc<Leaf>> {
    if node.is_dead_before(params.epoch)
        || *visited >= MAX_VISITS
        || params.deadline.is_some_and(|d| Instant::now() >= d)
    {
        return None;
    }
    *visited += 1;
    path.push(node.clone());
    let children = dag.children(node);
    let mut rng = SplitMix64::new(mix(params.seed, node.state.key));
    // Untried children, grouped by type (children are sorted by type).
    let mut groups: Vec<(StepType, Vec<usize>)> = Vec::new();
    for (i, (t, _)) in children.iter().enumerate() {
        match groups.last_mut() {
            Some((g, v)) if g == t => v.push(i),
            _ => groups.push((*t, vec![i])),
        }
    }
    'pick: while !groups.is_empty() {
        // A type uniformly, then a child of it uniformly; children failing the relaxed test
        // are dropped on the way (rejection sampling: the draw is uniform over the types with
        // a feasible child, then over that type's feasible children).
        let g = rng.below(groups.len());
        let i = loop {
            let pick = rng.below(groups[g].1.len());
            let i = groups[g].1.swap_remove(pick);
            let ok = match &children[i].1 {
                Child::Leaf(_) => true,
                Child::Node(n) => dag.feasible(n),
            };
            if groups[g].1.is_empty() {
                groups.remove(g);
                if !ok {
                    continue 'pick;
                }
                break i;
            }
            if ok {
                break i;
            }
        };
        match &children[i].1 {
            Child::Leaf(l) => return Some(l.clone()),
            Child::Node(n) => {
                if let Some(l) = walk(dag, n, params, path, backtracks, visited) {
                    return Some(l);
                }
            }
        }
    }
    if *visited >= MAX_VISITS || params.deadline.is_some_and(|d| Instant::now() >= d) {
        // Gave up: nothing is proved about this node.
        path.pop();
        return None;
    }
    dag.mark_dead(node, params.epoch);
    path.pop();
    *backtracks += 1;
    None
}
