//! CUDA C for a stage IR: one kernel per stage, shape-specialised for one binding.
//!
//! Correctness first (speed is the fast-kernels issue): one thread per element of the stage's
//! result (grid-stride loop), the stage's reductions as nested loops, every zero-padding guard
//! tested before any read, f32 loads and an f32 accumulator. Index arithmetic is `int` when every
//! extent is small and `long long` otherwise. Shift offsets are reduced modulo their extent and
//! every size is a literal, so no intermediate overflows.

use crate::error::Result;
use crate::stage::{StageIr, operand_name};
use kas_primitives::plan::Operand;
use kas_primitives::{Binding, Expr, Iter};
use serde::Serialize;
use std::fmt::Write as _;

/// Threads per block of every generated kernel.
pub const BLOCK: u32 = 256;

/// How to launch one stage's kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelLaunch {
    /// Kernel name in the source (`kas_s0`, …).
    pub name: String,
    /// Operands, in parameter order: `"in"`, `"w1"`, … or `"s0"`, … for earlier stages.
    pub operands: Vec<String>,
    /// Elements of the result.
    pub out_elems: u64,
    /// Blocks (x) to launch.
    pub grid: u32,
    /// Threads per block (x).
    pub block: u32,
    /// Dynamic shared memory in bytes.
    pub shared_bytes: u32,
}

/// The CUDA source of an operator under one binding, and how to run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CudaProgram {
    /// Name of the binding.
    pub binding: String,
    /// The CUDA C source (all kernels, `extern "C"`).
    pub source: String,
    /// One launch per stage, in order; the last writes the output.
    pub kernels: Vec<KernelLaunch>,
    /// Shapes of the input and weights (f32, row-major).
    pub tensor_shapes: Vec<Vec<u64>>,
    /// Shape of the output.
    pub output_shape: Vec<u64>,
    /// Elements of each intermediate stage result (every stage but the last), for the
    /// workspace.
    pub workspace_elems: Vec<u64>,
    /// Whether index arithmetic is 64-bit.
    pub wide_index: bool,
}

impl CudaProgram {
    /// Workspace bytes (f32 intermediates).
    pub fn workspace_bytes(&self) -> u64 {
        self.workspace_elems.iter().sum::<u64>() * 4
    }
}

/// Generates the kernels of `ir` under `binding`, named `kas_s0`, `kas_s1`, ….
pub fn generate(ir: &StageIr, binding: &Binding) -> Result<CudaProgram> {
    generate_named(ir, binding, "kas")
}

