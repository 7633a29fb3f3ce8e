//! One descent of the sampler: guided construction of one graph kernel.
//!
//! The descent keeps the *open* nodes (values not yet read; the kernel's output must depend
//! on all of them) and draws moves: first a node (an open one, or with some probability any
//! node, which opens a branch), then a kind of move uniformly among the kinds that apply to
//! the node's form, then a move of that kind. Before a move is taken its result is *closed*
//! on a copy ([`close`]: the deterministic shortest way to one `[N, C_out, H, W]` value), and
//! the move is refused if the closed kernel breaks a budget (nodes, width, largest
//! intermediate, the FLOPs and parameter ceilings). So every state the descent reaches can be
//! finished legally; only the floors of the windows can still fail, and the descent adds
//! weighted moves while the closed kernel is below them.

use super::close::{Form, close, form};
use super::linear;
use super::slot::Layout;
use super::slot::Slot;
use super::{Failure, SampleConfig};
use crate::canon::rules;
use crate::cost::{Cost, kernel_cost, product};
use crate::kernel::GraphKernel;
use crate::node::{BlendKind, FoldKind, NodeId, NodeOp, Unary};
use kas_primitives::Size;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// Kinds of moves; the descent picks a kind first (uniformly among those that apply), so that
/// kinds with many variants are not favoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Linear,
    Unary,
    Fold,
    Softmax,
    Blend,
    Bmm,
}

/// A move, before its node is built.
#[derive(Debug, Clone)]
pub(super) enum Move {
    Fc {
        x: NodeId,
        axis: usize,
        out: Size,
    },
    Conv {
        x: NodeId,
        out: Size,
    },
    Depthwise {
        x: NodeId,
    },
    Grouped {
        x: NodeId,
    },
    Scale {
        x: NodeId,
        axis: usize,
    },
    ShiftFc {
        x: NodeId,
        axis: usize,
        offset: i64,
        out: Size,
    },
    Unary {
        x: NodeId,
        u: Unary,
    },
    Fold {
        x: NodeId,
        axes: Vec<usize>,
        kind: FoldKind,
    },
    Softmax {
        x: NodeId,
        axis: usize,
    },
    /// A causal softmax of `[N, T, T]` scores (query axis 1, key axis 2).
    CausalSoftmax {
        x: NodeId,
    },
    /// A prefix mean along the sequence (axis 1).
    PrefixMean {
        x: NodeId,
    },
    Blend {
        lhs: NodeId,
        rhs: NodeId,
        kind: BlendKind,
        map: Vec<usize>,
    },
    Bmm {
        lhs: NodeId,
        rhs: NodeId,
        lc: Vec<usize>,
        rc: Vec<usize>,
    },
}

impl Move {
    fn kind(&self) -> Kind {
        match self {
            Move::Fc { .. }
            | Move::Conv { .. }
            | Move::Depthwise { .. }
            | Move::Grouped { .. }
            | Move::Scale { .. }
            | Move::ShiftFc { .. } => Kind::Linear,
            Move::Unary { .. } => Kind::Unary,
            Move::Fold { .. } => Kind::Fold,
            Move::Softmax { .. } | Move::CausalSoftmax { .. } => Kind::Softmax,
            Move::PrefixMean { .. } => Kind::Fold,
            Move::Blend { .. } => Kind::Blend,
            Move::Bmm { .. } => Kind::Bmm,
        }
    }
}

/// Whether a move on an image slot mixes neighbouring positions: a k×k or depthwise
/// convolution, a shifted FC (along `H` or `W`), or an FC along `H`.
fn mixes_positions(m: &Move) -> bool {
    match m {
        Move::Conv { .. } | Move::Depthwise { .. } => true,
        Move::ShiftFc { axis, .. } | Move::Fc { axis, .. } => *axis >= 2,
        _ => false,
    }
}

/// A state a move leads to: the kernel, its open nodes and its closed cost.
type Candidate = (GraphKernel, Vec<NodeId>, Cost);

/// The state of one descent.
pub(super) struct Descent<'a> {
    slot: &'a Slot,
    cfg: &'a SampleConfig,
    g: GraphKernel,
    open: Vec<NodeId>,
    rng: Xoshiro256PlusPlus,
    /// Largest element count any node may have, per binding.
    max_elements: Vec<f64>,
    /// Whether a move that mixes neighbouring positions has been taken.
    mixes: bool,
}

