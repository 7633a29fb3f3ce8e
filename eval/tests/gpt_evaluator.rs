//! The campaign evaluator on the GPT (CPU, a small generated corpus): the baseline and a
//! candidate in the MLP up projections are judged by validation loss (with perplexity, no
//! accuracy), the slot set is timed against libtorch's matmul, an operator that does not fit
//! the linear slots is `invalid`, an over-long training a `timeout`, and a missing or too
//! short corpus an error before anything trains.

use kas_campaign::{
    Candidate, Evaluator, FailureKind, Fidelity, Figure, Kernel, KernelMode, Outcome,
};
use kas_eval::data::DatasetName;
use kas_eval::evaluator::{TchEvaluator, TchEvaluatorConfig};
use kas_eval::models::{GptConfig, GptSlots, ModelConfig};
use kas_primitives::canon::CanonicalHash;
use kas_primitives::{StructuralHash, library};
use std::path::Path;

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

/// A small synthetic corpus in `dir/shakespeare/` (the layout `kas data fetch` makes).
fn write_corpus(dir: &std::path::Path) {
    kas_eval::data::synthetic::write_synthetic_text(dir, 12_000, 7).unwrap();
}

fn gpt_config(dir: &Path, context: i64) -> TchEvaluatorConfig {
    TchEvaluatorConfig {
        model: ModelConfig::Gpt(GptConfig {
            vocab: 65,
            width: 16,
            layers: 1,
            heads: 2,
            context,
            dropout: 0.0,
            slots: GptSlots::MlpUp,
        }),
        data: DatasetName::Shakespeare,
        data_dir: dir.to_path_buf(),
        train_subset: None,
        test_subset: Some(64),
        device: "cpu".into(),
        seed: 3,
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
fn the_gpt_is_judged_by_validation_loss() {
    let dir = tempfile::tempdir().unwrap();
    write_corpus(dir.path());
    let cfg = gpt_config(dir.path(), 16);
    let ev = TchEvaluator::new(&cfg).unwrap();
    let names: Vec<&str> = ev.slots().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["h0.fc"]);
    // The vocabulary comes from the corpus (8 words' letters, space and newline).
    let ModelConfig::Gpt(g) = ev.model() else {
        panic!("not a GPT")
    };
    assert!(g.vocab < 20, "{}", g.vocab);
    let mut screen = Fidelity::named("screen", 0);
    screen.train_steps = Some(6);
    screen.timing_repeats = Some(2);

    let base = ev.baseline(&screen, 3);
    let b = base.metrics().unwrap_or_else(|| panic!("{base:?}"));
    let loss = b.loss.unwrap();
    assert!(loss.is_finite() && loss > 0.0, "{loss}");
    assert_eq!(b.accuracy, None);
    assert_eq!(b.speedup, Some(1.0));
    assert!((b.extra[&Figure::Perplexity] - loss.exp()).abs() < 1e-9 * loss.exp());
    assert_eq!(b.extra[&Figure::TrainSteps], 6.0);

    let low_rank = ev.evaluate(&candidate("low-rank-linear"), &screen, 3);
    let m = low_rank.metrics().unwrap_or_else(|| panic!("{low_rank:?}"));
    assert!(m.loss.unwrap().is_finite());
    assert_eq!(m.accuracy, None);
    assert!(m.speedup.unwrap() > 0.0);
    assert_eq!(m.extra[&Figure::TimedSlots], 1.0);
    assert_eq!(m.extra[&Figure::TimedTchPlanCpu], 1.0);
    // Rank 8 instead of the dense 16 → 64 projection: fewer parameters than the baseline.
    assert!(m.extra[&Figure::Params] < b.extra[&Figure::Params]);

    // A convolution does not fit a linear slot.
    match ev.evaluate(&candidate("conv2d"), &screen, 3) {
        Outcome::Failed { kind, message } => {
            assert_eq!(kind, FailureKind::Invalid, "{message}");
            assert!(!message.contains('\n'));
        }
        o => panic!("conv2d in a linear slot: {o:?}"),
    }

    // Told the baseline's pace, an evaluator allowing a millionth of it stops the training.
    let hasty = TchEvaluator::new(&TchEvaluatorConfig {
        train_slowdown_limit: 1e-6,
        ..cfg.clone()
    })
    .unwrap();
    hasty.set_baseline(&screen, &base);
    let mut longer = screen.clone();
    longer.train_steps = Some(60);
    hasty.set_baseline(&longer, &base);
    match hasty.evaluate(&candidate("low-rank-linear"), &longer, 3) {
        Outcome::Failed { kind, message } => {
            assert_eq!(kind, FailureKind::Timeout, "{message}");
            assert!(message.contains("training stopped after"), "{message}");
        }
        o => panic!("expected a training time-out: {o:?}"),
    }
}

#[test]
fn a_missing_or_short_corpus_is_an_error() {
    let empty = tempfile::tempdir().unwrap();
    let e = TchEvaluator::new(&gpt_config(empty.path(), 16)).unwrap_err();
    assert!(
        e.to_string().contains("dataset shakespeare not found"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    write_corpus(dir.path());
    // The validation split (1.2 k characters) is shorter than a 4 k context.
    let e = TchEvaluator::new(&gpt_config(dir.path(), 4096)).unwrap_err();
    assert!(e.to_string().contains("4096"), "{e}");
    // A GPT on images is refused.
    let mut cfg = gpt_config(dir.path(), 16);
    cfg.data = DatasetName::FashionMnist;
    let e = TchEvaluator::new(&cfg).unwrap_err();
    assert!(e.to_string().contains("not gpt on fashion-mnist"), "{e}");
}
