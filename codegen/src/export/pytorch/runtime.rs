//! `<name>_batched.cu` and `.h`: every program of the export with its entry point, the
//! tables that describe them, and the C API that runs a direction at any batch
//! (`<name>_run`) on slices of the batch, with the scratch memory it needs
//! (`<name>_scratch_bytes`). Plain CUDA: no PyTorch, no allocation, no synchronisation.
//!
//! Kernels are launched through `KAS_LAUNCH(kernel, grid, block, shared, stream, args…)`,
//! `kernel<<<…>>>(args…)` unless defined before (a host emulation defines it).

use super::super::{entry_body, entry_params, workspace_layout};
use super::{Plan, ShapeExport};
use crate::cuda::CudaProgram;
use crate::precision::Precision;
use std::fmt::Write as _;

fn c_list(v: &[u64], len: usize) -> String {
    let mut parts: Vec<String> = v.iter().map(u64::to_string).collect();
    parts.resize(len.max(v.len()), "0".into());
    format!("{{{}}}", parts.join(", "))
}

/// The run-time `.cu`, the `.h`, and one `.cu` of kernels per shape (name, contents).
pub(super) fn sources(plan: &Plan<'_>) -> (String, String, Vec<(String, String)>) {
    let base = &plan.base;
    let t_count = plan.op.tensor_count();
    let elem = plan.precision.storage();
    let mut h = String::new();
    let guard = format!("KAS_{}_BATCHED_H", base.to_uppercase());
    let _ = writeln!(
        h,
        "// kas export of `{}` at {} for a run-time batch: C API (see PYTORCH.md).",
        plan.name, plan.precision
    );
    let _ = writeln!(h, "#ifndef {guard}\n#define {guard}\n");
    let _ = writeln!(h, "#include <stddef.h>\n#include <cuda_runtime.h>\n");
    if plan.precision == Precision::Bf16 {
        let _ = writeln!(
            h,
            "#ifndef KAS_BF16_TYPE\n#define KAS_BF16_TYPE\ntypedef unsigned short kas_bf16;\n#endif\n"
        );
    }
    let _ = writeln!(h, "#ifdef __cplusplus\nextern \"C\" {{\n#endif\n");
    let _ = writeln!(
        h,
        "/* Number of exported layer shapes (0 … n-1), and the name of each. */\n\
         int {base}_shape_count(void);\nconst char *{base}_shape_name(int shape);\n\
         /* Tensors of the operator: the input and its weights. */\nint {base}_tensor_count(void);\n\
         /* Shape at batch 1 of forward tensor `tensor` (0 = input; {t_count} = the output): \
         writes the extents to dims (up to 8) and returns the rank, or -1. */\n\
         int {base}_tensor_shape(int shape, int tensor, long long *dims);\n\
         /* Whether direction `direction` has kernels (0, the forward pass, always; 1 + t, the \
         gradient with respect to tensor t, where it has a gradient operator; {base}_run \
         returns cudaErrorNotSupported for the others). */\nint {base}_has_kernels(int direction);\n\
         /* Bytes of scratch memory {base}_run needs for this shape, direction and batch. */\n\
         size_t {base}_scratch_bytes(int shape, int direction, long long batch);\n\
         /* Direction 0: out = op(tensors); direction 1 + t: out = the gradient of <upstream, \
         op(tensors)> with respect to tensor t. `tensors` holds the input and the weights \
         (device pointers, dense row-major, {elem}); `upstream` (shaped like the output) is \
         read by the gradients only. Enqueued on `stream`; returns cudaGetLastError() or \
         cudaErrorInvalidValue for bad arguments. */\n\
         cudaError_t {base}_run(int shape, int direction, long long batch, const void *const *tensors, \
         const void *upstream, void *out, void *scratch, cudaStream_t stream);\n"
    );
    let _ = writeln!(h, "#ifdef __cplusplus\n}}\n#endif\n\n#endif");

    let prelude = format!(
        "#include \"{base}_batched.h\"\n#include <stdint.h>\n\n\
         #ifndef KAS_LAUNCH\n#define KAS_LAUNCH(kernel, grid, block, smem, stream, ...) \
         kernel<<<(grid), (block), (smem), (stream)>>>(__VA_ARGS__)\n#endif\n"
    );
    let mut kernels = Vec::new();
    let mut decls = String::new();
    for (si, s) in plan.shapes.iter().enumerate() {
        let mut cu = String::new();
        let _ = writeln!(
            cu,
            "// kas export of `{}` at {}: the kernels of shape `{}` for every batch bucket and \
             direction, and their entry points (called by {base}_batched.cu).",
            plan.name, plan.precision, s.name
        );
        cu.push_str(&prelude);
        for d in &s.directions {
            for (_, entry, p) in &d.variants {
                cu.push_str(&p.source);
                let signature = entry_point(&mut cu, entry, p, t_count);
                let _ = writeln!(decls, "{signature};");
            }
        }
        kernels.push((format!("{base}_s{si}.cu"), cu));
    }
    let mut cu = String::new();
    let _ = writeln!(
        cu,
        "// kas export of `{}` at {}: the run-time batch API of {base}_batched.h over the kernels \
         of {base}_s*.cu.",
        plan.name, plan.precision
    );
    cu.push_str(&prelude);
    if plan.precision == Precision::Bf16 {
        cu.push_str(crate::cuda::BF16_PRIMS);
    }
    let _ = writeln!(cu, "\n// The entry points of {base}_s*.cu.\n{decls}");
    cu.push_str(&helpers(plan));
    tables(&mut cu, plan);
    cu.push_str(&api(plan));
    (cu, h, kernels)
}

