//! Issue 20 through the `kas` binary with the stand-in evaluator: a resume trains the missing
//! seeds of the candidates already at the last fidelity (the `session:` line counts them), the
//! report says how many seeds a candidate or the baseline still needs instead of only giving a
//! wide interval, and the search log says when a result is too slow to be promoted.

use kas_search::history::campaign_digest;
use std::path::Path;
use std::process::Output;

mod common;
use common::kas;

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A stand-in campaign file in `dir` with `extra` fields; returns its path.
fn config(dir: &Path, extra: &str) -> String {
    let fields = format!(
        r#"name: "topups-cli",
        search: Random,
        budget: (max_evals: 14),
        fidelities: [(name: "screen", train_steps: Some(10), timing_repeats: Some(3)),
                     (name: "full", epochs: Some(1.0), timing_repeats: Some(5))],
        promote_eta: 2,
        seed: 9,
        {extra}"#
    );
    common::standin_campaign(dir, "topups.ron", &fields)
}

/// The journal's lines as JSON objects.
fn journal(dir: &Path) -> Vec<serde_json::Value> {
    (std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines())
    .map(|l| serde_json::from_str(l).unwrap())
    .collect()
}

/// Makes the campaign in `dir` look like an older build's: no `seeds` in its file (so the
/// default, 3) nor in its sessions.
fn forget_seeds(dir: &Path) {
    let path = dir.join("campaign.ron");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("seeds: 1,"), "{text}");
    let text = text.replace("seeds: 1,", "");
    std::fs::write(&path, &text).unwrap();
    let digest = campaign_digest(&text);
    let lines: Vec<String> = (journal(dir).into_iter())
        .map(|mut v| {
            let o = v.as_object_mut().unwrap();
            if o["type"] == "header" {
                o.insert("campaign_digest".into(), digest.clone().into());
            }
            if o["type"] == "session" {
                o.remove("seeds");
            }
            v.to_string()
        })
        .collect();
    std::fs::write(dir.join("journal.jsonl"), lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_resume_trains_the_missing_seeds_and_the_report_says_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("c");
    let out_s = out.to_str().unwrap();
    let cfg = config(tmp.path(), "seeds: 1,");
    ok(&kas(&["search", "--config", &cfg, "--out", out_s]));
    forget_seeds(&out);
    let at_full = (journal(&out).iter())
        .filter(|v| v["type"] == "job" && v["fidelity"] == 1)
        .count();
    assert!(at_full >= 2, "{at_full}");

    // One seed of three: the report says so, for the candidates and the baseline.
    let report = ok(&kas(&["report", out_s, "--top", "50"]));
    assert!(
        report.contains("baseline full: ")
            && report.contains("(1 seed; needs 2 more seed(s) of 3)"),
        "{report}"
    );
    let short = "; needs 2 more seed(s) of 3 for a verdict (a resume trains them first)]";
    assert!(
        report.contains("[1 seed(s); vs baseline ")
            && report.contains(&format!("(1 paired seed, no interval){short}")),
        "{report}"
    );
    assert!(report.contains("means over all 3 seed(s)"), "{report}");

    // A resume cut by the budget after one top-up: that candidate has 2 seeds, an interval,
    // and still needs one.
    let text = ok(&kas(&["search", "--resume", out_s, "--max-evals", "15"]));
    assert!(
        text.contains(&format!(
            "{} seed evaluations queued for candidates short of seeds",
            2 * at_full
        )),
        "{text}"
    );
    let report = ok(&kas(&["report", out_s, "--top", "50"]));
    assert!(
        report.contains("2 paired seeds); needs 1 more seed(s) of 3 for a verdict"),
        "{report}"
    );
    assert!(
        report.contains("(mean over 3 seeds; accuracy sd ") && !report.contains("of 3)"),
        "the baseline's seeds are measured first: {report}"
    );

    // The rest of the budget: every candidate at the last fidelity has its three seeds.
    let n = 14 + 2 * at_full;
    let text = ok(&kas(&[
        "search",
        "--resume",
        out_s,
        "--max-evals",
        &n.to_string(),
    ]));
    assert!(!text.contains("needs "), "{text}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(!md.contains("needs "), "{md}");
    let mut seeds: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for v in journal(&out) {
        if v["type"] == "job" && v["fidelity"] == 1 {
            (seeds
                .entry(v["canonical"].as_str().unwrap().to_string())
                .or_default())
            .push(v["seed_index"].as_u64().unwrap_or(0));
        }
    }
    assert_eq!(seeds.len(), at_full);
    for (h, mut ks) in seeds {
        ks.sort();
        assert_eq!(ks, [0, 1, 2], "{h}");
    }
}

#[test]
fn the_search_log_says_when_a_slow_result_is_not_promoted() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("c");
    let out_s = out.to_str().unwrap();
    let cfg = config(tmp.path(), "seeds: 1, promote_min_speedup: 1.2,");
    let o = kas(&[
        "search",
        "--config",
        &cfg,
        "--out",
        out_s,
        "--max-evals",
        "20",
    ]);
    ok(&o);
    let log = String::from_utf8_lossy(&o.stderr);
    // The stand-in's speedups on this spec lie around 1.0 to 1.4.
    let note = "; not promoted: speedup below promote_min_speedup 1.20x";
    let noted: Vec<&str> = log.lines().filter(|l| l.contains(note)).collect();
    assert!(!noted.is_empty(), "{log}");
    let speedup = |l: &str| -> f64 {
        let s = l.split("speedup ").nth(1).unwrap();
        s[..s.find('x').unwrap()].parse().unwrap()
    };
    for l in log
        .lines()
        .filter(|l| l.starts_with("search: ") && l.contains("(screen)"))
    {
        let s = speedup(l);
        if (s - 1.2).abs() > 0.006 {
            assert_eq!(l.contains(note), s < 1.2, "{l}");
        }
    }
    let slow: Vec<String> = noted
        .iter()
        .map(|l| l.split(") ").nth(1).unwrap()[..8].to_string())
        .collect();
    for v in journal(&out) {
        if v["type"] == "job" && v["fidelity"] == 1 {
            let h = &v["canonical"].as_str().unwrap()[..8];
            assert!(!slow.iter().any(|s| s == h), "{h} was promoted");
        }
    }
}
