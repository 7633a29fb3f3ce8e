//! The search DAG: nodes are partial operators, deduplicated through a sharded transposition
//! table; children are generated lazily (once, thread-safely) and nodes proved to have no
//! leaf are marked dead and never offered again.

use crate::config::Config;
use crate::distance::flops_lower_bound;
use crate::finalize::Leaf;
use crate::generate::{GeneratedChild, Generator, StepType};
use crate::rules::{DagStats, Filters, Prune};
use crate::state::State;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

const SHARDS: usize = 64;

/// A child of a node.
#[derive(Debug, Clone)]
pub enum Child {
    /// An inner node.
    Node(Arc<Node>),
    /// A complete operator.
    Leaf(Arc<Leaf>),
}

/// One node of the DAG.
#[derive(Debug)]
pub struct Node {
    /// The partial operator.
    pub state: State,
    children: OnceLock<Vec<(StepType, Child)>>,
    /// The relaxed feasibility answer, computed on first use.
    feasible: OnceLock<bool>,
    /// 0 while alive; otherwise 1 + the epoch in which it was proved dead.
    dead: AtomicU64,
}

impl Node {
    /// Whether the node was proved, before `epoch`, to have no leaf below it.
    pub(crate) fn is_dead_before(&self, epoch: u64) -> bool {
        let v = self.dead.load(Ordering::Relaxed);
        v != 0 && v - 1 < epoch
    }

    /// Whether the node was proved to have no leaf below it.
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Relaxed) != 0
    }
}

/// The synthesis DAG of one spec.
#[derive(Debug)]
pub struct Dag {
    /// The configuration.
    pub cfg: Config,
    /// Filter switches.
    pub filters: Filters,
    /// Counters.
    pub stats: DagStats,
    table: Vec<Mutex<crate::mix::KeyMap<Arc<Node>>>>,
    root: Arc<Node>,
    feasibility: crate::feasible::Feasibility,
}

impl Dag {
    /// A DAG over `cfg` with the given filters; only the root exists yet.
    pub fn new(cfg: Config, filters: Filters) -> Dag {
        let stats = DagStats::default();
        let root_state = State::root(&cfg);
        let root = Arc::new(Node {
            state: root_state,
            children: OnceLock::new(),
            feasible: OnceLock::new(),
            dead: AtomicU64::new(0),
        });
        if flops_lower_bound(&cfg) > cfg.budgets().flops.1 {
            stats.prune(Prune::FlopsBound);
            root.dead.store(1, Ordering::Relaxed);
        }
        DagStats::bump(&stats.nodes);
        let feasibility = crate::feasible::Feasibility::new(&filters);
        Dag {
            cfg,
            filters,
            stats,
            table: (0..SHARDS)
                .map(|_| Mutex::new(crate::mix::KeyMap::default()))
                .collect(),
            root,
            feasibility,
        }
    }

    /// The root node (output iterators only).
    pub fn root(&self) -> &Arc<Node> {
        &self.root
    }

    /// The children of `node`, generated on first use.
    pub fn children<'a>(&self, node: &'a Node) -> &'a [(StepType, Child)] {
        node.children.get_or_init(|| {
            DagStats::bump(&self.stats.expanded);
            let g = Generator {
                cfg: &self.cfg,
                filters: &self.filters,
                stats: &self.stats,
            };
            g.children(&node.state)
                .into_iter()
                .map(|(t, c)| {
                    let child = match c {
                        GeneratedChild::Leaf(l) => Child::Leaf(Arc::new(l)),
                        GeneratedChild::State(s) => Child::Node(self.intern(s)),
                    };
                    (t, child)
                })
                .collect()
        })
    }

    /// Whether the relaxed search finds a completion of `node` (computed once per node; a
    /// child that fails it is never entered, so it is as if it had not been offered).
    pub fn feasible(&self, node: &Node) -> bool {
        *node.feasible.get_or_init(|| {
            let ok = self.feasibility.feasible(&self.cfg, &node.state);
            if !ok {
                self.stats.prune(Prune::Relaxation);
            }
            ok
        })
    }

    /// Marks `node` as having no leaf, proved in `epoch`.
    pub(crate) fn mark_dead(&self, node: &Node, epoch: u64) {
        if node
            .dead
            .compare_exchange(0, epoch + 1, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            DagStats::bump(&self.stats.dead);
        }
    }

    fn intern(&self, s: State) -> Arc<Node> {
        let shard = &self.table[(s.key as usize) % SHARDS];
        let mut map = shard.lock().expect("transposition table lock");
        if let Some(n) = map.get(&s.key) {
            DagStats::bump(&self.stats.transpositions);
            return n.clone();
        }
        DagStats::bump(&self.stats.nodes);
        let key = s.key;
        let n = Arc::new(Node {
            state: s,
            children: OnceLock::new(),
            feasible: OnceLock::new(),
            dead: AtomicU64::new(0),
        });
        map.insert(key, n.clone());
        n
    }
}
