//! CIFAR-style EfficientNet-V2-S: a 3×3 stem of 24 channels at stride 1 (the input keeps its
//! side), then the six stages of EfficientNet-V2-S (three of Fused-MBConv blocks, three of
//! MBConv blocks with squeeze-and-excitation), a 1×1 head to 1280 channels, global average
//! pooling, dropout 0.2 and a linear classifier; SiLU activations, no stochastic depth. The
//! dense 3×3 convolutions of the Fused-MBConv blocks are the slots (10); as in Syno, the
//! depthwise convolutions stay, and so does the stem (3 input channels). A stride-2 slot is
//! average pooling 2×2 followed by a stride-1 slot, as in ResNet. The config's `width` is the
//! stem's channels (24); every stage's channels scale with it.

use super::slot::{Slot, SlotShape};
use super::{Census, VisionConfig, sub};
use crate::error::Result;
use tch::Tensor;
use tch::nn::{self, BatchNorm, Conv2D, Linear, Module, ModuleT, Path};

/// One stage: whether its blocks are Fused-MBConv, the expansion ratio, the stride of its
/// first block, output channels and the number of blocks (torchvision's EfficientNet-V2-S).
pub const STAGES: [(bool, i64, i64, i64, usize); 6] = [
    (true, 1, 1, 24, 2),
    (true, 4, 2, 48, 4),
    (true, 4, 2, 64, 4),
    (false, 4, 2, 128, 6),
    (false, 6, 1, 160, 9),
    (false, 6, 2, 256, 15),
];

/// Channels of the stem.
pub const STEM: i64 = 24;

/// Channels of the head.
pub const HEAD: i64 = 1280;

/// Channels `c` of the model at width 24, scaled to `v`'s width.
fn ch(v: &VisionConfig, c: i64) -> i64 {
    ((c * v.width + STEM / 2) / STEM).max(1)
}

/// Squeeze-and-excitation width of an MBConv block with `c_in` input channels.
fn squeeze(c_in: i64) -> i64 {
    (c_in / 4).max(1)
}

/// Weights of the convolutions and linear layers of EfficientNet-V2-S at sizes `v` (norms and
/// biases are smaller).
pub fn parameters(v: &VisionConfig) -> f64 {
    let mut total = 9 * v.channels * ch(v, STEM);
    let mut c = ch(v, STEM);
    for &(fused, e, _, c_out, n) in &STAGES {
        let c_out = ch(v, c_out);
        for _ in 0..n {
            let mid = e * c;
            total += if fused && e == 1 {
                9 * c * c_out
            } else if fused {
                9 * c * mid + mid * c_out
            } else {
                c * mid + 9 * mid + 2 * mid * squeeze(c) + mid * c_out
            };
            c = c_out;
        }
    }
    let head = ch(v, HEAD);
    (total + c * head + head * v.classes) as f64
}

fn conv(p: &Path, c_in: i64, c_out: i64, k: i64, stride: i64, groups: i64) -> Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding: k / 2,
        groups,
        bias: false,
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, k, cfg)
}

fn bn(p: &Path, name: &str, c: i64) -> BatchNorm {
    let cfg = nn::BatchNormConfig {
        eps: 1e-3,
        ..super::bn_config()
    };
    nn::batch_norm2d(sub(p, name), c, cfg)
}

#[derive(Debug)]
enum Body {
    /// Fused-MBConv.
    Fused(Box<Fused>),
    /// MBConv.
    Mb(Box<Mb>),
}

/// Fused-MBConv: the 3×3 slot (to `e·c_in`, or to `c_out` when `e = 1`), then a 1×1
/// projection when `e > 1`.
#[derive(Debug)]
struct Fused {
    slot: Slot,
    bn1: BatchNorm,
    project: Option<(Conv2D, BatchNorm)>,
}

/// MBConv: 1×1 expansion, depthwise 3×3, squeeze-and-excitation, 1×1 projection.
#[derive(Debug)]
struct Mb {
    expand: (Conv2D, BatchNorm),
    depthwise: (Conv2D, BatchNorm),
    se: (Linear, Linear),
    project: (Conv2D, BatchNorm),
}

#[derive(Debug)]
struct Block {
    /// Average pooling 2×2 before a Fused-MBConv slot (its stride 2).
    pool: bool,
    residual: bool,
    body: Body,
}

