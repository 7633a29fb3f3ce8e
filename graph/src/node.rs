//! Nodes of a graph kernel: what each computes and the shape rule of each.

use kas_primitives::{Operator, Size};
use serde::{Deserialize, Serialize};

/// Position of a node in [`crate::GraphKernel::nodes`] (node 0 is the input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The index into the node list.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Element-wise functions: activations and element-wise math.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Unary {
    /// `max(x, 0)`.
    Relu,
    /// GeLU, tanh form: `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`.
    Gelu,
    /// `1 / (1 + e^−x)`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// `|x|`.
    Abs,
    /// `e^x`.
    Exp,
    /// `−x`.
    Neg,
    /// `sin(π x / 2)`.
    Sin,
    /// `√|x|` (total on the reals).
    Sqrt,
    /// `x²`.
    Sqr,
}

impl Unary {
    /// Every element-wise function.
    pub const ALL: [Unary; 10] = [
        Unary::Relu,
        Unary::Gelu,
        Unary::Sigmoid,
        Unary::Tanh,
        Unary::Abs,
        Unary::Exp,
        Unary::Neg,
        Unary::Sin,
        Unary::Sqrt,
        Unary::Sqr,
    ];

    /// The function's value at `x`.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Unary::Relu => x.max(0.0),
            Unary::Gelu => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
            }
            Unary::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Unary::Tanh => x.tanh(),
            Unary::Abs => x.abs(),
            Unary::Exp => x.exp(),
            Unary::Neg => -x,
            Unary::Sin => (std::f64::consts::FRAC_PI_2 * x).sin(),
            Unary::Sqrt => x.abs().sqrt(),
            Unary::Sqr => x * x,
        }
    }

    /// Lower-case name (`relu`, `sqrt`, …).
    pub fn name(self) -> &'static str {
        match self {
            Unary::Relu => "relu",
            Unary::Gelu => "gelu",
            Unary::Sigmoid => "sigmoid",
            Unary::Tanh => "tanh",
            Unary::Abs => "abs",
            Unary::Exp => "exp",
            Unary::Neg => "neg",
            Unary::Sin => "sin",
            Unary::Sqrt => "sqrt",
            Unary::Sqr => "sqr",
        }
    }
}

/// How a [`NodeOp::Fold`] reduces the axes it removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FoldKind {
    /// Mean (average pooling).
    Avg,
    /// Maximum (max pooling).
    Max,
}

/// The element-wise operation of a [`NodeOp::Blend`], `f(lhs, rhs)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BlendKind {
    /// `lhs + rhs`.
    Add,
    /// `lhs − rhs`.
    Sub,
    /// `lhs · rhs`.
    Mul,
    /// `max(lhs, rhs)`.
    Max,
    /// `min(lhs, rhs)`.
    Min,
}

impl BlendKind {
    /// Every blend.
    pub const ALL: [BlendKind; 5] = [
        BlendKind::Add,
        BlendKind::Sub,
        BlendKind::Mul,
        BlendKind::Max,
        BlendKind::Min,
    ];

    /// `f(lhs, rhs)`.
    pub fn apply(self, lhs: f64, rhs: f64) -> f64 {
        match self {
            BlendKind::Add => lhs + rhs,
            BlendKind::Sub => lhs - rhs,
            BlendKind::Mul => lhs * rhs,
            BlendKind::Max => lhs.max(rhs),
            BlendKind::Min => lhs.min(rhs),
        }
    }

    /// Whether `f(a, b) = f(b, a)`.
    pub fn commutative(self) -> bool {
        !matches!(self, BlendKind::Sub)
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            BlendKind::Add => "add",
            BlendKind::Sub => "sub",
            BlendKind::Mul => "mul",
            BlendKind::Max => "max",
            BlendKind::Min => "min",
        }
    }
}

