//! Hand-written implementations of the structured linear layers of [`super::linear_ops`],
//! independent of the interpreter: plain loops over the formula in each operator's summary,
//! reading only the variables' values. `X [N, seq_len, H_in]`, output `[N, seq_len, H_out]`.

use super::direct::var;
use crate::operator::Operator;
use crate::size::Binding;
use crate::tensor::Tensor;

/// The sizes `(N, seq_len, H_in, H_out, g)` under `b`.
fn sizes(op: &Operator, b: &Binding) -> (usize, usize, usize, usize, usize) {
    (
        var(op, b, "N"),
        var(op, b, "seq_len"),
        var(op, b, "H_in"),
        var(op, b, "H_out"),
        var(op, b, "g"),
    )
}

/// `Y[n,l,o] = Σ_i X[n,l,i]·W_eff[o,i]` for every `(n, l)`, with `W_eff` given as a function.
fn apply(
    x: &Tensor,
    (n_, l_, hi, ho): (usize, usize, usize, usize),
    w: &dyn Fn(usize, usize) -> f64,
) -> Tensor {
    let mut y = Tensor::zeros(&[n_, l_, ho]);
    for n in 0..n_ {
        for l in 0..l_ {
            for o in 0..ho {
                let mut acc = 0.0;
                for i in 0..hi {
                    acc += x.get(&[n, l, i]) * w(o, i);
                }
                *y.get_mut(&[n, l, o]) = acc;
            }
        }
    }
    y
}

/// Low rank: `A [H_in/g, H_in]`, `B [H_out, H_in/g]`; `W_eff = B·A`.
pub fn low_rank_linear(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, l_, hi, ho, g) = sizes(op, b);
    let (wa, wb) = (&t[1], &t[2]);
    let rank = hi / g;
    let w = |o: usize, i: usize| (0..rank).map(|m| wb.get(&[o, m]) * wa.get(&[m, i])).sum();
    apply(&t[0], (n_, l_, hi, ho), &w)
}

/// Block diagonal: `W [g, H_out/g, H_in/g]`; output feature `γ·H_out/g + o` reads input
/// features `γ·H_in/g + i` only.
pub fn block_diagonal_linear(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, l_, hi, ho, g) = sizes(op, b);
    let wt = &t[1];
    let (bi, bo) = (hi / g, ho / g);
    let w = |o: usize, i: usize| {
        if o / bo == i / bi {
            wt.get(&[o / bo, o % bo, i % bi])
        } else {
            0.0
        }
    };
    apply(&t[0], (n_, l_, hi, ho), &w)
}

/// Kronecker: `A [g, g]`, `B [H_out/g, H_in/g]`; `W_eff[a·H_out/g + β, c·H_in/g + d] =
/// A[a, c]·B[β, d]`.
pub fn kronecker_linear(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, l_, hi, ho, g) = sizes(op, b);
    let (wa, wb) = (&t[1], &t[2]);
    let (bi, bo) = (hi / g, ho / g);
    let w = |o: usize, i: usize| wa.get(&[o / bo, i / bi]) * wb.get(&[o % bo, i % bi]);
    apply(&t[0], (n_, l_, hi, ho), &w)
}

/// Monarch: `R [g, H_out/g, H_in/g]`, `L [H_out/g, g, g]`; `W_eff[j·g + o, γ·H_in/g + i] =
/// L[j, o, γ]·R[γ, j, i]`.
pub fn monarch_linear(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, l_, hi, ho, g) = sizes(op, b);
    let (wr, wl) = (&t[1], &t[2]);
    let bi = hi / g;
    let w = |o: usize, i: usize| {
        let (j, oo, gamma) = (o / g, o % g, i / bi);
        wl.get(&[j, oo, gamma]) * wr.get(&[gamma, j, i % bi])
    };
    apply(&t[0], (n_, l_, hi, ho), &w)
}
