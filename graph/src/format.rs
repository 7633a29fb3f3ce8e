//! The graph kernel file (`docs/FORMAT.md`, kind `kas-graph`, version 2; version 1 files,
//! which lack the causal nodes, are still read).
//!
//! The file lists the kernel's variables and bindings once, the input's symbolic shape, then
//! the nodes in data-flow order, each with a unique name, what it computes and the names of
//! its inputs (`input` is the kernel's input). A linear node carries the program of a
//! `kas-operator` file without its header, variables and bindings (they are the kernel's).
//! Shapes are derived, never stored; reading checks everything [`GraphKernel::validate`]
//! checks.

use crate::error::{GraphError, Result};
use crate::kernel::{GraphKernel, INPUT_NAME};
use crate::node::{BlendKind, FoldKind, NodeId, NodeOp, Unary};
use kas_primitives::format::{
    DimDecl, OPERATOR_KIND, OPERATOR_VERSION, OperatorFile, StepDecl, check_kind, parse_ron, to_ron,
};
use kas_primitives::spec::parse_shape;
use kas_primitives::{NamedBinding, VarTable};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Type tag of graph kernel files.
pub const GRAPH_KIND: &str = "kas-graph";
/// Current version of the graph kernel file format.
pub const GRAPH_VERSION: u32 = 2;

/// A graph kernel file as read from / written to RON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphFile {
    /// Type tag: `"kas-graph"`.
    pub kind: String,
    /// Format version: 1 or 2 (2 adds the causal nodes; written as 2).
    pub version: u32,
    /// Name of the kernel.
    pub name: String,
    /// Free-form description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Variables every size refers to.
    pub variables: VarTable,
    /// Named bindings under which the kernel is checked (may be empty).
    #[serde(default)]
    pub bindings: Vec<NamedBinding>,
    /// The input's symbolic shape, e.g. `"[N, C_in, H, H]"`.
    pub input: String,
    /// The nodes, in data-flow order.
    pub nodes: Vec<NodeDecl>,
    /// Name of the output node.
    pub output: String,
}

/// One node of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeDecl {
    /// Unique name (not `input`).
    pub name: String,
    /// What it computes.
    pub op: OpDecl,
    /// Names of its inputs (lhs first).
    pub inputs: Vec<String>,
}

/// What a node computes, as written in files (see [`NodeOp`] for the semantics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OpDecl {
    /// A complete kas operator.
    Linear(LinearDecl),
    /// An element-wise function.
    Unary(Unary),
    /// Mean or maximum over axes.
    Fold {
        /// Axes removed.
        axes: Vec<usize>,
        /// Mean or maximum.
        kind: FoldKind,
    },
    /// Softmax along an axis.
    Softmax {
        /// The axis.
        axis: usize,
    },
    /// Causal softmax along `key`, masked above the `query` index (version 2).
    CausalSoftmax {
        /// The reading position's axis.
        query: usize,
        /// The axis normalised.
        key: usize,
    },
    /// Prefix mean along an axis (version 2).
    PrefixMean {
        /// The axis.
        axis: usize,
    },
    /// Broadcast blend of lhs onto rhs.
    Blend {
        /// The element-wise operation.
        kind: BlendKind,
        /// Rhs axis of each lhs axis.
        map: Vec<usize>,
    },
    /// Matrix product between two tensors.
    Bmm {
        /// Leading batch axes.
        batch: usize,
        /// Contracted lhs axes.
        lhs_contract: Vec<usize>,
        /// Contracted rhs axes.
        rhs_contract: Vec<usize>,
        /// Divide by `√K` (default false).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        scaled: bool,
    },
}

/// The program of a linear node: the body of a `kas-operator` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearDecl {
    /// Input tensor axes (their sizes must be the input node's shape).
    pub input: Vec<DimDecl>,
    /// Steps, in data-flow order.
    pub steps: Vec<StepDecl>,
    /// Output axes.
    pub output: Vec<String>,
    /// Channel-like input and output axes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unordered: Vec<String>,
}

/// Parses and checks a graph kernel file (named `path` in errors).
pub fn read_graph(text: &str, path: &str) -> Result<GraphKernel> {
    check_kind(text, path, GRAPH_KIND, GRAPH_VERSION)?;
    let file: GraphFile = parse_ron(text, path)?;
    let causal = |n: &NodeDecl| {
        matches!(
            n.op,
            OpDecl::CausalSoftmax { .. } | OpDecl::PrefixMean { .. }
        )
    };
    if file.version < 2
        && let Some(n) = file.nodes.iter().find(|n| causal(n))
    {
        return Err(GraphError::Format {
            path: path.to_string(),
            message: format!(
                "node `{}`: causal nodes need version 2 (the file says version {})",
                n.name, file.version
            ),
        });
    }
    file.to_kernel().map_err(|e| GraphError::Format {
        path: path.to_string(),
        message: e.to_string(),
    })
}

/// Writes a graph kernel as the text of a graph kernel file.
pub fn write_graph(g: &GraphKernel, description: &str) -> Result<String> {
    Ok(to_ron(&GraphFile::from_kernel(g, description)?))
}

