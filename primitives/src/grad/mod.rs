//! Gradient operators: the derivative of a kas operator with respect to each of its tensors,
//! itself a kas [`Operator`] (`docs/ARCHITECTURE.md`, "Gradients").
//!
//! An operator is linear in each tensor, so for a scalar loss `L = ⟨G, op(T_0, …, T_k)⟩`
//! (`G` the upstream gradient, shaped like the output) the gradient `∂L/∂T_j` is
//!
//! ```text
//! ∂L/∂T_j[x] = Σ_{(o, r) : idx_j(o, r) = x} G[o] · Π_{t ≠ j} T_t[idx_t(o, r)]
//! ```
//!
//! which is again a sum of products over the same index relations, read in another direction.
//! [`gradient`] builds it as an operator of the algebra, so the interpreter, the planner, the
//! stage IR, code generation and the tuner all work on it unchanged. Its tensors, in order,
//! are described by [`Gradient::roles`]:
//!
//! - `∂/∂T_0`: input `G`, then the forward weights in order (some axes read reversed, see
//!   [`Role::flipped`]); output shaped like `T_0`.
//! - `∂/∂T_j`, `j ≥ 1`: input `T_0`, then `G` as the first weight, then the other weights in
//!   order; output shaped like `T_j`. Output axes made by Merges are first taken apart (the
//!   Merge's two sides become output axes), so `G` is read reshaped ([`Role::reshaped`]).
//!
//! A Stride straight on an input axis makes the input gradient's axis there the strided one
//! ([`Gradient::strided`], [`Gradient::expand`] puts the zeros between). Where a step has no
//! adjoint in the algebra (a Stride further along the input's path; an Unfold whose
//! window is not summed; a weight axis whose index a Merge, Stride or Unfold reads further)
//! the result is [`Error::NoGradient`] naming the primitive.

mod assemble;
mod check;
mod input;
mod weight;

#[cfg(test)]
mod tests;

pub use check::{GRAD_TOL, GradCheck, check_all_bindings, check_gradient};

use crate::error::{Error, Result};
use crate::operator::Operator;
use crate::size::{Binding, Size};
use crate::tensor::{Tensor, for_each_index};

/// Where a tensor of a gradient operator comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    /// The upstream gradient `G` (shaped like the forward operator's output).
    Upstream,
    /// Tensor `t` of the forward operator (0 = input, `1..` = weights).
    Forward(usize),
}

/// One tensor of a gradient operator: where it comes from and which of its axes are read
/// reversed (index `i` of an axis of extent `n` holds the source's `n − 1 − i`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Its source.
    pub tensor: Operand,
    /// Axes (positions in the tensor) reversed before the gradient operator reads it, in
    /// increasing order. Empty except for weights read by a transposed Unfold.
    pub flipped: Vec<usize>,
    /// Read with the gradient operator's shape for it: the same elements in the same
    /// row-major order, some axes split (a free reshape; the upstream gradient of an operator
    /// whose output axes are Merges, see [`gradient`]).
    pub reshaped: bool,
}

/// The gradient of an operator with respect to one tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gradient {
    /// Which forward tensor it differentiates (0 = input, `1..` = weights).
    pub tensor: usize,
    /// The gradient operator: its output is `∂⟨G, op⟩/∂T_tensor`.
    pub op: Operator,
    /// One role per tensor of `op` (input first, then its weights).
    pub roles: Vec<Role>,
    /// Output axes that hold only every `stride`-th element of the differentiated tensor's
    /// axis (a Stride straight on an input axis): the elements between are zero and left to
    /// the caller ([`Gradient::expand`]). Positions in increasing order; empty for weights.
    pub strided: Vec<(usize, Size)>,
}