impl Block {
    fn new(
        p: &Path,
        name: &str,
        (fused, e, stride): (bool, i64, i64),
        (c_in, c_out, h_in): (i64, i64, i64),
        census: &mut Census<'_>,
    ) -> Result<Block> {
        let h = h_in / stride;
        let mid = e * c_in;
        let body = if fused {
            let slot_out = if e == 1 { c_out } else { mid };
            let slot = census.slot(
                p,
                &format!("{name}.conv"),
                SlotShape::Conv {
                    c_in,
                    c_out: slot_out,
                    h,
                },
            )?;
            let project = (e > 1).then(|| {
                census.other(h * h * mid * c_out);
                (
                    conv(&sub(p, &format!("{name}.project")), mid, c_out, 1, 1, 1),
                    bn(p, &format!("{name}.bn2"), c_out),
                )
            });
            Body::Fused(Box::new(Fused {
                slot,
                bn1: bn(p, &format!("{name}.bn1"), slot_out),
                project,
            }))
        } else {
            let s = squeeze(c_in);
            census.other(h_in * h_in * c_in * mid + h * h * 9 * mid + 2 * mid * s);
            census.other(h * h * mid * c_out);
            Body::Mb(Box::new(Mb {
                expand: (
                    conv(&sub(p, &format!("{name}.expand")), c_in, mid, 1, 1, 1),
                    bn(p, &format!("{name}.bn1"), mid),
                ),
                depthwise: (
                    conv(
                        &sub(p, &format!("{name}.depthwise")),
                        mid,
                        mid,
                        3,
                        stride,
                        mid,
                    ),
                    bn(p, &format!("{name}.bn2"), mid),
                ),
                se: (
                    nn::linear(sub(p, &format!("{name}.se1")), mid, s, Default::default()),
                    nn::linear(sub(p, &format!("{name}.se2")), s, mid, Default::default()),
                ),
                project: (
                    conv(&sub(p, &format!("{name}.project")), mid, c_out, 1, 1, 1),
                    bn(p, &format!("{name}.bn3"), c_out),
                ),
            }))
        };
        Ok(Block {
            pool: fused && stride == 2,
            residual: stride == 1 && c_in == c_out,
            body,
        })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = match &self.body {
            Body::Fused(f) => {
                let Fused { slot, bn1, project } = f.as_ref();
                let h = if self.pool {
                    x.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None::<i64>)
                } else {
                    x.shallow_clone()
                };
                let y = slot.forward(&h).apply_t(bn1, train).silu();
                match project {
                    Some((c, b)) => y.apply(c).apply_t(b, train),
                    None => y,
                }
            }
            Body::Mb(mb) => {
                let Mb {
                    expand,
                    depthwise,
                    se,
                    project,
                } = mb.as_ref();
                let y = x.apply(&expand.0).apply_t(&expand.1, train).silu();
                let y = y.apply(&depthwise.0).apply_t(&depthwise.1, train).silu();
                let w = y
                    .mean_dim([2i64, 3].as_slice(), false, None::<tch::Kind>)
                    .apply(&se.0)
                    .silu()
                    .apply(&se.1)
                    .sigmoid()
                    .unsqueeze(-1)
                    .unsqueeze(-1);
                (y * w).apply(&project.0).apply_t(&project.1, train)
            }
        };
        if self.residual { y + x } else { y }
    }
}

/// The network.
#[derive(Debug)]
pub struct EfficientNet {
    stem: (Conv2D, BatchNorm),
    blocks: Vec<Block>,
    head: (Conv2D, BatchNorm),
    fc: Linear,
}

impl EfficientNet {
    pub(crate) fn new(p: &Path, v: &VisionConfig, census: &mut Census<'_>) -> Result<EfficientNet> {
        let stem_c = ch(v, STEM);
        let stem = (
            conv(&(p / "stem"), v.channels, stem_c, 3, 1, 1),
            bn(p, "stem_bn", stem_c),
        );
        census.other(v.image * v.image * 9 * v.channels * stem_c);
        let (mut c, mut h) = (stem_c, v.image);
        let mut blocks = Vec::new();
        for (s, &(fused, e, stride, c_out, n)) in STAGES.iter().enumerate() {
            let c_out = ch(v, c_out);
            for i in 0..n {
                let stride = if i == 0 { stride } else { 1 };
                let name = format!("stage{}.{i}", s + 1);
                blocks.push(Block::new(
                    p,
                    &name,
                    (fused, e, stride),
                    (c, c_out, h),
                    census,
                )?);
                h /= stride;
                c = c_out;
            }
        }
        let head_c = ch(v, HEAD);
        census.other(h * h * c * head_c + head_c * v.classes);
        let head = (
            conv(&(p / "head"), c, head_c, 1, 1, 1),
            bn(p, "head_bn", head_c),
        );
        let fc = nn::linear(p / "fc", head_c, v.classes, Default::default());
        Ok(EfficientNet {
            stem,
            blocks,
            head,
            fc,
        })
    }
}

impl ModuleT for EfficientNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = xs.apply(&self.stem.0).apply_t(&self.stem.1, train).silu();
        for b in &self.blocks {
            x = b.forward_t(&x, train);
        }
        // Global average pooling as a mean (deterministic backward on a GPU, as in ResNet).
        x.apply(&self.head.0)
            .apply_t(&self.head.1, train)
            .silu()
            .mean_dim([2i64, 3].as_slice(), false, None::<tch::Kind>)
            .dropout(0.2, train)
            .apply(&self.fc)
    }
}
