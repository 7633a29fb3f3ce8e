//! Brief training on tiny synthetic problems (CPU, seconds): the loss falls, seeded runs are
//! identical, a huge learning rate is caught as divergence with a reason, operators in the
//! slots train, and mismatched model and data are refused.

use kas_eval::models::slot::Fill;
use kas_eval::models::{GptConfig, ModelConfig, VisionConfig};
use kas_eval::train::lm::{TokenSource, train_lm};
use kas_eval::train::schedule::LrSchedule;
use kas_eval::train::vision::{Batches, ImageSource, train_vision};
use kas_eval::train::{Budget, Optimizer, TrainConfig, TrainProgress};
use kas_primitives::library;
use tch::{Device, Kind, Tensor};

/// Three classes of 8×8 one-channel images: a class-specific pattern plus noise.
struct Blobs {
    train: (Tensor, Tensor),
    test: (Tensor, Tensor),
}

impl Blobs {
    /// Draws under `seeded`: a sibling test's training run draws its initial weights from
    /// libtorch's global generator while this one builds its data, and an unlocked draw here
    /// would interleave with those (the same seed then gave different weights: the flake of
    /// `seeded_runs_are_identical_and_seeds_differ`).
    fn new(n_train: i64, n_test: i64) -> Blobs {
        kas_eval::seeded::seeded(123, || Blobs::draw(n_train, n_test))
    }

    fn draw(n_train: i64, n_test: i64) -> Blobs {
        let patterns = Tensor::randn([3, 1, 8, 8], (Kind::Float, Device::Cpu));
        let make = |n: i64| {
            let y = Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(3);
            let x = patterns.index_select(0, &y)
                + 0.8 * Tensor::randn([n, 1, 8, 8], (Kind::Float, Device::Cpu));
            (x, y)
        };
        Blobs {
            train: make(n_train),
            test: make(n_test),
        }
    }
}

fn batches(x: &Tensor, y: &Tensor, order: Vec<i64>, batch: i64) -> Batches<'static> {
    let (x, y) = (x.shallow_clone(), y.shallow_clone());
    let chunks: Vec<Vec<i64>> = order.chunks(batch as usize).map(<[i64]>::to_vec).collect();
    Box::new(chunks.into_iter().map(move |c| {
        let idx = Tensor::from_slice(&c);
        (x.index_select(0, &idx), y.index_select(0, &idx))
    }))
}

impl ImageSource for Blobs {
    fn classes(&self) -> i64 {
        3
    }
    fn steps_per_epoch(&self, batch: i64) -> usize {
        (self.train.0.size()[0] / batch) as usize
    }
    fn train_epoch(&self, batch: i64, seed: u64, epoch: usize) -> kas_eval::Result<Batches<'_>> {
        // A deterministic order per (seed, epoch), whole batches only.
        let n = self.train.0.size()[0];
        let shift = (seed as i64 * 7 + epoch as i64 * 13) % n;
        let order: Vec<i64> = (0..self.steps_per_epoch(batch) as i64 * batch)
            .map(|i| (i * 5 + shift) % n)
            .collect();
        Ok(batches(&self.train.0, &self.train.1, order, batch))
    }
    fn test(&self, batch: i64) -> kas_eval::Result<Batches<'_>> {
        let order = (0..self.test.0.size()[0]).collect();
        Ok(batches(&self.test.0, &self.test.1, order, batch))
    }
}

fn cnn() -> ModelConfig {
    ModelConfig::Cnn(VisionConfig {
        width: 4,
        image: 8,
        channels: 1,
        classes: 3,
    })
}

fn config(epochs: usize, lr: f64, seed: u64) -> TrainConfig {
    TrainConfig {
        seed,
        batch: 16,
        lr,
        budget: Budget::Epochs(epochs),
        check_every: 4,
        ..TrainConfig::recipe(kas_eval::models::ModelKind::Cnn, Device::Cpu)
    }
}

