//! The graph kernel: nodes in data-flow order over one variable table, and its checks.

use crate::error::{GraphError, Result};
use crate::node::{Node, NodeId, NodeOp, infer_shape};
use kas_primitives::{Binding, Size, VarTable};

/// Name of the input node in files and printouts.
pub const INPUT_NAME: &str = "input";

/// A Canvas-style kernel: a DAG of linear operators and non-linear nodes from one input tensor
/// to one output node (`docs/ARCHITECTURE.md`, "Graph kernels").
///
/// `nodes[0]` is the input; every other node reads earlier nodes only, so the list is in
/// data-flow order. Every node's shape is symbolic over `vars` and legal under every binding.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphKernel {
    /// Name of the kernel.
    pub name: String,
    /// Variables every size refers to (shared by the linear nodes' operators).
    pub vars: VarTable,
    /// Bindings under which every size is checked legal.
    pub bindings: Vec<Binding>,
    /// The nodes, input first, in data-flow order.
    pub nodes: Vec<Node>,
    /// The node whose value is the kernel's output.
    pub output: NodeId,
}

impl GraphKernel {
    /// A kernel holding only its input, of symbolic shape `input` (also its output, until a
    /// node is pushed).
    pub fn new(
        name: &str,
        vars: VarTable,
        bindings: Vec<Binding>,
        input: Vec<Size>,
    ) -> Result<Self> {
        vars.validate()?;
        if input.is_empty() {
            return Err(GraphError::InvalidGraph("the input has no axis".into()));
        }
        for s in &input {
            s.check_legal(&vars, &bindings)?;
        }
        Ok(GraphKernel {
            name: name.to_string(),
            vars,
            bindings,
            nodes: vec![Node {
                name: INPUT_NAME.into(),
                op: NodeOp::Input,
                inputs: Vec::new(),
                shape: input,
            }],
            output: NodeId(0),
        })
    }

    /// The input node.
    pub fn input(&self) -> NodeId {
        NodeId(0)
    }

    /// A node.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// A node's symbolic shape.
    pub fn shape(&self, id: NodeId) -> &[Size] {
        &self.nodes[id.index()].shape
    }

    /// A node's concrete shape under a binding.
    pub fn concrete(&self, id: NodeId, b: &Binding) -> Result<Vec<usize>> {
        self.shape(id)
            .iter()
            .map(|s| {
                s.eval(b)
                    .map(|v| v as usize)
                    .ok_or_else(|| GraphError::InvalidNode {
                        node: self.node(id).name.clone(),
                        reason: format!(
                            "size {} is not a positive integer under binding `{}`",
                            s.display(&self.vars),
                            b.name
                        ),
                    })
            })
            .collect()
    }

    /// Appends a node named `n<index>` and makes it the output; returns its id.
    pub fn push(&mut self, op: NodeOp, inputs: &[NodeId]) -> Result<NodeId> {
        let name = format!("n{}", self.nodes.len());
        self.push_named(&name, op, inputs)
    }

    /// Appends a named node (its shape inferred and checked) and makes it the output.
    pub fn push_named(&mut self, name: &str, op: NodeOp, inputs: &[NodeId]) -> Result<NodeId> {
        let bad = |reason: String| GraphError::InvalidNode {
            node: name.to_string(),
            reason,
        };
        if self.nodes.iter().any(|n| n.name == name) {
            return Err(bad("name used twice".into()));
        }
        if let Some(i) = inputs.iter().find(|i| i.index() >= self.nodes.len()) {
            return Err(bad(format!("reads node #{} that does not exist yet", i.0)));
        }
        if let NodeOp::Linear(lin) = &op {
            if lin.vars != self.vars {
                return Err(bad("the operator's variables are not the kernel's".into()));
            }
            lin.validate().map_err(|e| bad(e.to_string()))?;
        }
        let shapes: Vec<&[Size]> = inputs.iter().map(|&i| self.shape(i)).collect();
        let shape = infer_shape(&op, &shapes).map_err(bad)?;
        for s in &shape {
            s.check_legal(&self.vars, &self.bindings)
                .map_err(|e| bad(e.to_string()))?;
        }
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(Node {
            name: name.to_string(),
            op,
            inputs: inputs.to_vec(),
            shape,
        });
        self.output = id;
        Ok(id)
    }

