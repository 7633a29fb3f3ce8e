//! Sizes beyond what kas generates code for are refused with a typed one-line error before any
//! work proportional to them: a window of 2^40 + 1 used to spin for minutes in the tiled
//! kernel's address planning (and to overflow the reduction's extent).

use kas_codegen::StageIr;
use kas_codegen::cuda::{MAX_ELEMENTS, generate, heuristic_schedule, varied_schedule};
use kas_codegen::{Error, export::bundle};
use kas_primitives::read_operator;

const CONV: &str = include_str!("../../docs/examples/conv3x3.ron");

#[test]
fn a_huge_window_is_refused_at_once() {
    let text = CONV.replace("\"k=3\"", "\"k=1099511627777\"");
    let (_, op) = read_operator(&text, "big.ron").unwrap();
    let ir = StageIr::lower(&op).unwrap();
    let start = std::time::Instant::now();
    for b in &op.bindings {
        for e in [
            heuristic_schedule(&ir, b).unwrap_err(),
            varied_schedule(&ir, b, 3).unwrap_err(),
            generate(&ir, b).unwrap_err(),
        ] {
            assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
            let line = e.to_string();
            assert!(
                line.starts_with("too large to generate under binding"),
                "{line}"
            );
            assert!(!line.contains('\n'));
        }
    }
    let e = bundle("big", &op, &op.bindings).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
}

#[test]
fn the_bound_is_far_above_real_operators() {
    // The example at its own bindings, and at a large but real one, generates.
    let (_, op) = read_operator(CONV, "conv3x3.ron").unwrap();
    let ir = StageIr::lower(&op).unwrap();
    for b in &op.bindings {
        generate(&ir, b).unwrap();
    }
    let big = op
        .vars
        .bind(
            "resnet-like",
            [
                ("N", 128),
                ("C_in", 512),
                ("C_out", 512),
                ("H", 64),
                ("W", 64),
            ],
        )
        .unwrap();
    heuristic_schedule(&ir, &big).unwrap();
    assert_eq!(MAX_ELEMENTS, 1 << 48);
}
