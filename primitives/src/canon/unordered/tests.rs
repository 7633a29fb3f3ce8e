//! Tests of the channel permutations of unordered axes: each case merges (one hash, equal
//! outputs after the returned permutations, which are needed), and each is blocked on an
//! ordered axis.

use super::*;
use crate::canon::check::same_function;
use crate::canon::mutate::{self, Mutation};
use crate::canon::{Canonical, canonicalize};
use crate::graph::Dim;
use crate::library;
use crate::random::{RandomConfig, random_operator};

fn lib(name: &str) -> Operator {
    (library::get(name).unwrap().build)().unwrap()
}

/// `f` applied to `op` (the first draw that applies).
fn rewrite_with(op: &Operator, f: Mutation, seed: u64) -> Operator {
    let mut r = mutate::rng(seed);
    (0..50)
        .find_map(|_| f(op, &mut r))
        .expect("the rewrite applies")
}

/// The canonicalization with its channel permutations dropped.
fn without_channels(c: &Canonical) -> Canonical {
    let mut c = c.clone();
    c.relayout.channels.clear();
    c
}

/// `a` and `b` get one hash, compute the same function after their channel permutations, and
/// not without them (the permutations are needed, not decoration).
fn assert_merged(a: &Operator, b: &Operator) {
    assert_ne!(a.structural_hash(), b.structural_hash());
    let (ca, cb) = (canonicalize(a).unwrap(), canonicalize(b).unwrap());
    assert_eq!(
        ca.hash,
        cb.hash,
        "\n{}\nvs\n{}",
        ca.form.display(),
        cb.form.display()
    );
    assert!(same_function(a, &ca, b, &cb, 7));
    assert!(!same_function(
        a,
        &without_channels(&ca),
        b,
        &without_channels(&cb),
        7
    ));
}

fn set_ordered(op: &mut Operator, name: &str) {
    let d = op.dim_by_name(name).unwrap();
    op.dims[d.index()].unordered = false;
}

#[test]
fn a_shift_of_an_unordered_output_axis_is_absorbed() {
    let conv = lib("conv2d");
    let shifted = rewrite_with(&conv, mutate::shift_unordered_output, 1);
    assert_merged(&conv, &shifted);
    let c = canonicalize(&shifted).unwrap();
    assert_eq!(c.relayout.channels.len(), 1);
    assert_eq!(c.relayout.channels[0].side, Side::Output);
    assert!(!c.relayout.is_identity());
    // conv2d itself has no channel view to choose: its form and re-layout are untouched.
    assert!(canonicalize(&conv).unwrap().relayout.channels.is_empty());
}

#[test]
fn a_shift_of_an_unordered_input_axis_is_absorbed() {
    // Depthwise: the input channel is not reduced, so no reduction shift absorbs it.
    let dw = lib("depthwise-conv2d");
    let shifted = rewrite_with(&dw, mutate::shift_unordered_input, 2);
    assert_merged(&dw, &shifted);
    let c = canonicalize(&shifted).unwrap();
    assert_eq!(c.relayout.channels[0].side, Side::Input);
}

/// `op` with its output axis `name` shifted by one.
fn shift_output(op: &Operator, name: &str) -> Operator {
    let d = op.dim_by_name(name).unwrap();
    let mut m = op.clone();
    let out = DimId(m.dims.len() as u32);
    m.dims.push(Dim {
        name: format!("{name}_shifted"),
        ..m.dims[d.index()].clone()
    });
    let pos = m.outputs.iter().position(|&x| x == d).unwrap();
    m.outputs[pos] = out;
    m.ops.push(Op::Shift {
        input: d,
        output: out,
        offset: 1,
    });
    // The channel-like flag belongs to the output axis.
    m.dims[d.index()].unordered = false;
    relink(&mut m);
    m.validate().unwrap();
    m
}

