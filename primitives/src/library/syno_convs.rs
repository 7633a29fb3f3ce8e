//! Builders of three more of Syno's shipped convolution replacements (`docs/ARCHITECTURE.md`,
//! "Syno's operators"): the transposed 1-D conv with 2-tap mixing (ResNet-18), the
//! Kronecker-factorised conv and the conv across channel groups (ResNeXt-29). Weight layouts
//! and index formulas are documented on the matching functions of [`super::direct_syno_convs`].

use super::{builder, names};
use crate::builder::Axis;
use crate::error::Result;
use crate::operator::Operator;
use crate::size::VarTable;

/// The variables of the grouped operators (as Syno's Operators 1 and 2).
fn vars() -> Result<VarTable> {
    VarTable::from_specs(&["N", "C_in", "C_out", "H"], &["k=3", "s=2", "g=32"])
}

/// The transposed 1-D conv: weights `B [C_in, k, C_out]` (attached first) and `A [C_out, s]`.
/// X's rows, shifted by one, become the output's columns; X's columns, windowed and mixed by
/// the `s` taps of A across a one-step cyclic shift, become the output's rows.
pub(super) fn syno_transposed_conv1d() -> Result<Operator> {
    let mut b = builder(
        VarTable::from_specs(&["N", "C_in", "C_out", "H"], &["k=3", "s=2"])?,
        &[
            ("s2-h5", &[("N", 1), ("C_in", 5), ("C_out", 3), ("H", 5)]),
            (
                "s3-h4",
                &[("N", 2), ("C_in", 3), ("C_out", 6), ("H", 4), ("s", 3)],
            ),
        ],
    )?;
    let [n, c, r, q] = b.input(["N", "C_in", "H", "H"])?[..] else {
        unreachable!()
    };
    b.set_unordered(c)?;
    // Output column w reads X's row σ(w) = (w + 1) mod H.
    let wo = b.shift(r, 1)?;
    // X's column ⟨u + b − k/2⟩, u = ((s·h + t + 1) mod s·H) div s: h for t < s − 1, σ(h) for
    // t = s − 1 (Merge with a broadcast tap, Shift, Split).
    let (u, kw) = b.unfold(q, "k")?;
    let e = b.expand("s")?;
    let m = b.merge(u, e)?;
    let ms = b.shift(m, 1)?;
    let (ho, t) = b.split(ms, "s")?;
    // B[c, b, o]: a k-tap 1-D conv with full channel mixing.
    let sb = b.contract(&[
        Axis::Share(c),
        Axis::Share(kw),
        Axis::Create("C_out".into()),
    ])?;
    b.reduce(sb[0])?;
    b.reduce(sb[1])?;
    // A[o, t]: the per-channel taps.
    let sa = b.contract(&[Axis::Share(sb[2]), Axis::Share(t)])?;
    b.reduce(sa[1])?;
    b.set_unordered(sa[0])?;
    names(
        &mut b,
        &[
            (n, "n"),
            (c, "c_in"),
            (r, "h_in"),
            (q, "w_in"),
            (wo, "w"),
            (u, "u"),
            (kw, "kw"),
            (e, "tap_in"),
            (m, "u_tap"),
            (ms, "u_tap_shifted"),
            (ho, "h"),
            (t, "tap"),
            (sa[0], "c_out"),
        ],
    )?;
    b.finish(&[n, sa[0], ho, wo])
}

