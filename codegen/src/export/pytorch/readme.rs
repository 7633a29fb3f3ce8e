//! `PYTORCH.md`: how to use the PyTorch part of a bundle: the formula, the exported shapes and
//! their tensors, weight initialisation, precision, batches, streams and scratch memory, and
//! how to build it (through `torch.utils.cpp_extension` or by hand).

use super::Plan;
use crate::precision::Precision;
use kas_primitives::print::loops_text;
use std::fmt::Write as _;

fn list(v: &[u64]) -> String {
    let parts: Vec<String> = v.iter().map(u64::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// The text.
pub(super) fn readme(plan: &Plan<'_>) -> String {
    let (name, base, op) = (plan.name, &plan.base, plan.op);
    let batch = &op.vars.primary[plan.batch_var].name;
    let (dtype, numerics) = match plan.precision {
        Precision::F32 => (
            "torch.float32",
            "f32 storage, f32 products and accumulation",
        ),
        Precision::Tf32 => (
            "torch.float32",
            "f32 storage; tensor-core stages multiply TF32-rounded operands, f32 accumulation",
        ),
        Precision::Bf16 => (
            "torch.bfloat16",
            "bf16 storage (tensors and intermediates), bf16 products, f32 accumulation; weight \
             gradients are summed over batch slices in f32 and rounded to bf16 once",
        ),
    };
    let mut r = String::new();
    let w = &mut r;
    let _ = writeln!(w, "# `{name}` for PyTorch\n");
    let _ = writeln!(
        w,
        "kas's CUDA kernels of `{name}` ({}) for the forward pass and the gradients with respect \
         to the input and every weight, for the layer shapes below and any batch size, as a \
         PyTorch extension. Files:\n\n\
         - `{base}.py`: the Python module (`Operator`, `operator`, `reference`, `load`, \
         `load_safetensors`);\n\
         - `{base}_formula.py`: the shapes and the formula in plain Python;\n\
         - `{base}_torch.cpp`: the PyTorch operators `torch.ops.kas_{base}.forward` and \
         `.backward`;\n\
         - `{base}_s<i>.cu`: the kernels of shape i, every batch bucket and direction;\n\
         - `{base}_batched.cu`, `{base}_batched.h`: a C API with a run-time batch over them \
         (no PyTorch).\n",
        plan.precision
    );
    let _ = writeln!(w, "## Use\n");
    let first = plan.shapes.first().map_or("", |s| s.name.as_str());
    let _ = writeln!(
        w,
        "```python\nimport sys\nsys.path.insert(0, \"path/to/this/folder\")\nimport {base}\n\n\
         layer = {base}.Operator({first:?}).cuda()   # an nn.Module; weights w1, w2, ...\n\
         y = layer(x)            # x: a CUDA {dtype} tensor shaped like the shape's input, any batch\n\
         y.sum().backward()      # gradients by kas's kernels\n\
         {base}.reference({first:?}, x, *layer.weights())  # the formula with PyTorch indexing\n```\n"
    );
    let _ = writeln!(
        w,
        "The first call of the layer builds the extension with \
         `torch.utils.cpp_extension.load` (nvcc and a C++ compiler; PyTorch caches the build \
         under `~/.cache/torch_extensions`, `{base}.load(verbose=True)` shows it) for the GPU \
         present. `{base}.find_shape(input_shape, output_shape)` finds the shape of a layer \
         (extents without the batch). Inputs must be contiguous CUDA tensors of {dtype} with \
         the shape's extents (the module makes `x` contiguous; the operators refuse anything \
         else with a one-line `RuntimeError`).\n"
    );
    let _ = writeln!(w, "## What it computes\n");
    let _ = writeln!(
        w,
        "`out` from the input `in` (the batch `{batch}` first) and the weights `w1`, `w2`, …; \
         `o*` are the output iterators (`o0` the batch), `r*` the summed ones, and a term whose \
         guard fails is zero:\n\n```text\n{}```\n",
        loops_text(op)
    );
    let _ = writeln!(
        w,
        "Every tensor is dense and row-major (PyTorch's contiguous layout). `backward` returns \
         the gradient of `⟨grad, out⟩` with respect to each tensor asked for: the input's shaped \
         like the input, each weight's like the weight (summed over the batch).\n"
    );
    if !plan.missing.is_empty() {
        let _ = writeln!(
            w,
            "**Gradients without kernels.** The tensors below have no gradient operator in kas's \
             algebra, so no gradient kernels: `{base}.py` computes their gradients by autograd \
             through the formula (`formula_gradients`, in slices of `FORMULA_CHUNK` terms): exact, \
             but far slower and memory-hungry (`KERNEL_GRADIENTS` in `{base}_formula.py` says which \
             tensors):\n"
        );
        for (t, why) in &plan.missing {
            let _ = writeln!(w, "- tensor {t}: {why}");
        }
        let _ = writeln!(w);
    }
    let _ = writeln!(w, "## Shapes\n");
    let _ = writeln!(
        w,
        "| shape | values | input | weights | output | init bound |\n|---|---|---|---|---|---|"
    );
    for s in &plan.shapes {
        let values: Vec<String> = (s.binding.pairs(&op.vars).iter().enumerate())
            .filter(|(k, _)| *k != plan.batch_var)
            .map(|(_, (k, v))| format!("{k}={v}"))
            .collect();
        let weights: Vec<String> = s.tensors[1..].iter().map(|x| list(x)).collect();
        let mut input = list(&s.tensors[0]);
        input = input.replacen("[1", "[n", 1);
        let output = list(&s.output).replacen("[1", "[n", 1);
        let _ = writeln!(
            w,
            "| `{}` | {} | {input} | {} | {output} | see `{base}_formula.py` |",
            s.name,
            values.join(", "),
            weights.join(", ")
        );
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "## Weight initialisation\n\n`Operator` draws every weight from U(−b, b) with \
         b = √(3·R^(−1/k)), R the product of the summed extents and k the number of weights \
         (`SHAPES[shape][\"init_bound\"]`): each weight has variance R^(−1/k), so inputs of \
         unit variance give outputs of unit variance. This is how kas initialises operators \
         when it trains them. `reset_parameters(generator)` redraws them; a bundle exported from \
         a campaign with `--best` holds trained weights in `weights.safetensors` \
         (`{base}.load_safetensors`, names `<slot>.w<t>`).\n"
    );
    let _ = writeln!(
        w,
        "## Precision\n\nExported at {}: {numerics}. The tensors must be {dtype}.\n",
        plan.precision
    );
    let _ = writeln!(
        w,
        "## Batch\n\nThe kernels are specialised per shape for the batch buckets {} (largest \
         first). A batch of n runs as consecutive slices of the batch, each the largest bucket \
         that fits in what is left, one program per slice (output sample i depends on input \
         sample i only, so slices are independent); the weight gradients of the slices are \
         summed in f32. A slice that does not start on a 16-byte boundary is copied to an \
         aligned buffer first. Any n ≥ 1 works; n a multiple of the largest bucket is fastest.\n",
        list(&plan.buckets)
    );
    let _ = writeln!(
        w,
        "## Streams and scratch memory\n\nEvery call enqueues its kernels on PyTorch's current \
         CUDA stream of the input's device (`torch.cuda.current_stream()`; \
         `c10::cuda::getCurrentCUDAStream()` in C++), in order, and returns without \
         synchronising, like any PyTorch CUDA operator: use `torch.cuda.stream(s)` to run it on \
         another stream. Outputs and scratch memory come from PyTorch's caching allocator on \
         that stream; nothing is copied between host and device.\n\n\
         Without PyTorch, `{base}_batched.h` declares the same as a C API: \
         `{base}_run(shape, direction, batch, tensors, upstream, out, scratch, stream)` (direction \
         0 the forward pass, 1 + t the gradient with respect to tensor t) with \
         `{base}_scratch_bytes(shape, direction, batch)` bytes of device scratch memory, \
         256-aligned (as `cudaMalloc` returns); two calls that may run at once need separate \
         scratch memory. Pointers are device pointers to dense row-major tensors.\n"
    );
    let _ = writeln!(
        w,
        "## Building\n\n`{base}.load()` runs\n\n```python\n\
         torch.utils.cpp_extension.load(name=\"kas_{base}\", sources=[\"{base}_s0.cu\", …, \
         \"{base}_batched.cu\", \"{base}_torch.cpp\"],\n    extra_include_paths=[folder], \
         is_python_module=False)\n```\n\n(the list is `{base}.SOURCES`; ninja compiles the \
         files in parallel, `MAX_JOBS` limits it) \
         which needs nvcc (the CUDA toolkit PyTorch was built against, or a compatible one; \
         `CUDA_HOME` names it) and a C++17 compiler. Without PyTorch, compile \
         `{base}_batched.cu` and every `{base}_s<i>.cu` with nvcc for your GPU \
         (`nvcc -arch=sm_90 -O2 -c {base}_s0.cu`, …) and link the objects with your program; the \
         tensor-core kernels need sm_80 or newer.\n"
    );
    r
}
