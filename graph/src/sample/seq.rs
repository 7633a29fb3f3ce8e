//! Moves and closing in a causal sequence slot `[N, T, C] → [N, T, C]`: every move
//! keeps the kernel causal by construction (mixing along `T` only through a prefix mean or a
//! causal softmax between a query and a key axis), and the descent still checks each closed
//! candidate with [`crate::causal::check_causal`].
//!
//! Forms: `[N, T, c]` (a sequence), `[N, T]` (a sequence pooled over its channels) and
//! `[N, T, T]` (scores between positions, the attention-like pattern).

use super::descent::Move;
use super::linear;
use super::slot::Slot;
use crate::error::{GraphError, Result};
use crate::kernel::GraphKernel;
use crate::node::{BlendKind, FoldKind, NodeId, NodeOp, Unary};
use kas_primitives::Size;

/// The forms of values in a sequence slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqForm {
    /// `[N, T, c]`.
    Seq(Size),
    /// `[N, T]`.
    Pooled,
    /// `[N, T, T]`.
    Scores,
    /// Anything else.
    Other,
}

/// The form of a shape in a sequence slot.
pub fn seq_form(s: &Slot, shape: &[Size]) -> SeqForm {
    if shape.len() < 2 || shape[0] != s.n || shape[1] != s.h {
        return SeqForm::Other;
    }
    match shape.len() {
        2 => SeqForm::Pooled,
        3 if shape[2] == s.h => SeqForm::Scores,
        3 => SeqForm::Seq(shape[2]),
        _ => SeqForm::Other,
    }
}

/// Every move on `x` in a sequence slot (`unaries` adds the element-wise moves).
pub(super) fn moves(
    s: &Slot,
    g: &GraphKernel,
    x: NodeId,
    unaries: &dyn Fn(&mut Vec<Move>),
) -> Vec<Move> {
    let mut v = Vec::new();
    let others = |want: SeqForm| {
        (0..g.nodes.len())
            .map(|k| NodeId(k as u32))
            .filter(move |&y| y != x && seq_form(s, g.shape(y)) == want)
    };
    match seq_form(s, g.shape(x)) {
        SeqForm::Seq(c) => {
            for out in [s.c_in, s.c_out] {
                v.push(Move::Fc { x, axis: 2, out });
            }
            v.push(Move::Scale { x, axis: 2 });
            unaries(&mut v);
            v.push(Move::PrefixMean { x });
            v.push(Move::Softmax { x, axis: 2 });
            for kind in [FoldKind::Avg, FoldKind::Max] {
                v.push(Move::Fold {
                    x,
                    axes: vec![2],
                    kind,
                });
            }
            for y in others(SeqForm::Seq(c)) {
                for kind in BlendKind::ALL {
                    v.push(Move::Blend {
                        lhs: x,
                        rhs: y,
                        kind,
                        map: vec![0, 1, 2],
                    });
                }
                v.push(Move::Bmm {
                    lhs: x,
                    rhs: y,
                    lc: vec![2],
                    rc: vec![2],
                });
            }
        }
        SeqForm::Pooled => {
            unaries(&mut v);
            v.push(Move::PrefixMean { x });
            for y in (0..g.nodes.len()).map(|k| NodeId(k as u32)) {
                if matches!(seq_form(s, g.shape(y)), SeqForm::Seq(_)) {
                    for kind in [BlendKind::Mul, BlendKind::Add] {
                        v.push(Move::Blend {
                            lhs: x,
                            rhs: y,
                            kind,
                            map: vec![0, 1],
                        });
                    }
                }
            }
        }
        SeqForm::Scores => {
            // No e^x on scores: a softmax of e^scores is doubly exponential, so f32 rounding
            // of the scores is amplified past any tolerance (and overflows in training).
            unaries(&mut v);
            v.retain(|m| !matches!(m, Move::Unary { u: Unary::Exp, .. }));
            v.push(Move::CausalSoftmax { x });
            for y in (0..g.nodes.len()).map(|k| NodeId(k as u32)) {
                if matches!(seq_form(s, g.shape(y)), SeqForm::Seq(_)) {
                    v.push(Move::Bmm {
                        lhs: x,
                        rhs: y,
                        lc: vec![2],
                        rc: vec![1],
                    });
                }
            }
        }
        SeqForm::Other => {}
    }
    v
}

/// The most recent node of form `[N, T, c]`, if any.
fn latest_seq(g: &GraphKernel, s: &Slot) -> Option<NodeId> {
    (0..g.nodes.len())
        .rev()
        .map(|k| NodeId(k as u32))
        .find(|&k| matches!(seq_form(s, g.shape(k)), SeqForm::Seq(_)))
}

fn push_fc(g: &mut GraphKernel, s: &Slot, x: NodeId, out: Size) -> Result<NodeId> {
    let op = linear::fc(&s.vars, &s.bindings, g.shape(x), 2, out)?;
    g.push(NodeOp::Linear(Box::new(op)), &[x])
}

/// Brings every open node to `[N, T, c]` (a pooled value gates the latest sequence by a
/// broadcast product; scores are causally normalised, unless they already are, and mix the
/// latest sequence), projects each to `C_out` unless it is there already and adds them. Sets
/// and returns the output; a kernel with no node gets one FC.
pub fn close(g: &mut GraphKernel, open: &[NodeId], s: &Slot) -> Result<NodeId> {
    let mut seqs: Vec<NodeId> = Vec::new();
    for &x in open {
        let y = match seq_form(s, g.shape(x)) {
            SeqForm::Seq(_) => x,
            SeqForm::Pooled => {
                let partner = latest_seq(g, s).unwrap_or(g.input());
                let mul = NodeOp::Blend {
                    kind: BlendKind::Mul,
                    map: vec![0, 1],
                };
                g.push(mul, &[x, partner])?
            }
            SeqForm::Scores => {
                let partner = latest_seq(g, s).unwrap_or(g.input());
                let masked = match g.node(x).op {
                    NodeOp::CausalSoftmax { .. } => x,
                    _ => g.push(NodeOp::CausalSoftmax { query: 1, key: 2 }, &[x])?,
                };
                let mix = NodeOp::Bmm {
                    batch: 1,
                    lhs_contract: vec![2],
                    rhs_contract: vec![1],
                    scaled: false,
                };
                g.push(mix, &[masked, partner])?
            }
            SeqForm::Other => {
                return Err(GraphError::Sampler("an open node of unknown form".into()));
            }
        };
        seqs.push(y);
    }
    let mut result: Option<NodeId> = None;
    for x in seqs {
        let done = g.shape(x)[2] == s.c_out && x != g.input();
        let x = if done { x } else { push_fc(g, s, x, s.c_out)? };
        result = Some(match result {
            Some(r) => {
                let add = NodeOp::Blend {
                    kind: BlendKind::Add,
                    map: vec![0, 1, 2],
                };
                g.push(add, &[r, x])?
            }
            None => x,
        });
    }
    let out = result.ok_or_else(|| GraphError::Sampler("nothing to close".into()))?;
    g.output = out;
    Ok(out)
}

/// Whether an element-wise function keeps a causal softmax's zeros (drawn after one only
/// then, so the masked weights stay 0).
pub(super) fn keeps_zero(u: Unary) -> bool {
    u.apply(0.0) == 0.0
}
