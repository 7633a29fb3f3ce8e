//! Searchers on cnn-small's DAG: no canonical hash twice, reproducible for a seed and a
//! sequence of outcomes, virtual loss and progressive widening in MCTS.

use kas_campaign::{Algorithm, BeamConfig, MctsConfig, RewardConfig, StandInConfig};
use kas_search::mcts::Mcts;
use kas_search::{CanonCache, Searcher, Space, StandIn};
use kas_synth::{Config, Dag, Filters};
use std::collections::HashSet;
use std::sync::Arc;

/// One DAG and one canonical-hash cache for the whole test binary (canonicalization
/// dominates the cost of these tests).
fn shared() -> &'static (Arc<Dag>, Arc<CanonCache>) {
    static S: std::sync::OnceLock<(Arc<Dag>, Arc<CanonCache>)> = std::sync::OnceLock::new();
    S.get_or_init(|| (dag(), Arc::new(CanonCache::default())))
}

fn dag() -> Arc<Dag> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../experiments/specs/cnn-small.ron"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let spec = kas_primitives::Spec::read(&text, path).unwrap();
    Arc::new(Dag::new(Config::new(spec).unwrap(), Filters::default()))
}

fn algorithms() -> Vec<Algorithm> {
    vec![
        Algorithm::Mcts(MctsConfig::default()),
        Algorithm::Random,
        Algorithm::Beam(BeamConfig::default()),
    ]
}

/// Runs `n` propose/observe rounds (`batch` proposals in flight each), rewarding with the
/// stand-in; returns the canonical hashes in proposal order.
fn drive(s: &mut dyn Searcher, n: usize, batch: usize, window: (f64, f64)) -> Vec<u128> {
    let standin = StandIn::new(StandInConfig::default(), 1, window);
    let reward = RewardConfig::default();
    let mut out = Vec::new();
    while out.len() < n {
        let ps: Vec<_> = (0..batch).filter_map(|_| s.propose()).collect();
        if ps.is_empty() {
            break;
        }
        for p in ps {
            out.push(p.candidate.canonical.0);
            let o = standin.outcome(p.candidate.canonical.0, p.candidate.flops, 0);
            s.observe(p.id, reward.reward(&o, Some(0.85)));
        }
    }
    out
}

#[test]
fn every_searcher_is_reproducible_and_never_repeats_a_canonical_hash() {
    let (dag, cache) = shared();
    let window = dag.cfg.budgets().flops;
    for alg in algorithms() {
        let run = |seed: u64| {
            let mut s =
                kas_search::searcher::build(&alg, Space::new(dag.clone(), cache.clone()), seed);
            drive(s.as_mut(), 12, 3, window)
        };
        let a = run(5);
        assert_eq!(a.len(), 12, "{}", alg.name());
        let distinct: HashSet<_> = a.iter().collect();
        assert_eq!(
            distinct.len(),
            a.len(),
            "{} proposed a hash twice",
            alg.name()
        );
        assert_eq!(a, run(5), "{} is not reproducible", alg.name());
        assert_ne!(a, run(6), "{} ignores its seed", alg.name());
    }
}

#[test]
fn mcts_virtual_loss_is_held_while_in_flight() {
    let (dag, cache) = shared();
    let space = Space::new(dag.clone(), cache.clone());
    let mut m = Mcts::new(space, MctsConfig::default(), 0);
    let ps: Vec<_> = (0..5).map(|_| m.propose().unwrap()).collect();
    let root = m.node_stats(dag.root());
    assert_eq!((root.virtual_loss, root.visits), (5, 0));
    for (i, p) in ps.iter().enumerate() {
        m.observe(p.id, 0.5 + i as f64 * 0.1);
    }
    let root = m.node_stats(dag.root());
    assert_eq!((root.virtual_loss, root.visits), (0, 5));
    assert!((root.sum - 3.5).abs() < 1e-9);
    // Observing twice, or an unknown id, changes nothing.
    m.observe(ps[0].id, 1.0);
    m.observe(999, 1.0);
    assert_eq!(m.node_stats(dag.root()).visits, 5);
}

#[test]
fn mcts_widening_limits_the_root_children_tried() {
    let (dag, cache) = shared();
    let window = dag.cfg.budgets().flops;
    let run = |alpha: f64| {
        let cfg = MctsConfig {
            widening_alpha: alpha,
            ..MctsConfig::default()
        };
        let mut m = Mcts::new(Space::new(dag.clone(), cache.clone()), cfg, 5);
        let mut firsts = HashSet::new();
        let standin = StandIn::new(StandInConfig::default(), 1, window);
        for _ in 0..10 {
            let p = m.propose().unwrap();
            firsts.insert(p.candidate.path[0]);
            let o = standin.outcome(p.candidate.canonical.0, p.candidate.flops, 0);
            m.observe(p.id, RewardConfig::default().reward(&o, None));
        }
        firsts.len()
    };
    let roots = dag.children(dag.root()).len();
    assert!(roots >= 4, "cnn-small's root has {roots} children");
    // After at most 9 visits, ⌊9^0.5⌋ = 3 root children may be chosen; with alpha = 1 every
    // visit may open a new one.
    let (narrow, wide) = (run(0.5), run(1.0));
    assert!(narrow <= 3, "{narrow}");
    assert!(wide > narrow, "{wide} vs {narrow}");
}

#[test]
fn a_revised_reward_replaces_the_observed_one_on_the_path_in_mcts() {
    let (dag, cache) = shared();
    let space = Space::new(dag.clone(), cache.clone());
    let mut m = Mcts::new(space, MctsConfig::default(), 3);
    let p = m.propose().unwrap();
    m.observe(p.id, 0.25);
    let root = dag.root();
    let before = m.node_stats(root);
    assert_eq!((before.visits, before.sum), (1, 0.25));
    m.revise(p.id, 0.75);
    let after = m.node_stats(root);
    assert_eq!(after.visits, 1, "a revision is no new visit");
    assert!((after.sum - 0.75).abs() < 1e-12 && (after.sum_sq - 0.5625).abs() < 1e-12);
    assert_eq!(after.best, 0.75);
    // Unknown or unobserved proposals are ignored.
    let q = m.propose().unwrap();
    m.revise(q.id, 9.0);
    m.revise(999, 9.0);
    assert_eq!(m.node_stats(root).sum, after.sum);
}