impl<'a> Descent<'a> {
    /// A descent from `start` (the slot's kernel holding only its input).
    pub(super) fn new(
        slot: &'a Slot,
        cfg: &'a SampleConfig,
        start: GraphKernel,
        seed: u64,
    ) -> Self {
        let max_elements = slot
            .bindings
            .iter()
            .map(|b| {
                cfg.max_intermediate
                    * product(&slot.input_shape(), b).max(product(&slot.output_shape(), b))
            })
            .collect();
        Descent {
            slot,
            cfg,
            open: vec![start.input()],
            g: start,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            max_elements,
            mixes: false,
        }
    }

    /// Runs the descent: draws moves, lifts the cost above the floors, closes.
    pub(super) fn run(mut self) -> Result<GraphKernel, Failure> {
        let (lo, hi) = self.cfg.moves;
        let moves = self.rng.random_range(lo..=hi);
        for _ in 0..moves {
            self.step();
        }
        for _ in 0..self.cfg.lift_attempts {
            let (c, _) = self.closed();
            if self.above_floors(c) || !self.lift(|m| m.kind() == Kind::Linear) {
                break;
            }
        }
        if self.cfg.spatial_mixing
            && self.slot.layout == Layout::Image
            && !self.mixes
            && !self.lift(mixes_positions)
        {
            return Err(Failure::NoSpatialMixing);
        }
        let (_, g) = self.closed();
        let g = g.ok_or(Failure::Close)?;
        let c = kernel_cost(&g);
        if !self.above_floors(c) {
            return Err(Failure::BelowFloor);
        }
        if !self.below_ceilings(c) {
            return Err(Failure::AboveCeiling);
        }
        g.validate().map_err(|_| Failure::Invalid)?;
        if let Some(axis) = self.slot.causal_axis() {
            crate::causal::check_causal(&g, axis).map_err(|_| Failure::Invalid)?;
        }
        Ok(g)
    }

    fn ratios(&self, c: Cost) -> (f64, f64) {
        (
            c.flops / self.slot.reference.flops,
            c.params / self.slot.reference.params,
        )
    }

    fn above_floors(&self, c: Cost) -> bool {
        let (f, p) = self.ratios(c);
        f >= self.cfg.flops_ratio.0 && p >= self.cfg.params_ratio.0
    }

    fn below_ceilings(&self, c: Cost) -> bool {
        let (f, p) = self.ratios(c);
        f <= self.cfg.flops_ratio.1 && p <= self.cfg.params_ratio.1
    }

    /// The current kernel closed (on a copy) and its cost.
    fn closed(&self) -> (Cost, Option<GraphKernel>) {
        let mut g = self.g.clone();
        match close(&mut g, &self.open, self.slot) {
            Ok(_) => (kernel_cost(&g), Some(g)),
            Err(_) => (Cost::default(), None),
        }
    }

    /// One move; no move when none fits the budgets.
    fn step(&mut self) {
        let width_left = self.open.len() < self.cfg.max_width;
        let x = if width_left && self.rng.random_bool(self.cfg.branch_probability) {
            NodeId(self.rng.random_range(0..self.g.nodes.len()) as u32)
        } else {
            self.open[self.rng.random_range(0..self.open.len())]
        };
        let mut moves = self.moves(x);
        for _ in 0..self.cfg.tries_per_step {
            let mut kinds: Vec<Kind> = Vec::new();
            for m in &moves {
                if !kinds.contains(&m.kind()) {
                    kinds.push(m.kind());
                }
            }
            if kinds.is_empty() {
                return;
            }
            let kind = kinds[self.rng.random_range(0..kinds.len())];
            let of_kind: Vec<usize> = (0..moves.len())
                .filter(|&i| moves[i].kind() == kind)
                .collect();
            let pick = of_kind[self.rng.random_range(0..of_kind.len())];
            let m = moves.swap_remove(pick);
            if self.try_move(&m) {
                return;
            }
        }
    }

    /// Applies a move if the result still closes within every budget.
    fn try_move(&mut self, m: &Move) -> bool {
        match self.evaluate(m) {
            Some((g, open, _)) => {
                self.g = g;
                self.open = open;
                self.mixes |= self.slot.layout == Layout::Image && mixes_positions(m);
                true
            }
            None => false,
        }
    }

