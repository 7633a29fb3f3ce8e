//! Child generation: every legal next step from a partial operator, through the named
//! filters, budgets and the shape-distance bound.

use crate::config::{Config, product};
use crate::dim::{AppliedStep, DimNode, StepKind};
use crate::distance::shape_distance;
use crate::finalize::{Leaf, finalizations};
use crate::rules::{DagStats, Filters, Prune, Rule};
use crate::state::{Counts, State};
use std::sync::Arc;

/// Most axes of one weight (Syno bounds shares per contraction likewise). Five: Syno's
/// Operator 1 has a weight `A[g, k, k, C_out, C_out/(g·s)]`.
pub(crate) const MAX_WEIGHT_AXES: usize = 5;

/// The primitive type of a child (random descent picks a type first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepType {
    /// Add a reduction.
    Reduce,
    /// Leave the reduction stage.
    EndReductions,
    /// Attach a weight.
    Contract,
    /// Data-flow Split.
    Split,
    /// Data-flow Merge.
    Merge,
    /// Shift by one.
    Shift,
    /// Unfold.
    Unfold,
    /// Finish into input tensor and weights.
    Finalize,
}

/// A child as generated, before the DAG interns it (see [`crate::dag::Child`]).
#[derive(Debug)]
pub(crate) enum GeneratedChild {
    /// An inner node.
    State(State),
    /// A complete operator.
    Leaf(Leaf),
}

/// Generates children under one configuration.
pub(crate) struct Generator<'a> {
    /// The configuration.
    pub cfg: &'a Config,
    /// Filter switches.
    pub filters: &'a Filters,
    /// Counters.
    pub stats: &'a DagStats,
}

