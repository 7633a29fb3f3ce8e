//! GPT campaigns (issue 16) end to end on the CPU: `kas spec --model gpt --slots …`, the
//! CPU-sized campaign `experiments/configs/gpt-shakespeare-cpu.ron` on a small generated corpus
//! (a handful of evaluations with the real evaluator: the tch plan timed against libtorch's
//! matmul, the tiny GPT trained and judged by validation loss), its report, and the one-line
//! errors of malformed GPT campaigns, unknown slot families and a missing corpus.

use std::path::Path;

mod common;
use common::{kas, one_line_error, stderr, stdout};

const CPU_CONFIG: &str = "experiments/configs/gpt-shakespeare-cpu.ron";

fn last_line(s: &str) -> &str {
    s.trim_end().lines().last().unwrap_or("")
}

/// A small synthetic corpus in `dir/shakespeare/` (the layout `kas data fetch` makes).
fn write_corpus(dir: &std::path::Path) {
    kas_eval::data::synthetic::write_synthetic_text(dir, 24_000, 7).unwrap();
}

#[test]
fn spec_for_each_gpt_slot_family() {
    let tmp = tempfile::tempdir().unwrap();
    for (family, slots, name) in [
        ("mlp-up", 6, "gpt-shakespeare-mlp-up"),
        ("proj", 6, "gpt-shakespeare-proj"),
        ("all", 24, "gpt-shakespeare-all"),
    ] {
        let out = tmp.path().join(format!("{family}.ron"));
        let o = kas(&[
            "spec",
            "--model",
            "gpt",
            "--slots",
            family,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let line = last_line(&stdout(&o)).to_string();
        assert!(
            line.starts_with(&format!("spec {name}: {slots} slots, ")),
            "{line}"
        );
        assert!(line.contains("parameter window [0.0000e0, "), "{line}");
        let text = std::fs::read_to_string(&out).unwrap();
        let spec = kas_primitives::Spec::read(&text, "generated").unwrap();
        assert_eq!(spec.bindings.len(), slots);
    }
    one_line_error(
        &kas(&["spec", "--model", "gpt", "--slots", "attn"]),
        "unknown slot family `attn` (known: qkv, proj, mlp-up, mlp-down, all, mix)",
    );
    one_line_error(
        &kas(&["spec", "--model", "cnn", "--slots", "qkv"]),
        "cnn has no slot families",
    );
}

#[test]
fn the_cpu_gpt_campaign_runs_end_to_end_and_reports_validation_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_corpus(&data);
    let out = tmp.path().join("c");
    // One libtorch thread: OpenMP's spinning made this tiny training 8-17 s instead of 1-2 s.
    let o = common::kas_one_thread(&[
        "search",
        "--config",
        CPU_CONFIG,
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--max-evals",
        "6",
    ]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}\n{}", stderr(&o));
    assert!(
        last_line(&text).starts_with("search stopped: max-evals; 6 evaluations in all"),
        "{text}"
    );
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let baselines: Vec<&serde_json::Value> =
        records.iter().filter(|r| r["type"] == "baseline").collect();
    // The screen's baseline on one seed, the last fidelity's on each of the 2 seeds.
    assert_eq!(baselines.len(), 1 + 2);
    for b in &baselines {
        let m = &b["outcome"]["ok"];
        let loss = m["loss"].as_f64().unwrap();
        // A character model of a ~20-symbol corpus: below the uniform ln(vocab) after training.
        assert!(loss > 0.0 && loss < 4.0, "{b}");
        assert!(m.get("accuracy").is_none(), "{b}");
        let ppl = m["extra"]["perplexity"].as_f64().unwrap();
        assert!((ppl - loss.exp()).abs() < 1e-6 * ppl, "{b}");
        assert!(m["extra"]["params"].as_f64().unwrap() > 0.0, "{b}");
    }
    let outcomes: Vec<&serde_json::Value> =
        records.iter().filter(|r| r["type"] == "outcome").collect();
    assert_eq!(outcomes.len(), 6);
    // Promoted whatever the speed (promote_min_speedup 0): a measured screen result goes on to
    // the last fidelity's two seeds.
    let promoted = outcomes
        .iter()
        .any(|r| r["fidelity"] == 1 && r["outcome"].get("ok").is_some());
    for r in &outcomes {
        let o = &r["outcome"];
        match o.get("ok") {
            Some(m) => {
                assert!(m["loss"].as_f64().unwrap().is_finite(), "{r}");
                match m["speedup"].as_f64() {
                    Some(s) => {
                        assert!(s > 0.0, "{r}");
                        // Both MLP up projections are timed (one binding counted twice).
                        assert_eq!(m["extra"]["timed_slots"], 2.0, "{r}");
                    }
                    // A further seed of a timed candidate trains only.
                    None => assert_ne!(r["seed_index"], 0, "{r}"),
                }
            }
            None => {
                let kind = o["failed"]["kind"].as_str().unwrap();
                assert!(!o["failed"]["message"].as_str().unwrap().is_empty(), "{r}");
                assert!(
                    ["invalid", "timeout", "diverged", "other"].contains(&kind),
                    "{r}"
                );
            }
        }
    }
    let stored = std::fs::read_to_string(out.join("campaign.ron")).unwrap();
    assert!(
        stored.contains("gpt-shakespeare-w32-l2-t32-mlp-up"),
        "{stored}"
    );
    let r = kas(&["report", out.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let report = stdout(&r);
    assert!(
        report.contains("baseline full: validation loss "),
        "{report}"
    );
    assert!(report.contains("perplexity "), "{report}");
    assert!(
        report.contains(
            "faster than the original layers (speedup > 1) and no more than 0.02 nats above the baseline's validation loss at the same fidelity: "
        ),
        "{report}"
    );
    assert!(
        report.contains("(mean over 2 seeds; validation loss sd "),
        "{report}"
    );
    if promoted {
        assert!(report.contains(" full     validation loss "), "{report}");
        assert!(
            report.contains("[2 seed(s), validation loss sd "),
            "{report}"
        );
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| validation loss | speedup |"), "{md}");
    let svg = std::fs::read_to_string(out.join("report.svg")).unwrap();
    assert!(svg.contains("validation loss vs latency"), "{svg}");
}

#[test]
fn malformed_gpt_campaigns_and_a_missing_corpus_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(common::root().join(CPU_CONFIG)).unwrap();
    let data = tmp.path().join("data");
    write_corpus(&data);
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let gpt = r#"name: "gpt", width: Some(32), layers: Some(2), heads: Some(2), context: Some(32), slots: Some("mlp-up")"#;
    assert!(config.contains(gpt));
    let cases: Vec<(String, &Path, &str)> = vec![
        (
            config.replace("target: Loss(max: 5.0)", "target: Accuracy"),
            &data,
            "a language model (gpt) is judged by its validation loss: set reward.target to Loss(max: …)",
        ),
        (
            config.replace(r#"Some("mlp-up")"#, r#"Some("attn")"#),
            &data,
            "unknown slot family `attn`",
        ),
        (
            config.replace(gpt, r#"name: "cnn", layers: Some(2)"#),
            &data,
            "model.layers applies to gpt, not cnn",
        ),
        (
            config.replace("heads: Some(2)", "heads: Some(3)"),
            &data,
            "GPT width 32 must be a positive multiple of the heads 3",
        ),
        (
            config.replace("context: Some(32)", "context: Some(0)"),
            &data,
            "model.context must be at least 1",
        ),
        (
            config.replace(r#"data: "shakespeare""#, r#"data: "fashion-mnist""#),
            &data,
            "not gpt on fashion-mnist",
        ),
        (
            config.replace(
                r#"slots: Some("mlp-up"))"#,
                r#"slots: Some("mlp-up"), depth: 3)"#,
            ),
            &data,
            "Unexpected field named `depth`",
        ),
        (config.clone(), &empty, "dataset shakespeare not found in"),
    ];
    for (i, (text, dir, needle)) in cases.iter().enumerate() {
        let cfg = tmp.path().join(format!("bad{i}.ron"));
        std::fs::write(&cfg, text).unwrap();
        let out = tmp.path().join(format!("out{i}"));
        let o = kas(&[
            "search",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--data-dir",
            dir.to_str().unwrap(),
        ]);
        one_line_error(&o, needle);
        assert!(!out.exists(), "case {i}: nothing is written on a refusal");
    }
}

#[test]
fn train_puts_an_operator_in_the_chosen_slot_family() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_corpus(&data);
    let out = tmp.path().join("t");
    let args = |slots: &'static str| {
        vec![
            "train".to_string(),
            "low-rank-linear".into(),
            "--model".into(),
            "gpt".into(),
            "--slots".into(),
            slots.into(),
            "--data".into(),
            "shakespeare".into(),
            "--data-dir".into(),
            data.to_str().unwrap().into(),
            "--width".into(),
            "16".into(),
            "--layers".into(),
            "1".into(),
            "--heads".into(),
            "2".into(),
            "--context".into(),
            "16".into(),
            "--batch".into(),
            "8".into(),
            "--steps".into(),
            "4".into(),
            "--eval-batches".into(),
            "1".into(),
            "--json".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ]
    };
    let run = |slots| {
        let a = args(slots);
        kas(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let o = run("mlp-down");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["model_config"]["Gpt"]["slots"], "mlp-down", "{j}");
    assert!(j["result"]["val_loss"].as_f64().unwrap().is_finite());
    one_line_error(&run("attn"), "unknown slot family `attn`");
    one_line_error(
        &kas(&[
            "train", "--model", "cnn", "--slots", "qkv", "--data", "mnist",
        ]),
        "cnn has no slot families",
    );
}
