//! Causality of graph kernels for sequence slots (`docs/ARCHITECTURE.md`, "Causal slots"): a
//! kernel filling a GPT token-mixing slot `[N, seq, H] → [N, seq, H]` must not let position
//! `t` read positions after `t`.
//!
//! [`check_causal`] decides it statically and conservatively by following, node by node,
//! which axes are indexed by sequence position ([`SeqState`]); [`leak_at`] tests it
//! numerically with the reference interpreter (perturb the positions after `t`, compare the
//! outputs at positions up to `t`). Every kernel the static check accepts passes the numeric
//! test; the converse need not hold.

use crate::error::{GraphError, Result};
use crate::interp::{evaluate, random_weights};
use crate::kernel::GraphKernel;
use crate::node::{NodeOp, Unary};
use kas_primitives::{Binding, Tensor};

/// How a node's axes relate to sequence positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqState {
    /// One axis is the position; the value at position `t` depends on input positions `≤ t`.
    Pos(usize),
    /// Two position axes `(q, k)`, the value at `(q, k)` depending on positions `≤ max(q, k)`
    /// (attention scores before any mask).
    Pair(usize, usize),
    /// Two position axes `(q, k)`, the value at `(q, k)` depending on positions `≤ q` and 0
    /// where `k > q` (a causal softmax's output).
    Causal(usize, usize),
}

impl SeqState {
    /// The state of a node whose axes are renumbered by `f` (`None`: axis removed).
    fn remap(self, f: impl Fn(usize) -> Option<usize>) -> Option<SeqState> {
        Some(match self {
            SeqState::Pos(a) => SeqState::Pos(f(a)?),
            SeqState::Pair(q, k) => SeqState::Pair(f(q)?, f(k)?),
            SeqState::Causal(q, k) => SeqState::Causal(f(q)?, f(k)?),
        })
    }

    /// The position axes.
    fn axes(self) -> Vec<usize> {
        match self {
            SeqState::Pos(a) => vec![a],
            SeqState::Pair(q, k) | SeqState::Causal(q, k) => vec![q, k],
        }
    }

    /// The same axes without the zeros above the diagonal.
    fn loose(self) -> SeqState {
        match self {
            SeqState::Causal(q, k) => SeqState::Pair(q, k),
            s => s,
        }
    }
}

/// Whether `f(0) = 0` (so the zeros of a causal softmax stay zeros).
fn keeps_zero(u: Unary) -> bool {
    u.apply(0.0) == 0.0
}

