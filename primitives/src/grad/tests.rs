//! Property tests of the gradient operators: library operators and seeded random ones, each
//! gradient checked in f64 by the adjoint identity and by finite differences.

use super::*;
use crate::error::Error;
use crate::graph::Op;
use crate::library;
use crate::random::{RandomConfig, random_operator};

/// Gradients of every tensor of every library operator that has one pass both checks; the
/// convolutions but the grouped one, linear and low-rank linear have all of theirs.
#[test]
fn library_gradients_pass_both_checks() {
    let mut with_all = Vec::new();
    for e in library::entries() {
        let op = (e.build)().unwrap();
        let mut all = true;
        for (t, g) in gradients(&op).into_iter().enumerate() {
            match g {
                Ok(g) => {
                    assert_eq!(
                        g.op.output_shape(),
                        op.tensor_shape(t),
                        "{} tensor {t}",
                        e.name
                    );
                    let r = check_all_bindings(&op, &g, 11).unwrap();
                    assert!(r.is_ok(), "{} tensor {t}: {r:?}", e.name);
                }
                Err(err) => {
                    assert!(matches!(err, Error::NoGradient { .. }), "{}: {err}", e.name);
                    all = false;
                }
            }
        }
        if all {
            with_all.push(e.name);
        }
    }
    for name in [
        "conv2d",
        "depthwise-conv2d",
        "pointwise-conv2d",
        "linear",
        "dilated-conv2d",
        "shift-conv2d",
        "separable-conv2d",
        "low-rank-linear",
    ] {
        assert!(
            with_all.contains(&name),
            "{name} lacks a gradient: {with_all:?}"
        );
    }
}

/// Random operators: every gradient that exists passes both checks, and the share with one
/// for every tensor does not fall (51 of these 150 when written).
#[test]
fn random_gradients_pass_both_checks() {
    let cfg = RandomConfig::default();
    let (mut full, mut total) = (0, 0);
    for seed in 0..150u64 {
        let op = random_operator(seed, &cfg);
        total += 1;
        let mut all = true;
        for g in gradients(&op) {
            match g {
                Ok(g) => {
                    let r = check_all_bindings(&op, &g, seed).unwrap();
                    assert!(r.is_ok(), "seed {seed} tensor {}: {r:?}", g.tensor);
                }
                Err(Error::NoGradient { .. }) => all = false,
                Err(e) => panic!("seed {seed}: {e}"),
            }
        }
        full += all as usize;
    }
    assert!(
        full >= 44,
        "{full}/{total} random operators have every gradient"
    );
}

/// A wrong adjoint is caught: the conv2d input gradient with its weight read unflipped, and
/// with a reversed Shift's offset left unnegated.
#[test]
fn a_wrong_gradient_fails_the_check() {
    let op = library::get("conv2d").unwrap();
    let op = (op.build)().unwrap();
    let mut g = gradient(&op, 0).unwrap();
    assert!(g.roles.iter().any(|r| !r.flipped.is_empty()));
    assert!(check_all_bindings(&op, &g, 3).unwrap().is_ok());
    for r in &mut g.roles {
        r.flipped.clear();
    }
    assert!(check_all_bindings(&op, &g, 3).unwrap().is_err());

    let op = library::get("shift-conv2d").unwrap();
    let op = (op.build)().unwrap();
    let mut g = gradient(&op, 0).unwrap();
    let mut changed = false;
    for step in &mut g.op.ops {
        if let Op::Shift { offset, .. } = step {
            *offset = -*offset;
            changed = true;
        }
    }
    assert!(changed);
    assert!(check_all_bindings(&op, &g, 3).unwrap().is_err());
}

/// The roles say where each tensor comes from: `G` is the input of the input gradient and the
/// first weight of a weight gradient.
#[test]
fn roles_follow_the_documented_order() {
    let op = (library::get("conv2d").unwrap().build)().unwrap();
    let g0 = gradient(&op, 0).unwrap();
    assert_eq!(g0.roles[0].tensor, Operand::Upstream);
    assert_eq!(g0.roles[1].tensor, Operand::Forward(1));
    assert_eq!(g0.op.tensor_shape(0), op.output_shape());
    let g1 = gradient(&op, 1).unwrap();
    assert_eq!(g1.roles[0].tensor, Operand::Forward(0));
    assert_eq!(g1.roles[1].tensor, Operand::Upstream);
    assert_eq!(g1.op.tensor_shape(1), op.output_shape());
    assert!(matches!(gradient(&op, 2), Err(Error::InvalidOperator(_))));
}

/// Stride on the input's path has no adjoint: a typed error naming it.
#[test]
fn stride_is_a_typed_refusal() {
    for e in library::entries() {
        let op = (e.build)().unwrap();
        if op.ops.iter().any(|s| matches!(s, Op::Stride { .. })) {
            let err = gradient(&op, 0).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::NoGradient {
                        primitive: "Stride",
                        ..
                    }
                ),
                "{}: {err}",
                e.name
            );
        }
    }
}

/// A window shared with two weights (syno-op1's) turns around with both weight axes read
/// reversed, and passes both checks.
#[test]
fn a_window_shared_with_two_weights_flips_both() {
    let op = (library::get("syno-op1").unwrap().build)().unwrap();
    let g = gradient(&op, 0).unwrap();
    let flipped: Vec<usize> = g.roles.iter().map(|r| r.flipped.len()).collect();
    assert_eq!(flipped, vec![0, 1, 2]);
    assert!(check_all_bindings(&op, &g, 5).unwrap().is_ok());
}
