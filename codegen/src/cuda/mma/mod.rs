//! The tensor-core contraction kernel: a stage computed as a batched matrix product
//! ([`Contraction`]) with an [`Mma`] tile, at TF32 or bf16 ([`Precision`]).
//!
//! Each thread block owns a `bm × bn` tile of `(M, N)` for one `Z` value (and one slice of the
//! reduction when it is split); each of its warps owns a `bm / warps_m × bn / warps_n` part,
//! a grid of `16 × 8` instruction tiles with f32 accumulators in registers. The reduction
//! advances `bk` at a time through a `stages`-deep ring of shared-memory buffers: the loads of
//! slice `i + stages - 1` are issued (`cp.async`, one commit group per slice) before slice `i`
//! is multiplied, so up to `stages - 1` slices are in flight.
//!
//! Loads keep the tiled kernel's gathered addressing (`tiled/side.rs`, `tiled/load.rs`): the
//! part of each operand's address (and guard) fixed per load slot is computed once before
//! the loop, the part fixed per reduction index is `kk · stride` or a table generated with the
//! kernel. A slot that is out of range or guarded copies zero bytes (`cp.async` zero-fills),
//! so the padding of the last slice multiplies as zero. Slots of 16, 8 or 4 bytes go by
//! `cp.async`; a lone bf16 (2 bytes, below `cp.async`'s smallest copy) by a plain load and
//! store. Each buffer is laid out by reduction index or by row as the operand's fast axis
//! says, rows padded against bank conflicts (`layout.rs`); fragments are read with `ldmatrix`
//! (`.trans` for a bf16 buffer laid out by reduction index) or, for a TF32 buffer laid out by
//! reduction index, with plain shared loads; TF32 operands are rounded to nearest
//! (`cvt.rna.tf32.f32`) before the product.
//!
//! The epilogue stores each accumulator pair as one `float2` (or two bf16 in one word) where
//! the two columns are consecutive in the layout, element by element otherwise, converting
//! to the storage type; a split reduction writes f32 partial tiles that a second kernel adds
//! in a fixed order and converts.
//!
//! One file per step: `prims.rs` (the instructions), `layout.rs` (shared memory),
//! `body.rs` (head, load slots and pipeline), `fragment.rs` (fragments and products),
//! `epilogue.rs` (stores).

mod body;
mod epilogue;
mod fragment;
mod layout;
pub(super) mod prims;

use super::kernel::KernelSource;
use super::tiled::side::Side;
use super::tiled::side_of;
use crate::contraction::Contraction;
use crate::precision::Precision;
use crate::tensor_core::Mma;
use layout::Smem;
use std::fmt::Write as _;

/// Emits the tensor-core kernel of a stage; returns its dynamic shared memory in bytes.
pub(crate) fn emit(
    src: &mut String,
    k: &KernelSource<'_>,
    c: &Contraction,
    t: &Mma,
    p: Precision,
) -> u32 {
    // Slots of 16, 8 or 4 bytes go by `cp.async`; a lone bf16 by a load and a store.
    let widths: &[u32] = match p {
        Precision::Bf16 => &[8, 4, 2],
        _ => &[4, 2],
    };
    let a = side_of(k, c, t, true, widths);
    let b = side_of(k, c, t, false, widths);
    let sa = smem_of(&a, "As", t.bm, t, p);
    let sb = smem_of(&b, "Bs", t.bn, t, p);
    a.table_decl(src, k.idx);
    b.table_decl(src, k.idx);
    body::head(src, k, c, t, p, &sa);
    a.pre(src, k, t);
    b.pre(src, k, t);
    body::pipeline(src, k, t, p, [(&a, &sa), (&b, &sb)]);
    epilogue::store(src, k, c, t);
    t.stages * (sa.stage + sb.stage) * p.storage_bytes()
}

/// The shared-memory layout of a side: by reduction index when its loads run along rows
/// (vector loads along rows need rows contiguous), else by row; a TF32 side of single
/// elements by row, so that `ldmatrix` can read it.
fn smem_of(s: &Side<'_>, name: &'static str, rows: u32, t: &Mma, p: Precision) -> Smem {
    let by_k = s.row_fast && (s.vec > 1 || p == Precision::Bf16);
    Smem::new(name, rows, t.bk, by_k, p)
}

/// Emits the kernel adding `splits` f32 partial results of `total` elements, in order, into
/// a result of storage type `elem` (converted).
pub(crate) fn emit_split_sum(
    src: &mut String,
    k: &KernelSource<'_>,
    name: &str,
    total: u64,
    splits: u32,
) {
    let idx = k.idx;
    let _ = writeln!(
        src,
        "extern \"C\" __global__ void {name}(const float *__restrict__ part, {} *__restrict__ out)",
        k.elem
    );
    let _ = writeln!(src, "{{");
    let _ = writeln!(
        src,
        "    for ({idx} t = ({idx})blockIdx.x * blockDim.x + threadIdx.x; t < ({idx}){total}; t += ({idx})gridDim.x * blockDim.x) {{"
    );
    let _ = writeln!(src, "        float s = 0.0f;");
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(
        src,
        "        for (int q = 0; q < {splits}; ++q) s += part[({idx})q * {total} + t];"
    );
    let _ = writeln!(src, "        out[t] = {};", k.to_storage("s"));
    let _ = writeln!(src, "    }}");
    let _ = writeln!(src, "}}");
}
