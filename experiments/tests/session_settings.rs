//! `kas search --kernels K --evaluations-per-device N`: execution settings that a new campaign
//! stores in its file and a resume applies to its session only (the stored file and its digest
//! stay, so the resume is not refused as an edited campaign). Stand-in evaluator.

use std::path::Path;
use std::process::Output;

mod common;
use common::kas;

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A stand-in campaign file in `dir`; returns its path.
fn config(dir: &Path) -> String {
    common::standin_campaign(
        dir,
        "c.ron",
        r#"name: "session-settings",
        search: Random,
        budget: (max_evals: 4),
        fidelities: [(name: "screen", train_steps: Some(10), timing_repeats: Some(3))],
        seed: 3,"#,
    )
}

#[test]
fn bad_values_are_one_line_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let out = tmp.path().join("run");
    for (flag, value, says) in [
        (
            "--evaluations-per-device",
            "0",
            "--evaluations-per-device must be 1 to 16, not 0",
        ),
        ("--evaluations-per-device", "17", "must be 1 to 16, not 17"),
        ("--kernels", "fast", "unknown kernels `fast`"),
    ] {
        let o = kas(&[
            "search",
            "--config",
            &cfg,
            "--out",
            out.to_str().unwrap(),
            flag,
            value,
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(says), "{}", text(&o));
        assert!(!out.join("journal.jsonl").exists(), "nothing written");
    }
}

#[test]
fn a_new_campaign_stores_them_and_a_resume_uses_them_for_its_session_only() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let dir = tmp.path().join("run");
    let d = dir.to_str().unwrap();
    let o = kas(&[
        "search",
        "--config",
        &cfg,
        "--out",
        d,
        "--max-evals",
        "2",
        "--evaluations-per-device",
        "2",
        "--kernels",
        "heuristic",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stored = std::fs::read_to_string(dir.join("campaign.ron")).unwrap();
    assert!(stored.contains("evaluations_per_device: 2"), "{stored}");
    assert!(stored.contains("kernels: Heuristic"), "{stored}");

    let o = kas(&[
        "search",
        "--resume",
        d,
        "--max-evals",
        "4",
        "--evaluations-per-device",
        "3",
        "--kernels",
        "tuned",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("campaign.ron")).unwrap(),
        stored,
        "the stored campaign is not edited by a session's settings"
    );
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    let outcomes = journal
        .lines()
        .filter(|l| l.contains(r#""type":"outcome""#))
        .count();
    assert_eq!(outcomes, 4, "{journal}");
}
