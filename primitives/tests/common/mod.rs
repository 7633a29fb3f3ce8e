//! Operators shared by the printer tests, built with the Builder at small bindings.

#![allow(dead_code)]

use kas_primitives::{Axis, Builder, DimId, Operator, VarTable};

fn rename(b: &mut Builder, pairs: &[(DimId, &str)]) {
    for &(d, name) in pairs {
        b.rename(d, name).unwrap();
    }
}

/// A 3×3 convolution, stride 1, same padding (output `[N, C_out, H, W]`); bindings with
/// `k = 3` and `k = 5`.
pub fn conv3x3() -> Operator {
    let vars = VarTable::from_specs(&["N", "C_in", "C_out", "H", "W"], &["k=3"]).unwrap();
    let size = [("N", 2), ("C_in", 3), ("C_out", 4), ("H", 5), ("W", 4)];
    let b3 = vars.bind("tiny", size).unwrap();
    let b5 = vars.bind("k5", size.into_iter().chain([("k", 5)])).unwrap();
    let mut b = Builder::new(vars, vec![b3, b5]).unwrap();
    let [n, c, h, w] = b.input(["N", "C_in", "H", "W"]).unwrap()[..] else {
        unreachable!()
    };
    let (oh, wh) = b.unfold(h, "k").unwrap();
    let (ow, ww) = b.unfold(w, "k").unwrap();
    let s = b
        .contract(&[
            Axis::Create("C_out".into()),
            Axis::Share(c),
            Axis::Share(wh),
            Axis::Share(ww),
        ])
        .unwrap();
    for &d in &s[1..] {
        b.reduce(d).unwrap();
    }
    rename(
        &mut b,
        &[
            (n, "n"),
            (c, "c_in"),
            (h, "h_in"),
            (w, "w_in"),
            (oh, "h"),
            (ow, "w"),
            (wh, "win_h"),
            (ww, "win_w"),
            (s[0], "co"),
            (s[1], "ci"),
            (s[2], "kh"),
            (s[3], "kw"),
        ],
    );
    b.finish(&[n, s[0], oh, ow]).unwrap()
}

/// A channel shuffle (Split then Merge in the other order), a Stride and a Shift by −1 on the
/// spatial axis, then a 1×1 contraction: output `[N, C_out, H/s]`.
pub fn shuffle_stride() -> Operator {
    let vars = VarTable::from_specs(&["N", "C", "C_out", "H"], &["s=2", "g=2"]).unwrap();
    let b1 = vars
        .bind("tiny", [("N", 2), ("C", 6), ("C_out", 3), ("H", 8)])
        .unwrap();
    let mut b = Builder::new(vars, vec![b1]).unwrap();
    let [n, c, h] = b.input(["N", "C", "H"]).unwrap()[..] else {
        unreachable!()
    };
    let (c_hi, c_lo) = b.split(c, "g").unwrap();
    let shuffled = b.merge(c_lo, c_hi).unwrap();
    let hs = b.stride(h, "s").unwrap();
    let hs1 = b.shift(hs, -1).unwrap();
    let s = b
        .contract(&[Axis::Create("C_out".into()), Axis::Share(shuffled)])
        .unwrap();
    b.reduce(s[1]).unwrap();
    rename(
        &mut b,
        &[
            (n, "n"),
            (c, "c_in"),
            (h, "h_in"),
            (c_hi, "c_hi"),
            (c_lo, "c_lo"),
            (shuffled, "c_shuf"),
            (hs, "h_strided"),
            (hs1, "h"),
            (s[0], "co"),
            (s[1], "ci"),
        ],
    );
    b.finish(&[n, s[0], hs1]).unwrap()
}

/// Two weights: a depthwise 1-D window (`w1 [C_in, k]`) then a pointwise contraction
/// (`w2 [C_out, C_in]`); output `[N, C_out, H]`. Dims keep the Builder's default names.
pub fn two_weights() -> Operator {
    let vars = VarTable::from_specs(&["N", "C_in", "C_out", "H"], &["k=3"]).unwrap();
    let b1 = vars
        .bind("tiny", [("N", 2), ("C_in", 3), ("C_out", 4), ("H", 6)])
        .unwrap();
    let mut b = Builder::new(vars, vec![b1]).unwrap();
    let [n, c, h] = b.input(["N", "C_in", "H"]).unwrap()[..] else {
        unreachable!()
    };
    let (oh, wh) = b.unfold(h, "k").unwrap();
    let s1 = b.contract(&[Axis::Share(c), Axis::Share(wh)]).unwrap();
    b.reduce(s1[1]).unwrap();
    let s2 = b
        .contract(&[Axis::Create("C_out".into()), Axis::Share(s1[0])])
        .unwrap();
    b.reduce(s2[1]).unwrap();
    b.finish(&[n, s2[0], oh]).unwrap()
}

/// Variables and dims named like C keywords, the printer's own names and each other's
/// fallbacks: the printer must rename them into a function that still compiles.
pub fn hostile_names() -> Operator {
    let vars = VarTable::from_specs(&["out", "acc", "H"], &["int=3"]).unwrap();
    let b1 = vars
        .bind("tiny", [("out", 2), ("acc", 3), ("H", 5)])
        .unwrap();
    let mut b = Builder::new(vars, vec![b1]).unwrap();
    let [n, c, h] = b.input(["out", "acc", "H"]).unwrap()[..] else {
        unreachable!()
    };
    let (oh, wh) = b.unfold(h, "int").unwrap();
    let s = b.contract(&[Axis::Share(c), Axis::Share(wh)]).unwrap();
    b.reduce(s[0]).unwrap();
    b.reduce(s[1]).unwrap();
    rename(
        &mut b,
        &[
            (n, "w1"),
            (h, "in"),
            (oh, "for"),
            (s[0], "acc_"),
            (s[1], "o0"),
        ],
    );
    b.finish(&[n, oh]).unwrap()
}

/// Every test operator with its name.
pub fn all() -> Vec<(&'static str, Operator)> {
    vec![
        ("conv3x3", conv3x3()),
        ("shuffle_stride", shuffle_stride()),
        ("two_weights", two_weights()),
        ("hostile_names", hostile_names()),
    ]
}
