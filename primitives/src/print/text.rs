//! A compact pseudo-code form of the loop nest, for terminals.

use super::c::tensor_name;
use crate::expr::Accesses;
use crate::operator::Operator;
use crate::size::Size;
use std::fmt::Write as _;

/// The loop nest of `op` as pseudo-code with the iterators `o0, o1, …` (outputs) and
/// `r0, r1, …` (reductions), e.g.
///
/// ```text
/// out = 0
/// for o0 < N, o1 < C_out, o2 < H:
///   for r0 < C_in, r1 < k:
///     if 0 <= o2 + r1 - k div 2 < H:
///       out[o0, o1, o2] += in[o0, r0, o2 + r1 - k div 2] * w1[o1, r0, r1]
/// ```
pub fn loops_text(op: &Operator) -> String {
    let acc = Accesses::of(op);
    let vars = &op.vars;
    let header = |prefix: &str, sizes: &[Size]| -> String {
        let parts: Vec<String> = (sizes.iter().enumerate())
            .map(|(i, s)| format!("{prefix}{i} < {}", s.display(vars)))
            .collect();
        format!("for {}:", parts.join(", "))
    };
    let mut s = String::from("out = 0\n");
    let mut depth = 0;
    let line = |s: &mut String, depth: usize, text: &str| {
        let _ = writeln!(s, "{}{text}", "  ".repeat(depth));
    };
    line(&mut s, depth, &header("o", &acc.out_sizes));
    depth += 1;
    if !acc.red_sizes.is_empty() {
        line(&mut s, depth, &header("r", &acc.red_sizes));
        depth += 1;
    }
    if !acc.guards.is_empty() {
        let tests: Vec<String> = (acc.guards.iter())
            .map(|g| format!("0 <= {} < {}", g.expr.display(vars), g.bound.display(vars)))
            .collect();
        line(&mut s, depth, &format!("if {}:", tests.join(" and ")));
        depth += 1;
    }
    let outs: Vec<String> = (0..acc.out_sizes.len()).map(|i| format!("o{i}")).collect();
    let factors: Vec<String> = (acc.tensors.iter().enumerate())
        .map(|(t, idx)| {
            let parts: Vec<String> = idx.iter().map(|e| e.display(vars)).collect();
            format!("{}[{}]", tensor_name(t), parts.join(", "))
        })
        .collect();
    line(
        &mut s,
        depth,
        &format!("out[{}] += {}", outs.join(", "), factors.join(" * ")),
    );
    s
}