    /// The kernel, open nodes and closed cost after a move, if it closes within every budget.
    fn evaluate(&self, m: &Move) -> Option<Candidate> {
        let (op, inputs) = self.build(m)?;
        let mut g = self.g.clone();
        let id = g.push(op, &inputs).ok()?;
        let too_big = self
            .slot
            .bindings
            .iter()
            .zip(&self.max_elements)
            .any(|(b, &max)| product(g.shape(id), b) > max);
        if too_big {
            return None;
        }
        let mut open: Vec<NodeId> = self
            .open
            .iter()
            .copied()
            .filter(|o| !inputs.contains(o))
            .collect();
        open.push(id);
        if open.len() > self.cfg.max_width {
            return None;
        }
        let mut closed = g.clone();
        close(&mut closed, &open, self.slot).ok()?;
        if let Some(axis) = self.slot.causal_axis() {
            crate::causal::check_causal(&closed, axis).ok()?;
        }
        let cost = kernel_cost(&closed);
        if closed.nodes.len() - 1 > self.cfg.max_nodes || !self.below_ceilings(cost) {
            return None;
        }
        Some((g, open, cost))
    }

    /// One weighted move: among the moves `want` picks (the linear ones while the closed
    /// kernel is below a floor; the spatial ones for `spatial_mixing`) on the open nodes (and
    /// on the input, while the width allows a branch) that stay below the ceilings, a random
    /// one that reaches the floors if any does, else the one that comes closest. `false` if
    /// no such move fits.
    fn lift(&mut self, want: fn(&Move) -> bool) -> bool {
        let mut xs = self.open.clone();
        if self.open.len() < self.cfg.max_width && !xs.contains(&self.g.input()) {
            xs.push(self.g.input());
        }
        let mut inside = Vec::new();
        let mut best: Option<(f64, (Candidate, bool))> = None;
        for x in xs {
            for m in self.moves(x) {
                if !want(&m) {
                    continue;
                }
                let Some(r) = self.evaluate(&m) else {
                    continue;
                };
                let mixes = self.slot.layout == Layout::Image && mixes_positions(&m);
                if self.above_floors(r.2) {
                    inside.push((r, mixes));
                    continue;
                }
                let (f, p) = self.ratios(r.2);
                let score = (f / self.cfg.flops_ratio.0.max(1e-300))
                    .min(p / self.cfg.params_ratio.0.max(1e-300));
                if best.as_ref().is_none_or(|(b, _)| score > *b) {
                    best = Some((score, (r, mixes)));
                }
            }
        }
        let pick = if inside.is_empty() {
            best.map(|b| b.1)
        } else {
            let i = self.rng.random_range(0..inside.len());
            Some(inside.swap_remove(i))
        };
        match pick {
            Some(((g, open, _), mixes)) => {
                self.g = g;
                self.open = open;
                self.mixes |= mixes;
                true
            }
            None => false,
        }
    }

    /// Every move on `x` (binary moves pair it with any other node).
    fn moves(&self, x: NodeId) -> Vec<Move> {
        let s = self.slot;
        let mut v = Vec::new();
        let fx = form(s, self.g.shape(x));
        let last_unary = match self.g.node(x).op {
            NodeOp::Unary(u) => Some(u),
            _ => None,
        };
        let after_mask = matches!(self.g.node(x).op, NodeOp::CausalSoftmax { .. });
        let unaries = |v: &mut Vec<Move>| {
            for u in Unary::ALL {
                // A pair a rule simplifies is never drawn: it would be a shorter kernel.
                if last_unary.is_some_and(|inner| rules::find(u, inner).is_some()) {
                    continue;
                }
                if after_mask && !super::seq::keeps_zero(u) {
                    continue;
                }
                v.push(Move::Unary { x, u });
            }
        };
        if s.layout == Layout::Sequence {
            return super::seq::moves(s, &self.g, x, &unaries);
        }
        match fx {
            Form::Full(c) => {
                for out in [s.c_in, s.c_out] {
                    v.push(Move::Fc { x, axis: 1, out });
                    if s.k.is_some() {
                        v.push(Move::Conv { x, out });
                    }
                }
                if s.k.is_some() {
                    v.push(Move::Depthwise { x });
                }
                if s.g.is_some() {
                    v.push(Move::Grouped { x });
                }
                v.push(Move::Scale { x, axis: 1 });
                for axis in [2, 3] {
                    for offset in [-1, 1] {
                        v.push(Move::ShiftFc {
                            x,
                            axis,
                            offset,
                            out: c,
                        });
                    }
                }
                v.push(Move::Fc {
                    x,
                    axis: 2,
                    out: s.h,
                });
                unaries(&mut v);
                for kind in [FoldKind::Avg, FoldKind::Max] {
                    v.push(Move::Fold {
                        x,
                        axes: vec![2, 3],
                        kind,
                    });
                    v.push(Move::Fold {
                        x,
                        axes: vec![3],
                        kind,
                    });
                }
                v.push(Move::Softmax { x, axis: 1 });
                v.push(Move::Softmax { x, axis: 3 });
                for (k, n) in self.g.nodes.iter().enumerate() {
                    let y = NodeId(k as u32);
                    if y == x {
                        continue;
                    }
                    if let Form::Full(c2) = form(s, &n.shape) {
                        if c2 == c {
                            for kind in BlendKind::ALL {
                                v.push(Move::Blend {
                                    lhs: x,
                                    rhs: y,
                                    kind,
                                    map: vec![0, 1, 2, 3],
                                });
                            }
                        }
                        v.push(Move::Bmm {
                            lhs: x,
                            rhs: y,
                            lc: vec![2, 3],
                            rc: vec![2, 3],
                        });
                    }
                }
            }
            Form::Pooled(c) | Form::Row(c) => {
                let rank = self.g.shape(x).len();
                unaries(&mut v);
                v.push(Move::Softmax { x, axis: rank - 1 });
                if rank == 2 {
                    for out in [s.c_in, s.c_out] {
                        v.push(Move::Fc { x, axis: 1, out });
                    }
                }
                for (k, n) in self.g.nodes.iter().enumerate() {
                    if form(s, &n.shape) == Form::Full(c) {
                        for kind in BlendKind::ALL {
                            v.push(Move::Blend {
                                lhs: x,
                                rhs: NodeId(k as u32),
                                kind,
                                map: (0..rank).collect(),
                            });
                        }
                    }
                }
            }
            Form::Map(_, c2) => {
                unaries(&mut v);
                v.push(Move::Softmax { x, axis: 2 });
                for (k, n) in self.g.nodes.iter().enumerate() {
                    if form(s, &n.shape) == Form::Full(c2) {
                        v.push(Move::Bmm {
                            lhs: x,
                            rhs: NodeId(k as u32),
                            lc: vec![2],
                            rc: vec![1],
                        });
                    }
                }
            }
            Form::Other => {}
        }
        v
    }

