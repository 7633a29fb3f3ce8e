//! Placeholder slots: a layer of a host model that holds either its original layer or any
//! complete operator (through the tch plan), with the symbolic shapes a spec names.

use crate::error::{Result, SlotError};
use crate::graph_plan::GraphPlan;
use crate::tch_plan::TchPlan;
use kas_graph::GraphKernel;
use kas_primitives::{Binding, Operator, VarKind};
use tch::Tensor;
use tch::nn::{self, Init, Module, Path};

/// The shape of one slot (the values of its spec's primary variables, except the batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotShape {
    /// A 3×3 convolution, stride 1, padding 1, no bias: `[N, C_in, H, H] → [N, C_out, H, H]`.
    Conv {
        /// Input channels.
        c_in: i64,
        /// Output channels.
        c_out: i64,
        /// Height and width.
        h: i64,
    },
    /// A grouped 3×3 convolution (ResNeXt), stride 1, padding 1, no bias: `[N, C_in, H, H] →
    /// [N, C_out, H, H]` in `groups` groups; its spec is a convolution slot's.
    GroupedConv {
        /// Input channels.
        c_in: i64,
        /// Output channels.
        c_out: i64,
        /// Height and width.
        h: i64,
        /// Channel groups (dividing both channel counts).
        groups: i64,
    },
    /// A fused QKV projection, no bias: `[N, seq_len, H_in] → [N, seq_len, 3·H_in]`.
    Qkv {
        /// Sequence length.
        seq: i64,
        /// Model width.
        width: i64,
    },
    /// A GPT block's token-mixing sublayer, the attention's place: `[N, seq_len, H_in] →
    /// [N, seq_len, H_in]`, causal along `seq_len`. Its original is causal multi-head
    /// attention of `heads` heads between bias-free QKV and output projections.
    Mix {
        /// Sequence length.
        seq: i64,
        /// Model width.
        width: i64,
        /// Attention heads of the original.
        heads: i64,
    },
    /// A linear projection, no bias, of a GPT block (attention output, MLP up or down, or the
    /// QKV projection when several families are slots): `[N, seq_len, H_in] → [N, seq_len,
    /// H_out]`.
    Linear {
        /// Sequence length.
        seq: i64,
        /// Input features.
        c_in: i64,
        /// Output features.
        c_out: i64,
    },
}

/// The spec-side description of a slot kind: shapes and fixed axis pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotSignature {
    /// Input shape in spec syntax.
    pub input: &'static str,
    /// Output shape in spec syntax.
    pub output: &'static str,
    /// `(input axis, output axis)` pairs passed through untouched.
    pub fixed: &'static [(usize, usize)],
}

impl SlotShape {
    /// Shapes and fixed pairs of this kind of slot, as written in a spec (the variable names
    /// of Syno's specs, `docs/ARCHITECTURE.md` "Syno's settings").
    pub fn signature(&self) -> SlotSignature {
        match self {
            SlotShape::Conv { .. } | SlotShape::GroupedConv { .. } => SlotSignature {
                input: "[N, C_in: unordered, H, H]",
                output: "[N, C_out: unordered, H, H]",
                fixed: &[(0, 0)],
            },
            SlotShape::Qkv { .. } => SlotSignature {
                input: "[N, seq_len, H_in: unordered]",
                output: "[N, seq_len, t*H_in]",
                fixed: &[(0, 0), (1, 1)],
            },
            SlotShape::Linear { .. } => SlotSignature {
                input: "[N, seq_len, H_in: unordered]",
                output: "[N, seq_len, H_out]",
                fixed: &[(0, 0), (1, 1)],
            },
            // The sequence axis is fixed for kas operators (which then stay per position, so
            // causal); graph kernels mix along it through causal nodes only.
            SlotShape::Mix { .. } => SlotSignature {
                input: "[N, seq_len, H_in: unordered]",
                output: "[N, seq_len, H_in: unordered]",
                fixed: &[(0, 0), (1, 1)],
            },
        }
    }

