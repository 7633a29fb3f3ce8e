//! The direct (reference) kernel: one thread per element of the stage's result, in a
//! grid-stride loop, the stage's reductions as nested loops, every zero-padding guard tested
//! before any read.

use super::kernel::KernelSource;
use std::fmt::Write as _;

/// The reference kernel: one thread per result element (grid-stride loop) in the order of the
/// layout it writes, the reductions as nested loops, every guard tested before any read.
pub(super) fn emit_direct(src: &mut String, k: &KernelSource<'_>) {
    let idx = k.idx;
    let total = k.shape.iter().product::<u64>();
    let _ = writeln!(
        src,
        "extern \"C\" __global__ void {}({})",
        k.name,
        k.params()
    );
    let _ = writeln!(src, "{{");
    let _ = writeln!(
        src,
        "    for ({idx} t = ({idx})blockIdx.x * blockDim.x + threadIdx.x; t < ({idx}){total}; t += ({idx})gridDim.x * blockDim.x) {{"
    );
    let _ = writeln!(src, "        {idx} rem = t;");
    // Consecutive threads take consecutive elements of the layout the result is written in.
    k.unflatten("        ", "rem", k.layout, src);
    if k.shape.is_empty() {
        let _ = writeln!(src, "        (void)rem;");
    }
    let _ = writeln!(src, "        float acc = 0.0f;");
    let mut indent = String::from("        ");
    for (j, n) in k.red.iter().enumerate() {
        let _ = writeln!(src, "{indent}for ({idx} r{j} = 0; r{j} < {n}; ++r{j}) {{");
        indent.push_str("    ");
    }
    // Every guard is tested before any operand is read.
    let cond = k.guard_code(&indent, &|_| true, src);
    let factors: Vec<String> = k
        .operands
        .iter()
        .map(|a| k.as_f32(&format!("{}[{}]", a.name, a.flat(k.binding, &k.ranges))))
        .collect();
    match cond {
        None => {
            let _ = writeln!(src, "{indent}acc += {};", factors.join(" * "));
        }
        Some(c) => {
            let _ = writeln!(src, "{indent}if ({c}) acc += {};", factors.join(" * "));
        }
    }
    for _ in k.red {
        indent.truncate(indent.len() - 4);
        let _ = writeln!(src, "{indent}}}");
    }
    let _ = writeln!(src, "        out[t] = {};", k.to_storage("acc"));
    let _ = writeln!(src, "    }}");
    let _ = writeln!(src, "}}");
}