/// A variant's entry point: its kernels in order on `stream`, intermediates in `workspace`.
/// Returns its declaration.
fn entry_point(cu: &mut String, entry: &str, p: &CudaProgram, t_count: usize) -> String {
    let params = entry_params(p, t_count);
    let signature = format!("extern \"C\" cudaError_t {entry}({})", params.join(", "));
    let _ = writeln!(cu, "\n{signature}\n{{");
    entry_body(cu, p, |k, args| {
        format!(
            "KAS_LAUNCH({}, {}, {}, {}, stream, {args})",
            k.name, k.grid, k.block, k.shared_bytes
        )
    });
    signature
}

/// The element type, conversions and the small kernels the run-time uses around the
/// programs: copy, zero, accumulate in f32, round, flip axes, spread a strided result.
fn helpers(plan: &Plan<'_>) -> String {
    let base = &plan.base;
    let t_count = plan.op.tensor_count();
    let (elem, load, store) = match plan.precision {
        Precision::Bf16 => ("kas_bf16", "kas_bf16_to_f32(x)", "kas_f32_to_bf16(x)"),
        _ => ("float", "x", "x"),
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n// ---- run-time batch: helpers ----\ntypedef {elem} {base}_elem;\n\
         static __device__ __forceinline__ float {base}_load({base}_elem x) {{ return {load}; }}\n\
         static __device__ __forceinline__ {base}_elem {base}_store(float x) {{ return {store}; }}\n\
         struct {base}_dims {{ long long d[8]; }};\n\
         #define {base}_LOOP(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)\n\
         static __global__ void {base}_copy({base}_elem *dst, const {base}_elem *src, long long n) {{ {base}_LOOP(i, n) dst[i] = src[i]; }}\n\
         static __global__ void {base}_zero({base}_elem *dst, long long n) {{ {base}_LOOP(i, n) dst[i] = {base}_store(0.0f); }}\n\
         static __global__ void {base}_zero_f32(float *dst, long long n) {{ {base}_LOOP(i, n) dst[i] = 0.0f; }}\n\
         static __global__ void {base}_accumulate(float *acc, const {base}_elem *x, long long n) {{ {base}_LOOP(i, n) acc[i] += {base}_load(x[i]); }}\n\
         static __global__ void {base}_round({base}_elem *dst, const float *acc, long long n) {{ {base}_LOOP(i, n) dst[i] = {base}_store(acc[i]); }}\n\
         // dst = src with the axes in `flips` (bit a: axis a) reversed; both dense of `shape`.\n\
         static __global__ void {base}_flip({base}_elem *dst, const {base}_elem *src, int rank, struct {base}_dims shape, unsigned flips, long long n)\n\
         {{\n    {base}_LOOP(i, n) {{\n        long long rest = i, j = 0, stride = 1;\n        for (int a = rank - 1; a >= 0; --a) {{\n            long long x = rest % shape.d[a];\n            rest /= shape.d[a];\n            if ((flips >> a) & 1u) x = shape.d[a] - 1 - x;\n            j += x * stride;\n            stride *= shape.d[a];\n        }}\n        dst[i] = src[j];\n    }}\n}}\n\
         // dst[i0*f0, i1*f1, …] = src[i0, i1, …]: src dense of `shape`, dst dense of shape*factor.\n\
         static __global__ void {base}_spread({base}_elem *dst, const {base}_elem *src, int rank, struct {base}_dims shape, struct {base}_dims factor, long long n)\n\
         {{\n    {base}_LOOP(i, n) {{\n        long long rest = i, j = 0, stride = 1;\n        for (int a = rank - 1; a >= 0; --a) {{\n            long long x = rest % shape.d[a];\n            rest /= shape.d[a];\n            j += x * factor.d[a] * stride;\n            stride *= shape.d[a] * factor.d[a];\n        }}\n        dst[j] = src[i];\n    }}\n}}\n\
         static unsigned {base}_grid(long long n) {{ long long g = (n + 255) / 256; return (unsigned)(g < 1 ? 1 : (g > 4096 ? 4096 : g)); }}\n\
         typedef cudaError_t (*{base}_entry)({});\n",
        {
            let mut p: Vec<String> = (0..t_count)
                .map(|_| format!("const {base}_elem *"))
                .collect();
            p.extend([
                format!("{base}_elem *"),
                "void *".into(),
                "cudaStream_t".into(),
            ]);
            p.join(", ")
        }
    );
    let args: Vec<String> = (0..t_count).map(|i| format!("a[{i}]")).collect();
    let _ = writeln!(
        s,
        "static cudaError_t {base}_call({base}_entry f, const {base}_elem *const *a, {base}_elem *out, void *ws, cudaStream_t stream) {{ return f({}, out, ws, stream); }}",
        args.join(", ")
    );
    s
}

