//! The gradient with respect to a weight: the same input and views, the upstream gradient as
//! the first weight shared with every old output axis, the weight's axes as outputs
//! (`docs/ARCHITECTURE.md`, "Gradients").

use super::assemble::Draft;
use super::{Gradient, Operand, Role, no_gradient};
use crate::error::Result;
use crate::graph::{DimId, Op, Sink};
use crate::operator::Operator;

/// Builds `∂⟨G, op⟩/∂T_j` for a weight `j ≥ 1`: input `T_0`, weights `G` then the other
/// weights in order, output the axes of `T_j`.
pub(crate) fn weight_gradient(op: &Operator, j: usize) -> Result<Gradient> {
    let w = j - 1;
    let mut dropped = vec![false; op.ops.len()];
    // Old output position → the data dim that now meets `G` there (a weight axis that was
    // shared straight into the output).
    let mut claimed: Vec<Option<DimId>> = vec![None; op.outputs.len()];
    let mut outputs = Vec::new();
    for &a in &op.weights[w] {
        let aname = &op.dim(a).name;
        let Some(Sink::Op(k)) = op.dim(a).sink else {
            return Err(no_gradient(
                j,
                "Share",
                format!("weight axis `{aname}` is not shared"),
            ));
        };
        let Op::Share {
            data,
            output: shared,
            ..
        } = op.ops[k]
        else {
            return Err(no_gradient(
                j,
                "Share",
                format!("weight axis `{aname}` is not shared"),
            ));
        };
        match op.dim(shared).sink {
            Some(Sink::Op(n)) if matches!(op.ops[n], Op::Reduce { .. }) => {
                dropped[k] = true;
                dropped[n] = true;
                outputs.push(data);
            }
            Some(Sink::Output(i)) => {
                dropped[k] = true;
                claimed[i] = Some(data);
                outputs.push(shared);
            }
            _ => {
                return Err(no_gradient(
                    j,
                    "Share",
                    format!(
                        "weight axis `{aname}` is shared into `{}`, which a further view reads (the gradient would need a copy of one index into two axes)",
                        op.dim(shared).name
                    ),
                ));
            }
        }
    }
    let mut draft = Draft {
        vars: op.vars.clone(),
        bindings: op.bindings.clone(),
        dims: op.dims.clone(),
        ops: op
            .ops
            .iter()
            .zip(&dropped)
            .filter(|(_, d)| !**d)
            .map(|(s, _)| s.clone())
            .collect(),
        input: op.input.clone(),
        weights: Vec::new(),
        outputs,
    };
    let mut upstream = Vec::with_capacity(op.outputs.len());
    for (i, &o) in op.outputs.iter().enumerate() {
        let name = op.dim(o).name.clone();
        let g = draft.add_dim(&format!("grad_{name}"), o);
        upstream.push(g);
        match claimed[i] {
            Some(data) => draft.ops.push(Op::Share {
                data,
                weight: g,
                output: o,
            }),
            None => {
                let s = draft.add_dim(&format!("grad_{name}_s"), o);
                draft.ops.push(Op::Share {
                    data: o,
                    weight: g,
                    output: s,
                });
                draft.ops.push(Op::Reduce { input: s });
            }
        }
    }
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
