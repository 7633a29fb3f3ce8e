use super::*;
use crate::error::Error;
use crate::graph::{Op, Source};
use std::collections::BTreeSet;

#[test]
fn deterministic() {
    let cfg = RandomConfig::default();
    for seed in 0..20 {
        assert_eq!(random_program(seed, &cfg), random_program(seed, &cfg));
        assert_eq!(random_operator(seed, &cfg), random_operator(seed, &cfg));
    }
}

/// Whether the Share output `d` is the data side of another weight's Share.
fn shared_by_two_weights(op: &Operator) -> bool {
    op.ops.iter().any(|o| match *o {
        Op::Share { data, .. } => {
            matches!(op.dim(data).source, Source::Op(k) if matches!(op.ops[k], Op::Share { .. }))
        }
        _ => false,
    })
}

#[test]
fn valid_operators_cover_every_primitive() {
    let cfg = RandomConfig::default();
    let mut kinds = BTreeSet::new();
    let (mut neg_shift, mut pos_shift, mut big_window, mut two_weights_axis) =
        (false, false, false, false);
    let (mut standalone_expand, mut created) = (false, false);
    let mut weight_counts = BTreeSet::new();
    for seed in 0..300 {
        let op = random_operator(seed, &cfg);
        op.validate().unwrap();
        weight_counts.insert(op.weights.len());
        two_weights_axis |= shared_by_two_weights(&op);
        for o in &op.ops {
            kinds.insert(o.kind());
            match *o {
                Op::Shift { offset, .. } => {
                    neg_shift |= offset < 0;
                    pos_shift |= offset > 0;
                }
                Op::Unfold { input, window, .. } => {
                    big_window |= op.bindings.iter().any(|b| {
                        op.size(window).eval(b).unwrap() > op.size(input).eval(b).unwrap()
                    });
                }
                Op::Expand { output } => {
                    let into_share = matches!(op.dim(output).sink,
                        Some(crate::Sink::Op(k)) if matches!(op.ops[k], Op::Share { .. }));
                    created |= into_share;
                    standalone_expand |= !into_share;
                }
                _ => {}
            }
        }
    }
    assert_eq!(kinds.len(), 8, "{kinds:?}");
    assert!(neg_shift && pos_shift && big_window && two_weights_axis);
    assert!(standalone_expand && created);
    assert_eq!(weight_counts, BTreeSet::from([1, 2, 3]));
}

#[test]
fn programs_exercise_error_paths() {
    let cfg = RandomConfig::default();
    let mut seen = BTreeSet::new();
    let mut ok = 0;
    for seed in 0..400 {
        match build_program(&random_program(seed, &cfg)) {
            Ok(_) => ok += 1,
            Err(e) => {
                seen.insert(match e {
                    Error::IllegalSize { .. } => "size",
                    Error::EvenWindow { .. } => "even",
                    Error::DimUsedTwice(_) => "twice",
                    Error::DimUnused(_) => "unused",
                    Error::InvalidOperator(_) => "invalid",
                    _ => "other",
                });
            }
        }
    }
    assert!(ok > 200, "only {ok} valid programs");
    for k in ["size", "even", "twice", "unused", "invalid"] {
        assert!(seen.contains(k), "no `{k}` error in {seen:?}");
    }
}

#[test]
fn bad_handles_are_typed_errors() {
    let p = Program {
        seed: 0,
        primary: vec!["N".into()],
        coefficient: vec!["k=3".into()],
        bindings: vec![("a".into(), vec![("N".into(), 3)])],
        input: vec!["N".into()],
        steps: vec![BuilderCall::Reduce(5)],
        unordered: vec![],
        outputs: vec![0],
    };
    assert!(matches!(build_program(&p), Err(Error::UnknownDim(_))));
    assert!(p.to_string().contains("reduce %5"));
}

#[test]
fn extreme_shift_offsets_evaluate() {
    let p = Program {
        seed: 0,
        primary: vec!["N".into()],
        coefficient: vec![],
        bindings: vec![("a".into(), vec![("N".into(), 5)])],
        input: vec!["N".into()],
        steps: vec![
            BuilderCall::Shift {
                dim: 0,
                offset: i64::MAX,
            },
            BuilderCall::Shift {
                dim: 1,
                offset: i64::MIN,
            },
            BuilderCall::Contract(vec![AxisSpec::Share(2)]),
        ],
        unordered: vec![],
        outputs: vec![3],
    };
    let op = build_program(&p).unwrap();
    let b = &op.bindings[0];
    let xs = crate::interp::random_inputs(&op, b, 1, true).unwrap();
    let y = crate::interp::interpret(&op, b, &xs).unwrap();
    // (i + MAX) mod 5 then (j + MIN) mod 5: a net shift of (2 + 2) mod 5 = 4.
    for i in 0..5 {
        assert_eq!(y.data[i], xs[0].data[(i + 4) % 5] * xs[1].data[i]);
    }
    let acc = crate::Accesses::of(&op);
    assert_eq!(acc.tensors[0][0].eval(b, &[1], &[]), 0);
}
