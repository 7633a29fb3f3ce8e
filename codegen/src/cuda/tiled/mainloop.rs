//! The tiled kernel's body before its epilogue: the signature, the shared buffers and the
//! block's tile, batch and slice of the reduction ([`head`]), then the registers and the
//! double-buffered reduction loop that multiplies shared-memory fragments into each thread's
//! register tile ([`reduction`]). [`spread`] places a thread's rows and columns in the tile
//! (the epilogue stores them in the same places).

use super::side::Side;
use crate::contraction::Contraction;
use crate::cuda::kernel::KernelSource;
use crate::schedule::Tile;
use std::fmt::Write as _;

/// Vector width and group count of a thread's rows (or columns) in a tile of `b` with `t` per
/// thread: rows `g·(b/groups) + thread·width + q`.
pub(super) fn spread(t: u32) -> (u32, u32) {
    let w = t.min(4);
    (w, t / w)
}

/// The kernel's signature and its first lines: shared buffers, the block's `(M, N)` tile,
/// split and batch, and its slice `kbeg..kend` of the reduction.
pub(super) fn head(src: &mut String, k: &KernelSource<'_>, c: &Contraction, t: &Tile) {
    let threads = t.threads();
    let (bm, bn, bk) = (t.bm, t.bn, t.bk);
    let params = k.params();
    let _ = writeln!(
        src,
        "// tiled: M = {} (dims {:?}), N = {} (dims {:?}), Z = {} (dims {:?}), K = {}; tile {}",
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
        "extern \"C\" __global__ void __launch_bounds__({threads}, {}) {}({params})",
        t.min_blocks, k.name,
    );
    let _ = writeln!(src, "{{");
    let _ = writeln!(
        src,
        "    __shared__ __align__(16) float As[2][{bk}][{}];",
        bm + 4
    );
    let _ = writeln!(
        src,
        "    __shared__ __align__(16) float Bs[2][{bk}][{}];",
        bn + 4
    );
    block_coords(src, k, c, (bm, bn, bk), t.split_k);
}

/// The operands' registers, the accumulators, the first slice's loads and the reduction loop:
/// the next slice's loads are issued before the current slice's products.
pub(super) fn reduction(
    src: &mut String,
    k: &KernelSource<'_>,
    t: &Tile,
    a: &Side<'_>,
    b: &Side<'_>,
) {
    let idx = k.idx;
    let (bm, bn, bk, tm, tn) = (t.bm, t.bn, t.bk, t.tm, t.tn);
    let reg = |v: u32| match v {
        4 => "float4",
        2 => "float2",
        _ => "float",
    };
    let _ = writeln!(src, "    {} ar[{}];", reg(a.vec), a.slots(t));
    let _ = writeln!(src, "    {} br[{}];", reg(b.vec), b.slots(t));
    let _ = writeln!(src, "    float acc[{tm}][{tn}];");
    let _ = writeln!(src, "    #pragma unroll");
    let _ = writeln!(src, "    for (int i = 0; i < {tm}; ++i)");
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(
        src,
        "        for (int j = 0; j < {tn}; ++j) acc[i][j] = 0.0f;"
    );
    let _ = writeln!(src, "    const unsigned tmi = tid % {}u;", bm / tm);
    let _ = writeln!(src, "    const unsigned tni = tid / {}u;", bm / tm);
    // Prologue: the first slice into buffer 0.
    a.load(src, k, t, "kbeg");
    b.load(src, k, t, "kbeg");
    a.store(src, t, "0");
    b.store(src, t, "0");
    let _ = writeln!(src, "    __syncthreads();");
    let _ = writeln!(src, "    int cur = 0;");
    let _ = writeln!(src, "    for ({idx} kt = kbeg; kt < kend; kt += {bk}) {{");
    let _ = writeln!(src, "    const bool more = kt + {bk} < kend;");
    let _ = writeln!(src, "    if (more) {{");
    a.load(src, k, t, &format!("(kt + {bk})"));
    b.load(src, k, t, &format!("(kt + {bk})"));
    let _ = writeln!(src, "    }}");
    let (vm, gm) = spread(tm);
    let (vn, gn) = spread(tn);
    let _ = writeln!(src, "    #pragma unroll");
    let _ = writeln!(src, "    for (int q = 0; q < {bk}; ++q) {{");
    let _ = writeln!(src, "        float a[{tm}], b[{tn}];");
    fragment(src, "a", "As", vm, gm, bm, "tmi");
    fragment(src, "b", "Bs", vn, gn, bn, "tni");
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(src, "        for (int i = 0; i < {tm}; ++i)");
    let _ = writeln!(src, "            #pragma unroll");
    let _ = writeln!(
        src,
        "            for (int j = 0; j < {tn}; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);"
    );
    let _ = writeln!(src, "    }}");
    let _ = writeln!(src, "    if (more) {{");
    a.store(src, t, "cur ^ 1");
    b.store(src, t, "cur ^ 1");
    let _ = writeln!(src, "    }}");
    let _ = writeln!(src, "    __syncthreads();");
    let _ = writeln!(src, "    cur ^= 1;");
    let _ = writeln!(src, "    }}");
}

