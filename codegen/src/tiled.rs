//! The tiled contraction kernel: a stage computed as a batched matrix product
//! ([`Contraction`]) with a [`Tile`].
//!
//! Each thread block owns a `bm × bn` tile of `(M, N)` for one `Z` value (and one slice of the
//! reduction when it is split). The reduction advances `bk` at a time: every thread loads its
//! share of the `A` and `B` slices from global memory (index arithmetic of the views, guards
//! applied, out-of-range elements read as 0) into registers, stores them into one of two shared
//! buffers, and multiplies the other buffer's slices into a `tm × tn` register tile
//! (vectorized `float4` shared loads when the thread tile allows). The loads of the next slice are
//! issued before the products of the current one, so global latency overlaps arithmetic. The row
//! (column) decomposition of each thread's load slots is computed once, before the loop; only
//! the reduction index is decomposed per slice. A split reduction writes partial tiles that
//! [`emit_split_sum`]'s kernel adds in a fixed order (deterministic).

use crate::contraction::Contraction;
use crate::cuda::{Access, KernelSource};
use crate::schedule::Tile;
use std::fmt::Write as _;

/// Vector width and group count of a thread's rows (or columns) in a tile of `b` with `t` per
/// thread: rows `g·(b/groups) + thread·width + q`.
fn spread(t: u32) -> (u32, u32) {
    let w = t.min(4);
    (w, t / w)
}

/// Emits one operand's load slots: their hoisted row decomposition (`pre`), the loads of the
/// slice starting at `kb` into `r<side>[j]` (`load`) and the stores into shared buffer `buf`
/// (`store`).
struct Side<'a> {
    /// `a` or `b`.
    tag: &'a str,
    /// The operand.
    acc: &'a Access,
    /// Result positions of this side's exclusive dims.
    dims: &'a [usize],
    /// Rows of the tile (`bm` or `bn`).
    rows: u32,
    /// Extent of this side (`M` or `N`).
    extent: u64,
    /// Whether consecutive threads load consecutive rows (else consecutive reduction indices).
    row_fast: bool,
    /// Which guards this side applies.
    guards: &'a [bool],
    /// Shared array name.
    smem: &'a str,
    /// Block offset variable (`m0` / `n0`).
    base: &'a str,
}

impl Side<'_> {
    fn slots(&self, t: &Tile) -> u32 {
        (self.rows * t.bk).div_ceil(t.threads())
    }

    fn exact(&self, t: &Tile) -> bool {
        self.slots(t) * t.threads() == self.rows * t.bk
    }

    fn pre(&self, src: &mut String, k: &KernelSource<'_>, t: &Tile) {
        let (x, idx, n) = (self.tag, k.idx, self.slots(t));
        let threads = t.threads();
        let (rows, bk) = (self.rows, t.bk);
        let _ = writeln!(src, "    unsigned {x}row[{n}], {x}kl[{n}];");
        let _ = writeln!(src, "    bool {x}ok[{n}];");
        for &p in self.dims {
            let _ = writeln!(src, "    {idx} {x}o{p}[{n}];");
        }
        let _ = writeln!(src, "    #pragma unroll");
        let _ = writeln!(src, "    for (int j = 0; j < {n}; ++j) {{");
        let _ = writeln!(src, "        const unsigned e = tid + {threads}u * j;");
        if self.row_fast {
            let _ = writeln!(
                src,
                "        {x}row[j] = e % {rows}u; {x}kl[j] = e / {rows}u;"
            );
        } else {
            let _ = writeln!(src, "        {x}row[j] = e / {bk}u; {x}kl[j] = e % {bk}u;");
        }
        let _ = writeln!(src, "        {idx} row = {} + {x}row[j];", self.base);
        let _ = writeln!(
            src,
            "        {x}ok[j] = e < {}u && row < {};",
            rows * bk,
            self.extent
        );
        let _ = writeln!(src, "        if (!{x}ok[j]) row = 0;");
        for (q, &p) in self.dims.iter().enumerate().rev() {
            if q == 0 {
                let _ = writeln!(src, "        {x}o{p}[j] = row;");
            } else {
                let e = k.shape[p];
                let _ = writeln!(src, "        {x}o{p}[j] = row % {e}; row /= {e};");
            }
        }
        if self.dims.is_empty() {
            let _ = writeln!(src, "        (void)row;");
        }
        let _ = writeln!(src, "    }}");
    }

    fn load(&self, src: &mut String, k: &KernelSource<'_>, t: &Tile, kb: &str) {
        let (x, idx, n) = (self.tag, k.idx, self.slots(t));
        let ind = "        ";
        let _ = writeln!(src, "    #pragma unroll");
        let _ = writeln!(src, "    for (int j = 0; j < {n}; ++j) {{");
        let _ = writeln!(src, "{ind}float v = 0.0f;");
        let _ = writeln!(src, "{ind}{idx} kk = {kb} + {x}kl[j];");
        let _ = writeln!(src, "{ind}if ({x}ok[j] && kk < kend) {{");
        let inner = "            ";
        for &p in self.dims {
            let _ = writeln!(src, "{inner}const {idx} o{p} = {x}o{p}[j];");
        }
        k.unflatten_red(inner, "kk", src);
        let cond = k.guard_code(inner, &|g| self.guards[g], src);
        let read = format!("{}[{}]", self.acc.name, self.acc.flat(k.binding));
        match cond {
            Some(c) => {
                let _ = writeln!(src, "{inner}if ({c}) v = {read};");
            }
            None => {
                let _ = writeln!(src, "{inner}v = {read};");
            }
        }
        let _ = writeln!(src, "{ind}}}");
        let _ = writeln!(src, "{ind}(void)kk;");
        let _ = writeln!(src, "{ind}{x}r[j] = v;");
        let _ = writeln!(src, "    }}");
    }

    fn store(&self, src: &mut String, t: &Tile, buf: &str) {
        let (x, n) = (self.tag, self.slots(t));
        let _ = writeln!(src, "    #pragma unroll");
        let _ = writeln!(src, "    for (int j = 0; j < {n}; ++j) {{");
        let store = format!("{}[{buf}][{x}kl[j]][{x}row[j]] = {x}r[j];", self.smem);
        if self.exact(t) {
            let _ = writeln!(src, "        {store}");
        } else {
            let _ = writeln!(
                src,
                "        if (tid + {}u * j < {}u) {store}",
                t.threads(),
                self.rows * t.bk
            );
        }
        let _ = writeln!(src, "    }}");
    }
}