/// Checks statically that `g` is causal along input axis `seq`: its output's value at
/// position `t` of axis `seq` depends on input positions `≤ t` only. Returns the state of
/// every node; the error names the first node that may read the future.
pub fn check_causal(g: &GraphKernel, seq: usize) -> Result<Vec<SeqState>> {
    if seq >= g.nodes[0].shape.len() {
        return Err(GraphError::InvalidGraph(format!(
            "sequence axis {seq} is not an axis of the input"
        )));
    }
    let mut states: Vec<SeqState> = Vec::with_capacity(g.nodes.len());
    for n in &g.nodes {
        let leak = |why: &str| GraphError::InvalidNode {
            node: n.name.clone(),
            reason: format!("not causal: {why}"),
        };
        let st = |i: usize| states[n.inputs[i].index()];
        let s = match &n.op {
            NodeOp::Input => SeqState::Pos(seq),
            NodeOp::Linear(op) => {
                let pass = |a: usize| op.outputs.iter().position(|&d| d == op.input[a]);
                st(0)
                    .remap(pass)
                    .ok_or_else(|| leak("a linear node mixes along a position axis"))?
            }
            NodeOp::Unary(u) => match st(0) {
                SeqState::Causal(..) if !keeps_zero(*u) => st(0).loose(),
                s => s,
            },
            NodeOp::Fold { axes, .. } => {
                let s = st(0);
                if let SeqState::Causal(q, k) = s
                    && axes.contains(&k)
                    && !axes.contains(&q)
                {
                    let shift = |a: usize| a - axes.iter().filter(|&&x| x < a).count();
                    SeqState::Pos(shift(q))
                } else {
                    s.remap(|a| {
                        (!axes.contains(&a)).then(|| a - axes.iter().filter(|&&x| x < a).count())
                    })
                    .ok_or_else(|| leak("a fold over a position axis"))?
                }
            }
            NodeOp::Softmax { axis } => {
                if st(0).axes().contains(axis) {
                    return Err(leak("a softmax along a position axis"));
                }
                st(0)
            }
            NodeOp::CausalSoftmax { query, key } => match st(0) {
                SeqState::Pair(q, k) | SeqState::Causal(q, k) if q == *query && k == *key => {
                    SeqState::Causal(q, k)
                }
                s if s.axes().contains(query) || s.axes().contains(key) => {
                    return Err(leak("a causal softmax over axes that are not (query, key)"));
                }
                s => s,
            },
            NodeOp::PrefixMean { axis } => match st(0) {
                SeqState::Pos(_) => st(0),
                s if !s.axes().contains(axis) => s,
                SeqState::Causal(q, k) if *axis == q => SeqState::Causal(q, k),
                s => s.loose(),
            },
            NodeOp::Blend { map, .. } => {
                // Every blend maps 0 and 0 to 0, so two identical states stay what they are.
                let lm = st(0)
                    .remap(|a| map.get(a).copied())
                    .expect("a blend maps every lhs axis");
                let r = st(1);
                let set = |s: SeqState| {
                    let mut a = s.axes();
                    a.sort_unstable();
                    a
                };
                match (lm, r) {
                    _ if lm == r => r,
                    (SeqState::Pos(a), SeqState::Pair(..) | SeqState::Causal(..))
                        if r.axes().contains(&a) =>
                    {
                        r.loose()
                    }
                    (SeqState::Pair(..) | SeqState::Causal(..), _) if set(lm) == set(r) => {
                        r.loose()
                    }
                    _ => return Err(leak("a blend aligns a position axis with another axis")),
                }
            }
            NodeOp::Bmm {
                batch,
                lhs_contract,
                rhs_contract,
                ..
            } => {
                let (l, r) = (st(0), st(1));
                let (ln, rn) = (g.shape(n.inputs[0]).len(), g.shape(n.inputs[1]).len());
                let lfree: Vec<usize> =
                    (*batch..ln).filter(|a| !lhs_contract.contains(a)).collect();
                let rfree: Vec<usize> =
                    (*batch..rn).filter(|a| !rhs_contract.contains(a)).collect();
                let out_l = |a: usize| {
                    if a < *batch {
                        Some(a)
                    } else {
                        lfree.iter().position(|&x| x == a).map(|p| batch + p)
                    }
                };
                let out_r = |a: usize| {
                    if a < *batch {
                        Some(a)
                    } else {
                        rfree
                            .iter()
                            .position(|&x| x == a)
                            .map(|p| batch + lfree.len() + p)
                    }
                };
                let pair_of = |c: &[usize], oc: &[usize], k: usize| {
                    c.iter().position(|&x| x == k).map(|i| oc[i])
                };
                match (l, r) {
                    (SeqState::Pos(a), SeqState::Pos(b)) => {
                        if a < *batch && b == a {
                            SeqState::Pos(a)
                        } else {
                            match (out_l(a), out_r(b)) {
                                (Some(x), Some(y)) if a >= *batch && b >= *batch => {
                                    SeqState::Pair(x, y)
                                }
                                _ => return Err(leak("a product sums over positions")),
                            }
                        }
                    }
                    (SeqState::Causal(q, k), SeqState::Pos(s))
                        if pair_of(lhs_contract, rhs_contract, k) == Some(s) =>
                    {
                        SeqState::Pos(out_l(q).ok_or_else(|| leak("query axis contracted"))?)
                    }
                    (SeqState::Pos(s), SeqState::Causal(q, k))
                        if pair_of(rhs_contract, lhs_contract, k) == Some(s) =>
                    {
                        SeqState::Pos(out_r(q).ok_or_else(|| leak("query axis contracted"))?)
                    }
                    _ => return Err(leak("a product mixes positions without a causal mask")),
                }
            }
        };
        states.push(s);
    }
    match states[g.output.index()] {
        SeqState::Pos(a) if a == seq => Ok(states),
        _ => Err(GraphError::InvalidGraph(format!(
            "not causal: the output's axis {seq} is not its position axis"
        ))),
    }
}

/// The largest change at positions `≤ t` of the output (along input and output axis `seq`)
/// when the input's positions after `t` are replaced by other random values, over every `t`;
/// random weights seeded `seed`. A causal kernel gives exactly 0.
pub fn leak_at(g: &GraphKernel, b: &Binding, seq: usize, seed: u64) -> Result<f64> {
    let shape = g.concrete(g.input(), b)?;
    let weights = random_weights(g, b, seed)?;
    let x = Tensor::random(&shape, seed ^ 0x5eed);
    let y = evaluate(g, b, &x, &weights)?;
    let other = Tensor::random(&shape, seed ^ 0xf00d);
    let len = shape[seq];
    let mut worst: f64 = 0.0;
    for t in 0..len.saturating_sub(1) {
        let mut xp = x.clone();
        let mut i = 0;
        kas_primitives::tensor::for_each_index(&shape, |idx| {
            if idx[seq] > t {
                xp.data[i] = other.data[i];
            }
            i += 1;
        });
        let yp = evaluate(g, b, &xp, &weights)?;
        let mut j = 0;
        kas_primitives::tensor::for_each_index(&y.shape, |idx| {
            if idx[seq] <= t {
                worst = worst.max((y.data[j] - yp.data[j]).abs());
            }
            j += 1;
        });
    }
    Ok(worst)
}
