//! `kas bench --layout nhwc`: kas's operator timed channels-last (its input, output and 4-axis
//! weights in N, H, W, C order) beside the baseline on channels-last tensors, validated first;
//! refused in one line for an operator that is not a convolution slot. CPU, tiny shapes.

use serde_json::Value;

mod common;
use common::kas;

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_channels_last_conv_is_validated_and_timed_beside_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let o = kas(&[
        "bench",
        "conv2d",
        "--device",
        "cpu",
        "--spec",
        "experiments/specs/cnn-small.ron",
        "--layout",
        "nhwc",
        "--repeats",
        "3",
        "--budget",
        "0.3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("channels-last (NHWC) on both sides"),
        "{}",
        text(&o)
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap()).unwrap();
    assert_eq!(json["layout"], "nhwc");
    for b in json["result"]["bindings"].as_array().unwrap() {
        assert!(b["failure"].is_null(), "{b}");
        assert!(b["validation"]["err"].as_f64().unwrap() <= 1e-4, "{b}");
        assert!(b["kas"]["stats"]["median"].as_f64().unwrap() > 0.0);
        assert!(b["baseline"]["stats"]["median"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn a_layout_for_an_operator_without_4_axis_tensors_is_one_line() {
    let o = kas(&[
        "bench",
        "linear",
        "--device",
        "cpu",
        "--layout",
        "nhwc",
        "--repeats",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--layout nhwc needs an operator with a 4-axis input and output"),
        "{}",
        text(&o)
    );
}
