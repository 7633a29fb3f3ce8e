//! The two models of a whole-model comparison and what they run on: the original model and the
//! candidate (the operator in every slot), built alike from one seed, seeded inputs and targets,
//! and a training step of the model's recipe.

use crate::error::Result;
use crate::models::slot::Fill;
use crate::models::{HostModel, ModelConfig, ModelKind};
use crate::train::TrainConfig;
use crate::train::context::{at_precision, channels_last, weights_channels_last};
use kas_codegen::Precision;
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

/// A host model and the store of its variables.
pub(crate) struct Built {
    /// Its variables.
    pub vs: VarStore,
    /// The model.
    pub model: HostModel,
}

/// `kind`'s default configuration with `fill` in its slots at batch `batch`, its variables of
/// `dtype` (f32 or bf16) on `device`, drawn from `seed` (the same seed gives both sides the
/// same draws up to the first slot).
pub(crate) fn build(
    kind: ModelKind,
    batch: i64,
    fill: Fill<'_>,
    device: Device,
    dtype: Kind,
    seed: u64,
) -> Result<Built> {
    let mut vs = VarStore::new(device);
    if dtype != Kind::Float {
        vs.set_kind(dtype);
    }
    let model = crate::seeded::seeded(seed, || {
        HostModel::new(kind.default_config(), batch, fill, &vs.root())
    })?;
    // The norms' running statistics are made f32 whatever the store's kind: cast every
    // floating-point variable, as `model.to(dtype)` would.
    if dtype == Kind::BFloat16 {
        vs.bfloat16();
    }
    Ok(Built { vs, model })
}

/// Images in the one training-mode pass that sets the norms' statistics ([`calibrate`]).
const CALIBRATION_BATCH: i64 = 8;

/// Sets every batch norm's running statistics of `b` (a vision model; the GPT has none) to
/// those of one seeded batch of N(0, 1) images, as a trained model's reflect its data: one
/// training-mode pass without gradients from zeroed statistics, whose update leaves `momentum ×
/// batch statistics`, then divided by the momentum. At their initial statistics (mean 0,
/// variance 1) eval-mode norms normalise nothing, and a deep model can be chaotic there: kas's
/// EfficientNet-V2-S changed its output by 52 % for a 1e-6 relative change of its input, so no
/// check of kas's kernels against the tch plan could pass on it. Both sides of a comparison are
/// calibrated alike; it changes values, not the work timed.
pub(crate) fn calibrate(b: &Built, kind: ModelKind, device: Device, dtype: Kind, seed: u64) {
    if matches!(kind.default_config(), ModelConfig::Gpt(_)) {
        return;
    }
    let mut stats: Vec<Tensor> =
        b.vs.variables()
            .into_iter()
            .filter(|(n, _)| n.ends_with(".running_mean") || n.ends_with(".running_var"))
            .map(|(_, t)| t)
            .collect();
    let momentum = crate::models::bn_config().momentum;
    let x = input(kind, CALIBRATION_BATCH, device, dtype, seed ^ 0xca1b);
    tch::no_grad(|| {
        for t in &mut stats {
            let _ = t.zero_();
        }
        let _ = b.model.forward_t(&x, true);
        for t in &mut stats {
            let _ = t.g_div_scalar_(momentum);
        }
    });
}

/// A seeded input of batch `batch`: images `[B, C, S, S]` of `dtype` (N(0, 1)), or tokens
/// `[B, T]` (i64) for the GPT.
pub(crate) fn input(kind: ModelKind, batch: i64, device: Device, dtype: Kind, seed: u64) -> Tensor {
    crate::seeded::seeded(seed ^ 0x1a9e, || match kind.default_config() {
        ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) => {
            Tensor::randn([batch, v.channels, v.image, v.image], (Kind::Float, device))
                .to_kind(dtype)
        }
        ModelConfig::Gpt(g) => Tensor::randint(g.vocab, [batch, g.context], (Kind::Int64, device)),
    })
}

