//! CIFAR-style DenseNet-121: a 3×3 stem of `2k` channels (no max pooling; `k` is the growth
//! rate, the config's `width`), four dense blocks of 6, 12, 24 and 16 layers, each layer
//! BN-ReLU-1×1 conv to `4k` channels, BN-ReLU and a 3×3 conv to `k` channels concatenated to
//! its input; between blocks a transition (BN-ReLU, 1×1 conv halving the channels, average
//! pooling 2×2); final BN-ReLU, global average pooling and a linear classifier. The 58 3×3
//! convolutions are slots; the 1×1 convolutions stay ordinary.

use super::resnet::plain_conv;
use super::slot::{Slot, SlotShape};
use super::{Census, VisionConfig, sub};
use crate::error::Result;
use tch::Tensor;
use tch::nn::{self, BatchNorm, Conv2D, Linear, Module, ModuleT, Path};

/// Dense layers per block of DenseNet-121.
pub const DENSENET121_BLOCKS: [usize; 4] = [6, 12, 24, 16];

/// Weights of the convolutions and the classifier of DenseNet-121 at sizes `v` (norms are
/// smaller).
pub fn parameters(v: &VisionConfig) -> f64 {
    let k = v.width as f64;
    let mut total = 9.0 * v.channels as f64 * 2.0 * k;
    let mut c = 2.0 * k;
    for (i, &n) in DENSENET121_BLOCKS.iter().enumerate() {
        for _ in 0..n {
            total += c * 4.0 * k + 9.0 * 4.0 * k * k;
            c += k;
        }
        if i + 1 < DENSENET121_BLOCKS.len() {
            total += c * (c / 2.0).floor();
            c = (c / 2.0).floor();
        }
    }
    total + c * v.classes as f64
}

#[derive(Debug)]
struct Layer {
    bn1: BatchNorm,
    conv1: Conv2D,
    bn2: BatchNorm,
    conv2: Slot,
}

#[derive(Debug)]
struct Transition {
    bn: BatchNorm,
    conv: Conv2D,
}

/// The network.
#[derive(Debug)]
pub struct DenseNet {
    stem: Conv2D,
    blocks: Vec<(Vec<Layer>, Option<Transition>)>,
    bn: BatchNorm,
    fc: Linear,
}

impl DenseNet {
    pub(crate) fn new(p: &Path, v: &VisionConfig, census: &mut Census<'_>) -> Result<DenseNet> {
        let k = v.width;
        let stem = plain_conv(&(p / "stem"), v.channels, 2 * k, 3, 1);
        census.other(v.image * v.image * 9 * v.channels * 2 * k);
        let (mut c, mut h) = (2 * k, v.image);
        let mut blocks = Vec::new();
        for (b, &n) in DENSENET121_BLOCKS.iter().enumerate() {
            let mut layers = Vec::new();
            for i in 0..n {
                let name = format!("dense{}.{i}", b + 1);
                census.other(h * h * c * 4 * k);
                layers.push(Layer {
                    bn1: nn::batch_norm2d(sub(p, &format!("{name}.bn1")), c, super::bn_config()),
                    conv1: plain_conv(&sub(p, &format!("{name}.conv1")), c, 4 * k, 1, 1),
                    bn2: nn::batch_norm2d(
                        sub(p, &format!("{name}.bn2")),
                        4 * k,
                        super::bn_config(),
                    ),
                    conv2: census.slot(
                        p,
                        &format!("{name}.conv2"),
                        SlotShape::Conv {
                            c_in: 4 * k,
                            c_out: k,
                            h,
                        },
                    )?,
                });
                c += k;
            }
            let transition = if b + 1 < DENSENET121_BLOCKS.len() {
                let name = format!("transition{}", b + 1);
                census.other(h * h * c * (c / 2));
                let t = Transition {
                    bn: nn::batch_norm2d(sub(p, &format!("{name}.bn")), c, super::bn_config()),
                    conv: plain_conv(&sub(p, &format!("{name}.conv")), c, c / 2, 1, 1),
                };
                c /= 2;
                h /= 2;
                Some(t)
            } else {
                None
            };
            blocks.push((layers, transition));
        }
        let bn = nn::batch_norm2d(p / "bn", c, super::bn_config());
        census.other(c * v.classes);
        let fc = nn::linear(p / "fc", c, v.classes, Default::default());
        Ok(DenseNet {
            stem,
            blocks,
            bn,
            fc,
        })
    }
}

impl ModuleT for DenseNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = xs.apply(&self.stem);
        for (layers, transition) in &self.blocks {
            for l in layers {
                let y = x.apply_t(&l.bn1, train).relu().apply(&l.conv1);
                let y = l.conv2.forward(&y.apply_t(&l.bn2, train).relu());
                x = Tensor::cat(&[x, y], 1);
            }
            if let Some(t) = transition {
                x = x.apply_t(&t.bn, train).relu().apply(&t.conv).avg_pool2d(
                    [2, 2],
                    [2, 2],
                    [0, 0],
                    false,
                    true,
                    None::<i64>,
                );
            }
        }
        // Global average pooling as a mean (deterministic backward on a GPU, as in ResNet).
        x.apply_t(&self.bn, train)
            .relu()
            .mean_dim([2i64, 3].as_slice(), false, None::<tch::Kind>)
            .apply(&self.fc)
    }
}
