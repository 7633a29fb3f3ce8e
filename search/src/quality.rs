//! The search-quality harness: MCTS, random and beam search on the same DAG with the same
//! fixed reward per candidate (the [`StandIn`] figures under the default balanced reward, the
//! stand-in baseline at the screen fidelity), each candidate evaluated once and shared by
//! every run. For each algorithm: the best reward found after `n` evaluations, averaged over
//! seeds.

use crate::space::{CanonCache, Space};
use crate::standin::StandIn;
use kas_campaign::Algorithm;
use kas_campaign::Evaluator;
use kas_campaign::Fidelity;
use kas_campaign::RewardConfig;
use kas_campaign::StandInConfig;
use kas_synth::Dag;
use std::collections::HashMap;
use std::sync::Arc;

/// One algorithm's results.
#[derive(Debug, Clone)]
pub struct Row {
    /// Algorithm name.
    pub algorithm: String,
    /// Per checkpoint: mean over seeds of the best reward after that many evaluations.
    pub mean_best: Vec<f64>,
    /// Per checkpoint: standard deviation over seeds.
    pub std_best: Vec<f64>,
    /// Runs that ran out of candidates before the last checkpoint.
    pub exhausted_runs: usize,
}

/// The comparison.
#[derive(Debug, Clone)]
pub struct Table {
    /// Evaluation counts at which the best reward is read.
    pub checkpoints: Vec<usize>,
    /// Seeds per algorithm.
    pub seeds: u64,
    /// One row per algorithm.
    pub rows: Vec<Row>,
    /// Distinct candidates evaluated over all runs (the pool).
    pub pool: usize,
    /// The best reward in the pool.
    pub pool_best: f64,
}

/// The fixed reward of every candidate (the pool's "evaluation").
#[derive(Debug)]
pub struct Pool {
    standin: StandIn,
    reward: RewardConfig,
    baseline: Option<f64>,
    rewards: HashMap<u128, f64>,
}

impl Pool {
    /// The pool of `dag`'s candidates under stand-in seed `seed`.
    pub fn new(dag: &Dag, seed: u64) -> Pool {
        let standin = StandIn::new(StandInConfig::default(), seed, dag.cfg.budgets().flops);
        let reward = RewardConfig::default();
        let baseline = reward.figure(&standin.baseline(&Fidelity::named("screen", 0), seed));
        Pool {
            standin,
            reward,
            baseline,
            rewards: HashMap::new(),
        }
    }

    /// The reward of a candidate (computed once).
    pub fn reward(&mut self, canonical: u128, flops: f64) -> f64 {
        let (s, r, b) = (&self.standin, &self.reward, self.baseline);
        *self
            .rewards
            .entry(canonical)
            .or_insert_with(|| r.reward(&s.outcome(canonical, flops, 0), b))
    }
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

/// Runs every algorithm with seeds `0..seeds` for `checkpoints.last()` evaluations each, one
/// proposal in flight at a time; `progress(done, total)` after every run.
pub fn compare(
    dag: Arc<Dag>,
    algorithms: &[Algorithm],
    seeds: u64,
    checkpoints: &[usize],
    progress: &mut dyn FnMut(usize, usize),
) -> Table {
    let cache = Arc::new(CanonCache::default());
    let mut pool = Pool::new(&dag, 0);
    let budget = checkpoints.iter().copied().max().unwrap_or(0);
    let total = algorithms.len() * seeds as usize;
    let mut rows = Vec::new();
    let mut done = 0;
    for alg in algorithms {
        let mut per_seed: Vec<Vec<f64>> = Vec::new();
        let mut exhausted_runs = 0;
        for seed in 0..seeds {
            let mut s = crate::searcher::build(alg, Space::new(dag.clone(), cache.clone()), seed);
            let mut best = 0.0f64;
            let mut curve = Vec::with_capacity(budget);
            while curve.len() < budget {
                let Some(p) = s.propose() else {
                    exhausted_runs += 1;
                    break;
                };
                let r = pool.reward(p.candidate.canonical.0, p.candidate.flops);
                s.observe(p.id, r);
                best = best.max(r);
                curve.push(best);
            }
            per_seed.push(
                checkpoints
                    .iter()
                    .map(|&n| {
                        curve
                            .get(n.max(1) - 1)
                            .or(curve.last())
                            .copied()
                            .unwrap_or(0.0)
                    })
                    .collect(),
            );
            done += 1;
            progress(done, total);
        }
        let stats: Vec<(f64, f64)> = (0..checkpoints.len())
            .map(|i| mean_std(&per_seed.iter().map(|v| v[i]).collect::<Vec<_>>()))
            .collect();
        rows.push(Row {
            algorithm: alg.name().to_string(),
            mean_best: stats.iter().map(|s| s.0).collect(),
            std_best: stats.iter().map(|s| s.1).collect(),
            exhausted_runs,
        });
    }
    Table {
        checkpoints: checkpoints.to_vec(),
        seeds,
        rows,
        pool: pool.rewards.len(),
        pool_best: pool.rewards.values().copied().fold(0.0, f64::max),
    }
}
