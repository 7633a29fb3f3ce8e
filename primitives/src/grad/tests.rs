//! Property tests of the gradient operators: library operators and seeded random ones, each
//! gradient checked in f64 by the adjoint identity and by finite differences.

use super::*;
use crate::error::Error;
use crate::graph::Op;
use crate::library;
use crate::random::{RandomConfig, random_operator};

/// Every tensor of every library operator has a gradient operator, shaped like the tensor,
/// and it passes both checks.
#[test]
fn library_gradients_pass_both_checks() {
    for e in library::entries() {
        let op = (e.build)().unwrap();
        for (t, g) in gradients(&op).into_iter().enumerate() {
            let g = g.unwrap_or_else(|err| panic!("{} tensor {t}: {err}", e.name));
            assert_eq!(
                g.op.output_shape(),
                op.tensor_shape(t),
                "{} tensor {t}",
                e.name
            );
            let r = check_all_bindings(&op, &g, 11).unwrap();
            assert!(r.is_ok(), "{} tensor {t}: {r:?}", e.name);
        }
    }
}

/// Random operators: every gradient that exists passes both checks, and the share with one
/// for every tensor does not fall (76 of these 150 when written).
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
        full >= 76,
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

/// A Stride straight on an input axis leaves its zeros to the caller: the gradient's axis is
/// the strided one, `expand` spreads it to the input's shape and the checks pass. A Stride
/// further along has no adjoint: a typed error naming it (random operators; no library
/// operator strides).
#[test]
fn strides_are_spread_by_the_caller_or_refused() {
    let cfg = RandomConfig::default();
    let (mut spread, mut refused) = (0, 0);
    for seed in 0..80u64 {
        let op = random_operator(seed, &cfg);
        if !op.ops.iter().any(|s| matches!(s, Op::Stride { .. })) {
            continue;
        }
        match gradient(&op, 0) {
            Ok(g) if !g.strided.is_empty() => {
                let b = &op.bindings[0];
                let out = Tensor::zeros(&g.op.concrete(&g.op.outputs, b).unwrap());
                let full = g.expand(b, &out).unwrap();
                assert_eq!(
                    full.shape,
                    op.concrete(&op.input, b).unwrap(),
                    "seed {seed}"
                );
                assert!(
                    check_all_bindings(&op, &g, seed).unwrap().is_ok(),
                    "seed {seed}"
                );
                spread += 1;
            }
            Ok(_) => panic!("seed {seed}: a Stride turned around"),
            Err(Error::NoGradient {
                primitive: "Stride",
                ..
            }) => refused += 1,
            // A window that cannot turn around is found first.
            Err(Error::NoGradient {
                primitive: "Unfold",
                ..
            }) => {}
            Err(e) => panic!("seed {seed}: {e}"),
        }
    }
    assert!(
        spread >= 3 && refused >= 3,
        "{spread} spread, {refused} refused"
    );
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

/// A weight whose shared index a Split takes apart (syno-op2's first weight, read at
/// `γ·C_in/g + c`) has its output axis merged back; one whose axes meet at a merged output
/// axis (grouped convolution's) reads `G` reshaped.
#[test]
fn split_indices_merge_back_and_merged_outputs_reshape_g() {
    let op = (library::get("syno-op2").unwrap().build)().unwrap();
    let g = gradient(&op, 1).unwrap();
    assert!(g.op.ops.iter().any(|s| matches!(s, Op::Merge { .. })));
    assert!(g.roles.iter().all(|r| !r.reshaped));
    assert!(check_all_bindings(&op, &g, 2).unwrap().is_ok());
    let op = (library::get("grouped-conv2d").unwrap().build)().unwrap();
    let g = gradient(&op, 1).unwrap();
    assert_eq!(g.roles[1].tensor, Operand::Upstream);
    assert!(g.roles[1].reshaped);
    assert_eq!(g.op.tensor_shape(1).len(), op.outputs.len() + 1);
    assert!(check_all_bindings(&op, &g, 2).unwrap().is_ok());
}

/// Odd bindings (nothing a power of two, windows of 3 and 5): conv2d's and syno-op2's gradients
/// pass both checks there too.
#[test]
fn gradients_pass_at_odd_bindings() {
    use crate::size::NamedBinding;
    let cases: [(&str, &[(&str, u64)]); 3] = [
        (
            "conv2d",
            &[("N", 3), ("C_in", 3), ("C_out", 5), ("H", 7), ("W", 3)],
        ),
        (
            "conv2d",
            &[
                ("N", 1),
                ("C_in", 1),
                ("C_out", 7),
                ("H", 3),
                ("W", 5),
                ("k", 5),
            ],
        ),
        (
            "syno-op2",
            &[
                ("N", 1),
                ("C_in", 9),
                ("C_out", 9),
                ("H", 5),
                ("g", 3),
                ("s", 1),
            ],
        ),
    ];
    for (c, (name, values)) in cases.iter().enumerate() {
        let op = (library::get(name).unwrap().build)().unwrap();
        let b = NamedBinding {
            name: "odd".into(),
            values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
        .resolve(&op.vars)
        .unwrap();
        for g in gradients(&op) {
            let g = g.unwrap();
            let r = check_gradient(&op, &g, &b, 40 + c as u64).unwrap();
            assert!(r.passes(), "{name} {c} tensor {}: {r:?}", g.tensor);
        }
    }
}

/// Mismatched arguments are typed errors, not panics: a gradient of a tensor the operator does
/// not have, too few forward tensors.
#[test]
fn mismatched_arguments_are_errors() {
    let op = (library::get("conv2d").unwrap().build)().unwrap();
    let b = &op.bindings[0];
    let mut g = gradient(&op, 1).unwrap();
    let upstream = Tensor::zeros(&op.concrete(&op.outputs, b).unwrap());
    assert!(matches!(
        g.inputs(b, &upstream, &[]),
        Err(Error::InvalidOperator(_))
    ));
    g.tensor = 7;
    assert!(matches!(
        check_gradient(&op, &g, b, 1),
        Err(Error::InvalidOperator(_))
    ));
}
