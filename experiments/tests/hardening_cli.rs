//! Bad input through the command line ends in one line and exit 2, never a panic or a hang: a
//! model too large to build, a closed standard output, an export too large to generate (which
//! leaves no folder behind), an endless file, every `kas verify` argument read, files of the
//! wrong kind or version, campaign fields out of bounds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::{kas, one_line_error, root, stderr, stdout};

/// A scratch folder for one test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("kas-hardening-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
    fn file(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

/// Runs `kas args` with a standard output whose reader has already gone.
fn kas_into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_kas"))
        .args(args)
        .current_dir(root())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("kas runs")
}

#[test]
fn a_closed_standard_output_ends_quietly() {
    for args in [
        &["ops", "list"][..],
        &["show", "docs/examples/conv3x3.ron", "--json"],
        &["show", "docs/examples/conv3x3.ron"],
    ] {
        let o = kas_into_closed_pipe(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}");
    }
}

#[test]
fn a_model_too_large_to_build_is_one_line() {
    let s = Scratch::new("width");
    let base = read("experiments/configs/cnn-fmnist.ron");
    assert!(base.contains("width: Some(16)"));
    // Beyond any campaign's width: refused with the file.
    let wide = s.file(
        "wide.ron",
        &base.replace("width: Some(16)", "width: Some(100000)"),
    );
    let o = kas(&[
        "search",
        "--config",
        &wide,
        "--out",
        &s.path("a"),
        "--max-evals",
        "2",
    ]);
    one_line_error(&o, "model.width must be at most 65536, got 100000");
    // A width the file allows whose model is still too large: refused by the model.
    let wide = s.file(
        "wide5k.ron",
        &base.replace("width: Some(16)", "width: Some(5000)"),
    );
    let o = kas(&[
        "search",
        "--config",
        &wide,
        "--out",
        &s.path("b"),
        "--max-evals",
        "2",
    ]);
    one_line_error(&o, "parameters, more than");
}

#[test]
fn campaign_fields_out_of_bounds_are_one_line() {
    let s = Scratch::new("fields");
    let base = read("experiments/configs/cnn-fmnist.ron");
    for (from, to, needle) in [
        (
            "train_steps: Some(40)",
            "train_steps: Some(0)",
            "fidelities[0] (`screen`).train_steps must be at least 1",
        ),
        (
            "train_subset: Some(12800)",
            "train_subset: Some(1099511627776)",
            "train_subset must be at most",
        ),
    ] {
        assert!(base.contains(from), "{from}");
        let c = s.file("c.ron", &base.replace(from, to));
        let o = kas(&[
            "search",
            "--config",
            &c,
            "--out",
            &s.path("out"),
            "--max-evals",
            "2",
        ]);
        one_line_error(&o, needle);
    }
}

#[test]
fn an_export_too_large_is_refused_and_leaves_nothing() {
    let s = Scratch::new("export");
    let conv = read("docs/examples/conv3x3.ron");
    let big = s.file("big.ron", &conv.replace("\"k=3\"", "\"k=1099511627777\""));
    let start = std::time::Instant::now();
    let out = s.path("bundle");
    let o = kas(&["export", &big, "--out", &out]);
    one_line_error(&o, "too large to generate under binding");
    assert!(start.elapsed().as_secs() < 30, "{:?}", start.elapsed());
    assert!(!Path::new(&out).exists(), "a failed export left {out}");
    // Nested missing folders: none is left.
    let nested = s.path("x/y/z");
    let o = kas(&["export", &big, "--out", &nested]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!Path::new(&s.path("x")).exists());
    // A folder that existed before stays, as it was.
    let kept = s.path("kept");
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::write(Path::new(&kept).join("notes.txt"), "mine").unwrap();
    let o = kas(&["export", &big, "--out", &kept]);
    assert_eq!(o.status.code(), Some(2));
    let left: Vec<_> = std::fs::read_dir(&kept).unwrap().collect();
    assert_eq!(left.len(), 1);
    // A good export still writes its bundle.
    let o = kas(&["export", "docs/examples/conv3x3.ron", "--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(Path::new(&out).join("conv3x3.cu").exists());
}

#[test]
fn an_endless_file_is_refused() {
    if !Path::new("/dev/zero").exists() {
        return;
    }
    for args in [
        &["show", "/dev/zero"][..],
        &["export", "/dev/zero"],
        &["sample", "--spec", "/dev/zero", "--count", "1"],
    ] {
        let o = kas(args);
        one_line_error(&o, "/dev/zero is larger than 67108864 bytes");
    }
}

#[test]
fn verify_reads_every_argument_and_checks_up_to_n() {
    let s = Scratch::new("verify");
    let o = kas(&[
        "verify",
        "--spec",
        "/nonexistent.ron",
        "--samples",
        "2",
        "--out",
        &s.path("a"),
    ]);
    one_line_error(&o, "cannot read /nonexistent.ron");
    let o = kas(&[
        "verify",
        "--spec",
        "docs/examples/conv3x3.ron",
        "--samples",
        "2",
        "--out",
        &s.path("b"),
    ]);
    one_line_error(&o, "this is an operator file");
    let o = kas(&["verify", "--samples", "0", "--out", &s.path("c")]);
    one_line_error(&o, "--samples must be at least 1");
    let o = kas(&[
        "verify",
        "--samples",
        "2",
        "--spec",
        "experiments/specs/cnn-small.ron",
        "--out",
        &s.path("d"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("2 operators (2 from the library, 0 sampled"),
        "{out}"
    );
    assert_eq!(out.trim_end().lines().last(), Some("2/2 equal"), "{out}");
}

#[test]
fn files_of_another_kind_or_version_are_named() {
    let s = Scratch::new("kinds");
    let o = kas(&[
        "sample",
        "--spec",
        "docs/examples/conv3x3.ron",
        "--count",
        "1",
    ]);
    one_line_error(
        &o,
        "this is an operator file (kind `kas-operator`), not a slot spec (kind `kas-spec`)",
    );
    let o = kas(&["export", "experiments/specs/cnn-small.ron"]);
    one_line_error(
        &o,
        "this is a slot spec (kind `kas-spec`), not an operator file",
    );
    let o = kas(&["show", "experiments/configs/cnn-fmnist.ron"]);
    one_line_error(&o, "this is a campaign file");
    let o = kas(&[
        "search",
        "--config",
        "experiments/specs/cnn-small.ron",
        "--out",
        &s.path("out"),
    ]);
    one_line_error(
        &o,
        "this is a slot spec (kind `kas-spec`), not a campaign file",
    );
    let spec = read("experiments/specs/cnn-small.ron").replace("version: 1,", "version: 99,");
    let v99 = s.file("v99.ron", &spec);
    let o = kas(&["sample", "--spec", &v99, "--count", "1"]);
    one_line_error(&o, "`kas-spec` format version 99 is not supported");
    let op = read("docs/examples/conv3x3.ron").replace("version: 1,", "version: 99,");
    let v99 = s.file("op99.ron", &op);
    let o = kas(&["show", &v99]);
    one_line_error(&o, "`kas-operator` format version 99 is not supported");
}
