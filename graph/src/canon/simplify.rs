//! Applies the simplification rules ([`super::rules`]) to a fixpoint.

use super::rules::{IDEMPOTENT, Rhs, find};
use crate::kernel::GraphKernel;
use crate::node::{NodeId, NodeOp};

/// The kernel with every rule applied until none applies, and the dead nodes dropped.
///
/// The result computes the same function. It may be the identity (the output is the input,
/// for `neg(neg(input))`): then it is no longer a valid kernel, but it still has a canonical
/// hash.
pub fn simplify(g: &GraphKernel) -> GraphKernel {
    let mut g = g.pruned();
    while let Some(next) = step(&g) {
        g = next.pruned();
    }
    g
}

/// One rewrite, if a rule applies somewhere.
fn step(g: &GraphKernel) -> Option<GraphKernel> {
    for (k, n) in g.nodes.iter().enumerate() {
        match &n.op {
            NodeOp::Unary(outer) => {
                let i = n.inputs[0];
                let NodeOp::Unary(inner) = g.node(i).op else {
                    continue;
                };
                let Some(rule) = find(*outer, inner) else {
                    continue;
                };
                let x = g.node(i).inputs[0];
                let mut h = g.clone();
                match rule.rhs {
                    Rhs::Identity => redirect(&mut h, NodeId(k as u32), x),
                    Rhs::Apply(u) => {
                        h.nodes[k].op = NodeOp::Unary(u);
                        h.nodes[k].inputs = vec![x];
                    }
                }
                return Some(h);
            }
            NodeOp::Blend { kind, map } => {
                let identity =
                    map.iter().enumerate().all(|(a, &m)| a == m) && map.len() == n.shape.len();
                if identity && n.inputs[0] == n.inputs[1] && IDEMPOTENT.contains(kind) {
                    let mut h = g.clone();
                    redirect(&mut h, NodeId(k as u32), n.inputs[0]);
                    return Some(h);
                }
            }
            _ => {}
        }
    }
    None
}

/// Makes every reader of `from` (and the output) read `to` instead.
fn redirect(g: &mut GraphKernel, from: NodeId, to: NodeId) {
    for n in &mut g.nodes {
        for i in &mut n.inputs {
            if *i == from {
                *i = to;
            }
        }
    }
    if g.output == from {
        g.output = to;
    }
}
