//! `kas train`: brief training of a host model with its original layers or an operator in
//! every slot, on a real dataset; a table, a summary line and `result.json`.

use crate::Verdict;
use crate::cli::{Device, TrainArgs};
use crate::table::table;
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use kas_eval::data::{DatasetName, ImagePrep, data_dir, load_images, load_text};
use kas_eval::models::slot::Fill;
use kas_eval::models::{HostModel, ModelConfig, ModelKind};
use kas_eval::tch_plan::cuda_available;
use kas_eval::train::lm::train_lm;
use kas_eval::train::sources::{DatasetImages, DatasetText};
use kas_eval::train::vision::train_vision;
use kas_eval::train::{Budget, TrainConfig, TrainProgress, TrainResult};
use serde_json::json;
use std::io::IsTerminal;
use std::time::Instant;

/// Runs `kas train`.
pub fn run(a: TrainArgs) -> anyhow::Result<Verdict> {
    // The precision's environment rule (docs/ARCHITECTURE.md, "Precision"): TF32 off at f32
    // and bf16, as kas search trains; left to the user at tf32.
    let precision = a.precision.precision();
    kas_eval::precision::precision_rule(precision);
    let kind: ModelKind = a.model.parse()?;
    let data: DatasetName = a.data.parse()?;
    if kind.is_language() == data.is_image() {
        bail!(
            "{kind} cannot train on {data}: use {}",
            if kind.is_language() {
                "shakespeare"
            } else {
                "fashion-mnist or mnist"
            }
        );
    }
    let operator = a.operator.as_deref().map(crate::export::load).transpose()?;
    let device = match a.device {
        Some(Device::Cuda) if !cuda_available() => {
            bail!("--device cuda: no CUDA device is visible to libtorch")
        }
        Some(Device::Cuda) => tch::Device::Cuda(0),
        Some(Device::Cpu) => tch::Device::Cpu,
        None if cuda_available() => tch::Device::Cuda(0),
        None => tch::Device::Cpu,
    };
    // Training sets libtorch's switches itself (deterministic cuDNN: eval::train::context).
    let cfg = config(&a, kind, device)?;
    // tf32 and bf16 need a GPU: refused before any data is read.
    cfg.check_precision()?;
    let dir = data_dir(a.data_dir.as_deref());
    let mut model = kind.default_config();
    let fill = operator
        .as_ref()
        .map_or(Fill::Original, |(_, op)| Fill::Operator(op));
    let mut view = ProgressView::new();
    let mut on_progress = |p: &TrainProgress| view.update(p);
    overrides(&mut model, &a);
    if let Some(f) = &a.slots {
        match &mut model {
            ModelConfig::Gpt(g) => g.slots = f.parse()?,
            _ => return Err(kas_eval::error::ConfigError::NoSlotFamilies { model: kind }.into()),
        }
    }
    // Sizes kas does not build are refused as such; an operator that does not fit a slot fails
    // next, before any data is read.
    model.check_size()?;
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    HostModel::new(model, cfg.batch, fill, &vs.root()).with_context(|| {
        let name = operator
            .as_ref()
            .map_or("the original layer", |(n, _)| n.as_str());
        format!("`{name}` does not fit {kind}'s slots")
    })?;
    drop(vs);
    let (result, samples) = match &mut model {
        ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) => {
            let set = load_images(data, &dir)?;
            v.classes = set.classes;
            let prep = ImagePrep {
                size: v.image,
                channels: v.channels,
                augment: true,
            };
            let src = DatasetImages::new(
                set,
                prep,
                device,
                subset(a.train_subset),
                subset(a.test_subset),
            )?;
            let r = train_vision(model, fill, &src, &cfg, Some(&mut on_progress))?;
            (r, src.sizes())
        }
        ModelConfig::Gpt(g) => {
            let set = load_text(data, &dir)?;
            g.vocab = set.vocab_size();
            let sizes = (set.train.len() as i64, set.val.len() as i64);
            let src = DatasetText::new(set, device)?;
            (
                train_lm(model, fill, &src, &cfg, Some(&mut on_progress))?,
                sizes,
            )
        }
    };
    view.finish();
    let summary = summary(kind, &cfg, &result);
    let out = crate::runs::out_dir(a.out.as_deref(), "train")?;
    let report = json!({
        "command": "train",
        "model": kind.name(),
        "model_config": model,
        "data": data.as_str(),
        "train_samples": samples.0,
        "test_samples": samples.1,
        "operator": operator.as_ref().map(|(n, _)| n.as_str()),
        "operator_arg": a.operator,
        "device": format!("{device:?}"),
        "tf32_override": kas_eval::precision::tf32_override(),
        "kas_version": env!("CARGO_PKG_VERSION"),
        "config": cfg,
        "result": result,
        "summary": summary,
    });
    let path = out.join("result.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(kind, &result);
        println!("{summary}");
    }
    Ok(if result.diverged.is_some() {
        Verdict::Failure
    } else {
        Verdict::Success
    })
}

