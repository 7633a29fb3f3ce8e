//! Graphviz of the primitive DAG, built with petgraph.

use super::c::tensor_name;
use crate::graph::{DimId, Op, Sink, Source};
use crate::operator::Operator;
use petgraph::dot::{Config, Dot};
use petgraph::graph::{DiGraph, NodeIndex};
use std::fmt;

/// What a node stands for; decides its shape and color.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Input,
    Weight,
    View,
    Expand,
    Share,
    Reduce,
    Output,
}

impl Kind {
    fn attrs(self) -> &'static str {
        match self {
            Kind::Input => r#"shape = box, style = "filled,bold", fillcolor = lightblue"#,
            Kind::Weight => r#"shape = box, style = filled, fillcolor = lightsalmon"#,
            Kind::View => "shape = ellipse",
            Kind::Expand => "shape = ellipse, style = dashed",
            Kind::Share => r#"shape = diamond, style = filled, fillcolor = khaki"#,
            Kind::Reduce => r#"shape = invtriangle, style = filled, fillcolor = lightgray"#,
            Kind::Output => r#"shape = box, style = filled, fillcolor = palegreen"#,
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    label: String,
    kind: Kind,
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

#[derive(Debug, Clone)]
struct Edge {
    label: String,
    weight_axis: bool,
    /// Role of the dim at its source step, where the step has several outputs.
    tail: Option<&'static str>,
    /// Role of the dim at its sink step, where the step has several inputs of distinct roles.
    head: Option<&'static str>,
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// Escapes a Graphviz string (to be put between double quotes).
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The label of a step: its kind and parameters (`Unfold k`, `Shift +1`, `Stride s`).
fn step_label(op: &Operator, step: &Op) -> String {
    let vars = &op.vars;
    match *step {
        Op::Shift { offset, .. } => format!("Shift {offset:+}"),
        Op::Stride { stride, .. } => format!("Stride {}", stride.display(vars)),
        Op::Unfold { window, .. } => format!("Unfold {}", op.size(window).display(vars)),
        _ => step.kind().to_string(),
    }
}

/// The role of `d` among the outputs of `step` (Split, Unfold), if it needs saying.
fn output_role(step: &Op, d: DimId) -> Option<&'static str> {
    match *step {
        Op::Split { outer, .. } => Some(if d == outer { "outer" } else { "inner" }),
        Op::Unfold { main, .. } => Some(if d == main { "main" } else { "window" }),
        _ => None,
    }
}

/// The role of `d` among the inputs of `step` (Merge), if it needs saying.
fn input_role(step: &Op, d: DimId) -> Option<&'static str> {
    match *step {
        Op::Merge { outer, .. } => Some(if d == outer { "outer" } else { "inner" }),
        _ => None,
    }
}

fn step_kind(step: &Op) -> Kind {
    match step {
        Op::Expand { .. } => Kind::Expand,
        Op::Share { .. } => Kind::Share,
        Op::Reduce { .. } => Kind::Reduce,
        _ => Kind::View,
    }
}

/// The primitive DAG of `op` in Graphviz `dot` syntax.
///
/// Nodes: the input tensor (a box, at the top) and each weight (boxes), each primitive step (labelled
/// with its kind and parameters; views are ellipses, Expand dashed, Share a diamond, Reduce an
/// inverted triangle) and each output axis (boxes, at the bottom). Edges are the dimensions,
/// labelled `name: size`, pointing in data-flow direction; weight axes are drawn in another
/// color, and the outputs of Split and Unfold and the inputs of Merge carry their role
/// (`outer`/`inner`, `main`/`window`) at the step's end. The output is deterministic: nodes and edges in arena order.
pub fn dot(op: &Operator) -> String {
    let mut g: DiGraph<Node, Edge> = DiGraph::new();
    let vars = &op.vars;
    let shape = |t: usize| -> String {
        let parts: Vec<String> = (op.tensor_shape(t).iter())
            .map(|s| s.display(vars))
            .collect();
        format!("{} [{}]", tensor_name(t), parts.join(", "))
    };
    let tensors: Vec<NodeIndex> = (0..op.tensor_count())
        .map(|t| {
            let kind = if t == 0 { Kind::Input } else { Kind::Weight };
            g.add_node(Node {
                label: shape(t),
                kind,
            })
        })
        .collect();
    let steps: Vec<NodeIndex> = (op.ops.iter())
        .map(|s| {
            g.add_node(Node {
                label: step_label(op, s),
                kind: step_kind(s),
            })
        })
        .collect();
    let outputs: Vec<NodeIndex> = (0..op.outputs.len())
        .map(|i| {
            g.add_node(Node {
                label: format!("out[{i}]"),
                kind: Kind::Output,
            })
        })
        .collect();
    for (i, d) in op.dims.iter().enumerate() {
        let id = DimId(i as u32);
        let from = match d.source {
            Source::Input(_) => tensors[0],
            Source::Weight { weight, .. } => tensors[weight + 1],
            Source::Op(k) => steps[k],
        };
        let to = match d.sink {
            Some(Sink::Op(k)) => steps[k],
            Some(Sink::Output(i)) => outputs[i],
            None => continue,
        };
        g.add_edge(
            from,
            to,
            Edge {
                label: format!("{}: {}", d.name, d.size.display(vars)),
                weight_axis: matches!(d.source, Source::Weight { .. }),
                tail: match d.source {
                    Source::Op(k) => output_role(&op.ops[k], id),
                    _ => None,
                },
                head: match d.sink {
                    Some(Sink::Op(k)) => input_role(&op.ops[k], id),
                    _ => None,
                },
            },
        );
    }
    let edge_attrs = |_, e: petgraph::graph::EdgeReference<'_, Edge>| {
        let w = e.weight();
        let color = if w.weight_axis {
            ", color = chocolate"
        } else {
            ""
        };
        let mut a = format!(r#"label = "{}"{color}"#, quote(&w.label));
        if let Some(t) = w.tail {
            a.push_str(&format!(r#", taillabel = "{t}""#));
        }
        if let Some(h) = w.head {
            a.push_str(&format!(r#", headlabel = "{h}""#));
        }
        a
    };
    let node_attrs = |_, (_, n): (NodeIndex, &Node)| {
        format!(r#"label = "{}", {}"#, quote(&n.label), n.kind.attrs())
    };
    let config = [
        Config::EdgeNoLabel,
        Config::NodeNoLabel,
        Config::GraphContentOnly,
    ];
    let body = Dot::with_attr_getters(&g, &config, &edge_attrs, &node_attrs);
    let rank = |nodes: &[NodeIndex]| -> String {
        let ids: Vec<String> = nodes.iter().map(|n| n.index().to_string()).collect();
        ids.join("; ")
    };
    format!(
        "digraph {{\n    rankdir = TB\n    node [fontname = \"Helvetica\"]\n    \
         edge [fontname = \"Helvetica\", fontsize = 10, labelfontsize = 8]\n    \
         {{ rank = source; {}; }}\n    {{ rank = sink; {}; }}\n{body}}}\n",
        rank(&tensors[..1]),
        rank(&outputs)
    )
}
