//! `evaluations_per_device` (campaign file): several evaluations at once on one device. With
//! `devices: ["cpu"]` and 3 per device, the campaign really has 3 evaluations in flight (the
//! journal records 3 jobs before their outcomes); a bad count is one line and exit 2.

use kas_search::journal::{self, Record};
use std::path::Path;
use std::process::Output;

mod common;
use common::{kas, root};

/// A stand-in campaign in `dir` on one CPU with `per_device` evaluations at once, each taking
/// `sleep_ms`.
fn config(dir: &Path, per_device: &str, sleep_ms: u64) -> String {
    let spec = root().join("experiments/specs/cnn-small.ron");
    let text = format!(
        r#"(
        kind: "kas-campaign", version: 1, name: "per-device",
        model: (name: "cnn", spec: File("{}")),
        data: "fashion-mnist",
        search: Mcts(()),
        budget: (max_evals: 6),
        fidelities: [(name: "screen", train_steps: Some(10)), (name: "full", epochs: Some(1.0))],
        promote_eta: 3,
        seed: 2,
        devices: ["cpu"],
        {per_device}
        evaluator: StandIn((sleep_ms: {sleep_ms})),
    )"#,
        spec.display()
    );
    let p = dir.join("campaign.ron");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn succeeded(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The most evaluations in flight at once: jobs recorded and not yet answered by an outcome,
/// in journal order.
fn most_in_flight(dir: &Path) -> usize {
    let mut now = 0usize;
    let mut most = 0;
    for r in journal::read(dir).unwrap().records {
        match r {
            Record::Job { .. } => {
                now += 1;
                most = most.max(now);
            }
            Record::Outcome { .. } => now = now.saturating_sub(1),
            _ => {}
        }
    }
    most
}

fn run(per_device: &str) -> usize {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), per_device, 300);
    let out = tmp.path().join("c");
    let o = kas(&["search", "--config", &cfg, "--out", out.to_str().unwrap()]);
    succeeded(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("6 evaluations in all"), "{text}");
    most_in_flight(&out)
}

#[test]
fn three_per_device_run_three_at_once_on_one_device() {
    assert_eq!(run("evaluations_per_device: 3,"), 3);
    // The default is one at a time, as before the field existed.
    assert_eq!(run(""), 1);
}

#[test]
fn a_bad_count_is_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    for (value, needle) in [
        ("0", "evaluations_per_device must be at least 1"),
        ("17", "evaluations_per_device must be at most 16, got 17"),
    ] {
        let cfg = config(tmp.path(), &format!("evaluations_per_device: {value},"), 0);
        let out = tmp.path().join(format!("c{value}"));
        let o = kas(&["search", "--config", &cfg, "--out", out.to_str().unwrap()]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        assert!(e.starts_with("error: ") && e.contains(needle), "{e}");
        assert!(!out.join("journal.jsonl").exists());
    }
}
