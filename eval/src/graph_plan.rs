//! The trainable tch path of a graph kernel (`docs/ARCHITECTURE.md`, "Graph kernels"): every
//! linear node through its operator's [`TchPlan`] (the same plan the operator search trains),
//! every other node through libtorch ops written from its definition ([`kas_graph::NodeOp`]),
//! so autograd differentiates the whole graph.
//!
//! Two ops differ from the interpreter only in their backward pass: `√|x|` is computed as
//! `√(where(|x| > 0, |x|, 1)) · [|x| > 0]`, which has the same value and a finite gradient at
//! 0 (where the plain form's is infinite and turns into NaN), and Fold max takes libtorch's
//! `amax`, whose gradient is shared evenly between tied maxima.

use crate::error::Result;
use crate::tch_plan::TchPlan;
use kas_codegen::StageIr;
use kas_graph::{BlendKind, FoldKind, GraphKernel, NodeOp, Unary};
use kas_primitives::Binding;
use tch::nn::{Module, Path};
use tch::{Device, Kind, Tensor};

/// Einsum letters of a matrix-product node.
const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// How one node is computed.
#[derive(Debug)]
enum Step {
    /// The graph's input.
    Input,
    /// A linear node: its operator's plan, owning its weights.
    Linear(TchPlan),
    /// An element-wise function.
    Unary(Unary),
    /// Mean or maximum over axes.
    Fold { axes: Vec<i64>, kind: FoldKind },
    /// Softmax along an axis.
    Softmax(i64),
    /// Causal softmax: the mask (`true` where the key index exceeds the query index) shaped
    /// to broadcast onto the input, and the key axis.
    CausalSoftmax {
        mask_shape: Vec<i64>,
        query: i64,
        key: i64,
        len: i64,
    },
    /// Prefix mean along an axis: the counts `1..=len` shaped to broadcast, and the axis.
    PrefixMean { axis: i64, rank: usize, len: i64 },
    /// A broadcast blend: the lhs viewed with size-1 axes where the rhs has axes it lacks.
    Blend { kind: BlendKind, map: Vec<usize> },
    /// A matrix product as an einsum, and its scale (1 when unscaled).
    Bmm { equation: String, scale: f64 },
}

/// A graph kernel as a differentiable tch module for one binding, owning its weights.
#[derive(Debug)]
pub struct GraphPlan {
    steps: Vec<(Step, Vec<usize>)>,
    /// Which node values are read after node `k` is computed, per node: freed eagerly.
    last_use: Vec<usize>,
    output: usize,
    /// Shape of the input tensor.
    pub input_shape: Vec<i64>,
    /// Shape of the output.
    pub output_shape: Vec<i64>,
}

impl GraphPlan {
    /// Builds the plan of `g` under `b`, creating every linear node's weights in `vs` under
    /// `n<k>/w<t>` (`k` the node's index; fan-in initialisation of [`TchPlan::new`]; seed them
    /// inside [`crate::seeded::seeded`]). Kind and device are those of `vs`.
    pub fn new(g: &GraphKernel, b: &Binding, vs: &Path) -> Result<GraphPlan> {
        GraphPlan::build(g, b, |k, op| TchPlan::new(op, b, &(vs / format!("n{k}"))))
    }

    /// Builds the plan of `g` under `b` with given weights (`weights[k]` those of node `k`, as
    /// [`kas_graph::interp::random_weights`] lists them) on `device` at `kind`.
    pub fn with_weights(
        g: &GraphKernel,
        b: &Binding,
        weights: Vec<Vec<Tensor>>,
        device: Device,
        kind: Kind,
    ) -> Result<GraphPlan> {
        let mut weights: Vec<Option<Vec<Tensor>>> = weights.into_iter().map(Some).collect();
        weights.resize_with(g.nodes.len(), || None);
        GraphPlan::build(g, b, |k, op| {
            let ir = StageIr::lower_for(op, std::slice::from_ref(b))?;
            let w = weights[k].take().unwrap_or_default();
            TchPlan::with_weights(&ir, b, w, device, kind)
        })
    }