/// The tables: per shape its tensors' shapes and, per direction, its operands, output and
/// variants (largest batch first).
fn tables(cu: &mut String, plan: &Plan<'_>) {
    let base = &plan.base;
    let t = plan.op.tensor_count();
    let nb = plan.buckets.len();
    let _ = writeln!(
        cu,
        "\n// ---- run-time batch: tables ----\n\
         struct {base}_variant {{ long long batch; {base}_entry run; size_t workspace; }};\n\
         struct {base}_direction {{ int available; int sources[{t}]; unsigned flips[{t}]; int ranks[{t}]; long long shapes[{t}][8]; int batched_out; int out_rank; long long out_shape[8]; long long factors[8]; struct {base}_variant variants[{nb}]; }};\n\
         struct {base}_shape_info {{ const char *name; int ranks[{t1}]; long long shapes[{t1}][8]; struct {base}_direction directions[{t1}]; }};\n\
         static const struct {base}_shape_info {base}_shapes[{}] = {{",
        plan.shapes.len(),
        t1 = t + 1
    );
    for s in &plan.shapes {
        shape_entry(cu, s, nb);
    }
    let _ = writeln!(cu, "}};");
}

fn shape_entry(cu: &mut String, s: &ShapeExport, nb: usize) {
    let all: Vec<&Vec<u64>> = s.tensors.iter().chain([&s.output]).collect();
    let ranks: Vec<String> = all.iter().map(|x| x.len().to_string()).collect();
    let shapes: Vec<String> = all.iter().map(|x| c_list(x, 8)).collect();
    let _ = writeln!(
        cu,
        "  {{ {:?}, {{{}}}, {{{}}}, {{",
        s.name,
        ranks.join(", "),
        shapes.join(", ")
    );
    for d in &s.directions {
        let sources: Vec<String> = d.sources.iter().map(|x| x.tensor.to_string()).collect();
        let flips: Vec<String> = d.sources.iter().map(|x| format!("{}u", x.flips)).collect();
        let mut variants: Vec<String> = d
            .variants
            .iter()
            .map(|(n, entry, p)| format!("{{{n}, {entry}, {}}}", workspace_layout(p).1))
            .collect();
        let available = !variants.is_empty();
        variants.resize(nb, "{0, 0, 0}".into());
        let ranks: Vec<String> = (d.operand_shapes.iter())
            .map(|x| x.len().to_string())
            .collect();
        let shapes: Vec<String> = d.operand_shapes.iter().map(|x| c_list(x, 8)).collect();
        let _ = writeln!(
            cu,
            "    {{ {}, {{{}}}, {{{}}}, {{{}}}, {{{}}}, {}, {}, {}, {}, {{{}}} }},",
            available as u8,
            sources.join(", "),
            flips.join(", "),
            ranks.join(", "),
            shapes.join(", "),
            d.batched_out as u8,
            d.out_shape.len(),
            c_list(&d.out_shape, 8),
            c_list(&d.factors, 8),
            variants.join(", ")
        );
    }
    let _ = writeln!(cu, "  }} }},");
}