/// The command line's (hidden) size overrides.
fn overrides(model: &mut ModelConfig, a: &TrainArgs) {
    match model {
        ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) => {
            v.width = a.width.unwrap_or(v.width);
            v.image = a.image.unwrap_or(v.image);
        }
        ModelConfig::Gpt(g) => {
            g.width = a.width.unwrap_or(g.width);
            g.layers = a.layers.unwrap_or(g.layers);
            g.heads = a.heads.unwrap_or(g.heads);
            g.context = a.context.unwrap_or(g.context);
        }
    }
}

/// The model's recipe with the command line's overrides.
fn config(a: &TrainArgs, kind: ModelKind, device: tch::Device) -> anyhow::Result<TrainConfig> {
    let mut cfg = TrainConfig::recipe(kind, device);
    cfg.seed = a.seed;
    cfg.precision = a.precision.precision();
    if let Some(b) = a.batch {
        cfg.batch = b;
    }
    if let Some(lr) = a.lr {
        cfg.lr = lr;
    }
    match (a.epochs, a.steps) {
        (Some(e), _) => cfg.budget = Budget::Epochs(e),
        (None, Some(s)) => cfg.budget = Budget::Steps(s),
        (None, None) => {}
    }
    if let Some(e) = a.eval_batches {
        cfg.eval_batches = e;
    }
    if matches!(cfg.budget, Budget::Epochs(0) | Budget::Steps(0)) {
        bail!("--epochs and --steps must be at least 1");
    }
    for (flag, n) in [
        ("--train-subset", a.train_subset),
        ("--test-subset", a.test_subset),
    ] {
        if n == Some(0) {
            bail!("{flag} must be at least 1");
        }
    }
    Ok(cfg)
}

