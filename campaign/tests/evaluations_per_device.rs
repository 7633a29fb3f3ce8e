//! The campaign file's `evaluations_per_device`: absent reads as 1 (old files), written only
//! when not 1 (files written before it existed read back unchanged), bounded 1 to 16 with one
//! line naming the field, and each device repeated that many times as a worker.

use kas_campaign::CampaignFile;
use kas_campaign::file::MAX_EVALUATIONS_PER_DEVICE;

const FILE: &str = r#"(
    kind: "kas-campaign",
    version: 1,
    name: "t",
    model: (name: "cnn"),
    data: "fashion-mnist",
    budget: (max_evals: 10),
    fidelities: [(name: "screen", train_steps: Some(50))],
    devices: ["cuda:0", "cuda:1"],
)"#;

fn with(field: &str) -> String {
    FILE.replace(
        r#"devices: ["cuda:0", "cuda:1"],"#,
        &format!(r#"devices: ["cuda:0", "cuda:1"], {field}"#),
    )
}

#[test]
fn absent_is_one_and_one_is_not_written() {
    let c = CampaignFile::parse(FILE, "c.ron").unwrap();
    assert_eq!(c.evaluations_per_device, 1);
    assert_eq!(c.worker_devices(), ["cuda:0", "cuda:1"]);
    assert!(!c.to_text().contains("evaluations_per_device"));
    let four = CampaignFile::parse(&with("evaluations_per_device: 4,"), "c.ron").unwrap();
    assert_eq!(four.evaluations_per_device, 4);
    assert_eq!(
        four.worker_devices(),
        [
            "cuda:0", "cuda:0", "cuda:0", "cuda:0", "cuda:1", "cuda:1", "cuda:1", "cuda:1"
        ]
    );
    let again = CampaignFile::parse(&four.to_text(), "again.ron").unwrap();
    assert_eq!(again, four);
}

#[test]
fn bad_counts_are_one_line_naming_the_field() {
    let e = |v: &str| {
        CampaignFile::parse(&with(&format!("evaluations_per_device: {v},")), "c.ron")
            .unwrap_err()
            .to_string()
    };
    assert_eq!(e("0"), "c.ron: evaluations_per_device must be at least 1");
    assert_eq!(
        e(&(MAX_EVALUATIONS_PER_DEVICE + 1).to_string()),
        format!(
            "c.ron: evaluations_per_device must be at most {MAX_EVALUATIONS_PER_DEVICE}, got {}",
            MAX_EVALUATIONS_PER_DEVICE + 1
        )
    );
    let neg = e("-1");
    assert!(
        neg.starts_with("c.ron:") && neg.lines().count() == 1,
        "{neg}"
    );
}