/// The C API over the tables.
fn api(plan: &Plan<'_>) -> String {
    let base = &plan.base;
    let t = plan.op.tensor_count();
    let ns = plan.shapes.len();
    let nb = plan.buckets.len();
    format!(
        r#"
// ---- run-time batch: API ----
extern "C" int {base}_shape_count(void) {{ return {ns}; }}
extern "C" const char *{base}_shape_name(int shape) {{ return shape >= 0 && shape < {ns} ? {base}_shapes[shape].name : 0; }}
extern "C" int {base}_tensor_count(void) {{ return {t}; }}
extern "C" int {base}_has_kernels(int direction) {{ return direction >= 0 && direction <= {t} && {base}_shapes[0].directions[direction].available; }}
extern "C" int {base}_tensor_shape(int shape, int tensor, long long *dims)
{{
    if (shape < 0 || shape >= {ns} || tensor < 0 || tensor > {t}) return -1;
    const struct {base}_shape_info *s = &{base}_shapes[shape];
    for (int a = 0; a < s->ranks[tensor]; ++a) dims[a] = s->shapes[tensor][a];
    return s->ranks[tensor];
}}

static long long {base}_count(const long long *shape, int rank) {{ long long n = 1; for (int a = 0; a < rank; ++a) n *= shape[a]; return n; }}
static size_t {base}_align(size_t x) {{ return (x + 255) / 256 * 256; }}

// Where each piece of scratch memory lies (byte offsets; every piece 256-aligned).
struct {base}_layout {{ size_t ws, flip[{t}], chunk[{t}], out_tmp, acc, total; long long chunk_batch; }};

static void {base}_plan(const struct {base}_direction *d, long long n, struct {base}_layout *l)
{{
    size_t at = 0, ws = 0;
    long long most = 1;
    for (int v = 0; v < {nb}; ++v) {{
        const struct {base}_variant *x = &d->variants[v];
        if (x->run && x->batch <= n) {{
            if (x->workspace > ws) ws = x->workspace;
            if (x->batch > most) most = x->batch;
        }}
    }}
    l->chunk_batch = most;
    l->ws = at; at += {base}_align(ws);
    for (int i = 0; i < {t}; ++i) {{
        long long per = {base}_count(d->shapes[i], d->ranks[i]);
        int batched = d->sources[i] <= 0;
        l->flip[i] = at;
        if (d->flips[i]) at += {base}_align((size_t)((batched ? n : 1) * per) * sizeof({base}_elem));
        l->chunk[i] = at;
        if (batched) at += {base}_align((size_t)(most * per) * sizeof({base}_elem));
    }}
    long long out_per = {base}_count(d->out_shape, d->out_rank);
    l->out_tmp = at; at += {base}_align((size_t)((d->batched_out ? most : 1) * out_per) * sizeof({base}_elem));
    l->acc = at;
    if (!d->batched_out) at += {base}_align((size_t)out_per * sizeof(float));
    l->total = at;
}}

extern "C" size_t {base}_scratch_bytes(int shape, int direction, long long batch)
{{
    if (shape < 0 || shape >= {ns} || direction < 0 || direction > {t} || batch < 1) return 0;
    struct {base}_layout l;
    {base}_plan(&{base}_shapes[shape].directions[direction], batch, &l);
    return l.total;
}}

static int {base}_aligned(const void *p) {{ return ((uintptr_t)p & 15u) == 0; }}

extern "C" cudaError_t {base}_run(int shape, int direction, long long n, const void *const *tensors, const void *upstream, void *out, void *scratch, cudaStream_t stream)
{{
    if (shape < 0 || shape >= {ns} || direction < 0 || direction > {t} || n < 1 || !tensors || !out) return cudaErrorInvalidValue;
    const struct {base}_shape_info *s = &{base}_shapes[shape];
    const struct {base}_direction *d = &s->directions[direction];
    if (!d->available) return cudaErrorNotSupported;
    struct {base}_layout l;
    {base}_plan(d, n, &l);
    if (l.total && !scratch) return cudaErrorInvalidValue;
    char *sc = (char *)scratch;
    const {base}_elem *src[{t}];
    long long per[{t}];
    for (int i = 0; i < {t}; ++i) {{
        const void *p = d->sources[i] < 0 ? upstream : tensors[d->sources[i]];
        if (!p) return cudaErrorInvalidValue;
        per[i] = {base}_count(d->shapes[i], d->ranks[i]);
        src[i] = (const {base}_elem *)p;
        if (d->flips[i]) {{
            struct {base}_dims dims;
            for (int a = 0; a < 8; ++a) dims.d[a] = d->shapes[i][a];
            long long total = per[i];
            if (d->sources[i] <= 0) {{ dims.d[0] *= n; total *= n; }}
            {base}_elem *f = ({base}_elem *)(sc + l.flip[i]);
            KAS_LAUNCH({base}_flip, {base}_grid(total), 256, 0, stream, f, src[i], d->ranks[i], dims, d->flips[i], total);
            src[i] = f;
        }}
    }}
    long long out_per = {base}_count(d->out_shape, d->out_rank), out_full = 1;
    int spread = 0;
    for (int a = 0; a < d->out_rank; ++a) {{ out_full *= d->out_shape[a] * d->factors[a]; spread |= d->factors[a] != 1; }}
    {base}_elem *o_all = ({base}_elem *)out;
    float *acc = (float *)(sc + l.acc);
    if (!d->batched_out) KAS_LAUNCH({base}_zero_f32, {base}_grid(out_per), 256, 0, stream, acc, out_per);
    if (d->batched_out && spread) KAS_LAUNCH({base}_zero, {base}_grid(n * out_full), 256, 0, stream, o_all, n * out_full);
    for (long long start = 0; start < n;) {{
        const struct {base}_variant *v = &d->variants[{nb} - 1];
        for (int k = 0; k < {nb}; ++k)
            if (d->variants[k].batch <= n - start) {{ v = &d->variants[k]; break; }}
        const long long b = v->batch;
        const {base}_elem *args[{t}];
        for (int i = 0; i < {t}; ++i) {{
            args[i] = src[i];
            if (d->sources[i] > 0) continue;
            args[i] = src[i] + start * per[i];
            if (!{base}_aligned(args[i])) {{
                {base}_elem *c = ({base}_elem *)(sc + l.chunk[i]);
                KAS_LAUNCH({base}_copy, {base}_grid(b * per[i]), 256, 0, stream, c, args[i], b * per[i]);
                args[i] = c;
            }}
        }}
        {base}_elem *dst = o_all + start * out_per;
        const int direct = d->batched_out && !spread && {base}_aligned(dst);
        {base}_elem *o = direct ? dst : ({base}_elem *)(sc + l.out_tmp);
        cudaError_t e = {base}_call(v->run, args, o, sc + l.ws, stream);
        if (e != cudaSuccess) return e;
        if (!d->batched_out) {{
            KAS_LAUNCH({base}_accumulate, {base}_grid(out_per), 256, 0, stream, acc, o, out_per);
        }} else if (spread) {{
            struct {base}_dims dims, factor;
            for (int a = 0; a < 8; ++a) {{ dims.d[a] = d->out_shape[a]; factor.d[a] = d->factors[a]; }}
            dims.d[0] *= b;
            KAS_LAUNCH({base}_spread, {base}_grid(b * out_per), 256, 0, stream, o_all + start * out_full, o, d->out_rank, dims, factor, b * out_per);
        }} else if (!direct) {{
            KAS_LAUNCH({base}_copy, {base}_grid(b * out_per), 256, 0, stream, dst, o, b * out_per);
        }}
        start += b;
    }}
    if (!d->batched_out) KAS_LAUNCH({base}_round, {base}_grid(out_per), 256, 0, stream, o_all, acc, out_per);
    return cudaGetLastError();
}}
"#
    )
}
