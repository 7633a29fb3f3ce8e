//! Builders of the convolution family: plain, grouped, depthwise, pointwise, dilated,
//! separable and shift convolutions, and the linear layer.
//!
//! Every builder declares its own variable table and two or more small test bindings with odd
//! sizes, names its dims and marks the channel axes unordered. Weight layouts are documented on
//! the matching functions of [`super::direct`].

use super::{builder, names};
use crate::builder::Axis;
use crate::error::Result;
use crate::operator::Operator;
use crate::size::VarTable;

const CONV_PRIMARY: [&str; 5] = ["N", "C_in", "C_out", "H", "W"];

/// k×k convolution, stride 1, same padding; weight `[C_out, C_in, k, k]`.
pub(super) fn conv2d() -> Result<Operator> {
    let vars = VarTable::from_specs(&CONV_PRIMARY, &["k=3"])?;
    let mut b = builder(
        vars,
        &[
            (
                "odd-5x7",
                &[("N", 2), ("C_in", 3), ("C_out", 5), ("H", 5), ("W", 7)],
            ),
            (
                "k5-7x9",
                &[
                    ("N", 1),
                    ("C_in", 2),
                    ("C_out", 3),
                    ("H", 7),
                    ("W", 9),
                    ("k", 5),
                ],
            ),
            (
                "tiny-1x2",
                &[("N", 1), ("C_in", 3), ("C_out", 1), ("H", 1), ("W", 2)],
            ),
        ],
    )?;
    let [n, c, h, w] = b.input(["N", "C_in", "H", "W"])?[..] else {
        unreachable!()
    };
    b.set_unordered(c)?;
    let (ho, kh) = b.unfold(h, "k")?;
    let (wo, kw) = b.unfold(w, "k")?;
    let s = b.contract(&[
        Axis::Create("C_out".into()),
        Axis::Share(c),
        Axis::Share(kh),
        Axis::Share(kw),
    ])?;
    for &d in &s[1..] {
        b.reduce(d)?;
    }
    b.set_unordered(s[0])?;
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
            (s[0], "c_out"),
            (s[1], "r_c_in"),
            (s[2], "r_kh"),
            (s[3], "r_kw"),
        ],
    )?;
    b.finish(&[n, s[0], ho, wo])
}

/// Grouped k×k convolution with `g` groups; weight `[g, C_out/g, C_in/g, k, k]`.
pub(super) fn grouped_conv2d() -> Result<Operator> {
    let vars = VarTable::from_specs(&CONV_PRIMARY, &["k=3", "g=32"])?;
    let mut b = builder(
        vars,
        &[
            (
                "g3-5x7",
                &[
                    ("N", 1),
                    ("C_in", 6),
                    ("C_out", 9),
                    ("H", 5),
                    ("W", 7),
                    ("g", 3),
                ],
            ),
            (
                "g5-3x5",
                &[
                    ("N", 2),
                    ("C_in", 10),
                    ("C_out", 5),
                    ("H", 3),
                    ("W", 5),
                    ("g", 5),
                ],
            ),
        ],
    )?;
    let [n, c, h, w] = b.input(["N", "C_in", "H", "W"])?[..] else {
        unreachable!()
    };
    b.set_unordered(c)?;
    let (grp, ci) = b.split(c, "C_in/g")?;
    let (ho, kh) = b.unfold(h, "k")?;
    let (wo, kw) = b.unfold(w, "k")?;
    let s = b.contract(&[
        Axis::Share(grp),
        Axis::Create("C_out/g".into()),
        Axis::Share(ci),
        Axis::Share(kh),
        Axis::Share(kw),
    ])?;
    for &d in &s[2..] {
        b.reduce(d)?;
    }
    let o = b.merge(s[0], s[1])?;
    b.set_unordered(o)?;
    names(
        &mut b,
        &[
            (n, "n"),
            (c, "c_in"),
            (h, "h_in"),
            (w, "w_in"),
            (grp, "group"),
            (ci, "c_in_g"),
            (ho, "h"),
            (wo, "w"),
            (kh, "kh"),
            (kw, "kw"),
            (s[0], "group_out"),
            (s[1], "c_out_g"),
            (o, "c_out"),
        ],
    )?;
    b.finish(&[n, o, ho, wo])
}

