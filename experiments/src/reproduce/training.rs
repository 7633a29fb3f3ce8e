//! Training for the accuracy experiments (`syno-accuracy`, `host-baselines`): a host model with
//! its original layers or an operator in every slot, trained on Fashion-MNIST as `kas train`
//! trains it, with its whole-model multiply-adds per image. On the GPU the models' default
//! sizes (64×64 images) for a few epochs; with `--quick` a small version on the CPU on a
//! synthetic Fashion-MNIST-format set written into the output folder (unless `--data-dir`
//! names one), whose accuracies say nothing about the real data.

use super::Context;
use super::journal::Twin;
use anyhow::bail;
use kas_codegen::Precision;
use kas_eval::bench::sets::{SlotBinding, map_onto};
use kas_eval::data::synthetic::write_synthetic;
use kas_eval::data::{DatasetName, ImagePrep, data_dir, load_images};
use kas_eval::models::slot::Fill;
use kas_eval::models::{HostModel, ModelConfig, ModelKind};
use kas_eval::train::sources::DatasetImages;
use kas_eval::train::vision::train_vision;
use kas_eval::train::{Budget, TrainConfig};
use kas_primitives::{Operator, Plan};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Epochs of a full (GPU) training run.
pub const EPOCHS: usize = 2;

/// Steps of a `--quick` training run.
const QUICK_STEPS: usize = 2;

/// Training and test images of the `--quick` synthetic set.
const QUICK_IMAGES: (usize, usize) = (32, 16);

/// One training run's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trained {
    /// Final test accuracy, in % (none when training failed or stopped before a test).
    pub accuracy: Option<f64>,
    /// Whole-model multiply-adds per image with this fill.
    pub macs: f64,
    /// Trainable parameters (none when training failed).
    pub params: Option<i64>,
    /// Epochs done (fractional for a step budget).
    pub epochs: f64,
    /// Wall seconds of the run.
    pub seconds: f64,
    /// Why it stopped early (it diverged) or failed (the error's first line).
    pub failure: Option<String>,
    /// The device fingerprint line.
    pub device: String,
}

/// Where and how long the runs train.
pub struct Trainer {
    quick: bool,
    data: PathBuf,
    /// Whether the data is the synthetic `--quick` set.
    pub synthetic: bool,
    device: tch::Device,
    precision: Precision,
}

impl Trainer {
    /// The trainer of `ctx` for the experiment `name`: the GPU with the data of `--data-dir`
    /// (or `$KAS_HOME/data`), or for `--quick` the CPU with a synthetic set when no
    /// `--data-dir` is given.
    pub fn new(ctx: &Context, name: &str) -> anyhow::Result<Trainer> {
        let precision = ctx.precision;
        kas_eval::precision::precision_rule(precision);
        if ctx.quick && precision != Precision::F32 {
            bail!("--quick trains on the CPU, at f32 only (not --precision {precision})");
        }
        if ctx.quick {
            let (data, synthetic) = match &ctx.data_dir {
                Some(d) => (d.clone(), false),
                None => {
                    let d = ctx.dir.join("data");
                    write_synthetic(
                        DatasetName::FashionMnist,
                        &d,
                        QUICK_IMAGES.0,
                        QUICK_IMAGES.1,
                        ctx.seed,
                    )?;
                    (d, true)
                }
            };
            return Ok(Trainer {
                quick: true,
                data,
                synthetic,
                device: tch::Device::Cpu,
                precision,
            });
        }
        if !ctx.render_only && !kas_eval::tch_plan::cuda_available() {
            bail!("no CUDA GPU: {name} trains on one (--quick trains a small version on the CPU)");
        }
        if !ctx.render_only {
            // Refused here, once, rather than journaled as every run's failure.
            let mut cfg = TrainConfig::recipe(ModelKind::ResNet18, tch::Device::Cuda(0));
            cfg.precision = precision;
            cfg.check_precision()?;
        }
        Ok(Trainer {
            quick: false,
            data: data_dir(ctx.data_dir.as_deref()),
            synthetic: false,
            device: tch::Device::Cuda(0),
            precision,
        })
    }

    /// How the runs train, in words.
    pub fn label(&self) -> String {
        if self.quick {
            format!(
                "CPU, {QUICK_STEPS} steps of batch 8 at 16x16 on {} Fashion-MNIST-format images{}",
                QUICK_IMAGES.0,
                if self.synthetic {
                    " (synthetic: the accuracies mean nothing)"
                } else {
                    ""
                }
            )
        } else {
            format!(
                "GPU, {EPOCHS} epochs of Fashion-MNIST at 64x64, kas train's recipe (SGD, cosine), {}",
                match self.precision {
                    Precision::F32 => "f32 (TF32 off)",
                    p => p.label(),
                }
            )
        }
    }