/// Reads a thread's `g` groups of `v` consecutive rows (of a tile of `rows`) from shared
/// buffer `smem` into the array `arr` (one `float4` load per group when `v` is 4).
fn fragment(src: &mut String, arr: &str, smem: &str, v: u32, g: u32, rows: u32, th: &str) {
    for gi in 0..g {
        let off = format!("{} + {th} * {v}", gi * (rows / g));
        if v == 4 {
            let _ = writeln!(
                src,
                "        {{ const float4 t4 = *reinterpret_cast<const float4 *>(&{smem}[cur][q][{off}]); {arr}[{b0}] = t4.x; {arr}[{b1}] = t4.y; {arr}[{b2}] = t4.z; {arr}[{b3}] = t4.w; }}",
                b0 = gi * 4,
                b1 = gi * 4 + 1,
                b2 = gi * 4 + 2,
                b3 = gi * 4 + 3
            );
        } else {
            for qq in 0..v {
                let _ = writeln!(
                    src,
                    "        {arr}[{}] = {smem}[cur][q][{off} + {qq}];",
                    gi * v + qq
                );
            }
        }
    }
}

/// The block's coordinates: thread id, its `(M, N)` tile origin `m0, n0`, its split and batch
/// indices, and its slice `kbeg..kend` of the reduction (shared by the SIMT and tensor-core
/// kernels).
pub(crate) fn block_coords(
    src: &mut String,
    k: &KernelSource<'_>,
    c: &Contraction,
    (bm, bn, bk): (u32, u32, u32),
    split_k: u32,
) {
    let idx = k.idx;
    let gx = c.m.div_ceil(bm as u64);
    let gy = c.n.div_ceil(bn as u64);
    let s = split_k as u64;
    let kch = c.k.div_ceil(s).div_ceil(bk as u64) * bk as u64;
    let _ = writeln!(src, "    const unsigned tid = threadIdx.x;");
    let _ = writeln!(src, "    {idx} bid = blockIdx.x;");
    let _ = writeln!(
        src,
        "    const {idx} m0 = (bid % {gx}) * {bm}; bid /= {gx};"
    );
    let _ = writeln!(
        src,
        "    const {idx} n0 = (bid % {gy}) * {bn}; bid /= {gy};"
    );
    if s > 1 {
        let _ = writeln!(src, "    const {idx} split = bid % {s}; bid /= {s};");
    } else {
        let _ = writeln!(src, "    const {idx} split = 0;");
    }
    k.unflatten("    ", "bid", &c.z_dims, src);
    if c.z_dims.is_empty() {
        let _ = writeln!(src, "    (void)bid;");
    }
    let _ = writeln!(src, "    const {idx} kbeg = split * {kch};");
    let _ = writeln!(
        src,
        "    const {idx} kend = kbeg + {kch} < {K} ? kbeg + {kch} : {K};",
        K = c.k
    );
}
