//! Host models with placeholder slots (tch): CIFAR-style ResNet-18, ResNet-34, ResNeXt-29,
//! DenseNet-121 and EfficientNet-V2-S, a small CNN and a character-level GPT. Each slot holds its original layer or a complete operator
//! ([`slot::Fill`]); the model lists its slots (for `kas spec --model`) and its multiply-adds.

pub mod cnn;
pub mod densenet;
pub mod efficientnet;
pub mod family;
pub mod gpt;
pub mod resnet;
pub mod resnext;
pub mod slot;

use crate::error::{ConfigError, Error, Result};
pub use family::GptSlots;
use slot::{Fill, Slot, SlotInfo, SlotShape};
use std::fmt;
use std::str::FromStr;
use tch::Tensor;
use tch::nn::{ModuleT, Path};

/// The host models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// CIFAR-style ResNet-18 (3×3 stem, 4 stages of 2 basic blocks).
    ResNet18,
    /// A small CNN of four slots that trains in minutes on a CPU.
    Cnn,
    /// A character-level GPT whose QKV projections are slots.
    Gpt,
    /// CIFAR-style ResNet-34 (3×3 stem, stages of 3, 4, 6 and 3 basic blocks).
    ResNet34,
    /// CIFAR-style DenseNet-121 (3×3 stem, dense blocks of 6, 12, 24 and 16 layers).
    DenseNet121,
    /// CIFAR-style EfficientNet-V2-S (stride-1 stem, Fused-MBConv and MBConv stages).
    EfficientNetV2S,
    /// CIFAR-style ResNeXt-29 (32×4d): three stages of three bottleneck blocks.
    ResNeXt29,
}

impl ModelKind {
    /// Every model, in order.
    pub const ALL: [ModelKind; 7] = [
        ModelKind::ResNet18,
        ModelKind::Cnn,
        ModelKind::Gpt,
        ModelKind::ResNet34,
        ModelKind::DenseNet121,
        ModelKind::EfficientNetV2S,
        ModelKind::ResNeXt29,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::ResNet18 => "resnet18",
            ModelKind::Cnn => "cnn",
            ModelKind::Gpt => "gpt",
            ModelKind::ResNet34 => "resnet34",
            ModelKind::DenseNet121 => "densenet121",
            ModelKind::EfficientNetV2S => "efficientnet-v2-s",
            ModelKind::ResNeXt29 => "resnext29",
        }
    }

    /// The default configuration (the sizes of its binding set: `docs/ARCHITECTURE.md`,
    /// "Binding sets").
    pub fn default_config(self) -> ModelConfig {
        match self {
            ModelKind::ResNet18 => ModelConfig::ResNet18(VisionConfig {
                width: 64,
                image: 64,
                channels: 3,
                classes: 10,
            }),
            ModelKind::Cnn => ModelConfig::Cnn(VisionConfig {
                width: 32,
                image: 28,
                channels: 1,
                classes: 10,
            }),
            ModelKind::Gpt => ModelConfig::Gpt(GptConfig {
                vocab: 65,
                width: 384,
                layers: 6,
                heads: 6,
                context: 256,
                dropout: 0.1,
                slots: GptSlots::Qkv,
            }),
            ModelKind::ResNet34 => ModelConfig::Vision(
                self,
                VisionConfig {
                    width: 64,
                    image: 64,
                    channels: 3,
                    classes: 10,
                },
            ),
            // The width is the growth rate.
            ModelKind::DenseNet121 => ModelConfig::Vision(
                self,
                VisionConfig {
                    width: 32,
                    image: 64,
                    channels: 3,
                    classes: 10,
                },
            ),
            // The width is the stem's channels.
            ModelKind::EfficientNetV2S => ModelConfig::Vision(
                self,
                VisionConfig {
                    width: efficientnet::STEM,
                    image: 64,
                    channels: 3,
                    classes: 10,
                },
            ),
            // The width is the bottleneck width per group.
            ModelKind::ResNeXt29 => ModelConfig::Vision(
                self,
                VisionConfig {
                    width: 4,
                    image: 64,
                    channels: 3,
                    classes: 10,
                },
            ),
        }
    }

    /// Name of the binding set its default configuration forms (`docs/ARCHITECTURE.md`,
    /// "Binding sets").
    pub fn binding_set(self) -> &'static str {
        match self {
            ModelKind::ResNet18 => "resnet18-fmnist64",
            ModelKind::Cnn => "cnn-fmnist",
            ModelKind::Gpt => "gpt-shakespeare",
            ModelKind::ResNet34 => "resnet34-fmnist64",
            ModelKind::DenseNet121 => "densenet121-fmnist64",
            ModelKind::EfficientNetV2S => "efficientnet-v2-s-fmnist64",
            ModelKind::ResNeXt29 => "resnext29-fmnist64",
        }
    }

    /// Whether it is a language model (token input, next-token loss).
    pub fn is_language(self) -> bool {
        self == ModelKind::Gpt
    }

    /// Syno's FLOPs-window ratios for this family (`docs/ARCHITECTURE.md`, "Syno's settings"):
    /// the operator's multiply-adds over all slots may range over `(r·F_model − F_other)·N`
    /// for `r` between these bounds (ResNet 0.15–0.9, GPT-2 0.15–1.2; the CNN and the other
    /// image classifiers follow the ResNet, except ResNeXt-29 32×4d: its 32-group slots are
    /// 5.5 % of its multiply-adds, so 0.9 would leave no window, and its top is 1.0, an operator
    /// costing at most what the grouped convolutions cost).
    pub fn flops_ratios(self) -> (f64, f64) {
        match self {
            ModelKind::ResNet18
            | ModelKind::Cnn
            | ModelKind::ResNet34
            | ModelKind::DenseNet121
            | ModelKind::EfficientNetV2S => (0.15, 0.9),
            ModelKind::ResNeXt29 => (0.15, 1.0),
            ModelKind::Gpt => (0.15, 1.2),
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Serialized as its command-line name.
impl serde::Serialize for ModelKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<ModelKind> {
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| ConfigError::UnknownModel { name: s.into() }.into())
    }
}

