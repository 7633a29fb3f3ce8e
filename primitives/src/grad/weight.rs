//! The gradient with respect to a weight: the same input and views, the upstream gradient as
//! the first weight shared with every old output axis, the weight's axes as outputs
//! (`docs/ARCHITECTURE.md`, "Gradients").

use super::assemble::{Draft, remap};
use super::{Gradient, Operand, Role, no_gradient};
use crate::error::Result;
use crate::graph::{DimId, Op, Sink, Source};
use crate::operator::Operator;

/// Builds `∂⟨G, op⟩/∂T_j` for a weight `j ≥ 1`: input `T_0`, weights `G` then the other
/// weights in order, output the axes of `T_j`.
pub(crate) fn weight_gradient(op: &Operator, j: usize) -> Result<Gradient> {
    let w = j - 1;
    let mut dropped = vec![false; op.ops.len()];
    // Each Share of a weight axis goes; the dim it produced is renamed to its data side.
    let mut rename: Vec<DimId> = (0..op.dims.len() as u32).map(DimId).collect();
    // Old output positions that a weight axis reaches through Shares only: `G` meets them there
    // and the result is that axis of the gradient.
    let mut claimed: Vec<Option<usize>> = vec![None; op.outputs.len()];
    // Per weight axis: the dim that is the gradient's output axis (`None`: claimed output).
    let mut ends: Vec<Option<DimId>> = Vec::new();
    for (axis, &a) in op.weights[w].iter().enumerate() {
        let aname = &op.dim(a).name;
        let not_shared = || no_gradient(j, "Share", format!("weight axis `{aname}` is not shared"));
        let Some(Sink::Op(k)) = op.dim(a).sink else {
            return Err(not_shared());
        };
        let Op::Share {
            data,
            output: shared,
            ..
        } = op.ops[k]
        else {
            return Err(not_shared());
        };
        dropped[k] = true;
        rename[shared.index()] = data;
        // Further Shares of the same index with other weights stay; the chain ends in a Reduce
        // (the gradient's output axis instead) or an output axis (met by `G`).
        let mut cur = shared;
        loop {
            match op.dim(cur).sink {
                Some(Sink::Op(n)) => match op.ops[n] {
                    Op::Reduce { .. } => {
                        dropped[n] = true;
                        ends.push(Some(cur));
                        break;
                    }
                    Op::Share {
                        data: d,
                        weight: other,
                        output,
                    } if d == cur => {
                        if matches!(op.dim(other).source, Source::Weight { weight, .. } if weight == w)
                        {
                            return Err(no_gradient(
                                j,
                                "Share",
                                format!(
                                    "weight axes `{aname}` and `{}` read one index (the gradient would copy it into two axes)",
                                    op.dim(other).name
                                ),
                            ));
                        }
                        cur = output;
                    }
                    _ => {
                        return Err(no_gradient(
                            j,
                            "Share",
                            format!(
                                "weight axis `{aname}` is shared into `{}`, which a further view reads (the gradient would need a copy of one index into two axes)",
                                op.dim(cur).name
                            ),
                        ));
                    }
                },
                Some(Sink::Output(i)) => {
                    claimed[i] = Some(axis);
                    ends.push(None);
                    break;
                }
                None => return Err(not_shared()),
            }
        }
    }
    let r = |d: DimId| rename[d.index()];
    let mut draft = Draft {
        vars: op.vars.clone(),
        bindings: op.bindings.clone(),
        dims: op.dims.clone(),
        ops: op
            .ops
            .iter()
            .zip(&dropped)
            .filter(|(_, d)| !**d)
            .map(|(s, _)| remap(s, r))
            .collect(),
        input: op.input.clone(),
        weights: Vec::new(),
        outputs: Vec::new(),
    };
    let mut claimed_out: Vec<Option<DimId>> = vec![None; op.weights[w].len()];
    let mut upstream = Vec::with_capacity(op.outputs.len());
    for (i, &o) in op.outputs.iter().enumerate() {
        let name = op.dim(o).name.clone();
        let g = draft.add_dim(&format!("grad_{name}"), o);
        upstream.push(g);
        let s = draft.add_dim(&format!("grad_{name}_s"), o);
        draft.ops.push(Op::Share {
            data: r(o),
            weight: g,
            output: s,
        });
        match claimed[i] {
            Some(axis) => claimed_out[axis] = Some(s),
            None => draft.ops.push(Op::Reduce { input: s }),
        }
    }
    draft.outputs = ends
        .iter()
        .zip(&claimed_out)
        .map(|(e, c)| e.map(r).or(*c))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| no_gradient(j, "Share", "a weight axis reaches no output".into()))?;
    draft.weights.push(upstream);
    let mut roles = vec![
        Role {
            tensor: Operand::Forward(0),
            flipped: Vec::new(),
        },
        Role {
            tensor: Operand::Upstream,
            flipped: Vec::new(),
        },
    ];
    for (t, axes) in op.weights.iter().enumerate() {
        if t != w {
            draft.weights.push(axes.clone());
            roles.push(Role {
                tensor: Operand::Forward(t + 1),
                flipped: Vec::new(),
            });
        }
    }
    Ok(Gradient {
        tensor: j,
        op: draft.finish()?,
        roles,
    })
}