    /// Values of the spec's primary variables for batch `n`.
    pub fn spec_values(&self, n: i64) -> Vec<(&'static str, u64)> {
        let u = |x: i64| x as u64;
        match *self {
            SlotShape::Conv { c_in, c_out, h } | SlotShape::GroupedConv { c_in, c_out, h, .. } => {
                vec![
                    ("N", u(n)),
                    ("C_in", u(c_in)),
                    ("C_out", u(c_out)),
                    ("H", u(h)),
                ]
            }
            SlotShape::Qkv { seq, width } | SlotShape::Mix { seq, width, .. } => {
                vec![("N", u(n)), ("seq_len", u(seq)), ("H_in", u(width))]
            }
            SlotShape::Linear { seq, c_in, c_out } => vec![
                ("N", u(n)),
                ("seq_len", u(seq)),
                ("H_in", u(c_in)),
                ("H_out", u(c_out)),
            ],
        }
    }

    /// Values an operator's primary variables may take from this slot: the spec's, plus `W`
    /// (= `H`) for operators written for images that are not square, and `H_out` (= 3·`H_in`)
    /// for linear operators with a free output width.
    pub fn operator_values(&self, n: i64) -> Vec<(&'static str, u64)> {
        let mut v = self.spec_values(n);
        match *self {
            SlotShape::Conv { h, .. } | SlotShape::GroupedConv { h, .. } => v.push(("W", h as u64)),
            SlotShape::Qkv { width, .. } => v.push(("H_out", 3 * width as u64)),
            SlotShape::Linear { .. } | SlotShape::Mix { .. } => {}
        }
        v
    }

    /// Input shape for batch `n`.
    pub fn input_shape(&self, n: i64) -> Vec<i64> {
        match *self {
            SlotShape::Conv { c_in, h, .. } | SlotShape::GroupedConv { c_in, h, .. } => {
                vec![n, c_in, h, h]
            }
            SlotShape::Qkv { seq, width } | SlotShape::Mix { seq, width, .. } => {
                vec![n, seq, width]
            }
            SlotShape::Linear { seq, c_in, .. } => vec![n, seq, c_in],
        }
    }

    /// Output shape for batch `n`.
    pub fn output_shape(&self, n: i64) -> Vec<i64> {
        match *self {
            SlotShape::Conv { c_out, h, .. } | SlotShape::GroupedConv { c_out, h, .. } => {
                vec![n, c_out, h, h]
            }
            SlotShape::Qkv { seq, width } => vec![n, seq, 3 * width],
            SlotShape::Mix { seq, width, .. } => vec![n, seq, width],
            SlotShape::Linear { seq, c_out, .. } => vec![n, seq, c_out],
        }
    }

    /// Multiply-accumulates of the original layer per sample.
    pub fn macs(&self) -> f64 {
        match *self {
            SlotShape::Conv { c_in, c_out, h } => (h * h * 9 * c_in * c_out) as f64,
            SlotShape::GroupedConv {
                c_in,
                c_out,
                h,
                groups,
            } => (h * h * 9 * (c_in / groups.max(1)) * c_out) as f64,
            SlotShape::Qkv { seq, width } => (seq * width * 3 * width) as f64,
            // Four projections, then QKᵀ and AV counted in full.
            SlotShape::Mix { seq, width, .. } => {
                (seq * 4 * width * width + 2 * seq * seq * width) as f64
            }
            SlotShape::Linear { seq, c_in, c_out } => (seq * c_in * c_out) as f64,
        }
    }

    /// Weights of the original layer.
    pub fn params(&self) -> f64 {
        match *self {
            SlotShape::Conv { c_in, c_out, .. } => (9 * c_in * c_out) as f64,
            SlotShape::GroupedConv {
                c_in,
                c_out,
                groups,
                ..
            } => (9 * (c_in / groups.max(1)) * c_out) as f64,
            SlotShape::Qkv { width, .. } => (3 * width * width) as f64,
            SlotShape::Mix { width, .. } => (4 * width * width) as f64,
            SlotShape::Linear { c_in, c_out, .. } => (c_in * c_out) as f64,
        }
    }
}

/// A named slot of a host model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    /// Path of the layer in the model (`layer2.0.conv1`), the name of its binding.
    pub name: String,
    /// Its shape.
    pub shape: SlotShape,
}

