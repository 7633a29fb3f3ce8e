//! The real search evaluator on a tiny CNN and a small synthetic Fashion-MNIST (CPU): the
//! library's conv2d gets a finite speedup and an accuracy near the baseline's; an operator that
//! does not fit the slots fails as `invalid`, and so does nothing else.

use kas_campaign::{
    Candidate, Evaluator, FailureKind, Fidelity, Figure, Kernel, KernelMode, Outcome,
};
use kas_eval::data::DatasetName;
use kas_eval::data::synthetic::write_synthetic;
use kas_eval::evaluator::{TchEvaluator, TchEvaluatorConfig};
use kas_eval::models::{ModelConfig, VisionConfig};
use kas_primitives::canon::CanonicalHash;
use kas_primitives::{StructuralHash, library};

/// The first graph kernel the sampler draws for the model's slots (spec generated from the
/// model, as `kas spec --model` does).
fn graph_candidate(model: kas_eval::models::ModelConfig) -> Candidate {
    use kas_eval::models::HostModel;
    use kas_eval::models::slot::Fill;
    use kas_eval::spec_gen::{builtin_template_for, model_spec, spec_text};
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let host = HostModel::new(model, 4, Fill::Original, &vs.root()).unwrap();
    let (path, text) = builtin_template_for(&model);
    let template = kas_primitives::format::parse_ron(text, path).unwrap();
    let spec_file = model_spec(&host, &template).unwrap();
    let spec = kas_primitives::Spec::read(&spec_text(&spec_file, "test"), "spec").unwrap();
    let slot = kas_graph::sample::Slot::from_spec(&spec).unwrap();
    let cfg = kas_graph::sample::SampleConfig::default();
    let r = kas_graph::sample::sample(&slot, &cfg, 8, 3, "g").unwrap();
    let (g, h) = r.kernels.into_iter().next().expect("a legal kernel");
    Candidate {
        kernel: Kernel::Graph(g),
        canonical: CanonicalHash(h.0),
        rules: "test".into(),
        structural: StructuralHash(h.0),
        flops: 0.0,
        path: vec![0],
    }
}

fn candidate(name: &str) -> Candidate {
    Candidate {
        kernel: Kernel::Operator((library::get(name).unwrap().build)().unwrap()),
        canonical: CanonicalHash(1),
        rules: "test".into(),
        structural: StructuralHash(1),
        flops: 0.0,
        path: vec![],
    }
}

/// The small CNN on the CPU, data in `dir`.
fn cpu_config(dir: &std::path::Path, seed: u64) -> TchEvaluatorConfig {
    TchEvaluatorConfig {
        model: ModelConfig::Cnn(VisionConfig {
            width: 4,
            image: 12,
            channels: 1,
            classes: 10,
        }),
        data: DatasetName::FashionMnist,
        data_dir: dir.to_path_buf(),
        train_subset: None,
        test_subset: None,
        device: "cpu".into(),
        seed,
        worker: None,
        timing_threads: None,
        timing_budget_s: 0.5,
        kernels: KernelMode::Heuristic,
        precision: kas_codegen::Precision::F32,
        train_min_speedup: 0.0,
        train_slowdown_limit: 0.0,
        train_grace_s: 0.0,
        max_memory_fraction: 0.0,
    }
}

