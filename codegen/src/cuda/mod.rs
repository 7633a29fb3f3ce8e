//! CUDA C for a stage IR: kernels shape-specialised for one binding, one (or two) per stage.
//!
//! Each stage is computed as its [`Schedule`](crate::schedule::Schedule) says:
//!
//! - **direct** (the reference): one thread per element of the stage's result (grid-stride
//!   loop), the stage's reductions as nested loops, every zero-padding guard tested before any
//!   read;
//! - **tiled**: the stage as a batched matrix product, output tiles per thread block, the
//!   reduction staged through shared memory, optionally split across blocks.
//!
//! Views never materialize: Unfold, Shift, Split/Merge and Stride are index arithmetic in the
//! loads of the consuming kernel, with the zero-padding guard. f32 loads and an f32
//! accumulator. Index arithmetic is `int` when every extent is small and `long long` otherwise.
//! Shift offsets are reduced modulo their extent and every size is a literal, so no
//! intermediate overflows.
//!
//! One job per file:
//!
//! - `kernel.rs`, `index.rs`: what every emitter shares — the operands as a stage reads them,
//!   the kernel being written, index expressions as C with their ranges and folding;
//! - `direct.rs`: the direct kernel;
//! - `tiled/`: the tiled kernel (address planning, operand sides, loads, reduction loop,
//!   epilogue);
//! - `mma/`: the tensor-core kernel (its instructions, shared-memory layout, pipeline,
//!   fragments, epilogue), loading through the tiled kernel's operand sides;
//! - `launch.rs`: how each kernel is launched and the program's buffers ([`CudaProgram`]);
//! - `choice.rs`: the stages' matrix-product views and schedules chosen without timing;
//! - `program.rs`: the driver that emits every stage with the emitter its schedule names.
//!
//! An emitter depends on the shared files only; the driver depends on the emitters.

mod choice;
mod direct;
mod index;
mod kernel;
mod launch;
mod mma;
mod program;
mod red_order;
mod tiled;

pub use choice::{
    MAX_ELEMENTS, contractions, heuristic_schedule, precise_candidates, precise_schedule,
    varied_precise_schedule, varied_schedule,
};
pub use index::{IterRanges, c_expr, c_expr_in};
pub use launch::{BLOCK, CudaProgram, DEFAULT_SHARED_BYTES, KernelLaunch};
/// The bf16 element type and conversions generated programs define (behind `KAS_BF16`), for
/// other code of the same translation unit (the export's run-time).
pub(crate) const BF16_PRIMS: &str = mma::prims::BF16;
pub use program::{generate, generate_fused, generate_named, generate_precise, generate_scheduled};
