//! The contraction planner: the cheapest staged evaluation of an operator, and its FLOPs.
//!
//! A staged evaluation combines the tensors two at a time along a binary tree. Stage `S`
//! (a set of tensors) is indexed by a *cut* of the primitive DAG: the dims produced from the
//! tensors of `S` that are still open. Views are folded lazily (an Unfold whose window is
//! only needed later stays un-unfolded, so the intermediate keeps the smaller coordinate);
//! a view is applied in stage `S` only when a reduction that `S` can sum lies below it, when
//! it is a Share between two tensors of `S`, when it is a Stride (which shrinks the cut), or in
//! the last stage. Each reduction is summed in the first stage whose tensors cover every
//! tensor that depends on it (as early as possible).
//!
//! The cost of a stage is the volume of its iteration space (the cut before its new
//! reductions are summed): one multiply-accumulate per point, counted once, as Syno and
//! `thop` do. A leaf stage exists only when a tensor can be reduced on its own. The planner
//! tries every binary tree (at most 15 for four tensors) and the naive single loop nest,
//! and keeps the one with the fewest FLOPs summed over all bindings.

use crate::error::{Error, Result};
use crate::expr::{Expr, Iter, pull};
use crate::graph::{DimId, Op, Source};
use crate::operator::Operator;
use crate::size::Binding;

/// Where a stage's operand comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operand {
    /// Tensor `t` (0 = input, `1..` = weights).
    Tensor(usize),
    /// The result of an earlier stage.
    Stage(usize),
}

/// One stage of a staged evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStage {
    /// Its operands (one or two; all tensors in the naive plan).
    pub operands: Vec<Operand>,
    /// Bit `t` set for every tensor the stage covers.
    pub tensors: u8,
    /// Steps (indices into [`Operator::ops`]) applied for the first time in this stage.
    pub steps: Vec<usize>,
    /// The iteration space: dims iterated over, including the ones summed here.
    pub iter_dims: Vec<DimId>,
    /// Reductions summed in this stage.
    pub summed: Vec<DimId>,
    /// The dims that index the stage's result (the output axes for the last stage).
    pub result_dims: Vec<DimId>,
    /// Multiply-accumulates per binding.
    pub flops: Vec<u128>,
}

/// A staged evaluation with its cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Stages in evaluation order; the last one produces the output.
    pub stages: Vec<PlanStage>,
    /// Multiply-accumulates per binding.
    pub flops: Vec<u128>,
    /// Multiply-accumulates of the naive single loop nest, per binding.
    pub naive_flops: Vec<u128>,
}

impl Plan {
    /// Total multiply-accumulates over all bindings.
    pub fn total_flops(&self) -> u128 {
        self.flops.iter().sum()
    }

    /// Total multiply-accumulates of the naive loop nest over all bindings.
    pub fn total_naive_flops(&self) -> u128 {
        self.naive_flops.iter().sum()
    }

    /// The largest intermediate (the result of a stage other than the last), in elements,
    /// relative to the larger of the operator's input and output, over `bindings`: 0 for a
    /// single-stage plan. A plan can trade a few FLOPs for an intermediate many times the size
    /// of its output, which costs memory traffic (and memory) that FLOPs do not show.
    pub fn intermediate_ratio(&self, op: &Operator, bindings: &[Binding]) -> f64 {
        let last = self.stages.len().saturating_sub(1);
        let mut worst = 0f64;
        for b in bindings {
            let io = io_elements(op, b);
            for st in &self.stages[..last] {
                worst = worst.max(elements(op, &st.result_dims, b) / io);
            }
        }
        worst
    }

    /// The largest operand a tensor-program evaluation of the plan gathers
    /// ([`gathered_elements`]), relative to the larger of the operator's input and output, over
    /// `bindings`. `kas-eval`'s tch plan materializes exactly these, and autograd keeps them
    /// for the backward pass.
    pub fn gather_ratio(&self, op: &Operator, bindings: &[Binding]) -> f64 {
        let mut worst = 0f64;
        for st in &self.stages {
            let mut seeds: Vec<(DimId, Expr)> = (st.result_dims.iter().enumerate())
                .map(|(k, &d)| (d, Expr::Iter(Iter::Out(k))))
                .collect();
            seeds.extend(
                (st.summed.iter().enumerate()).map(|(k, &d)| (d, Expr::Iter(Iter::Red(k)))),
            );
            let (exprs, _) = pull(op, &seeds, &st.steps);
            for operand in &st.operands {
                let axes: &[DimId] = match *operand {
                    Operand::Tensor(t) => op.tensor_axes(t),
                    Operand::Stage(k) => &self.stages[k].result_dims,
                };
                let Some(index) = (axes.iter())
                    .map(|d| exprs[d.index()].clone())
                    .collect::<Option<Vec<Expr>>>()
                else {
                    continue;
                };
                for b in bindings {
                    let size = |d: DimId| op.size(d).eval_f64(b);
                    let axis_sizes: Vec<f64> = axes.iter().map(|&d| size(d)).collect();
                    let extent = |it: &Iter| {
                        size(match *it {
                            Iter::Out(k) => st.result_dims[k],
                            Iter::Red(k) => st.summed[k],
                        })
                    };
                    if let Some(g) = gathered_elements(&index, &axis_sizes, extent) {
                        worst = worst.max(g / io_elements(op, b));
                    }
                }
            }
        }
        worst
    }