/// Depthwise k×k convolution over `C` channels; weight `[C, k, k]`.
pub(super) fn depthwise_conv2d() -> Result<Operator> {
    let vars = VarTable::from_specs(&["N", "C", "H", "W"], &["k=3"])?;
    let mut b = builder(
        vars,
        &[
            ("c3-5x7", &[("N", 2), ("C", 3), ("H", 5), ("W", 7)]),
            (
                "k5-9x3",
                &[("N", 1), ("C", 5), ("H", 9), ("W", 3), ("k", 5)],
            ),
        ],
    )?;
    let [n, c, h, w] = b.input(["N", "C", "H", "W"])?[..] else {
        unreachable!()
    };
    b.set_unordered(c)?;
    let (ho, kh) = b.unfold(h, "k")?;
    let (wo, kw) = b.unfold(w, "k")?;
    let s = b.contract(&[Axis::Share(c), Axis::Share(kh), Axis::Share(kw)])?;
    b.reduce(s[1])?;
    b.reduce(s[2])?;
    b.set_unordered(s[0])?;
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
            (s[0], "c"),
        ],
    )?;
    b.finish(&[n, s[0], ho, wo])
}

/// 1×1 convolution; weight `[C_out, C_in]`.
pub(super) fn pointwise_conv2d() -> Result<Operator> {
    let vars = VarTable::from_specs::<&str>(&CONV_PRIMARY, &[])?;
    let mut b = builder(
        vars,
        &[
            (
                "odd-5x7",
                &[("N", 2), ("C_in", 3), ("C_out", 5), ("H", 5), ("W", 7)],
            ),
            (
                "wide-3x1",
                &[("N", 3), ("C_in", 7), ("C_out", 2), ("H", 3), ("W", 1)],
            ),
        ],
    )?;
    let [n, c, h, w] = b.input(["N", "C_in", "H", "W"])?[..] else {
        unreachable!()
    };
    b.set_unordered(c)?;
    let s = b.contract(&[Axis::Create("C_out".into()), Axis::Share(c)])?;
    b.reduce(s[1])?;
    b.set_unordered(s[0])?;
    names(
        &mut b,
        &[(n, "n"), (c, "c_in"), (h, "h"), (w, "w"), (s[0], "c_out")],
    )?;
    b.finish(&[n, s[0], h, w])
}

/// Linear layer over the last axis; weight `[H_out, H_in]`.
pub(super) fn linear() -> Result<Operator> {
    let vars = VarTable::from_specs::<&str>(&["N", "seq_len", "H_in", "H_out"], &[])?;
    let mut b = builder(
        vars,
        &[
            (
                "odd-5-7",
                &[("N", 2), ("seq_len", 3), ("H_in", 5), ("H_out", 7)],
            ),
            (
                "long-9-4",
                &[("N", 1), ("seq_len", 5), ("H_in", 9), ("H_out", 4)],
            ),
        ],
    )?;
    let [n, l, i] = b.input(["N", "seq_len", "H_in"])?[..] else {
        unreachable!()
    };
    b.set_unordered(i)?;
    let s = b.contract(&[Axis::Create("H_out".into()), Axis::Share(i)])?;
    b.reduce(s[1])?;
    b.set_unordered(s[0])?;
    names(&mut b, &[(n, "n"), (l, "l"), (i, "h_in"), (s[0], "h_out")])?;
    b.finish(&[n, l, s[0]])
}

