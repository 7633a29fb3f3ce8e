//! The reference interpreter: the oracle every backend is checked against.
//!
//! It evaluates, straight from the semantics contract,
//!
//! ```text
//! out[o] = Σ_{r ∈ R} Π_t T_t[ idx_t(o, r) ]
//! ```
//!
//! with naive loops and f64 accumulation. For each point `(o, r)` it walks the primitive steps
//! from the output side up (pull semantics), computing the index of every dimension; a term
//! whose Unfold index falls outside `[0, N)` is zero. Obviously correct rather than fast.

use crate::error::{Error, Result};
use crate::graph::Op;
use crate::operator::Operator;
use crate::size::Binding;
use crate::tensor::{Tensor, for_each_index};

/// Most loop iterations (output points × reduction points) the interpreter accepts.
pub const MAX_POINTS: u128 = 20_000_000_000;

/// Evaluates `op` under `binding` on `tensors` (input first, then each weight).
pub fn interpret(op: &Operator, binding: &Binding, tensors: &[Tensor]) -> Result<Tensor> {
    if tensors.len() != op.tensor_count() {
        return Err(Error::InvalidOperator(format!(
            "{} tensors given, the operator takes {}",
            tensors.len(),
            op.tensor_count()
        )));
    }
    for (t, x) in tensors.iter().enumerate() {
        let expected = op.concrete(op.tensor_axes(t), binding)?;
        if x.shape != expected {
            return Err(Error::TensorShape {
                tensor: t,
                got: x.shape.clone(),
                expected,
            });
        }
    }
    let size: Vec<i64> = op
        .dims
        .iter()
        .map(|d| {
            d.size
                .eval(binding)
                .map(|v| v as i64)
                .ok_or_else(|| Error::IllegalSize {
                    size: d.size.display(&op.vars),
                    reason: format!("not a positive integer under binding `{}`", binding.name),
                })
        })
        .collect::<Result<_>>()?;
    let out_shape = op.concrete(&op.outputs, binding)?;
    let reds = op.reductions();
    let red_shape = op.concrete(&reds, binding)?;
    let points = out_shape
        .iter()
        .chain(&red_shape)
        .fold(1u128, |a, &x| a.saturating_mul(x as u128));
    if points > MAX_POINTS {
        return Err(Error::TooLarge(format!(
            "{points} loop iterations under binding `{}`",
            binding.name
        )));
    }
    let strides: Vec<Vec<usize>> = tensors.iter().map(Tensor::strides).collect();
    let mut out = Tensor::zeros(&out_shape);
    let mut val = vec![0i64; op.dims.len()];
    let mut k = 0usize;
    for_each_index(&out_shape, |o| {
        let mut acc = 0.0f64;
        for_each_index(&red_shape, |r| {
            for (i, &d) in op.outputs.iter().enumerate() {
                val[d.index()] = o[i] as i64;
            }
            for (i, &d) in reds.iter().enumerate() {
                val[d.index()] = r[i] as i64;
            }
            if !pull(op, &size, &mut val) {
                return;
            }
            let mut term = 1.0f64;
            for (t, x) in tensors.iter().enumerate() {
                let mut off = 0usize;
                for (a, &d) in op.tensor_axes(t).iter().enumerate() {
                    off += val[d.index()] as usize * strides[t][a];
                }
                term *= x.data[off];
            }
            acc += term;
        });
        out.data[k] = acc;
        k += 1;
    });
    Ok(out)
}

/// Computes every dim's index from the output-side ones; `false` if an Unfold index falls
/// outside its range (the term is zero).
fn pull(op: &Operator, size: &[i64], val: &mut [i64]) -> bool {
    for step in op.ops.iter().rev() {
        match *step {
            Op::Split {
                input,
                outer,
                inner,
            } => {
                val[input.index()] = val[outer.index()] * size[inner.index()] + val[inner.index()];
            }
            Op::Merge {
                outer,
                inner,
                output,
            } => {
                let b = size[inner.index()];
                val[outer.index()] = val[output.index()].div_euclid(b);
                val[inner.index()] = val[output.index()].rem_euclid(b);
            }
            Op::Shift {
                input,
                output,
                offset,
            } => {
                // Reduce the offset first: `i + offset` may overflow for extreme offsets.
                let n = size[input.index()];
                val[input.index()] = (val[output.index()] + offset.rem_euclid(n)).rem_euclid(n);
            }
            Op::Stride { input, output, .. } => {
                let s = size[input.index()] / size[output.index()];
                val[input.index()] = s * val[output.index()];
            }
            Op::Unfold {
                input,
                main,
                window,
            } => {
                let v = val[main.index()] + val[window.index()] - size[window.index()] / 2;
                if v < 0 || v >= size[input.index()] {
                    return false;
                }
                val[input.index()] = v;
            }
            Op::Expand { .. } | Op::Reduce { .. } => {}
            Op::Share {
                data,
                weight,
                output,
            } => {
                val[data.index()] = val[output.index()];
                val[weight.index()] = val[output.index()];
            }
        }
    }
    true
}

/// Random inputs for every tensor of `op` under `binding` (seeds `seed`, `seed + 1`, …).
pub fn random_inputs(
    op: &Operator,
    binding: &Binding,
    seed: u64,
    ints: bool,
) -> Result<Vec<Tensor>> {
    (0..op.tensor_count())
        .map(|t| {
            let shape = op.concrete(op.tensor_axes(t), binding)?;
            let s = seed.wrapping_add(t as u64);
            Ok(if ints {
                Tensor::random_int(&shape, s)
            } else {
                Tensor::random(&shape, s)
            })
        })
        .collect()
}
