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

use crate::cuda::{CudaProgram, generate_scheduled, heuristic_schedule};
use crate::error::Result;
use crate::schedule::Schedule;
use crate::stage::StageIr;
use kas_primitives::{Binding, Operator, print};
use serde::Serialize;
use std::fmt::Write as _;

mod readme;

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// File name (no folder).
    pub name: String,
    /// Contents.
    pub contents: String,
}

/// Workspace bytes of a program in a bundle: intermediates rounded up to 64 elements.
fn workspace_bytes(p: &CudaProgram) -> u64 {
    p.workspace_elems
        .iter()
        .map(|e| e.div_ceil(64) * 64)
        .sum::<u64>()
        * 4
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
    bundle_with(name, op, bindings, &|_, _| None)
}

/// Like [`bundle`], with the schedule `chosen(ir, binding)` gives for each binding (the tuned
/// winners), the heuristic one where it gives none.
pub fn bundle_with(
    name: &str,
    op: &Operator,
    bindings: &[Binding],
    chosen: &dyn Fn(&StageIr, &Binding) -> Option<Chosen>,
) -> Result<Vec<BundleFile>> {
    let base = c_name(name);
    let mut cu = String::new();
    let mut h = String::new();
    let guard = format!("KAS_{}_H", base.to_uppercase());
    let _ = writeln!(
        h,
        "// kas export of `{name}`: f32 tensors, row-major, device pointers."
    );
    let _ = writeln!(h, "#ifndef {guard}\n#define {guard}\n");
    let _ = writeln!(h, "#include <stddef.h>\n#include <cuda_runtime.h>\n");
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
                schedule: heuristic_schedule(&ir, b)?,
                source: "heuristic (not tuned)".into(),
            },
        };
        let p = generate_scheduled(&ir, b, &prefix, &pick.schedule)?;
        cu.push_str(&p.source);
        entry_point(&mut cu, &mut h, &prefix, op, b, &p);
        programs.push((prefix, p, pick));
    }
    let _ = writeln!(h, "#ifdef __cplusplus\n}}\n#endif\n\n#endif");
    let launch = launch_json(name, bindings, &programs)?;
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
    let mut params: Vec<String> = vec!["const float *in".into()];
    params.extend((1..op.tensor_count()).map(|t| format!("const float *w{t}")));
    params.push("float *out".into());
    params.push("void *workspace".into());
    params.push("cudaStream_t stream".into());
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
    let _ = writeln!(cu, "    float *ws = (float *)workspace;\n    (void)ws;");
    // Each intermediate starts on a 256-byte boundary (vectorized loads need 16).
    let mut offset = 0u64;
    for (i, _) in p.workspace_elems.iter().enumerate() {
        let _ = writeln!(cu, "    float *s{i} = ws + {offset};");
        offset += p.workspace_elems[i].div_ceil(64) * 64;
    }
    let last = p.kernels.len() - 1;
    for (i, k) in p.kernels.iter().enumerate() {
        let mut args = k.operands.clone();
        args.push(if i == last {
            "out".into()
        } else {
            format!("s{i}")
        });
        let _ = writeln!(
            cu,
            "    {}<<<{}, {}, {}, stream>>>({});",
            k.name,
            k.grid,
            k.block,
            k.shared_bytes,
            args.join(", ")
        );
    }
    let _ = writeln!(cu, "    return cudaGetLastError();\n}}");
}

/// `launch.json`: per binding, its entry point, workspace, shapes, schedule and launches.
fn launch_json(
    name: &str,
    bindings: &[Binding],
    programs: &[(String, CudaProgram, Chosen)],
) -> Result<String> {
    let launch = LaunchFile {
        operator: name,
        precision: "f32",
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
