//! Checks a gradient operator against the interpreter in f64: the adjoint identity and central
//! finite differences of a random scalar loss (`docs/ARCHITECTURE.md`, "Gradients").

use super::Gradient;
use crate::error::{Error, Result};
use crate::interp::{interpret, random_inputs};
use crate::operator::Operator;
use crate::size::Binding;
use crate::tensor::Tensor;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// Largest relative error either check accepts (f64 throughout; the sums are exact up to
/// rounding, since the loss is linear in every tensor).
pub const GRAD_TOL: f64 = 1e-9;

/// Coordinates of the differentiated tensor probed by finite differences.
const PROBES: usize = 4;

/// Step of the central differences (a power of two: `x ± h` stays exact for `|x| ≤ 1`).
const STEP: f64 = 0.0625;

/// The two measures of one check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradCheck {
    /// `|⟨G, op(…, T_j, …)⟩ − ⟨grad(G, …), T_j⟩|` over the same sum taken on absolute values.
    pub adjoint: f64,
    /// Largest `|(L(T_j + h e_x) − L(T_j − h e_x)) / 2h − grad[x]|` over the probed `x`,
    /// relative to the gradient's largest element.
    pub finite_diff: f64,
}

impl GradCheck {
    /// Whether both measures are within [`GRAD_TOL`] (NaN fails).
    pub fn passes(&self) -> bool {
        self.adjoint <= GRAD_TOL && self.finite_diff <= GRAD_TOL
    }
}

/// Checks `grad` (a gradient of `op`) under `binding` on random f64 tensors drawn from `seed`.
pub fn check_gradient(
    op: &Operator,
    grad: &Gradient,
    binding: &Binding,
    seed: u64,
) -> Result<GradCheck> {
    let j = grad.tensor;
    if j >= op.tensor_count() {
        return Err(Error::InvalidOperator(format!(
            "gradient of tensor {j}, the operator has {}",
            op.tensor_count()
        )));
    }
    let xs = random_inputs(op, binding, seed, false)?;
    let out_shape = op.concrete(&op.outputs, binding)?;
    let g = Tensor::random(&out_shape, seed.wrapping_add(0x5eed_6a4d));
    let y = interpret(op, binding, &xs)?;
    let lhs = dot(&g, &y);
    let dj = grad.expand(
        binding,
        &interpret(&grad.op, binding, &grad.inputs(binding, &g, &xs)?)?,
    )?;
    if dj.shape != xs[j].shape {
        return Err(Error::TensorShape {
            tensor: j,
            got: dj.shape.clone(),
            expected: xs[j].shape.clone(),
        });
    }
    let rhs = dot(&dj, &xs[j]);
    // The same sum on absolute values bounds the rounding of both sides.
    let abs_xs: Vec<Tensor> = xs.iter().map(abs).collect();
    let scale = dot(&abs(&g), &interpret(op, binding, &abs_xs)?) + 1e-300;
    let adjoint = (lhs - rhs).abs() / scale;
    // Central differences of L = ⟨G, op⟩ along a few coordinates of T_j.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed.wrapping_add(0xfd));
    let gmax = dj.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut finite_diff = 0.0f64;
    let n = xs[j].data.len();
    for _ in 0..PROBES.min(n) {
        let x = rng.random_range(0..n);
        let at = |h: f64| -> Result<f64> {
            let mut ys = xs.clone();
            ys[j].data[x] += h;
            Ok(dot(&g, &interpret(op, binding, &ys)?))
        };
        let fd = (at(STEP)? - at(-STEP)?) / (2.0 * STEP);
        let err = (fd - dj.data[x]).abs() / (gmax + 1e-6);
        finite_diff = if err.is_nan() {
            f64::NAN
        } else {
            finite_diff.max(err)
        };
    }
    Ok(GradCheck {
        adjoint,
        finite_diff,
    })
}

/// Checks `grad` under every binding of `op`; `Err` names the first binding that fails.
pub fn check_all_bindings(
    op: &Operator,
    grad: &Gradient,
    seed: u64,
) -> Result<std::result::Result<(), String>> {
    for (i, b) in op.bindings.iter().enumerate() {
        let c = check_gradient(op, grad, b, seed.wrapping_add(97 * i as u64))?;
        if !c.passes() {
            return Ok(Err(format!(
                "under `{}`: adjoint identity err {:.2e}, finite differences err {:.2e}",
                b.name, c.adjoint, c.finite_diff
            )));
        }
    }
    Ok(Ok(()))
}

fn dot(a: &Tensor, b: &Tensor) -> f64 {
    a.data.iter().zip(&b.data).map(|(x, y)| x * y).sum()
}

fn abs(a: &Tensor) -> Tensor {
    Tensor {
        shape: a.shape.clone(),
        data: a.data.iter().map(|v| v.abs()).collect(),
    }
}
