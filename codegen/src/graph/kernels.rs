//! The CUDA C of a graph kernel's non-linear nodes: one simple grid-stride kernel per node
//! (one thread per output element, or per softmax row), reading each input through the
//! element-wise functions fused into its load (a prologue) and storing through those fused
//! into its store (an epilogue).

use kas_graph::{BlendKind, FoldKind, Unary};
use std::fmt::Write as _;

/// The C name of an element-wise function (defined in [`FUNCTIONS`]).
pub fn c_name(u: Unary) -> String {
    format!("kas_g_{}", u.name())
}

/// Device functions for every [`Unary`] (f32 math, as the interpreter's definitions say).
pub const FUNCTIONS: &str = r#"__device__ __forceinline__ float kas_g_relu(float x) { return fmaxf(x, 0.0f); }
__device__ __forceinline__ float kas_g_gelu(float x) { return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x))); }
__device__ __forceinline__ float kas_g_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
__device__ __forceinline__ float kas_g_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ float kas_g_abs(float x) { return fabsf(x); }
__device__ __forceinline__ float kas_g_exp(float x) { return expf(x); }
__device__ __forceinline__ float kas_g_neg(float x) { return -x; }
__device__ __forceinline__ float kas_g_sin(float x) { return sinf(1.5707963267948966f * x); }
__device__ __forceinline__ float kas_g_sqrt(float x) { return sqrtf(fabsf(x)); }
__device__ __forceinline__ float kas_g_sqr(float x) { return x * x; }
"#;

/// `chain` (applied first to last) around the C value `v`.
pub fn apply(chain: &[Unary], v: &str) -> String {
    chain
        .iter()
        .fold(v.to_string(), |acc, &u| format!("{}({acc})", c_name(u)))
}

/// A C function `float name(float)` applying `chain`.
pub fn function(name: &str, chain: &[Unary]) -> String {
    format!(
        "__device__ __forceinline__ float {name}(float x) {{ return {}; }}\n",
        apply(chain, "x")
    )
}

/// An operand of a simple kernel: its parameter name and the functions fused into its load.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    /// Parameter name.
    pub name: &'a str,
    /// Element-wise functions applied to each element read.
    pub chain: &'a [Unary],
}

impl Input<'_> {
    fn read(&self, offset: &str) -> String {
        apply(self.chain, &format!("{}[{offset}]", self.name))
    }
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[u64]) -> Vec<u64> {
    let mut s = vec![1u64; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * shape[a + 1];
    }
    s
}

