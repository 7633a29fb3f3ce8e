//! Baselines: the slot's original layer at the same shapes, through libtorch (cuDNN
//! convolution, cuBLAS matmul on the GPU; libtorch's CPU kernels on the CPU).

use super::roofline::Work;
use crate::train::context::channels_last;
use kas_codegen::Precision;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// The original layer a candidate replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// 3×3 convolution, stride 1, padding 1, no bias: `[N, C_in, H, W] → [N, C_out, H, W]`.
    Conv3x3,
    /// Matrix product over the last axis, no bias: `[…, K] → […, M]` (linear / QKV slots).
    Matmul,
    /// Grouped 3×3 convolution, stride 1, padding 1, no bias, `groups` groups (ResNeXt's
    /// slots): `[N, C_in, H, W] → [N, C_out, H, W]`, both channel counts divisible by `groups`.
    GroupedConv3x3 {
        /// Channel groups.
        groups: u32,
    },
    /// Causal multi-head attention between bias-free QKV and output projections (a GPT
    /// token-mixing slot): `[N, T, C] → [N, T, C]`, `heads` dividing `C`; its weight is the four
    /// `C × C` projections stacked `[4, C, C]` (Q, K, V, output).
    CausalAttention {
        /// Attention heads.
        heads: u32,
    },
}

impl Baseline {
    /// The baseline matching a slot's input and output shapes: a 3×3 convolution when both
    /// are `[N, C, H, W]` with the same `N, H, W`; a matmul when they have the same rank and
    /// agree on every axis but the last; `None` otherwise.
    pub fn infer(input: &[usize], output: &[usize]) -> Option<Baseline> {
        if input.len() == 4
            && output.len() == 4
            && input[0] == output[0]
            && input[2..] == output[2..]
        {
            return Some(Baseline::Conv3x3);
        }
        let r = input.len();
        if r >= 1 && output.len() == r && input[..r - 1] == output[..r - 1] {
            return Some(Baseline::Matmul);
        }
        None
    }

    /// Checks that the baseline fits the shapes.
    pub fn check(&self, input: &[usize], output: &[usize]) -> Result<(), String> {
        let fits = match self {
            Baseline::Conv3x3 => Baseline::infer(input, output) == Some(Baseline::Conv3x3),
            Baseline::GroupedConv3x3 { groups } => {
                let g = *groups as usize;
                Baseline::infer(input, output) == Some(Baseline::Conv3x3)
                    && g >= 1
                    && input[1].is_multiple_of(g)
                    && output[1].is_multiple_of(g)
            }
            Baseline::Matmul => {
                let r = input.len();
                r >= 1 && output.len() == r && input[..r - 1] == output[..r - 1]
            }
            Baseline::CausalAttention { heads } => {
                input.len() == 3
                    && input == output
                    && *heads >= 1
                    && input[2].is_multiple_of(*heads as usize)
            }
        };
        if fits {
            Ok(())
        } else {
            Err(format!(
                "a {} baseline does not fit input {input:?} → output {output:?}",
                self.label()
            ))
        }
    }

