//! Helpers shared by the command-line tests: the repository root and running the built `kas`
//! there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the `kas` binary runs there, as a user would).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs the built `kas` with `args` in the repository root.
pub fn kas(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kas"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("kas runs")
}

/// Like [`kas`] with one libtorch (OpenMP, MKL) thread: on 2 cores shared with other tests,
/// OpenMP's spinning threads made tiny trainings about 10x slower.
#[allow(dead_code)] // only the tests that train
pub fn kas_one_thread(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kas"))
        .args(args)
        .current_dir(root())
        .env("OMP_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .output()
        .expect("kas runs")
}

/// A command's standard output (lossy UTF-8).
#[allow(dead_code)] // not every test binary reads both streams
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A command's standard error (lossy UTF-8).
#[allow(dead_code)] // not every test binary reads both streams
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts that `o` failed as bad input should: exit 2 and one line on standard error,
/// `error: …` naming `needle`, no panic; returns that line.
#[allow(dead_code)] // not every test binary checks errors
pub fn one_line_error(o: &Output, needle: &str) -> String {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {e}");
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(e.starts_with("error: "), "{e}");
    assert!(!e.contains("panicked"), "{e}");
    assert!(e.contains(needle), "`{needle}` not in: {e}");
    e
}

/// The path of `experiments/specs/NAME`.
#[allow(dead_code)] // not every test binary reads specs
pub fn spec(name: &str) -> String {
    root()
        .join("experiments/specs")
        .join(name)
        .display()
        .to_string()
}

/// Writes `dir/file`, a campaign of the small CNN slot (`experiments/specs/cnn-small.ron`) on
/// Fashion-MNIST with the stand-in evaluator on one CPU, with `fields` (name, search, budget,
/// fidelities, seed, …) in the middle; returns its path.
#[allow(dead_code)] // not every test binary writes campaigns
pub fn standin_campaign(dir: &Path, file: &str, fields: &str) -> String {
    let spec = root().join("experiments/specs/cnn-small.ron");
    let text = format!(
        r#"(
        kind: "kas-campaign", version: 1,
        model: (name: "cnn", spec: File("{}")),
        data: "fashion-mnist",
        {fields}
        devices: ["cpu"],
        evaluator: StandIn(()),
    )"#,
        spec.display()
    );
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}