    /// The model's sizes: its defaults, or for `--quick` 16×16 images at width `quick_width`.
    pub fn config(&self, kind: ModelKind, quick_width: i64) -> anyhow::Result<ModelConfig> {
        let mut model = kind.default_config();
        if self.quick {
            match &mut model {
                ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) => {
                    v.image = 16;
                    v.width = quick_width;
                }
                ModelConfig::Gpt(_) => bail!("{kind} is not an image classifier"),
            }
        }
        Ok(model)
    }

    /// Trains `kind` (sizes from [`Trainer::config`]) with `op` in every slot (none: the
    /// original layers) from `seed`.
    pub fn train(
        &self,
        kind: ModelKind,
        quick_width: i64,
        op: Option<&Operator>,
        seed: u64,
    ) -> anyhow::Result<Trained> {
        let mut model = self.config(kind, quick_width)?;
        let macs = ModelMacs::new(model)?.with(op)?;
        let set = load_images(DatasetName::FashionMnist, &self.data)?;
        let image = match &mut model {
            ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) => {
                v.classes = set.classes;
                ImagePrep {
                    size: v.image,
                    channels: v.channels,
                    augment: true,
                }
            }
            ModelConfig::Gpt(_) => bail!("{kind} is not an image classifier"),
        };
        let src = DatasetImages::new(set, image, self.device, None, None)?;
        let mut cfg = TrainConfig::recipe(kind, self.device);
        cfg.seed = seed;
        cfg.precision = self.precision;
        if self.quick {
            cfg.budget = Budget::Steps(QUICK_STEPS);
            cfg.batch = 8;
        } else {
            cfg.budget = Budget::Epochs(EPOCHS);
        }
        let fill = op.map_or(Fill::Original, Fill::Operator);
        let start = std::time::Instant::now();
        // A failed run (an operator that diverges or runs out of memory, say) is a result of
        // the experiment, journaled as such; a rerun does not train it again.
        let (accuracy, params, epochs, failure) = match train_vision(model, fill, &src, &cfg, None)
        {
            Ok(r) => (
                r.accuracy.map(|a| 100.0 * a),
                Some(r.params),
                r.epochs,
                r.diverged,
            ),
            Err(e) => (
                None,
                None,
                0.0,
                Some(format!(
                    "training failed: {}",
                    kas_campaign::first_line(&e.to_string())
                )),
            ),
        };
        let fingerprint = match self.device {
            tch::Device::Cuda(i) => {
                let gpu = kas_eval::gpu::Gpu::open(i)?;
                kas_eval::fingerprint::Fingerprint::cuda(&gpu, self.precision.label(), false)?
            }
            _ => kas_eval::fingerprint::Fingerprint::cpu("f32"),
        };
        Ok(Trained {
            accuracy,
            macs,
            params,
            epochs,
            seconds: start.elapsed().as_secs_f64(),
            failure,
            device: fingerprint.summary(),
        })
    }

    /// Where the ResNet-18 baseline from `seed` that experiment `me` trains is also
    /// journaled ([`RESNET18_BASELINES`]): the other experiment's folder beside `ctx.dir` (as
    /// `experiments/reproduced/` and `kas reproduce all` lay them out) under its key at
    /// `ctx`'s precision, if it trains the model at the same sizes (`--quick` runs of the two
    /// differ in width, full runs do not).
    pub fn baseline_twin(&self, ctx: &Context, me: &str, seed: u64) -> Option<Twin> {
        let width = |name: &str| {
            (RESNET18_BASELINES.iter())
                .find(|(n, _, _)| *n == name)
                .map(|b| b.2)
        };
        let mine = self.config(ModelKind::ResNet18, width(me)?).ok()?;
        let (experiment, run, w) = RESNET18_BASELINES.into_iter().find(|(n, _, _)| *n != me)?;
        let dir = ctx.dir.parent()?.join(experiment);
        (self.config(ModelKind::ResNet18, w).ok()? == mine).then(|| Twin {
            dir,
            experiment,
            key: ctx.key(&format!("{run}-seed-{seed}")),
        })
    }
}

/// The experiments that train the same run (ResNet-18 with its original layers from one
/// seed): `syno-accuracy`'s conv model and `host-baselines`' ResNet-18, each with the name
/// its keys give the run (`NAME-seed-S`) and its `--quick` width.
pub const RESNET18_BASELINES: [(&str, &str, i64); 2] = [
    ("syno-accuracy", "conv2d", super::syno_accuracy::QUICK_WIDTH),
    (
        "host-baselines",
        "resnet18",
        super::host_baselines::QUICK_WIDTH,
    ),
];

/// The line under a table of training runs on those adopted from another experiment's
/// journal (`RUN from EXPERIMENT/KEY` each), if any.
pub fn adopted_note(adopted: &[String]) -> Option<String> {
    (!adopted.is_empty()).then(|| {
        format!(
            "\nThe same training run journaled by another experiment, adopted from its journal rather than trained again (its seconds count there): {}.",
            adopted.join("; ")
        )
    })
}

/// Whole-model multiply-adds per image of one host model with any fill: the layers outside
/// the slots, and the slots' shapes at batch 1 for an operator's plan. The model is built once.
pub struct ModelMacs {
    /// With the original layers.
    original: f64,
    /// Outside the slots.
    other: f64,
    /// The slots at batch 1.
    slots: Vec<SlotBinding>,
}

impl ModelMacs {
    /// The figures of `model`.
    pub fn new(model: ModelConfig) -> anyhow::Result<ModelMacs> {
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let host = HostModel::new(model, 1, Fill::Original, &vs.root())?;
        let slots = (host.slots.iter())
            .map(|s| SlotBinding {
                name: s.name.clone(),
                values: (s.shape.spec_values(1).into_iter())
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                input: s.shape.input_shape(1).iter().map(|&x| x as usize).collect(),
                output: s
                    .shape
                    .output_shape(1)
                    .iter()
                    .map(|&x| x as usize)
                    .collect(),
            })
            .collect();
        Ok(ModelMacs {
            original: host.macs.total(),
            other: host.macs.other,
            slots,
        })
    }

    /// With `op` in every slot (none: the original layers), from its plan.
    pub fn with(&self, op: Option<&Operator>) -> anyhow::Result<f64> {
        let Some(op) = op else {
            return Ok(self.original);
        };
        let bindings = map_onto(op, &self.slots)?;
        let plan = Plan::with_bindings(op, &bindings)?;
        Ok(self.other + plan.total_flops() as f64)
    }
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// A figure, or `-` for none.
pub fn or_dash<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or_else(|| "-".to_string(), f)
}