/// What fills a slot.
#[derive(Debug, Clone, Copy)]
pub enum Fill<'a> {
    /// The original layer (convolution or linear projection).
    Original,
    /// A complete operator, lowered through the tch plan.
    Operator(&'a Operator),
    /// A graph kernel, lowered through its tch path ([`crate::graph_plan`]).
    Graph(&'a GraphKernel),
}

#[derive(Debug)]
enum Layer {
    Conv(nn::Conv2D),
    Linear(nn::Linear),
    Plan(Box<TchPlan>),
    Graph(Box<GraphPlan>),
    Attention(Box<Attention>),
}

/// The original of a token-mixing slot: causal multi-head attention between bias-free QKV
/// and output projections.
#[derive(Debug)]
struct Attention {
    qkv: nn::Linear,
    proj: nn::Linear,
    heads: i64,
}

impl Attention {
    fn forward(&self, x: &Tensor) -> Tensor {
        let c = x.size()[2];
        let qkv = x.apply(&self.qkv);
        let part = |i: i64| qkv.narrow(2, i * c, c);
        causal_attention(&part(0), &part(1), &part(2), self.heads).apply(&self.proj)
    }
}

/// Multi-head causal attention of `[N, T, C]` queries, keys and values, `heads` heads of
/// `C / heads` channels each: PyTorch's scaled dot-product attention with the causal mask, the
/// heads merged back into `[N, T, C]`. The token-mixing slot's original layer and its timing
/// baseline both run it.
pub(crate) fn causal_attention(q: &Tensor, k: &Tensor, v: &Tensor, heads: i64) -> Tensor {
    let (b, t, c) = q.size3().expect("attention's input is [N, T, C]");
    let heads = heads.max(1);
    let split = |x: &Tensor| x.reshape([b, t, heads, c / heads]).transpose(1, 2);
    Tensor::scaled_dot_product_attention(
        &split(q),
        &split(k),
        &split(v),
        None::<Tensor>,
        0.0,
        true,
        None,
        false,
    )
    .transpose(1, 2)
    .reshape([b, t, c])
}

/// A slot holding its layer.
#[derive(Debug)]
pub struct Slot {
    /// Name and shape.
    pub info: SlotInfo,
    layer: Layer,
}

impl Slot {
    /// Builds the slot's layer under `path`: the original layer, or the operator bound to the
    /// slot's shapes at batch `n` (any batch size is accepted later). Fails with a one-line
    /// reason if the operator does not fit.
    pub fn new(path: &Path, info: SlotInfo, n: i64, fill: Fill<'_>) -> Result<Slot> {
        Slot::with_init(path, info, n, fill, 0.02)
    }

    /// [`Slot::new`] with the original linear layer's weights drawn from N(0, `stdev`) (GPT-2
    /// draws residual projections from a smaller deviation).
    pub fn with_init(
        path: &Path,
        info: SlotInfo,
        n: i64,
        fill: Fill<'_>,
        stdev: f64,
    ) -> Result<Slot> {
        let layer = match (fill, info.shape) {
            (Fill::Original, SlotShape::Conv { c_in, c_out, .. }) => {
                let cfg = nn::ConvConfig {
                    padding: 1,
                    bias: false,
                    ..Default::default()
                };
                Layer::Conv(nn::conv2d(path / "conv", c_in, c_out, 3, cfg))
            }
            (
                Fill::Original,
                SlotShape::GroupedConv {
                    c_in,
                    c_out,
                    groups,
                    ..
                },
            ) => {
                let cfg = nn::ConvConfig {
                    padding: 1,
                    groups,
                    bias: false,
                    ..Default::default()
                };
                Layer::Conv(nn::conv2d(path / "conv", c_in, c_out, 3, cfg))
            }
            (Fill::Original, SlotShape::Qkv { width, .. }) => {
                Layer::Linear(linear_layer(path, width, 3 * width, stdev))
            }
            (Fill::Original, SlotShape::Linear { c_in, c_out, .. }) => {
                Layer::Linear(linear_layer(path, c_in, c_out, stdev))
            }
            (Fill::Original, SlotShape::Mix { width, heads, .. }) => {
                Layer::Attention(Box::new(Attention {
                    qkv: linear_layer(&(path / "qkv"), width, 3 * width, 0.02),
                    proj: linear_layer(&(path / "proj"), width, width, stdev),
                    heads,
                }))
            }
            (Fill::Operator(op), _) => {
                let b = slot_binding(op, &info, n)?;
                let plan = TchPlan::new(op, &b, &(path / "op"))?;
                check_fit(&plan, &info, n)?;
                Layer::Plan(Box::new(plan))
            }
            (Fill::Graph(g), _) => {
                let b = graph_slot_binding(g, &info, n)?;
                let plan = GraphPlan::new(g, &b, &(path / "graph"))?;
                check_graph_fit(g, &plan, &info, n)?;
                Layer::Graph(Box::new(plan))
            }
        };
        Ok(Slot { info, layer })
    }

    /// Whether the slot holds an operator rather than its original layer.
    pub fn holds_operator(&self) -> bool {
        matches!(self.layer, Layer::Plan(_) | Layer::Graph(_))
    }
}

impl Module for Slot {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let plan = match &self.layer {
            Layer::Plan(p) => Some(p.as_ref()),
            // A graph kernel has no whole-model kernel path yet: its tch path runs.
            Layer::Conv(_) | Layer::Linear(_) | Layer::Graph(_) | Layer::Attention(_) => None,
        };
        if let Some(y) = overridden(&self.info, plan, xs) {
            return y;
        }
        match &self.layer {
            Layer::Conv(c) => xs.apply(c),
            Layer::Linear(l) => xs.apply(l),
            Layer::Plan(p) => p.apply(xs),
            Layer::Graph(g) => g.apply(xs),
            Layer::Attention(a) => a.forward(xs),
        }
    }
}

