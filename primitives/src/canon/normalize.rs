//! One normal form per index expression: all expressions of an operator go into one e-graph,
//! the rules run under explicit [`Limits`], and extraction picks in every class the smallest
//! term, ties broken by a fixed order on terms (so the choice never depends on the order in
//! which the e-graph was built).

use super::analysis::{IxGraph, RangeAnalysis};
use super::interval::Domains;
use super::lang::{Ix, Leaf, guard_term, push_expr, to_expr};
use super::rules;
use crate::expr::{Expr, Iter};
use egg::{CostFunction, Extractor, Id, Language, RecExpr, Runner, SimpleScheduler, StopReason};
use std::time::Duration;

/// Budgets of one e-graph run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most e-nodes.
    pub nodes: usize,
    /// Most rule iterations.
    pub iterations: usize,
    /// Most wall time.
    pub time: Duration,
}

/// The default budgets: far above what operators of a dozen steps need (they saturate in a
/// few iterations and a few hundred nodes), low enough that a pathological one cannot stall
/// synthesis.
pub const LIMITS: Limits = Limits {
    nodes: 10_000,
    iterations: 30,
    time: Duration::from_millis(500),
};

/// What a run did and why it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// Why the runner stopped: `saturated`, `iteration limit`, `node limit`, `time limit`.
    pub stop: String,
    /// Iterations run.
    pub iterations: usize,
    /// E-nodes at the end.
    pub nodes: usize,
    /// E-classes at the end.
    pub classes: usize,
    /// Rule applications, summed.
    pub applied: usize,
}

impl RunReport {
    /// Whether the e-graph saturated (every rule was applied to a fixpoint).
    pub fn saturated(&self) -> bool {
        self.stop == "saturated"
    }
}

/// A zero-padding condition in normal form: the term counts only if `0 ≤ expr < bound`.
pub type NormalGuard = (Expr, Expr);

/// Normal forms of an operator's expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Normal {
    /// Per tensor, per axis.
    pub tensors: Vec<Vec<Expr>>,
    /// Guards that are not always true (one that is never true reads `(0, 0)`).
    pub guards: Vec<NormalGuard>,
}

/// The extraction order: size first, then a fixed byte key of the term in which reduction
/// iterators are anonymous (their names are chosen later, by [`super::order`]).
struct Smallest;

fn node_key(n: &Ix, key: &mut Vec<u8>) {
    match n {
        Ix::Add(_) => key.push(1),
        Ix::Sub(_) => key.push(2),
        Ix::Mul(_) => key.push(3),
        Ix::Div(_) => key.push(4),
        Ix::Mod(_) => key.push(5),
        Ix::Guard(_) => key.push(6),
        Ix::Num(c) => {
            key.push(7);
            key.extend_from_slice(&((*c as u64) ^ (1 << 63)).to_be_bytes());
        }
        Ix::Leaf(Leaf::Iter(Iter::Out(i))) => {
            key.push(8);
            key.extend_from_slice(&(*i as u32).to_be_bytes());
        }
        Ix::Leaf(Leaf::Iter(Iter::Red(_))) => key.push(9),
        Ix::Leaf(Leaf::Size(s)) => {
            key.push(10);
            for &e in s
                .primary_exponents()
                .iter()
                .chain(s.coefficient_exponents())
            {
                key.push(e as u8);
            }
        }
    }
}

impl CostFunction<Ix> for Smallest {
    type Cost = (usize, Vec<u8>);

    fn cost<C>(&mut self, enode: &Ix, mut costs: C) -> Self::Cost
    where
        C: FnMut(Id) -> Self::Cost,
    {
        let mut size = 1usize;
        let mut key = Vec::with_capacity(16);
        node_key(enode, &mut key);
        for &c in enode.children() {
            let (s, k) = costs(c);
            size = size.saturating_add(s);
            key.extend_from_slice(&k);
        }
        (size, key)
    }
}

fn stop_text(s: &Option<StopReason>) -> String {
    match s {
        Some(StopReason::Saturated) => "saturated".into(),
        Some(StopReason::IterationLimit(_)) => "iteration limit".into(),
        Some(StopReason::NodeLimit(_)) => "node limit".into(),
        Some(StopReason::TimeLimit(_)) => "time limit".into(),
        Some(StopReason::Other(o)) => format!("other: {o}"),
        None => "not run".into(),
    }
}

/// Normalises expressions (`tensors`, per axis) and guards (`(expr, bound)`).
pub fn normalize(
    domains: &Domains,
    tensors: &[Vec<Expr>],
    guards: &[crate::expr::Guard],
    limits: &Limits,
) -> (Normal, RunReport) {
    let mut eg: IxGraph = IxGraph::new(RangeAnalysis {
        domains: domains.clone(),
    });
    let mut roots = Vec::new();
    for axes in tensors {
        for e in axes {
            let mut rec = RecExpr::default();
            push_expr(&mut rec, e);
            roots.push(eg.add_expr(&rec));
        }
    }
    let guard_roots: Vec<Id> = guards
        .iter()
        .map(|g| eg.add_expr(&guard_term(&g.expr, g.bound)))
        .collect();
    let runner = Runner::<Ix, RangeAnalysis, ()>::new(RangeAnalysis {
        domains: domains.clone(),
    })
    .with_egraph(eg)
    .with_scheduler(SimpleScheduler)
    .with_node_limit(limits.nodes)
    .with_iter_limit(limits.iterations)
    .with_time_limit(limits.time)
    .run(rules::rewrites());
    let report = RunReport {
        stop: stop_text(&runner.stop_reason),
        iterations: runner.iterations.len(),
        nodes: runner.egraph.total_number_of_nodes(),
        classes: runner.egraph.number_of_classes(),
        applied: runner
            .iterations
            .iter()
            .map(|i| i.applied.values().sum::<usize>())
            .sum(),
    };
    let ex = Extractor::new(&runner.egraph, Smallest);
    let mut k = 0;
    let tensors = tensors
        .iter()
        .map(|axes| {
            axes.iter()
                .map(|_| {
                    let (_, rec) = ex.find_best(roots[k]);
                    k += 1;
                    to_expr(&rec, super::lang::root(&rec)).expect("an index has no guard inside")
                })
                .collect()
        })
        .collect();
    let mut out_guards = Vec::new();
    for &g in &guard_roots {
        let (_, rec) = ex.find_best(g);
        let r = super::lang::root(&rec);
        match &rec[r] {
            Ix::Num(1) => {}
            Ix::Guard([a, b]) => out_guards.push((
                to_expr(&rec, *a).expect("no nested guard"),
                to_expr(&rec, *b).expect("no nested guard"),
            )),
            _ => out_guards.push((Expr::Const(0), Expr::Const(0))),
        }
    }
    (
        Normal {
            tensors,
            guards: out_guards,
        },
        report,
    )
}
