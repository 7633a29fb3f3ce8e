//! The graph kernel sampler: guided construction instead of rejection sampling
//! (`docs/ARCHITECTURE.md`, "Graph kernels").
//!
//! Each *descent* builds one kernel for a slot ([`Slot`]) from its own seeded generator
//! ([`descent_seed`]); a move is taken only if closing the result ([`close::close`]) stays
//! within every budget (nodes, width, largest intermediate, ceilings of the FLOPs and
//! parameter windows, given as ratios of the replaced layer's cost). Descents run in
//! parallel and are collected in index order, so the output of a seed is the same for every
//! thread count. Kernels are deduplicated by canonical hash ([`crate::canon`]).

pub mod close;
mod descent;
pub mod linear;
pub mod seq;
pub mod slot;

pub use slot::{Layout, Slot};

use crate::canon::{GraphHash, LinearHashes, canonical_hash};
use crate::error::{GraphError, Result};
use crate::kernel::GraphKernel;
use rayon::prelude::*;
use std::collections::HashSet;

/// Budgets and switches of the sampler.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleConfig {
    /// Moves drawn per descent: `[min, max]`.
    pub moves: (u32, u32),
    /// Most open nodes at any time.
    pub max_width: usize,
    /// Most nodes (the input not counted), after closing.
    pub max_nodes: usize,
    /// FLOPs window, as a ratio of the replaced layer's: `[min, max]`.
    pub flops_ratio: (f64, f64),
    /// Parameter window, as a ratio of the replaced layer's: `[min, max]`.
    pub params_ratio: (f64, f64),
    /// Largest node, relative to the larger of the slot's input and output, per binding.
    pub max_intermediate: f64,
    /// Probability that a move starts from any node (opening a branch) rather than an open one.
    pub branch_probability: f64,
    /// Moves tried per step before the step is skipped.
    pub tries_per_step: usize,
    /// Weighted moves tried to lift a kernel above the floors of its windows.
    pub lift_attempts: usize,
    /// Image slots: every kernel mixes neighbouring positions (a k×k or depthwise convolution,
    /// a shifted FC, or an FC along `H`), as Canvas's receptive-field floor above one cell
    /// asks; a descent without such a node adds one as its last move (a weighted move, like
    /// the lift above the floors). Global pooling and products over all positions do not
    /// count: they give every position the same context.
    pub spatial_mixing: bool,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            moves: (3, 12),
            max_width: 3,
            max_nodes: 25,
            flops_ratio: (0.05, 1.0),
            params_ratio: (0.05, 1.0),
            max_intermediate: 16.0,
            branch_probability: 0.25,
            tries_per_step: 8,
            lift_attempts: 4,
            spatial_mixing: false,
        }
    }
}