/// The Kronecker-factorised conv: weights `A [C_in/(g·s), k, k, g]` (attached first) and
/// `B [g·s, k, C_out/g]`; the output channel is `γ·C_out/g + o'`.
pub(super) fn syno_kronecker_conv() -> Result<Operator> {
    let mut b = builder(
        vars()?,
        &[
            (
                "g3-s2-h5",
                &[("N", 1), ("C_in", 12), ("C_out", 6), ("H", 5), ("g", 3)],
            ),
            (
                "g2-s1-h4",
                &[
                    ("N", 1),
                    ("C_in", 6),
                    ("C_out", 10),
                    ("H", 4),
                    ("g", 2),
                    ("s", 1),
                ],
            ),
        ],
    )?;
    let [n, ch, h, w] = b.input(["N", "C_in", "H", "H"])?[..] else {
        unreachable!()
    };
    b.set_unordered(ch)?;
    let (ho, kh) = b.unfold(h, "k")?;
    let (wo, kw) = b.unfold(w, "k")?;
    // Input channel ρ·C_in/(g·s) + c.
    let (rho, c) = b.split(ch, "C_in/(g*s)")?;
    // A[c, a, b, γ]: one small kernel shared by all g·s input slices.
    let sa = b.contract(&[
        Axis::Share(c),
        Axis::Share(kh),
        Axis::Share(kw),
        Axis::Create("g".into()),
    ])?;
    b.reduce(sa[0])?;
    b.reduce(sa[1])?;
    // B[ρ, b, o']: per-slice, per-W-tap mixing.
    let sb = b.contract(&[
        Axis::Share(rho),
        Axis::Share(sa[2]),
        Axis::Create("C_out/g".into()),
    ])?;
    b.reduce(sb[0])?;
    b.reduce(sb[1])?;
    let o = b.merge(sa[3], sb[2])?;
    b.set_unordered(o)?;
    names(
        &mut b,
        &[
            (n, "n"),
            (ch, "c_in"),
            (h, "h_in"),
            (w, "w_in"),
            (ho, "h"),
            (wo, "w"),
            (kh, "kh"),
            (kw, "kw"),
            (rho, "slice"),
            (c, "c_in_slice"),
            (sa[3], "group"),
            (sb[2], "c_out_g"),
            (o, "c_out"),
        ],
    )?;
    b.finish(&[n, o, ho, wo])
}

/// The conv across channel groups: weight `W [g, k, C_in/(g·s), k, C_out/g]`; output group γ
/// reads a zero-padded window of `k` neighbouring input channel groups in each of the `s`
/// channel slices (summed), with a 1-D window along W.
pub(super) fn syno_channel_window_conv() -> Result<Operator> {
    let mut b = builder(
        vars()?,
        &[
            (
                "g3-s2-h5",
                &[("N", 1), ("C_in", 6), ("C_out", 6), ("H", 5), ("g", 3)],
            ),
            (
                "g5-s3-h3",
                &[
                    ("N", 1),
                    ("C_in", 15),
                    ("C_out", 5),
                    ("H", 3),
                    ("g", 5),
                    ("s", 3),
                ],
            ),
        ],
    )?;
    let [n, ch, h, w] = b.input(["N", "C_in", "H", "H"])?[..] else {
        unreachable!()
    };
    // Input channel ρ·C_in/s + ⟨γ + a − k/2⟩·C_in/(g·s) + c.
    let (rho, rest) = b.split(ch, "C_in/s")?;
    let (grp, c) = b.split(rest, "C_in/(g*s)")?;
    let (gamma, a) = b.unfold(grp, "k")?;
    b.reduce(rho)?;
    let (wo, kw) = b.unfold(w, "k")?;
    let sw = b.contract(&[
        Axis::Share(gamma),
        Axis::Share(a),
        Axis::Share(c),
        Axis::Share(kw),
        Axis::Create("C_out/g".into()),
    ])?;
    for i in [1, 2, 3] {
        b.reduce(sw[i])?;
    }
    let o = b.merge(sw[0], sw[4])?;
    b.set_unordered(o)?;
    names(
        &mut b,
        &[
            (n, "n"),
            (ch, "c_in"),
            (h, "h"),
            (w, "w_in"),
            (wo, "w"),
            (kw, "kw"),
            (rho, "slice"),
            (rest, "c_slice"),
            (grp, "group_in"),
            (c, "c_in_g"),
            (gamma, "group"),
            (a, "group_tap"),
            (sw[4], "c_out_g"),
            (o, "c_out"),
        ],
    )?;
    b.finish(&[n, o, h, wo])
}