    fn build(
        g: &GraphKernel,
        b: &Binding,
        mut linear: impl FnMut(usize, &kas_primitives::Operator) -> Result<TchPlan>,
    ) -> Result<GraphPlan> {
        let dims = |k: usize| -> Result<Vec<i64>> {
            Ok(g.concrete(kas_graph::NodeId(k as u32), b)?
                .into_iter()
                .map(|x| x as i64)
                .collect())
        };
        let mut steps: Vec<(Step, Vec<usize>)> = Vec::with_capacity(g.nodes.len());
        for (k, n) in g.nodes.iter().enumerate() {
            let step = match &n.op {
                NodeOp::Input => Step::Input,
                NodeOp::Linear(op) => Step::Linear(linear(k, op)?),
                NodeOp::Unary(u) => Step::Unary(*u),
                NodeOp::Fold { axes, kind } => Step::Fold {
                    axes: axes.iter().map(|&a| a as i64).collect(),
                    kind: *kind,
                },
                NodeOp::Softmax { axis } => Step::Softmax(*axis as i64),
                NodeOp::CausalSoftmax { query, key } => {
                    let d = dims(k)?;
                    let mut mask_shape = vec![1i64; d.len()];
                    mask_shape[*query] = d[*query];
                    mask_shape[*key] = d[*key];
                    Step::CausalSoftmax {
                        mask_shape,
                        query: *query as i64,
                        key: *key as i64,
                        len: d[*key],
                    }
                }
                NodeOp::PrefixMean { axis } => Step::PrefixMean {
                    axis: *axis as i64,
                    rank: n.shape.len(),
                    len: dims(k)?[*axis],
                },
                NodeOp::Blend { kind, map } => Step::Blend {
                    kind: *kind,
                    map: map.clone(),
                },
                NodeOp::Bmm {
                    batch,
                    lhs_contract,
                    rhs_contract,
                    scaled,
                } => {
                    let l = dims(n.inputs[0].index())?;
                    let r = dims(n.inputs[1].index())?;
                    let k_size: f64 = lhs_contract.iter().map(|&a| l[a] as f64).product();
                    Step::Bmm {
                        equation: bmm_equation(
                            l.len(),
                            r.len(),
                            *batch,
                            lhs_contract,
                            rhs_contract,
                        ),
                        scale: if *scaled { 1.0 / k_size.sqrt() } else { 1.0 },
                    }
                }
            };
            steps.push((step, n.inputs.iter().map(|i| i.index()).collect()));
        }
        let mut last_use: Vec<usize> = (0..g.nodes.len()).collect();
        for (k, (_, ins)) in steps.iter().enumerate() {
            for &i in ins.iter() {
                last_use[i] = last_use[i].max(k);
            }
        }
        last_use[g.output.index()] = usize::MAX;
        Ok(GraphPlan {
            steps,
            last_use,
            output: g.output.index(),
            input_shape: dims(0)?,
            output_shape: dims(g.output.index())?,
        })
    }

    /// The trainable tensors: every linear node's weights, in node order.
    pub fn weights(&self) -> Vec<&Tensor> {
        self.linear_plans().flat_map(|p| &p.weights).collect()
    }

    /// The linear nodes' plans, in node order.
    pub fn linear_plans(&self) -> impl Iterator<Item = &TchPlan> {
        self.steps.iter().filter_map(|(s, _)| match s {
            Step::Linear(p) => Some(p),
            _ => None,
        })
    }

    /// Whether the batch axis (input axis 0) may take any size at apply time: every linear
    /// node's plan accepts its input's axis 0 at any size, and the input's axis 0 reaches each
    /// linear node as its axis 0 (checked when the plan of a slot is built, see
    /// [`crate::models`]). Non-linear nodes follow any size.
    pub fn batch_flexible(&self) -> bool {
        self.linear_plans()
            .all(|p| p.flexible_input_axes().first().copied().unwrap_or(false))
    }

    /// The output for input `x` (the plan's input shape, except along a flexible batch axis).
    pub fn apply(&self, x: &Tensor) -> Tensor {
        let mut values: Vec<Option<Tensor>> = Vec::with_capacity(self.steps.len());
        for (k, (step, ins)) in self.steps.iter().enumerate() {
            let arg = |i: usize| values[ins[i]].as_ref().expect("a live earlier node");
            let v = match step {
                Step::Input => x.shallow_clone(),
                Step::Linear(p) => p.apply(arg(0)),
                Step::Unary(u) => unary(*u, arg(0)),
                Step::Fold { axes, kind } => match kind {
                    FoldKind::Avg => arg(0).mean_dim(&axes[..], false, None::<Kind>),
                    FoldKind::Max => arg(0).amax(&axes[..], false),
                },
                Step::Softmax(axis) => arg(0).softmax(*axis, None::<Kind>),
                Step::CausalSoftmax {
                    mask_shape,
                    query,
                    key,
                    len,
                } => causal_softmax(arg(0), mask_shape, *query, *key, *len),
                Step::PrefixMean { axis, rank, len } => prefix_mean(arg(0), *axis, *rank, *len),
                Step::Blend { kind, map } => blend(*kind, map, arg(0), arg(1)),
                Step::Bmm { equation, scale } => {
                    let y = Tensor::einsum(equation, &[arg(0), arg(1)], None::<&[i64]>);
                    if *scale == 1.0 { y } else { y * *scale }
                }
            };
            values.push(Some(v));
            for &i in ins {
                if self.last_use[i] == k {
                    values[i] = None;
                }
            }
        }
        values[self.output].take().expect("the output is kept")
    }
}

/// Softmax along `key` with the entries whose key index exceeds the query index set to −∞
/// before (so exactly 0 after); every row keeps its diagonal entry, so none is empty.
fn causal_softmax(x: &Tensor, mask_shape: &[i64], query: i64, key: i64, len: i64) -> Tensor {
    let opts = (Kind::Int64, x.device());
    let pos = Tensor::arange(len, opts);
    // future[q][k] = k > q, laid out with q and k in their axes' order.
    let future = if query < key {
        pos.unsqueeze(0).gt_tensor(&pos.unsqueeze(1))
    } else {
        pos.unsqueeze(1).gt_tensor(&pos.unsqueeze(0))
    };
    let mask = future.reshape(mask_shape);
    x.masked_fill(&mask, f64::NEG_INFINITY)
        .softmax(key, None::<Kind>)
}

