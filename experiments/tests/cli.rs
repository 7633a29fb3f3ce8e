//! The command line end to end: summary lines (pinned by docs/CLI.md), exit codes, one-line
//! errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn kas(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kas"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("kas runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn last_line(s: &str) -> &str {
    s.trim_end().lines().last().unwrap_or("")
}

/// A temporary file with the given text, removed on drop.
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str, text: &str) -> Temp {
        let dir = std::env::temp_dir().join(format!("kas-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        Temp(p)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn assert_one_line_error(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(o));
    let e = stderr(o);
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(e.starts_with("error: "), "{e}");
    assert!(e.contains(needle), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn ops_check_summary_line() {
    let o = kas(&["ops", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(last_line(&stdout(&o)), "11/11 operators match");
    let j = kas(&["ops", "check", "--seed", "3", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["summary"], "11/11 operators match");
    assert_eq!(v["seed"], 3);
}

#[test]
fn ops_list_and_show() {
    let o = kas(&["ops", "list"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(last_line(&stdout(&o)), "11 operators");
    let o = kas(&["ops", "show", "syno-op2"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).lines().next(), Some("operator syno-op2"));
    let o = kas(&["ops", "show", "conv2d", "--dot"]);
    assert!(stdout(&o).starts_with("digraph"), "{}", stdout(&o));
    let o = kas(&["ops", "show", "conv2d", "--loops"]);
    assert!(stdout(&o).contains("void kas_conv2d("), "{}", stdout(&o));
    let o = kas(&["ops", "show", "conv2d", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["name"], "conv2d");
    assert_eq!(v["tensors"].as_array().unwrap().len(), 2);
    assert_one_line_error(&kas(&["ops", "show", "nope"]), "no library operator `nope`");
    // Flags that exclude each other are a usage error (exit 2).
    assert_eq!(
        kas(&["ops", "show", "conv2d", "--dot", "--ron"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn show_operator_and_spec_files() {
    let o = kas(&["show", "docs/examples/conv3x3.ron"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().next(), Some("operator conv3x3"));
    // The written form reads back as the same operator.
    let ron = stdout(&kas(&["ops", "show", "syno-op1", "--ron"]));
    let t = Temp::new("op1.ron", &ron);
    let o = kas(&["show", t.path(), "--ron"]);
    assert_eq!(stdout(&o), ron);
    let o = kas(&["show", "experiments/specs/resnet18-conv.ron"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().next(),
        Some("spec resnet18-conv (binding set resnet18-syno)")
    );
    assert_one_line_error(
        &kas(&["show", "experiments/specs/resnet18-conv.ron", "--dot"]),
        "apply to operator files",
    );
}

#[test]
fn bad_input_is_a_one_line_error_with_exit_2() {
    let t = Temp::new("bad.ron", "(kind: \"kas-operator\", version: 1, name: 3)");
    assert_one_line_error(&kas(&["show", t.path()]), "bad.ron:1:");
    let t = Temp::new("unclosed.ron", "(kind: \"kas-operator\",\n version: 1,\n");
    assert_one_line_error(&kas(&["show", t.path()]), "unclosed.ron:");
    let t = Temp::new("kind.ron", "(kind: \"kas-campaign\", version: 1)");
    assert_one_line_error(
        &kas(&["show", t.path()]),
        "unknown file kind `kas-campaign`",
    );
    let spec = std::fs::read_to_string(root().join("experiments/specs/resnet18-conv.ron")).unwrap();
    let t = Temp::new(
        "illegal.ron",
        &spec.replace(
            "[N, C_in: unordered, H, H]",
            "[N, C_in/(g*s*s): unordered, H, H]",
        ),
    );
    assert_one_line_error(&kas(&["show", t.path()]), "not an integer");
    let t = Temp::new(
        "unknown-var.ron",
        &spec.replace("[N, C_in: unordered, H, H]", "[N, C_x, H, H]"),
    );
    assert_one_line_error(&kas(&["show", t.path()]), "unknown variable `C_x`");
    let conv = std::fs::read_to_string(root().join("docs/examples/conv3x3.ron")).unwrap();
    let t = Temp::new("even.ron", &conv.replace("k=3", "k=4"));
    assert_one_line_error(&kas(&["show", t.path()]), "not odd");
    assert_one_line_error(&kas(&["show", "/nonexistent/x.ron"]), "cannot read");
}

#[test]
fn verify_summary_line_on_cpu() {
    let dir = std::env::temp_dir().join(format!("kas-verify-{}", std::process::id()));
    let o = kas(&[
        "verify",
        "--samples",
        "14",
        "--seed",
        "2",
        "--device",
        "cpu",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(last_line(&stdout(&o)), "14/14 equal");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("verify.json")).unwrap()).unwrap();
    assert_eq!(report["summary"], "14/14 equal");
    std::fs::remove_dir_all(&dir).ok();
    // Filled with synthesized operators instead of random programs.
    let o = kas(&[
        "verify",
        "--samples",
        "15",
        "--spec",
        "experiments/specs/cnn-small.ron",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("4 sampled from experiments/specs/cnn-small.ron"),
        "{}",
        stdout(&o)
    );
    assert_eq!(last_line(&stdout(&o)), "15/15 equal");
    std::fs::remove_dir_all(&dir).ok();
    // No GPU here (CI): a clear one-line error and exit 2, unless a GPU is present.
    let o = kas(&[
        "verify",
        "--samples",
        "1",
        "--device",
        "cuda",
        "--out",
        dir.to_str().unwrap(),
    ]);
    if o.status.code() == Some(2) {
        assert_one_line_error(&o, "GPU");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn export_summary_line() {
    let dir = std::env::temp_dir().join(format!("kas-export-cli-{}", std::process::id()));
    let o = kas(&[
        "export",
        "docs/examples/conv3x3.ron",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        last_line(&stdout(&o)),
        format!(
            "exported conv3x3: 2 binding(s), 5 files in {}",
            dir.display()
        )
    );
    for f in [
        "conv3x3.cu",
        "conv3x3.h",
        "launch.json",
        "conv3x3.loops.c",
        "conv3x3.dot",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    std::fs::remove_dir_all(&dir).ok();
    assert_one_line_error(
        &kas(&[
            "export",
            "conv2d",
            "--binding",
            "nope",
            "--out",
            dir.to_str().unwrap(),
        ]),
        "has no binding `nope`",
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn canon_forms_and_check_summary_lines() {
    let ron = stdout(&kas(&["ops", "show", "conv2d", "--ron"]));
    let t = Temp::new("conv2d.ron", &ron);
    let o = kas(&["canon", t.path(), t.path()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!(
            "{}: ab2b7ab3e5655e8c90c735e70f074f87 (conv2d)",
            t.path()
        )),
        "{out}"
    );
    assert_eq!(
        last_line(&out),
        format!(
            "2 operators, 1 canonical hashes (rules {})",
            kas_primitives::canon::rules::digest()
        )
    );
    let o = kas(&["canon", "--check", "16", "--seed", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        last_line(&stdout(&o)),
        "16/16 sound, 0 collisions, 16/16 exact pairs merged (100.0%)"
    );
    let o = kas(&["canon", "--census", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        last_line(&stdout(&o)).starts_with("census depth 2: "),
        "{}",
        stdout(&o)
    );
    // Neither files nor --check: a usage error.
    assert_eq!(kas(&["canon"]).status.code(), Some(2));
    assert_one_line_error(&kas(&["canon", "no-such.ron"]), "no-such.ron");
}

#[test]
fn sample_summary_line_and_stats_json() {
    let dir = std::env::temp_dir().join(format!("kas-sample-{}", std::process::id()));
    let out = dir.join("ops");
    let stats = dir.join("stats.json");
    let o = kas(&[
        "sample",
        "--spec",
        "experiments/specs/cnn-small.ron",
        "--count",
        "5",
        "--seed",
        "1",
        "--threads",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--stats-json",
        stats.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let last = last_line(&text);
    let (head, tail) = last.split_once(" s (").expect("summary line shape");
    assert!(head.starts_with("5 distinct operators in "), "{last}");
    assert!(
        tail.contains("/s), leaf_rate ") && tail.ends_with(", stop: count"),
        "{last}"
    );
    assert!(text.contains("distinct_per_sec") && text.contains("view_before_contraction"));
    let files = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(files, 5);
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert!(j["distinct_per_sec"].as_f64().unwrap() > 0.0);
    assert!(j["leaf_rate"].as_f64().unwrap() > 0.0);
    assert_eq!(j["distinct"], 5);
    // Every written file is a valid operator file.
    for f in std::fs::read_dir(&out).unwrap() {
        let p = f.unwrap().path();
        let o = kas(&["show", p.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sample_needs_a_stop_condition() {
    let o = kas(&["sample", "--spec", "experiments/specs/cnn-small.ron"]);
    assert_one_line_error(&o, "--count");
}

#[test]
fn bench_without_a_gpu_is_one_line_and_writes_nothing() {
    let gpu = Path::new("/proc/driver/nvidia/version").exists();
    if gpu {
        eprintln!("skipped: this machine has an NVIDIA driver, so `kas bench` would run");
        return;
    }
    let dir = std::env::temp_dir().join(format!("kas-bench-nogpu-{}", std::process::id()));
    let o = kas(&[
        "bench",
        "conv2d",
        "--set",
        "resnet34-layers",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_one_line_error(&o, "no CUDA GPU: kas bench needs one (");
    assert!(stdout(&o).is_empty());
    assert!(!dir.exists(), "nothing is written");
    // Bad requests are one line too, before any device is needed.
    let cpu = ["--device", "cpu"];
    let run = |extra: &[&str]| {
        let mut args = vec!["bench"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&cpu);
        kas(&args)
    };
    assert_one_line_error(
        &run(&["conv2d", "--set", "resnet50"]),
        "unknown binding set `resnet50`",
    );
    assert_one_line_error(
        &run(&["linear", "--set", "resnet34-layers"]),
        "the slot is [1, 64, 56, 56] → [1, 64, 56, 56]",
    );
    assert_one_line_error(&run(&["no-such-op"]), "cannot read no-such-op");
}
