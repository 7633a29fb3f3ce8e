//! Export bundles: what it takes to call an operator's kernels from other code, without kas.
//!
//! For an operator and a set of bindings, a bundle holds
//! - `<name>.cu`: every binding's kernels (prefixed `<name>_<binding>_s<i>`) and, per binding, a
//!   plain C entry point that launches them in order on a stream;
//! - `<name>.h`: the declarations of those entry points and of their workspace sizes;
//! - `launch.json`: grid, block and shared memory per stage, workspace size and shapes, per
//!   binding;
//! - `<name>.loops.c`: the forward loop nest as C (what the operator computes);
//! - `<name>.dot`: the primitive DAG for Graphviz;
//! - `README.md`: the formula, layouts, stream and workspace contract, and build flags.

use crate::cuda::{CudaProgram, generate_precise, precise_schedule};
use crate::error::Result;
use crate::precision::Precision;
use crate::schedule::Schedule;
use crate::stage::StageIr;
use kas_primitives::{Binding, Operator, print};
use serde::Serialize;
use std::fmt::Write as _;

pub mod pytorch;
mod readme;

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// File name (no folder).
    pub name: String,
    /// Contents.
    pub contents: String,
}

/// Byte offset of each intermediate of a program in its bundle workspace, and the total: each
/// intermediate (f32, or bf16 where its kernel writes bf16) starts on a 256-byte boundary.
fn workspace_layout(p: &CudaProgram) -> (Vec<u64>, u64) {
    let mut offsets = Vec::with_capacity(p.workspace_elems.len());
    let mut at = 0u64;
    for (elems, k) in p.workspace_elems.iter().zip(&p.kernels) {
        offsets.push(at);
        at += (elems * if k.out_bf16 { 2 } else { 4 }).div_ceil(256) * 256;
    }
    (offsets, at)
}

/// Workspace bytes of a program in a bundle ([`workspace_layout`]).
fn workspace_bytes(p: &CudaProgram) -> u64 {
    workspace_layout(p).1
}

/// A C identifier from a free-form name (`syno-op2` → `syno_op2`).
pub fn c_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[derive(Serialize)]
struct LaunchFile<'a> {
    operator: &'a str,
    precision: &'static str,
    bindings: Vec<LaunchBinding<'a>>,
}

#[derive(Serialize)]
struct LaunchBinding<'a> {
    binding: &'a str,
    entry_point: String,
    workspace_bytes: u64,
    input_shapes: &'a [Vec<u64>],
    output_shape: &'a [u64],
    /// The stage schedules (`direct | 128x64x8/8x4 | …`).
    schedule: String,
    /// Where the schedule comes from (a tuning on a named device, or the heuristic).
    schedule_source: &'a str,
    stages: &'a [crate::cuda::KernelLaunch],
}

/// The kernels of one binding in a bundle: a schedule and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    /// The schedule.
    pub schedule: Schedule,
    /// Its provenance, as launch.json states it (`tuned on <device key>`, `heuristic`).
    pub source: String,
}

/// Builds the bundle of `op` (called `name`) for `bindings` (one stage IR per binding, each
/// planned for its own binding) with the heuristic schedules.
pub fn bundle(name: &str, op: &Operator, bindings: &[Binding]) -> Result<Vec<BundleFile>> {
    bundle_with(name, op, bindings, Precision::F32, &|_, _| None)
}

/// Like [`bundle`] at `precision` (bf16: bf16 tensors; TF32 and bf16: tensor-core kernels),
/// with the schedule `chosen(ir, binding)` gives for each binding (the tuned winners), the
/// heuristic one at the precision where it gives none.
pub fn bundle_with(
    name: &str,
    op: &Operator,
    bindings: &[Binding],
    precision: Precision,
    chosen: &dyn Fn(&StageIr, &Binding) -> Option<Chosen>,
) -> Result<Vec<BundleFile>> {
    let base = c_name(name);
    let mut cu = String::new();
    let mut h = String::new();
    let guard = format!("KAS_{}_H", base.to_uppercase());
    let elem = if precision == Precision::Bf16 {
        "bf16 (`kas_bf16`: the bits in an unsigned short)"
    } else {
        "f32"
    };
    let _ = writeln!(
        h,
        "// kas export of `{name}` at {precision}: {elem} tensors, row-major, device pointers."
    );
    let _ = writeln!(h, "#ifndef {guard}\n#define {guard}\n");
    let _ = writeln!(h, "#include <stddef.h>\n#include <cuda_runtime.h>\n");
    if precision == Precision::Bf16 {
        let _ = writeln!(
            h,
            "#ifndef KAS_BF16_TYPE\n#define KAS_BF16_TYPE\ntypedef unsigned short kas_bf16;\n#endif\n"
        );
    }
    let _ = writeln!(h, "#ifdef __cplusplus\nextern \"C\" {{\n#endif\n");
    let _ = writeln!(cu, "// kas export of `{name}`: kernels and entry points.");
    let _ = writeln!(cu, "#include \"{base}.h\"\n");
    let mut programs: Vec<(String, CudaProgram, Chosen)> = Vec::new();
    for b in bindings {
        let ir = StageIr::lower_for(op, std::slice::from_ref(b))?;
        let prefix = format!("{base}_{}", c_name(&b.name));
        let pick = match chosen(&ir, b) {
            Some(c) => c,
            None => Chosen {
                schedule: precise_schedule(&ir, b, precision)?,
                source: "heuristic (not tuned)".into(),
            },
        };
        let p = generate_precise(&ir, b, &prefix, &pick.schedule, precision)?;
        cu.push_str(&p.source);
        entry_point(&mut cu, &mut h, &prefix, op, b, &p);
        programs.push((prefix, p, pick));
    }
    let _ = writeln!(h, "#ifdef __cplusplus\n}}\n#endif\n\n#endif");
    let launch = launch_json(name, precision, bindings, &programs)?;
    let readme = readme::readme(name, &base, op, bindings, &programs);
    Ok(vec![
        BundleFile {
            name: format!("{base}.cu"),
            contents: cu,
        },
        BundleFile {
            name: format!("{base}.h"),
            contents: h,
        },
        BundleFile {
            name: "launch.json".into(),
            contents: launch,
        },
        BundleFile {
            name: format!("{base}.loops.c"),
            contents: print::loop_nest_c(op, &format!("{base}_reference")),
        },
        BundleFile {
            name: format!("{base}.dot"),
            contents: print::dot(op),
        },
        BundleFile {
            name: "README.md".into(),
            contents: readme,
        },
    ])
}