/// Emits the tiled kernel of a stage.
pub(crate) fn emit(src: &mut String, k: &KernelSource<'_>, c: &Contraction, t: &Tile) {
    let idx = k.idx;
    let threads = t.threads();
    let (bm, bn, bk, tm, tn) = (t.bm, t.bn, t.bk, t.tm, t.tn);
    let gx = c.m.div_ceil(bm as u64);
    let gy = c.n.div_ceil(bn as u64);
    let s = t.split_k as u64;
    let kch = c.k.div_ceil(s).div_ceil(bk as u64) * bk as u64;
    let total: u64 = k.shape.iter().product();
    let mut params: Vec<String> = k
        .operands
        .iter()
        .map(|a| format!("const float *__restrict__ {}", a.name))
        .collect();
    params.push("float *__restrict__ out".into());
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
        "extern \"C\" __global__ void __launch_bounds__({threads}) {}({})",
        k.name,
        params.join(", ")
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
    let a = Side {
        tag: "a",
        acc: &k.operands[c.a],
        dims: &c.m_dims,
        rows: bm,
        extent: c.m,
        row_fast: c.a_m_fast,
        guards: &c.guard_a,
        smem: "As",
        base: "m0",
    };
    let b = Side {
        tag: "b",
        acc: &k.operands[c.b],
        dims: &c.n_dims,
        rows: bn,
        extent: c.n,
        row_fast: c.b_n_fast,
        guards: &c.guard_b,
        smem: "Bs",
        base: "n0",
    };
    a.pre(src, k, t);
    b.pre(src, k, t);
    let _ = writeln!(src, "    float ar[{}], br[{}];", a.slots(t), b.slots(t));
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
    let frag = |src: &mut String, arr: &str, smem: &str, v: u32, g: u32, rows: u32, th: &str| {
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
    };
    frag(src, "a", "As", vm, gm, bm, "tmi");
    frag(src, "b", "Bs", vn, gn, bn, "tni");
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
    // The register tile to the result (or to this split's partial result).
    let _ = writeln!(src, "    #pragma unroll");
    let _ = writeln!(src, "    for (int i = 0; i < {tm}; ++i) {{");
    let _ = writeln!(
        src,
        "        {idx} mi = m0 + (i / {vm}) * {} + tmi * {vm} + (i % {vm});",
        bm / gm
    );
    let _ = writeln!(src, "        if (mi >= {}) continue;", c.m);
    k.unflatten("        ", "mi", &c.m_dims, src);
    let _ = writeln!(src, "        (void)mi;");
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(src, "        for (int j = 0; j < {tn}; ++j) {{");
    let _ = writeln!(
        src,
        "            {idx} nj = n0 + (j / {vn}) * {} + tni * {vn} + (j % {vn});",
        bn / gn
    );
    let _ = writeln!(src, "            if (nj >= {}) continue;", c.n);
    k.unflatten("            ", "nj", &c.n_dims, src);
    let _ = writeln!(src, "            (void)nj;");
    let _ = writeln!(
        src,
        "            out[split * {total} + {}] = acc[i][j];",
        k.out_flat()
    );
    let _ = writeln!(src, "        }}");
    let _ = writeln!(src, "    }}");
    let _ = writeln!(src, "}}");
}

/// Emits the kernel adding `splits` partial results of `total` elements, in order.
pub(crate) fn emit_split_sum(src: &mut String, name: &str, total: u64, splits: u32, idx: &str) {
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
    let _ = writeln!(src, "        out[t] = s;");
    let _ = writeln!(src, "    }}");
    let _ = writeln!(src, "}}");
}
