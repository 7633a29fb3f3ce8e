//! Evaluates a stage IR in f64 on the CPU, stage by stage: the check that lowering preserves
//! the operator's value, independent of any target language.

use crate::error::{Error, Result};
use crate::precision::{Precision, tf32_value};
use crate::schedule::{Schedule, StageSchedule};
use crate::stage::StageIr;
use kas_primitives::plan::Operand;
use kas_primitives::tensor::for_each_index;
use kas_primitives::{Binding, Tensor};

/// Runs every stage of `ir` under `binding` on `tensors` (input, then weights) and returns the
/// last stage's result (the operator's output).
pub fn run_stages(ir: &StageIr, binding: &Binding, tensors: &[Tensor]) -> Result<Tensor> {
    run(ir, binding, tensors, |_, x| x, |_, x| x)
}

/// What `schedule`'s kernels compute at `precision`, up to the order of their f32 sums: every
/// stage's result rounded to the precision's storage ([`Precision::round`]: bf16 at bf16,
/// intermediates and output) and, at TF32, the two operands of each tensor-core stage rounded
/// to TF32 before they multiply. `tensors` must already hold stored values (rounded to bf16 at
/// bf16). Verification compares a kernel with this model when it misses the f64 reference:
/// an operator whose output cancels after a rounded intermediate loses digits at the
/// precision that no kernel can keep (`docs/ARCHITECTURE.md`, "Precision").
pub fn run_stages_stored(
    ir: &StageIr,
    binding: &Binding,
    tensors: &[Tensor],
    schedule: &Schedule,
    precision: Precision,
) -> Result<Tensor> {
    let on_tensor_cores = |i: usize| {
        precision == Precision::Tf32
            && matches!(schedule.stages.get(i), Some(StageSchedule::TensorCore(_)))
    };
    run(
        ir,
        binding,
        tensors,
        |i, x| {
            if on_tensor_cores(i) {
                tf32_value(x as f32) as f64
            } else {
                x
            }
        },
        |_, x| precision.round(x as f32) as f64,
    )
}

/// The stage-by-stage evaluation: `operand(stage, value)` maps each factor before it
/// multiplies, `store(stage, value)` each result element as its buffer keeps it.
fn run(
    ir: &StageIr,
    binding: &Binding,
    tensors: &[Tensor],
    operand: impl Fn(usize, f64) -> f64,
    store: impl Fn(usize, f64) -> f64,
) -> Result<Tensor> {
    let op = &ir.op;
    let mut results: Vec<Tensor> = Vec::with_capacity(ir.stages.len());
    for (i, st) in ir.stages.iter().enumerate() {
        let shape = op.concrete(&st.result_dims, binding)?;
        let red = op.concrete(&st.summed, binding)?;
        let operands: Vec<&Tensor> = st
            .operands
            .iter()
            .map(|o| match *o {
                Operand::Tensor(t) => tensors.get(t).ok_or_else(|| Error::Lowering {
                    stage: i,
                    reason: format!("tensor {t} missing"),
                }),
                Operand::Stage(k) => Ok(&results[k]),
            })
            .collect::<Result<_>>()?;
        let mut out = Tensor::zeros(&shape);
        let mut pos = 0usize;
        let mut idx: Vec<usize> = Vec::new();
        for_each_index(&shape, |o| {
            let outs: Vec<i64> = o.iter().map(|&x| x as i64).collect();
            let mut acc = 0.0;
            for_each_index(&red, |r| {
                let reds: Vec<i64> = r.iter().map(|&x| x as i64).collect();
                for g in &st.guards {
                    let v = g.expr.eval(binding, &outs, &reds);
                    let n = g.bound.eval(binding).unwrap_or(0) as i64;
                    if v < 0 || v >= n {
                        return;
                    }
                }
                let mut term = 1.0;
                for (x, exprs) in operands.iter().zip(&st.index) {
                    idx.clear();
                    idx.extend(exprs.iter().map(|e| e.eval(binding, &outs, &reds) as usize));
                    term *= operand(i, x.get(&idx));
                }
                acc += term;
            });
            out.data[pos] = store(i, acc);
            pos += 1;
        });
        results.push(out);
    }
    results.pop().ok_or_else(|| Error::Lowering {
        stage: 0,
        reason: "no stage".into(),
    })
}