    /// The cheapest staged evaluation of `op` over its own bindings.
    pub fn of(op: &Operator) -> Result<Plan> {
        Plan::with_bindings(op, &op.bindings)
    }

    /// The cheapest staged evaluation of `op`, minimising FLOPs summed over `bindings`.
    pub fn with_bindings(op: &Operator, bindings: &[Binding]) -> Result<Plan> {
        if bindings.is_empty() {
            return Err(Error::InvalidOperator(
                "FLOPs need at least one binding".into(),
            ));
        }
        let ctx = Ctx::new(op, bindings)?;
        let all = ctx.all;
        let mut best: Option<Plan> = None;
        for tree in trees(all) {
            let plan = ctx.plan_tree(&tree);
            let better = match &best {
                None => true,
                Some(b) => {
                    let (x, y) = (plan.total_flops(), b.total_flops());
                    x < y || (x == y && plan.stages.len() > b.stages.len())
                }
            };
            if better {
                best = Some(plan);
            }
        }
        let naive = ctx.naive();
        let best = match best {
            Some(b) if b.total_flops() <= naive.total_flops() => b,
            _ => naive,
        };
        Ok(best)
    }
}

/// Elements of an operand read through `index` (one expression per axis, axes of
/// `axis_sizes`) once gathered for a tensor program, or `None` when every axis is a plain loop
/// iterator (the operand is used as it is). An axis indexed by arithmetic (an Unfold window, a
/// Shift, Split/Merge or Stride arithmetic) is materialized over the iterators it reads: the
/// gathered operand has the plain axes times those iterators' `extent`s (a 3×3 window gathers
/// 9× its input; an index map over the whole iteration space gathers all of it).
pub fn gathered_elements(
    index: &[Expr],
    axis_sizes: &[f64],
    extent: impl Fn(&Iter) -> f64,
) -> Option<f64> {
    let mut plain = 1f64;
    let mut its = Vec::new();
    for (e, &n) in index.iter().zip(axis_sizes) {
        match e {
            Expr::Iter(_) => plain *= n,
            _ => e.iters(&mut its),
        }
    }
    (!its.is_empty()).then(|| plain * its.iter().map(extent).product::<f64>())
}

/// Elements of a tensor with axes `dims` under `b`.
fn elements(op: &Operator, dims: &[DimId], b: &Binding) -> f64 {
    dims.iter().map(|&d| op.size(d).eval_f64(b)).product()
}

/// The larger of the input's and the output's elements under `b` (at least 1).
fn io_elements(op: &Operator, b: &Binding) -> f64 {
    elements(op, &op.input, b)
        .max(elements(op, &op.outputs, b))
        .max(1.0)
}

/// A binary tree over tensor sets.
#[derive(Debug, Clone)]
enum Tree {
    Leaf(usize),
    Node(Box<Tree>, Box<Tree>),
}

impl Tree {
    fn mask(&self) -> u8 {
        match self {
            Tree::Leaf(t) => 1 << t,
            Tree::Node(a, b) => a.mask() | b.mask(),
        }
    }
}

/// Every full binary tree whose leaves are the tensors of `set` (unordered children).
fn trees(set: u8) -> Vec<Tree> {
    if set.count_ones() == 1 {
        return vec![Tree::Leaf(set.trailing_zeros() as usize)];
    }
    let low = set & set.wrapping_neg();
    let rest = set & !low;
    let mut out = Vec::new();
    // Subsets `a` of `set` that contain the lowest bit, proper.
    let mut sub = rest;
    loop {
        let a = low | sub;
        let b = set & !a;
        if b != 0 {
            for ta in trees(a) {
                for tb in trees(b) {
                    out.push(Tree::Node(Box::new(ta.clone()), Box::new(tb)));
                }
            }
        }
        if sub == 0 {
            break;
        }
        sub = (sub - 1) & rest;
    }
    out
}

struct Ctx<'a> {
    op: &'a Operator,
    /// Tensor mask above each dim.
    up: Vec<u8>,
    /// Reductions (dims) and their masks.
    reds: Vec<DimId>,
    /// For each dim, the reductions below it (bit i = reds[i]).
    below: Vec<u128>,
    /// Concrete sizes per binding, per dim.
    sizes: Vec<Vec<u128>>,
    all: u8,
}

