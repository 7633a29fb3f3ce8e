//! The gradient with respect to a weight: the same input and views, the upstream gradient as
//! the first weight shared with every old output axis, the weight's axes as outputs
//! (`docs/ARCHITECTURE.md`, "Gradients").

use super::assemble::{Draft, remap};
use super::{Gradient, Operand, Role, no_gradient};
use crate::error::{Error, Result};
use crate::graph::{DimId, Op, Sink, Source};
use crate::operator::Operator;

/// Builds `∂⟨G, op⟩/∂T_j` for a weight `j ≥ 1`: input `T_0`, weights `G` then the other
/// weights in order, output the axes of `T_j`.
pub(crate) fn weight_gradient(op: &Operator, j: usize) -> Result<Gradient> {
    match build(op, j, false) {
        Err(e @ Error::NoGradient { .. }) => match peel_output_merges(op)? {
            Some(peeled) => build(&peeled, j, true).map_err(|_| e),
            None => Err(e),
        },
        other => other,
    }
}

/// `op` with every output axis that a Merge makes replaced by the Merge's two sides (`None`
/// when there is none): the same values in the same row-major order, so the upstream gradient
/// is only reshaped.
fn peel_output_merges(op: &Operator) -> Result<Option<Operator>> {
    let mut outputs = op.outputs.clone();
    let mut removed = vec![false; op.ops.len()];
    let mut i = 0;
    while i < outputs.len() {
        if let Source::Op(k) = op.dim(outputs[i]).source
            && let Op::Merge { outer, inner, .. } = op.ops[k]
        {
            outputs.splice(i..=i, [outer, inner]);
            removed[k] = true;
            // `outer` may itself be a Merge's.
            continue;
        }
        i += 1;
    }
    if !removed.contains(&true) {
        return Ok(None);
    }
    let draft = Draft {
        vars: op.vars.clone(),
        bindings: op.bindings.clone(),
        dims: op.dims.clone(),
        ops: op
            .ops
            .iter()
            .zip(&removed)
            .filter(|(_, r)| !**r)
            .map(|(s, _)| s.clone())
            .collect(),
        input: op.input.clone(),
        weights: op.weights.clone(),
        outputs,
    };
    draft.finish().map(Some)
}

/// The weight gradient of `op`, whose upstream gradient is read `reshaped`.
fn build(op: &Operator, j: usize, reshaped: bool) -> Result<Gradient> {
    let w = j - 1;
    let mut draft = Draft {
        vars: op.vars.clone(),
        bindings: op.bindings.clone(),
        dims: op.dims.clone(),
        ops: Vec::new(),
        input: op.input.clone(),
        weights: Vec::new(),
        outputs: Vec::new(),
    };
    // `G`'s axes, and the dims where `G` meets each old output.
    let mut upstream = Vec::with_capacity(op.outputs.len());
    let mut met = Vec::with_capacity(op.outputs.len());
    for &o in &op.outputs {
        let name = op.dim(o).name.clone();
        upstream.push(draft.add_dim(&format!("grad_{name}"), o));
        met.push(draft.add_dim(&format!("grad_{name}_s"), o));
    }
    let mut walk = Walk {
        op,
        j,
        w,
        dropped: vec![false; op.ops.len()],
        rename: (0..op.dims.len() as u32).map(DimId).collect(),
        claimed: vec![false; op.outputs.len()],
        met: &met,
        draft: &mut draft,
        rebuilt: Vec::new(),
    };
    let mut outputs = Vec::new();
    for &a in &op.weights[w] {
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
        // The Share goes: what it produced is its data side from now on.
        walk.dropped[k] = true;
        walk.rename[shared.index()] = data;
        outputs.push(walk.follow(shared, aname)?);
    }
    let Walk {
        dropped,
        rename,
        claimed,
        rebuilt,
        ..
    } = walk;
    let r = |d: DimId| rename.get(d.index()).copied().unwrap_or(d);
    draft.ops = op
        .ops
        .iter()
        .zip(&dropped)
        .filter(|(_, d)| !**d)
        .map(|(s, _)| s.clone())
        .chain(rebuilt)
        .map(|s| remap(&s, r))
        .collect();
    for (i, &o) in op.outputs.iter().enumerate() {
        draft.ops.push(Op::Share {
            data: r(o),
            weight: upstream[i],
            output: met[i],
        });
        if !claimed[i] {
            draft.ops.push(Op::Reduce { input: met[i] });
        }
    }
    draft.outputs = outputs.into_iter().map(r).collect();
    draft.weights.push(upstream);
    let mut roles = vec![
        Role {
            tensor: Operand::Forward(0),
            flipped: Vec::new(),
            reshaped: false,
        },
        Role {
            tensor: Operand::Upstream,
            flipped: Vec::new(),
            reshaped,
        },
    ];
    for (t, axes) in op.weights.iter().enumerate() {
        if t != w {
            draft.weights.push(axes.clone());
            roles.push(Role {
                tensor: Operand::Forward(t + 1),
                flipped: Vec::new(),
                reshaped: false,
            });
        }
    }
    Ok(Gradient {
        strided: Vec::new(),
        tensor: j,
        op: draft.finish()?,
        roles,
    })
}