impl Gradient {
    /// The gradient operator's tensors under `binding`, from the upstream gradient and the
    /// forward operator's tensors (input first): each picked by its role, reshaped and flipped
    /// where the role says.
    pub fn inputs(
        &self,
        binding: &Binding,
        upstream: &Tensor,
        forward: &[Tensor],
    ) -> Result<Vec<Tensor>> {
        self.roles
            .iter()
            .enumerate()
            .map(|(t, r)| {
                let src = match r.tensor {
                    Operand::Upstream => upstream,
                    Operand::Forward(t) => forward.get(t).ok_or_else(|| {
                        Error::InvalidOperator(format!(
                            "gradient reads forward tensor {t}, {} given",
                            forward.len()
                        ))
                    })?,
                };
                let mut x = src.clone();
                if r.reshaped {
                    let shape = self.op.concrete(self.op.tensor_axes(t), binding)?;
                    if shape.iter().product::<usize>() != x.data.len() {
                        return Err(Error::TensorShape {
                            tensor: t,
                            got: x.shape,
                            expected: shape,
                        });
                    }
                    x.shape = shape;
                }
                for &axis in &r.flipped {
                    x = flip(&x, axis)?;
                }
                Ok(x)
            })
            .collect()
    }
}

impl Gradient {
    /// The gradient operator's output `out` under `binding` as the full gradient: every
    /// [`Gradient::strided`] axis spread to `stride` times its extent with zeros between.
    pub fn expand(&self, binding: &Binding, out: &Tensor) -> Result<Tensor> {
        if self.strided.is_empty() {
            return Ok(out.clone());
        }
        let mut shape = out.shape.clone();
        let mut factor = vec![1usize; shape.len()];
        for &(p, stride) in &self.strided {
            let s = stride.eval(binding).ok_or_else(|| Error::IllegalSize {
                size: stride.display(&self.op.vars),
                reason: format!("not a positive integer under binding `{}`", binding.name),
            })? as usize;
            let Some(n) = shape.get_mut(p) else {
                return Err(Error::InvalidOperator(format!(
                    "strided axis {p} of a rank-{} gradient",
                    out.shape.len()
                )));
            };
            *n *= s;
            factor[p] = s;
        }
        let mut full = Tensor::zeros(&shape);
        let mut k = 0usize;
        let mut at = vec![0usize; shape.len()];
        for_each_index(&out.shape, |idx| {
            for (a, (&i, &f)) in idx.iter().zip(&factor).enumerate() {
                at[a] = i * f;
            }
            *full.get_mut(&at) = out.data[k];
            k += 1;
        });
        Ok(full)
    }
}

/// The gradient operator of `op` with respect to tensor `tensor` (0 = input, `1..` = weights).
pub fn gradient(op: &Operator, tensor: usize) -> Result<Gradient> {
    if tensor >= op.tensor_count() {
        return Err(Error::InvalidOperator(format!(
            "tensor {tensor} asked for, the operator has {}",
            op.tensor_count()
        )));
    }
    if tensor == 0 {
        input::input_gradient(op)
    } else {
        weight::weight_gradient(op, tensor)
    }
}

/// The gradient operators of `op` for every tensor, input first.
pub fn gradients(op: &Operator) -> Vec<Result<Gradient>> {
    (0..op.tensor_count()).map(|t| gradient(op, t)).collect()
}

/// The typed refusal for a step without an adjoint in the algebra.
pub(crate) fn no_gradient(tensor: usize, primitive: &'static str, reason: String) -> Error {
    Error::NoGradient {
        tensor,
        primitive,
        reason,
    }
}

/// `x` with axis `axis` reversed.
fn flip(x: &Tensor, axis: usize) -> Result<Tensor> {
    let Some(&n) = x.shape.get(axis) else {
        return Err(Error::InvalidOperator(format!(
            "cannot flip axis {axis} of a rank-{} tensor",
            x.shape.len()
        )));
    };
    let mut out = Tensor::zeros(&x.shape);
    let mut k = 0usize;
    let mut src = vec![0usize; x.shape.len()];
    for_each_index(&x.shape, |idx| {
        src.copy_from_slice(idx);
        src[axis] = n - 1 - idx[axis];
        out.data[k] = x.get(&src);
        k += 1;
    });
    Ok(out)
}
