//! Training precision and the seconds of an evaluation on the command line (CPU): `kas train
//! --precision` records the precision it trained at and refuses tf32 and bf16 on the CPU with
//! one line, before reading any data; a campaign at bf16 with a CPU device is refused likewise;
//! and a Tch campaign's log says where each evaluation's seconds went (compile, validation and
//! timing, training, test) while its journal records them with the training precision.

mod common;

use common::{kas, one_line_error, stderr};
use kas_eval::data::DatasetName;
use kas_eval::data::synthetic::write_synthetic;

#[test]
fn kas_train_records_its_precision_and_refuses_tf32_and_bf16_on_the_cpu() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-data");
    for p in ["tf32", "bf16"] {
        let o = kas(&[
            "train",
            "--model",
            "cnn",
            "--data",
            "fashion-mnist",
            "--device",
            "cpu",
            "--precision",
            p,
            "--data-dir",
            missing.to_str().unwrap(),
        ]);
        one_line_error(
            &o,
            &format!("training at {p} needs a CUDA device: the CPU trains at f32 only"),
        );
    }
    let data = tmp.path().join("data");
    write_synthetic(DatasetName::FashionMnist, &data, 64, 20, 1).unwrap();
    let out = tmp.path().join("out");
    let o = kas(&[
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
        "3",
        "--device",
        "cpu",
        "--precision",
        "f32",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("trained at f32: "), "{stdout}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(j["config"]["precision"], "f32");
    assert_eq!(j["result"]["precision"], "f32");
    assert!(j["result"]["test_seconds"].as_f64().unwrap() > 0.0, "{j}");
    // On the CPU, images stay in the default memory order.
    assert_eq!(j["config"]["channels_last"], false);
}

fn campaign(extra: &str) -> String {
    format!(
        r#"(
    kind: "kas-campaign",
    version: 1,
    name: "seconds",
    model: (name: "cnn", width: Some(4), image: Some(12)),
    data: "fashion-mnist",
    test_subset: Some(60),
    search: Random,
    budget: (max_evals: 3),
    fidelities: [(name: "screen", train_steps: Some(4), timing_repeats: Some(2))],
    seeds: 1,
    seed: 1,
    devices: ["cpu"],
    evaluator: Tch,{extra}
)"#
    )
}

#[test]
fn a_bf16_campaign_on_the_cpu_is_refused_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("bf16.ron");
    std::fs::write(&cfg, campaign("\n    precision: bf16,")).unwrap();
    one_line_error(
        &kas(&["search", "--config", cfg.to_str().unwrap()]),
        "precision: bf16 needs CUDA devices, but device \"cpu\" trains at f32 only",
    );
}

#[test]
fn a_tch_campaign_logs_where_each_evaluations_seconds_went() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_synthetic(DatasetName::FashionMnist, &data, 256, 60, 2).unwrap();
    let cfg = tmp.path().join("c.ron");
    std::fs::write(&cfg, campaign("")).unwrap();
    let out = tmp.path().join("c");
    let o = kas(&[
        "search",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let log = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{log}");
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut measured = 0;
    for r in &records {
        let Some(m) = r["outcome"].get("ok") else {
            continue;
        };
        let extra = &m["extra"];
        assert_eq!(extra["trained_f32"], 1.0, "{r}");
        for f in ["train_seconds", "test_seconds"] {
            assert!(extra[f].as_f64().unwrap() > 0.0, "{f}: {r}");
        }
        if r["type"] != "outcome" {
            continue;
        }
        measured += 1;
        // Its log line: `…; job J (screen) HASH8: accuracy A  speedup Sx; compile C s,
        // validate+time V s, train T s, test E s`.
        let job = format!(
            "; job {} (screen) {}: accuracy",
            r["job"],
            &r["canonical"].as_str().unwrap()[..8]
        );
        let line = log
            .lines()
            .find(|l| l.contains(&job))
            .unwrap_or_else(|| panic!("no log line for {job}: {log}"));
        let tail = line.split("x; ").nth(1).unwrap_or_else(|| panic!("{line}"));
        let names: Vec<&str> = tail
            .split(", ")
            .map(|p| p.split(' ').next().unwrap())
            .collect();
        assert_eq!(
            names,
            ["compile", "validate+time", "train", "test"],
            "{line}"
        );
        assert!(tail.ends_with(" s"), "{line}");
    }
    assert!(measured > 0, "no candidate was measured: {log}");
}