/// The kernel's signature (`inputs`, then `out`) and opening brace.
fn signature(src: &mut String, name: &str, inputs: &[Input<'_>]) {
    let mut params: Vec<String> = inputs
        .iter()
        .map(|i| format!("const float *__restrict__ {}", i.name))
        .collect();
    params.push("float *__restrict__ out".into());
    let _ = writeln!(
        src,
        "extern \"C\" __global__ void {name}({})\n{{",
        params.join(", ")
    );
}

/// The kernel's signature and grid-stride loop over `total` iterations (variable `t`).
fn open(src: &mut String, name: &str, inputs: &[Input<'_>], total: u64) {
    signature(src, name, inputs);
    let _ = writeln!(
        src,
        "    for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < {total}LL; t += (long long)gridDim.x * blockDim.x) {{"
    );
}

/// The kernel's signature, the lines `prelude` (shared arrays, per-thread constants), and a
/// loop of the blocks over `total` work items (variable `t`, one item per block at a time).
fn open_blocks(src: &mut String, name: &str, inputs: &[Input<'_>], total: u64, prelude: &[String]) {
    signature(src, name, inputs);
    for line in prelude {
        let _ = writeln!(src, "    {line}");
    }
    let _ = writeln!(
        src,
        "    for (long long t = blockIdx.x; t < {total}LL; t += gridDim.x) {{"
    );
}

fn close(src: &mut String) {
    let _ = writeln!(src, "    }}\n}}");
}

/// Declares `const long long <var> = …;` offsets from the linear index `lin` (consumed)
/// over `extents` (last fastest), each axis adding `index · stride` to each target.
fn decompose(
    src: &mut String,
    indent: &str,
    lin: &str,
    extents: &[u64],
    targets: &[(&str, &[u64])],
) {
    for (name, _) in targets {
        let _ = writeln!(src, "{indent}long long {name} = 0;");
    }
    let _ = writeln!(src, "{indent}long long {lin}_q = {lin};");
    for a in (0..extents.len()).rev() {
        let n = extents[a];
        if targets.iter().all(|(_, st)| st[a] == 0) {
            let _ = writeln!(src, "{indent}{lin}_q /= {n}LL;");
            continue;
        }
        let mut line = format!("{indent}{{ const long long i = {lin}_q % {n}LL; {lin}_q /= {n}LL;");
        for (name, st) in targets {
            if st[a] != 0 {
                let _ = write!(line, " {name} += i * {}LL;", st[a]);
            }
        }
        line.push_str(" }");
        let _ = writeln!(src, "{line}");
    }
}

/// `out[t] = epilogue(f(x[t]))`: an element-wise kernel over `total` elements.
pub fn elementwise(src: &mut String, name: &str, x: &Input<'_>, total: u64, epi: &[Unary]) {
    open(src, name, std::slice::from_ref(x), total);
    let _ = writeln!(src, "        out[t] = {};", apply(epi, &x.read("t")));
    close(src);
}

/// Folds over at least this many elements run one block per result
/// ([`fold_by_blocks`]); shorter ones one thread per result.
pub const BLOCK_FOLD_MIN: u64 = 512;

/// Whether a fold of `shape` over `axes` runs one block per result: the reduction is long
/// (a global pooling, say: one thread reading `H·W` elements alone would leave the GPU idle).
pub fn fold_by_blocks(shape: &[u64], axes: &[usize]) -> bool {
    axes.iter().map(|&a| shape[a]).product::<u64>() >= BLOCK_FOLD_MIN
}

/// Mean or maximum of `x` (shape `shape`) over `axes`: one thread per result, or, when
/// [`fold_by_blocks`], one block of `BLOCK` threads per result (a grid-stride loop over the
/// results by block), each thread folding a strided share, then a tree in shared memory.
pub fn fold(
    src: &mut String,
    name: &str,
    x: &Input<'_>,
    shape: &[u64],
    axes: &[usize],
    kind: FoldKind,
    epi: &[Unary],
) {
    let blocks = fold_by_blocks(shape, axes);
    let st = strides(shape);
    let kept: Vec<usize> = (0..shape.len()).filter(|a| !axes.contains(a)).collect();
    let total: u64 = kept.iter().map(|&a| shape[a]).product();
    let folded: u64 = axes.iter().map(|&a| shape[a]).product();
    if blocks {
        let red = format!("__shared__ float red[{}];", crate::cuda::BLOCK);
        open_blocks(src, name, std::slice::from_ref(x), total, &[red]);
    } else {
        open(src, name, std::slice::from_ref(x), total);
    }
    let kext: Vec<u64> = kept.iter().map(|&a| shape[a]).collect();
    let kst: Vec<u64> = kept.iter().map(|&a| st[a]).collect();
    decompose(src, "        ", "t", &kext, &[("base", &kst)]);
    let (init, combine) = fold_ops(kind);
    let _ = writeln!(src, "        float acc = {init};");
    let (from, step) = if blocks {
        ("threadIdx.x", "blockDim.x")
    } else {
        ("0", "1")
    };
    let _ = writeln!(
        src,
        "        for (long long r = {from}; r < {folded}LL; r += {step}) {{"
    );
    let fext: Vec<u64> = axes.iter().map(|&a| shape[a]).collect();
    let fst: Vec<u64> = axes.iter().map(|&a| st[a]).collect();
    decompose(src, "            ", "r", &fext, &[("off", &fst)]);
    let v = x.read("base + off");
    let _ = writeln!(src, "            acc = {};", combine("acc", &v));
    let _ = writeln!(src, "        }}");
    let result = if blocks { "red[0]" } else { "acc" };
    let value = match kind {
        FoldKind::Avg => format!("{result} / {folded}.0f"),
        FoldKind::Max => result.into(),
    };
    if blocks {
        let _ = writeln!(src, "        red[threadIdx.x] = acc;");
        let _ = writeln!(src, "        __syncthreads();");
        let _ = writeln!(
            src,
            "        for (unsigned h = blockDim.x / 2; h > 0; h /= 2) {{"
        );
        let _ = writeln!(
            src,
            "            if (threadIdx.x < h) red[threadIdx.x] = {};",
            combine("red[threadIdx.x]", "red[threadIdx.x + h]")
        );
        let _ = writeln!(src, "            __syncthreads();");
        let _ = writeln!(src, "        }}");
        let _ = writeln!(
            src,
            "        if (threadIdx.x == 0) out[t] = {};",
            apply(epi, &value)
        );
        // Nobody overwrites red[0] for the next result before thread 0 has read it.
        let _ = writeln!(src, "        __syncthreads();");
    } else {
        let _ = writeln!(src, "        out[t] = {};", apply(epi, &value));
    }
    close(src);
}

/// A fold's initial value and how it combines two values.
fn fold_ops(kind: FoldKind) -> (&'static str, fn(&str, &str) -> String) {
    match kind {
        FoldKind::Avg => ("0.0f", |a, b| format!("{a} + {b}")),
        FoldKind::Max => ("__uint_as_float(0xff800000u)", |a, b| {
            format!("fmaxf({a}, {b})")
        }),
    }
}

/// Opens a kernel with one thread per row of `x` (shape `shape`) along `axis`: in its body
/// `base` is the row's first element and, with `query`, `q` the row's index along that axis.
/// Returns the row's length and stride.
fn open_rows(
    src: &mut String,
    name: &str,
    x: &Input<'_>,
    shape: &[u64],
    axis: usize,
    query: Option<usize>,
) -> (u64, u64) {
    let st = strides(shape);
    let outer: Vec<usize> = (0..shape.len()).filter(|&a| a != axis).collect();
    let total: u64 = outer.iter().map(|&a| shape[a]).product();
    open(src, name, std::slice::from_ref(x), total);
    let oext: Vec<u64> = outer.iter().map(|&a| shape[a]).collect();
    let ost: Vec<u64> = outer.iter().map(|&a| st[a]).collect();
    let qst: Vec<u64> = outer.iter().map(|&a| u64::from(Some(a) == query)).collect();
    let mut parts: Vec<(&str, &[u64])> = vec![("base", &ost)];
    if query.is_some() {
        parts.push(("q", &qst));
    }
    decompose(src, "        ", "t", &oext, &parts);
    (shape[axis], st[axis])
}

/// Softmax of `x` (shape `shape`) along `axis`: one thread per row, three passes over it.
pub fn softmax(
    src: &mut String,
    name: &str,
    x: &Input<'_>,
    shape: &[u64],
    axis: usize,
    epi: &[Unary],
) {
    softmax_rows(src, name, x, shape, axis, None, epi);
}

/// Causal softmax of `x` (shape `shape`) along `key`, over the entries whose key index is at
/// most the `query` index (the others are written 0): one thread per row.
#[allow(clippy::too_many_arguments)]
pub fn causal_softmax(
    src: &mut String,
    name: &str,
    x: &Input<'_>,
    shape: &[u64],
    query: usize,
    key: usize,
    epi: &[Unary],
) {
    softmax_rows(src, name, x, shape, key, Some(query), epi);
}

/// Softmax along `axis`, one thread per row: of the whole row, or with `query` of its entries
/// up to the row's `query` index (the others written 0).
#[allow(clippy::too_many_arguments)]
fn softmax_rows(
    src: &mut String,
    name: &str,
    x: &Input<'_>,
    shape: &[u64],
    axis: usize,
    query: Option<usize>,
    epi: &[Unary],
) {
    let (len, s) = open_rows(src, name, x, shape, axis, query);
    let at = |j: &str| x.read(&format!("base + {j} * {s}LL"));
    let within = match query {
        None => format!("j < {len}LL"),
        Some(_) => "j <= q".to_string(),
    };
    let _ = writeln!(src, "        float m = __uint_as_float(0xff800000u);");
    let _ = writeln!(
        src,
        "        for (long long j = 0; {within}; ++j) m = fmaxf(m, {});",
        at("j")
    );
    let _ = writeln!(src, "        float sum = 0.0f;");
    let _ = writeln!(
        src,
        "        for (long long j = 0; {within}; ++j) sum += expf({} - m);",
        at("j")
    );
    let value = match query {
        None => format!("expf({} - m) / sum", at("j")),
        Some(_) => format!("(j <= q ? expf({} - m) / sum : 0.0f)", at("j")),
    };
    let _ = writeln!(
        src,
        "        for (long long j = 0; j < {len}LL; ++j) out[base + j * {s}LL] = {};",
        apply(epi, &value)
    );
    close(src);
}

/// The running mean of `x` (shape `shape`) along `axis`: one thread per row.
pub fn prefix_mean(
    src: &mut String,
    name: &str,
    x: &Input<'_>,
    shape: &[u64],
    axis: usize,
    epi: &[Unary],
) {
    let (len, s) = open_rows(src, name, x, shape, axis, None);
    let _ = writeln!(src, "        float sum = 0.0f;");
    let _ = writeln!(src, "        for (long long j = 0; j < {len}LL; ++j) {{");
    let _ = writeln!(
        src,
        "            sum += {};",
        x.read(&format!("base + j * {s}LL"))
    );
    let _ = writeln!(
        src,
        "            out[base + j * {s}LL] = {};",
        apply(epi, "sum / (float)(j + 1)")
    );
    let _ = writeln!(src, "        }}");
    close(src);
}

/// `out[o] = f(lhs[o restricted to map], rhs[o])` over the rhs's shape.
#[allow(clippy::too_many_arguments)]
pub fn blend(
    src: &mut String,
    name: &str,
    l: &Input<'_>,
    r: &Input<'_>,
    lshape: &[u64],
    rshape: &[u64],
    map: &[usize],
    kind: BlendKind,
    epi: &[Unary],
) {
    let total: u64 = rshape.iter().product();
    let lst = strides(lshape);
    let mut via = vec![0u64; rshape.len()];
    for (i, &m) in map.iter().enumerate() {
        via[m] = lst[i];
    }
    open(src, name, &[*l, *r], total);
    decompose(src, "        ", "t", rshape, &[("lo", &via)]);
    let (a, b) = (l.read("lo"), r.read("t"));
    let v = match kind {
        BlendKind::Add => format!("{a} + {b}"),
        BlendKind::Sub => format!("{a} - {b}"),
        BlendKind::Mul => format!("{a} * {b}"),
        BlendKind::Max => format!("fmaxf({a}, {b})"),
        BlendKind::Min => format!("fminf({a}, {b})"),
    };
    let _ = writeln!(src, "        out[t] = {};", apply(epi, &format!("({v})")));
    close(src);
}

/// The shapes and axes of a matrix-product node.
pub struct BmmShape<'a> {
    /// Shape of the lhs.
    pub l: &'a [u64],
    /// Shape of the rhs.
    pub r: &'a [u64],
    /// Leading batch axes.
    pub batch: usize,
    /// Contracted lhs axes.
    pub lc: &'a [usize],
    /// Contracted rhs axes, paired with `lc`.
    pub rc: &'a [usize],
    /// Divide by `√K`.
    pub scaled: bool,
}

/// Products at least this large in each of `M`, `N` (the free sizes of the two sides) and
/// `K` (the contraction) run tiled ([`bmm_tiles`]); smaller ones one thread per element.
pub const TILED_BMM_MIN: (u64, u64, u64) = (32, 32, 64);

/// Side of a tiled product's square tiles: `TILE × TILE` threads (one block of `BLOCK`).
const TILE: u64 = 16;
const _: () = assert!(crate::cuda::BLOCK as u64 == TILE * TILE);

impl BmmShape<'_> {
    /// The lhs's free axes (neither batch nor contracted), in order.
    fn lfree(&self) -> Vec<usize> {
        (self.batch..self.l.len())
            .filter(|a| !self.lc.contains(a))
            .collect()
    }

    /// The rhs's free axes, in order.
    fn rfree(&self) -> Vec<usize> {
        (self.batch..self.r.len())
            .filter(|a| !self.rc.contains(a))
            .collect()
    }
}

/// The batch, `M`, `N` and `K` of a product.
fn bmm_sizes(s: &BmmShape<'_>) -> (u64, u64, u64, u64) {
    let b: u64 = s.l[..s.batch].iter().product();
    let m: u64 = s.lfree().iter().map(|&a| s.l[a]).product();
    let n: u64 = s.rfree().iter().map(|&a| s.r[a]).product();
    let k: u64 = s.lc.iter().map(|&a| s.l[a]).product();
    (b, m, n, k)
}

/// The number of tiles (blocks' work items) of a tiled product, or `None` when it runs one
/// thread per element.
pub fn bmm_tiles(s: &BmmShape<'_>) -> Option<u64> {
    let (b, m, n, k) = bmm_sizes(s);
    let (mm, mn, mk) = TILED_BMM_MIN;
    (m >= mm && n >= mn && k >= mk).then(|| b * m.div_ceil(TILE) * n.div_ceil(TILE))
}

/// The matrix product of a [`kas_graph::NodeOp::Bmm`]: tiled when [`bmm_tiles`] says so (one
/// block of `TILE × TILE` threads per output tile, the contraction in steps of `TILE` through
/// shared memory, zero-padded at the edges), else one thread per output element with the
/// contraction as a loop.
pub fn bmm(
    src: &mut String,
    name: &str,
    l: &Input<'_>,
    r: &Input<'_>,
    s: &BmmShape<'_>,
    epi: &[Unary],
) {
    match bmm_tiles(s) {
        Some(tiles) => bmm_tiled(src, name, l, r, s, epi, tiles),
        None => bmm_threads(src, name, l, r, s, epi),
    }
}

/// [`bmm`] tiled: output tile `t = blockIdx.x, blockIdx.x + gridDim.x, …` of `tiles`.
fn bmm_tiled(
    src: &mut String,
    name: &str,
    l: &Input<'_>,
    r: &Input<'_>,
    s: &BmmShape<'_>,
    epi: &[Unary],
    tiles: u64,
) {
    let (ls, rs) = (strides(s.l), strides(s.r));
    let (_, m, n, k) = bmm_sizes(s);
    let (lfree, rfree) = (s.lfree(), s.rfree());
    let ext = |shape: &[u64], axes: &[usize]| axes.iter().map(|&a| shape[a]).collect::<Vec<_>>();
    let pick = |st: &[u64], axes: &[usize]| axes.iter().map(|&a| st[a]).collect::<Vec<_>>();
    let batch: Vec<usize> = (0..s.batch).collect();
    let (mt, nt) = (m.div_ceil(TILE), n.div_ceil(TILE));
    let prelude = [
        format!("__shared__ float ta[{TILE}][{TILE}];"),
        format!("__shared__ float tb[{TILE}][{TILE}];"),
        format!("const long long ty = threadIdx.x / {TILE}, tx = threadIdx.x % {TILE};"),
    ];
    open_blocks(src, name, &[*l, *r], tiles, &prelude);
    let _ = writeln!(
        src,
        "        const long long bi = t / {}LL, m0 = (t / {nt}LL) % {mt}LL * {TILE}, n0 = t % {nt}LL * {TILE};",
        mt * nt
    );
    decompose(
        src,
        "        ",
        "bi",
        &ext(s.l, &batch),
        &[("lb", &pick(&ls, &batch)), ("rb", &pick(&rs, &batch))],
    );
    let _ = writeln!(src, "        float acc = 0.0f;");
    let _ = writeln!(
        src,
        "        for (long long k0 = 0; k0 < {k}LL; k0 += {TILE}) {{"
    );
    // This thread's element of each tile: A[m0 + ty][k0 + tx], B[k0 + ty][n0 + tx].
    let a = TileLoad {
        tile: "ta",
        rows: (
            "am",
            "m0 + ty",
            m,
            ext(s.l, &lfree),
            pick(&ls, &lfree),
            "lm",
        ),
        cols: ("ak", "k0 + tx", k, ext(s.l, s.lc), pick(&ls, s.lc), "lk"),
        value: l.read("lb + lm + lk"),
    };
    let b = TileLoad {
        tile: "tb",
        rows: ("bk", "k0 + ty", k, ext(s.r, s.rc), pick(&rs, s.rc), "rk"),
        cols: (
            "bn",
            "n0 + tx",
            n,
            ext(s.r, &rfree),
            pick(&rs, &rfree),
            "rn",
        ),
        value: r.read("rb + rk + rn"),
    };
    a.write(src);
    b.write(src);
    let _ = writeln!(src, "            __syncthreads();");
    let _ = writeln!(
        src,
        "            for (int q = 0; q < {TILE}; ++q) acc += ta[ty][q] * tb[q][tx];"
    );
    let _ = writeln!(src, "            __syncthreads();");
    let _ = writeln!(src, "        }}");
    let value = if s.scaled {
        format!("acc * {:.9e}f", 1.0 / (k as f64).sqrt())
    } else {
        "acc".into()
    };
    let _ = writeln!(src, "        const long long om = m0 + ty, on = n0 + tx;");
    let _ = writeln!(
        src,
        "        if (om < {m}LL && on < {n}LL) out[(bi * {m}LL + om) * {n}LL + on] = {};",
        apply(epi, &value)
    );
    close(src);
}

/// One thread's load of a tiled product's shared-memory tile: its row and column (each a
/// name, its expression, its bound, and the extents and strides that turn it into the offset
/// named last), and the value read at the summed offsets (zero outside the bounds).
struct TileLoad {
    tile: &'static str,
    rows: (
        &'static str,
        &'static str,
        u64,
        Vec<u64>,
        Vec<u64>,
        &'static str,
    ),
    cols: (
        &'static str,
        &'static str,
        u64,
        Vec<u64>,
        Vec<u64>,
        &'static str,
    ),
    value: String,
}

impl TileLoad {
    fn write(&self, src: &mut String) {
        let (r, c) = (&self.rows, &self.cols);
        let ind = "                    ";
        let _ = writeln!(src, "            {{");
        let _ = writeln!(
            src,
            "                const long long {} = {}, {} = {};",
            r.0, r.1, c.0, c.1
        );
        let _ = writeln!(src, "                float v = 0.0f;");
        let _ = writeln!(
            src,
            "                if ({} < {}LL && {} < {}LL) {{",
            r.0, r.2, c.0, c.2
        );
        decompose(src, ind, r.0, &r.3, &[(r.5, &r.4)]);
        decompose(src, ind, c.0, &c.3, &[(c.5, &c.4)]);
        let _ = writeln!(src, "{ind}v = {};", self.value);
        let _ = writeln!(src, "                }}");
        let _ = writeln!(src, "                {}[ty][tx] = v;", self.tile);
        let _ = writeln!(src, "            }}");
    }
}

/// [`bmm`] by threads: one per output element.
fn bmm_threads(
    src: &mut String,
    name: &str,
    l: &Input<'_>,
    r: &Input<'_>,
    s: &BmmShape<'_>,
    epi: &[Unary],
) {
    let (ls, rs) = (strides(s.l), strides(s.r));
    let (lfree, rfree) = (s.lfree(), s.rfree());
    // Output axes: batch, lhs free, rhs free; each adds to the lhs offset, the rhs offset or both.
    let mut ext = Vec::new();
    let (mut lo, mut ro) = (Vec::new(), Vec::new());
    for a in 0..s.batch {
        ext.push(s.l[a]);
        lo.push(ls[a]);
        ro.push(rs[a]);
    }
    for &a in &lfree {
        ext.push(s.l[a]);
        lo.push(ls[a]);
        ro.push(0);
    }
    for &a in &rfree {
        ext.push(s.r[a]);
        lo.push(0);
        ro.push(rs[a]);
    }
    let total: u64 = ext.iter().product();
    let k: u64 = s.lc.iter().map(|&a| s.l[a]).product();
    let kext: Vec<u64> = s.lc.iter().map(|&a| s.l[a]).collect();
    let klo: Vec<u64> = s.lc.iter().map(|&a| ls[a]).collect();
    let kro: Vec<u64> = s.rc.iter().map(|&a| rs[a]).collect();
    open(src, name, &[*l, *r], total);
    decompose(src, "        ", "t", &ext, &[("lb", &lo), ("rb", &ro)]);
    let _ = writeln!(src, "        float acc = 0.0f;");
    let _ = writeln!(src, "        for (long long q = 0; q < {k}LL; ++q) {{");
    decompose(
        src,
        "            ",
        "q",
        &kext,
        &[("lk", &klo), ("rk", &kro)],
    );
    let _ = writeln!(
        src,
        "            acc += {} * {};",
        l.read("lb + lk"),
        r.read("rb + rk")
    );
    let _ = writeln!(src, "        }}");
    let value = if s.scaled {
        format!("acc * {:.9e}f", 1.0 / (k as f64).sqrt())
    } else {
        "acc".into()
    };
    let _ = writeln!(src, "        out[t] = {};", apply(epi, &value));
    close(src);
}
