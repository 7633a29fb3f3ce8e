//! Pseudo-C of a graph kernel: one assignment per node in data-flow order, each linear node
//! followed by its operator's loop nest ([`kas_primitives::print::loops_text`]).

use crate::kernel::GraphKernel;
use crate::node::{Node, NodeOp};
use std::fmt::Write as _;

/// Comma-separated axis list `{2, 3}`.
fn axes(a: &[usize]) -> String {
    let parts: Vec<String> = a.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", parts.join(", "))
}

/// The right-hand side of a node's assignment, e.g. `fold_max(n2, axes {2, 3})`.
pub fn node_label(g: &GraphKernel, n: &Node) -> String {
    let arg = |i: usize| g.node(n.inputs[i]).name.clone();
    match &n.op {
        NodeOp::Input => "input".into(),
        NodeOp::Linear(op) => format!(
            "linear_{}({}, {} weight{})",
            n.name,
            arg(0),
            op.weights.len(),
            if op.weights.len() == 1 { "" } else { "s" }
        ),
        NodeOp::Unary(u) => format!("{}({})", u.name(), arg(0)),
        NodeOp::Fold { axes: a, kind } => {
            let k = match kind {
                crate::FoldKind::Avg => "avg",
                crate::FoldKind::Max => "max",
            };
            format!("fold_{k}({}, axes {})", arg(0), axes(a))
        }
        NodeOp::Softmax { axis } => format!("softmax({}, axis {axis})", arg(0)),
        NodeOp::CausalSoftmax { query, key } => {
            format!(
                "causal_softmax({}, axis {key}, masked above axis {query})",
                arg(0)
            )
        }
        NodeOp::PrefixMean { axis } => format!("prefix_mean({}, axis {axis})", arg(0)),
        NodeOp::Blend { kind, map } => {
            format!(
                "{}({} onto axes {}, {})",
                kind.name(),
                arg(0),
                axes(map),
                arg(1)
            )
        }
        NodeOp::Bmm {
            batch,
            lhs_contract,
            rhs_contract,
            scaled,
        } => format!(
            "bmm({}, {}, batch {batch}, contract {} with {}{})",
            arg(0),
            arg(1),
            axes(lhs_contract),
            axes(rhs_contract),
            if *scaled { ", scaled" } else { "" }
        ),
    }
}

/// The kernel as pseudo-C, e.g.
///
/// ```text
/// // graph kernel `se`: [N, C, H, W] -> [N, C, H, W]
/// double input[N][C][H][W];
/// double n1[N][C] = fold_avg(input, axes {2, 3});
/// double n2[N][C] = linear_n2(n1, 1 weight);
///     out = 0
///     …
/// double n3[N][C] = sigmoid(n2);
/// double n4[N][C][H][W] = mul(n3 onto axes {0, 1}, input);
/// return n4;
/// ```
pub fn pseudo_c(g: &GraphKernel) -> String {
    let dims = |n: &Node| -> String {
        n.shape
            .iter()
            .map(|s| format!("[{}]", s.display(&g.vars)))
            .collect()
    };
    let list = |n: &Node| -> String {
        let v: Vec<String> = n.shape.iter().map(|s| s.display(&g.vars)).collect();
        format!("[{}]", v.join(", "))
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// graph kernel `{}`: {} -> {}",
        g.name,
        list(&g.nodes[0]),
        list(g.node(g.output))
    );
    for n in &g.nodes {
        if n.op == NodeOp::Input {
            let _ = writeln!(s, "double {}{};", n.name, dims(n));
            continue;
        }
        let _ = writeln!(s, "double {}{} = {};", n.name, dims(n), node_label(g, n));
        if let NodeOp::Linear(op) = &n.op {
            for line in kas_primitives::print::loops_text(op).lines() {
                let _ = writeln!(s, "    {line}");
            }
        }
    }
    let _ = writeln!(s, "return {};", g.node(g.output).name);
    s
}
