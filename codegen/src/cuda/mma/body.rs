//! The tensor-core kernel's head (signature, shared buffers, the block's tile, batch and
//! slice of the reduction) and its pipelined reduction loop.

use super::fragment;
use super::layout::Smem;
use crate::contraction::Contraction;
use crate::cuda::kernel::KernelSource;
use crate::cuda::tiled::load::Sink;
use crate::cuda::tiled::mainloop::block_coords;
use crate::cuda::tiled::side::Side;
use crate::precision::Precision;
use crate::tensor_core::Mma;
use std::fmt::Write as _;

/// The kernel's signature and its first lines: the stages' buffers in dynamic shared memory,
/// the block's `(M, N)` tile, split and batch, and its slice `kbeg..kend` of the reduction.
pub(super) fn head(
    src: &mut String,
    k: &KernelSource<'_>,
    c: &Contraction,
    t: &Mma,
    p: Precision,
    sa: &Smem,
) {
    let (bm, bn, bk) = (t.bm, t.bn, t.bk);
    let elem = k.elem;
    let mut params: Vec<String> = k
        .operands
        .iter()
        .map(|a| format!("const {elem} *__restrict__ {}", a.name))
        .collect();
    let out = if t.split_k > 1 { "float" } else { elem };
    params.push(format!("{out} *__restrict__ out"));
    let _ = writeln!(
        src,
        "// tensor cores ({}): M = {} (dims {:?}), N = {} (dims {:?}), Z = {} (dims {:?}), K = {}; tile {}",
        match p {
            Precision::Bf16 => "mma.sync m16n8k16 bf16",
            _ => "mma.sync m16n8k8 tf32",
        },
        c.m,
        c.m_dims,
        c.n,
        c.n_dims,
        c.z,
        c.z_dims,
        c.k,
        t.label()
    );
    let _ = writeln!(
        src,
        "extern \"C\" __global__ void __launch_bounds__({}, 1) {}({})",
        t.threads(),
        k.name,
        params.join(", ")
    );
    let _ = writeln!(src, "{{");
    let _ = writeln!(src, "    KAS_DYNAMIC_SHARED(kas_smem);");
    let _ = writeln!(
        src,
        "    {elem} *const As = reinterpret_cast<{elem} *>(kas_smem);"
    );
    let _ = writeln!(src, "    {elem} *const Bs = As + {};", t.stages * sa.stage);
    block_coords(src, k, c, (bm, bn, bk), t.split_k);
}

/// Where a side's slot `j` goes in stage `st` of its shared buffer.
fn slot_dst(side: &Side<'_>, smem: &Smem) -> String {
    let x = side.tag;
    smem.at("st", &format!("{x}kl[j]"), &format!("{x}row[j]"))
}

/// Whether a side's slots are too small for `cp.async` (a lone bf16: 2 bytes) and go through
/// registers instead.
fn synchronous(side: &Side<'_>, p: Precision) -> bool {
    side.vec * p.storage_bytes() < 4
}