impl<'a> Ctx<'a> {
    fn new(op: &'a Operator, bindings: &[Binding]) -> Result<Ctx<'a>> {
        let n = op.dims.len();
        let t = op.tensor_count();
        if t > 8 {
            return Err(Error::InvalidOperator("too many tensors to plan".into()));
        }
        let mut up = vec![0u8; n];
        for (i, d) in op.dims.iter().enumerate() {
            match d.source {
                Source::Input(_) => up[i] = 1,
                Source::Weight { weight, .. } => up[i] = 1 << (weight + 1),
                Source::Op(_) => {}
            }
        }
        for o in &op.ops {
            let m = o.inputs().iter().fold(0u8, |m, d| m | up[d.index()]);
            for d in o.outputs() {
                up[d.index()] = m;
            }
        }
        let reds = op.reductions();
        if reds.len() > 128 {
            return Err(Error::TooLarge("more than 128 reductions".into()));
        }
        let mut below = vec![0u128; n];
        for (i, r) in reds.iter().enumerate() {
            below[r.index()] |= 1 << i;
        }
        for o in op.ops.iter().rev() {
            let m = o.outputs().iter().fold(0u128, |m, d| m | below[d.index()]);
            for d in o.inputs() {
                below[d.index()] |= m;
            }
        }
        let sizes = bindings
            .iter()
            .map(|b| {
                op.concrete(&(0..n as u32).map(DimId).collect::<Vec<_>>(), b)
                    .map(|v| v.into_iter().map(|x| x as u128).collect())
            })
            .collect::<Result<Vec<Vec<u128>>>>()?;
        Ok(Ctx {
            op,
            up,
            reds,
            below,
            sizes,
            all: ((1u16 << t) - 1) as u8,
        })
    }

    fn in_region(&self, d: DimId, s: u8) -> bool {
        self.up[d.index()] & !s == 0
    }

    /// Reductions summable once the tensors of `s` are combined (bitset over `reds`).
    fn summed(&self, s: u8) -> u128 {
        let mut m = 0u128;
        for (i, r) in self.reds.iter().enumerate() {
            let u = self.up[r.index()];
            if (u != 0 && u & !s == 0) || s == self.all {
                m |= 1 << i;
            }
        }
        m
    }

    /// Steps applied once the tensors of `s` are combined.
    fn needed(&self, s: u8) -> Vec<bool> {
        let op = self.op;
        let summed = self.summed(s);
        let mut need = vec![false; op.ops.len()];
        for (k, o) in op.ops.iter().enumerate() {
            if matches!(o, Op::Reduce { .. }) {
                continue;
            }
            let outs = o.outputs();
            if !outs.iter().all(|&d| self.in_region(d, s)) {
                continue;
            }
            let reaches = outs.iter().any(|d| self.below[d.index()] & summed != 0);
            // A Stride shrinks the cut, so it is applied eagerly, but only on data: a Stride of a
            // pure broadcast (no tensor above) lies in every stage's region and is applied by
            // the one stage whose steps need it (closure below), never twice.
            let on_data = outs.iter().all(|d| self.up[d.index()] != 0);
            need[k] = s == self.all
                || reaches
                || (on_data && matches!(o, Op::Stride { .. }))
                || matches!(*o, Op::Share { data, weight, .. }
                    if self.up[data.index()] != 0 && self.up[weight.index()] != 0);
        }
        // Close upward: a step needs the steps producing its inputs.
        for k in (0..op.ops.len()).rev() {
            if need[k] {
                for d in op.ops[k].inputs() {
                    if let Source::Op(j) = op.dim(d).source {
                        need[j] = true;
                    }
                }
            }
        }
        need
    }

    /// Open dims of `s`: produced (tensor axes of `s`, outputs of needed steps) and not
    /// consumed by a needed step. Reductions stay open (summing is accounted separately).
    fn open(&self, s: u8, need: &[bool]) -> Vec<DimId> {
        let op = self.op;
        let mut consumed = vec![false; op.dims.len()];
        let mut produced = vec![false; op.dims.len()];
        for t in 0..op.tensor_count() {
            if s & (1 << t) != 0 {
                for &d in op.tensor_axes(t) {
                    produced[d.index()] = true;
                }
            }
        }
        for (k, o) in op.ops.iter().enumerate() {
            if need[k] {
                for d in o.outputs() {
                    produced[d.index()] = true;
                }
                for d in o.inputs() {
                    consumed[d.index()] = true;
                }
            }
        }
        (0..op.dims.len())
            .filter(|&i| produced[i] && !consumed[i])
            .map(|i| DimId(i as u32))
            .collect()
    }

    fn volume(&self, dims: &[DimId]) -> Vec<u128> {
        self.sizes
            .iter()
            .map(|sz| {
                dims.iter()
                    .fold(1u128, |v, d| v.saturating_mul(sz[d.index()]))
            })
            .collect()
    }

    fn red_dims(&self, mask: u128) -> Vec<DimId> {
        self.reds
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, &r)| r)
            .collect()
    }

    /// Builds the stages of a tree; returns the operand standing for its root, with the steps
    /// applied and the reductions summed so far (none for a raw tensor).
    fn build(&self, tree: &Tree, stages: &mut Vec<PlanStage>) -> (Operand, Vec<bool>, u128) {
        let s = tree.mask();
        let need = self.needed(s);
        let summed = self.summed(s);
        let (operands, prior, prev_need) = match tree {
            Tree::Leaf(t) => {
                if summed == 0 {
                    // A raw tensor: nothing is applied or summed until its parent stage.
                    return (Operand::Tensor(*t), vec![false; need.len()], 0);
                }
                (vec![Operand::Tensor(*t)], 0u128, vec![false; need.len()])
            }
            Tree::Node(a, b) => {
                let (oa, na, sa) = self.build(a, stages);
                let (ob, nb, sb) = self.build(b, stages);
                let prev = na.iter().zip(&nb).map(|(x, y)| *x || *y).collect();
                (vec![oa, ob], sa | sb, prev)
            }
        };
        let done = self.red_dims(prior);
        let new = self.red_dims(summed & !prior);
        let iter_dims: Vec<DimId> = self
            .open(s, &need)
            .into_iter()
            .filter(|d| !done.contains(d))
            .collect();
        let result_dims = iter_dims
            .iter()
            .copied()
            .filter(|d| !new.contains(d))
            .collect();
        let steps = (0..need.len())
            .filter(|&k| {
                (need[k] && !prev_need[k])
                    || matches!(self.op.ops[k], Op::Reduce { input } if new.contains(&input))
            })
            .collect();
        stages.push(PlanStage {
            operands,
            tensors: s,
            steps,
            flops: self.volume(&iter_dims),
            iter_dims,
            summed: new,
            result_dims,
        });
        (Operand::Stage(stages.len() - 1), need, summed)
    }

    fn plan_tree(&self, tree: &Tree) -> Plan {
        let mut stages = Vec::new();
        self.build(tree, &mut stages);
        let flops = (0..self.sizes.len())
            .map(|b| stages.iter().map(|s| s.flops[b]).sum())
            .collect();
        Plan {
            stages,
            flops,
            naive_flops: self.naive_flops(),
        }
    }

    fn naive_flops(&self) -> Vec<u128> {
        let mut dims = self.op.outputs.clone();
        dims.extend(&self.reds);
        let mult = (self.op.tensor_count() as u128 - 1).max(1);
        self.volume(&dims).into_iter().map(|v| v * mult).collect()
    }

    fn naive(&self) -> Plan {
        let mut iter_dims = self.op.outputs.clone();
        iter_dims.extend(&self.reds);
        let flops = self.naive_flops();
        Plan {
            stages: vec![PlanStage {
                operands: (0..self.op.tensor_count()).map(Operand::Tensor).collect(),
                tensors: self.all,
                steps: (0..self.op.ops.len()).collect(),
                iter_dims,
                summed: self.reds.clone(),
                result_dims: self.op.outputs.clone(),
                flops: flops.clone(),
            }],
            naive_flops: flops.clone(),
            flops,
        }
    }
}

