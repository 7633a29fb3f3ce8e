//! Evaluates a stage IR in f64 on the CPU, stage by stage: the check that lowering preserves
//! the operator's value, independent of any target language.

use crate::error::{Error, Result};
use crate::stage::StageIr;
use kas_primitives::plan::Operand;
use kas_primitives::tensor::for_each_index;
use kas_primitives::{Binding, Tensor};

/// Runs every stage of `ir` under `binding` on `tensors` (input, then weights) and returns the
/// last stage's result (the operator's output).
pub fn run_stages(ir: &StageIr, binding: &Binding, tensors: &[Tensor]) -> Result<Tensor> {
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
                    term *= x.get(&idx);
                }
                acc += term;
            });
            out.data[pos] = acc;
            pos += 1;
        });
        results.push(out);
    }
    results.pop().ok_or_else(|| Error::Lowering {
        stage: 0,
        reason: "no stage".into(),
    })
}
