//! One seed, one result, bit for bit, with a kas operator in the slots of the small CNN,
//! trained through the tch plan, whose gathers have deterministic backward passes: windows'
//! `unfold_backward` (`tch_plan/window.rs`; both operators here gather windows) or gathers
//! (`eval::gather`; `index_select`'s scatter-add would add with atomics in no fixed order on a
//! GPU): on a GPU at f32, TF32 (the training experiments' default) and bf16 autocast; without
//! one, the same at f32 on the CPU (fewer steps), with a line saying the GPU part was skipped.

use kas_codegen::Precision;
use kas_eval::data::synthetic::write_synthetic;
use kas_eval::data::{DatasetName, ImagePrep, load_images};
use kas_eval::models::slot::Fill;
use kas_eval::models::{ModelConfig, ModelKind, VisionConfig};
use kas_eval::train::sources::DatasetImages;
use kas_eval::train::vision::train_vision;
use kas_eval::train::{Budget, TrainConfig};
use kas_primitives::library;
use tch::Device;

#[test]
fn a_kas_operator_trains_to_the_same_bits_twice() {
    let gpu = tch::Cuda::is_available();
    if !gpu {
        eprintln!("GPU part skipped: libtorch sees no CUDA device (running on the CPU, f32)");
    }
    let (dev, steps, batch, precisions) = if gpu {
        (
            Device::Cuda(0),
            60,
            64,
            vec![Precision::F32, Precision::Tf32, Precision::Bf16],
        )
    } else {
        (Device::Cpu, 3, 8, vec![Precision::F32])
    };
    let dir = tempfile::tempdir().unwrap();
    let test_images = if gpu { 256 } else { 16 };
    write_synthetic(DatasetName::FashionMnist, dir.path(), 1024, test_images, 5).unwrap();
    let set = load_images(DatasetName::FashionMnist, dir.path()).unwrap();
    let prep = ImagePrep {
        size: 16,
        channels: 1,
        augment: true,
    };
    let data = DatasetImages::new(set, prep, dev, None, None).unwrap();
    let model = ModelConfig::Cnn(VisionConfig {
        width: 64,
        image: 16,
        channels: 1,
        classes: 10,
    });
    for name in ["syno-op2", "conv2d"] {
        let op = (library::get(name).unwrap().build)().unwrap();
        for &precision in &precisions {
            let run = || {
                let cfg = TrainConfig {
                    seed: 7,
                    batch,
                    budget: Budget::Steps(steps),
                    precision,
                    ..TrainConfig::recipe(ModelKind::Cnn, dev)
                };
                train_vision(model, Fill::Operator(&op), &data, &cfg, None).unwrap()
            };
            let (a, b) = (run(), run());
            assert!(a.diverged.is_none(), "{name} {precision:?}: {a:?}");
            assert_eq!(
                (a.train_loss.to_bits(), a.accuracy.map(f64::to_bits)),
                (b.train_loss.to_bits(), b.accuracy.map(f64::to_bits)),
                "{name} at {precision:?}"
            );
            eprintln!(
                "{name} {precision:?}: loss {} accuracy {:?}, twice",
                a.train_loss, a.accuracy
            );
        }
    }
}
