//! What a training run sets in libtorch before its first step, and how its steps run at its
//! precision and memory format (`docs/ARCHITECTURE.md`, "Training" and "Precision").
//!
//! **Determinism.** A run is a function of its seed on a given device and precision: the
//! weights are drawn under [`crate::seeded::seeded`], the data order and augmentation come
//! from host-side streams of the seed (`data::batches`, `data::text`), each dropout step draws
//! under the same lock from a seed of `(run seed, step)` ([`dropout_seed`]), and cuDNN is held
//! to deterministic algorithms with its benchmark mode off ([`enter`]). Two exceptions remain
//! on a GPU, where libtorch accumulates with atomics in backward passes: the tch plan's
//! `index_select` gathers (`index_add_`) and the GPT's fused attention. libtorch's
//! deterministic-algorithms mode would remove both, but it needs `CUBLAS_WORKSPACE_CONFIG` set
//! before cuBLAS starts (else every cuBLAS call raises or warns), so it is not set yet.
//!
//! **Process-wide switches.** cuDNN's determinism and benchmark switches and the TF32 switches
//! belong to libtorch's global context, shared by every thread of a process. Timing wants the
//! opposite (benchmark mode on), and its target turns it on when it opens. The two never
//! overlap: `kas search` times GPU kernels in worker processes (`kas internal time-candidate`),
//! so a campaign's process only trains, and a thread that times in-process (`kas bench`, an
//! evaluator without a worker, which then has one device and one thread) trains only after its
//! timing, and [`enter`] sets the switches again at the start of every run. The autocast
//! dtype is per thread in libtorch: [`enter`] sets it in the thread that trains.

use super::TrainConfig;
use crate::error::Result;
use crate::torch_context::{Tf32, set_autocast_bf16, set_deterministic, set_tf32};
use kas_codegen::Precision;
use tch::Tensor;
use tch::nn::VarStore;

/// Purpose tag of the dropout seeds (see `data::stream_rng`; the data streams use 1 to 3).
const TAG_DROPOUT: u64 = 4;

/// Sets libtorch's switches for a run of `cfg` (see the module docs): deterministic cuDNN
/// with benchmark mode off, TF32 in cuDNN and cuBLAS exactly at [`Precision::Tf32`], and bf16
/// as this thread's autocast dtype at [`Precision::Bf16`].
pub fn enter(cfg: &TrainConfig) -> Result<()> {
    set_deterministic(true)?;
    let tf32 = cfg.precision == Precision::Tf32;
    set_tf32(Tf32 {
        conv: tf32,
        matmul: tf32,
    })?;
    if cfg.precision == Precision::Bf16 {
        set_autocast_bf16()?;
    }
    Ok(())
}

/// Runs `f` (a forward pass, with its loss) at `precision`: inside a bf16 autocast region at
/// [`Precision::Bf16`] (the weights stay f32: the master copy the optimiser updates), as is
/// otherwise. Only CUDA devices train at bf16 (`TrainConfig::check`).
pub fn at_precision<T>(precision: Precision, f: impl FnOnce() -> T) -> Result<T> {
    match precision {
        Precision::Bf16 => crate::torch_context::autocast(true, f),
        Precision::F32 | Precision::Tf32 => Ok(f()),
    }
}

/// `x` (`[N, C, H, W]`) in channels-last memory order (NHWC strides, same shape and values).
pub fn channels_last(x: &Tensor) -> Tensor {
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// Whether `x` is a 4-D tensor laid out channels-last (channels the fastest dimension).
pub fn is_channels_last(x: &Tensor) -> bool {
    let (size, stride) = (x.size(), x.stride());
    size.len() == 4 && {
        let (c, h, w) = (size[1], size[2], size[3]);
        stride[1] == 1 && stride[3] == c && stride[2] == c * w && stride[0] == c * h * w
    }
}

/// Puts every convolution weight of `vs` (its 4-D `weight` variables) in channels-last memory
/// order, in place (the variables keep their identity, so modules and optimisers see it).
pub fn weights_channels_last(vs: &VarStore) {
    tch::no_grad(|| {
        for (name, mut v) in vs.variables() {
            if v.dim() == 4 && name.ends_with("weight") {
                let nhwc = channels_last(&v);
                v.set_data(&nhwc);
            }
        }
    });
}

/// The seed of libtorch's generator for the dropout masks of step `step` of a run seeded with
/// `seed`: every step's masks depend on `(seed, step)` alone, whatever other threads draw.
pub fn dropout_seed(seed: u64, step: usize) -> u64 {
    use rand::Rng;
    crate::data::stream_rng(seed, TAG_DROPOUT, step as u64, 0).next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn channels_last_keeps_values_and_shape_and_changes_strides() {
        let x = Tensor::arange(2 * 3 * 4 * 5, (Kind::Float, Device::Cpu)).view([2, 3, 4, 5]);
        assert!(!is_channels_last(&x));
        let y = channels_last(&x);
        assert_eq!(y.size(), x.size());
        assert!(y.equal(&x));
        assert!(is_channels_last(&y));
        assert_eq!(y.stride(), [60, 1, 15, 3]);
    }

    #[test]
    fn convolution_weights_go_channels_last_in_place() {
        let vs = VarStore::new(Device::Cpu);
        let conv = tch::nn::conv2d(vs.root() / "c", 3, 8, 3, Default::default());
        let lin = tch::nn::linear(vs.root() / "l", 4, 2, Default::default());
        let before = conv.ws.copy();
        weights_channels_last(&vs);
        assert!(is_channels_last(&conv.ws) && conv.ws.equal(&before));
        assert!(conv.ws.requires_grad());
        assert_eq!(lin.ws.stride(), [4, 1]);
    }

    #[test]
    fn dropout_seeds_depend_on_seed_and_step() {
        assert_eq!(dropout_seed(1, 5), dropout_seed(1, 5));
        assert_ne!(dropout_seed(1, 5), dropout_seed(1, 6));
        assert_ne!(dropout_seed(1, 5), dropout_seed(2, 5));
    }
}
