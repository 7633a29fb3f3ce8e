//! A sampling run: parallel random descents until a count, a time limit or exhaustion, with
//! distinct operators delivered in descent order and a report of every counter.

use crate::dag::Dag;
use crate::descent::{Descent, descend_until};
use crate::error::{Result, SynthError};
use crate::finalize::Leaf;
use crate::rules::{DagStats, Prune, Rule};
use kas_primitives::StructuralHash;
use rayon::prelude::*;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

/// Descents per epoch (fixed, so that runs do not depend on the thread count).
pub(crate) const EPOCH: u64 = 64;

/// How long a run goes on.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Seed of every random choice.
    pub seed: u64,
    /// Stop after this many distinct operators (deterministic for a seed).
    pub count: Option<usize>,
    /// Stop after this many seconds (not deterministic).
    pub seconds: Option<f64>,
    /// Worker threads (0: rayon's default).
    pub threads: usize,
    /// Stop after this many descents in any case.
    pub max_descents: u64,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            seed: 0,
            count: None,
            seconds: None,
            threads: 0,
            max_descents: u64::MAX,
        }
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthStop {
    /// The requested number of distinct operators was reached.
    Count,
    /// The time limit passed.
    Time,
    /// Every node was proved dead or exhausted: the space is enumerated.
    Exhausted,
    /// The descent limit was reached.
    Descents,
}

impl SynthStop {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            SynthStop::Count => "count",
            SynthStop::Time => "time",
            SynthStop::Exhausted => "exhausted",
            SynthStop::Descents => "descents",
        }
    }
}

/// The report of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Why it stopped.
    pub stop: SynthStop,
    /// Seconds of sampling.
    pub seconds: f64,
    /// Descents run.
    pub descents: u64,
    /// Descents that reached a leaf.
    pub leaves: u64,
    /// Descents whose first walk reached a leaf (no backtracking).
    pub first_walk_leaves: u64,
    /// Nodes abandoned by backtracking, over all descents.
    pub backtracks: u64,
    /// Distinct operators by structural hash.
    pub distinct: u64,
    /// Nodes in the DAG.
    pub nodes: u64,
    /// Candidate children that met an existing node.
    pub transpositions: u64,
    /// Nodes whose children were generated.
    pub expanded: u64,
    /// Nodes proved dead.
    pub dead: u64,
    /// Hits per filter rule.
    pub rule_hits: Vec<(Rule, u64)>,
    /// Prunes per bound or budget.
    pub prunes: Vec<(Prune, u64)>,
}

impl Report {
    /// Distinct operators per second.
    pub fn distinct_per_sec(&self) -> f64 {
        self.distinct as f64 / self.seconds.max(1e-9)
    }

    /// Leaves reached per descent.
    pub fn leaf_rate(&self) -> f64 {
        if self.descents == 0 {
            0.0
        } else {
            self.leaves as f64 / self.descents as f64
        }
    }

    /// Descents whose first walk reached a leaf, per descent.
    pub fn first_walk_rate(&self) -> f64 {
        if self.descents == 0 {
            0.0
        } else {
            self.first_walk_leaves as f64 / self.descents as f64
        }
    }
}

/// Runs descents on `dag`; `sink` receives each new distinct operator, in descent order.
pub fn run(dag: &Dag, opts: &RunOptions, mut sink: impl FnMut(&Leaf)) -> Result<Report> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| SynthError::Threads(e.to_string()))?;
    let start = Instant::now();
    let mut epoch = 0u64;
    let deadline = opts
        .seconds
        .map(|s| start + std::time::Duration::from_secs_f64(s));
    let mut seen: HashSet<StructuralHash> = HashSet::new();
    let (mut descents, mut leaves, mut first, mut backtracks) = (0u64, 0u64, 0u64, 0u64);
    let stop = loop {
        if opts.count.is_some_and(|c| seen.len() >= c) {
            break SynthStop::Count;
        }
        if opts
            .seconds
            .is_some_and(|s| start.elapsed().as_secs_f64() >= s)
        {
            break SynthStop::Time;
        }
        if dag.root().is_dead() {
            break SynthStop::Exhausted;
        }
        if descents >= opts.max_descents {
            break SynthStop::Descents;
        }
        let n = EPOCH.min(opts.max_descents - descents);
        let found: Vec<Descent> = pool.install(|| {
            (descents..descents + n)
                .into_par_iter()
                .map(|i| descend_until(dag, opts.seed, i, epoch, deadline))
                .collect()
        });
        epoch += 1;
        for d in found {
            if opts.count.is_some_and(|c| seen.len() >= c) {
                break;
            }
            if d.aborted {
                continue;
            }
            descents += 1;
            backtracks += d.backtracks;
            let Some(leaf) = d.leaf else { continue };
            leaves += 1;
            if d.backtracks == 0 {
                first += 1;
            }
            if seen.insert(leaf.hash) {
                sink(&leaf);
            }
        }
    };
    let s = &dag.stats;
    Ok(Report {
        stop,
        seconds: start.elapsed().as_secs_f64(),
        descents,
        leaves,
        first_walk_leaves: first,
        backtracks,
        distinct: seen.len() as u64,
        nodes: DagStats::get(&s.nodes),
        transpositions: DagStats::get(&s.transpositions),
        expanded: DagStats::get(&s.expanded),
        dead: DagStats::get(&s.dead),
        rule_hits: Rule::ALL.iter().map(|&r| (r, s.hits(r))).collect(),
        prunes: Prune::ALL.iter().map(|&p| (p, s.prunes(p))).collect(),
    })
}

/// Convenience: a run that collects the distinct operators.
pub fn sample(dag: &Dag, opts: &RunOptions) -> Result<(Vec<Arc<Leaf>>, Report)> {
    let mut out = Vec::new();
    let report = run(dag, opts, |l| out.push(Arc::new(l.clone())))?;
    Ok((out, report))
}
