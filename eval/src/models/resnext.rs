//! CIFAR-style ResNeXt-29 (32×4d): a 3×3 stem of 64 channels (no max pooling), three stages of
//! three bottleneck blocks (1×1 to `D` channels, a grouped 3×3 `D → D` in 32 groups, 1×1 to `2D`,
//! with `D` = 128, 256, 512), global average pooling and a linear classifier. The nine grouped
//! 3×3 convolutions are slots; a stride-2 one is average pooling 2×2 followed by a stride-1
//! slot (as in ResNet); the 1×1 convolutions and the projection shortcuts stay ordinary. The
//! config's `width` is the bottleneck width per group (4); the stem has `16·width` channels.

use super::resnet::plain_conv;
use super::slot::{Slot, SlotShape};
use super::{Census, VisionConfig, sub};
use crate::error::Result;
use tch::Tensor;
use tch::nn::{self, BatchNorm, Conv2D, Linear, Module, ModuleT, Path};

/// Groups of every grouped convolution.
pub const CARDINALITY: i64 = 32;

/// Blocks per stage.
pub const BLOCKS: usize = 3;

/// `D` of stage `stage` (0, 1, 2): the grouped convolution's channels.
fn inner(v: &VisionConfig, stage: usize) -> i64 {
    (CARDINALITY * v.width) << stage
}

/// Weights of the convolutions and the classifier at sizes `v` (norms are smaller).
pub fn parameters(v: &VisionConfig) -> f64 {
    let stem = 16 * v.width;
    let mut total = 9 * v.channels * stem;
    let mut c = stem;
    for stage in 0..3 {
        let d = inner(v, stage);
        for _ in 0..BLOCKS {
            total += c * d + 9 * (d / CARDINALITY) * d + d * 2 * d;
            if c != 2 * d {
                total += c * 2 * d;
            }
            c = 2 * d;
        }
    }
    (total + c * v.classes) as f64
}

#[derive(Debug)]
struct Block {
    pool: bool,
    reduce: (Conv2D, BatchNorm),
    grouped: (Slot, BatchNorm),
    expand: (Conv2D, BatchNorm),
    shortcut: Option<(Conv2D, BatchNorm)>,
}

impl Block {
    fn new(
        p: &Path,
        name: &str,
        (c_in, d, stride, h_in): (i64, i64, i64, i64),
        census: &mut Census<'_>,
    ) -> Result<Block> {
        let h = h_in / stride;
        let bn =
            |n: &str, c| nn::batch_norm2d(sub(p, &format!("{name}.{n}")), c, super::bn_config());
        census.other(h_in * h_in * c_in * d + h * h * d * 2 * d);
        let grouped = census.slot(
            p,
            &format!("{name}.conv2"),
            SlotShape::GroupedConv {
                c_in: d,
                c_out: d,
                h,
                groups: CARDINALITY,
            },
        )?;
        let shortcut = (c_in != 2 * d || stride != 1).then(|| {
            census.other(h * h * c_in * 2 * d);
            (
                plain_conv(&sub(p, &format!("{name}.shortcut")), c_in, 2 * d, 1, stride),
                bn("shortcut_bn", 2 * d),
            )
        });
        Ok(Block {
            pool: stride == 2,
            reduce: (
                plain_conv(&sub(p, &format!("{name}.conv1")), c_in, d, 1, 1),
                bn("bn1", d),
            ),
            grouped: (grouped, bn("bn2", d)),
            expand: (
                plain_conv(&sub(p, &format!("{name}.conv3")), d, 2 * d, 1, 1),
                bn("bn3", 2 * d),
            ),
            shortcut,
        })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x
            .apply(&self.reduce.0)
            .apply_t(&self.reduce.1, train)
            .relu();
        let y = if self.pool {
            y.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None::<i64>)
        } else {
            y
        };
        let y = self
            .grouped
            .0
            .forward(&y)
            .apply_t(&self.grouped.1, train)
            .relu();
        let y = y.apply(&self.expand.0).apply_t(&self.expand.1, train);
        let s = match &self.shortcut {
            Some((c, bn)) => x.apply(c).apply_t(bn, train),
            None => x.shallow_clone(),
        };
        (y + s).relu()
    }
}

/// The network.
#[derive(Debug)]
pub struct ResNeXt {
    stem: (Conv2D, BatchNorm),
    blocks: Vec<Block>,
    fc: Linear,
}

impl ResNeXt {
    pub(crate) fn new(p: &Path, v: &VisionConfig, census: &mut Census<'_>) -> Result<ResNeXt> {
        let stem_c = 16 * v.width;
        let stem = (
            plain_conv(&(p / "stem"), v.channels, stem_c, 3, 1),
            nn::batch_norm2d(p / "stem_bn", stem_c, super::bn_config()),
        );
        census.other(v.image * v.image * 9 * v.channels * stem_c);
        let (mut c, mut h) = (stem_c, v.image);
        let mut blocks = Vec::new();
        for stage in 0..3 {
            let d = inner(v, stage);
            for i in 0..BLOCKS {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                let name = format!("stage{}.{i}", stage + 1);
                blocks.push(Block::new(p, &name, (c, d, stride, h), census)?);
                h /= stride;
                c = 2 * d;
            }
        }
        census.other(c * v.classes);
        let fc = nn::linear(p / "fc", c, v.classes, Default::default());
        Ok(ResNeXt { stem, blocks, fc })
    }
}

impl ModuleT for ResNeXt {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = xs.apply(&self.stem.0).apply_t(&self.stem.1, train).relu();
        for b in &self.blocks {
            x = b.forward_t(&x, train);
        }
        // Global average pooling as a mean (deterministic backward on a GPU, as in ResNet).
        x.mean_dim([2i64, 3].as_slice(), false, None::<tch::Kind>)
            .apply(&self.fc)
    }
}
