//! The Python side of the PyTorch export:
//!
//! - `<name>_formula.py` (plain Python, no PyTorch): the exported shapes, the weight
//!   initialisation bound, and the operator's formula as `terms(v, o, r)`: for output iterators
//!   `o` and reduction iterators `r` (Python integers, or PyTorch integer tensors that
//!   broadcast), the index of every tensor and the zero-padding condition. `reference_loops`
//!   evaluates the formula with Python loops (small shapes; tests).
//! - `<name>.py`: builds and loads the extension, the `autograd.Function`, the `nn.Module`
//!   `Operator(shape)`, `reference` (the formula with PyTorch indexing, differentiable) and a
//!   reader for the safetensors file of trained weights.

use super::Plan;
use crate::error::Result;
use crate::precision::Precision;
use kas_primitives::{Accesses, Expr, Iter, Size};
use std::fmt::Write as _;

/// Renders `e` as Python arithmetic: iterators `o[i]`/`r[i]`, sizes `v[k]` (`sizes` collects
/// them), `//` and `%` (floor division and remainder: Euclidean for the positive divisors
/// kas's sizes are).
fn py_expr(e: &Expr, sizes: &mut Vec<Size>) -> String {
    let mut r = |x: &Expr| py_expr(x, sizes);
    match e {
        Expr::Iter(Iter::Out(i)) => format!("o[{i}]"),
        Expr::Iter(Iter::Red(i)) => format!("r[{i}]"),
        Expr::Const(c) => format!("({c})"),
        Expr::Size(s) => {
            let k = sizes.iter().position(|x| x == s).unwrap_or_else(|| {
                sizes.push(*s);
                sizes.len() - 1
            });
            format!("v[{k}]")
        }
        Expr::Add(x, y) => format!("({} + {})", r(x), r(y)),
        Expr::Sub(x, y) => format!("({} - {})", r(x), r(y)),
        Expr::Mul(x, y) => format!("({} * {})", r(x), r(y)),
        Expr::Div(x, y) => format!("({} // {})", r(x), r(y)),
        Expr::Mod(x, y) => format!("({} % {})", r(x), r(y)),
    }
}

