//! Graphviz of a graph kernel's node DAG, built with petgraph.

use super::text::node_label;
use crate::kernel::GraphKernel;
use crate::node::NodeOp;
use petgraph::dot::{Config, Dot};
use petgraph::graph::DiGraph;

/// Shape and color of a node by its kind.
fn attrs(op: &NodeOp) -> &'static str {
    match op {
        NodeOp::Input => r#"shape = box, style = "filled,bold", fillcolor = lightblue"#,
        NodeOp::Linear(_) => r#"shape = box, style = filled, fillcolor = lightsalmon"#,
        NodeOp::Unary(_) | NodeOp::Softmax { .. } => "shape = ellipse",
        NodeOp::CausalSoftmax { .. } | NodeOp::PrefixMean { .. } => {
            r#"shape = ellipse, style = filled, fillcolor = lightcyan"#
        }
        NodeOp::Fold { .. } => r#"shape = invtriangle, style = filled, fillcolor = lightgray"#,
        NodeOp::Blend { .. } => r#"shape = diamond, style = filled, fillcolor = khaki"#,
        NodeOp::Bmm { .. } => r#"shape = doubleoctagon, style = filled, fillcolor = plum"#,
    }
}

/// The kernel as a Graphviz digraph: one node per graph node (its assignment and shape; the
/// output in green), one edge per input labelled `lhs`/`rhs` for binary nodes.
pub fn dot(g: &GraphKernel) -> String {
    let mut dg: DiGraph<(String, &'static str), String> = DiGraph::new();
    let ids: Vec<_> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(k, n)| {
            let shape: Vec<String> = n.shape.iter().map(|s| s.display(&g.vars)).collect();
            let label = format!("{} = {}\\n[{}]", n.name, node_label(g, n), shape.join(", "));
            let a = if k == g.output.index() {
                r#"shape = box, style = filled, fillcolor = palegreen"#
            } else {
                attrs(&n.op)
            };
            dg.add_node((label, a))
        })
        .collect();
    for (k, n) in g.nodes.iter().enumerate() {
        for (i, src) in n.inputs.iter().enumerate() {
            let label = match (n.inputs.len(), i) {
                (1, _) => String::new(),
                (_, 0) => "lhs".into(),
                _ => "rhs".into(),
            };
            dg.add_edge(ids[src.index()], ids[k], label);
        }
    }
    let d = Dot::with_attr_getters(
        &dg,
        &[Config::EdgeNoLabel, Config::NodeNoLabel],
        &|_, e| format!("label = \"{}\"", e.weight()),
        &|_, (_, (label, a))| format!("label = \"{}\", {a}", label.replace('"', "'")),
    );
    format!("{d:?}")
}
