//! Golden tests of the printers: the printed C, Graphviz and pseudo-code of a few operators
//! are compared with the files under `tests/golden/`. Run with `KAS_BLESS=1` to (re)write them.

mod common;

use kas_primitives::Operator;
use kas_primitives::print::{dot, loop_nest_c, loops_text};
use std::path::PathBuf;

fn check(name: &str, ext: &str, text: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.{ext}"));
    if std::env::var("KAS_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read golden file {} ({e}); run with KAS_BLESS=1 to create it",
            path.display()
        )
    });
    assert!(
        want == text,
        "{} differs from the printed text (run with KAS_BLESS=1 to accept):\n--- printed ---\n{text}",
        path.display()
    );
}

fn check_all(name: &str, op: &Operator) {
    check(name, "c", &loop_nest_c(op, name));
    check(name, "dot", &dot(op));
    check(name, "txt", &loops_text(op));
}

#[test]
fn conv3x3() {
    check_all("conv3x3", &common::conv3x3());
}

#[test]
fn shuffle_stride() {
    check_all("shuffle_stride", &common::shuffle_stride());
}

#[test]
fn two_weights() {
    check_all("two_weights", &common::two_weights());
}

#[test]
fn printing_is_deterministic() {
    for (name, op) in common::all() {
        assert_eq!(loop_nest_c(&op, name), loop_nest_c(&op.clone(), name));
        assert_eq!(dot(&op), dot(&op.clone()));
        assert_eq!(loops_text(&op), loops_text(&op.clone()));
    }
}

#[test]
fn hostile_names() {
    check_all("hostile_names", &common::hostile_names());
}