impl SampleConfig {
    /// Checks that the windows and counts make sense.
    pub fn check(&self) -> Result<()> {
        let window =
            |(lo, hi): (f64, f64)| lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi;
        if !window(self.flops_ratio) || !window(self.params_ratio) {
            return Err(GraphError::Sampler(
                "a window must be 0 <= min <= max, finite".into(),
            ));
        }
        if self.moves.0 > self.moves.1 || self.max_width == 0 || self.max_nodes == 0 {
            return Err(GraphError::Sampler(
                "moves min <= max, width and nodes >= 1".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.branch_probability) || self.max_intermediate.is_nan() {
            return Err(GraphError::Sampler("branch probability in [0, 1]".into()));
        }
        Ok(())
    }
}

/// Why a descent did not reach a legal kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Failure {
    /// Closing failed (never expected: every state is closed before it is reached).
    Close,
    /// Below the floor of the FLOPs or parameter window after every lift.
    BelowFloor,
    /// Above a ceiling (never expected: moves are refused before).
    AboveCeiling,
    /// The kernel failed validation (never expected).
    Invalid,
    /// `spatial_mixing` asked for, and no spatial move fitted the budgets.
    NoSpatialMixing,
}

/// The outcome of a sampling run.
#[derive(Debug, Clone)]
pub struct SampleReport {
    /// Descents run.
    pub descents: usize,
    /// Descents that reached a legal kernel.
    pub legal: usize,
    /// Failed descents by reason.
    pub failures: Vec<(Failure, usize)>,
    /// The distinct legal kernels, in descent order, with their canonical hashes.
    pub kernels: Vec<(GraphKernel, GraphHash)>,
}

/// The seed of descent `i` of a run seeded `seed` (SplitMix64 of both).
pub fn descent_seed(seed: u64, i: u64) -> u64 {
    let mut z = seed
        ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(0x6a09_e667_f3bc_c909);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Most worker threads [`sample_on`] starts (far above any machine kas runs on; a typo such as
/// `--threads 100000` would otherwise spend minutes creating threads).
pub const MAX_THREADS: usize = 1024;

/// [`sample`] in a rayon pool of `threads` threads (0: one per core; at most [`MAX_THREADS`]).
pub fn sample_on(
    threads: usize,
    slot: &Slot,
    cfg: &SampleConfig,
    descents: usize,
    seed: u64,
    prefix: &str,
) -> Result<SampleReport> {
    if threads > MAX_THREADS {
        return Err(GraphError::Sampler(format!(
            "{threads} threads: at most {MAX_THREADS}"
        )));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| GraphError::Sampler(format!("cannot start {threads} threads: {e}")))?;
    pool.install(|| sample(slot, cfg, descents, seed, prefix))
}

/// The kernel for `slot` of the start of every descent: the input alone, named `prefix`.
fn start_kernel(slot: &Slot, prefix: &str) -> Result<GraphKernel> {
    if slot.bindings.is_empty() {
        return Err(GraphError::Sampler("the slot has no binding".into()));
    }
    GraphKernel::new(
        prefix,
        slot.vars.clone(),
        slot.bindings.clone(),
        slot.input_shape(),
    )
}

/// Descent `i` of a run seeded `seed` alone (what [`sample`] runs for each index): its kernel
/// (named `<prefix>-<i>`) with its canonical hash, or why it failed. A searcher draws kernels
/// one descent at a time with it; `memo` may be shared between calls.
pub fn descend(
    slot: &Slot,
    cfg: &SampleConfig,
    i: u64,
    seed: u64,
    prefix: &str,
    memo: &LinearHashes,
) -> Result<std::result::Result<(GraphKernel, GraphHash), Failure>> {
    cfg.check()?;
    let mut g = start_kernel(slot, prefix)?;
    g.name = format!("{prefix}-{i}");
    let d = descent::Descent::new(slot, cfg, g, descent_seed(seed, i));
    Ok(d.run().map(|g| {
        let h = canonical_hash(&g, memo);
        (g, h)
    }))
}

/// Runs `descents` descents for `slot` in the current rayon pool and keeps the distinct
/// legal kernels (named `<prefix>-<descent>`).
pub fn sample(
    slot: &Slot,
    cfg: &SampleConfig,
    descents: usize,
    seed: u64,
    prefix: &str,
) -> Result<SampleReport> {
    cfg.check()?;
    let memo = LinearHashes::new();
    let start = start_kernel(slot, prefix)?;
    let outcomes: Vec<std::result::Result<(GraphKernel, GraphHash), Failure>> = (0..descents)
        .into_par_iter()
        .map(|i| {
            let mut g = start.clone();
            g.name = format!("{prefix}-{i}");
            let d = descent::Descent::new(slot, cfg, g, descent_seed(seed, i as u64));
            d.run().map(|g| {
                let h = canonical_hash(&g, &memo);
                (g, h)
            })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut report = SampleReport {
        descents,
        legal: 0,
        failures: Vec::new(),
        kernels: Vec::new(),
    };
    for o in outcomes {
        match o {
            Ok((g, h)) => {
                report.legal += 1;
                if seen.insert(h) {
                    report.kernels.push((g, h));
                }
            }
            Err(f) => match report.failures.iter_mut().find(|(x, _)| *x == f) {
                Some(e) => e.1 += 1,
                None => report.failures.push((f, 1)),
            },
        }
    }
    report.failures.sort();
    Ok(report)
}