/// Issues the loads of the slice starting at `kb` into stage `st` of both sides' buffers:
/// `cp.async` where a slot has 4 bytes or more; otherwise a plain load, stored at once
/// (`hold == false`, the prologue) or held in registers for [`drain`] after the multiply.
fn issue(
    src: &mut String,
    k: &KernelSource<'_>,
    t: &Mma,
    sides: [(&Side<'_>, &Smem); 2],
    p: Precision,
    hold: bool,
) {
    for (side, smem) in sides {
        let dst = slot_dst(side, smem);
        let bytes = side.vec * p.storage_bytes();
        let sink = if !synchronous(side, p) {
            Sink::Async { dst: &dst, bytes }
        } else if hold {
            Sink::Hold { elem: k.elem }
        } else {
            Sink::Store {
                dst: &dst,
                elem: k.elem,
            }
        };
        side.load_into(src, k, t, "kb", &sink);
    }
    let _ = writeln!(src, "    kas_cp_commit();");
}

/// Stores the registers the main loop's synchronous loads filled into stage `st`.
fn drain(src: &mut String, t: &Mma, sides: [(&Side<'_>, &Smem); 2], p: Precision) {
    for (side, smem) in sides {
        if synchronous(side, p) {
            side.drain(src, t, &slot_dst(side, smem));
        }
    }
}

/// The accumulators, the pipeline's prologue (slices `0 .. stages - 1` in flight) and the
/// reduction loop: wait for the oldest slice, issue the next, multiply the oldest.
pub(super) fn pipeline(
    src: &mut String,
    k: &KernelSource<'_>,
    t: &Mma,
    p: Precision,
    sides: [(&Side<'_>, &Smem); 2],
) {
    let idx = k.idx;
    let (bk, stages) = (t.bk, t.stages);
    let (mi, ni) = (t.warp_m() / 16, t.warp_n() / 8);
    let _ = writeln!(src, "    float acc[{mi}][{ni}][4];");
    let _ = writeln!(src, "    #pragma unroll");
    let _ = writeln!(src, "    for (int i = 0; i < {mi}; ++i)");
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(src, "        for (int j = 0; j < {ni}; ++j)");
    let _ = writeln!(src, "            #pragma unroll");
    let _ = writeln!(
        src,
        "            for (int q = 0; q < 4; ++q) acc[i][j][q] = 0.0f;"
    );
    let _ = writeln!(
        src,
        "    const unsigned lane = tid % 32u, g = lane / 4u, tg = lane % 4u;"
    );
    let _ = writeln!(
        src,
        "    const unsigned wr = ((tid / 32u) % {}u) * {}u, wc = ((tid / 32u) / {}u) * {}u;",
        t.warps_m,
        t.warp_m(),
        t.warps_m,
        t.warp_n()
    );
    let _ = writeln!(
        src,
        "    // Prologue: slices 0 .. {} in flight.",
        stages - 2
    );
    let _ = writeln!(src, "    #pragma unroll");
    let _ = writeln!(src, "    for (int st = 0; st < {}; ++st) {{", stages - 1);
    let _ = writeln!(src, "    const {idx} kb = kbeg + st * {bk};");
    issue(src, k, t, sides, p, false);
    let _ = writeln!(src, "    }}");
    // Synchronous slots of the main loop wait in registers while the tensor cores multiply.
    for (side, _) in sides {
        if synchronous(side, p) {
            let _ = writeln!(src, "    {} {}h[{}];", k.elem, side.tag, side.slots(t));
        }
    }
    let _ = writeln!(src, "    int rs = 0;");
    let _ = writeln!(src, "    for ({idx} kt = kbeg; kt < kend; kt += {bk}) {{");
    let _ = writeln!(src, "    kas_cp_wait<{}>();", stages - 2);
    let _ = writeln!(src, "    __syncthreads();");
    let _ = writeln!(src, "    {{");
    let _ = writeln!(src, "    const int st = rs == 0 ? {} : rs - 1;", stages - 1);
    let _ = writeln!(src, "    const {idx} kb = kt + {};", (stages - 1) * bk);
    issue(src, k, t, sides, p, true);
    let _ = writeln!(src, "    }}");
    fragment::multiply(src, t, p, sides[0].1, sides[1].1);
    if sides.iter().any(|(side, _)| synchronous(side, p)) {
        let _ = writeln!(src, "    {{");
        let _ = writeln!(src, "    const int st = rs == 0 ? {} : rs - 1;", stages - 1);
        drain(src, t, sides, p);
        let _ = writeln!(src, "    }}");
    }
    let _ = writeln!(src, "    rs = rs == {} ? 0 : rs + 1;", stages - 1);
    let _ = writeln!(src, "    }}");
    let _ = writeln!(src, "    kas_cp_wait<0>();");
}
