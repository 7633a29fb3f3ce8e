//! Hardening for people (issue 15): `kas train --test-subset` bounds evaluation and reports
//! its progress without a terminal; an OS error is printed once; `scripts/env.sh`, sourced into
//! a shell, leaves the shell's options alone and never closes it.

use kas_eval::data::DatasetName;
use kas_eval::data::synthetic::write_synthetic;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{kas, root};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A tiny CNN run on a synthetic Fashion-MNIST with 120 test images, with `extra` arguments.
fn train_tiny(dir: &Path, extra: &[&str]) -> Output {
    let data = dir.join("data");
    if !data.exists() {
        write_synthetic(DatasetName::FashionMnist, &data, 64, 120, 0).unwrap();
    }
    let out = dir.join(format!("out{}", extra.join("")));
    let mut args = vec![
        "train",
        "--model",
        "cnn",
        "--data",
        "fashion-mnist",
        "--data-dir",
        data.to_str().unwrap(),
        "--width",
        "4",
        "--batch",
        "16",
        "--steps",
        "2",
        "--device",
        "cpu",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    kas(&args)
}

#[test]
fn train_test_subset_bounds_evaluation_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let whole = train_tiny(dir.path(), &[]);
    assert_eq!(whole.status.code(), Some(0), "{}", text(&whole.stderr));
    // Without a terminal, a line closes every evaluation.
    assert!(
        text(&whole.stderr).contains("train: evaluated 120 test images at step 2 ("),
        "{}",
        text(&whole.stderr)
    );
    let cut = train_tiny(dir.path(), &["--test-subset", "40"]);
    assert_eq!(cut.status.code(), Some(0), "{}", text(&cut.stderr));
    let err = text(&cut.stderr);
    assert!(
        err.contains("train: evaluated 40 test images at step 2 (") && !err.contains(" 120 "),
        "{err}"
    );
    let j: serde_json::Value = serde_json::from_slice(&cut.stdout).unwrap();
    assert_eq!(j["test_samples"], 40, "{j}");
    assert_eq!(j["train_samples"], 64, "{j}");
    // A size past the split keeps the whole split.
    let all = train_tiny(dir.path(), &["--test-subset", "1000000"]);
    let j: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    assert_eq!(j["test_samples"], 120, "{j}");
}

#[test]
fn train_subset_of_zero_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    for flag in ["--test-subset", "--train-subset"] {
        let o = train_tiny(dir.path(), &[flag, "0"]);
        assert_eq!(o.status.code(), Some(2), "{flag}");
        let err = text(&o.stderr);
        assert_eq!(err, format!("error: {flag} must be at least 1\n"));
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn an_os_error_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let cache = dir.path().join("cache.json");
    let out = dir.path().join("new");
    for args in [
        vec!["show", d],
        vec!["search", "--config", d, "--out", out.to_str().unwrap()],
        vec!["tune", "import", d, "--cache", cache.to_str().unwrap()],
    ] {
        let o = kas(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert_eq!(err.matches("os error 21").count(), 1, "{args:?}: {err}");
    }
}

// ------------------------------------------------------------------ scripts/env.sh

/// Runs `script` in a fresh bash (no rc files) from the repository root.
fn bash(script: &str, env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new("/bin/bash");
    c.args(["--norc", "--noprofile", "-c", script])
        .current_dir(root());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("bash runs")
}

/// A `KAS_HOME` where env.sh finds libtorch, NVRTC, nvcc and Ray present (empty stand-ins), so
/// that sourcing it installs nothing; `None` (with the reason printed) when python3 is missing.
fn fake_kas_home(dir: &Path) -> Option<PathBuf> {
    let py = Command::new("python3")
        .args(["-c", "import sys; print(sys.version_info.minor)"])
        .output();
    let minor = match py {
        Ok(o) if o.status.success() => text(&o.stdout).trim().to_string(),
        _ => {
            println!("skipped: python3 does not run here (env.sh needs it)");
            return None;
        }
    };
    let home = dir.join("kas-home");
    let site = |venv: &str| {
        home.join(venv)
            .join(format!("lib/python3.{minor}/site-packages"))
    };
    let torch = site("torch-2.11.0");
    let nvcc = site("nvcc-13.0").join("nvidia/cu13");
    for f in [
        torch.join("torch/lib/libtorch_cpu.so"),
        torch.join("nvidia/cu13/lib/libnvrtc.so.13"),
        nvcc.join("include/cuda_runtime.h"),
        nvcc.join("bin/nvcc"),
        home.join("ray-2.60.0/bin/ray"),
    ] {
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, "").unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    for exe in [nvcc.join("bin/nvcc"), home.join("ray-2.60.0/bin/ray")] {
        std::fs::set_permissions(exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    Some(home)
}

#[test]
fn sourcing_env_sh_leaves_the_shell_options_alone() {
    let dir = tempfile::tempdir().unwrap();
    let Some(home) = fake_kas_home(dir.path()) else {
        return;
    };
    let o = bash(
        "source scripts/env.sh; echo \"rc=$?\"; set -o | grep -E '^(errexit|nounset|pipefail)\\b'; \
         false; grep -q no-such-text /dev/null; echo \"still-here $LIBTORCH\"",
        &[("KAS_HOME", &home)],
    );
    let out = text(&o.stdout);
    let err = text(&o.stderr);
    assert!(out.contains("rc=0\n"), "{out}\n{err}");
    for opt in ["errexit", "nounset", "pipefail"] {
        let line = out.lines().find(|l| l.starts_with(opt)).unwrap();
        assert!(line.ends_with("off"), "{line}");
    }
    assert!(
        out.contains(&format!("still-here {}/torch-2.11.0/", home.display())),
        "{out}"
    );
    assert!(!err.contains("installing"), "{err}");
}

#[test]
fn a_missing_prerequisite_returns_from_source_with_one_line() {
    let empty = tempfile::tempdir().unwrap();
    let path = empty.path();
    // Sourced interactively: `source` fails, the shell goes on.
    let o = bash(
        "PATH=\"$EMPTY\"; source scripts/env.sh; echo \"rc=$?\"; false; echo still-here",
        &[("EMPTY", path)],
    );
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(out, "rc=2\nstill-here\n", "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("kas set-up: 'cargo' is required but not found"),
        "{err}"
    );
    // Sourced by a strict script (scripts/main, scripts/test): the script stops there.
    let o = bash(
        "set -euo pipefail; PATH=\"$EMPTY\"; source scripts/env.sh; echo unreachable",
        &[("EMPTY", path)],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stdout).is_empty());
}
