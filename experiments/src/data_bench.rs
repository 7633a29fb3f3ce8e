//! `kas data bench NAME`: how long loading and batching take, on the CPU or the GPU, and
//! whether the device's batches equal the CPU's (the pipeline is meant to be device-independent).

use crate::Verdict;
use crate::cli::{DataBenchArgs, Device};
use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use kas_eval::data::{
    DatasetName, ImagePrep, Split, data_dir, image_batches, load_images, load_text, text_batch,
    verify_dataset,
};
use kas_eval::tch_plan::cuda_available;
use serde_json::json;
use std::time::Instant;

/// Largest difference allowed between a device's batch and the CPU's (bilinear resizing and
/// normalisation in f32 may round differently).
const DEVICE_TOL: f64 = 1e-4;
/// Batches compared between the device and the CPU.
const COMPARED: usize = 2;

/// Runs `kas data bench`.
pub fn run(a: DataBenchArgs) -> anyhow::Result<Verdict> {
    let name: DatasetName = a.name.parse()?;
    let device = match a.device {
        Some(Device::Cpu) => tch::Device::Cpu,
        Some(Device::Cuda) if !cuda_available() => bail!(
            "no CUDA device visible to libtorch (no GPU, or a kas built without TORCH_RPATH: see docs/ARCHITECTURE.md, Building for a GPU)"
        ),
        Some(Device::Cuda) => tch::Device::Cuda(0),
        None if cuda_available() => tch::Device::Cuda(0),
        None => tch::Device::Cpu,
    };
    let dir = data_dir(a.data_dir.as_deref());
    let t = Instant::now();
    verify_dataset(name, &dir)?;
    let verify_s = t.elapsed().as_secs_f64();
    if name.is_image() {
        images(&a, name, &dir, device, verify_s)
    } else {
        text(&a, name, &dir, device, verify_s)
    }
}

fn device_name(d: tch::Device) -> &'static str {
    if d == tch::Device::Cpu { "cpu" } else { "cuda" }
}

fn bar(len: usize) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} batches ({elapsed}, eta {eta})",
    )?);
    Ok(bar)
}

fn sync(device: tch::Device) {
    if let tch::Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

fn images(
    a: &DataBenchArgs,
    name: DatasetName,
    dir: &std::path::Path,
    device: tch::Device,
    verify_s: f64,
) -> anyhow::Result<Verdict> {
    let t = Instant::now();
    let set = load_images(name, dir)?;
    let load_s = t.elapsed().as_secs_f64();
    let stored = set.train_images.size();
    let prep = ImagePrep {
        size: a.size.unwrap_or(stored[2]),
        channels: a.channels.unwrap_or(stored[1]),
        augment: !a.no_augment,
    };
    let batches = image_batches(&set, Split::Train, &prep, a.batch, a.seed, 0, device)?;
    let steps = a.steps.unwrap_or(batches.len()).min(batches.len());
    let progress = bar(steps)?;
    let t = Instant::now();
    let (mut sum, mut sq, mut count, mut seen) = (0.0, 0.0, 0.0, 0usize);
    let mut first = Vec::new();
    for (x, y) in batches.take(steps) {
        sum += x.sum(tch::Kind::Double).double_value(&[]);
        sq += x.square().sum(tch::Kind::Double).double_value(&[]);
        count += x.numel() as f64;
        seen += y.size()[0] as usize;
        if first.len() < COMPARED {
            first.push((x, y));
        }
        progress.inc(1);
    }
    sync(device);
    let batch_s = t.elapsed().as_secs_f64();
    progress.finish_and_clear();
    let mean = sum / count;
    let std = (sq / count - mean * mean).max(0.0).sqrt();

    // The same batches on the CPU must agree.
    let mut max_diff: Option<f64> = None;
    if device != tch::Device::Cpu {
        let cpu = image_batches(
            &set,
            Split::Train,
            &prep,
            a.batch,
            a.seed,
            0,
            tch::Device::Cpu,
        )?;
        let mut worst = 0.0f64;
        for ((x, y), (cx, cy)) in first.iter().zip(cpu) {
            let x = x.to_device(tch::Device::Cpu);
            if !y.to_device(tch::Device::Cpu).equal(&cy) {
                worst = f64::INFINITY;
            }
            worst = worst.max((x - cx).abs().max().double_value(&[]));
        }
        max_diff = Some(worst);
    }
    let rate = seen as f64 / batch_s;
    let shape = format!("{}x{}x{}", prep.channels, prep.size, prep.size);
    let summary = format!(
        "{name}: {seen} images in {batch_s:.2} s ({rate:.0} images/s) as {shape}, batch {}, augment {}, device {}",
        a.batch,
        if prep.augment { "on" } else { "off" },
        device_name(device)
    );
    if a.json {
        let doc = json!({
            "dataset": name.to_string(), "device": device_name(device), "verify_s": verify_s,
            "load_s": load_s, "batch_s": batch_s, "images": seen, "images_per_s": rate,
            "shape": [prep.channels, prep.size, prep.size], "batch": a.batch,
            "augment": prep.augment, "seed": a.seed, "mean": mean, "std": std,
            "device_max_diff": max_diff, "summary": summary,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!("verify (SHA-256 of every file): {verify_s:.2} s");
        println!("load (gunzip + IDX parse): {load_s:.2} s");
        println!("normalised batches: mean {mean:.4}, std {std:.4}");
        if let Some(d) = max_diff {
            println!(
                "device vs cpu, first {COMPARED} batches: max |diff| {d:.2e} (tolerance {DEVICE_TOL:.0e})"
            );
        }
        println!("{summary}");
    }
    Ok(match max_diff {
        Some(d) if d.is_nan() || d > DEVICE_TOL => Verdict::Failure,
        _ => Verdict::Success,
    })
}

fn text(
    a: &DataBenchArgs,
    name: DatasetName,
    dir: &std::path::Path,
    device: tch::Device,
    verify_s: f64,
) -> anyhow::Result<Verdict> {
    let t = Instant::now();
    let set = load_text(name, dir)?;
    let load_s = t.elapsed().as_secs_f64();
    let steps = a.steps.unwrap_or(1000);
    let progress = bar(steps)?;
    let t = Instant::now();
    for step in 0..steps {
        let (x, y) = text_batch(&set.train, a.batch, a.context, a.seed, step as u64)?;
        let _ = (x.to_device(device), y.to_device(device));
        progress.inc(1);
    }
    sync(device);
    let batch_s = t.elapsed().as_secs_f64();
    progress.finish_and_clear();
    let tokens = steps as f64 * (a.batch * a.context) as f64;
    let rate = tokens / batch_s;
    let summary = format!(
        "{name}: {steps} batches of {}x{} tokens in {batch_s:.2} s ({rate:.0} tokens/s), device {}",
        a.batch,
        a.context,
        device_name(device)
    );
    if a.json {
        let doc = json!({
            "dataset": name.to_string(), "device": device_name(device), "verify_s": verify_s,
            "load_s": load_s, "batch_s": batch_s, "batches": steps, "tokens_per_s": rate,
            "vocab": set.vocab_size(), "train_tokens": set.train.len(),
            "val_tokens": set.val.len(), "summary": summary,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!("verify (SHA-256): {verify_s:.2} s");
        println!("load (gunzip + tokenise): {load_s:.2} s");
        println!(
            "vocab {}, train {} tokens, val {} tokens",
            set.vocab_size(),
            set.train.len(),
            set.val.len()
        );
        println!("{summary}");
    }
    Ok(Verdict::Success)
}