impl Generator<'_> {
    /// A rule that rejects when `cond` holds and the rule is on (counting the hit).
    fn reject(&self, r: Rule, cond: bool) -> bool {
        if cond && self.filters.on(r) {
            self.stats.hit(r);
            true
        } else {
            false
        }
    }

    /// Every child of `st`, sorted by step type.
    pub(crate) fn children(&self, st: &State) -> Vec<(StepType, GeneratedChild)> {
        let mut out: Vec<(StepType, GeneratedChild)> = Vec::new();
        let mut push = |g: &Self, t: StepType, child: State| {
            if g.admissible(&child) {
                out.push((t, GeneratedChild::State(child)));
            }
        };
        if st.reducing {
            for c in self.reductions(st) {
                push(self, StepType::Reduce, c);
            }
            let mut end = st.clone();
            end.reducing = false;
            let end = State::with(
                end.dims,
                end.contractions,
                end.leaders,
                end.reductions,
                end.last_reduction,
                false,
                end.depth,
                end.counts,
                end.usage,
            );
            push(self, StepType::EndReductions, end);
        } else {
            for c in self.contractions(st) {
                push(self, StepType::Contract, c);
            }
            for c in self.splits(st) {
                push(self, StepType::Split, c);
            }
            for c in self.merges(st) {
                push(self, StepType::Merge, c);
            }
            for c in self.shifts(st) {
                push(self, StepType::Shift, c);
            }
            for c in self.unfolds(st) {
                push(self, StepType::Unfold, c);
            }
            for leaf in finalizations(self.cfg, st, self.stats) {
                out.push((StepType::Finalize, GeneratedChild::Leaf(leaf)));
            }
        }
        out.sort_by_key(|c| c.0);
        out
    }

    /// Depth budget, shape distance and FLOPs upper bound.
    fn admissible(&self, st: &State) -> bool {
        let depth = self.cfg.budgets().depth;
        if st.depth as u32 > depth {
            self.stats.prune(Prune::Budget);
            return false;
        }
        match shape_distance(self.cfg, st) {
            Some(d) if d <= depth - st.depth as u32 => {}
            _ => {
                self.stats.prune(Prune::ShapeDistance);
                return false;
            }
        }
        if !st.reducing
            && crate::distance::flops_upper_bound(self.cfg, st) < self.cfg.budgets().flops.0
        {
            self.stats.prune(Prune::FlopsUpperBound);
            return false;
        }
        // The relaxed feasibility test is costlier: the DAG runs it when a descent first
        // considers the node ([`crate::dag::Dag::feasible`]).
        true
    }

    fn chain_ok(&self, dims: &[Arc<DimNode>]) -> bool {
        let max = self.cfg.budgets().max_chain_length;
        if dims.iter().all(|d| d.height as u32 <= max) {
            true
        } else {
            self.stats.prune(Prune::Budget);
            false
        }
    }

    /// Whether a view on `d` is allowed after the contractions so far (it must touch the
    /// latest weight's dims).
    fn fresh(st: &State, d: &DimNode) -> bool {
        match st.weights() {
            0 => true,
            w => d.weights & (1 << (w - 1)) != 0,
        }
    }

    fn reductions(&self, st: &State) -> Vec<State> {
        let cfg = self.cfg;
        let b = cfg.budgets();
        let mut out = Vec::new();
        if st.reductions.len() as u32 >= b.max_reductions {
            return out;
        }
        let start = if st.reductions.is_empty() {
            0
        } else {
            st.last_reduction
        };
        for (ci, &size) in cfg.candidates.iter().enumerate().skip(start) {
            if !cfg.within_allowance(&st.usage, size) {
                self.stats.prune(Prune::Allowance);
                continue;
            }
            let Some(vol) = product(st.reductions.iter().copied().chain([size])) else {
                self.stats.prune(Prune::IllegalSize);
                continue;
            };
            let Some(rel) = vol.checked_div(cfg.input_numel) else {
                self.stats.prune(Prune::IllegalSize);
                continue;
            };
            if cfg.max_value(rel) > b.max_rdom_size_multiplier {
                self.stats.prune(Prune::ReductionVolume);
                continue;
            }
            let multiplicity = st.reductions.iter().filter(|&&r| r == size).count() as u8;
            let index = st.reductions.len() as u8;
            let mut dims = st.dims.clone();
            dims.push(DimNode::reduce(index, multiplicity, size));
            let mut reductions = st.reductions.clone();
            reductions.push(size);
            let mut usage = st.usage;
            let u = Config::usage(size);
            for i in 0..usage.len() {
                usage[i] += u[i];
            }
            out.push(State::with(
                dims,
                st.contractions.clone(),
                st.leaders.clone(),
                reductions,
                ci,
                true,
                st.depth + 1,
                st.counts,
                usage,
            ));
        }
        out
    }

    fn splits(&self, st: &State) -> Vec<State> {
        let mut out = Vec::new();
        if st.counts.splits as u32 >= self.cfg.budgets().max_splits {
            return out;
        }
        for (i, a) in st.dims.iter().enumerate() {
            for (j, b) in st.dims.iter().enumerate() {
                if i == j {
                    continue;
                }
                if self.reject(
                    Rule::ViewBeforeContraction,
                    !Self::fresh(st, a) && !Self::fresh(st, b),
                ) {
                    continue;
                }
                let a_split = matches!(a.step(), Some((s, _)) if s.kind == StepKind::Split);
                if self.reject(Rule::SplitRightAssociative, a_split) {
                    continue;
                }
                let undo = match (a.step(), b.step()) {
                    (Some((sa, 0)), Some((sb, 1))) => {
                        std::ptr::eq(sa, sb) && sa.kind == StepKind::Merge
                    }
                    _ => false,
                };
                if self.reject(Rule::SplitUndoesMerge, undo) {
                    continue;
                }
                if self.reject(
                    Rule::SplitTwoReductions,
                    a.is_bare_reduce() && b.is_bare_reduce(),
                ) {
                    continue;
                }
                let same_weight = match (a.step(), b.step()) {
                    (Some((sa, _)), Some((sb, _))) => {
                        std::ptr::eq(sa, sb) && matches!(sa.kind, StepKind::Contract { .. })
                    }
                    _ => false,
                };
                if self.reject(Rule::SplitSameWeight, same_weight) {
                    continue;
                }
                let Some(size) = a.size.checked_mul(b.size) else {
                    self.stats.prune(Prune::IllegalSize);
                    continue;
                };
                if !self.cfg.legal(size) {
                    self.stats.prune(Prune::IllegalSize);
                    continue;
                }
                let (_, above) =
                    AppliedStep::apply(StepKind::Split, vec![a.clone(), b.clone()], &[Some(size)]);
                if !self.chain_ok(&above) {
                    continue;
                }
                let counts = Counts {
                    splits: st.counts.splits + 1,
                    ..st.counts
                };
                out.push(st.replace(&[i, j], above, counts));
            }
        }
        out
    }

    fn merges(&self, st: &State) -> Vec<State> {
        let cfg = self.cfg;
        let mut out = Vec::new();
        if st.counts.merges as u32 >= cfg.budgets().max_merges {
            return out;
        }
        for (i, d) in st.dims.iter().enumerate() {
            if self.reject(Rule::ViewBeforeContraction, !Self::fresh(st, d))
                || self.reject(Rule::MergeOnReduce, d.is_bare_reduce())
                || self.reject(
                    Rule::MergeChainOuter,
                    matches!(d.step(), Some((s, 0)) if s.kind == StepKind::Merge),
                )
            {
                continue;
            }
            let split_inner = match d.step() {
                Some((s, _)) if s.kind == StepKind::Split => Some(s.below[1].size),
                _ => None,
            };
            for &block in &cfg.candidates {
                let Some(group) = d.size.checked_div(block) else {
                    continue;
                };
                if group.is_one() || !cfg.legal(group) {
                    self.stats.prune(Prune::IllegalSize);
                    continue;
                }
                if self.reject(Rule::MergeUndoesSplit, split_inner == Some(block)) {
                    continue;
                }
                let ordered = (cfg.max_value(block), block) >= (cfg.max_value(group), group);
                if self.reject(Rule::MergeUnorderedOrder, d.unordered && !ordered) {
                    continue;
                }
                let (_, above) = AppliedStep::apply(
                    StepKind::Merge,
                    vec![d.clone()],
                    &[Some(group), Some(block)],
                );
                if !self.chain_ok(&above) {
                    continue;
                }
                let counts = Counts {
                    merges: st.counts.merges + 1,
                    ..st.counts
                };
                out.push(st.replace(&[i], above, counts));
            }
        }
        out
    }

    fn shifts(&self, st: &State) -> Vec<State> {
        let mut out = Vec::new();
        if st.counts.shifts as u32 >= self.cfg.budgets().max_shifts {
            return out;
        }
        for (i, d) in st.dims.iter().enumerate() {
            if self.reject(Rule::ViewBeforeContraction, !Self::fresh(st, d))
                || self.reject(Rule::ShiftOnReduce, d.is_bare_reduce())
                || self.reject(Rule::ShiftUnordered, d.unordered)
                || self.reject(
                    Rule::ShiftChain,
                    matches!(d.step(), Some((s, _)) if s.kind == StepKind::Shift),
                )
            {
                continue;
            }
            let (_, above) = AppliedStep::apply(StepKind::Shift, vec![d.clone()], &[Some(d.size)]);
            if !self.chain_ok(&above) {
                continue;
            }
            let counts = Counts {
                shifts: st.counts.shifts + 1,
                ..st.counts
            };
            out.push(st.replace(&[i], above, counts));
        }
        out
    }

    fn unfolds(&self, st: &State) -> Vec<State> {
        let cfg = self.cfg;
        let b = cfg.budgets();
        let mut out = Vec::new();
        if st.counts.unfolds as u32 >= b.max_unfolds {
            return out;
        }
        for (i, main) in st.dims.iter().enumerate() {
            for (j, win) in st.dims.iter().enumerate() {
                if i == j {
                    continue;
                }
                if self.reject(
                    Rule::ViewBeforeContraction,
                    !Self::fresh(st, main) && !Self::fresh(st, win),
                ) || self.reject(Rule::UnfoldDoubleReduction, main.only_reduce())
                    || self.reject(Rule::UnfoldWindowBareReduce, win.is_bare_reduce())
                {
                    continue;
                }
                let chain = match main.step() {
                    Some((s, _)) if s.kind == StepKind::Unfold => win.size < s.below[1].size,
                    _ => false,
                };
                if self.reject(Rule::UnfoldChainOrder, chain) {
                    continue;
                }
                let ratio_ok = main
                    .size
                    .checked_div(win.size)
                    .is_some_and(|r| cfg.min_value(r) >= b.min_unfold_ratio);
                if !cfg.odd(win.size)
                    || cfg.max_value(win.size) > b.max_unfold_kernel as f64
                    || !ratio_ok
                {
                    self.stats.prune(Prune::Window);
                    continue;
                }
                let (_, above) = AppliedStep::apply(
                    StepKind::Unfold,
                    vec![main.clone(), win.clone()],
                    &[Some(main.size)],
                );
                if !self.chain_ok(&above) {
                    continue;
                }
                let counts = Counts {
                    unfolds: st.counts.unfolds + 1,
                    ..st.counts
                };
                out.push(st.replace(&[i, j], above, counts));
            }
        }
        out
    }

    fn contractions(&self, st: &State) -> Vec<State> {
        let mut out = Vec::new();
        if st.weights() as u32 + 1 >= self.cfg.budgets().max_tensors {
            return out;
        }
        // modes[i]: 0 not chosen, 1 shared, 2 created.
        let mut modes = vec![0u8; st.dims.len()];
        self.enumerate_contractions(st, 0, 0, &mut modes, &mut out);
        out
    }

    fn enumerate_contractions(
        &self,
        st: &State,
        pos: usize,
        chosen: usize,
        modes: &mut Vec<u8>,
        out: &mut Vec<State>,
    ) {
        if pos == modes.len() {
            if chosen >= 2
                && let Some(s) = self.contraction(st, modes)
            {
                out.push(s);
            }
            return;
        }
        for m in 0..3u8 {
            if m > 0 && chosen == MAX_WEIGHT_AXES {
                break;
            }
            modes[pos] = m;
            self.enumerate_contractions(st, pos + 1, chosen + (m > 0) as usize, modes, out);
        }
        modes[pos] = 0;
    }

    fn contraction(&self, st: &State, modes: &[u8]) -> Option<State> {
        let cfg = self.cfg;
        let b = cfg.budgets();
        let chosen: Vec<usize> = (0..modes.len()).filter(|&i| modes[i] > 0).collect();
        let dims: Vec<Arc<DimNode>> = chosen.iter().map(|&i| st.dims[i].clone()).collect();
        let created: Vec<bool> = chosen.iter().map(|&i| modes[i] == 2).collect();
        let w = st.weights();
        if w > 0 {
            let latest = 1u8 << (w - 1);
            let depends = dims.iter().any(|d| d.weights & latest != 0);
            let leader = dims[0].key;
            if self.reject(
                Rule::ContractionOrder,
                !depends && leader <= st.leaders[w - 1],
            ) {
                return None;
            }
        }
        let low_rank = dims
            .iter()
            .zip(&created)
            .any(|(d, &c)| c && d.only_reduce() && d.weights != 0);
        let matmul =
            dims.iter().any(|d| d.has_reduce) && (low_rank || dims.iter().any(|d| d.has_output));
        if self.reject(Rule::ContractionMatmulLike, !matmul) {
            return None;
        }
        // Every weight axis uses the occurrences of its primary part.
        let mut usage = st.usage;
        for d in &dims {
            let add = Config::weight_usage(d.size);
            if !cfg.fits(&usage, &add) {
                self.stats.prune(Prune::Allowance);
                return None;
            }
            for i in 0..usage.len() {
                usage[i] += add[i];
            }
        }
        let mut outer = kas_primitives::Size::ONE;
        for (d, &c) in dims.iter().zip(&created) {
            if !c {
                continue;
            }
            if d.only_reduce() {
                if self.reject(Rule::CreateOnBareReduce, d.weights == 0) {
                    return None;
                }
                if !cfg.weight_sharing_ok(d.size) {
                    self.stats.prune(Prune::ContractionShape);
                    return None;
                }
            } else {
                outer = outer.checked_mul(d.size)?;
            }
        }
        if cfg.max_value(outer) > b.max_expansion_merge_multiplier as f64 {
            self.stats.prune(Prune::ContractionShape);
            return None;
        }
        let numel = product(dims.iter().map(|d| d.size))?;
        if cfg.min_value(numel) < b.min_single_weight_params as f64 {
            self.stats.prune(Prune::ContractionShape);
            return None;
        }
        let sizes: Vec<Option<kas_primitives::Size>> = dims
            .iter()
            .zip(&created)
            .map(|(d, &c)| if c { None } else { Some(d.size) })
            .collect();
        let leader = dims[0].key;
        let (step, above) = AppliedStep::apply(
            StepKind::Contract {
                weight: w as u8,
                created,
            },
            dims,
            &sizes,
        );
        if !self.chain_ok(&above) {
            return None;
        }
        let mut next = st.replace(&chosen, above, st.counts);
        let mut contractions = st.contractions.clone();
        contractions.push(step);
        let mut leaders = st.leaders.clone();
        leaders.push(leader);
        next = State::with(
            next.dims,
            contractions,
            leaders,
            next.reductions,
            next.last_reduction,
            false,
            next.depth,
            next.counts,
            usage,
        );
        Some(next)
    }
}