/// The models [`ModelConfig::Vision`] holds.
pub const VISION_KINDS: [ModelKind; 4] = [
    ModelKind::ResNet34,
    ModelKind::DenseNet121,
    ModelKind::EfficientNetV2S,
    ModelKind::ResNeXt29,
];

/// Sizes of an image classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VisionConfig {
    /// Channels of the first stage (ResNet: 64; the CNN: 32); later stages double them.
    pub width: i64,
    /// Input height and width.
    pub image: i64,
    /// Input channels.
    pub channels: i64,
    /// Classes.
    pub classes: i64,
}

/// Sizes of the character-level GPT.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GptConfig {
    /// Vocabulary size.
    pub vocab: i64,
    /// Embedding width.
    pub width: i64,
    /// Transformer blocks.
    pub layers: i64,
    /// Attention heads (must divide the width).
    pub heads: i64,
    /// Context length (the slots' `seq_len`).
    pub context: i64,
    /// Dropout probability in training.
    pub dropout: f64,
    /// Which projections of every block are slots.
    pub slots: GptSlots,
}

/// A model and its sizes.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum ModelConfig {
    /// ResNet-18.
    ResNet18(VisionConfig),
    /// The small CNN.
    Cnn(VisionConfig),
    /// The GPT.
    Gpt(GptConfig),
    /// Another CIFAR-style image classifier, one of [`VISION_KINDS`] (its `width` is
    /// DenseNet's growth rate, EfficientNet's stem channels, ResNeXt's width per group).
    Vision(ModelKind, VisionConfig),
}

impl ModelConfig {
    /// Which model.
    pub fn kind(&self) -> ModelKind {
        match self {
            ModelConfig::ResNet18(_) => ModelKind::ResNet18,
            ModelConfig::Cnn(_) => ModelKind::Cnn,
            ModelConfig::Gpt(_) => ModelKind::Gpt,
            ModelConfig::Vision(k, _) => *k,
        }
    }

    /// The binding-set name of these sizes (`docs/ARCHITECTURE.md`, "Binding sets"): the
    /// model's set name for its default sizes, otherwise that name with the sizes appended;
    /// a GPT's slot family other than `qkv` is appended too.
    pub fn binding_set(&self) -> String {
        let kind = self.kind();
        if let ModelConfig::Gpt(g) = self
            && g.slots != GptSlots::Qkv
        {
            let qkv = ModelConfig::Gpt(GptConfig {
                slots: GptSlots::Qkv,
                ..*g
            });
            return format!("{}-{}", qkv.binding_set(), g.slots);
        }
        if *self == kind.default_config() {
            return kind.binding_set().to_string();
        }
        match self {
            ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) => format!(
                "{}-w{}-c{}x{}x{}",
                kind.binding_set(),
                v.width,
                v.channels,
                v.image,
                v.image
            ),
            ModelConfig::Gpt(g) => format!(
                "{}-w{}-l{}-t{}",
                kind.binding_set(),
                g.width,
                g.layers,
                g.context
            ),
        }
    }

    fn check(&self) -> Result<()> {
        let bad = |e: ConfigError| Err(e.into());
        match self {
            ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) => {
                if let ModelConfig::Vision(k, _) = self
                    && !VISION_KINDS.contains(k)
                {
                    return bad(ConfigError::NotVision { model: *k });
                }
                let div = match self.kind() {
                    ModelKind::Cnn => 4,
                    ModelKind::EfficientNetV2S => 16,
                    _ => 8,
                };
                if v.width < 1 || v.channels < 1 || v.classes < 2 {
                    return bad(ConfigError::VisionSizes(*v));
                }
                if v.image < div || v.image % div != 0 {
                    return bad(ConfigError::ImageSize {
                        image: v.image,
                        multiple: div,
                        model: self.kind(),
                    });
                }
            }
            ModelConfig::Gpt(g) => {
                if g.vocab < 2 || g.layers < 1 || g.context < 1 || g.heads < 1 {
                    return bad(ConfigError::GptSizes(*g));
                }
                if g.width < 1 || g.width % g.heads != 0 {
                    return bad(ConfigError::GptWidth {
                        width: g.width,
                        heads: g.heads,
                    });
                }
                if !(0.0..1.0).contains(&g.dropout) {
                    return bad(ConfigError::Dropout { dropout: g.dropout });
                }
            }
        }
        Ok(())
    }
}

