//! The operator-file and spec-file readers on arbitrary and mutated input (the real files of
//! `docs/examples` and `experiments/specs` with bytes deleted, tokens inserted, numbers and
//! strings replaced by extreme ones): an error or a valid value, never a panic. A bounded
//! number of cases (`PROPTEST_CASES` asks for more), so it runs in CI in seconds.

mod ron_mutation;

use kas_primitives::format::read_operator_file;
use kas_primitives::{Spec, read_operator, write_operator};
use proptest::prelude::*;
use proptest::sample::Index;
use ron_mutation::{apply, config, edit, runs, strings};

const OPERATORS: [&str; 1] = [include_str!("../../docs/examples/conv3x3.ron")];

const SPECS: [&str; 3] = [
    include_str!("../../experiments/specs/cnn-small.ron"),
    include_str!("../../experiments/specs/resnet18-conv.ron"),
    include_str!("../../experiments/specs/gpt-qkv.ron"),
];

/// Reads `text` as an operator file; a value must survive a write and a read back.
fn operator(text: &str) {
    if let Ok((file, op)) = read_operator_file(text, "f.ron") {
        let written = write_operator(&file.name, &file.description, &op).unwrap();
        let (_, back) = read_operator(&written, "again.ron").unwrap();
        assert_eq!(back, op, "{written}");
    }
}

/// Reads `text` as a spec file; a value has at least one binding (a rule of specs).
fn spec(text: &str) {
    if let Ok(s) = Spec::read(text, "s.ron") {
        assert!(!s.bindings.is_empty());
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_is_an_error_or_a_value(text in "[ -~\n]{0,300}") {
        operator(&text);
        spec(&text);
    }

    #[test]
    fn a_mutated_operator_file_is_an_error_or_a_value(
        edits in prop::collection::vec(edit(), 1..4),
        which in any::<Index>(),
    ) {
        let text = apply(OPERATORS[which.index(OPERATORS.len())], &edits);
        operator(&text);
        spec(&text);
    }

    #[test]
    fn a_mutated_spec_file_is_an_error_or_a_value(
        edits in prop::collection::vec(edit(), 1..4),
        which in any::<Index>(),
    ) {
        let text = apply(SPECS[which.index(SPECS.len())], &edits);
        spec(&text);
        operator(&text);
    }
}

#[test]
fn the_unmutated_files_read() {
    for t in OPERATORS {
        assert!(read_operator_file(t, "f.ron").is_ok());
    }
    for t in SPECS {
        assert!(Spec::read(t, "s.ron").is_ok());
    }
    // The edits find what they replace.
    assert!(runs(OPERATORS[0].as_bytes(), |c| c.is_ascii_digit()).len() > 10);
    assert!(strings(OPERATORS[0].as_bytes()).len() > 20);
}
