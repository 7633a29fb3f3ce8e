//! The stage IR: a complete operator as a sequence of contractions, each of at most two
//! operands (the input, weights or earlier stages), with views folded into index maps.
//!
//! The order of the contractions and the early reductions come from the FLOPs-minimising
//! planner of [`kas_primitives::plan`]. Stage `i` computes
//!
//! ```text
//! S_i[o] = Σ_r Π_{x ∈ operands} x[idx_x(o, r)]     (terms whose guards fail are zero)
//! ```
//!
//! where `o` ranges over the stage's result dims and `r` over the reductions it sums. Index
//! expressions use `Iter::Out(i)` for result dim `i` and `Iter::Red(j)` for summed dim `j`.

use crate::error::{Error, Result};
use kas_primitives::expr::pull;
use kas_primitives::plan::{Operand, Plan};
use kas_primitives::{Binding, DimId, Expr, Guard, Iter, Operator, Size};

/// One stage: a contraction of one or two operands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Where each operand comes from.
    pub operands: Vec<Operand>,
    /// For each operand, the index expression of each of its axes.
    pub index: Vec<Vec<Expr>>,
    /// Zero-padding guards of the Unfolds applied in this stage.
    pub guards: Vec<Guard>,
    /// The dims indexing the result, in axis order (the output axes for the last stage).
    pub result_dims: Vec<DimId>,
    /// Their sizes.
    pub result_shape: Vec<Size>,
    /// The reductions summed here.
    pub summed: Vec<DimId>,
    /// Their domains.
    pub summed_sizes: Vec<Size>,
    /// Multiply-accumulates per binding (as planned).
    pub flops: Vec<u128>,
}

/// An operator lowered to stages, for a set of bindings.
#[derive(Debug, Clone, PartialEq)]
pub struct StageIr {
    /// The operator.
    pub op: Operator,
    /// The bindings the plan was chosen for (FLOPs summed over them).
    pub bindings: Vec<Binding>,
    /// The stages in evaluation order; the last produces the output.
    pub stages: Vec<Stage>,
}

impl StageIr {
    /// Lowers `op` with the cheapest plan over its own bindings.
    pub fn lower(op: &Operator) -> Result<StageIr> {
        StageIr::lower_for(op, &op.bindings)
    }

    /// Lowers `op` with the cheapest plan over `bindings`.
    pub fn lower_for(op: &Operator, bindings: &[Binding]) -> Result<StageIr> {
        let plan = Plan::with_bindings(op, bindings)?;
        StageIr::from_plan(op, bindings, &plan)
    }

    /// Lowers `op` along a given plan.
    pub fn from_plan(op: &Operator, bindings: &[Binding], plan: &Plan) -> Result<StageIr> {
        let last = plan.stages.len().saturating_sub(1);
        let mut stages: Vec<Stage> = Vec::with_capacity(plan.stages.len());
        for (i, ps) in plan.stages.iter().enumerate() {
            let result_dims = if i == last {
                let mut want = ps.result_dims.clone();
                let mut outs = op.outputs.clone();
                want.sort();
                outs.sort();
                if want != outs {
                    return Err(Error::Lowering {
                        stage: i,
                        reason: "the last stage does not produce exactly the output axes".into(),
                    });
                }
                op.outputs.clone()
            } else {
                ps.result_dims.clone()
            };
            let mut seeds: Vec<(DimId, Expr)> = result_dims
                .iter()
                .enumerate()
                .map(|(k, &d)| (d, Expr::Iter(Iter::Out(k))))
                .collect();
            seeds.extend(
                ps.summed
                    .iter()
                    .enumerate()
                    .map(|(k, &d)| (d, Expr::Iter(Iter::Red(k)))),
            );
            let (exprs, guards) = pull(op, &seeds, &ps.steps);
            let mut index = Vec::with_capacity(ps.operands.len());
            for operand in &ps.operands {
                let axes: &[DimId] = match *operand {
                    Operand::Tensor(t) => op.tensor_axes(t),
                    Operand::Stage(k) => &stages[k].result_dims,
                };
                let idx = axes
                    .iter()
                    .map(|&d| {
                        exprs[d.index()].clone().ok_or_else(|| Error::Lowering {
                            stage: i,
                            reason: format!(
                                "axis `{}` of an operand is not reached from the stage's loops",
                                op.dim(d).name
                            ),
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                index.push(idx);
            }
            stages.push(Stage {
                operands: ps.operands.clone(),
                index,
                guards,
                result_shape: result_dims.iter().map(|&d| op.size(d)).collect(),
                result_dims,
                summed_sizes: ps.summed.iter().map(|&d| op.size(d)).collect(),
                summed: ps.summed.clone(),
                flops: ps.flops.clone(),
            });
        }
        Ok(StageIr {
            op: op.clone(),
            bindings: bindings.to_vec(),
            stages,
        })
    }

    /// Total multiply-accumulates per binding.
    pub fn flops(&self) -> Vec<u128> {
        (0..self.bindings.len())
            .map(|b| self.stages.iter().map(|s| s.flops[b]).sum())
            .collect()
    }

    /// A readable listing: one block per stage with its operands, index maps, guards and FLOPs
    /// per binding.
    pub fn display(&self) -> String {
        let op = &self.op;
        let vars = &op.vars;
        let mut s = String::new();
        for (i, st) in self.stages.iter().enumerate() {
            let dims = |ds: &[DimId], p: char| -> String {
                ds.iter()
                    .enumerate()
                    .map(|(k, &d)| {
                        format!("{p}{k} = {} < {}", op.dim(d).name, op.size(d).display(vars))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            s.push_str(&format!(
                "stage {i}: result [{}]\n",
                dims(&st.result_dims, 'o')
            ));
            if !st.summed.is_empty() {
                s.push_str(&format!("  sum over [{}]\n", dims(&st.summed, 'r')));
            }
            for (operand, idx) in st.operands.iter().zip(&st.index) {
                let name = operand_name(*operand);
                let parts: Vec<String> = idx.iter().map(|e| e.display(vars)).collect();
                s.push_str(&format!("  reads {name}[{}]\n", parts.join(", ")));
            }
            for g in &st.guards {
                s.push_str(&format!(
                    "  zero unless 0 <= {} < {}\n",
                    g.expr.display(vars),
                    g.bound.display(vars)
                ));
            }
            let fl: Vec<String> = self
                .bindings
                .iter()
                .zip(&st.flops)
                .map(|(b, f)| format!("{}: {f}", b.name))
                .collect();
            s.push_str(&format!("  FLOPs {}\n", fl.join(", ")));
        }
        s
    }
}

/// `in`, `w1`, … for tensors, `s0`, `s1`, … for stage results.
pub fn operand_name(o: Operand) -> String {
    match o {
        Operand::Tensor(0) => "in".into(),
        Operand::Tensor(t) => format!("w{t}"),
        Operand::Stage(k) => format!("s{k}"),
    }
}