#[test]
fn a_shift_of_an_ordered_axis_is_not_absorbed() {
    let dw = lib("depthwise-conv2d");
    // Unordered: absorbed.
    assert_merged(&dw, &shift_output(&dw, "c"));
    // Ordered (H, or C marked ordered): a different function, a different hash.
    let mut ordered = dw.clone();
    set_ordered(&mut ordered, "c_in");
    set_ordered(&mut ordered, "c");
    for f in [
        mutate::shift_unordered_input,
        mutate::shift_unordered_output,
    ] {
        assert!(f(&ordered, &mut mutate::rng(0)).is_none());
    }
    for (op, axis) in [(&dw, "h"), (&ordered, "c")] {
        let shifted = shift_output(op, axis);
        let (a, b) = (canonicalize(op).unwrap(), canonicalize(&shifted).unwrap());
        assert_ne!(a.hash, b.hash, "{axis}");
        assert!(!same_function(op, &a, &shifted, &b, 3), "{axis}");
    }
}

#[test]
fn the_factor_order_of_a_merged_unordered_output_is_canonical() {
    let g = lib("grouped-conv2d");
    let swapped = rewrite_with(&g, mutate::swap_unordered_merge, 4);
    assert_merged(&g, &swapped);
}

#[test]
fn the_factor_order_of_a_merged_ordered_output_is_kept() {
    let mut g = lib("grouped-conv2d");
    set_ordered(&mut g, "c_out");
    assert!(mutate::swap_unordered_merge(&g, &mut mutate::rng(0)).is_none());
    let swapped = rewrite_with(&g, mutate::swap_merge, 4);
    let (a, b) = (canonicalize(&g).unwrap(), canonicalize(&swapped).unwrap());
    assert_ne!(a.hash, b.hash);
    assert!(!same_function(&g, &a, &swapped, &b, 4));
}

#[test]
fn the_piece_order_of_a_split_unordered_input_is_canonical() {
    let g = lib("grouped-conv2d");
    let swapped = rewrite_with(&g, mutate::swap_unordered_split, 5);
    assert_merged(&g, &swapped);
    let mut ordered = g.clone();
    set_ordered(&mut ordered, "c_in");
    assert!(mutate::swap_unordered_split(&ordered, &mut mutate::rng(0)).is_none());
}

#[test]
fn chains_of_shifts_and_swaps_are_absorbed() {
    let g = lib("grouped-conv2d");
    let mut op = g.clone();
    let steps: [Mutation; 5] = [
        mutate::shift_unordered_output,
        mutate::swap_unordered_merge,
        mutate::shift_unordered_input,
        mutate::swap_unordered_split,
        mutate::shift_unordered_output,
    ];
    for (i, f) in steps.into_iter().enumerate() {
        op = rewrite_with(&op, f, 10 + i as u64);
    }
    assert_merged(&g, &op);
}

/// A pointwise layer `Y[n, o] = Σ_c X[n, c]·W[o, c]` over the variables of grouped-conv2d,
/// its output axis `o` optionally split into `(g, C_out/g)` and merged back in the other
/// order.
fn pointwise(split_and_swap: bool) -> Operator {
    let g = lib("grouped-conv2d");
    let mut b = crate::Builder::new(g.vars.clone(), g.bindings.clone()).unwrap();
    let [n, c] = b.input(["N", "C_in"]).unwrap()[..] else {
        unreachable!()
    };
    b.set_unordered(c).unwrap();
    let s = b
        .contract(&[
            crate::builder::Axis::Create("C_out".into()),
            crate::builder::Axis::Share(c),
        ])
        .unwrap();
    b.reduce(s[1]).unwrap();
    let mut o = s[0];
    if split_and_swap {
        let (grp, rest) = b.split(o, "C_out/g").unwrap();
        o = b.merge(rest, grp).unwrap();
    }
    b.set_unordered(o).unwrap();
    b.finish(&[n, o]).unwrap()
}