/// Another way to run slots on this thread (see [`with_override`]): kas's CUDA kernels in
/// place of the tch plan, or no work at all, when a whole model is timed.
pub trait SlotOverride {
    /// The output of slot `info` for input `x` (`plan`: the operator's tch plan when the slot
    /// holds one, with its weights), or `None` to run the slot's own layer. It cannot fail:
    /// an implementation records its errors and returns any tensor of the right shape.
    fn forward(&self, info: &SlotInfo, plan: Option<&TchPlan>, x: &Tensor) -> Option<Tensor>;
}

thread_local! {
    static OVERRIDE: std::cell::RefCell<Option<std::rc::Rc<dyn SlotOverride>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with every slot's forward pass on this thread going through `o` first (nested
/// calls: the innermost wins; the previous override is back afterwards, also when `f`
/// panics).
pub fn with_override<T>(o: std::rc::Rc<dyn SlotOverride>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<std::rc::Rc<dyn SlotOverride>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            OVERRIDE.with(|c| *c.borrow_mut() = prev);
        }
    }
    let _restore = Restore(OVERRIDE.with(|c| c.borrow_mut().replace(o)));
    f()
}

/// The override's output for a slot, if one is installed and answers.
fn overridden(info: &SlotInfo, plan: Option<&TchPlan>, x: &Tensor) -> Option<Tensor> {
    let o = OVERRIDE.with(|c| c.borrow().clone())?;
    o.forward(info, plan, x)
}

/// A linear layer without bias under `path / "linear"`, weights from N(0, `stdev`).
fn linear_layer(path: &Path, c_in: i64, c_out: i64, stdev: f64) -> nn::Linear {
    let cfg = nn::LinearConfig {
        ws_init: Init::Randn { mean: 0.0, stdev },
        bias: false,
        ..Default::default()
    };
    nn::linear(path / "linear", c_in, c_out, cfg)
}

/// Binds `op`'s variables for `slot` at batch `n`: primary variables take the slot's values
/// (by name), coefficient variables keep the operator's.
pub fn slot_binding(op: &Operator, slot: &SlotInfo, n: i64) -> Result<Binding> {
    let b = bind_vars(&op.vars, op.bindings.first(), slot, n)?;
    // Every size of the operator must be a whole number under the slot's values.
    let mut bound = op.clone();
    bound.bindings = vec![b.clone()];
    bound.validate().map_err(|source| SlotError::Sizes {
        slot: slot.name.clone(),
        source,
    })?;
    Ok(b)
}