    /// For each node, the nodes that read it.
    pub fn consumers(&self) -> Vec<Vec<NodeId>> {
        let mut c = vec![Vec::new(); self.nodes.len()];
        for (k, n) in self.nodes.iter().enumerate() {
            for i in &n.inputs {
                c[i.index()].push(NodeId(k as u32));
            }
        }
        c
    }

    /// Which nodes the output depends on (the output included).
    pub fn live(&self) -> Vec<bool> {
        let mut live = vec![false; self.nodes.len()];
        if self.output.index() < self.nodes.len() {
            live[self.output.index()] = true;
        }
        for k in (0..self.nodes.len()).rev() {
            if live[k] {
                for i in &self.nodes[k].inputs {
                    if i.index() < k {
                        live[i.index()] = true;
                    }
                }
            }
        }
        live
    }

    /// Number of linear nodes.
    pub fn linear_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.op.is_linear()).count()
    }

    /// Checks every rule: node 0 is the only input; names are unique; every node reads
    /// earlier nodes with the right arity; every stored shape is the inferred one and legal
    /// under every binding; linear nodes are valid operators over the kernel's variables;
    /// every node feeds the output; the output is not the input.
    pub fn validate(&self) -> Result<()> {
        self.vars.validate()?;
        let Some(first) = self.nodes.first() else {
            return Err(GraphError::InvalidGraph("no input node".into()));
        };
        if first.op != NodeOp::Input || !first.inputs.is_empty() {
            return Err(GraphError::InvalidGraph("node 0 must be the input".into()));
        }
        let mut rebuilt = GraphKernel::new(
            &self.name,
            self.vars.clone(),
            self.bindings.clone(),
            first.shape.clone(),
        )?;
        rebuilt.nodes[0].name = first.name.clone();
        for (k, n) in self.nodes.iter().enumerate().skip(1) {
            if let Some(i) = n.inputs.iter().find(|i| i.index() >= k) {
                return Err(GraphError::InvalidNode {
                    node: n.name.clone(),
                    reason: format!("reads node #{} that is not earlier", i.0),
                });
            }
            rebuilt.push_named(&n.name, n.op.clone(), &n.inputs)?;
            if rebuilt.nodes[k].shape != n.shape {
                return Err(GraphError::InvalidNode {
                    node: n.name.clone(),
                    reason: "stored shape is not the inferred one".into(),
                });
            }
        }
        if self.output.index() >= self.nodes.len() || self.output.index() == 0 {
            return Err(GraphError::InvalidGraph(
                "the output must be a node other than the input".into(),
            ));
        }
        if let Some(k) = self.live().iter().position(|&l| !l) {
            return Err(GraphError::InvalidGraph(format!(
                "node `{}` does not feed the output",
                self.nodes[k].name
            )));
        }
        Ok(())
    }

    /// A copy with only the nodes the output depends on (ids renumbered, order kept).
    pub fn pruned(&self) -> GraphKernel {
        let live = self.live();
        let mut map = vec![None; self.nodes.len()];
        let mut nodes = Vec::new();
        for (k, n) in self.nodes.iter().enumerate() {
            if live[k] || k == 0 {
                map[k] = Some(NodeId(nodes.len() as u32));
                let mut n = n.clone();
                n.inputs = n
                    .inputs
                    .iter()
                    .map(|i| map[i.index()].expect("earlier live node"))
                    .collect();
                nodes.push(n);
            }
        }
        GraphKernel {
            name: self.name.clone(),
            vars: self.vars.clone(),
            bindings: self.bindings.clone(),
            output: map[self.output.index()].expect("output is live"),
            nodes,
        }
    }
}