/// FLOPs and parameters of an operator under one binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingCost {
    /// Name of the binding.
    pub binding: String,
    /// Multiply-accumulates of the cheapest plan.
    pub flops: u128,
    /// Multiply-accumulates of the naive loop nest.
    pub naive_flops: u128,
    /// Weight parameters.
    pub params: u64,
}

/// Per-binding costs and their totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostSummary {
    /// One row per binding.
    pub rows: Vec<BindingCost>,
    /// Σ FLOPs.
    pub total_flops: u128,
    /// Σ parameters.
    pub total_params: u64,
    /// Number of stages of the chosen plan.
    pub stages: usize,
}

/// FLOPs (of the cheapest plan) and parameters for every binding of `op`.
pub fn summary(op: &Operator) -> Result<CostSummary> {
    let plan = Plan::of(op)?;
    let mut rows = Vec::new();
    for (i, b) in op.bindings.iter().enumerate() {
        rows.push(BindingCost {
            binding: b.name.clone(),
            flops: plan.flops[i],
            naive_flops: plan.naive_flops[i],
            params: op.params(b)?,
        });
    }
    Ok(CostSummary {
        total_flops: rows.iter().map(|r| r.flops).sum(),
        total_params: rows.iter().map(|r| r.params).sum(),
        stages: plan.stages.len(),
        rows,
    })
}
