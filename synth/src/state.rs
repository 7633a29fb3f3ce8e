//! A partial operator: the search state of one node of the synthesis DAG.

use crate::config::Config;
use crate::dim::{AppliedStep, DimNode};
use crate::mix::mix;
use kas_primitives::Size;
use kas_primitives::size::MAX_VARS;
use std::sync::Arc;

/// Per-primitive step counts of a partial operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Merge steps.
    pub merges: u8,
    /// Split steps.
    pub splits: u8,
    /// Shift steps.
    pub shifts: u8,
    /// Unfold steps.
    pub unfolds: u8,
}

/// A partial operator: the data frontier, the weights attached so far and the reductions.
#[derive(Debug, Clone)]
pub struct State {
    /// Data-side frontier dims, sorted by key.
    pub dims: Vec<Arc<DimNode>>,
    /// Contraction steps, by weight index (synthesis order).
    pub contractions: Vec<Arc<AppliedStep>>,
    /// Leader key (smallest chosen dim key) of each contraction.
    pub leaders: Vec<u64>,
    /// Reduction domains, in creation order (non-decreasing candidate index).
    pub reductions: Vec<Size>,
    /// Candidate index of the last reduction (reductions are a multiset).
    pub last_reduction: usize,
    /// Still in the reduction stage.
    pub reducing: bool,
    /// Steps applied (each Reduce and each Contraction counts one).
    pub depth: u8,
    /// Per-primitive counts.
    pub counts: Counts,
    /// Variable occurrences used by reductions and created weight axes.
    pub usage: [i16; 2 * MAX_VARS],
    /// Structural key.
    pub key: u64,
}

impl State {
    /// The root: the output iterators, no reduction yet.
    pub(crate) fn root(cfg: &Config) -> State {
        let dims = cfg
            .outputs
            .iter()
            .map(|t| DimNode::output(t.index, t.size, t.unordered))
            .collect();
        State::with(
            dims,
            Vec::new(),
            Vec::new(),
            Vec::new(),
            0,
            true,
            0,
            Counts::default(),
            [0; 2 * MAX_VARS],
        )
    }

    /// Builds a state and computes its key (dims are sorted here).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn with(
        mut dims: Vec<Arc<DimNode>>,
        contractions: Vec<Arc<AppliedStep>>,
        leaders: Vec<u64>,
        reductions: Vec<Size>,
        last_reduction: usize,
        reducing: bool,
        depth: u8,
        counts: Counts,
        usage: [i16; 2 * MAX_VARS],
    ) -> State {
        dims.sort_by_key(|d| d.key);
        let mut key = mix(0x57a7e, reducing as u64);
        key = mix(key, depth as u64);
        for d in &dims {
            key = mix(key, d.key);
        }
        for c in &contractions {
            key = mix(key, c.key);
        }
        for r in &reductions {
            key = mix(key, crate::mix::size_key(*r));
        }
        State {
            dims,
            contractions,
            leaders,
            reductions,
            last_reduction,
            reducing,
            depth,
            counts,
            usage,
            key,
        }
    }

    /// Number of weights attached.
    pub fn weights(&self) -> usize {
        self.contractions.len()
    }

    /// A child state with `removed` frontier positions replaced by `added`, one more step.
    pub(crate) fn replace(
        &self,
        removed: &[usize],
        added: Vec<Arc<DimNode>>,
        counts: Counts,
    ) -> State {
        let mut dims: Vec<Arc<DimNode>> = self
            .dims
            .iter()
            .enumerate()
            .filter(|(i, _)| !removed.contains(i))
            .map(|(_, d)| d.clone())
            .collect();
        dims.extend(added);
        State::with(
            dims,
            self.contractions.clone(),
            self.leaders.clone(),
            self.reductions.clone(),
            self.last_reduction,
            false,
            self.depth + 1,
            counts,
            self.usage,
        )
    }
}
