//! The `precision` field of a campaign file: f32 by default (and then not written back, so
//! older files and their digests are unchanged), the labels `f32`, `tf32`, `bf16`, anything else
//! a one-line error, and tf32 or bf16 refused for a Tch campaign with a CPU device (which would
//! train at f32 under their label).

use kas_campaign::{CampaignFile, Precision};

const FILE: &str = r#"(
    kind: "kas-campaign",
    version: 1,
    name: "t",
    model: (name: "cnn"),
    data: "fashion-mnist",
    budget: (max_evals: 10),
    fidelities: [(name: "screen", train_steps: Some(50))],
    devices: ["cuda:0", "cuda:1"],
    evaluator: Tch,
)"#;

fn with(field: &str) -> String {
    FILE.replace("evaluator: Tch,", &format!("evaluator: Tch, {field}"))
}

#[test]
fn precision_defaults_to_f32_and_is_not_written_then() {
    let c = CampaignFile::parse(FILE, "c.ron").unwrap();
    assert_eq!(c.precision, Precision::F32);
    assert!(!c.to_text().contains("precision"), "{}", c.to_text());
    let explicit = CampaignFile::parse(&with("precision: f32,"), "c.ron").unwrap();
    assert_eq!(explicit, c);
}

#[test]
fn reduced_precisions_parse_on_cuda_devices_and_round_trip() {
    for (label, p) in [("tf32", Precision::Tf32), ("bf16", Precision::Bf16)] {
        let c = CampaignFile::parse(&with(&format!("precision: {label},")), "c.ron").unwrap();
        assert_eq!(c.precision, p);
        let text = c.to_text();
        assert!(text.contains(&format!("precision: {label}")), "{text}");
        assert_eq!(CampaignFile::parse(&text, "again.ron").unwrap(), c);
    }
}

#[test]
fn reduced_precisions_on_a_cpu_device_and_unknown_labels_are_one_line_errors() {
    let cpu = with("precision: bf16,").replace("\"cuda:1\"", "\"cpu\"");
    let e = CampaignFile::parse(&cpu, "c.ron").unwrap_err().to_string();
    assert!(
        e.contains("precision: bf16 needs CUDA devices, but device \"cpu\""),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    // The stand-in evaluator trains nothing: any precision is fine there.
    let standin = cpu.replace("evaluator: Tch,", "evaluator: StandIn(()),");
    assert!(CampaignFile::parse(&standin, "c.ron").is_ok());
    let e = CampaignFile::parse(&with("precision: fp16,"), "c.ron")
        .unwrap_err()
        .to_string();
    assert!(e.contains("c.ron:") && e.contains("fp16"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn each_training_precision_has_its_flag_figure_in_journals() {
    use kas_campaign::{Figure, Metrics};
    let mut m = Metrics::default();
    for p in Precision::ALL {
        m.extra.insert(Figure::trained_at(p), 1.0);
    }
    let json = serde_json::to_string(&m).unwrap();
    for name in ["trained_f32", "trained_tf32", "trained_bf16"] {
        assert!(json.contains(&format!("\"{name}\":1")), "{json}");
    }
    assert_eq!(serde_json::from_str::<Metrics>(&json).unwrap(), m);
    assert_eq!(Figure::trained_at(Precision::Bf16).name(), "trained_bf16");
}