fn py_list(v: &[u64]) -> String {
    let parts: Vec<String> = v.iter().map(u64::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// Bound `b` of the uniform initialisation `U(-b, b)` of every weight, as kas's trainer draws
/// it: with `R` the product of the reduction extents and `k` weights, each weight has variance
/// `R^(-1/k)` (unit-variance inputs give unit-variance outputs), so `b = sqrt(3 R^(-1/k))`.
fn init_bound(plan: &Plan<'_>, acc: &Accesses, b: &kas_primitives::Binding) -> Result<f64> {
    let r: f64 = (acc.red_sizes.iter())
        .map(|s| s.eval(b).unwrap_or(1) as f64)
        .product();
    let k = plan.op.weights.len().max(1) as f64;
    Ok((3.0 * r.max(1.0).powf(-1.0 / k)).sqrt())
}

/// `<name>_formula.py`.
pub(super) fn formula(plan: &Plan<'_>) -> Result<String> {
    let op = plan.op;
    let acc = Accesses::of(op);
    let mut sizes: Vec<Size> = Vec::new();
    let tensors: Vec<String> = (acc.tensors.iter())
        .map(|idx| {
            let parts: Vec<String> = idx.iter().map(|e| py_expr(e, &mut sizes)).collect();
            format!("({},)", parts.join(", "))
        })
        .collect();
    let guards: Vec<String> = (acc.guards.iter())
        .map(|g| {
            let e = py_expr(&g.expr, &mut sizes);
            let bound = py_expr(&Expr::Size(g.bound), &mut sizes);
            format!("({e} >= 0) & ({e} < {bound})")
        })
        .collect();
    for s in acc.out_sizes.iter().skip(1).chain(&acc.red_sizes) {
        py_expr(&Expr::Size(*s), &mut sizes);
    }
    let size_of = |s: &Size| sizes.iter().position(|x| x == s).unwrap_or(0);
    let out_iters: Vec<String> = (acc.out_sizes.iter().skip(1))
        .map(|s| size_of(s).to_string())
        .collect();
    let red_iters: Vec<String> = acc
        .red_sizes
        .iter()
        .map(|s| size_of(s).to_string())
        .collect();
    let size_names: Vec<String> = sizes
        .iter()
        .map(|s| format!("{:?}", s.display(&op.vars)))
        .collect();

    let mut f = String::new();
    let _ = writeln!(
        f,
        "\"\"\"The formula and shapes of the kas export of `{name}` in plain Python (no PyTorch).\n\n\
         Written by `kas export --pytorch` (kas {ver}); see PYTORCH.md. The operator is\n\n{loops}\n\
         with `in` the input (batch first), `w1`, `w2`, ... the weights, o0 the batch.\n\"\"\"\n\n\
         import itertools\n\nNAME = {name:?}\n\n\
         # The symbolic sizes the formula reads, in the order of `v`.\nSIZE_NAMES = [{}]\n\
         # Per output axis after the batch, and per reduction: which size is its extent.\n\
         OUT_ITERS = [{}]\nRED_ITERS = [{}]\n\n\
         # Per tensor (input first): whether kas has kernels for its gradient (a gradient operator);\n\
         # the others' gradients are computed from the formula, and why they have none.\n\
         KERNEL_GRADIENTS = [{}]\nNO_KERNEL_REASONS = {{{}}}\n",
        size_names.join(", "),
        out_iters.join(", "),
        red_iters.join(", "),
        (0..op.tensor_count())
            .map(|t| if plan.missing.iter().any(|(m, _)| *m == t) {
                "False"
            } else {
                "True"
            })
            .collect::<Vec<_>>()
            .join(", "),
        plan.missing
            .iter()
            .map(|(t, why)| format!("{t}: {why:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        name = plan.name,
        ver = env!("CARGO_PKG_VERSION"),
        loops = indent(&kas_primitives::print::loops_text(op)),
    );
    let _ = writeln!(
        f,
        "# Every exported shape: its index in the kernels' tables, variable values (the batch is\n\
         # the run-time one), tensor shapes at batch 1 (input first, then the weights), the output\n\
         # shape at batch 1, the sizes `v`, and the bound b of the weights' U(-b, b) initialisation.\n\
         SHAPES = {{"
    );
    for (i, s) in plan.shapes.iter().enumerate() {
        let values: Vec<String> = (s.binding.pairs(&op.vars).iter().enumerate())
            .filter(|(k, _)| *k != plan.batch_var)
            .map(|(_, (k, v))| format!("{k:?}: {v}"))
            .collect();
        let weights: Vec<String> = s.tensors[1..].iter().map(|w| py_list(w)).collect();
        let v: Vec<u64> = sizes
            .iter()
            .map(|x| x.eval(&s.binding).unwrap_or(0))
            .collect();
        let _ = writeln!(
            f,
            "    {:?}: {{\n        \"index\": {i},\n        \"values\": {{{}}},\n        \"input\": {},\n        \"weights\": [{}],\n        \"output\": {},\n        \"sizes\": {},\n        \"init_bound\": {:.17e},\n    }},",
            s.name,
            values.join(", "),
            py_list(&s.tensors[0]),
            weights.join(", "),
            py_list(&s.output),
            py_list(&v),
            init_bound(plan, &acc, &s.binding)?,
        );
    }
    let _ = writeln!(f, "}}\n");
    let guard = if guards.is_empty() {
        "True".to_string()
    } else {
        guards.join(" & ")
    };
    let _ = writeln!(
        f,
        "def terms(v, o, r):\n    \"\"\"For output iterators `o` (o[0] the batch) and reduction iterators `r`: the index of\n    every tensor (input first) and whether the term counts (zero padding). Works on Python\n    integers and on integer tensors that broadcast.\"\"\"\n    index = ({},)\n    return index, {guard}\n",
        tensors.join(", ")
    );
    f.push_str(LOOPS);
    Ok(f)
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}

const LOOPS: &str = r#"
def _flat(shape, index):
    at = 0
    for extent, i in zip(shape, index):
        at = at * extent + i
    return at


def reference_loops(shape, batch, tensors):
    """The operator under `shape` at batch `batch` with Python loops, in double precision:
    `tensors` holds the input and the weights as flat row-major lists; returns the flat
    output. For small shapes (tests)."""
    info = SHAPES[shape]
    v = info["sizes"]
    shapes = [[batch] + info["input"][1:]] + info["weights"]
    out_ext = [batch] + [v[k] for k in OUT_ITERS]
    red_ext = [v[k] for k in RED_ITERS]
    out = []
    for o in itertools.product(*[range(e) for e in out_ext]):
        total = 0.0
        for r in itertools.product(*[range(e) for e in red_ext]):
            index, keep = terms(v, o, r)
            if not keep:
                continue
            term = 1.0
            for t, ix in enumerate(index):
                term *= tensors[t][_flat(shapes[t], ix)]
            total += term
        out.append(total)
    return out
"#;

/// `<name>.py`.
pub(super) fn module(plan: &Plan<'_>) -> String {
    let base = &plan.base;
    let (dtype, prec) = match plan.precision {
        Precision::Bf16 => ("torch.bfloat16", "bf16"),
        Precision::Tf32 => ("torch.float32", "tf32"),
        Precision::F32 => ("torch.float32", "f32"),
    };
    let first = plan.shapes.first().map_or("", |s| s.name.as_str());
    let weights = plan.op.tensor_count() - 1;
    let buckets = py_list(&plan.buckets);
    let mut files: Vec<String> = (0..plan.shapes.len())
        .map(|i| format!("\"{base}_s{i}.cu\""))
        .collect();
    files.push(format!("\"{base}_batched.cu\""));
    files.push(format!("\"{base}_torch.cpp\""));
    let sources = format!("[{}]", files.join(", "));
    format!(
        r#""""`{name}` for PyTorch: kas's CUDA kernels for the forward pass and for the gradients with
respect to the input and every weight, at any batch size. Written by `kas export --pytorch`
(kas {ver}); PYTORCH.md in this folder documents the formula, layouts, initialisation,
precision and streams.

    import sys; sys.path.insert(0, "<this folder>")
    import {base}
    layer = {base}.Operator({first:?}).cuda()   # weights w1..w{weights}, initialised as kas does
    y = layer(x)                                # x: [n, ...] {dtype} on a GPU, any n >= 1
    y.sum().backward()                          # kas's gradient kernels

The first use builds the extension with torch.utils.cpp_extension.load (nvcc, a minute or
more; cached by PyTorch afterwards). `reference` computes the same formula with PyTorch
indexing, on any device, without the kernels.
"""

import importlib.util
import json
import os
import struct

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = {name:?}
LIBRARY = "kas_{base}"
PRECISION = "{prec}"
DTYPE = {dtype}
# Batch sizes the kernels are specialised for: a batch of n runs as slices of these sizes,
# largest first (e.g. 50 = 16 + 16 + 16 + 1 + 1 with buckets 64, 16, 4, 1).
BUCKETS = {buckets}
# What the extension is built from: the kernels of each shape (compiled in parallel), the
# run-time batch API over them, the PyTorch operators.
SOURCES = {sources}

_spec = importlib.util.spec_from_file_location("{base}_formula", os.path.join(HERE, "{base}_formula.py"))
formula = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(formula)
SHAPES = formula.SHAPES

_ops = None


def load(verbose=False, build_directory=None, extra_cuda_cflags=None):
    """Builds (first call; PyTorch caches the build) and loads the extension; returns
    torch.ops.kas_{base}, whose `forward(x, weights, shape)` and
    `backward(grad, x, weights, shape, mask)` run the kernels on the current CUDA stream."""
    global _ops
    if _ops is None:
        from torch.utils import cpp_extension

        cpp_extension.load(
            name=LIBRARY,
            sources=[os.path.join(HERE, f) for f in SOURCES],
            extra_include_paths=[HERE],
            extra_cflags=["-O2"],
            extra_cuda_cflags=["-O2"] + list(extra_cuda_cflags or []),
            build_directory=build_directory,
            is_python_module=False,
            verbose=verbose,
        )
        _ops = getattr(torch.ops, LIBRARY)
    return _ops


def shape_index(shape):
    """The index of an exported shape (by name); ValueError naming the exported ones."""
    if shape not in SHAPES:
        raise ValueError(f"{{NAME}}: no exported shape {{shape!r}}; exported: {{', '.join(SHAPES)}}")
    return SHAPES[shape]["index"]


def find_shape(input_shape, output_shape):
    """The name of the exported shape whose input is [n, *input_shape] and output
    [n, *output_shape] (without the batch), or None."""
    for name, info in SHAPES.items():
        if list(info["input"][1:]) == list(input_shape) and list(info["output"][1:]) == list(output_shape):
            return name
    return None


class KasFunction(torch.autograd.Function):
    """apply(shape_index, x, *weights): the operator with kas's kernels, forward and backward."""

    @staticmethod
    def forward(ctx, index, x, *weights):
        ctx.index = index
        ctx.save_for_backward(x, *weights)
        return load().forward(x, list(weights), index)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        x, *weights = ctx.saved_tensors
        grad = grad.contiguous()
        needs = ctx.needs_input_grad[1:]
        kernels = [need and formula.KERNEL_GRADIENTS[t] for t, need in enumerate(needs)]
        mask = sum(1 << t for t, k in enumerate(kernels) if k)
        got = iter(load().backward(grad, x, list(weights), ctx.index, mask) if mask else [])
        grads = [next(got) if k else None for k in kernels]
        slow = [t for t, need in enumerate(needs) if need and not kernels[t]]
        if slow:
            shape = next(n for n, i in SHAPES.items() if i["index"] == ctx.index)
            for t, g in zip(slow, formula_gradients(shape, grad, x, weights, slow)):
                grads[t] = g
        return (None, *grads)


def operator(shape, x, *weights):
    """The operator under exported shape `shape` with kas's kernels (differentiable)."""
    return KasFunction.apply(shape_index(shape), x.contiguous(), *[w.contiguous() for w in weights])


class Operator(nn.Module):
    """The operator as a layer for one exported shape (see SHAPES), batch free: input
    [n, *SHAPES[shape]["input"][1:]], output [n, *SHAPES[shape]["output"][1:]], dtype DTYPE.
    Weights w1..w{weights} (shapes SHAPES[shape]["weights"]) are drawn from U(-b, b) with
    b = SHAPES[shape]["init_bound"], as kas trains them."""

    def __init__(self, shape, device=None, dtype=None, generator=None):
        super().__init__()
        shape_index(shape)
        self.shape = shape
        for t, s in enumerate(SHAPES[shape]["weights"], start=1):
            self.register_parameter(f"w{{t}}", nn.Parameter(torch.empty(s, device=device, dtype=dtype or DTYPE)))
        self.reset_parameters(generator)

    def weights(self):
        """w1, w2, ... in order."""
        return [getattr(self, f"w{{t}}") for t in range(1, len(SHAPES[self.shape]["weights"]) + 1)]

    def reset_parameters(self, generator=None):
        """Redraws the weights from U(-b, b), b = SHAPES[shape]["init_bound"]."""
        b = SHAPES[self.shape]["init_bound"]
        with torch.no_grad():
            for w in self.weights():
                w.uniform_(-b, b, generator=generator)

    def forward(self, x):
        if x.dtype != DTYPE:
            raise TypeError(f"{{NAME}}: the input is {{x.dtype}}, the kernels take {{DTYPE}} (exported at {{PRECISION}})")
        return operator(self.shape, x, *self.weights())

    def extra_repr(self):
        return f"{{NAME}}, shape {{self.shape!r}}, {{PRECISION}}"


def reference(shape, x, *weights):
    """The operator's formula evaluated with PyTorch indexing (no kas kernel; any device and
    dtype; differentiable). Memory grows with outputs x reduction terms: for small shapes."""
    return _reference_part(shape, x, weights, None)


def _reference_part(shape, x, weights, rows):
    """The formula's output [:, rows[0]:rows[1]] (all of axis 1 if rows is None)."""
    info = SHAPES[shape]
    v = info["sizes"]
    out_ext = [x.shape[0]] + [v[k] for k in formula.OUT_ITERS]
    red_ext = [v[k] for k in formula.RED_ITERS]
    spans = [(0, e) for e in out_ext] + [(0, e) for e in red_ext]
    if rows is not None and len(out_ext) > 1:
        spans[1] = rows
    rank = len(spans)

    def iterator(axis):
        view = [1] * rank
        view[axis] = spans[axis][1] - spans[axis][0]
        return torch.arange(spans[axis][0], spans[axis][1], device=x.device).view(view)

    o = [iterator(a) for a in range(len(out_ext))]
    r = [iterator(len(out_ext) + a) for a in range(len(red_ext))]
    index, keep = formula.terms(v, o, r)
    term = None
    for tensor, ix in zip((x, *weights), index):
        ix = tuple(torch.as_tensor(i, device=x.device).clamp(0, n - 1) for i, n in zip(ix, tensor.shape))
        value = tensor[ix]
        term = value if term is None else term * value
    term = term * torch.as_tensor(keep, device=x.device).to(term.dtype)
    term = term.broadcast_to([b - a for a, b in spans])
    return term.sum(dim=tuple(range(len(out_ext), rank))) if red_ext else term


# Elements of the formula's terms evaluated at once by formula_gradients (memory: a few times
# this many floats).
FORMULA_CHUNK = 1 << 27


def formula_gradients(shape, grad, x, weights, tensors):
    """The gradients of <grad, op(x, *weights)> with respect to `tensors` (0 the input, t weight
    t), by autograd through the formula in f32 (at least), over slices of the batch and of the
    output's second axis: what the backward pass uses for tensors without a gradient operator.
    Exact, but far slower than kernels."""
    info = SHAPES[shape]
    v = info["sizes"]
    n = x.shape[0]
    rows_total = v[formula.OUT_ITERS[0]] if formula.OUT_ITERS else 1
    per_row = 1
    for k in formula.OUT_ITERS[1:] + formula.RED_ITERS:
        per_row *= v[k]
    rows = max(1, FORMULA_CHUNK // max(1, per_row))
    kind = torch.promote_types(x.dtype, torch.float32)
    out = {{t: torch.zeros((x if t == 0 else weights[t - 1]).shape, dtype=kind, device=x.device) for t in tensors}}
    ws = [w.detach().to(kind).requires_grad_((t + 1) in tensors) for t, w in enumerate(weights)]
    samples = max(1, rows // rows_total)
    with torch.enable_grad():
        for s in range(0, n, samples):
            xs = x[s : s + samples].detach().to(kind).requires_grad_(0 in tensors)
            step = min(rows, rows_total)
            for lo in range(0, rows_total, step):
                hi = min(rows_total, lo + step)
                part = (lo, hi) if formula.OUT_ITERS else None
                y = _reference_part(shape, xs, ws, part)
                g = grad[s : s + samples]
                g = g[:, lo:hi] if formula.OUT_ITERS else g
                wanted = [xs if t == 0 else ws[t - 1] for t in tensors]
                for t, d in zip(tensors, torch.autograd.grad(y, wanted, g.to(kind))):
                    if t == 0:
                        out[0][s : s + samples] += d
                    else:
                        out[t] += d
    return [out[t].to(x.dtype) for t in tensors]


def load_safetensors(path, device="cpu"):
    """The tensors of a safetensors file (as `kas export DIR --best` writes the trained
    weights: `<slot>.w<t>`), without the safetensors package."""
    kinds = {{"F32": torch.float32, "F64": torch.float64, "BF16": torch.bfloat16, "F16": torch.float16}}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {{}}
    for key, meta in header.items():
        if key == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        raw = bytearray(data[start:end])
        t = torch.frombuffer(raw, dtype=kinds[meta["dtype"]]) if raw else torch.empty(0, dtype=kinds[meta["dtype"]])
        out[key] = t.reshape(meta["shape"]).to(device)
    return out
"#,
        name = plan.name,
        ver = env!("CARGO_PKG_VERSION"),
    )
}