/// Seeded targets for a training step: class labels `[B]`, or next tokens `[B, T]`.
fn targets(kind: ModelKind, batch: i64, device: Device, seed: u64) -> Tensor {
    crate::seeded::seeded(seed ^ 0x7a29, || match kind.default_config() {
        ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) => {
            Tensor::randint(v.classes, [batch], (Kind::Int64, device))
        }
        ModelConfig::Gpt(g) => Tensor::randint(g.vocab, [batch, g.context], (Kind::Int64, device)),
    })
}

/// The recipe's loss of `logits` against `y`: cross-entropy over classes, or over the
/// vocabulary at every position.
fn loss(logits: &Tensor, y: &Tensor) -> Tensor {
    if logits.dim() == 3 {
        let v = logits.size()[2];
        logits.view([-1, v]).cross_entropy_for_logits(&y.view([-1]))
    } else {
        logits.cross_entropy_for_logits(y)
    }
}

/// One model's training step as its recipe trains it (optimiser, gradient clipping, images and
/// convolution weights channels-last on CUDA) at a precision: the forward pass and the loss in
/// a bf16 autocast region at bf16 (f32 master weights), TF32 as the caller set it.
pub(crate) struct Trainer {
    built: Built,
    opt: tch::nn::Optimizer,
    clip: Option<f64>,
    precision: Precision,
    x: Tensor,
    y: Tensor,
}

impl Trainer {
    /// The trainer of `kind` with `fill` at batch `batch` on `device`.
    pub(crate) fn new(
        kind: ModelKind,
        batch: i64,
        fill: Fill<'_>,
        device: Device,
        precision: Precision,
        seed: u64,
    ) -> Result<Trainer> {
        let recipe = TrainConfig::recipe(kind, device);
        let built = build(kind, batch, fill, device, Kind::Float, seed)?;
        let mut x = input(kind, batch, device, Kind::Float, seed);
        if recipe.channels_last {
            weights_channels_last(&built.vs);
            x = channels_last(&x);
        }
        let opt = recipe.build_optimizer(&built.vs)?;
        Ok(Trainer {
            opt,
            clip: recipe.grad_clip,
            precision,
            y: targets(kind, batch, device, seed),
            x,
            built,
        })
    }