#[test]
fn training_reduces_the_loss_and_learns() {
    let data = Blobs::new(240, 60);
    let mut seen: Vec<TrainProgress> = Vec::new();
    let mut cb = |p: &TrainProgress| seen.push(*p);
    let r = train_vision(
        cnn(),
        Fill::Original,
        &data,
        &config(4, 0.05, 0),
        Some(&mut cb),
    )
    .unwrap();
    assert_eq!(r.diverged, None);
    assert_eq!(r.steps, 4 * 15);
    assert_eq!(r.history.len(), 4);
    // One report per step, and per test batch of each of the 4 evaluations (60 test images).
    assert_eq!(seen.iter().filter(|p| p.evaluating.is_none()).count(), 60);
    let evals: Vec<_> = seen.iter().filter_map(|p| p.evaluating).collect();
    assert_eq!(
        evals.iter().filter(|e| e.done == 60).count(),
        4,
        "{evals:?}"
    );
    assert!(seen.iter().filter(|p| p.loss.is_some()).count() >= 15);
    let (first, last) = (r.history[0].train_loss, r.history[3].train_loss);
    assert!(last < 0.7 * first, "loss {first} -> {last}");
    assert!(r.accuracy.unwrap() > 0.8, "{r:?}");
    assert!(r.samples_per_sec > 0.0 && r.train_seconds <= r.wall_seconds);
}

#[test]
fn seeded_runs_are_identical_and_seeds_differ() {
    let data = Blobs::new(96, 30);
    let run =
        |seed| train_vision(cnn(), Fill::Original, &data, &config(2, 0.05, seed), None).unwrap();
    let (a, b, c) = (run(3), run(3), run(4));
    assert_eq!(a.history, b.history);
    assert_eq!(a.train_loss.to_bits(), b.train_loss.to_bits());
    assert_ne!(a.train_loss, c.train_loss);
}

#[test]
fn a_huge_learning_rate_diverges_with_a_reason() {
    let data = Blobs::new(96, 30);
    let cfg = TrainConfig {
        schedule: LrSchedule::Constant,
        optimizer: Optimizer::Sgd {
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
        },
        ..config(5, 1e6, 0)
    };
    let r = train_vision(cnn(), Fill::Original, &data, &cfg, None).unwrap();
    let reason = r.diverged.expect("diverged");
    assert!(reason.contains("loss"), "{reason}");
    assert!(r.steps < 5 * 6, "stopped after {} steps", r.steps);
    assert_eq!(r.accuracy, None);
}

#[test]
fn operators_in_the_slots_train() {
    let data = Blobs::new(240, 60);
    for name in ["conv2d", "shift-conv2d"] {
        let op = (library::get(name).unwrap().build)().unwrap();
        let r = train_vision(cnn(), Fill::Operator(&op), &data, &config(3, 0.05, 0), None)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.diverged, None, "{name}");
        let (first, last) = (r.history[0].train_loss, r.history[2].train_loss);
        assert!(last < first, "{name}: loss {first} -> {last}");
        assert!(r.accuracy.unwrap() > 0.5, "{name}: {r:?}");
    }
}

/// A cyclic token sequence (0, 1, …, 6, 0, 1, …) with occasional noise: easy to predict.
struct Cycle {
    tokens: Vec<i64>,
}

impl Cycle {
    fn window(&self, batch: i64, t: i64, mut pick: impl FnMut(i64) -> usize) -> (Tensor, Tensor) {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for b in 0..batch {
            let s = pick(b);
            x.extend_from_slice(&self.tokens[s..s + t as usize]);
            y.extend_from_slice(&self.tokens[s + 1..s + 1 + t as usize]);
        }
        (
            Tensor::from_slice(&x).view([batch, t]),
            Tensor::from_slice(&y).view([batch, t]),
        )
    }
}

