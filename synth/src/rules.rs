//! Named generation filters (each a switch with a hit counter), pruning bounds and run
//! counters.
//!
//! A [`Rule`] is either *exact* (it only removes steps whose operators are also reached by a
//! canonical sequence, or that add nothing to the function computed) or *heuristic* (it
//! removes operators Syno considered not worth offering). [`Prune`] counts budget, legality
//! and bound failures, which are not switchable.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $v,)* }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v,)*];
            /// Its snake-case name (used in reports).
            pub fn name(self) -> &'static str {
                match self { $($name::$v => $s,)* }
            }
        }
    };
}

named_enum! {
    /// A generation filter (after Syno's generation-time rules; `docs/ARCHITECTURE.md`,
    /// "Canonicalization").
    Rule {
        /// After a contraction, a view must touch a dim that passed through the latest weight
        /// (views on older dims commute below it). Exact.
        ViewBeforeContraction => "view_before_contraction",
        /// Split chains are right-associated: a Split's outer operand is not itself a Split.
        /// Exact.
        SplitRightAssociative => "split_right_associative",
        /// A Split recombining the two pieces of one Merge is the identity. Exact.
        SplitUndoesMerge => "split_undoes_merge",
        /// A Split of two bare reductions equals one reduction of the product. Exact.
        SplitTwoReductions => "split_two_reductions",
        /// A Split of two axes of the same weight moves into the weight. Exact.
        SplitSameWeight => "split_same_weight",
        /// A Merge directly on a reduction is two reductions. Exact.
        MergeOnReduce => "merge_on_reduce",
        /// A Merge whose pieces equal the Split below it is the identity. Exact.
        MergeUndoesSplit => "merge_undoes_split",
        /// Merge chains are bracketed one way: no Merge on a Merge's outer piece. Exact.
        MergeChainOuter => "merge_chain_outer",
        /// On a channel-like dim the Merge factors are ordered (block ≥ group). Exact.
        MergeUnorderedOrder => "merge_unordered_order",
        /// A Shift directly on a reduction changes nothing (sums are shift-invariant). Exact.
        ShiftOnReduce => "shift_on_reduce",
        /// A Shift on a channel-like dim is absorbed by the weights. Exact.
        ShiftUnordered => "shift_unordered",
        /// Unfold's main operand only leads to reductions (a double reduction). Exact.
        UnfoldDoubleReduction => "unfold_double_reduction",
        /// Chained Unfolds have non-decreasing windows. Exact.
        UnfoldChainOrder => "unfold_chain_order",
        /// Independent contractions are ordered by their leader dim. Exact.
        ContractionOrder => "contraction_order",
        /// A weight axis created over a bare reduction only sums the weight. Exact.
        CreateOnBareReduce => "create_on_bare_reduce",
        /// No Shift on a Shift (Syno: no chains). Heuristic.
        ShiftChain => "shift_chain",
        /// An Unfold window must not be a bare reduction (no unweighted box filter).
        /// Heuristic.
        UnfoldWindowBareReduce => "unfold_window_bare_reduce",
        /// A contraction must look like a matmul: some axis over a reduction and some "outer"
        /// axis, over an output iterator or a weight-sharing (low-rank) axis the weight
        /// creates (Syno counts those as outer too). Heuristic.
        ContractionMatmulLike => "contraction_matmul_like",
    }
}

impl Rule {
    /// Whether the rule is exact (loses no operator up to equivalence).
    pub fn exact(self) -> bool {
        !matches!(
            self,
            Rule::ShiftChain | Rule::UnfoldWindowBareReduce | Rule::ContractionMatmulLike
        )
    }
}

