//! The gradient with respect to the input tensor: every data step reversed, the upstream
//! gradient in the input's place (`docs/ARCHITECTURE.md`, "Gradients").

use super::{Gradient, Operand, Role, no_gradient};
use crate::error::Result;
use crate::graph::{DimId, Op, Sink, Source};
use crate::operator::Operator;

use super::assemble::Draft;

/// Builds `∂⟨G, op⟩/∂T_0`: input `G` (the old output axes), the same weights, output the old
/// input axes.
pub(crate) fn input_gradient(op: &Operator) -> Result<Gradient> {
    let sink_step = |d: DimId| -> Option<usize> {
        match op.dim(d).sink {
            Some(Sink::Op(k)) => Some(k),
            _ => None,
        }
    };
    // An Unfold turns around with its window flipped: the window's own branch (Shares with
    // weight axes, then a Reduce) keeps its direction and those weight axes are read reversed.
    let mut kept = vec![false; op.ops.len()];
    let mut flipped: Vec<Vec<usize>> = vec![Vec::new(); op.weights.len()];
    for step in &op.ops {
        let Op::Unfold { window, .. } = *step else {
            continue;
        };
        let name = &op.dim(window).name;
        let bad = || {
            no_gradient(
                0,
                "Unfold",
                format!(
                    "window `{name}` is not summed over, directly or after Shares with weight axes (its transpose would read it reversed)"
                ),
            )
        };
        // A chain of Shares with weight axes (each read reversed), then a Reduce.
        let mut cur = window;
        let mut chain = Vec::new();
        loop {
            let k = sink_step(cur).ok_or_else(bad)?;
            match op.ops[k] {
                Op::Reduce { .. } => {
                    chain.push((k, None));
                    break;
                }
                Op::Share {
                    data,
                    weight,
                    output,
                } if data == cur => {
                    let Source::Weight { weight: w, axis } = op.dim(weight).source else {
                        return Err(bad());
                    };
                    chain.push((k, Some((w, axis))));
                    cur = output;
                }
                _ => return Err(bad()),
            }
        }
        for (k, flip) in chain {
            kept[k] = true;
            if let Some((w, axis)) = flip {
                flipped[w].push(axis);
            }
        }
    }
    let mut ops = Vec::with_capacity(op.ops.len());
    let mut outputs = op.input.clone();
    let mut strided = Vec::new();
    for (k, step) in op.ops.iter().enumerate() {
        if kept[k] {
            ops.push(step.clone());
            continue;
        }
        ops.push(match *step {
            Op::Split {
                input,
                outer,
                inner,
            } => Op::Merge {
                outer,
                inner,
                output: input,
            },
            Op::Merge {
                outer,
                inner,
                output,
            } => Op::Split {
                input: output,
                outer,
                inner,
            },
            Op::Shift {
                input,
                output,
                offset,
            } => Op::Shift {
                input: output,
                output: input,
                offset: offset.checked_neg().ok_or_else(|| {
                    no_gradient(
                        0,
                        "Shift",
                        format!("offset {offset} has no negation in i64"),
                    )
                })?,
            },
            Op::Stride {
                input,
                output,
                stride,
            } => {
                // On an input axis the transpose's zeros are left to the caller: the gradient's
                // axis there is the strided one (`Gradient::strided`).
                let Source::Input(p) = op.dim(input).source else {
                    return Err(no_gradient(
                        0,
                        "Stride",
                        "its transpose puts zeros between the elements, which no primitive expresses (only a Stride straight on an input axis is left to the caller)"
                            .into(),
                    ));
                };
                outputs[p] = output;
                strided.push((p, stride));
                continue;
            }
            Op::Unfold {
                input,
                main,
                window,
            } => Op::Unfold {
                input: main,
                main: input,
                window,
            },
            Op::Expand { output } => Op::Reduce { input: output },
            Op::Reduce { input } => Op::Expand { output: input },
            Op::Share {
                data,
                weight,
                output,
            } => Op::Share {
                data: output,
                weight,
                output: data,
            },
        });
    }
    let draft = Draft {
        vars: op.vars.clone(),
        bindings: op.bindings.clone(),
        dims: op.dims.clone(),
        ops,
        input: op.outputs.clone(),
        weights: op.weights.clone(),
        outputs,
    };
    let grad = draft.finish()?;
    let mut roles = vec![Role {
        tensor: Operand::Upstream,
        flipped: Vec::new(),
        reshaped: false,
    }];
    for (w, mut axes) in flipped.into_iter().enumerate() {
        axes.sort_unstable();
        roles.push(Role {
            tensor: Operand::Forward(w + 1),
            flipped: axes,
            reshaped: false,
        });
    }
    strided.sort_unstable_by_key(|(p, _)| *p);
    Ok(Gradient {
        tensor: 0,
        op: grad,
        roles,
        strided,
    })
}
