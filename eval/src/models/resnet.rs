//! CIFAR-style ResNets of basic blocks (ResNet-18: two blocks per stage, ResNet-34: 3, 4, 6
//! and 3): a 3×3 stem (no max pooling), four stages with `w, 2w, 4w, 8w` channels, global
//! average pooling and a linear classifier. The block convolutions are slots; a stride-2 block convolution is average pooling 2×2 followed by a
//! stride-1 slot (as Syno did); 1×1 projection shortcuts (stride 2) stay ordinary.

use super::slot::{Slot, SlotShape};
use super::{Census, VisionConfig, sub};
use crate::error::Result;
use tch::Tensor;
use tch::nn::{self, BatchNorm, Conv2D, Linear, Module, ModuleT, Path};

/// A 3×3 stem or 1×1 shortcut convolution without bias.
pub(crate) fn plain_conv(p: &Path, c_in: i64, c_out: i64, k: i64, stride: i64) -> Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding: k / 2,
        bias: false,
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, k, cfg)
}

#[derive(Debug)]
struct Block {
    /// Average pooling 2×2 before the first slot (the stride-2 block of a stage).
    pool: bool,
    conv1: Slot,
    bn1: BatchNorm,
    conv2: Slot,
    bn2: BatchNorm,
    shortcut: Option<(Conv2D, BatchNorm)>,
}

impl Block {
    fn new(
        p: &Path,
        name: &str,
        (c_in, c_out, h_in): (i64, i64, i64),
        census: &mut Census<'_>,
    ) -> Result<Block> {
        let pool = c_in != c_out;
        let h = if pool { h_in / 2 } else { h_in };
        let conv1 = census.slot(
            p,
            &format!("{name}.conv1"),
            SlotShape::Conv { c_in, c_out, h },
        )?;
        let bn1 = nn::batch_norm2d(sub(p, &format!("{name}.bn1")), c_out, super::bn_config());
        let conv2 = census.slot(
            p,
            &format!("{name}.conv2"),
            SlotShape::Conv {
                c_in: c_out,
                c_out,
                h,
            },
        )?;
        let bn2 = nn::batch_norm2d(sub(p, &format!("{name}.bn2")), c_out, super::bn_config());
        let shortcut = if pool {
            census.other(h * h * c_in * c_out);
            Some((
                plain_conv(&(sub(p, &format!("{name}.shortcut"))), c_in, c_out, 1, 2),
                nn::batch_norm2d(
                    sub(p, &format!("{name}.shortcut_bn")),
                    c_out,
                    super::bn_config(),
                ),
            ))
        } else {
            None
        };
        Ok(Block {
            pool,
            conv1,
            bn1,
            conv2,
            bn2,
            shortcut,
        })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let h = if self.pool {
            x.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None::<i64>)
        } else {
            x.shallow_clone()
        };
        let y = self.conv1.forward(&h).apply_t(&self.bn1, train).relu();
        let y = self.conv2.forward(&y).apply_t(&self.bn2, train);
        let s = match &self.shortcut {
            Some((c, bn)) => x.apply(c).apply_t(bn, train),
            None => x.shallow_clone(),
        };
        (y + s).relu()
    }
}

/// Basic blocks per stage of ResNet-18.
pub const RESNET18_BLOCKS: [usize; 4] = [2, 2, 2, 2];

/// Basic blocks per stage of ResNet-34.
pub const RESNET34_BLOCKS: [usize; 4] = [3, 4, 6, 3];

/// Weights of the convolutions and the classifier of a ResNet with `blocks` basic blocks per
/// stage at sizes `v` (norms are smaller).
pub fn parameters(v: &VisionConfig, blocks: &[usize; 4]) -> f64 {
    let (w, k) = (v.width as f64, v.classes as f64);
    let mut total = 9.0 * v.channels as f64 * w;
    let mut c = w;
    for (stage, &n) in blocks.iter().enumerate() {
        let c_out = w * (1u64 << stage) as f64;
        for _ in 0..n {
            total += 9.0 * c * c_out + 9.0 * c_out * c_out;
            if c != c_out {
                total += c * c_out;
            }
            c = c_out;
        }
    }
    total + c * k
}

/// The network.
#[derive(Debug)]
pub struct ResNet {
    stem: Conv2D,
    stem_bn: BatchNorm,
    blocks: Vec<Block>,
    fc: Linear,
}

impl ResNet {
    pub(crate) fn new(
        p: &Path,
        v: &VisionConfig,
        blocks: &[usize; 4],
        census: &mut Census<'_>,
    ) -> Result<ResNet> {
        let w = v.width;
        let stem = plain_conv(&(p / "stem"), v.channels, w, 3, 1);
        census.other(v.image * v.image * 9 * v.channels * w);
        let stem_bn = nn::batch_norm2d(p / "stem_bn", w, super::bn_config());
        let per_stage = blocks;
        let mut blocks = Vec::new();
        let (mut c, mut h) = (w, v.image);
        for (stage, &n) in per_stage.iter().enumerate() {
            let c_out = w << stage;
            for i in 0..n {
                blocks.push(Block::new(
                    p,
                    &format!("layer{}.{i}", stage + 1),
                    (c, c_out, h),
                    census,
                )?);
                if c != c_out {
                    h /= 2;
                }
                c = c_out;
            }
        }
        census.other(c * v.classes);
        let fc = nn::linear(p / "fc", c, v.classes, Default::default());
        Ok(ResNet {
            stem,
            stem_bn,
            blocks,
            fc,
        })
    }
}

impl ModuleT for ResNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = xs.apply(&self.stem).apply_t(&self.stem_bn, train).relu();
        for b in &self.blocks {
            x = b.forward_t(&x, train);
        }
        // Global average pooling as a mean: its backward is a broadcast, deterministic on a
        // GPU (adaptive_avg_pool2d's CUDA backward sums with atomics).
        x.mean_dim([2i64, 3].as_slice(), false, None::<tch::Kind>)
            .apply(&self.fc)
    }
}
