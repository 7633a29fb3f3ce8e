//! The bundle's `README.md`: what the operator computes, the entry points with their tensor
//! layouts, what a call does on its stream, the workspace contract, and how to compile and
//! link the bundle with nvcc. Every statement describes the code [`super::bundle_with`]
//! generates (one entry point per binding, launching its kernels in order on the caller's
//! stream, intermediates in the caller's workspace).

use super::{Chosen, workspace_bytes};
use crate::cuda::CudaProgram;
use crate::precision::Precision;
use kas_primitives::print::loops_text;
use kas_primitives::{Binding, Operator};
use std::fmt::Write as _;

/// Strides (in elements) of a dense row-major tensor of `shape`.
pub(super) fn row_major_strides(shape: &[u64]) -> Vec<u64> {
    let mut strides = vec![1u64; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1].saturating_mul(shape[i + 1]);
    }
    strides
}

fn list(v: &[u64]) -> String {
    let parts: Vec<String> = v.iter().map(u64::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// The README of the bundle of `op` (called `name`, files prefixed `base`), one program per
/// binding with its entry-point prefix and schedule.
pub(super) fn readme(
    name: &str,
    base: &str,
    op: &Operator,
    bindings: &[Binding],
    programs: &[(String, CudaProgram, Chosen)],
) -> String {
    let precision = programs
        .first()
        .map_or(Precision::F32, |(_, p, _)| p.precision);
    let mut r = String::new();
    let w = &mut r;
    let _ = writeln!(w, "# `{name}`: a kas export bundle\n");
    let _ = writeln!(
        w,
        "CUDA kernels of the operator `{name}`, specialised to the shapes of each binding, with \
         one plain C entry point per binding. Written by `kas export` (kas {}); the files:\n",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        w,
        "- `{base}.cu`: the kernels and entry points (compile it with nvcc);\n\
         - `{base}.h`: their declarations (includes `<cuda_runtime.h>`; C or C++);\n\
         - `launch.json`: per binding, the schedule and each kernel's grid, block and shared memory;\n\
         - `{base}.loops.c`: the same computation as a plain C loop nest in double precision \
         (`{base}_reference`), a reference to test against;\n\
         - `{base}.dot`: the operator's primitive graph, for Graphviz (`dot -Tsvg`).\n"
    );

    let _ = writeln!(w, "## What it computes\n");
    let _ = writeln!(
        w,
        "`out` from the input `in` and the weights `w1`, `w2`, … ({}); `o*` are the output \
         iterators, `r*` the summed ones, and a term whose guard fails is zero (zero padding):\n",
        match precision {
            Precision::F32 => "f32 in, f32 out, f32 accumulation",
            Precision::Tf32 =>
                "f32 in, f32 out; tensor-core stages multiply TF32-rounded operands, f32 accumulation",
            Precision::Bf16 =>
                "bf16 in, bf16 out and bf16 intermediates; bf16 products, f32 accumulation",
        }
    );
    let _ = writeln!(w, "```text\n{}```\n", loops_text(op));
    let _ = writeln!(w, "Symbolic shapes, dense and row-major:\n");
    for t in 0..op.tensor_count() {
        let shape: Vec<String> = (op.tensor_shape(t).iter())
            .map(|s| s.display(&op.vars))
            .collect();
        let _ = writeln!(w, "- `{}`: [{}]", tensor_label(t), shape.join(", "));
    }
    let out: Vec<String> = (op.output_shape().iter())
        .map(|s| s.display(&op.vars))
        .collect();
    let _ = writeln!(w, "- `out`: [{}]\n", out.join(", "));

    let _ = writeln!(w, "## Entry points\n");
    let elem = precision.storage();
    let mut params: Vec<String> = vec![format!("const {elem} *in")];
    params.extend((1..op.tensor_count()).map(|t| format!("const {elem} *w{t}")));
    params.extend([format!("{elem} *out"), "void *workspace".into()]);
    params.push("cudaStream_t stream".into());
    let _ = writeln!(
        w,
        "One per binding, each with its workspace size:\n\n```c\n\
         cudaError_t {base}_<binding>({});\n\
         size_t {base}_<binding>_workspace_bytes(void);\n```\n",
        params.join(", ")
    );
    let _ = writeln!(
        w,
        "Every pointer is a device pointer to a dense {} tensor in row-major (C) order: the \
         last axis is contiguous, and element `[i0, i1, …]` is at offset `i0*s0 + i1*s1 + …` \
         with the strides below (in elements). No other layout or stride is accepted: copy a \
         strided tensor into a dense one first. Each pointer must be aligned to 16 bytes (the \
         kernels load and store `float4` where the layout allows; `cudaMalloc`'s pointers are \
         aligned to 256). The shapes are fixed per entry point (the kernels are compiled for \
         them); `out` must not overlap an input or the workspace.\n",
        match precision {
            Precision::Bf16 => "bf16 (`kas_bf16`, the bits of a bfloat16 in an unsigned short)",
            Precision::F32 | Precision::Tf32 => "f32",
        }
    );
    for ((prefix, p, pick), b) in programs.iter().zip(bindings) {
        let values: Vec<String> = (b.pairs(&op.vars).iter())
            .map(|(n, v)| format!("{n} = {v}"))
            .collect();
        let _ = writeln!(w, "### `{prefix}` (binding `{}`)\n", b.name);
        let _ = writeln!(
            w,
            "Values: {}. Kernels launched: {}; schedule `{}`, {}. Workspace: {} bytes \
             (`{prefix}_workspace_bytes()`).\n",
            if values.is_empty() {
                "none".to_string()
            } else {
                values.join(", ")
            },
            p.kernels.len(),
            pick.schedule.label(),
            pick.source,
            workspace_bytes(p)
        );
        let _ = writeln!(w, "| tensor | shape | strides (elements) |\n|---|---|---|");
        let shapes = p.tensor_shapes.iter().chain([&p.output_shape]);
        for (t, shape) in shapes.enumerate() {
            let label = if t == p.tensor_shapes.len() {
                "out".to_string()
            } else {
                tensor_label(t)
            };
            let _ = writeln!(
                w,
                "| `{label}` | {} | {} |",
                list(shape),
                list(&row_major_strides(shape))
            );
        }
        let _ = writeln!(w);
    }

    let _ = writeln!(w, "## Streams and synchronisation\n");
    let _ = writeln!(
        w,
        "A call enqueues the binding's kernels, in order, on `stream` and returns without \
         waiting for them: it is asynchronous with respect to the host, like a kernel launch. \
         It allocates nothing, copies nothing between host and device, sets no device or \
         function attribute and never synchronises. `stream` may be `0` (the default stream, \
         with its usual implicit synchronisation) or any stream of the current device; the \
         pointers must belong to that device. Work on `stream` is ordered, so a later kernel or \
         `cudaMemcpyAsync` on the same stream sees `out`; another stream, or the host, must \
         wait for it (`cudaStreamSynchronize(stream)`, or an event and `cudaStreamWaitEvent`). \
         The inputs, `out` and the workspace must stay allocated and unchanged until the \
         kernels have run. The kernels overwrite every element of `out` (no need to zero it) \
         and read the inputs only.\n"
    );
    let _ = writeln!(
        w,
        "The return value is `cudaGetLastError()` after the launches: `cudaSuccess`, or an \
         error in launching (for example no device, or a device too old for the compiled \
         architecture). It also returns, and clears, an earlier error of the calling thread. \
         An error while the kernels run shows up at the next synchronisation, as for any \
         kernel.\n"
    );
    let _ = writeln!(w, "## Workspace\n");
    let _ = writeln!(
        w,
        "`workspace` holds the intermediate results between kernels. It may be `NULL` exactly \
         when `<entry point>_workspace_bytes()` returns 0 (a single-kernel binding); otherwise \
         it must point to at least that many bytes of device memory, aligned to 256 bytes (as \
         `cudaMalloc` returns; each intermediate starts at a 256-byte offset, and the kernels \
         use vector loads). Its contents need no initialisation and are garbage afterwards. \
         Two calls that may run at the same time (on different streams) need different \
         workspaces; calls on one stream can share one.\n"
    );

    let _ = writeln!(w, "## Compiling and linking\n");
    let _ = writeln!(
        w,
        "With a CUDA toolkit (`nvcc` next to its `lib64/`), compile the `.cu` for your GPU's \
         architecture (kas's tests build for `sm_90`) and link it with your program, C or \
         C++:\n\n```sh\nnvcc -arch=sm_90 -O2 -c {base}.cu -o {base}.o\n\
         nvcc -arch=sm_90 -O2 {base}.o main.c -o main          # links cudart statically\n```\n"
    );
    let _ = writeln!(
        w,
        "With nvcc from PyPI (`pip install nvidia-cuda-nvcc nvidia-cuda-runtime`, as kas's \
         set-up does), the CUDA libraries are in `nvidia/cu13/lib/`, which nvcc does not search \
         (it looks in `lib64/`), so linking fails with `cannot find -lcudart_static`. Name the \
         folder, where `CU13` is the wheel's `site-packages/nvidia/cu13`:\n\n\
         ```sh\nnvcc -arch=sm_90 -O2 -L\"$CU13/lib\" {base}.cu main.c -o main                 # static cudart\n\
         nvcc -arch=sm_90 -O2 -cudart none -L\"$CU13/lib\" -l:libcudart.so.13 \\\n    \
         -Xlinker -rpath=\"$CU13/lib\" {base}.cu main.c -o main                           # shared cudart\n```\n"
    );
    let _ = writeln!(
        w,
        "The wheel ships `libcudart.so.13` but no `libcudart.so`, hence `-l:libcudart.so.13` \
         rather than `-cudart shared`. A C file that includes `{base}.h` and is compiled by gcc \
         or clang instead of nvcc needs `-I\"$CU13/include\"` (or the toolkit's `include/`) for \
         `<cuda_runtime.h>`. nvcc may warn `variable \"ws\" was set but never used` (#550-D) for \
         bindings without a workspace: harmless.\n"
    );
    r
}

/// `in`, `w1`, `w2`, … as in the generated code.
fn tensor_label(t: usize) -> String {
    if t == 0 {
        "in".to_string()
    } else {
        format!("w{t}")
    }
}
