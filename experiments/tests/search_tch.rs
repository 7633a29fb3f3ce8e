//! `kas search` with the real Tch evaluator on the CPU, end to end, on a tiny CNN and a small
//! synthetic Fashion-MNIST (so it runs everywhere in seconds); and its one-line errors.

use kas_eval::data::DatasetName;
use kas_eval::data::synthetic::write_synthetic;
use std::path::Path;
use std::process::{Command, Output};

fn kas(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kas"))
        .args(args)
        .output()
        .expect("kas runs")
}

fn campaign(model: &str) -> String {
    format!(
        r#"(
    kind: "kas-campaign",
    version: 1,
    name: "tiny-tch",
    model: {model},
    data: "fashion-mnist",
    test_subset: Some(100),
    search: Random,
    budget: (max_evals: 3),
    fidelities: [
        (name: "screen", train_steps: Some(8), timing_repeats: Some(2)),
        (name: "full", train_steps: Some(16), timing_repeats: Some(2)),
    ],
    promote_eta: 2,
    seed: 1,
    devices: ["cpu"],
    evaluator: Tch,
)"#
    )
}

fn one_line_error(o: &Output, needle: &str) {
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(e.starts_with("error: ") && e.contains(needle), "{e}");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn a_tiny_campaign_runs_on_the_cpu_with_the_real_evaluator() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_synthetic(DatasetName::FashionMnist, &data, 384, 100, 2).unwrap();
    let cfg = write(
        tmp.path(),
        "tiny.ron",
        &campaign(r#"(name: "cnn", width: Some(4), image: Some(12))"#),
    );
    let out = tmp.path().join("c");
    let o = kas(&[
        "search",
        "--config",
        &cfg,
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let last = text.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("search stopped: max-evals; 3 evaluations in all; best reward"),
        "{text}"
    );
    assert!(out.join("report.svg").is_file() && out.join("report.md").is_file());
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let baselines: Vec<&serde_json::Value> =
        records.iter().filter(|r| r["type"] == "baseline").collect();
    // The screen's baseline on one seed; the last fidelity's on each of the campaign's seeds
    // (3 by default).
    assert_eq!(
        baselines.len(),
        1 + 3,
        "a baseline per fidelity and, at the last, per seed"
    );
    for b in &baselines {
        let acc = b["outcome"]["ok"]["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{b}");
    }
    let outcomes: Vec<&serde_json::Value> =
        records.iter().filter(|r| r["type"] == "outcome").collect();
    assert_eq!(outcomes.len(), 3);
    // Every outcome is measured (with a timing of the four slots) or a failure with a kind.
    for r in outcomes {
        let o = &r["outcome"];
        match o.get("ok") {
            Some(m) => {
                assert!(m["speedup"].as_f64().unwrap() > 0.0, "{r}");
                assert_eq!(m["extra"]["timed_slots"], 4.0, "{r}");
            }
            None => assert!(o["failed"]["kind"].is_string(), "{r}"),
        }
    }
    // The stored campaign embeds the spec generated from the model.
    let stored = std::fs::read_to_string(out.join("campaign.ron")).unwrap();
    assert!(stored.contains("cnn-fmnist-w4-c1x12x12"), "{stored}");
    // `kas report` re-prints it.
    let r = kas(&["report", out.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(0));
}

#[test]
fn tch_campaign_errors_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_synthetic(DatasetName::FashionMnist, &data, 16, 16, 0).unwrap();
    let data_s = data.to_str().unwrap();
    let unknown = write(tmp.path(), "unknown.ron", &campaign(r#"(name: "vgg")"#));
    one_line_error(
        &kas(&["search", "--config", &unknown, "--data-dir", data_s]),
        "unknown model `vgg` (known: resnet18, cnn, gpt, resnet34, resnext29, densenet121, efficientnet-v2-s)",
    );
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/cnn-small.ron");
    let misfit = write(
        tmp.path(),
        "misfit.ron",
        &campaign(&format!(
            r#"(name: "cnn", spec: File("{}"))"#,
            spec.display()
        )),
    );
    one_line_error(
        &kas(&["search", "--config", &misfit, "--data-dir", data_s]),
        "spec `cnn-small` does not fit model cnn: slot `conv1`",
    );
    let cfg = write(tmp.path(), "ok.ron", &campaign(r#"(name: "cnn")"#));
    let none = tmp.path().join("none");
    one_line_error(
        &kas(&[
            "search",
            "--config",
            &cfg,
            "--data-dir",
            none.to_str().unwrap(),
        ]),
        "dataset fashion-mnist not found in",
    );
    let gpu = write(
        tmp.path(),
        "gpu.ron",
        &campaign(r#"(name: "cnn")"#).replace(r#"["cpu"]"#, r#"["cuda:7"]"#),
    );
    one_line_error(
        &kas(&["search", "--config", &gpu, "--data-dir", data_s]),
        "device cuda:7 is not available",
    );
}