/// Most parameters a host model may have (2^30: 4 GiB of f32 weights, about four times that
/// with gradients and optimizer state); larger sizes are refused before anything is allocated.
pub const MAX_PARAMETERS: f64 = (1u64 << 30) as f64;

/// Largest input image side kas trains on.
pub const MAX_IMAGE: i64 = 1024;

impl ModelConfig {
    /// Its parameter count (the weights of convolutions, linear layers and embeddings; norms
    /// and biases are smaller than these), computed from the sizes without building it.
    pub fn parameters(&self) -> f64 {
        match self {
            ModelConfig::ResNet18(v) => {
                let (w, c, k) = (v.width as f64, v.channels as f64, v.classes as f64);
                // Stem 3x3; stages of 2 blocks (w, 2w, 4w, 8w channels) with 1x1 shortcuts.
                9.0 * c * w + 2724.0 * w * w + 8.0 * w * k
            }
            ModelConfig::Vision(k, v) => match k {
                ModelKind::DenseNet121 => densenet::parameters(v),
                ModelKind::EfficientNetV2S => efficientnet::parameters(v),
                ModelKind::ResNeXt29 => resnext::parameters(v),
                // ResNet-34 (`check` refuses the other kinds).
                _ => resnet::parameters(v, &resnet::RESNET34_BLOCKS),
            },
            ModelConfig::Cnn(v) => {
                let (w, c, k) = (v.width as f64, v.channels as f64, v.classes as f64);
                // Stem 3x3; slots w→w, w→2w, 2w→2w, 2w→4w (3x3); the classifier.
                9.0 * c * w + 135.0 * w * w + 4.0 * w * k
            }
            ModelConfig::Gpt(g) => {
                let (c, l) = (g.width as f64, g.layers as f64);
                // Per block: QKV 3c², projection c², MLP 8c²; embeddings and the head.
                12.0 * l * c * c + (2.0 * g.vocab as f64 + g.context as f64) * c
            }
        }
    }

    /// Refuses sizes that cannot be built or trained: more than [`MAX_PARAMETERS`], an image
    /// side above [`MAX_IMAGE`] ([`HostModel::new`] checks this first).
    pub fn check_size(&self) -> Result<()> {
        if let ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) = self
            && v.image > MAX_IMAGE
        {
            return Err(Error::ImageTooLarge {
                image: v.image,
                max: MAX_IMAGE,
            });
        }
        let parameters = self.parameters();
        if parameters > MAX_PARAMETERS {
            let width = match self {
                ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) => {
                    v.width
                }
                ModelConfig::Gpt(g) => g.width,
            };
            return Err(Error::ModelTooLarge {
                model: self.kind(),
                width,
                parameters,
                max: MAX_PARAMETERS,
            });
        }
        Ok(())
    }
}

/// Multiply-accumulates of a model per sample (image or sequence), counted once per MAC as
/// Syno does, for convolutions, linear layers and attention products.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Macs {
    /// In the slots' original layers.
    pub slots: f64,
    /// Everywhere else.
    pub other: f64,
}

impl Macs {
    /// The whole model.
    pub fn total(&self) -> f64 {
        self.slots + self.other
    }
}

/// Collects a model's slots and multiply-adds while it is built.
#[derive(Debug)]
pub(crate) struct Census<'a> {
    slots: Vec<SlotInfo>,
    macs: Macs,
    batch: i64,
    fill: Fill<'a>,
}