/// Declares (in `h`) and defines (in `cu`) binding `b`'s entry point `prefix` and its
/// workspace size: the program's kernels launched in order on a stream, each intermediate in
/// the workspace.
fn entry_point(
    cu: &mut String,
    h: &mut String,
    prefix: &str,
    op: &Operator,
    b: &Binding,
    p: &CudaProgram,
) {
    let params = entry_params(p, op.tensor_count());
    let shapes: Vec<String> = p.tensor_shapes.iter().map(|s| format!("{s:?}")).collect();
    let _ = writeln!(
        h,
        "/* binding `{}`: in, w1.. = {}; out = {:?}. */",
        b.name,
        shapes.join(", "),
        p.output_shape
    );
    let _ = writeln!(h, "cudaError_t {prefix}({});", params.join(", "));
    let _ = writeln!(
        h,
        "/* Bytes of device workspace {prefix} needs (may be 0). */\nsize_t {prefix}_workspace_bytes(void);\n"
    );
    let _ = writeln!(
        cu,
        "\nextern \"C\" size_t {prefix}_workspace_bytes(void) {{ return {}; }}",
        workspace_bytes(p)
    );
    let _ = writeln!(
        cu,
        "\nextern \"C\" cudaError_t {prefix}({})\n{{",
        params.join(", ")
    );
    entry_body(cu, p, |k, args| {
        format!(
            "{}<<<{}, {}, {}, stream>>>({args})",
            k.name, k.grid, k.block, k.shared_bytes
        )
    });
}

/// The parameters of a program's entry point: the input and `t_count - 1` weights at the
/// program's storage type, the output, the workspace and the stream.
pub(crate) fn entry_params(p: &CudaProgram, t_count: usize) -> Vec<String> {
    let elem = p.precision.storage();
    let mut params: Vec<String> = vec![format!("const {elem} *in")];
    params.extend((1..t_count).map(|t| format!("const {elem} *w{t}")));
    params.push(format!("{elem} *out"));
    params.push("void *workspace".into());
    params.push("cudaStream_t stream".into());
    params
}

/// The body of a program's entry point after its opening brace: the intermediates' pointers
/// into the workspace, each kernel's shared-memory opt-in where it needs more than the
/// default, its launch as `launch(kernel, comma-separated arguments)` writes it, and the
/// closing `return cudaGetLastError(); }`.
pub(crate) fn entry_body(
    cu: &mut String,
    p: &CudaProgram,
    launch: impl Fn(&crate::cuda::KernelLaunch, &str) -> String,
) {
    let _ = writeln!(cu, "    char *ws = (char *)workspace;\n    (void)ws;");
    // Each intermediate starts on a 256-byte boundary (vectorized loads need 16).
    let (offsets, _) = workspace_layout(p);
    for (i, (offset, k)) in offsets.iter().zip(&p.kernels).enumerate() {
        let t = if k.out_bf16 { "kas_bf16" } else { "float" };
        let _ = writeln!(cu, "    {t} *s{i} = ({t} *)(ws + {offset});");
    }
    let last = p.kernels.len() - 1;
    for (i, k) in p.kernels.iter().enumerate() {
        if k.shared_bytes > crate::cuda::DEFAULT_SHARED_BYTES {
            let _ = writeln!(
                cu,
                "    {{ cudaError_t e = cudaFuncSetAttribute({}, cudaFuncAttributeMaxDynamicSharedMemorySize, {}); if (e != cudaSuccess) return e; }}",
                k.name, k.shared_bytes
            );
        }
        let mut args = k.operands.clone();
        args.push(if i == last {
            "out".into()
        } else {
            format!("s{i}")
        });
        let _ = writeln!(cu, "    {};", launch(k, &args.join(", ")));
    }
    let _ = writeln!(cu, "    return cudaGetLastError();\n}}");
}

/// `launch.json`: per binding, its entry point, workspace, shapes, schedule and launches.
fn launch_json(
    name: &str,
    precision: Precision,
    bindings: &[Binding],
    programs: &[(String, CudaProgram, Chosen)],
) -> Result<String> {
    let launch = LaunchFile {
        operator: name,
        precision: precision.label(),
        bindings: programs
            .iter()
            .zip(bindings)
            .map(|((prefix, p, pick), b)| LaunchBinding {
                binding: &b.name,
                entry_point: prefix.clone(),
                workspace_bytes: workspace_bytes(p),
                input_shapes: &p.tensor_shapes,
                output_shape: &p.output_shape,
                schedule: pick.schedule.label(),
                schedule_source: &pick.source,
                stages: &p.kernels,
            })
            .collect(),
    };
    serde_json::to_string_pretty(&launch).map_err(|e| crate::Error::Lowering {
        stage: 0,
        reason: format!("launch.json: {e}"),
    })
}