/// Like [`generate`] with kernels named `<prefix>_s0`, `<prefix>_s1`, … (so that several
/// programs can share one translation unit). The source has no macros of its own beyond
/// `KAS_DIV` / `KAS_MOD`, which are guarded.
pub fn generate_named(ir: &StageIr, binding: &Binding, prefix: &str) -> Result<CudaProgram> {
    let op = &ir.op;
    let tensor_shapes: Vec<Vec<u64>> = (0..op.tensor_count())
        .map(|t| {
            op.concrete(op.tensor_axes(t), binding)
                .map(|v| v.into_iter().map(|x| x as u64).collect())
        })
        .collect::<kas_primitives::Result<_>>()?;
    let mut stage_shapes: Vec<Vec<u64>> = Vec::new();
    let mut red_shapes: Vec<Vec<u64>> = Vec::new();
    for st in &ir.stages {
        stage_shapes.push(
            op.concrete(&st.result_dims, binding)?
                .into_iter()
                .map(|x| x as u64)
                .collect(),
        );
        red_shapes.push(
            op.concrete(&st.summed, binding)?
                .into_iter()
                .map(|x| x as u64)
                .collect(),
        );
    }
    // 64-bit indices when any buffer or iteration space could pass 2^30.
    let numel = |s: &[u64]| s.iter().fold(1u128, |a, &x| a * x as u128);
    let biggest = tensor_shapes
        .iter()
        .chain(&stage_shapes)
        .map(|s| numel(s))
        .chain(
            stage_shapes
                .iter()
                .zip(&red_shapes)
                .map(|(a, b)| numel(a) * numel(b)),
        )
        .max()
        .unwrap_or(1);
    let wide = biggest >= (1 << 30);
    let idx = if wide { "long long" } else { "int" };

    let mut src = String::new();
    let _ = writeln!(
        src,
        "// kas: generated CUDA kernels, binding `{}`; f32 in and out.",
        binding.name
    );
    let _ = writeln!(
        src,
        "// Floor division and Euclidean remainder (exact for negative a)."
    );
    let _ = writeln!(src, "#ifndef KAS_DIV");
    let _ = writeln!(
        src,
        "#define KAS_DIV(a, b) ((a) >= 0 ? (a) / (b) : -((-(a) + (b) - 1) / (b)))"
    );
    let _ = writeln!(src, "#define KAS_MOD(a, b) ((((a) % (b)) + (b)) % (b))");
    let _ = writeln!(src, "#endif");
    let mut kernels = Vec::new();
    for (i, st) in ir.stages.iter().enumerate() {
        let name = format!("{prefix}_s{i}");
        let shape = &stage_shapes[i];
        let red = &red_shapes[i];
        let total = numel(shape) as u64;
        let _ = writeln!(src);
        let _ = writeln!(
            src,
            "// stage {i}: result [{}], summing [{}]",
            shape
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            red.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut params: Vec<String> = st
            .operands
            .iter()
            .map(|o| format!("const float *__restrict__ {}", operand_name(*o)))
            .collect();
        params.push("float *__restrict__ out".into());
        let _ = writeln!(
            src,
            "extern \"C\" __global__ void {name}({})",
            params.join(", ")
        );
        let _ = writeln!(src, "{{");
        let _ = writeln!(
            src,
            "    for ({idx} t = ({idx})blockIdx.x * blockDim.x + threadIdx.x; t < ({idx}){total}; t += ({idx})gridDim.x * blockDim.x) {{"
        );
        let _ = writeln!(src, "        {idx} rem = t;");
        for k in (0..shape.len()).rev() {
            if k == 0 {
                let _ = writeln!(src, "        const {idx} o0 = rem;");
            } else {
                let _ = writeln!(
                    src,
                    "        const {idx} o{k} = rem % {n}; rem /= {n};",
                    n = shape[k]
                );
            }
        }
        if shape.is_empty() {
            let _ = writeln!(src, "        (void)rem;");
        }
        let _ = writeln!(src, "        float acc = 0.0f;");
        let mut indent = String::from("        ");
        for (j, n) in red.iter().enumerate() {
            let _ = writeln!(src, "{indent}for ({idx} r{j} = 0; r{j} < {n}; ++r{j}) {{");
            indent.push_str("    ");
        }
        // Every guard is tested before any operand is read.
        let mut conds = Vec::new();
        for (j, g) in st.guards.iter().enumerate() {
            let e = c_expr(&g.expr, binding);
            let n = g.bound.eval(binding).unwrap_or(0);
            let _ = writeln!(src, "{indent}const {idx} g{j} = {e};");
            conds.push(format!("g{j} >= 0 && g{j} < {n}"));
        }
        let mut factors = Vec::new();
        for (o, exprs) in st.operands.iter().zip(&st.index) {
            let dims: Vec<u64> = match *o {
                Operand::Tensor(t) => tensor_shapes[t].clone(),
                Operand::Stage(k) => stage_shapes[k].clone(),
            };
            let mut flat = String::new();
            for (a, e) in exprs.iter().enumerate() {
                let e = c_expr(e, binding);
                flat = if a == 0 {
                    format!("({e})")
                } else {
                    format!("({flat} * {} + ({e}))", dims[a])
                };
            }
            if flat.is_empty() {
                flat = "0".into();
            }
            factors.push(format!("{}[{flat}]", operand_name(*o)));
        }
        if conds.is_empty() {
            let _ = writeln!(src, "{indent}acc += {};", factors.join(" * "));
        } else {
            let _ = writeln!(
                src,
                "{indent}if ({}) acc += {};",
                conds.join(" && "),
                factors.join(" * ")
            );
        }
        for _ in red {
            indent.truncate(indent.len() - 4);
            let _ = writeln!(src, "{indent}}}");
        }
        let _ = writeln!(src, "        out[t] = acc;");
        let _ = writeln!(src, "    }}");
        let _ = writeln!(src, "}}");
        let grid = total.div_ceil(BLOCK as u64).clamp(1, 65_535 * 32) as u32;
        kernels.push(KernelLaunch {
            name,
            operands: st.operands.iter().map(|o| operand_name(*o)).collect(),
            out_elems: total,
            grid,
            block: BLOCK,
            shared_bytes: 0,
        });
    }
    let last = stage_shapes.len().saturating_sub(1);
    Ok(CudaProgram {
        binding: binding.name.clone(),
        source: src,
        kernels,
        tensor_shapes,
        output_shape: stage_shapes.get(last).cloned().unwrap_or_default(),
        workspace_elems: stage_shapes[..last]
            .iter()
            .map(|s| numel(s) as u64)
            .collect(),
        wide_index: wide,
    })
}

/// An index expression as C with every size a literal under `b`, constant subtrees folded and
/// Shift offsets reduced modulo their extent.
pub fn c_expr(e: &Expr, b: &Binding) -> String {
    if let Some(v) = fold(e, b) {
        return v.to_string();
    }
    let r = |x: &Expr| c_expr(x, b);
    match e {
        Expr::Iter(Iter::Out(i)) => format!("o{i}"),
        Expr::Iter(Iter::Red(j)) => format!("r{j}"),
        Expr::Const(c) => c.to_string(),
        Expr::Size(s) => s.eval(b).unwrap_or(0).to_string(),
        Expr::Add(x, y) => format!("({} + {})", r(x), r(y)),
        Expr::Sub(x, y) => format!("({} - {})", r(x), r(y)),
        Expr::Mul(x, y) => format!("({} * {})", r(x), r(y)),
        Expr::Div(x, y) => format!("KAS_DIV({}, {})", r(x), r(y)),
        Expr::Mod(x, y) => {
            // (i + c) mod n with a constant c: reduce c first so i + c stays small.
            if let (Expr::Add(i, c), Some(n)) = (&**x, fold(y, b))
                && let Some(c) = fold(c, b)
                && n > 0
            {
                let c = c.rem_euclid(n);
                return format!("KAS_MOD({} + {c}, {n})", r(i));
            }
            format!("KAS_MOD({}, {})", r(x), r(y))
        }
    }
}

/// The value of an iterator-free expression, if it fits in an `i64`.
fn fold(e: &Expr, b: &Binding) -> Option<i64> {
    let v: i128 = match e {
        Expr::Iter(_) => return None,
        Expr::Const(c) => *c as i128,
        Expr::Size(s) => s.eval(b)? as i128,
        Expr::Add(x, y) => fold(x, b)? as i128 + fold(y, b)? as i128,
        Expr::Sub(x, y) => fold(x, b)? as i128 - fold(y, b)? as i128,
        Expr::Mul(x, y) => fold(x, b)? as i128 * fold(y, b)? as i128,
        Expr::Div(x, y) => {
            let d = fold(y, b)? as i128;
            if d == 0 {
                return None;
            }
            (fold(x, b)? as i128).div_euclid(d)
        }
        Expr::Mod(x, y) => {
            let d = fold(y, b)? as i128;
            if d == 0 {
                return None;
            }
            (fold(x, b)? as i128).rem_euclid(d)
        }
    };
    i64::try_from(v).ok()
}
