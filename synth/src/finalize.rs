//! Finalization: a frontier that equals the input shape becomes complete operators, one per
//! assignment of frontier dims to input axes, each replayed through the builder and kept only
//! inside the FLOPs window and when its plan's intermediates and gathered operands stay under
//! their budgets.

use crate::config::Config;
use crate::replay::replay;
use crate::rules::{DagStats, Prune};
use crate::state::State;
use kas_primitives::{Operator, Plan, StructuralHash};

/// A complete operator found by synthesis.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The operator (over the spec's variables and bindings).
    pub op: Operator,
    /// Its structural hash.
    pub hash: StructuralHash,
    /// Multiply-adds of its cheapest plan, summed over the bindings.
    pub flops: f64,
    /// Steps from the root (its depth in the DAG).
    pub depth: u8,
}

/// The complete operators of `st` (empty unless its frontier matches the input shape).
pub(crate) fn finalizations(cfg: &Config, st: &State, stats: &DagStats) -> Vec<Leaf> {
    let mut out = Vec::new();
    if st.reducing || st.weights() == 0 || st.dims.len() != cfg.inputs.len() {
        return out;
    }
    let mut sizes: Vec<_> = st.dims.iter().map(|d| d.size).collect();
    sizes.sort();
    if sizes != cfg.input_sizes {
        return out;
    }
    // Pooling: reductions that reach the input without any weight.
    let bare = st.dims.iter().fold(0u8, |a, d| a | d.bare);
    let pooled: f64 = st
        .reductions
        .iter()
        .enumerate()
        .filter(|(i, _)| bare & (1 << i) != 0)
        .map(|(_, &r)| cfg.max_value(r))
        .product();
    if pooled > cfg.budgets().max_pooling_factor {
        stats.prune(Prune::Pooling);
        return out;
    }
    let max = cfg.budgets().max_finalizations.max(1) as usize;
    let mut assignment = Vec::with_capacity(cfg.inputs.len());
    let mut used = vec![false; st.dims.len()];
    assign(cfg, st, &mut assignment, &mut used, &mut |a| {
        match replay(cfg, st, a) {
            Ok(op) => match Plan::with_bindings(&op, cfg.bindings()) {
                Ok(plan) => {
                    let flops = plan.total_flops() as f64;
                    let (lo, hi) = cfg.budgets().flops;
                    if flops < lo {
                        stats.prune(Prune::FlopsBelowWindow);
                    } else if flops > hi {
                        stats.prune(Prune::FlopsAboveWindow);
                    } else if !params_within(&op, cfg) {
                        stats.prune(Prune::ParamsOutsideWindow);
                    } else if plan.intermediate_ratio(&op, cfg.bindings())
                        > cfg.budgets().max_intermediate_multiplier
                    {
                        stats.prune(Prune::IntermediateTooLarge);
                    } else if plan.gather_ratio(&op, cfg.bindings())
                        > cfg.budgets().max_gather_multiplier
                    {
                        stats.prune(Prune::GatherTooLarge);
                    } else {
                        let hash = op.structural_hash();
                        DagStats::bump(&stats.leaves_generated);
                        out.push(Leaf {
                            op,
                            hash,
                            flops,
                            depth: st.depth,
                        });
                    }
                }
                Err(_) => stats.prune(Prune::Unplannable),
            },
            // A replay failure is a synthesis bug: surface it loudly in debug builds.
            Err(e) => debug_assert!(false, "replay failed: {e}"),
        }
        out.len() < max
    });
    out
}

/// Whether `op`'s weights, summed over the bindings, lie in the spec's parameter window
/// (the default window holds everything).
fn params_within(op: &kas_primitives::Operator, cfg: &Config) -> bool {
    let (lo, hi) = cfg.budgets().params;
    if lo <= 0.0 && hi >= f64::MAX {
        return true;
    }
    let mut total = 0.0;
    for b in cfg.bindings() {
        match op.params(b) {
            Ok(p) => total += p as f64,
            Err(_) => return false,
        }
    }
    (lo..=hi).contains(&total)
}

/// Enumerates injective assignments of frontier dims to input axes of equal size, in order;
/// `f` returns whether to continue.
fn assign(
    cfg: &Config,
    st: &State,
    assignment: &mut Vec<usize>,
    used: &mut [bool],
    f: &mut dyn FnMut(&[usize]) -> bool,
) -> bool {
    let k = assignment.len();
    if k == cfg.inputs.len() {
        return f(assignment);
    }
    for i in 0..st.dims.len() {
        if used[i] || st.dims[i].size != cfg.inputs[k].size {
            continue;
        }
        used[i] = true;
        assignment.push(i);
        let go_on = assign(cfg, st, assignment, used, f);
        assignment.pop();
        used[i] = false;
        if !go_on {
            return false;
        }
    }
    true
}