/// The running mean along `axis`: the cumulative sum divided by `1..=len`.
fn prefix_mean(x: &Tensor, axis: i64, rank: usize, len: i64) -> Tensor {
    let mut shape = vec![1i64; rank];
    shape[axis as usize] = len;
    let counts = Tensor::arange_start(1, len + 1, (x.kind(), x.device())).reshape(&shape);
    x.cumsum(axis, None::<Kind>) / counts
}

impl Module for GraphPlan {
    fn forward(&self, xs: &Tensor) -> Tensor {
        self.apply(xs)
    }
}

/// The einsum of a matrix-product node: batch letters shared, contracted pairs shared, the
/// output the batch axes, then the lhs's free axes, then the rhs's.
fn bmm_equation(l: usize, r: usize, batch: usize, lc: &[usize], rc: &[usize]) -> String {
    let mut next = batch;
    let mut lhs: Vec<usize> = (0..l)
        .map(|a| if a < batch { a } else { usize::MAX })
        .collect();
    let mut rhs: Vec<usize> = (0..r)
        .map(|a| if a < batch { a } else { usize::MAX })
        .collect();
    for (&a, &c) in lc.iter().zip(rc) {
        lhs[a] = next;
        rhs[c] = next;
        next += 1;
    }
    let mut out: Vec<usize> = (0..batch).collect();
    for side in [&mut lhs, &mut rhs] {
        for x in side.iter_mut().filter(|x| **x == usize::MAX) {
            *x = next;
            out.push(next);
            next += 1;
        }
    }
    let word = |ls: &[usize]| -> String { ls.iter().map(|&l| LETTERS[l] as char).collect() };
    format!("{},{}->{}", word(&lhs), word(&rhs), word(&out))
}

/// An element-wise function as libtorch ops.
fn unary(u: Unary, x: &Tensor) -> Tensor {
    match u {
        Unary::Relu => x.relu(),
        Unary::Gelu => x.gelu("tanh"),
        Unary::Sigmoid => x.sigmoid(),
        Unary::Tanh => x.tanh(),
        Unary::Abs => x.abs(),
        Unary::Exp => x.exp(),
        Unary::Neg => -x,
        Unary::Sin => (x * std::f64::consts::FRAC_PI_2).sin(),
        Unary::Sqrt => {
            let a = x.abs();
            let pos = a.gt(0.0);
            a.where_self(&pos, &a.ones_like()).sqrt() * pos.to_kind(x.kind())
        }
        Unary::Sqr => x.square(),
    }
}

/// A blend: the lhs viewed at the rhs's rank (size 1 where it has no axis), then broadcast.
fn blend(kind: BlendKind, map: &[usize], l: &Tensor, r: &Tensor) -> Tensor {
    let rank = r.dim();
    let ls = l.size();
    let mut shape = vec![1i64; rank];
    for (i, &m) in map.iter().enumerate() {
        shape[m] = ls[i];
    }
    let l = l.reshape(&shape[..]);
    match kind {
        BlendKind::Add => &l + r,
        BlendKind::Sub => &l - r,
        BlendKind::Mul => &l * r,
        BlendKind::Max => l.maximum(r),
        BlendKind::Min => l.minimum(r),
    }
}

/// Host tensor → device tensor at `kind`.
fn to_device(t: &kas_primitives::Tensor, device: Device, kind: Kind) -> Tensor {
    let shape: Vec<i64> = t.shape.iter().map(|&x| x as i64).collect();
    Tensor::from_slice(&t.data)
        .reshape(&shape[..])
        .to_kind(kind)
        .to_device(device)
}

/// Evaluates `g` under `b` through its tch plan on `device` at `kind` (f32 or f64) with the
/// given input and weights (f64 host tensors, as [`kas_graph::interp::evaluate`] takes them):
/// the backend `kas graph verify` checks against the interpreter.
pub fn run_graph(
    g: &GraphKernel,
    b: &Binding,
    input: &kas_primitives::Tensor,
    weights: &[Vec<kas_primitives::Tensor>],
    device: Device,
    kind: Kind,
) -> Result<kas_primitives::Tensor> {
    let w = weights
        .iter()
        .map(|ws| ws.iter().map(|t| to_device(t, device, kind)).collect())
        .collect();
    let plan = GraphPlan::with_weights(g, b, w, device, kind)?;
    let y = tch::no_grad(|| plan.apply(&to_device(input, device, kind)));
    let shape: Vec<usize> = y.size().iter().map(|&x| x as usize).collect();
    let flat = y
        .to_device(Device::Cpu)
        .to_kind(Kind::Double)
        .contiguous()
        .view(-1);
    let data = Vec::<f64>::try_from(&flat)?;
    Ok(kas_primitives::Tensor { shape, data })
}
