//! A small CNN for the default campaign, quick to train on a CPU: a 3×3 stem, then four 3×3
//! slots (`w → w` at `S`; average pooling; `w → 2w` and `2w → 2w` at `S/2`; average pooling;
//! `2w → 4w` at `S/4`), each followed by batch norm and ReLU, global average pooling and a
//! linear classifier.

use super::resnet::plain_conv;
use super::slot::{Slot, SlotShape};
use super::{Census, VisionConfig};
use crate::error::Result;
use tch::Tensor;
use tch::nn::{self, BatchNorm, Conv2D, Linear, Module, ModuleT, Path};

/// The network.
#[derive(Debug)]
pub struct Cnn {
    stem: Conv2D,
    stem_bn: BatchNorm,
    /// Each slot, its batch norm, and whether average pooling precedes it.
    layers: Vec<(Slot, BatchNorm, bool)>,
    fc: Linear,
}

impl Cnn {
    pub(crate) fn new(p: &Path, v: &VisionConfig, census: &mut Census<'_>) -> Result<Cnn> {
        let w = v.width;
        let s = v.image;
        let stem = plain_conv(&(p / "stem"), v.channels, w, 3, 1);
        census.other(s * s * 9 * v.channels * w);
        let stem_bn = nn::batch_norm2d(p / "stem_bn", w, super::bn_config());
        let plan = [
            (w, w, s, false),
            (w, 2 * w, s / 2, true),
            (2 * w, 2 * w, s / 2, false),
            (2 * w, 4 * w, s / 4, true),
        ];
        let mut layers = Vec::new();
        for (i, (c_in, c_out, h, pool)) in plan.into_iter().enumerate() {
            let slot = census.slot(
                p,
                &format!("conv{}", i + 1),
                SlotShape::Conv { c_in, c_out, h },
            )?;
            let bn = nn::batch_norm2d(p / format!("bn{}", i + 1), c_out, super::bn_config());
            layers.push((slot, bn, pool));
        }
        census.other(4 * w * v.classes);
        let fc = nn::linear(p / "fc", 4 * w, v.classes, Default::default());
        Ok(Cnn {
            stem,
            stem_bn,
            layers,
            fc,
        })
    }
}

impl ModuleT for Cnn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut x = xs.apply(&self.stem).apply_t(&self.stem_bn, train).relu();
        for (slot, bn, pool) in &self.layers {
            if *pool {
                x = x.avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None::<i64>);
            }
            x = slot.forward(&x).apply_t(bn, train).relu();
        }
        // Global average pooling as a mean: its backward is a broadcast, deterministic on a
        // GPU (adaptive_avg_pool2d's CUDA backward sums with atomics).
        x.mean_dim([2i64, 3].as_slice(), false, None::<tch::Kind>)
            .apply(&self.fc)
    }
}
