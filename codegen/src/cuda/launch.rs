//! Launch configuration: how each generated kernel is launched ([`KernelLaunch`]) and the
//! whole program with its buffers ([`CudaProgram`]).

use crate::precision::Precision;
use crate::schedule::Tile;
use crate::tensor_core::Mma;
use serde::Serialize;

/// Dynamic shared memory a kernel may take without raising its
/// `CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES` (48 KiB).
pub const DEFAULT_SHARED_BYTES: u32 = 48 * 1024;

/// Threads per block of every generated kernel.
pub const BLOCK: u32 = 256;

/// How to launch one stage's kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelLaunch {
    /// Kernel name in the source (`kas_s0`, …).
    pub name: String,
    /// The stage it computes (a split reduction takes two kernels).
    pub stage: usize,
    /// Operands, in parameter order: `"in"`, `"w1"`, … or `"s0"`, … for earlier stages.
    pub operands: Vec<String>,
    /// Elements of the result.
    pub out_elems: u64,
    /// Blocks (x) to launch.
    pub grid: u32,
    /// Threads per block (x).
    pub block: u32,
    /// Dynamic shared memory in bytes (above 48 KiB the kernel's
    /// `CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES` must be raised to it before launch).
    pub shared_bytes: u32,
    /// Whether the result is bf16 (`kas_bf16`, 2 bytes an element) rather than f32.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub out_bf16: bool,
}

/// The CUDA source of an operator under one binding, and how to run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CudaProgram {
    /// Name of the binding.
    pub binding: String,
    /// The CUDA C source (all kernels, `extern "C"`).
    pub source: String,
    /// One launch per stage, in order; the last writes the output.
    pub kernels: Vec<KernelLaunch>,
    /// Shapes of the input and weights (f32, row-major).
    pub tensor_shapes: Vec<Vec<u64>>,
    /// Shape of the output.
    pub output_shape: Vec<u64>,
    /// Elements of each intermediate stage result (every stage but the last), for the
    /// workspace.
    pub workspace_elems: Vec<u64>,
    /// Whether index arithmetic is 64-bit.
    pub wide_index: bool,
    /// The arithmetic precision: at bf16 the input, weights, intermediates and output are
    /// `kas_bf16` (the bits of a bf16 in an `unsigned short`); a split reduction's partial
    /// results stay f32 ([`KernelLaunch::out_bf16`] says which).
    #[serde(skip_serializing_if = "is_f32")]
    pub precision: Precision,
}

fn is_f32(p: &Precision) -> bool {
    *p == Precision::F32
}

impl CudaProgram {
    /// The kernels computing stage `stage` (indices into [`CudaProgram::kernels`]).
    pub fn stage_kernels(&self, stage: usize) -> std::ops::Range<usize> {
        let first = self.kernels.iter().position(|k| k.stage == stage);
        match first {
            Some(f) => {
                f..f + self.kernels[f..]
                    .iter()
                    .take_while(|k| k.stage == stage)
                    .count()
            }
            None => 0..0,
        }
    }

    /// Workspace bytes (every intermediate, f32 or bf16 as its kernel writes it).
    pub fn workspace_bytes(&self) -> u64 {
        self.workspace_elems
            .iter()
            .zip(&self.kernels)
            .map(|(n, k)| n * if k.out_bf16 { 2 } else { 4 })
            .sum()
    }
}

impl KernelLaunch {
    /// A grid-stride kernel of [`BLOCK`] threads per block computing `total` elements (the
    /// direct kernel, the sum of a split reduction's partial results).
    pub(super) fn grid_stride(
        name: String,
        stage: usize,
        operands: Vec<String>,
        total: u64,
    ) -> KernelLaunch {
        KernelLaunch {
            stage,
            name,
            operands,
            out_elems: total,
            grid: total.div_ceil(BLOCK as u64).clamp(1, 65_535 * 32) as u32,
            block: BLOCK,
            shared_bytes: 0,
            out_bf16: false,
        }
    }

    /// The tiled kernel of tile `t`, writing `total` elements per slice of its split reduction
    /// over `blocks` blocks.
    pub(super) fn tiled(
        name: String,
        stage: usize,
        operands: Vec<String>,
        total: u64,
        t: &Tile,
        blocks: u32,
    ) -> KernelLaunch {
        KernelLaunch {
            stage,
            name,
            operands,
            out_elems: total * t.split_k as u64,
            grid: blocks,
            block: t.threads(),
            shared_bytes: 0,
            out_bf16: false,
        }
    }

    /// The tensor-core kernel of tile `t`, writing `total` elements per slice of its split
    /// reduction over `blocks` blocks with `shared_bytes` of dynamic shared memory.
    pub(super) fn tensor_core(
        name: String,
        stage: usize,
        operands: Vec<String>,
        total: u64,
        t: &Mma,
        blocks: u32,
        shared_bytes: u32,
    ) -> KernelLaunch {
        KernelLaunch {
            stage,
            name,
            operands,
            out_elems: total * t.split_k as u64,
            grid: blocks,
            block: t.threads(),
            shared_bytes,
            out_bf16: false,
        }
    }
}