#[test]
fn a_split_merged_back_in_the_other_order_is_a_channel_permutation() {
    // C_out → Split(g, C_out/g) → Merge(C_out/g, g): a transposition of the channels.
    assert_merged(&pointwise(false), &pointwise(true));
    // Marked ordered, the transposition is a different function.
    let (mut a, mut b) = (pointwise(false), pointwise(true));
    let (oa, ob) = (a.outputs[1], b.outputs[1]);
    a.dims[oa.index()].unordered = false;
    b.dims[ob.index()].unordered = false;
    let (ca, cb) = (canonicalize(&a).unwrap(), canonicalize(&b).unwrap());
    assert_ne!(ca.hash, cb.hash);
    assert!(!same_function(&a, &ca, &b, &cb, 1));
}

#[test]
fn permutations_of_views() {
    use crate::size::{Binding, MAX_VARS, VarKind};
    let mut primary = [1; MAX_VARS];
    primary[0] = 2;
    primary[1] = 3;
    let b = Binding {
        name: "2x3".into(),
        primary,
        coeff: [1; MAX_VARS],
    };
    let leaf = |i| Box::new(View::Leaf(i));
    let map = |op: View| ChannelMap {
        side: Side::Output,
        axis: 0,
        leaves: vec![
            Size::var(VarKind::Primary, 0),
            Size::var(VarKind::Primary, 1),
        ],
        op,
        canon: View::chain(&[0, 1]),
    };
    // The canonical order itself: the identity.
    let id = map(View::chain(&[0, 1]));
    assert!(id.is_identity());
    assert_eq!(id.permutation(&b).unwrap(), vec![0, 1, 2, 3, 4, 5]);
    // Factors swapped: canonical channel 3·a + b is the operator's channel 2·b + a.
    let swapped = map(View::Mix {
        outer: leaf(1),
        inner: leaf(0),
    });
    assert_eq!(swapped.permutation(&b).unwrap(), vec![0, 2, 4, 1, 3, 5]);
    // A roll by one of the whole axis: a cyclic permutation.
    let rolled = map(View::Roll {
        of: Box::new(View::chain(&[0, 1])),
        by: 1,
    });
    assert_eq!(rolled.permutation(&b).unwrap(), vec![1, 2, 3, 4, 5, 0]);
    // Pieces of a Split of the axis joined back: `(v div 3, v mod 3)` is `v`.
    let joined = ChannelMap {
        leaves: vec![Size::var(VarKind::Primary, 0) * Size::var(VarKind::Primary, 1)],
        op: View::Mix {
            outer: Box::new(View::Hi {
                of: leaf(0),
                block: Size::var(VarKind::Primary, 1),
            }),
            inner: Box::new(View::Lo {
                of: leaf(0),
                block: Size::var(VarKind::Primary, 1),
            }),
        },
        canon: View::Leaf(0),
        ..map(View::Leaf(0))
    };
    assert_eq!(joined.permutation(&b).unwrap(), vec![0, 1, 2, 3, 4, 5]);
}

#[test]
fn every_candidate_of_random_operators_is_valid() {
    for seed in 0..300 {
        let op = random_operator(seed, &RandomConfig::default());
        if op.validate().is_err() {
            continue;
        }
        for (c, maps) in candidates(&op) {
            c.validate().unwrap();
            assert_eq!(c.input.len(), op.input.len());
            assert_eq!(c.outputs.len(), op.outputs.len());
            assert!(maps.iter().all(|m| !m.leaves.is_empty()));
        }
    }
}

#[test]
fn a_channel_map_describes_itself() {
    let g = lib("grouped-conv2d");
    let c = canonicalize(&rewrite_with(&g, mutate::swap_unordered_merge, 4)).unwrap();
    let lines: Vec<String> = c
        .relayout
        .channels
        .iter()
        .map(|m| m.describe(&c.form.vars))
        .collect();
    assert!(
        lines.iter().any(|l| l.starts_with("output 1: [l")
            && l.contains(" -> [l")
            && l.contains("C_out/g")),
        "{lines:?}"
    );
}