/// Follows the index a weight axis read, downstream, to the dims the gradient's output axis is
/// made of.
struct Walk<'a> {
    op: &'a Operator,
    j: usize,
    w: usize,
    /// Forward steps that go.
    dropped: Vec<bool>,
    /// Forward dims renamed (a dropped Share's output to its data side).
    rename: Vec<DimId>,
    /// Old outputs the index reaches (`G` meets them and the result is not summed).
    claimed: Vec<bool>,
    /// Per old output, the dim where `G` meets it.
    met: &'a [DimId],
    draft: &'a mut Draft,
    /// New steps that put the output axis back together.
    rebuilt: Vec<Op>,
}

impl Walk<'_> {
    /// The dim that carries the index of `cur` to the gradient's output: further Shares with
    /// other weights stay; a Reduce goes (the summed dim is the index); an old output is met
    /// by `G`; a Split's two sides are merged back and a Shift shifted back.
    fn follow(&mut self, cur: DimId, aname: &str) -> Result<DimId> {
        let op = self.op;
        let further = || {
            no_gradient(
                self.j,
                "Share",
                format!(
                    "weight axis `{aname}` is shared into an index that a Merge, Stride or Unfold reads (the gradient would need a copy of one index into two axes)"
                ),
            )
        };
        match op.dim(cur).sink {
            Some(Sink::Output(i)) => {
                if std::mem::replace(&mut self.claimed[i], true) {
                    return Err(further());
                }
                Ok(self.met[i])
            }
            Some(Sink::Op(n)) => match op.ops[n] {
                Op::Reduce { .. } => {
                    self.dropped[n] = true;
                    Ok(cur)
                }
                Op::Share {
                    data,
                    weight: other,
                    output,
                } if data == cur => {
                    if matches!(op.dim(other).source, Source::Weight { weight, .. } if weight == self.w)
                    {
                        return Err(no_gradient(
                            self.j,
                            "Share",
                            format!(
                                "weight axes `{aname}` and `{}` read one index (the gradient would copy it into two axes)",
                                op.dim(other).name
                            ),
                        ));
                    }
                    self.follow(output, aname)
                }
                Op::Split { outer, inner, .. } => {
                    let outer = self.follow(outer, aname)?;
                    let inner = self.follow(inner, aname)?;
                    let name = format!("grad_{}", op.dim(cur).name);
                    let output = self.draft.add_dim(&name, cur);
                    self.rebuilt.push(Op::Merge {
                        outer,
                        inner,
                        output,
                    });
                    Ok(output)
                }
                Op::Shift { output, offset, .. } => {
                    let shifted = self.follow(output, aname)?;
                    let name = format!("grad_{}", op.dim(cur).name);
                    let back = self.draft.add_dim(&name, cur);
                    let offset = offset.checked_neg().ok_or_else(|| {
                        no_gradient(
                            self.j,
                            "Shift",
                            format!("offset {offset} has no negation in i64"),
                        )
                    })?;
                    self.rebuilt.push(Op::Shift {
                        input: shifted,
                        output: back,
                        offset,
                    });
                    Ok(back)
                }
                _ => Err(further()),
            },
            None => Err(further()),
        }
    }
}