/// What a node computes. Axes are positions in the input tensors' shapes.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeOp {
    /// The kernel's input tensor (node 0 only).
    Input,
    /// A complete kas operator over the kernel's variables, applied to one tensor whose shape
    /// is the operator's input shape; its weights are the node's parameters.
    Linear(Box<Operator>),
    /// An element-wise function.
    Unary(Unary),
    /// Removes `axes` (strictly increasing, not every axis) by their mean or maximum.
    Fold {
        /// The axes removed.
        axes: Vec<usize>,
        /// Mean or maximum.
        kind: FoldKind,
    },
    /// Softmax along one axis.
    Softmax {
        /// The axis normalised.
        axis: usize,
    },
    /// Causal softmax: softmax along `key` where, at each position, only the entries whose
    /// `key` index is at most the `query` index take part (the others are 0). The two axes
    /// are distinct and of one size (the sequence); this is what makes attention-like mixing
    /// between intermediates legal in a causal slot.
    CausalSoftmax {
        /// The axis of the reading position.
        query: usize,
        /// The axis normalised (masked above the query index).
        key: usize,
    },
    /// Prefix mean along one axis: `out[…, t, …] = mean over s ≤ t of x[…, s, …]` (a causal
    /// cumulative average).
    PrefixMean {
        /// The axis averaged.
        axis: usize,
    },
    /// `out[o] = f(lhs[o restricted to map], rhs[o])`: the lhs is broadcast onto the rhs, lhs
    /// axis `i` being rhs axis `map[i]` (`map` strictly increasing, sizes equal). The output
    /// has the rhs's shape. With `map = 0..rank` it is a plain element-wise blend.
    Blend {
        /// The element-wise operation.
        kind: BlendKind,
        /// Where each lhs axis lies in the rhs.
        map: Vec<usize>,
    },
    /// A matrix product between two tensors: the first `batch` axes are shared (equal sizes),
    /// lhs axis `lhs_contract[i]` is summed against rhs axis `rhs_contract[i]`; the output is
    /// the batch axes, then the lhs's free axes, then the rhs's free axes (each in order).
    /// When `scaled`, the sum is divided by `√K`, `K` the product of the contracted sizes (the
    /// attention scaling that keeps magnitudes independent of `K`).
    Bmm {
        /// Number of leading batch axes.
        batch: usize,
        /// Contracted lhs axes (each ≥ `batch`).
        lhs_contract: Vec<usize>,
        /// Contracted rhs axes, paired with `lhs_contract`.
        rhs_contract: Vec<usize>,
        /// Divide by `√K`.
        scaled: bool,
    },
}

impl NodeOp {
    /// Number of input tensors.
    pub fn arity(&self) -> usize {
        match self {
            NodeOp::Input => 0,
            NodeOp::Blend { .. } | NodeOp::Bmm { .. } => 2,
            _ => 1,
        }
    }

    /// Short name of the node's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            NodeOp::Input => "input",
            NodeOp::Linear(_) => "linear",
            NodeOp::Unary(u) => u.name(),
            NodeOp::Fold { .. } => "fold",
            NodeOp::Softmax { .. } => "softmax",
            NodeOp::CausalSoftmax { .. } => "causal_softmax",
            NodeOp::PrefixMean { .. } => "prefix_mean",
            NodeOp::Blend { .. } => "blend",
            NodeOp::Bmm { .. } => "bmm",
        }
    }

    /// Whether the node has learnable parameters.
    pub fn is_linear(&self) -> bool {
        matches!(self, NodeOp::Linear(_))
    }
}

/// One node: a name, what it computes, its inputs and its (derived) symbolic shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Unique name in the kernel.
    pub name: String,
    /// What it computes.
    pub op: NodeOp,
    /// Input nodes, in order (lhs first for binary nodes).
    pub inputs: Vec<NodeId>,
    /// Output shape, derived by [`infer_shape`].
    pub shape: Vec<Size>,
}