impl TokenSource for Cycle {
    fn vocab(&self) -> i64 {
        7
    }
    fn train_tokens(&self) -> usize {
        self.tokens.len()
    }
    fn train_batch(
        &self,
        batch: i64,
        t: i64,
        seed: u64,
        step: usize,
    ) -> kas_eval::Result<(Tensor, Tensor)> {
        let span = self.tokens.len() - t as usize - 1;
        Ok(self.window(batch, t, |b| {
            (seed as usize * 31 + step * 17 + b as usize * 5) % span
        }))
    }
    fn val_batch(&self, batch: i64, t: i64, index: usize) -> kas_eval::Result<(Tensor, Tensor)> {
        Ok(self.window(batch, t, |b| index * 3 + b as usize))
    }
}

fn gpt() -> ModelConfig {
    ModelConfig::Gpt(GptConfig {
        vocab: 7,
        width: 16,
        layers: 2,
        heads: 2,
        context: 8,
        dropout: 0.0,
        slots: Default::default(),
    })
}

#[test]
fn the_gpt_learns_a_cycle_and_reports_validation_loss() {
    let tokens = (0..400)
        .map(|i| if i % 37 == 0 { 3 } else { i % 7 })
        .collect();
    let data = Cycle { tokens };
    let cfg = TrainConfig {
        batch: 8,
        budget: Budget::Steps(60),
        eval_every: 30,
        eval_batches: 3,
        check_every: 10,
        lr: 3e-3,
        schedule: LrSchedule::Cosine {
            warmup: 5,
            floor: 0.1,
        },
        ..TrainConfig::recipe(kas_eval::models::ModelKind::Gpt, Device::Cpu)
    };
    let r = train_lm(gpt(), Fill::Original, &data, &cfg, None).unwrap();
    assert_eq!(r.diverged, None);
    assert_eq!(r.steps, 60);
    assert_eq!(r.history.len(), 2);
    let v = r.val_loss.unwrap();
    // Uniform guessing costs ln 7 = 1.95.
    assert!(v < 1.0, "validation loss {v}");
    let op = (library::get("linear").unwrap().build)().unwrap();
    let r2 = train_lm(gpt(), Fill::Operator(&op), &data, &cfg, None).unwrap();
    assert!(r2.val_loss.unwrap() < 1.5, "{r2:?}");
}

#[test]
fn mismatched_models_and_data_are_refused() {
    let data = Blobs::new(48, 12);
    let e = train_vision(gpt(), Fill::Original, &data, &config(1, 0.1, 0), None).unwrap_err();
    assert!(e.to_string().contains("language model"), "{e}");
    let ten = ModelConfig::Cnn(VisionConfig {
        width: 4,
        image: 8,
        channels: 1,
        classes: 10,
    });
    let e = train_vision(ten, Fill::Original, &data, &config(1, 0.1, 0), None).unwrap_err();
    assert!(e.to_string().contains("10 classes"), "{e}");
    let cycle = Cycle {
        tokens: (0..100).map(|i| i % 7).collect(),
    };
    let e = train_lm(cnn(), Fill::Original, &cycle, &config(1, 0.1, 0), None).unwrap_err();
    assert!(e.to_string().contains("image model"), "{e}");
}

#[test]
fn a_run_over_its_time_limit_stops_with_a_reason() {
    let data = Blobs::new(96, 30);
    let cfg = TrainConfig {
        max_train_seconds: Some(1e-9),
        ..config(5, 0.05, 0)
    };
    let r = train_vision(cnn(), Fill::Original, &data, &cfg, None).unwrap();
    let reason = r.timed_out.expect("a time-out");
    assert!(reason.contains("training stopped after 4 of"), "{reason}");
    assert_eq!(r.steps, cfg.check_every);
    assert!(r.accuracy.is_none() && r.diverged.is_none());
    let bad = TrainConfig {
        max_train_seconds: Some(0.0),
        ..config(1, 0.05, 0)
    };
    assert!(train_vision(cnn(), Fill::Original, &data, &bad, None).is_err());
}
