//! Structured replacements of a dense linear layer `[N, seq_len, H_in] → [N, seq_len, H_out]`
//! (the projections of a transformer block): a low-rank product, a block-diagonal layer, a
//! Kronecker product and a Monarch-style product of two block-diagonal factors with a
//! transposition between them. `g` is the coefficient each is parameterised by (the rank's
//! divisor, the group count, a Kronecker factor's side, the number of Monarch blocks). Weight
//! layouts are documented on the matching functions of [`super::direct_linear`].

use super::{builder, names};
use crate::builder::{Axis, Builder};
use crate::error::Result;
use crate::graph::DimId;
use crate::operator::Operator;
use crate::size::VarTable;

/// A builder over `N, seq_len, H_in, H_out` and `g` with two odd-sized test bindings, and the
/// input's three dims (the feature axis unordered).
fn linear_builder(bindings: &[(&str, &[(&str, u64)])]) -> Result<(Builder, [DimId; 3])> {
    let vars = VarTable::from_specs(&["N", "seq_len", "H_in", "H_out"], &["g=2"])?;
    let mut b = builder(vars, bindings)?;
    let [n, l, x] = b.input(["N", "seq_len", "H_in"])?[..] else {
        unreachable!()
    };
    b.set_unordered(x)?;
    Ok((b, [n, l, x]))
}

/// Low rank: `Y[n,l,o] = Σ_{i,m} X[n,l,i]·A[m,i]·B[o,m]`, rank `m < H_in/g`.
pub(super) fn low_rank_linear() -> Result<Operator> {
    let (mut b, [n, l, x]) = linear_builder(&[
        (
            "g2-6x5",
            &[("N", 2), ("seq_len", 3), ("H_in", 6), ("H_out", 5)],
        ),
        (
            "g3-9x4",
            &[
                ("N", 1),
                ("seq_len", 2),
                ("H_in", 9),
                ("H_out", 4),
                ("g", 3),
            ],
        ),
    ])?;
    let a = b.contract(&[Axis::Create("H_in/g".into()), Axis::Share(x)])?;
    b.reduce(a[1])?;
    let s = b.contract(&[Axis::Create("H_out".into()), Axis::Share(a[0])])?;
    b.reduce(s[1])?;
    names(
        &mut b,
        &[
            (n, "n"),
            (l, "l"),
            (x, "h_in"),
            (a[0], "rank"),
            (s[0], "h_out"),
        ],
    )?;
    b.finish(&[n, l, s[0]])
}

/// Block diagonal, `g` groups: `Y[n,l,γ·H_out/g+o] = Σ_i X[n,l,γ·H_in/g+i]·W[γ,o,i]`.
pub(super) fn block_diagonal_linear() -> Result<Operator> {
    let (mut b, [n, l, x]) = linear_builder(&[
        (
            "g3-6x9",
            &[
                ("N", 2),
                ("seq_len", 3),
                ("H_in", 6),
                ("H_out", 9),
                ("g", 3),
            ],
        ),
        (
            "g2-8x4",
            &[("N", 1), ("seq_len", 2), ("H_in", 8), ("H_out", 4)],
        ),
    ])?;
    let (group, i) = b.split(x, "H_in/g")?;
    let w = b.contract(&[
        Axis::Share(group),
        Axis::Create("H_out/g".into()),
        Axis::Share(i),
    ])?;
    b.reduce(w[2])?;
    let o = b.merge(w[0], w[1])?;
    names(
        &mut b,
        &[
            (n, "n"),
            (l, "l"),
            (x, "h_in"),
            (group, "group"),
            (i, "i"),
            (w[1], "o"),
            (o, "h_out"),
        ],
    )?;
    b.finish(&[n, l, o])
}

/// Kronecker product `W = A ⊗ B`: `Y[n,l,a·H_out/g+β] = Σ_{c,d} X[n,l,c·H_in/g+d]·A[a,c]·B[β,d]`,
/// `a, c < g`.
pub(super) fn kronecker_linear() -> Result<Operator> {
    let (mut b, [n, l, x]) = linear_builder(&[
        (
            "g2-6x10",
            &[("N", 2), ("seq_len", 3), ("H_in", 6), ("H_out", 10)],
        ),
        (
            "g3-9x6",
            &[
                ("N", 1),
                ("seq_len", 2),
                ("H_in", 9),
                ("H_out", 6),
                ("g", 3),
            ],
        ),
    ])?;
    let (c, d) = b.split(x, "H_in/g")?;
    let wa = b.contract(&[Axis::Create("g".into()), Axis::Share(c)])?;
    b.reduce(wa[1])?;
    let wb = b.contract(&[Axis::Create("H_out/g".into()), Axis::Share(d)])?;
    b.reduce(wb[1])?;
    let o = b.merge(wa[0], wb[0])?;
    names(
        &mut b,
        &[
            (n, "n"),
            (l, "l"),
            (x, "h_in"),
            (c, "c"),
            (d, "d"),
            (wa[0], "a"),
            (wb[0], "beta"),
            (o, "h_out"),
        ],
    )?;
    b.finish(&[n, l, o])
}

/// Monarch-style product of two block-diagonal factors: `g` blocks of `R` map each input block
/// to `H_out/g` features, then `H_out/g` blocks of `L` mix the `g` blocks:
/// `Y[n,l,j·g+o] = Σ_{γ,i} X[n,l,γ·H_in/g+i]·R[γ,j,i]·L[j,o,γ]`, `γ, o < g`, `j < H_out/g`.
pub(super) fn monarch_linear() -> Result<Operator> {
    let (mut b, [n, l, x]) = linear_builder(&[
        (
            "g2-6x8",
            &[("N", 2), ("seq_len", 3), ("H_in", 6), ("H_out", 8)],
        ),
        (
            "g3-9x6",
            &[
                ("N", 1),
                ("seq_len", 2),
                ("H_in", 9),
                ("H_out", 6),
                ("g", 3),
            ],
        ),
    ])?;
    let (group, i) = b.split(x, "H_in/g")?;
    let r = b.contract(&[
        Axis::Share(group),
        Axis::Create("H_out/g".into()),
        Axis::Share(i),
    ])?;
    b.reduce(r[2])?;
    let m = b.contract(&[
        Axis::Share(r[1]),
        Axis::Create("g".into()),
        Axis::Share(r[0]),
    ])?;
    b.reduce(m[2])?;
    let o = b.merge(m[0], m[1])?;
    names(
        &mut b,
        &[
            (n, "n"),
            (l, "l"),
            (x, "h_in"),
            (group, "group"),
            (i, "i"),
            (m[0], "j"),
            (m[1], "o"),
            (o, "h_out"),
        ],
    )?;
    b.finish(&[n, l, o])
}
