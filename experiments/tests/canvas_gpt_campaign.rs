//! The CPU-sized Canvas-style GPT campaign (`experiments/configs/canvas-gpt-cpu.ron`) end to end
//! with the real evaluator on a small generated corpus: causal graph kernels sampled in the
//! token-mixing slots, validated, timed against libtorch's causal attention, trained and judged
//! by validation loss; every journaled kernel is causal. And the committed token-mixing spec
//! `experiments/specs/gpt-mix-small.ron` is what `kas spec` writes.

mod common;
use common::{kas, stderr, stdout};

/// A small synthetic corpus in `dir/shakespeare/` (the layout `kas data fetch` makes).
fn write_corpus(dir: &std::path::Path) {
    kas_eval::data::synthetic::write_synthetic_text(dir, 12_000, 7).unwrap();
}

#[test]
fn the_cpu_canvas_gpt_campaign_runs_and_journals_causal_kernels() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_corpus(&data);
    let out = tmp.path().join("c");
    let o = common::kas_one_thread(&[
        "search",
        "--config",
        "experiments/configs/canvas-gpt-cpu.ron",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--max-evals",
        "3",
    ]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}\n{}", stderr(&o));
    assert!(text.contains("3 evaluations in all"), "{text}");
    let records: Vec<serde_json::Value> = std::fs::read_to_string(out.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(records[0]["rules"].as_str().unwrap().starts_with("graph-"));
    let baseline = records.iter().find(|r| r["type"] == "baseline").unwrap();
    let loss = baseline["outcome"]["ok"]["loss"].as_f64().unwrap();
    assert!(loss > 0.0 && loss < 5.0, "{baseline}");
    let jobs: Vec<&serde_json::Value> = records.iter().filter(|r| r["type"] == "job").collect();
    assert_eq!(jobs.len(), 3);
    for j in &jobs {
        let file = out.join(format!(
            "operators/{}.ron",
            j["canonical"].as_str().unwrap()
        ));
        let g = kas_graph::read_graph(&std::fs::read_to_string(&file).unwrap(), "k").unwrap();
        kas_graph::causal::check_causal(&g, 1).unwrap();
    }
    let measured: Vec<&serde_json::Value> = (records.iter())
        .filter(|r| r["type"] == "outcome")
        .filter_map(|r| r["outcome"].get("ok"))
        .collect();
    assert!(!measured.is_empty(), "{records:#?}");
    for m in &measured {
        assert!(m["speedup"].as_f64().unwrap() > 0.0, "{m}");
        assert!(m["loss"].as_f64().unwrap() > 0.0, "{m}");
    }
}

#[test]
fn the_committed_small_mix_spec_is_what_kas_spec_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mix.ron");
    let o = kas(&[
        "spec",
        "--model",
        "gpt",
        "--slots",
        "mix",
        "--width",
        "32",
        "--layers",
        "2",
        "--heads",
        "2",
        "--context",
        "32",
        "--batch",
        "8",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let committed = common::root().join("experiments/specs/gpt-mix-small.ron");
    assert_eq!(
        std::fs::read_to_string(out).unwrap(),
        std::fs::read_to_string(committed).unwrap()
    );
    let bad = kas(&["spec", "--model", "gpt", "--width", "30", "--heads", "4"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("not a multiple of 4 heads"));
}
