//! Operator and spec files: parsing, round trips, error positions and the pinned structural
//! hash.

use kas_primitives::spec::Spec;
use kas_primitives::{Error, Operator, Plan, interp, read_operator, write_operator};

const CONV: &str = include_str!("../../docs/examples/conv3x3.ron");

fn conv() -> Operator {
    read_operator(CONV, "conv3x3.ron").unwrap().1
}

#[test]
fn golden_conv_reads_and_evaluates() {
    let op = conv();
    assert_eq!(op.weights.len(), 1);
    assert_eq!(op.bindings.len(), 2);
    let b = &op.bindings[0];
    let xs = interp::random_inputs(&op, b, 7, true).unwrap();
    let y = interp::interpret(&op, b, &xs).unwrap();
    assert_eq!(y.shape, vec![2, 5, 7, 9]);
    // One output point by hand: the corner (n=1, o=4, h=0, w=8) sees a 2×2 window.
    let (x, w) = (&xs[0], &xs[1]);
    let mut want = 0.0;
    for c in 0..3 {
        for a in 1..3 {
            for bb in 0..2 {
                want += x.get(&[1, c, a - 1, 8 + bb - 1]) * w.get(&[4, c, a, bb]);
            }
        }
    }
    assert_eq!(y.get(&[1, 4, 0, 8]), want);
}

#[test]
fn golden_conv_hash_is_pinned() {
    // Changing this value means every stored structural hash changes: bump the encoding
    // version in hash.rs and write a migration note in docs/FORMAT.md.
    assert_eq!(
        conv().structural_hash().to_string(),
        "8fe856a6f1aeed8c49479042d6473725"
    );
}

#[test]
fn round_trip_preserves_operator_and_hash() {
    let op = conv();
    let text = write_operator(
        "conv3x3",
        "k×k convolution, stride 1, same zero padding",
        &op,
    )
    .unwrap();
    let (name, back) = read_operator(&text, "<round trip>").unwrap();
    assert_eq!(name, "conv3x3");
    assert_eq!(back, op, "{text}");
    assert_eq!(back.structural_hash(), op.structural_hash());
    let again = write_operator(
        "conv3x3",
        "k×k convolution, stride 1, same zero padding",
        &back,
    )
    .unwrap();
    assert_eq!(again, text);
}

#[test]
fn names_and_bindings_do_not_change_the_hash() {
    let renamed = CONV
        .replace("\"kh\"", "\"tap_h\"")
        .replace("(name: \"odd\"", "(name: \"other\"");
    let (_, op) = read_operator(&renamed, "renamed").unwrap();
    assert_eq!(op.structural_hash(), conv().structural_hash());
    // A different window variable value is a different operator.
    let (_, op5) = read_operator(&CONV.replace("k=3", "k=5"), "k5").unwrap();
    assert_ne!(op5.structural_hash(), conv().structural_hash());
    // Swapping two output axes is a different operator.
    let swapped = CONV.replace(
        "output: [\"n\", \"c_out\", \"h\", \"w\"]",
        "output: [\"n\", \"c_out\", \"w\", \"h\"]",
    );
    let (_, op_t) = read_operator(&swapped, "swapped").unwrap();
    assert_ne!(op_t.structural_hash(), conv().structural_hash());
}

#[test]
fn conv_flops_are_those_of_a_convolution() {
    let op = conv();
    let plan = Plan::of(&op).unwrap();
    // N·C_out·H·W·C_in·k·k per binding.
    assert_eq!(plan.flops, vec![2 * 5 * 7 * 9 * 3 * 9, 4 * 2 * 5 * 6 * 9]);
    assert_eq!(plan.flops, plan.naive_flops);
}

#[test]
fn malformed_files_give_one_line_errors_with_positions() {
    let e = read_operator("(kind: \"kas-operator\", version: 1, name: 3)", "bad.ron").unwrap_err();
    match &e {
        Error::Parse { line, column, .. } => assert!(*line == 1 && (40..=42).contains(column)),
        other => panic!("{other}"),
    }
    assert!(!e.to_string().contains('\n'));
    let e = read_operator(&CONV.replace("\"kas-operator\"", "\"kas-spec\""), "x.ron").unwrap_err();
    assert!(
        e.to_string()
            .contains("this is a slot spec (kind `kas-spec`), not an operator file"),
        "{e}"
    );
    let e = read_operator(&CONV.replace("version: 1", "version: 9"), "x.ron").unwrap_err();
    assert!(e.to_string().contains("version 9"), "{e}");
    let e = read_operator(
        &CONV.replace(
            "window: \"k\", main: \"h\"",
            "window: \"C_in\", main: \"h\"",
        ),
        "x.ron",
    )
    .unwrap_err();
    assert!(e.to_string().contains("not odd"), "{e}");
    let e = read_operator(&CONV.replace("Reduce(\"kw_red\"),", ""), "x.ron").unwrap_err();
    assert!(e.to_string().contains("never used"), "{e}");
    let e = read_operator(
        &CONV.replace("Reduce(\"kw_red\"),", "Reduce(\"kh_red\"),"),
        "x.ron",
    )
    .unwrap_err();
    assert!(e.to_string().contains("used twice"), "{e}");
    let e = read_operator(&CONV.replace("\"H\": 7", "\"H\": 0"), "x.ron").unwrap_err();
    assert!(e.to_string().contains("at least 1"), "{e}");
}

const SPEC: &str = include_str!("../../experiments/specs/resnet18-conv.ron");

#[test]
fn golden_spec_reads() {
    let s = Spec::read(SPEC, "resnet18-conv.ron").unwrap();
    assert_eq!(s.binding_set, "resnet18-syno");
    assert_eq!(s.bindings.len(), 16);
    assert_eq!(s.input.len(), 4);
    assert!(s.input[1].unordered && s.output[1].unordered);
    assert_eq!(s.fixed, vec![(0, 0)]);
    assert_eq!(s.budgets.depth, 12);
    let e = Spec::read(&SPEC.replace("\"H\": 7", "\"H\": 0"), "bad.ron").unwrap_err();
    assert!(e.to_string().contains("at least 1"), "{e}");
    let e = Spec::read(
        &SPEC.replace(
            "[N, C_in: unordered, H, H]",
            "[N, C_in/(g*s*s): unordered, H, H]",
        ),
        "bad.ron",
    );
    assert!(e.is_err());
}