/// The output shape of `op` applied to tensors of shapes `inputs`, or why it is illegal.
pub fn infer_shape(op: &NodeOp, inputs: &[&[Size]]) -> std::result::Result<Vec<Size>, String> {
    if inputs.len() != op.arity() {
        return Err(format!(
            "{} takes {} inputs, {} given",
            op.kind(),
            op.arity(),
            inputs.len()
        ));
    }
    match op {
        NodeOp::Input => Err("only node 0 is the input".into()),
        NodeOp::Linear(lin) => {
            if lin.tensor_shape(0) != inputs[0] {
                return Err("the operator's input shape is not the tensor's shape".into());
            }
            Ok(lin.output_shape())
        }
        NodeOp::Unary(_) => Ok(inputs[0].to_vec()),
        NodeOp::Fold { axes, .. } => {
            let x = inputs[0];
            if axes.is_empty() || axes.len() >= x.len() {
                return Err("a fold removes at least one axis and keeps at least one".into());
            }
            if axes.windows(2).any(|w| w[0] >= w[1]) || axes.iter().any(|&a| a >= x.len()) {
                return Err("fold axes must be strictly increasing and in range".into());
            }
            Ok((0..x.len())
                .filter(|a| !axes.contains(a))
                .map(|a| x[a])
                .collect())
        }
        NodeOp::Softmax { axis } => {
            if *axis >= inputs[0].len() {
                return Err(format!("softmax axis {axis} out of range"));
            }
            Ok(inputs[0].to_vec())
        }
        NodeOp::CausalSoftmax { query, key } => {
            let x = inputs[0];
            if *query >= x.len() || *key >= x.len() || query == key {
                return Err("causal softmax takes two distinct axes in range".into());
            }
            if x[*query] != x[*key] {
                return Err("causal softmax's query and key axes differ in size".into());
            }
            Ok(x.to_vec())
        }
        NodeOp::PrefixMean { axis } => {
            if *axis >= inputs[0].len() {
                return Err(format!("prefix mean axis {axis} out of range"));
            }
            Ok(inputs[0].to_vec())
        }
        NodeOp::Blend { map, .. } => {
            let (l, r) = (inputs[0], inputs[1]);
            if map.len() != l.len() || map.windows(2).any(|w| w[0] >= w[1]) {
                return Err("a blend maps every lhs axis to a strictly increasing rhs axis".into());
            }
            for (i, &m) in map.iter().enumerate() {
                if m >= r.len() || l[i] != r[m] {
                    return Err(format!("blend lhs axis {i} does not match rhs axis {m}"));
                }
            }
            Ok(r.to_vec())
        }
        NodeOp::Bmm {
            batch,
            lhs_contract,
            rhs_contract,
            ..
        } => {
            let (l, r) = (inputs[0], inputs[1]);
            if *batch > l.len() || *batch > r.len() || l[..*batch] != r[..*batch] {
                return Err("bmm batch axes differ".into());
            }
            if lhs_contract.is_empty() || lhs_contract.len() != rhs_contract.len() {
                return Err("bmm contracts one or more axis pairs".into());
            }
            let ok = |c: &[usize], n: usize| {
                c.iter().all(|&a| a >= *batch && a < n)
                    && c.iter().collect::<std::collections::BTreeSet<_>>().len() == c.len()
            };
            if !ok(lhs_contract, l.len()) || !ok(rhs_contract, r.len()) {
                return Err("bmm contracted axes must be distinct non-batch axes".into());
            }
            for (&a, &b) in lhs_contract.iter().zip(rhs_contract) {
                if l[a] != r[b] {
                    return Err(format!(
                        "bmm contracts lhs axis {a} with rhs axis {b} of another size"
                    ));
                }
            }
            let mut out = l[..*batch].to_vec();
            out.extend(
                (*batch..l.len())
                    .filter(|a| !lhs_contract.contains(a))
                    .map(|a| l[a]),
            );
            out.extend(
                (*batch..r.len())
                    .filter(|a| !rhs_contract.contains(a))
                    .map(|a| r[a]),
            );
            if out.is_empty() {
                return Err("bmm output has no axis".into());
            }
            Ok(out)
        }
    }
}
