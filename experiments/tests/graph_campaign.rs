//! Canvas-style campaigns through the `kas` binary: the CPU-sized config
//! (`experiments/configs/canvas-resnet18-cpu.ron`) runs end to end with the real evaluator on a
//! small synthetic Fashion-MNIST — graph kernels sampled, validated, timed and trained in the
//! ResNet-18 slots — journals them, resumes with a larger budget, and `kas report` and
//! `kas show` read the result; a graph space in a version-1 file or with MCTS is a one-line
//! error.

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

fn ok(o: &Output) -> String {
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    text
}

fn config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs/canvas-resnet18-cpu.ron")
        .display()
        .to_string()
}

fn records(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_cpu_canvas_campaign_runs_resumes_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_synthetic(DatasetName::FashionMnist, &data, 512, 128, 2).unwrap();
    let data = data.to_str().unwrap();
    let out = tmp.path().join("c");
    let out_s = out.to_str().unwrap();
    let cfg = config();
    let first = [
        "search",
        "--config",
        &cfg,
        "--out",
        out_s,
        "--data-dir",
        data,
        "--max-evals",
        "3",
    ];
    let text = ok(&kas(&first));
    assert!(
        text.contains("search stopped: max-evals; 3 evaluations in all"),
        "{text}"
    );
    let recs = records(&out);
    let rules = recs[0]["rules"].as_str().unwrap().to_string();
    assert!(rules.starts_with("graph-"), "{rules}");
    let jobs: Vec<&serde_json::Value> = recs.iter().filter(|r| r["type"] == "job").collect();
    assert_eq!(jobs.len(), 3);
    for j in &jobs {
        let file = out.join(format!(
            "operators/{}.ron",
            j["canonical"].as_str().unwrap()
        ));
        let t = std::fs::read_to_string(&file).unwrap();
        assert!(t.contains("kind: \"kas-graph\""), "{t}");
    }
    // Outcomes: measured in the ResNet-18's slots (timed on the CPU), or a typed failure.
    let measured: Vec<&serde_json::Value> = (recs.iter())
        .filter(|r| r["type"] == "outcome")
        .filter_map(|r| r["outcome"].get("ok"))
        .collect();
    assert!(!measured.is_empty(), "{recs:#?}");
    for m in &measured {
        assert!(m["speedup"].as_f64().unwrap() > 0.0, "{m}");
        assert_eq!(m["extra"]["timed_tch_plan_cpu"], 1.0, "{m}");
    }
    // Resumed from its directory with a larger budget: the journal goes on, nothing is redone.
    let text = ok(&kas(&[
        "search",
        "--resume",
        out_s,
        "--data-dir",
        data,
        "--max-evals",
        "5",
    ]));
    assert!(text.contains("5 evaluations in all"), "{text}");
    let recs = records(&out);
    let screened: Vec<&str> = (recs.iter())
        .filter(|r| r["type"] == "job" && r["fidelity"] == 0)
        .map(|r| r["canonical"].as_str().unwrap())
        .collect();
    let distinct: std::collections::HashSet<&&str> = screened.iter().collect();
    assert_eq!(
        distinct.len(),
        screened.len(),
        "a graph kernel screened twice"
    );
    // `kas report` and `kas show` read graph campaigns.
    let report = ok(&kas(&["report", out_s]));
    assert!(report.contains("canvas-resnet18-cpu"), "{report}");
    let first_kernel = out.join(format!("operators/{}.ron", screened[0]));
    let shown = ok(&kas(&["show", first_kernel.to_str().unwrap()]));
    assert!(shown.contains("input"), "{shown}");
}

#[test]
fn graph_spaces_need_version_2_and_random_search() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(config()).unwrap();
    for (name, bad, needle) in [
        (
            "v1.ron",
            text.replace("version: 2", "version: 1"),
            "needs `version: 2`",
        ),
        (
            "mcts.ron",
            text.replace("search: Random", "search: Mcts(())"),
            "search: Random",
        ),
    ] {
        let p = tmp.path().join(name);
        std::fs::write(&p, bad).unwrap();
        let o = kas(&[
            "search",
            "--config",
            p.to_str().unwrap(),
            "--out",
            "/nonexistent/x",
        ]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        assert!(e.contains(needle), "{e}");
    }
}
