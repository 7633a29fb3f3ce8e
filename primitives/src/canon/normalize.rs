//! One normal form per index expression: all expressions of an operator go into one e-graph,
//! the rules run under explicit [`CanonLimits`], and extraction picks in every class the smallest
//! term, ties broken by a fixed order on terms (so the choice never depends on the order in
//! which the e-graph was built).

use super::analysis::{IxGraph, RangeAnalysis};
use super::bounds::Domains;
use super::lang::{Atom, Ix, guard_term, push_expr, to_expr};
use super::rules;
use crate::expr::{Expr, Iter};
use egg::{CostFunction, Extractor, Id, Language, RecExpr, Runner, SimpleScheduler, StopReason};
use std::fmt;
use std::time::Duration;

/// Budgets of one e-graph run: counts only, so that whether a run saturates, and the form it
/// gives, is a function of the operator and the limits alone (never of the machine's speed or
/// load). A run that hits a limit is not canonical: [`super::canonicalize_with`] reports it as
/// [`crate::Error::Unsaturated`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanonLimits {
    /// Most e-nodes (egg's node limit, checked against the e-graph's total size after every
    /// rule application).
    pub nodes: usize,
    /// Most rule iterations.
    pub iterations: usize,
}

/// The default budgets: far above what operators need, low enough that a pathological operator
/// cannot stall synthesis. Measured over the library, 5,000 random operators and 1,000 pairs of
/// exact rewrites: at most 10 iterations and 67 e-nodes at the end of a run, and every run
/// saturates with a node limit of 97 (egg checks the limit during a run, when the e-graph is
/// larger than after its last rebuild).
pub const LIMITS: CanonLimits = CanonLimits {
    nodes: 10_000,
    iterations: 30,
};

/// egg's wall-clock limit, set out of reach: only the counts of [`CanonLimits`] stop a run.
const NO_TIME_LIMIT: Duration = Duration::MAX;

/// Why an e-graph run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CanonStop {
    /// Every rule was applied to a fixpoint: the extracted forms are canonical.
    Saturated,
    /// [`CanonLimits::iterations`] was reached first.
    IterationLimit,
    /// [`CanonLimits::nodes`] was exceeded first.
    NodeLimit,
    /// Any other reason egg may give (its time limit, which is set out of reach, or a hook, of
    /// which there is none): never expected.
    Other,
}

impl fmt::Display for CanonStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CanonStop::Saturated => "saturated",
            CanonStop::IterationLimit => "iteration limit",
            CanonStop::NodeLimit => "node limit",
            CanonStop::Other => "stopped for another reason",
        })
    }
}

impl CanonStop {
    fn of(s: &Option<StopReason>) -> CanonStop {
        match s {
            Some(StopReason::Saturated) => CanonStop::Saturated,
            Some(StopReason::IterationLimit(_)) => CanonStop::IterationLimit,
            Some(StopReason::NodeLimit(_)) => CanonStop::NodeLimit,
            Some(StopReason::TimeLimit(_) | StopReason::Other(_)) | None => CanonStop::Other,
        }
    }
}

/// What a run did and why it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    /// Why the runner stopped.
    pub stop: CanonStop,
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
        self.stop == CanonStop::Saturated
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
        Ix::Atom(Atom::Iter(Iter::Out(i))) => {
            key.push(8);
            key.extend_from_slice(&(*i as u32).to_be_bytes());
        }
        Ix::Atom(Atom::Iter(Iter::Red(_))) => key.push(9),
        Ix::Atom(Atom::Size(s)) => {
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

/// Normalises expressions (`tensors`, per axis) and guards (`(expr, bound)`).
pub fn normalize(
    domains: &Domains,
    tensors: &[Vec<Expr>],
    guards: &[crate::expr::Guard],
    limits: &CanonLimits,
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
    .with_time_limit(NO_TIME_LIMIT)
    .run(rules::rewrites());
    let report = RunReport {
        stop: CanonStop::of(&runner.stop_reason),
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
