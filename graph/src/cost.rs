//! Costs of graph kernels: multiply-adds (or element operations) and parameters, summed over
//! the kernel's bindings, as the operator level sums them.

use crate::kernel::GraphKernel;
use crate::node::{NodeId, NodeOp};
use kas_primitives::{Binding, Size};

/// Work and parameters, summed over bindings.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cost {
    /// Multiply-adds of linear nodes and matrix products, one operation per element of the
    /// other nodes (per element read, for folds).
    pub flops: f64,
    /// Weight parameters of the linear nodes.
    pub params: f64,
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost {
            flops: self.flops + o.flops,
            params: self.params + o.params,
        }
    }
}

/// `Π sizes` under a binding.
pub fn product(sizes: &[Size], b: &Binding) -> f64 {
    sizes.iter().map(|s| s.eval_f64(b)).product()
}

/// The cost of one node.
pub fn node_cost(g: &GraphKernel, id: NodeId) -> Cost {
    let n = g.node(id);
    let mut c = Cost::default();
    for b in &g.bindings {
        let out = product(&n.shape, b);
        match &n.op {
            NodeOp::Input => {}
            NodeOp::Linear(op) => {
                let reds: Vec<Size> = op.reductions().iter().map(|&d| op.size(d)).collect();
                c.flops += out * product(&reds, b);
                for w in &op.weights {
                    let ws: Vec<Size> = w.iter().map(|&d| op.size(d)).collect();
                    c.params += product(&ws, b);
                }
            }
            NodeOp::Fold { .. } => c.flops += product(g.shape(n.inputs[0]), b),
            NodeOp::Bmm { lhs_contract, .. } => {
                let l = g.shape(n.inputs[0]);
                let ks: Vec<Size> = lhs_contract.iter().map(|&a| l[a]).collect();
                c.flops += out * product(&ks, b);
            }
            NodeOp::Unary(_)
            | NodeOp::Softmax { .. }
            | NodeOp::CausalSoftmax { .. }
            | NodeOp::PrefixMean { .. }
            | NodeOp::Blend { .. } => c.flops += out,
        }
    }
    c
}

/// The cost of the nodes the output depends on.
pub fn kernel_cost(g: &GraphKernel) -> Cost {
    let live = g.live();
    (0..g.nodes.len())
        .filter(|&k| live[k])
        .map(|k| node_cost(g, NodeId(k as u32)))
        .fold(Cost::default(), |a, c| a + c)
}