named_enum! {
    /// Why a candidate child was discarded (budgets, legality, bounds).
    Prune {
        /// A size is illegal under some binding or too complex.
        IllegalSize => "illegal_size",
        /// A per-primitive count, depth, weight count or chain length budget.
        Budget => "budget",
        /// Variable occurrence allowance.
        Allowance => "allowance",
        /// Reduction volume bound (`max_rdom_size_multiplier`).
        ReductionVolume => "reduction_volume",
        /// Unfold window constraints (odd, ≤ max kernel, ratio).
        Window => "window",
        /// Contraction shape constraints (axes, expansion multiplier, weight size).
        ContractionShape => "contraction_shape",
        /// The shape distance exceeds the remaining depth.
        ShapeDistance => "shape_distance",
        /// The relaxed search (sizes and budgets only) finds no completion.
        Relaxation => "relaxation",
        /// The FLOPs lower bound exceeds the window.
        FlopsBound => "flops_bound",
        /// The FLOPs upper bound (naive loop nest) is below the window.
        FlopsUpperBound => "flops_upper_bound",
        /// A finalization over the pooling bound.
        Pooling => "pooling",
        /// A finalization whose real FLOPs are below the window.
        FlopsBelowWindow => "flops_below_window",
        /// A finalization whose real FLOPs are above the window.
        FlopsAboveWindow => "flops_above_window",
        /// A finalization whose weights, summed over the bindings, are outside the spec's
        /// parameter window (`budgets.params`).
        ParamsOutsideWindow => "params_outside_window",
        /// A finalization whose plan has an intermediate over `max_intermediate_multiplier`
        /// times its input or output.
        IntermediateTooLarge => "intermediate_too_large",
        /// A finalization whose plan gathers an operand over `max_gather_multiplier` times its
        /// input or output.
        GatherTooLarge => "gather_too_large",
        /// A finalization the planner cannot cost.
        Unplannable => "unplannable",
    }
}

/// Which filters are on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filters {
    on: Vec<bool>,
}

impl Default for Filters {
    fn default() -> Filters {
        Filters {
            on: vec![true; Rule::ALL.len()],
        }
    }
}

impl Filters {
    /// Only the exact rules on.
    pub fn exact_only() -> Filters {
        Filters {
            on: Rule::ALL.iter().map(|r| r.exact()).collect(),
        }
    }

    /// Every exact rule off, heuristic ones on.
    pub fn without_exact() -> Filters {
        Filters {
            on: Rule::ALL.iter().map(|r| !r.exact()).collect(),
        }
    }

    /// Whether `r` is on.
    pub fn on(&self, r: Rule) -> bool {
        self.on[r as usize]
    }

    /// Turns `r` on or off.
    pub fn set(&mut self, r: Rule, on: bool) {
        self.on[r as usize] = on;
    }
}

/// Counters of one synthesis DAG, shared by all threads: filter hits, prunes, nodes,
/// transpositions, expansions, dead nodes and leaves.
#[derive(Debug)]
pub struct DagStats {
    rules: Vec<AtomicU64>,
    prunes: Vec<AtomicU64>,
    /// Nodes inserted into the transposition table.
    pub nodes: AtomicU64,
    /// Candidate children that met an existing node.
    pub transpositions: AtomicU64,
    /// Nodes whose children were generated.
    pub expanded: AtomicU64,
    /// Nodes proved to have no leaf.
    pub dead: AtomicU64,
    /// Leaf candidates accepted (finalizations inside every bound).
    pub leaves_generated: AtomicU64,
}

impl Default for DagStats {
    fn default() -> DagStats {
        let v = |n: usize| (0..n).map(|_| AtomicU64::new(0)).collect();
        DagStats {
            rules: v(Rule::ALL.len()),
            prunes: v(Prune::ALL.len()),
            nodes: AtomicU64::new(0),
            transpositions: AtomicU64::new(0),
            expanded: AtomicU64::new(0),
            dead: AtomicU64::new(0),
            leaves_generated: AtomicU64::new(0),
        }
    }
}

impl DagStats {
    /// Counts a hit of `r`.
    pub(crate) fn hit(&self, r: Rule) {
        self.rules[r as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a prune.
    pub(crate) fn prune(&self, p: Prune) {
        self.prunes[p as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Hits of `r` so far.
    pub fn hits(&self, r: Rule) -> u64 {
        self.rules[r as usize].load(Ordering::Relaxed)
    }

    /// Prunes of kind `p` so far.
    pub fn prunes(&self, p: Prune) -> u64 {
        self.prunes[p as usize].load(Ordering::Relaxed)
    }

    /// Reads a plain counter.
    pub(crate) fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    /// Adds one to a plain counter.
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}