    /// One step: forward pass, loss, backward pass, the optimiser's update.
    pub(crate) fn step(&mut self) -> Result<()> {
        let (model, x, y) = (&self.built.model, &self.x, &self.y);
        let l = at_precision(self.precision, || loss(&model.forward_t(x, true), y))?;
        crate::train::step(&mut self.opt, &l, self.clip);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_training_step_changes_the_weights_and_inputs_are_seeded() {
        let mut t = Trainer::new(
            ModelKind::Cnn,
            2,
            Fill::Original,
            Device::Cpu,
            Precision::F32,
            3,
        )
        .unwrap();
        let before: Vec<Tensor> = t
            .built
            .vs
            .trainable_variables()
            .iter()
            .map(|v| v.copy())
            .collect();
        t.step().unwrap();
        let after = t.built.vs.trainable_variables();
        assert!(before.iter().zip(&after).any(|(b, a)| !b.equal(a)));
        let a = input(ModelKind::Gpt, 2, Device::Cpu, Kind::Float, 5);
        assert_eq!(a.size(), [2, 256]);
        assert!(a.equal(&input(ModelKind::Gpt, 2, Device::Cpu, Kind::Float, 5)));
        let logits = Tensor::zeros([2, 3, 7], (Kind::Float, Device::Cpu));
        let y = Tensor::zeros([2, 3], (Kind::Int64, Device::Cpu));
        let l = f64::try_from(loss(&logits, &y)).unwrap();
        assert!((l - 7f64.ln()).abs() < 1e-6);
    }

    /// Each slot's tch plan, its output moved by a relative `0` of N(0, 1) noise: what
    /// kas's kernels within the slot check's bound look like to the layers after them.
    struct SlotNoise(f64);

    impl crate::models::slot::SlotOverride for SlotNoise {
        fn forward(
            &self,
            _: &crate::models::slot::SlotInfo,
            plan: Option<&crate::tch_plan::TchPlan>,
            x: &Tensor,
        ) -> Option<Tensor> {
            let y = plan?.apply(x);
            let rms = f64::try_from(y.norm()).ok()? / (y.numel() as f64).sqrt();
            Some(&y + y.randn_like() * (self.0 * rms))
        }
    }

    #[test]
    fn calibrated_host_models_are_not_chaotic() {
        // A relative 1e-6 change of the input (or, for EfficientNet-V2-S, of every slot's
        // output, the tch plan of conv2d in the slots) moves no host model's output by more than 1e-4 once its norms
        // are calibrated; uncalibrated, EfficientNet-V2-S's moved by 32-52 %.
        let conv = (kas_primitives::library::get("conv2d").unwrap().build)().unwrap();
        let mut worst = Vec::new();
        for kind in ModelKind::ALL.into_iter().filter(|k| *k != ModelKind::Gpt) {
            let x = input(kind, 1, Device::Cpu, Kind::Float, 0);
            let b = build(kind, 1, Fill::Original, Device::Cpu, Kind::Float, 0).unwrap();
            calibrate(&b, kind, Device::Cpu, Kind::Float, 0);
            let dx = crate::seeded::seeded(1, || x.randn_like()) * 1e-6;
            let (y, y2) = tch::no_grad(|| {
                (
                    b.model.forward_t(&x, false),
                    b.model.forward_t(&(&x + dx), false),
                )
            });
            worst.push((kind, "input", super::super::rel_frobenius(&y2, &y)));
            if kind != ModelKind::EfficientNetV2S {
                continue; // the slots' part is slow on the CPU; this is the model that failed
            }
            let b = build(kind, 1, Fill::Operator(&conv), Device::Cpu, Kind::Float, 0).unwrap();
            calibrate(&b, kind, Device::Cpu, Kind::Float, 0);
            let noise: std::rc::Rc<dyn crate::models::slot::SlotOverride> =
                std::rc::Rc::new(SlotNoise(1e-6));
            let (y, y2) = tch::no_grad(|| {
                let y = b.model.forward_t(&x, false);
                let y2 = crate::seeded::seeded(2, || {
                    crate::models::slot::with_override(noise, || b.model.forward_t(&x, false))
                });
                (y, y2)
            });
            worst.push((kind, "slots", super::super::rel_frobenius(&y2, &y)));
        }
        assert!(worst.iter().all(|(_, _, e)| *e < 1e-4), "{worst:?}");
    }

    #[test]
    fn models_build_and_run_in_bf16_with_the_tch_plan_in_their_slots() {
        // What the GPU's bf16 rows run (here on the CPU): every variable, the tch plan's
        // weights and its masks in bf16, and a bf16 input.
        let op = (kas_primitives::library::get("conv2d").unwrap().build)().unwrap();
        let b = build(
            ModelKind::Cnn,
            2,
            Fill::Operator(&op),
            Device::Cpu,
            Kind::BFloat16,
            0,
        )
        .unwrap();
        let vars = b.vs.variables();
        let other: Vec<&String> = vars
            .iter()
            .filter(|(_, v)| v.kind() != Kind::BFloat16)
            .map(|(n, _)| n)
            .collect();
        assert!(other.is_empty(), "not bf16: {other:?}");
        let x = input(ModelKind::Cnn, 2, Device::Cpu, Kind::BFloat16, 0);
        let y = tch::no_grad(|| b.model.forward_t(&x, false));
        assert_eq!((y.size(), y.kind()), (vec![2, 10], Kind::BFloat16));
        assert!(
            f64::try_from(y.to_kind(Kind::Float).abs().sum(Kind::Float))
                .unwrap()
                .is_finite()
        );
    }
}