impl GraphFile {
    /// Builds and checks the kernel the file describes.
    pub fn to_kernel(&self) -> Result<GraphKernel> {
        let vars = self.variables.clone();
        vars.validate()?;
        let bindings = self
            .bindings
            .iter()
            .map(|b| b.resolve(&vars))
            .collect::<kas_primitives::Result<Vec<_>>>()?;
        let input = parse_shape(&self.input, &vars)?
            .into_iter()
            .map(|d| d.size)
            .collect();
        let mut g = GraphKernel::new(&self.name, vars, bindings, input)?;
        let mut ids: HashMap<&str, NodeId> = HashMap::from([(INPUT_NAME, NodeId(0))]);
        for n in &self.nodes {
            let inputs = n
                .inputs
                .iter()
                .map(|i| {
                    ids.get(i.as_str())
                        .copied()
                        .ok_or_else(|| GraphError::InvalidNode {
                            node: n.name.clone(),
                            reason: format!("reads `{i}`, which is not an earlier node"),
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            let op = self.node_op(n)?;
            let id = g.push_named(&n.name, op, &inputs)?;
            ids.insert(&n.name, id);
        }
        g.output = *ids.get(self.output.as_str()).ok_or_else(|| {
            GraphError::InvalidGraph(format!("no node `{}` to output", self.output))
        })?;
        g.validate()?;
        Ok(g)
    }

    fn node_op(&self, n: &NodeDecl) -> Result<NodeOp> {
        Ok(match &n.op {
            OpDecl::Linear(l) => {
                let file = OperatorFile {
                    kind: OPERATOR_KIND.into(),
                    version: OPERATOR_VERSION,
                    name: n.name.clone(),
                    description: String::new(),
                    variables: self.variables.clone(),
                    bindings: self.bindings.clone(),
                    input: l.input.clone(),
                    steps: l.steps.clone(),
                    output: l.output.clone(),
                    unordered: l.unordered.clone(),
                };
                let op = file.to_operator().map_err(|e| GraphError::InvalidNode {
                    node: n.name.clone(),
                    reason: e.to_string(),
                })?;
                NodeOp::Linear(Box::new(op))
            }
            OpDecl::Unary(u) => NodeOp::Unary(*u),
            OpDecl::Fold { axes, kind } => NodeOp::Fold {
                axes: axes.clone(),
                kind: *kind,
            },
            OpDecl::Softmax { axis } => NodeOp::Softmax { axis: *axis },
            OpDecl::CausalSoftmax { query, key } => NodeOp::CausalSoftmax {
                query: *query,
                key: *key,
            },
            OpDecl::PrefixMean { axis } => NodeOp::PrefixMean { axis: *axis },
            OpDecl::Blend { kind, map } => NodeOp::Blend {
                kind: *kind,
                map: map.clone(),
            },
            OpDecl::Bmm {
                batch,
                lhs_contract,
                rhs_contract,
                scaled,
            } => NodeOp::Bmm {
                batch: *batch,
                lhs_contract: lhs_contract.clone(),
                rhs_contract: rhs_contract.clone(),
                scaled: *scaled,
            },
        })
    }

    /// The file form of a (valid) kernel.
    pub fn from_kernel(g: &GraphKernel, description: &str) -> Result<GraphFile> {
        let name = |id: NodeId| {
            if id == g.input() {
                INPUT_NAME.to_string()
            } else {
                g.node(id).name.clone()
            }
        };
        let mut nodes = Vec::new();
        for n in &g.nodes[1..] {
            let op = match &n.op {
                NodeOp::Input => {
                    return Err(GraphError::InvalidGraph("a second input node".into()));
                }
                NodeOp::Linear(op) => {
                    let f = OperatorFile::from_operator(&n.name, "", op)?;
                    OpDecl::Linear(LinearDecl {
                        input: f.input,
                        steps: f.steps,
                        output: f.output,
                        unordered: f.unordered,
                    })
                }
                NodeOp::Unary(u) => OpDecl::Unary(*u),
                NodeOp::Fold { axes, kind } => OpDecl::Fold {
                    axes: axes.clone(),
                    kind: *kind,
                },
                NodeOp::Softmax { axis } => OpDecl::Softmax { axis: *axis },
                NodeOp::CausalSoftmax { query, key } => OpDecl::CausalSoftmax {
                    query: *query,
                    key: *key,
                },
                NodeOp::PrefixMean { axis } => OpDecl::PrefixMean { axis: *axis },
                NodeOp::Blend { kind, map } => OpDecl::Blend {
                    kind: *kind,
                    map: map.clone(),
                },
                NodeOp::Bmm {
                    batch,
                    lhs_contract,
                    rhs_contract,
                    scaled,
                } => OpDecl::Bmm {
                    batch: *batch,
                    lhs_contract: lhs_contract.clone(),
                    rhs_contract: rhs_contract.clone(),
                    scaled: *scaled,
                },
            };
            nodes.push(NodeDecl {
                name: n.name.clone(),
                op,
                inputs: n.inputs.iter().map(|&i| name(i)).collect(),
            });
        }
        let shape: Vec<String> = g.nodes[0]
            .shape
            .iter()
            .map(|s| s.display(&g.vars))
            .collect();
        Ok(GraphFile {
            kind: GRAPH_KIND.into(),
            version: GRAPH_VERSION,
            name: g.name.clone(),
            description: description.to_string(),
            variables: g.vars.clone(),
            bindings: g
                .bindings
                .iter()
                .map(|b| NamedBinding::from_binding(b, &g.vars))
                .collect(),
            input: format!("[{}]", shape.join(", ")),
            nodes,
            output: name(g.output),
        })
    }
}
