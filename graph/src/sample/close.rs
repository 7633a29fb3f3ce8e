//! Closing a partial kernel: the deterministic shortest way from its open nodes to one value
//! of the slot's output shape. The sampler closes every candidate state on a copy before
//! taking a move, so a budget is never discovered broken after the fact.

use super::linear;
use super::slot::Slot;
use crate::error::{GraphError, Result};
use crate::kernel::GraphKernel;
use crate::node::{BlendKind, NodeId, NodeOp};
use kas_primitives::Size;

/// The forms of values the sampler builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `[N, c, H, W]`.
    Full(Size),
    /// `[N, c]` (pooled over both spatial axes).
    Pooled(Size),
    /// `[N, c, H]` (pooled over the width).
    Row(Size),
    /// `[N, c1, c2]` (a channel map from a matrix product).
    Map(Size, Size),
    /// Anything else.
    Other,
}

/// The form of a shape in a slot.
pub fn form(s: &Slot, shape: &[Size]) -> Form {
    if shape.first() != Some(&s.n) {
        return Form::Other;
    }
    match shape.len() {
        4 if shape[2] == s.h && shape[3] == s.w => Form::Full(shape[1]),
        2 => Form::Pooled(shape[1]),
        3 if shape[2] == s.h => Form::Row(shape[1]),
        3 => Form::Map(shape[1], shape[2]),
        _ => Form::Other,
    }
}

/// The most recent node of form `Full(c)`.
fn latest_full(g: &GraphKernel, s: &Slot, c: Size) -> Option<NodeId> {
    (0..g.nodes.len())
        .rev()
        .map(|k| NodeId(k as u32))
        .find(|&k| form(s, g.shape(k)) == Form::Full(c))
}

fn push_fc(g: &mut GraphKernel, s: &Slot, x: NodeId, axis: usize, out: Size) -> Result<NodeId> {
    let op = linear::fc(&s.vars, &s.bindings, g.shape(x), axis, out)?;
    g.push(NodeOp::Linear(Box::new(op)), &[x])
}

/// In a sequence slot, [`super::seq::close`]. Otherwise brings every open node to
/// `[N, c, H, W]` (a pooled value gates a full one of its channel count by a broadcast product,
/// a channel map multiplies one by a scaled matrix product), adds those of equal channel count,
/// projects each sum to `C_out` with an FC and adds the results. Sets and returns the output; a
/// kernel with no node gets one FC.
pub fn close(g: &mut GraphKernel, open: &[NodeId], s: &Slot) -> Result<NodeId> {
    if s.layout == super::slot::Layout::Sequence {
        return super::seq::close(g, open, s);
    }
    let mut fulls: Vec<(Size, NodeId)> = Vec::new();
    for &x in open {
        let y = match form(s, g.shape(x)) {
            Form::Full(c) => {
                fulls.push((c, x));
                continue;
            }
            Form::Pooled(c) | Form::Row(c) => {
                let rank = g.shape(x).len();
                let (x, partner) = match latest_full(g, s, c) {
                    Some(p) => (x, p),
                    None => (push_fc(g, s, x, 1, s.c_in)?, g.input()),
                };
                let map = (0..rank).collect();
                g.push(
                    NodeOp::Blend {
                        kind: BlendKind::Mul,
                        map,
                    },
                    &[x, partner],
                )?
            }
            Form::Map(_, c2) => {
                let (x, partner) = match latest_full(g, s, c2) {
                    Some(p) => (x, p),
                    None => (push_fc(g, s, x, 2, s.c_in)?, g.input()),
                };
                let op = NodeOp::Bmm {
                    batch: 1,
                    lhs_contract: vec![2],
                    rhs_contract: vec![1],
                    scaled: true,
                };
                g.push(op, &[x, partner])?
            }
            Form::Other => {
                return Err(GraphError::Sampler("an open node of unknown form".into()));
            }
        };
        if let Form::Full(c) = form(s, g.shape(y)) {
            fulls.push((c, y));
        }
    }
    let add = |g: &mut GraphKernel, a: NodeId, b: NodeId| {
        g.push(
            NodeOp::Blend {
                kind: BlendKind::Add,
                map: vec![0, 1, 2, 3],
            },
            &[a, b],
        )
    };
    let mut groups: Vec<(Size, NodeId)> = Vec::new();
    for (c, x) in fulls {
        match groups.iter_mut().find(|(gc, _)| *gc == c) {
            Some(slot) => slot.1 = add(g, slot.1, x)?,
            None => groups.push((c, x)),
        }
    }
    let mut result: Option<NodeId> = None;
    for (c, x) in groups {
        let x = if c == s.c_out && x != g.input() {
            x
        } else {
            push_fc(g, s, x, 1, s.c_out)?
        };
        result = Some(match result {
            Some(r) => add(g, r, x)?,
            None => x,
        });
    }
    let out = result.ok_or_else(|| GraphError::Sampler("nothing to close".into()))?;
    g.output = out;
    Ok(out)
}