    /// The node a move adds, or `None` if its operator is illegal in this slot.
    fn build(&self, m: &Move) -> Option<(NodeOp, Vec<NodeId>)> {
        let s = self.slot;
        let (vars, bs) = (&s.vars, &s.bindings[..]);
        let lin = |r: kas_primitives::Result<kas_primitives::Operator>, x: NodeId| {
            r.ok().map(|op| (NodeOp::Linear(Box::new(op)), vec![x]))
        };
        match m {
            Move::Fc { x, axis, out } => {
                lin(linear::fc(vars, bs, self.g.shape(*x), *axis, *out), *x)
            }
            Move::Conv { x, out } => lin(linear::conv(vars, bs, self.g.shape(*x), *out, s.k?), *x),
            Move::Depthwise { x } => lin(linear::depthwise(vars, bs, self.g.shape(*x), s.k?), *x),
            Move::Grouped { x } => lin(linear::grouped_fc(vars, bs, self.g.shape(*x), s.g?), *x),
            Move::Scale { x, axis } => lin(linear::scale(vars, bs, self.g.shape(*x), *axis), *x),
            Move::ShiftFc {
                x,
                axis,
                offset,
                out,
            } => lin(
                linear::shift_fc(vars, bs, self.g.shape(*x), *axis, *offset, *out),
                *x,
            ),
            Move::Unary { x, u } => Some((NodeOp::Unary(*u), vec![*x])),
            Move::Fold { x, axes, kind } => Some((
                NodeOp::Fold {
                    axes: axes.clone(),
                    kind: *kind,
                },
                vec![*x],
            )),
            Move::Softmax { x, axis } => Some((NodeOp::Softmax { axis: *axis }, vec![*x])),
            Move::CausalSoftmax { x } => {
                Some((NodeOp::CausalSoftmax { query: 1, key: 2 }, vec![*x]))
            }
            Move::PrefixMean { x } => Some((NodeOp::PrefixMean { axis: 1 }, vec![*x])),
            Move::Blend {
                lhs,
                rhs,
                kind,
                map,
            } => Some((
                NodeOp::Blend {
                    kind: *kind,
                    map: map.clone(),
                },
                vec![*lhs, *rhs],
            )),
            Move::Bmm { lhs, rhs, lc, rc } => Some((
                NodeOp::Bmm {
                    batch: 1,
                    lhs_contract: lc.clone(),
                    rhs_contract: rc.clone(),
                    scaled: true,
                },
                vec![*lhs, *rhs],
            )),
        }
    }
}
