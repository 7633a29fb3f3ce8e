//! Builders of operators discovered by Syno (`docs/ARCHITECTURE.md`, "Syno's operators"):
//! Operator 1, Operator 2 and the GPT-2 QKV tied-weight operator.
//!
//! As in Syno, the spatial axes of Operators 1 and 2 both have the single size `H`. Weight
//! layouts are documented on the matching functions of [`super::direct_syno`].

use super::{builder, names};
use crate::builder::Axis;
use crate::error::Result;
use crate::operator::Operator;
use crate::size::VarTable;

/// Test bindings of Operators 1 and 2 (`m = C_out/(g·s)`, `C_in/g` channels per group).
const SYNO_BINDINGS: [(&str, &[(&str, u64)]); 2] = [
    (
        "g3-s2-m2-h5",
        &[
            ("N", 1),
            ("C_in", 6),
            ("C_out", 12),
            ("H", 5),
            ("g", 3),
            ("s", 2),
        ],
    ),
    (
        "g3-s1-m3-h4",
        &[
            ("N", 1),
            ("C_in", 9),
            ("C_out", 9),
            ("H", 4),
            ("g", 3),
            ("s", 1),
        ],
    ),
];

fn syno_vars() -> Result<VarTable> {
    VarTable::from_specs(&["N", "C_in", "C_out", "H"], &["k=3", "s=2", "g=32"])
}

/// Syno's Operator 1: weights `B [C_in, k, m]` (attached first) and `A [g, k, k, C_out, m]`,
/// `m = C_out/(g·s)`.
pub(super) fn syno_op1() -> Result<Operator> {
    let mut b = builder(syno_vars()?, &SYNO_BINDINGS)?;
    let [n, c, h, w] = b.input(["N", "C_in", "H", "H"])?[..] else {
        unreachable!()
    };
    b.set_unordered(c)?;
    let (ho, kh) = b.unfold(h, "k")?;
    let (wo, kw) = b.unfold(w, "k")?;
    // B[γ·C_in/g + c, b, μ]: channel compression keeping the W tap.
    let sb = b.contract(&[
        Axis::Share(c),
        Axis::Share(kw),
        Axis::Create("C_out/(g*s)".into()),
    ])?;
    let (grp, ci) = b.split(sb[0], "C_in/g")?;
    b.reduce(ci)?;
    // A[γ, a, b, o, μ]: k×k conv over the g·m compressed channels, reusing the tap b.
    let sa = b.contract(&[
        Axis::Share(grp),
        Axis::Share(kh),
        Axis::Share(sb[1]),
        Axis::Create("C_out".into()),
        Axis::Share(sb[2]),
    ])?;
    for i in [0, 1, 2, 4] {
        b.reduce(sa[i])?;
    }
    b.set_unordered(sa[3])?;
    names(
        &mut b,
        &[
            (n, "n"),
            (c, "c_in"),
            (h, "h_in"),
            (w, "w_in"),
            (ho, "h"),
            (wo, "w"),
            (kh, "kh"),
            (kw, "kw"),
            (grp, "group"),
            (ci, "c_in_g"),
            (sb[2], "mu"),
            (sa[3], "c_out"),
        ],
    )?;
    b.finish(&[n, sa[3], ho, wo])
}

/// Syno's Operator 2: weights `B [C_in, k, m]` (attached first) and `A [g, k, C_out, m]`,
/// `m = C_out/(g·s)`,
/// with a cyclic shift by one along H on the input side of the H window.
pub(super) fn syno_op2() -> Result<Operator> {
    let mut b = builder(syno_vars()?, &SYNO_BINDINGS)?;
    let [n, c, h, w] = b.input(["N", "C_in", "H", "H"])?[..] else {
        unreachable!()
    };
    b.set_unordered(c)?;
    // σ(⟨h + a − 1⟩): the Unfold reads the shifted axis.
    let hs = b.shift(h, 1)?;
    let (ho, kh) = b.unfold(hs, "k")?;
    let (wo, kw) = b.unfold(w, "k")?;
    // B[γ·C_in/g + c, b, μ]: grouped channel reduction with a 1×k tap along W.
    let sb = b.contract(&[
        Axis::Share(c),
        Axis::Share(kw),
        Axis::Create("C_out/(g*s)".into()),
    ])?;
    b.reduce(sb[1])?;
    let (grp, ci) = b.split(sb[0], "C_in/g")?;
    b.reduce(ci)?;
    // A[γ, a, o, μ]: k×1 conv along H over the g·m bottleneck channels.
    let sa = b.contract(&[
        Axis::Share(grp),
        Axis::Share(kh),
        Axis::Create("C_out".into()),
        Axis::Share(sb[2]),
    ])?;
    for i in [0, 1, 3] {
        b.reduce(sa[i])?;
    }
    b.set_unordered(sa[2])?;
    names(
        &mut b,
        &[
            (n, "n"),
            (c, "c_in"),
            (h, "h_in"),
            (w, "w_in"),
            (hs, "h_shifted"),
            (ho, "h"),
            (wo, "w"),
            (kh, "kh"),
            (kw, "kw"),
            (grp, "group"),
            (ci, "c_in_g"),
            (sb[2], "mu"),
            (sa[2], "c_out"),
        ],
    )?;
    b.finish(&[n, sa[2], ho, wo])
}

/// The GPT-2 QKV operator: weight `W [k³t², H_in/k, H_in/(k⁴t)]` applied to each of the `k`
/// slices of the input features (tied across slices), output `t·H_in` features.
pub(super) fn gpt2_qkv_tied() -> Result<Operator> {
    let vars = VarTable::from_specs(&["N", "seq_len", "H_in"], &["k=2", "t=3"])?;
    let mut b = builder(
        vars,
        &[
            ("k2-t3-h96", &[("N", 1), ("seq_len", 3), ("H_in", 96)]),
            (
                "k3-t1-h162",
                &[("N", 1), ("seq_len", 2), ("H_in", 162), ("k", 3), ("t", 1)],
            ),
        ],
    )?;
    let [n, l, x] = b.input(["N", "seq_len", "H_in"])?[..] else {
        unreachable!()
    };
    b.set_unordered(x)?;
    // Input feature β·H_in/k + j.
    let (beta, j) = b.split(x, "H_in/k")?;
    let s = b.contract(&[
        Axis::Create("k^3*t^2".into()),
        Axis::Share(j),
        Axis::Create("H_in/(k^4*t)".into()),
    ])?;
    b.reduce(s[1])?;
    // Output feature (α·k + β)·G + γ.
    let ab = b.merge(s[0], beta)?;
    let o = b.merge(ab, s[2])?;
    names(
        &mut b,
        &[
            (n, "n"),
            (l, "l"),
            (x, "h_in"),
            (beta, "beta"),
            (j, "j"),
            (s[0], "alpha"),
            (s[2], "gamma"),
            (ab, "alpha_beta"),
            (o, "h_out"),
        ],
    )?;
    b.finish(&[n, l, o])
}