impl Census<'_> {
    /// Builds the slot `name` (its variables under `path / name`).
    pub(crate) fn slot(&mut self, path: &Path, name: &str, shape: SlotShape) -> Result<Slot> {
        let info = SlotInfo {
            name: name.to_string(),
            shape,
        };
        self.macs.slots += shape.macs();
        self.slots.push(info.clone());
        Slot::new(&sub(path, name), info, self.batch, self.fill)
    }

    /// [`Census::slot`] with the original linear layer's weights from N(0, `stdev`).
    pub(crate) fn slot_with_init(
        &mut self,
        path: &Path,
        name: &str,
        shape: SlotShape,
        stdev: f64,
    ) -> Result<Slot> {
        let info = SlotInfo {
            name: name.to_string(),
            shape,
        };
        self.macs.slots += shape.macs();
        self.slots.push(info.clone());
        Slot::with_init(&sub(path, name), info, self.batch, self.fill, stdev)
    }

    /// Counts multiply-adds outside the slots.
    pub(crate) fn other(&mut self, macs: i64) {
        self.macs.other += macs as f64;
    }
}

/// The sub-path of a dotted name (`layer1.0.conv1`: tch paths take one component at a time).
pub(crate) fn sub<'a>(path: &Path<'a>, dotted: &str) -> Path<'a> {
    dotted.split('.').fold(path.clone(), |p, c| p.sub(c))
}

#[derive(Debug)]
enum Net {
    ResNet(resnet::ResNet),
    DenseNet(densenet::DenseNet),
    ResNeXt(resnext::ResNeXt),
    Efficient(Box<efficientnet::EfficientNet>),
    Cnn(cnn::Cnn),
    Gpt(gpt::Gpt),
}

/// A host model with its slots filled.
#[derive(Debug)]
pub struct HostModel {
    /// Its sizes.
    pub config: ModelConfig,
    /// The batch size its slots' bindings use (any batch runs).
    pub batch: i64,
    /// Its slots, in order.
    pub slots: Vec<SlotInfo>,
    /// Its multiply-adds per sample.
    pub macs: Macs,
    net: Net,
}

impl HostModel {
    /// Builds the model's variables under `path` with every slot filled by `fill`, its slot
    /// bindings at batch `batch`. Build it inside [`crate::seeded::seeded`] for reproducible
    /// weights.
    pub fn new(config: ModelConfig, batch: i64, fill: Fill<'_>, path: &Path) -> Result<HostModel> {
        config.check()?;
        config.check_size()?;
        if batch < 1 {
            return Err(ConfigError::Batch { batch }.into());
        }
        let mut census = Census {
            slots: Vec::new(),
            macs: Macs::default(),
            batch,
            fill,
        };
        let net = match config {
            ModelConfig::ResNet18(v) => Net::ResNet(resnet::ResNet::new(
                path,
                &v,
                &resnet::RESNET18_BLOCKS,
                &mut census,
            )?),
            ModelConfig::Vision(ModelKind::DenseNet121, v) => {
                Net::DenseNet(densenet::DenseNet::new(path, &v, &mut census)?)
            }
            ModelConfig::Vision(ModelKind::EfficientNetV2S, v) => Net::Efficient(Box::new(
                efficientnet::EfficientNet::new(path, &v, &mut census)?,
            )),
            ModelConfig::Vision(ModelKind::ResNeXt29, v) => {
                Net::ResNeXt(resnext::ResNeXt::new(path, &v, &mut census)?)
            }
            // ResNet-34 (`check` refused the other kinds).
            ModelConfig::Vision(_, v) => Net::ResNet(resnet::ResNet::new(
                path,
                &v,
                &resnet::RESNET34_BLOCKS,
                &mut census,
            )?),
            ModelConfig::Cnn(v) => Net::Cnn(cnn::Cnn::new(path, &v, &mut census)?),
            ModelConfig::Gpt(g) => Net::Gpt(gpt::Gpt::new(path, &g, &mut census)?),
        };
        Ok(HostModel {
            config,
            batch,
            slots: census.slots,
            macs: census.macs,
            net,
        })
    }

    /// Which model.
    pub fn kind(&self) -> ModelKind {
        self.config.kind()
    }
}

impl ModuleT for HostModel {
    /// Images `[B, C, S, S]` (f32) to logits `[B, classes]`, or tokens `[B, T]` (i64) to
    /// logits `[B, T, vocab]`.
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        match &self.net {
            Net::ResNet(m) => m.forward_t(xs, train),
            Net::DenseNet(m) => m.forward_t(xs, train),
            Net::ResNeXt(m) => m.forward_t(xs, train),
            Net::Efficient(m) => m.forward_t(xs, train),
            Net::Cnn(m) => m.forward_t(xs, train),
            Net::Gpt(m) => m.forward_t(xs, train),
        }
    }
}

/// Batch normalisation as PyTorch initialises it (scale 1, shift 0); tch's default draws the
/// scale from U(0, 1), which would make kas's models differ from the ones its users know.
pub(crate) fn bn_config() -> tch::nn::BatchNormConfig {
    tch::nn::BatchNormConfig {
        ws_init: tch::nn::Init::Const(1.0),
        ..Default::default()
    }
}
