//! `evaluations_per_device`: a campaign's evaluators, several per device, and what each gets
//! (its share of the memory limit). Whether they run at once is the runner's part
//! (experiments/tests/evaluations_per_device.rs); that timing holds the device alone is
//! `evaluator::gate`'s (its unit tests).

use kas_campaign::CampaignFile;
use kas_eval::data::DatasetName;
use kas_eval::data::synthetic::write_synthetic;
use kas_eval::evaluator::config::MAX_MEMORY_FRACTION;
use kas_eval::evaluator::{CampaignHost, TchEvaluatorConfig};
use std::path::PathBuf;

fn campaign(per_device: u32) -> CampaignFile {
    let text = format!(
        r#"(
        kind: "kas-campaign", version: 1, name: "t",
        model: (name: "cnn", width: Some(4), image: Some(12)),
        data: "fashion-mnist",
        budget: (max_evals: 4),
        fidelities: [(name: "screen", train_steps: Some(2))],
        devices: ["cpu"],
        evaluations_per_device: {per_device},
    )"#
    );
    CampaignFile::parse(&text, "t.ron").unwrap()
}

#[test]
fn each_device_gets_its_evaluators_and_they_share_the_memory_limit() {
    let exe = PathBuf::from("/bin/kas");
    let one =
        TchEvaluatorConfig::from_campaign(&campaign(1), "cuda:0", None, Some(exe.clone())).unwrap();
    assert_eq!(one.max_memory_fraction, MAX_MEMORY_FRACTION);
    let four =
        TchEvaluatorConfig::from_campaign(&campaign(4), "cuda:0", None, Some(exe.clone())).unwrap();
    // Shared, not divided: each training reserves its part (gate::DeviceGate::memory).
    assert_eq!(four.max_memory_fraction, MAX_MEMORY_FRACTION);

    let dir = tempfile::tempdir().unwrap();
    write_synthetic(DatasetName::FashionMnist, dir.path(), 256, 64, 1).unwrap();
    let file = campaign(3);
    assert_eq!(file.worker_devices(), ["cpu", "cpu", "cpu"]);
    let host = CampaignHost::new(&file).unwrap();
    let evs = host.evaluators(&file, Some(dir.path()), &exe).unwrap();
    assert_eq!(evs.len(), 3);
    let one = host
        .evaluators(&campaign(1), Some(dir.path()), &exe)
        .unwrap();
    assert_eq!(one.len(), 1);
}
