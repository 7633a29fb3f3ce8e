//! The tiled contraction kernel: a stage computed as a batched matrix product
//! ([`Contraction`]) with a [`Tile`].
//!
//! Each thread block owns a `bm × bn` tile of `(M, N)` for one `Z` value (and one slice of the
//! reduction when it is split). The reduction advances `bk` at a time: every thread loads its
//! share of the `A` and `B` slices from global memory into registers, stores them into one of
//! two shared buffers, and multiplies the other buffer's slices into a `tm × tn` register tile
//! (vectorized shared loads when the thread tile allows). The loads of the next slice are issued
//! before the products of the current one, so global latency overlaps arithmetic.
//!
//! Loads: each operand's address (and each guard) is split into a part fixed
//! per load slot, computed once before the loop from the slot's row, and a part fixed per
//! reduction index, read from a table generated with the kernel (or `kk · stride` when it is
//! that); only expressions that are not affine (a Shift's remainder) are evaluated per load,
//! with range-aware arithmetic. Where four (or two) consecutive rows or reduction indices are
//! consecutive, aligned addresses, one `float4` (`float2`) load fetches them; warps load 32
//! consecutive rows per reduction index. Out-of-range and guarded elements read as 0.
//!
//! The epilogue adds a row part, a column part and the block's batch part (each computed once)
//! and stores `float4` / `float2` where the layout allows. A split reduction writes partial
//! tiles that a second kernel adds in a fixed order (deterministic).
//!
//! The kernel is written in steps, one file each: [`plan`] splits each operand's addresses,
//! [`side`] declares each operand's load slots, [`load`] loads and stores a slice,
//! [`mainloop`] writes the kernel's head and its double-buffered reduction loop, and
//! [`epilogue`] stores the register tile.

mod epilogue;
pub(super) mod load;
pub(crate) mod mainloop;
mod plan;
pub(super) mod side;

use crate::contraction::{Contraction, innermost_out};
use crate::cuda::kernel::KernelSource;
use crate::schedule::Tile;
use plan::AddrPlan;
use side::{Side, Slice};
use std::fmt::Write as _;

/// Emits the tiled kernel of a stage.
pub(crate) fn emit(src: &mut String, k: &KernelSource<'_>, c: &Contraction, t: &Tile) {
    let a = side_of(k, c, t, true, &[4, 2]);
    let b = side_of(k, c, t, false, &[4, 2]);
    a.table_decl(src, k.idx);
    b.table_decl(src, k.idx);
    mainloop::head(src, k, c, t);
    a.pre(src, k, t);
    b.pre(src, k, t);
    mainloop::reduction(src, k, t, &a, &b);
    epilogue::store_tile(src, k, c, t);
}

/// The `A` side (`a_side`) or the `B` side of a contraction, with the widest vector loads of
/// `widths` (elements, widest first) it allows.
pub(super) fn side_of<'a>(
    k: &KernelSource<'a>,
    c: &'a Contraction,
    t: &dyn Slice,
    a_side: bool,
    widths: &[u32],
) -> Side<'a> {
    let (operand, dims, rows, extent, guards) = if a_side {
        (c.a, &c.m_dims, t.rows_m(), c.m, &c.guard_a)
    } else {
        (c.b, &c.n_dims, t.rows_n(), c.n, &c.guard_b)
    };
    let operands = k.operands;
    let acc = &operands[operand];
    let mut side = Side {
        tag: if a_side { "a" } else { "b" },
        acc,
        dims,
        rows,
        extent,
        row_fast: innermost_out(&acc.exprs).is_some_and(|o| dims.contains(&o)),
        guards,
        smem: if a_side { "As" } else { "Bs" },
        base: if a_side { "m0" } else { "n0" },
        plan: AddrPlan::of(acc, k.guards, guards, k.red, k.binding),
        kernel: k.name,
        vec: 1,
    };
    side.vec = widths
        .iter()
        .copied()
        .find(|&w| side.vectorizable(k, t, c.k, w))
        .unwrap_or(1);
    side
}

/// Emits the kernel adding `splits` partial results of `total` elements, in order (and
/// applying `epilogue` to each sum, when given).
pub(crate) fn emit_split_sum(
    src: &mut String,
    name: &str,
    total: u64,
    splits: u32,
    idx: &str,
    epilogue: Option<&str>,
) {
    let _ = writeln!(
        src,
        "extern \"C\" __global__ void {name}(const float *__restrict__ part, float *__restrict__ out)"
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
    match epilogue {
        Some(f) => {
            let _ = writeln!(src, "        out[t] = {f}(s);");
        }
        None => {
            let _ = writeln!(src, "        out[t] = s;");
        }
    }
    let _ = writeln!(src, "    }}");
    let _ = writeln!(src, "}}");
}
