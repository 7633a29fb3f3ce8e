//! A campaign's evaluator settings come from `kas-eval` alone: the limits of
//! `evaluator::config` per device, the host model built once, the spec generated from the
//! model or checked against its slots, and campaigns the evaluator does not train refused.

use kas_campaign::{CampaignFile, KernelMode, SpecSource};
use kas_eval::Error;
use kas_eval::evaluator::config::{
    CPU_TIMING_THREADS, GPU_TRAIN_SLOWDOWN_LIMIT, MAX_MEMORY_FRACTION, SLOWDOWN_LIMIT,
    TIMING_BUDGET_S, TRAIN_GRACE_S,
};
use kas_eval::evaluator::{CampaignHost, TchEvaluatorConfig};
use kas_eval::models::ModelConfig;
use std::path::{Path, PathBuf};

const CAMPAIGN: &str = r#"(
    kind: "kas-campaign",
    version: 1,
    name: "t",
    model: (name: "cnn", width: Some(8)),
    data: "fashion-mnist",
    train_subset: Some(640),
    budget: (max_evals: 4),
    fidelities: [(name: "screen", train_steps: Some(5))],
    seed: 9,
    devices: ["cpu", "cuda:0"],
    kernels: Heuristic,
)"#;

fn campaign(text: &str) -> CampaignFile {
    CampaignFile::parse(text, "t.ron").unwrap()
}

#[test]
fn settings_come_from_the_campaign_and_the_limits_of_one_module() {
    let file = campaign(CAMPAIGN);
    let exe = PathBuf::from("/bin/kas");
    let cpu =
        TchEvaluatorConfig::from_campaign(&file, "cpu", Some(Path::new("d")), Some(exe.clone()))
            .unwrap();
    match cpu.model {
        ModelConfig::Cnn(v) => assert_eq!(v.width, 8),
        m => panic!("{m:?}"),
    }
    assert_eq!(cpu.data_dir, PathBuf::from("d"));
    assert_eq!(
        (cpu.train_subset, cpu.test_subset, cpu.seed),
        (Some(640), None, 9)
    );
    assert_eq!(cpu.kernels, KernelMode::Heuristic);
    assert_eq!(
        cpu.worker,
        Some(exe.clone()),
        "the CPU times in a worker process too"
    );
    assert_eq!(cpu.timing_threads, Some(CPU_TIMING_THREADS));
    assert_eq!(cpu.timing_budget_s, TIMING_BUDGET_S);
    assert_eq!(cpu.train_min_speedup, 1.0 / SLOWDOWN_LIMIT);
    let floor = campaign(&CAMPAIGN.replace(
        "kernels: Heuristic,",
        "kernels: Heuristic, train_min_speedup: Some(1.0),",
    ));
    let gated = TchEvaluatorConfig::from_campaign(&floor, "cpu", None, None).unwrap();
    assert_eq!(
        gated.train_min_speedup, 1.0,
        "the campaign's training floor replaces the evaluator's"
    );
    assert_eq!(cpu.train_slowdown_limit, SLOWDOWN_LIMIT);
    assert_eq!(cpu.train_grace_s, TRAIN_GRACE_S);
    let gpu = TchEvaluatorConfig::from_campaign(&file, "cuda:0", None, Some(exe.clone())).unwrap();
    assert_eq!(
        gpu.worker,
        Some(exe),
        "GPU kernels are timed in worker processes"
    );
    assert_eq!(gpu.timing_threads, None);
    assert_eq!(gpu.train_slowdown_limit, GPU_TRAIN_SLOWDOWN_LIMIT);
    assert_eq!(gpu.max_memory_fraction, MAX_MEMORY_FRACTION);
    // Four evaluations on one device share its memory limit and get four times the training
    // slack.
    let mut shared = file.clone();
    shared.evaluations_per_device = 4;
    let four = TchEvaluatorConfig::from_campaign(&shared, "cuda:0", None, None).unwrap();
    assert_eq!(four.train_slowdown_limit, 4.0 * GPU_TRAIN_SLOWDOWN_LIMIT);
    assert_eq!(four.max_memory_fraction, MAX_MEMORY_FRACTION);
}

#[test]
fn the_host_model_is_built_once_and_generates_or_checks_the_spec() {
    let file = campaign(CAMPAIGN);
    let host = CampaignHost::new(&file).unwrap();
    assert_eq!(host.model.slots.len(), 4);
    let resolved = host.resolve_spec(file.clone(), Path::new(".")).unwrap();
    let SpecSource::Text(text) = &resolved.model.spec else {
        panic!(
            "the spec is generated from the model: {:?}",
            resolved.model.spec
        );
    };
    assert!(text.contains("conv1"), "one binding per slot:\n{text}");
    // The generated spec fits the model; a spec of other sizes does not.
    let mut again = file.clone();
    again.model.spec = SpecSource::Text(text.clone());
    host.resolve_spec(again, Path::new(".")).unwrap();
    let mut other = file.clone();
    other.model.spec =
        SpecSource::Text(text.replace(r#""C_in": 8, "C_out": 8"#, r#""C_in": 5, "C_out": 8"#));
    match host.resolve_spec(other, Path::new(".")) {
        Err(e @ Error::SpecMismatch { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("does not fit model cnn"), "{msg}");
        }
        r => panic!("expected a spec mismatch, got {r:?}"),
    }
}

#[test]
fn campaigns_the_evaluator_does_not_train_are_refused() {
    let gpt = campaign(&CAMPAIGN.replace(r#"name: "cnn", width: Some(8)"#, r#"name: "gpt""#));
    assert!(matches!(
        CampaignHost::new(&gpt),
        Err(Error::NotImageClassifier { .. })
    ));
    let text = campaign(&CAMPAIGN.replace("fashion-mnist", "shakespeare"));
    assert!(matches!(
        CampaignHost::new(&text),
        Err(Error::NotImageClassifier { .. })
    ));
    let image = campaign(&CAMPAIGN.replace(
        r#"name: "cnn", width: Some(8)"#,
        r#"name: "gpt", image: Some(8)"#,
    ));
    assert!(matches!(
        CampaignHost::new(&image),
        Err(Error::NoImageSize(_))
    ));
    let data = tempfile::tempdir().unwrap();
    let host = CampaignHost::new(&campaign(CAMPAIGN)).unwrap();
    let e = host
        .check(&campaign(CAMPAIGN), Some(data.path()))
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("dataset fashion-mnist not found in"),
        "{e}"
    );
}