/// k×k convolution with dilation `s` on both spatial axes, each built as Split(s) → Unfold →
/// Merge; weight `[C_out, C_in, k, k]`.
pub(super) fn dilated_conv2d() -> Result<Operator> {
    let vars = VarTable::from_specs(&CONV_PRIMARY, &["k=3", "s=2"])?;
    let mut b = builder(
        vars,
        &[
            (
                "s2-6x10",
                &[("N", 1), ("C_in", 3), ("C_out", 5), ("H", 6), ("W", 10)],
            ),
            (
                "s3-9x15",
                &[
                    ("N", 2),
                    ("C_in", 2),
                    ("C_out", 3),
                    ("H", 9),
                    ("W", 15),
                    ("s", 3),
                ],
            ),
        ],
    )?;
    let [n, c, h, w] = b.input(["N", "C_in", "H", "W"])?[..] else {
        unreachable!()
    };
    b.set_unordered(c)?;
    // Along H: h_in = q·s + r; the window runs over q; the output is h = q'·s + r.
    let (hq, hr) = b.split(h, "s")?;
    let (hq2, kh) = b.unfold(hq, "k")?;
    let ho = b.merge(hq2, hr)?;
    let (wq, wr) = b.split(w, "s")?;
    let (wq2, kw) = b.unfold(wq, "k")?;
    let wo = b.merge(wq2, wr)?;
    let s = b.contract(&[
        Axis::Create("C_out".into()),
        Axis::Share(c),
        Axis::Share(kh),
        Axis::Share(kw),
    ])?;
    for &d in &s[1..] {
        b.reduce(d)?;
    }
    b.set_unordered(s[0])?;
    names(
        &mut b,
        &[
            (n, "n"),
            (c, "c_in"),
            (h, "h_in"),
            (w, "w_in"),
            (hq, "h_outer"),
            (hr, "h_phase"),
            (hq2, "h_outer_out"),
            (wq, "w_outer"),
            (wr, "w_phase"),
            (wq2, "w_outer_out"),
            (kh, "kh"),
            (kw, "kw"),
            (ho, "h"),
            (wo, "w"),
            (s[0], "c_out"),
        ],
    )?;
    b.finish(&[n, s[0], ho, wo])
}

/// Spatially separable convolution: k×1 with `A [C_mid, C_in, k]`, then 1×k with
/// `B [C_out, C_mid, k]`, as one operator.
pub(super) fn separable_conv2d() -> Result<Operator> {
    let vars = VarTable::from_specs(&["N", "C_in", "C_mid", "C_out", "H", "W"], &["k=3"])?;
    let mut b = builder(
        vars,
        &[
            (
                "odd-5x7",
                &[
                    ("N", 1),
                    ("C_in", 3),
                    ("C_mid", 2),
                    ("C_out", 5),
                    ("H", 5),
                    ("W", 7),
                ],
            ),
            (
                "k5-3x5",
                &[
                    ("N", 2),
                    ("C_in", 4),
                    ("C_mid", 3),
                    ("C_out", 3),
                    ("H", 3),
                    ("W", 5),
                    ("k", 5),
                ],
            ),
        ],
    )?;
    let [n, c, h, w] = b.input(["N", "C_in", "H", "W"])?[..] else {
        unreachable!()
    };
    b.set_unordered(c)?;
    let (ho, kh) = b.unfold(h, "k")?;
    let (wo, kw) = b.unfold(w, "k")?;
    let a = b.contract(&[
        Axis::Create("C_mid".into()),
        Axis::Share(c),
        Axis::Share(kh),
    ])?;
    b.reduce(a[1])?;
    b.reduce(a[2])?;
    let s = b.contract(&[
        Axis::Create("C_out".into()),
        Axis::Share(a[0]),
        Axis::Share(kw),
    ])?;
    b.reduce(s[1])?;
    b.reduce(s[2])?;
    b.set_unordered(s[0])?;
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
            (a[0], "c_mid"),
            (s[0], "c_out"),
        ],
    )?;
    b.finish(&[n, s[0], ho, wo])
}

/// Cyclic shift by +1 along H and −1 along W, then a 1×1 convolution; weight `[C_out, C_in]`.
pub(super) fn shift_conv2d() -> Result<Operator> {
    let vars = VarTable::from_specs::<&str>(&CONV_PRIMARY, &[])?;
    let mut b = builder(
        vars,
        &[
            (
                "odd-5x7",
                &[("N", 2), ("C_in", 3), ("C_out", 5), ("H", 5), ("W", 7)],
            ),
            (
                "thin-3x2",
                &[("N", 1), ("C_in", 5), ("C_out", 3), ("H", 3), ("W", 2)],
            ),
        ],
    )?;
    let [n, c, h, w] = b.input(["N", "C_in", "H", "W"])?[..] else {
        unreachable!()
    };
    b.set_unordered(c)?;
    let ho = b.shift(h, 1)?;
    let wo = b.shift(w, -1)?;
    let s = b.contract(&[Axis::Create("C_out".into()), Axis::Share(c)])?;
    b.reduce(s[1])?;
    b.set_unordered(s[0])?;
    names(
        &mut b,
        &[
            (n, "n"),
            (c, "c_in"),
            (h, "h_in"),
            (w, "w_in"),
            (ho, "h"),
            (wo, "w"),
            (s[0], "c_out"),
        ],
    )?;
    b.finish(&[n, s[0], ho, wo])
}