/// A subset size for the data source (sizes past the split keep the whole split).
fn subset(n: Option<u64>) -> Option<i64> {
    n.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// Seconds between two progress lines without a terminal.
const PLAIN_EVERY: f64 = 10.0;

/// Progress of training and of each evaluation: a bar in a terminal; without one (the bar is
/// hidden), a line on stderr every [`PLAIN_EVERY`] seconds and one at the end of every
/// evaluation, so that a log shows how far a long run got.
struct ProgressView {
    bar: ProgressBar,
    plain: bool,
    started: Instant,
    last_line: Instant,
    /// When the current evaluation started, while one runs.
    eval_start: Option<Instant>,
}

impl ProgressView {
    fn new() -> ProgressView {
        let view = ProgressView {
            bar: ProgressBar::new(0),
            plain: !std::io::stderr().is_terminal(),
            started: Instant::now(),
            last_line: Instant::now(),
            eval_start: None,
        };
        view.style("train", "steps");
        view
    }

    fn style(&self, prefix: &'static str, unit: &str) {
        let template = format!("{{prefix}} [{{bar:40}}] {{pos}}/{{len}} {unit} {{msg}} ({{eta}})");
        self.bar.set_style(
            ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        self.bar.set_prefix(prefix);
    }

    /// Whether a plain line is due.
    fn due(&mut self) -> bool {
        let due = self.plain && self.last_line.elapsed().as_secs_f64() >= PLAIN_EVERY;
        if due {
            self.last_line = Instant::now();
        }
        due
    }

    fn update(&mut self, p: &TrainProgress) {
        let elapsed = self.started.elapsed().as_secs_f64();
        match p.evaluating {
            None => {
                if self.eval_start.take().is_some() {
                    self.style("train", "steps");
                    self.bar.set_message("");
                }
                self.bar.set_length(p.total as u64);
                self.bar.set_position(p.step as u64);
                if let Some(l) = p.loss {
                    self.bar.set_message(format!("loss {l:.4}"));
                }
                if self.due() {
                    let loss = p.loss.map_or(String::new(), |l| format!(", loss {l:.4}"));
                    eprintln!("train: step {}/{}{loss}, {elapsed:.0} s", p.step, p.total);
                }
            }
            Some(e) => {
                if self.eval_start.is_none() {
                    self.style("eval ", "test images");
                    self.bar.set_message(format!("at step {}", p.step));
                    self.eval_start = Some(Instant::now());
                }
                let start = self.eval_start.unwrap_or(self.started);
                let of = e.total.map_or("?".to_string(), |t| t.to_string());
                self.bar.set_length(e.total.unwrap_or(e.done) as u64);
                self.bar.set_position(e.done as u64);
                if e.total == Some(e.done) {
                    if self.plain {
                        eprintln!(
                            "train: evaluated {} test images at step {} ({:.1} s)",
                            e.done,
                            p.step,
                            start.elapsed().as_secs_f64()
                        );
                    }
                } else if self.due() {
                    eprintln!(
                        "train: evaluating at step {}: {}/{of} test images, {elapsed:.0} s",
                        p.step, e.done
                    );
                }
            }
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The one-line summary (`docs/CLI.md`).
fn summary(kind: ModelKind, cfg: &TrainConfig, r: &TrainResult) -> String {
    if let Some(reason) = &r.diverged {
        return format!("diverged after {} steps: {reason}", r.steps);
    }
    let budget = match cfg.budget {
        Budget::Epochs(e) => format!("{e} epoch{}", if e == 1 { "" } else { "s" }),
        Budget::Steps(s) => format!("{s} steps"),
    };
    if kind.is_language() {
        format!(
            "validation loss {:.4} after {budget} ({:.1} s, {:.0} tokens/s)",
            r.val_loss.unwrap_or(f64::NAN),
            r.train_seconds,
            r.samples_per_sec
        )
    } else {
        format!(
            "test accuracy {:.2}% after {budget} ({:.1} s/epoch, {:.0} images/s)",
            100.0 * r.accuracy.unwrap_or(f64::NAN),
            r.train_seconds / r.epochs.max(1e-9),
            r.samples_per_sec
        )
    }
}

fn print_table(kind: ModelKind, r: &TrainResult) {
    let metric = if kind.is_language() {
        "val loss"
    } else {
        "test accuracy"
    };
    let rows = r
        .history
        .iter()
        .map(|p| {
            vec![
                format!("{:.2}", p.epoch),
                p.step.to_string(),
                format!("{:.4}", p.train_loss),
                if kind.is_language() {
                    format!("{:.4}", p.metric)
                } else {
                    format!("{:.2}%", 100.0 * p.metric)
                },
            ]
        })
        .collect();
    println!("{}", table(&["epoch", "step", "train loss", metric], rows));
    println!(
        "params {}, trained at {}: {:.1} s training and {:.1} s evaluating of {:.1} s wall",
        r.params, r.precision, r.train_seconds, r.test_seconds, r.wall_seconds
    );
}