/// Binds a graph kernel's variables for `slot` at batch `n` as [`slot_binding`] does, and
/// checks every node's shape under it.
pub fn graph_slot_binding(g: &GraphKernel, slot: &SlotInfo, n: i64) -> Result<Binding> {
    let b = bind_vars(&g.vars, g.bindings.first(), slot, n)?;
    let mut bound = g.clone();
    bound.bindings = vec![b.clone()];
    bound.validate()?;
    Ok(b)
}

/// Primary variables from the slot's values (by name), coefficients from their fixed values
/// or the first binding.
fn bind_vars(
    vars: &kas_primitives::VarTable,
    first: Option<&Binding>,
    slot: &SlotInfo,
    n: i64,
) -> Result<Binding> {
    let values = slot.shape.operator_values(n);
    let mut pairs: Vec<(&str, u64)> = Vec::new();
    for v in &vars.primary {
        let Some(&(_, x)) = values.iter().find(|(k, _)| *k == v.name) else {
            return Err(SlotError::UnboundVariable {
                variable: v.name.clone(),
                slot: slot.name.clone(),
                provides: values.iter().map(|(k, _)| k.to_string()).collect(),
            }
            .into());
        };
        pairs.push((v.name.as_str(), x));
    }
    for (i, v) in vars.coefficient.iter().enumerate() {
        let x = match (v.value, first) {
            (Some(x), _) => x,
            (None, Some(b)) => b.value(VarKind::Coefficient, i),
            (None, None) => {
                return Err(SlotError::UnsetCoefficient {
                    coefficient: v.name.clone(),
                }
                .into());
            }
        };
        pairs.push((v.name.as_str(), x));
    }
    Ok(vars.bind(&slot.name, pairs)?)
}

/// Checks a graph kernel's shapes against the slot's and that the batch axis may vary: every
/// linear node's plan takes any batch, and the batch size is axis 0 of every node and no other
/// axis (so no fold, softmax or product mixes samples, and a smaller last batch flows through).
fn check_graph_fit(g: &GraphKernel, plan: &GraphPlan, slot: &SlotInfo, n: i64) -> Result<()> {
    let (want_in, want_out) = (slot.shape.input_shape(n), slot.shape.output_shape(n));
    if plan.input_shape != want_in || plan.output_shape != want_out {
        return Err(SlotError::Shapes {
            slot: slot.name.clone(),
            input: plan.input_shape.as_slice().into(),
            output: plan.output_shape.as_slice().into(),
            slot_input: want_in.into(),
            slot_output: want_out.into(),
        }
        .into());
    }
    let batch = g.nodes[0].shape[0];
    let per_sample = g.nodes.iter().all(|node| {
        node.shape.first() == Some(&batch)
            && !node.shape[1..].contains(&batch)
            && !matches!(
                node.op,
                kas_graph::NodeOp::Softmax { axis: 0 } | kas_graph::NodeOp::PrefixMean { axis: 0 }
            )
    });
    if !per_sample || !plan.batch_flexible() {
        return Err(SlotError::BatchAxis {
            slot: slot.name.clone(),
        }
        .into());
    }
    Ok(())
}

/// Checks the plan's shapes against the slot's and that the batch axis may vary.
fn check_fit(plan: &TchPlan, slot: &SlotInfo, n: i64) -> Result<()> {
    let (want_in, want_out) = (slot.shape.input_shape(n), slot.shape.output_shape(n));
    if plan.input_shape != want_in || plan.output_shape != want_out {
        return Err(SlotError::Shapes {
            slot: slot.name.clone(),
            input: plan.input_shape.as_slice().into(),
            output: plan.output_shape.as_slice().into(),
            slot_input: want_in.into(),
            slot_output: want_out.into(),
        }
        .into());
    }
    if !plan.flexible_input_axes().first().copied().unwrap_or(false) {
        return Err(SlotError::BatchAxis {
            slot: slot.name.clone(),
        }
        .into());
    }
    Ok(())
}
