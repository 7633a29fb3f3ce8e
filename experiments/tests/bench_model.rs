//! `kas bench OP --model M --device cpu` end to end on the small CNN: the worker process, both
//! models, the skipped-slots run, the training step, model-bench.json, and one-line refusals
//! of bad input. (The GPU path, kas's kernels captured into CUDA graphs, needs a GPU: see
//! docs/CLI.md for the H200 commands.)

mod common;

use common::{kas, stdout};
use serde_json::Value;

fn run(tag: &str, extra: &[&str]) -> (std::process::Output, Option<Value>) {
    let dir = std::env::temp_dir().join(format!("kas-bench-model-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut args = vec![
        "bench",
        "conv2d",
        "--model",
        "cnn",
        "--device",
        "cpu",
        "--batch",
        "2",
        "--repeats",
        "2",
        "--budget",
        "0.5",
        "--out",
    ];
    args.push(dir.to_str().unwrap());
    args.extend_from_slice(extra);
    let o = kas(&args);
    let json = std::fs::read_to_string(dir.join("model-bench.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    (o, json)
}

fn positive(v: &Value) -> bool {
    v.as_f64().is_some_and(|x| x.is_finite() && x > 0.0)
}

#[test]
fn a_whole_model_forward_pass_is_timed_on_both_sides() {
    let (o, json) = run("forward", &[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", common::stderr(&o));
    assert!(
        out.contains("forward pass, f32; the tch plan in the 4 slots"),
        "{out}"
    );
    assert!(out.contains("slots [%]"), "{out}");
    let j = json.expect("model-bench.json written");
    assert_eq!(j["model"], "cnn");
    assert_eq!(j["slots"], 4);
    let s = &j["summary"][0];
    assert_eq!(s["batch"], 2);
    for k in ["original_s", "kas_s", "rest_s", "speedup"] {
        assert!(positive(&s[k]), "{k}: {s}");
    }
    let share = s["slot_share"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&share), "{s}");
    assert!(s["failure"].is_null(), "{s}");
}

#[test]
fn a_training_step_is_timed_on_both_sides() {
    let (o, json) = run("train", &["--train", "--json"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", common::stderr(&o));
    let printed: Value = serde_json::from_str(&out).expect("--json prints the report");
    let j = json.expect("model-bench.json written");
    assert_eq!(printed, j);
    assert_eq!(j["what"], "training step");
    let s = &j["summary"][0];
    assert!(positive(&s["original_s"]) && positive(&s["kas_s"]), "{s}");
    assert!(
        s["rest_s"].is_null(),
        "no skipped-slots run in training: {s}"
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["bench", "conv2d", "--model", "vgg", "--device", "cpu"],
            "unknown model `vgg`",
        ),
        (
            &["bench", "linear", "--model", "cnn", "--device", "cpu"],
            "`linear` cannot fill the slots of `cnn`",
        ),
        (
            &[
                "bench", "conv2d", "--model", "gpt", "--device", "cpu", "--train",
            ],
            "`conv2d` cannot fill the slots of `gpt`",
        ),
        (
            &[
                "bench", "conv2d", "--model", "cnn", "--device", "cpu", "--batch", "0",
            ],
            "the batch must be at least 1",
        ),
        (
            &[
                "bench", "conv2d", "--model", "cnn", "--device", "cpu", "--layout", "nhwc",
            ],
            "--layout nhwc does not apply to --model",
        ),
        (
            &[
                "bench",
                "conv2d",
                "--model",
                "cnn",
                "--device",
                "cpu",
                "--precision",
                "bf16",
            ],
            "bf16",
        ),
    ];
    for (args, want) in cases {
        let o = kas(args);
        let err = common::stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // --train needs --model (clap's usage error, exit 2).
    let o = kas(&["bench", "conv2d", "--train", "--device", "cpu"]);
    assert_eq!(o.status.code(), Some(2));
}