    /// A short label.
    pub fn label(&self) -> &'static str {
        match self {
            Baseline::Conv3x3 => "conv3x3",
            Baseline::Matmul => "matmul",
            Baseline::GroupedConv3x3 { .. } => "grouped-conv3x3",
            Baseline::CausalAttention { .. } => "causal-attention",
        }
    }

    /// The baseline's own work (f32): FLOPs and input + weight + output bytes.
    pub fn work(&self, input: &[usize], output: &[usize]) -> Work {
        let vol = |s: &[usize]| s.iter().map(|&x| x as u64).product::<u64>();
        let (flops, weight) = match self {
            Baseline::Conv3x3 => {
                let (c_in, c_out) = (input[1] as u64, output[1] as u64);
                (2 * vol(output) * c_in * 9, c_out * c_in * 9)
            }
            Baseline::GroupedConv3x3 { groups } => {
                let g = u64::from((*groups).max(1));
                let (c_in, c_out) = (input[1] as u64 / g, output[1] as u64);
                (2 * vol(output) * c_in * 9, c_out * c_in * 9)
            }
            Baseline::Matmul => {
                let k = *input.last().unwrap_or(&1) as u64;
                let m = *output.last().unwrap_or(&1) as u64;
                (2 * vol(output) * k, k * m)
            }
            Baseline::CausalAttention { .. } => {
                let (t, c) = (input[1] as u64, input[2] as u64);
                // Four projections, then QKᵀ and AV in full.
                (2 * vol(output) * (4 * c + 2 * t), 4 * c * c)
            }
        };
        Work {
            flops,
            min_bytes: 4 * (vol(input) + weight + vol(output)),
        }
    }

    /// What the baseline runs at precision `p`, for bench headers: the library and its
    /// arithmetic (TF32 allowed in cuDNN / cuBLAS only for TF32 runs).
    pub fn runs_as(&self, p: Precision) -> &'static str {
        self.runs_in(p, false)
    }

    /// [`Baseline::runs_as`] with the convolution's tensors channels-last when
    /// `channels_last` (bf16 convolutions always are).
    pub fn runs_in(&self, p: Precision, channels_last: bool) -> &'static str {
        match (self, p, channels_last) {
            (Baseline::Conv3x3, Precision::F32, false) => "cuDNN conv, f32 NCHW, TF32 off",
            (Baseline::Conv3x3, Precision::F32, true) => {
                "cuDNN conv, f32 channels-last (NHWC), TF32 off"
            }
            (Baseline::Conv3x3, Precision::Tf32, false) => "cuDNN conv, f32 NCHW, TF32 on",
            (Baseline::Conv3x3, Precision::Tf32, true) => {
                "cuDNN conv, f32 channels-last (NHWC), TF32 on"
            }
            (Baseline::Conv3x3, Precision::Bf16, _) => {
                "cuDNN conv, bf16 channels-last (NHWC), f32 accumulation"
            }
            (Baseline::Matmul, Precision::F32, _) => "cuBLAS matmul, f32, TF32 off",
            (Baseline::Matmul, Precision::Tf32, _) => "cuBLAS matmul, f32, TF32 on",
            (Baseline::Matmul, Precision::Bf16, _) => "cuBLAS matmul, bf16, f32 accumulation",
            (Baseline::GroupedConv3x3 { .. }, Precision::F32, false) => {
                "cuDNN grouped conv, f32 NCHW, TF32 off"
            }
            (Baseline::GroupedConv3x3 { .. }, Precision::F32, true) => {
                "cuDNN grouped conv, f32 channels-last (NHWC), TF32 off"
            }
            (Baseline::GroupedConv3x3 { .. }, Precision::Tf32, false) => {
                "cuDNN grouped conv, f32 NCHW, TF32 on"
            }
            (Baseline::GroupedConv3x3 { .. }, Precision::Tf32, true) => {
                "cuDNN grouped conv, f32 channels-last (NHWC), TF32 on"
            }
            (Baseline::GroupedConv3x3 { .. }, Precision::Bf16, _) => {
                "cuDNN grouped conv, bf16 channels-last (NHWC), f32 accumulation"
            }
            (Baseline::CausalAttention { .. }, Precision::F32, _) => {
                "cuBLAS projections + libtorch causal scaled_dot_product_attention, f32, TF32 off"
            }
            (Baseline::CausalAttention { .. }, Precision::Tf32, _) => {
                "cuBLAS projections + libtorch causal scaled_dot_product_attention, f32, TF32 on"
            }
            (Baseline::CausalAttention { .. }, Precision::Bf16, _) => {
                "cuBLAS projections + libtorch causal scaled_dot_product_attention, bf16"
            }
        }
    }

    /// Seeded input and weight for these shapes at precision `p` on `device`: drawn as f32
    /// (and kept at f32 and TF32), or drawn as f32 and rounded to bf16; a convolution's laid
    /// out channels-last in bf16 (what cuDNN runs fastest there) or when `channels_last`.
    pub fn tensors_at(
        &self,
        input: &[usize],
        output: &[usize],
        device: Device,
        p: Precision,
        channels_last_conv: bool,
    ) -> (Tensor, Tensor) {
        let (x, w) = self.tensors(input, output, device);
        let (x, w) = if p == Precision::Bf16 {
            (x.to_kind(Kind::BFloat16), w.to_kind(Kind::BFloat16))
        } else {
            (x, w)
        };
        match self {
            Baseline::Conv3x3 | Baseline::GroupedConv3x3 { .. }
                if p == Precision::Bf16 || channels_last_conv =>
            {
                (channels_last(&x), channels_last(&w))
            }
            _ => (x, w),
        }
    }

    /// Seeded f32 input and weight on `device` for these shapes.
    pub fn tensors(&self, input: &[usize], output: &[usize], device: Device) -> (Tensor, Tensor) {
        let to = |s: &[usize]| s.iter().map(|&x| x as i64).collect::<Vec<i64>>();
        let x = Tensor::randn(to(input), (Kind::Float, device));
        let w = match self {
            Baseline::Conv3x3 => Tensor::randn(
                [output[1] as i64, input[1] as i64, 3, 3],
                (Kind::Float, device),
            ),
            Baseline::GroupedConv3x3 { groups } => Tensor::randn(
                [
                    output[1] as i64,
                    input[1] as i64 / i64::from((*groups).max(1)),
                    3,
                    3,
                ],
                (Kind::Float, device),
            ),
            Baseline::Matmul => Tensor::randn(
                [
                    *input.last().unwrap_or(&1) as i64,
                    *output.last().unwrap_or(&1) as i64,
                ],
                (Kind::Float, device),
            ),
            Baseline::CausalAttention { .. } => {
                let c = input[2] as i64;
                Tensor::randn([4, c, c], (Kind::Float, device)) / (c as f64).sqrt()
            }
        };
        (x, w)
    }

    /// Runs the layer once (asynchronous on a GPU).
    pub fn run(&self, x: &Tensor, w: &Tensor) -> Tensor {
        match self {
            Baseline::Conv3x3 => x.conv2d(w, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1),
            Baseline::GroupedConv3x3 { groups } => x.conv2d(
                w,
                None::<Tensor>,
                [1, 1],
                [1, 1],
                [1, 1],
                i64::from((*groups).max(1)),
            ),
            Baseline::Matmul => x.matmul(w),
            Baseline::CausalAttention { heads } => {
                let project = |i: i64| x.matmul(&w.get(i));
                crate::models::slot::causal_attention(
                    &project(0),
                    &project(1),
                    &project(2),
                    i64::from(*heads),
                )
                .matmul(&w.get(3))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infer_and_work() {
        let (i, o) = ([2, 3, 5, 7], [2, 4, 5, 7]);
        assert_eq!(Baseline::infer(&i, &o), Some(Baseline::Conv3x3));
        assert_eq!(
            Baseline::infer(&[1, 8, 6], &[1, 8, 12]),
            Some(Baseline::Matmul)
        );
        assert_eq!(Baseline::infer(&[1, 8, 6], &[1, 4, 12]), None);
        assert!(Baseline::Conv3x3.check(&i, &o).is_ok());
        assert!(Baseline::Conv3x3.check(&[1, 8, 6], &[1, 8, 12]).is_err());
        let w = Baseline::Conv3x3.work(&i, &o);
        assert_eq!(w.flops, 2 * (2 * 4 * 5 * 7) * 3 * 9);
        assert_eq!(w.min_bytes, 4 * (2 * 3 * 35 + 4 * 3 * 9 + 2 * 4 * 35));
        let m = Baseline::Matmul.work(&[1, 8, 6], &[1, 8, 12]);
        assert_eq!(m.flops, 2 * 8 * 12 * 6);
    }

    #[test]
    fn causal_attention_is_causal_and_counts_its_work() {
        tch::manual_seed(0);
        let b = Baseline::CausalAttention { heads: 2 };
        let s = [2, 5, 4];
        assert!(b.check(&s, &s).is_ok());
        assert!(b.check(&[2, 5, 3], &[2, 5, 3]).is_err());
        assert!(b.check(&s, &[2, 5, 8]).is_err());
        let (x, w) = b.tensors(&s, &s, Device::Cpu);
        assert_eq!(w.size(), [4, 4, 4]);
        let y = b.run(&x, &w);
        assert_eq!(y.size(), [2, 5, 4]);
        // Changing the last position leaves the earlier outputs alone.
        let x2 = x.copy();
        let _ = x2.narrow(1, 4, 1).fill_(3.0);
        let y2 = b.run(&x2, &w);
        assert!(
            y.narrow(1, 0, 4)
                .allclose(&y2.narrow(1, 0, 4), 1e-6, 1e-6, false)
        );
        assert!(!y.allclose(&y2, 1e-6, 1e-6, false));
        let work = b.work(&s, &s);
        assert_eq!(work.flops, 2 * 40 * (4 * 4 + 2 * 5));
        assert_eq!(b.label(), "causal-attention");
    }

    #[test]
    fn runs_on_the_cpu_with_the_right_shapes() {
        tch::manual_seed(0);
        let (i, o) = ([2, 3, 5, 7], [2, 4, 5, 7]);
        let (x, w) = Baseline::Conv3x3.tensors(&i, &o, Device::Cpu);
        assert_eq!(Baseline::Conv3x3.run(&x, &w).size(), [2, 4, 5, 7]);
        let (x, w) = Baseline::Matmul.tensors(&[1, 8, 6], &[1, 8, 12], Device::Cpu);
        assert_eq!(Baseline::Matmul.run(&x, &w).size(), [1, 8, 12]);
        let (x, w) = Baseline::Conv3x3.tensors_at(&i, &o, Device::Cpu, Precision::Bf16, false);
        assert_eq!((x.kind(), w.kind()), (Kind::BFloat16, Kind::BFloat16));
        assert_eq!(
            (x.size(), x.stride()),
            (vec![2, 3, 5, 7], vec![105, 1, 21, 3])
        );
        assert_eq!(w.stride(), [27, 1, 9, 3]);
    }

    #[test]
    fn a_grouped_conv_divides_its_weights_and_work_by_the_groups() {
        tch::manual_seed(0);
        let g = Baseline::GroupedConv3x3 { groups: 4 };
        let (i, o) = ([2, 8, 5, 5], [2, 12, 5, 5]);
        assert!(g.check(&i, &o).is_ok());
        assert!(
            g.check(&[2, 6, 5, 5], &o).is_err(),
            "6 channels in 4 groups"
        );
        let w = g.work(&i, &o);
        assert_eq!(w.flops, 2 * (2 * 12 * 25) * 2 * 9);
        assert_eq!(w.min_bytes, 4 * (2 * 8 * 25 + 12 * 2 * 9 + 2 * 12 * 25));
        let (x, w) = g.tensors(&i, &o, Device::Cpu);
        assert_eq!(w.size(), [12, 2, 3, 3]);
        let y = g.run(&x, &w);
        assert_eq!(y.size(), [2, 12, 5, 5]);
        // The first output group sees only the first two input channels.
        let x2 = x.copy();
        let _ = x2.narrow(1, 2, 6).fill_(0.0);
        let y2 = g.run(&x2, &w);
        let d = (y.narrow(1, 0, 3) - y2.narrow(1, 0, 3)).abs().max();
        assert_eq!(d.double_value(&[]), 0.0);
        assert_eq!(
            serde_json::to_string(&g).unwrap(),
            r#"{"grouped-conv3x3":{"groups":4}}"#
        );
    }
}