#[test]
fn conv2d_trains_like_the_baseline_and_misfits_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic(DatasetName::FashionMnist, dir.path(), 640, 200, 3).unwrap();
    let cfg = cpu_config(dir.path(), 5);
    let ev = TchEvaluator::new(&cfg).unwrap();
    assert_eq!(ev.slots().len(), 4);
    assert!(ev.device_key().starts_with("cpu-"), "{}", ev.device_key());
    let mut screen = Fidelity::named("screen", 0);
    screen.train_steps = Some(30);
    screen.timing_repeats = Some(3);
    let base = ev.baseline(&screen, 5);
    let b = base.metrics().unwrap_or_else(|| panic!("{base:?}"));
    let base_acc = b.accuracy.unwrap();
    assert_eq!(b.speedup, Some(1.0));
    assert!(base_acc > 0.3, "the baseline learns the bands: {base_acc}");

    let conv = ev.evaluate(&candidate("conv2d"), &screen, 5);
    let m = conv.metrics().unwrap_or_else(|| panic!("{conv:?}"));
    let s = m.speedup.unwrap();
    assert!(s > 0.02 && s < 50.0, "speedup {s}");
    assert!(m.latency_ms.unwrap() > 0.0);
    assert_eq!(m.extra[&Figure::TimedSlots], 4.0);
    assert_eq!(m.extra[&Figure::TimedTchPlanCpu], 1.0);
    assert!(m.extra[&Figure::TimingSeconds] > 0.0);
    assert!(m.extra[&Figure::CompileSeconds] >= 0.0);
    assert!(m.extra[&Figure::TimingSeconds] >= m.extra[&Figure::CompileSeconds]);
    assert_eq!(m.extra[&Figure::TrainSteps], 30.0);
    let acc = m.accuracy.unwrap();
    assert!(
        (acc - base_acc).abs() < 0.3,
        "conv2d {acc} vs baseline {base_acc}"
    );

    // A linear layer does not fit a convolution slot.
    match ev.evaluate(&candidate("linear"), &screen, 5) {
        Outcome::Failed { kind, message } => {
            assert_eq!(kind, FailureKind::Invalid, "{message}");
            assert!(!message.contains('\n'));
        }
        o => panic!("linear in a conv slot: {o:?}"),
    }

    // The training-time limit: told the baseline's pace, an evaluator allowing a millionth of
    // it stops conv2d's training at its first loss check.
    let hasty = TchEvaluator::new(&TchEvaluatorConfig {
        train_slowdown_limit: 1e-6,
        ..cfg.clone()
    })
    .unwrap();
    hasty.set_baseline(&screen, &base);
    match hasty.evaluate(&candidate("conv2d"), &screen, 5) {
        Outcome::Failed { kind, message } => {
            assert_eq!(kind, FailureKind::Timeout, "{message}");
            assert!(message.contains("training stopped after"), "{message}");
            assert!(message.contains("its kernels"), "{message}");
        }
        o => panic!("expected a training time-out: {o:?}"),
    }

    // The slowdown floor: nothing is ever faster than 1e9x, so conv2d is not trained.
    let strict = TchEvaluator::new(&TchEvaluatorConfig {
        train_min_speedup: 1e9,
        ..cfg
    })
    .unwrap();
    match strict.evaluate(&candidate("conv2d"), &screen, 5) {
        Outcome::Failed { kind, message } => {
            assert_eq!(kind, FailureKind::Timeout);
            assert!(message.contains("not trained"), "{message}");
        }
        o => panic!("expected a timeout: {o:?}"),
    }
}

#[test]
fn a_missing_dataset_names_the_fetch_command() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = cpu_config(dir.path(), 0);
    let e = TchEvaluator::new(&cfg).unwrap_err().to_string();
    assert!(e.contains("run `kas data fetch fashion-mnist`"), "{e}");
}

#[test]
fn a_graph_kernel_is_validated_timed_and_trained_in_every_slot() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic(DatasetName::FashionMnist, dir.path(), 256, 100, 3).unwrap();
    let cfg = cpu_config(dir.path(), 5);
    let ev = TchEvaluator::new(&cfg).unwrap();
    let mut screen = Fidelity::named("screen", 0);
    screen.train_steps = Some(6);
    screen.timing_repeats = Some(2);
    let c = graph_candidate(ev.model());
    let o = ev.evaluate(&c, &screen, 5);
    let m = o.metrics().unwrap_or_else(|| panic!("{o:?}"));
    assert!(m.speedup.unwrap() > 0.0);
    assert_eq!(m.extra[&Figure::TimedSlots], 4.0);
    assert_eq!(m.extra[&Figure::TimedTchPlanCpu], 1.0);
    assert_eq!(m.extra[&Figure::TrainSteps], 6.0);
    assert!(m.accuracy.is_some());
    let t = ev.time(&c, &screen);
    assert!(t.metrics().and_then(|m| m.speedup).is_some(), "{t:?}");
}
