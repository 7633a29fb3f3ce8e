//! One seed, one result, bit for bit (CPU, seconds): the CNN through the real data pipeline
//! (synthetic Fashion-MNIST on disk, resized and augmented, in channels-last order or not) and
//! the GPT with dropout, whose masks are drawn under the seeded lock while other threads seed
//! and draw from libtorch's generator. Also: a run leaves cuDNN deterministic and TF32 off, and
//! a precision the CPU cannot train at is refused with one line.

use kas_codegen::Precision;
use kas_eval::data::synthetic::write_synthetic;
use kas_eval::data::{DatasetName, ImagePrep, TextSet, load_images};
use kas_eval::models::slot::Fill;
use kas_eval::models::{GptConfig, ModelConfig, ModelKind, VisionConfig};
use kas_eval::seeded::seeded;
use kas_eval::torch_context::{self, Tf32};
use kas_eval::train::lm::train_lm;
use kas_eval::train::sources::{DatasetImages, DatasetText};
use kas_eval::train::vision::train_vision;
use kas_eval::train::{Budget, TrainConfig, TrainResult};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tch::Device;

/// Synthetic Fashion-MNIST (640 + 100 images) for the CNN at 16×16: resized and augmented.
fn images(dir: &std::path::Path) -> DatasetImages {
    write_synthetic(DatasetName::FashionMnist, dir, 640, 100, 11).unwrap();
    let set = load_images(DatasetName::FashionMnist, dir).unwrap();
    let prep = ImagePrep {
        size: 16,
        channels: 1,
        augment: true,
    };
    DatasetImages::new(set, prep, Device::Cpu, None, None).unwrap()
}

fn cnn() -> ModelConfig {
    ModelConfig::Cnn(VisionConfig {
        width: 4,
        image: 16,
        channels: 1,
        classes: 10,
    })
}

fn cnn_config(seed: u64, channels_last: bool) -> TrainConfig {
    TrainConfig {
        seed,
        batch: 32,
        lr: 0.05,
        budget: Budget::Steps(16),
        check_every: 8,
        channels_last,
        ..TrainConfig::recipe(ModelKind::Cnn, Device::Cpu)
    }
}

/// The figures a run is judged by, as bits.
fn bits(r: &TrainResult) -> Vec<u64> {
    let mut v = vec![r.train_loss.to_bits()];
    v.extend(r.accuracy.map(f64::to_bits));
    v.extend(r.val_loss.map(f64::to_bits));
    v.extend(r.history.iter().map(|p| p.metric.to_bits()));
    v.extend(r.history.iter().map(|p| p.train_loss.to_bits()));
    v
}

/// Runs `f` while another thread seeds libtorch's generator and draws from it through
/// [`seeded`] as fast as it can.
fn with_noise<T>(f: impl FnOnce() -> T) -> T {
    let stop = Arc::new(AtomicBool::new(false));
    let noise = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut k = 1000u64;
            while !stop.load(Ordering::Relaxed) {
                let _ = seeded(k, || tch::Tensor::randn([256], tch::kind::FLOAT_CPU));
                k += 1;
                // Often enough to fall between (and within) every step, without taking a core.
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            k
        })
    };
    let out = f();
    stop.store(true, Ordering::Relaxed);
    let draws = noise.join().unwrap() - 1000;
    assert!(draws > 0, "the noise thread never drew");
    out
}

#[test]
fn the_cnn_trains_to_the_same_bits_from_one_seed() {
    let dir = tempfile::tempdir().unwrap();
    let data = images(dir.path());
    for channels_last in [false, true] {
        let run = |seed| {
            train_vision(
                cnn(),
                Fill::Original,
                &data,
                &cnn_config(seed, channels_last),
                None,
            )
            .unwrap()
        };
        let (a, b) = with_noise(|| (run(3), run(3)));
        assert!(a.accuracy.is_some() && a.diverged.is_none(), "{a:?}");
        assert_eq!(bits(&a), bits(&b), "channels-last {channels_last}");
        assert_eq!(a.precision, Precision::F32);
        if !channels_last {
            assert_ne!(bits(&a), bits(&run(4)), "another seed, another run");
        }
    }
}

/// A text of 3,000 characters from a 12-letter alphabet with a simple structure.
fn text() -> DatasetText {
    let text: String = (0..3000u32)
        .map(|i| char::from(b'a' + ((i * 7 + i / 13) % 12) as u8))
        .collect();
    DatasetText::new(TextSet::from_text(&text, 0.9), Device::Cpu).unwrap()
}

fn gpt(dropout: f64) -> ModelConfig {
    ModelConfig::Gpt(GptConfig {
        vocab: 12,
        width: 16,
        layers: 2,
        heads: 2,
        context: 8,
        dropout,
        slots: Default::default(),
    })
}

fn gpt_config(seed: u64) -> TrainConfig {
    TrainConfig {
        seed,
        batch: 8,
        budget: Budget::Steps(30),
        eval_every: 15,
        eval_batches: 2,
        check_every: 5,
        lr: 3e-3,
        ..TrainConfig::recipe(ModelKind::Gpt, Device::Cpu)
    }
}

#[test]
fn the_gpt_with_dropout_trains_to_the_same_bits_while_other_threads_draw() {
    let data = text();
    let run = |seed| train_lm(gpt(0.2), Fill::Original, &data, &gpt_config(seed), None).unwrap();
    let reference = run(5);
    assert!(reference.val_loss.is_some() && reference.diverged.is_none());
    assert_eq!(reference.history.len(), 2);
    // Two more runs of seed 5, each while another thread reseeds and draws between (and, were
    // the masks drawn outside the lock, during) its steps.
    for _ in 0..2 {
        let again = with_noise(|| run(5));
        assert_eq!(bits(&reference), bits(&again));
    }
    assert_ne!(bits(&reference), bits(&run(6)), "another seed, another run");
    // Dropout matters: without it the same seed trains to other figures.
    let plain = train_lm(gpt(0.0), Fill::Original, &data, &gpt_config(5), None).unwrap();
    assert_ne!(bits(&reference), bits(&plain));
}

#[test]
fn a_run_sets_deterministic_cudnn_and_tf32_off() {
    // As a timing target leaves them: benchmark mode on, TF32 allowed.
    torch_context::set_deterministic(false).unwrap();
    torch_context::set_tf32(Tf32 {
        conv: true,
        matmul: true,
    })
    .unwrap();
    let data = text();
    let cfg = TrainConfig {
        budget: Budget::Steps(2),
        ..gpt_config(0)
    };
    train_lm(gpt(0.0), Fill::Original, &data, &cfg, None).unwrap();
    assert!(torch_context::deterministic().unwrap());
    assert_eq!(
        torch_context::tf32().unwrap(),
        Tf32 {
            conv: false,
            matmul: false
        }
    );
}

#[test]
fn tf32_and_bf16_on_the_cpu_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = images(dir.path());
    for precision in [Precision::Tf32, Precision::Bf16] {
        let cfg = TrainConfig {
            precision,
            ..cnn_config(0, false)
        };
        let e = train_vision(cnn(), Fill::Original, &data, &cfg, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("training at {precision} needs a CUDA device")),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
        let e = train_lm(
            gpt(0.0),
            Fill::Original,
            &text(),
            &TrainConfig {
                precision,
                ..gpt_config(0)
            },
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("CPU trains at f32 only"), "{e}");
    }
}
