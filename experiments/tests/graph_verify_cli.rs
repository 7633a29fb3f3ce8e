//! `kas graph verify` end to end on the CPU: sampled graph kernels' tch path and CUDA programs
//! (on the host emulation of CUDA) against the interpreter, also in a causal token-mixing slot
//! (every kernel checked causal); one-line errors.

mod common;
use common::{kas, one_line_error, spec, stderr, stdout};

#[test]
fn sampled_graph_kernels_agree_on_every_cpu_backend() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("v");
    let o = kas(&[
        "graph",
        "verify",
        "--spec",
        &spec("cnn-small.ron"),
        "--count",
        "4",
        "--seed",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}\n{}", stderr(&o));
    assert!(text.contains("host emulation of CUDA"), "{text}");
    assert!(text.contains("8 kernel-binding checks"), "{text}");
    assert!(text.trim_end().ends_with("4/4 equal"), "{text}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("verify.json")).unwrap()).unwrap();
    assert_eq!(report["summary"], "4/4 equal");
    assert_eq!(report["results"].as_array().unwrap().len(), 4);
}

#[test]
fn token_mixing_kernels_agree_and_are_checked_causal() {
    let tmp = tempfile::tempdir().unwrap();
    let o = kas(&[
        "graph",
        "verify",
        "--spec",
        &spec("gpt-mix-small.ron"),
        "--count",
        "2",
        "--seed",
        "1",
        "--out",
        tmp.path().join("v").to_str().unwrap(),
    ]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}\n{}", stderr(&o));
    assert!(text.contains("2 kernels checked causal"), "{text}");
    assert!(text.trim_end().ends_with("2/2 equal"), "{text}");
}

#[test]
fn bad_arguments_are_one_line_errors() {
    let s = spec("cnn-small.ron");
    let o = kas(&["graph", "verify", "--spec", &s, "--count", "0"]);
    one_line_error(&o, "--count");
    let o = kas(&["graph", "verify", "--spec", &s, "--batch", "0"]);
    one_line_error(&o, "--batch");
    let o = kas(&["graph", "verify", "--spec", &spec("gpt-qkv.ron")]);
    one_line_error(&o, "image slots");
    let o = kas(&["graph", "verify", "--spec", "/nonexistent/spec.ron"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
