//! Reading kas files: one reader capped at 64 MiB (`/dev/zero` used to grow to 24 GB), and
//! the kind and version of a file checked before its fields, so that a file of another kind
//! or version is named as such.

use kas_primitives::format::{MAX_FILE_BYTES, read_operator_file, read_text};
use kas_primitives::{Error, Spec};
use std::path::Path;

const OPERATOR: &str = include_str!("../../docs/examples/conv3x3.ron");
const SPEC: &str = include_str!("../../experiments/specs/cnn-small.ron");

#[test]
fn an_endless_file_is_refused_at_the_cap() {
    if !Path::new("/dev/zero").exists() {
        return;
    }
    let e = read_text(Path::new("/dev/zero")).unwrap_err();
    assert_eq!(
        e,
        Error::FileTooLarge {
            path: "/dev/zero".into(),
            max: MAX_FILE_BYTES
        }
    );
    assert_eq!(MAX_FILE_BYTES, 64 << 20);
}

#[test]
fn a_file_at_the_cap_reads_and_one_byte_more_does_not() {
    let dir = std::env::temp_dir().join(format!("kas-read-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("big.ron");
    std::fs::write(&p, vec![b' '; MAX_FILE_BYTES as usize]).unwrap();
    assert_eq!(read_text(&p).unwrap().len() as u64, MAX_FILE_BYTES);
    std::fs::write(&p, vec![b' '; MAX_FILE_BYTES as usize + 1]).unwrap();
    assert!(matches!(read_text(&p), Err(Error::FileTooLarge { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn os_errors_are_one_line_said_once() {
    let e = read_text(Path::new("/nonexistent/x.ron"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "cannot read /nonexistent/x.ron: No such file or directory (os error 2)"
    );
    let e = read_text(Path::new("/")).unwrap_err().to_string();
    assert_eq!(e.matches("os error").count(), 1, "{e}");
}

#[test]
fn a_spec_read_as_an_operator_is_named() {
    let e = read_operator_file(SPEC, "cnn-small.ron")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "cnn-small.ron: this is a slot spec (kind `kas-spec`), not an operator file (kind `kas-operator`)"
    );
}

#[test]
fn an_operator_read_as_a_spec_is_named() {
    let e = Spec::read(OPERATOR, "conv3x3.ron").unwrap_err().to_string();
    assert_eq!(
        e,
        "conv3x3.ron: this is an operator file (kind `kas-operator`), not a slot spec (kind `kas-spec`)"
    );
}

#[test]
fn the_version_is_checked_before_the_fields() {
    // Version 99 with a field this version does not know: the version is what is reported.
    let v99 = OPERATOR.replace("version: 1,", "version: 99, future: true,");
    let e = read_operator_file(&v99, "f.ron").unwrap_err().to_string();
    assert_eq!(
        e,
        "f.ron: `kas-operator` format version 99 is not supported (this kas reads 1 to 1)"
    );
    let v99 = SPEC.replace("version: 1,", "version: 99,");
    let e = Spec::read(&v99, "s.ron").unwrap_err().to_string();
    assert!(e.contains("version 99 is not supported"), "{e}");
    let none = OPERATOR.replace("version: 1,", "");
    let e = read_operator_file(&none, "f.ron").unwrap_err().to_string();
    assert!(e.contains("no `version` field"), "{e}");
}

#[test]
fn unknown_and_missing_kinds_say_what_was_expected() {
    let e = Spec::read(&SPEC.replace("kas-spec", "kas-thing"), "s.ron")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "s.ron: unknown kind `kas-thing`: expected a slot spec (kind `kas-spec`)"
    );
    let e = Spec::read("(name: \"x\")", "s.ron")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "s.ron: no `kind` field: expected a slot spec (kind `kas-spec`)"
    );
}
