//! Test helpers for rules: run one rule on one term, and check by exhaustive evaluation that
//! the term and its rewrite agree at every iterator point under every binding.

use crate::canon::analysis::RangeAnalysis;
use crate::canon::bounds::Domains;
use crate::canon::lang::{Atom, Ix, root};
use crate::expr::Iter;
use crate::size::{Binding, VarTable};
use egg::{EGraph, Id, RecExpr, Runner, Symbol};

/// Variables `A`, `B`, `N` (primary) and `k` (coefficient); iterators `o0: A`, `o1: B`,
/// `o2: N`, `r0: B`, `r1: N`.
pub fn domains() -> (VarTable, Domains) {
    let v = VarTable::from_specs(&["A", "B", "N"], &["k=3"]).unwrap();
    let s = |t: &str| v.size(t).unwrap();
    let d = Domains {
        outs: vec![s("A"), s("B"), s("N")],
        reds: vec![s("B"), s("N")],
        legal: vec![s("A"), s("B"), s("N"), s("k"), s("A*B")],
    };
    (v, d)
}

/// The bindings the exhaustive comparisons evaluate under (the rules never see them).
pub fn bindings() -> Vec<Binding> {
    let v = domains().0;
    vec![
        v.bind("x", [("A", 2), ("B", 3), ("N", 5)]).unwrap(),
        v.bind("y", [("A", 3), ("B", 4), ("N", 8)]).unwrap(),
        v.bind("z", [("A", 1), ("B", 2), ("N", 7), ("k", 5)])
            .unwrap(),
    ]
}

/// Replaces `#A`, `#B`, `#N`, `#k`, `#AB` by size leaves.
pub fn term(text: &str) -> RecExpr<Ix> {
    let (v, _) = domains();
    let mut t = text.to_string();
    for name in ["AB", "A", "B", "N", "k"] {
        let leaf = Atom::Size(v.size(if name == "AB" { "A*B" } else { name }).unwrap());
        t = t.replace(&format!("#{name}"), &leaf.to_string());
    }
    t.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Runs only `rule` on `start`; returns how often it applied and the final e-graph root.
pub fn run_one(rule: &str, start: &RecExpr<Ix>) -> (usize, EGraph<Ix, RangeAnalysis>, Id) {
    let r = super::get(rule).unwrap_or_else(|| panic!("no rule {rule}"));
    let rw = [r.rewrite()];
    let (_, d) = domains();
    let runner = Runner::<Ix, RangeAnalysis, ()>::new(RangeAnalysis { domains: d })
        .with_expr(start)
        .with_iter_limit(4)
        .run(&rw);
    let sym = Symbol::from(rule);
    let applied = runner
        .iterations
        .iter()
        .map(|i| i.applied.get(&sym).copied().unwrap_or(0))
        .sum();
    let id = runner.roots[0];
    (applied, runner.egraph, id)
}

/// Asserts that `rule` rewrites `from` into `to` and that both agree everywhere.
pub fn assert_fires(rule: &str, from: &str, to: &str) {
    let (a, b) = (term(from), term(to));
    assert_same_values(&a, &b);
    let (applied, eg, id) = run_one(rule, &a);
    assert!(applied > 0, "{rule} did not fire on {from}");
    let found = eg.lookup_expr(&b).map(|x| eg.find(x));
    assert_eq!(
        found,
        Some(eg.find(id)),
        "{rule}: {from} is not equal to {to}"
    );
}

/// Asserts that `rule` does not fire on `from`, and (when given) that the unguarded rewrite
/// `to` would be wrong somewhere.
pub fn assert_blocked(rule: &str, from: &str, wrong: Option<&str>) {
    let a = term(from);
    if let Some(w) = wrong {
        assert!(
            !same_values(&a, &term(w)),
            "{from} and {w} agree: not a blocked unsound case"
        );
    }
    let (applied, _, _) = run_one(rule, &a);
    assert_eq!(applied, 0, "{rule} fired on {from}");
}

fn eval(rec: &RecExpr<Ix>, id: Id, b: &Binding, its: &[(Iter, i64)]) -> i128 {
    let e = |i: &Id| eval(rec, *i, b, its);
    match &rec[id] {
        Ix::Num(c) => *c as i128,
        Ix::Atom(Atom::Size(s)) => s.eval(b).unwrap() as i128,
        Ix::Atom(Atom::Iter(i)) => its.iter().find(|x| x.0 == *i).unwrap().1 as i128,
        Ix::Add([x, y]) => e(x) + e(y),
        Ix::Sub([x, y]) => e(x) - e(y),
        Ix::Mul([x, y]) => e(x) * e(y),
        Ix::Div([x, y]) => e(x).div_euclid(e(y)),
        Ix::Mod([x, y]) => e(x).rem_euclid(e(y)),
        Ix::Guard([x, y]) => i128::from((0..e(y)).contains(&e(x))),
    }
}

fn iters(rec: &RecExpr<Ix>) -> Vec<Iter> {
    let mut v: Vec<Iter> = rec
        .as_ref()
        .iter()
        .filter_map(|n| match n {
            Ix::Atom(Atom::Iter(i)) => Some(*i),
            _ => None,
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Whether two terms agree at every iterator point under every test binding.
pub fn same_values(a: &RecExpr<Ix>, b: &RecExpr<Ix>) -> bool {
    let (_, d) = domains();
    let mut its = iters(a);
    its.extend(iters(b));
    its.sort();
    its.dedup();
    for bind in &bindings() {
        let dom: Vec<i64> = its
            .iter()
            .map(|&i| {
                let s = match i {
                    Iter::Out(k) => d.outs[k],
                    Iter::Red(k) => d.reds[k],
                };
                s.eval(bind).unwrap() as i64
            })
            .collect();
        let mut point = vec![0i64; its.len()];
        loop {
            let vals: Vec<(Iter, i64)> = its.iter().copied().zip(point.iter().copied()).collect();
            if eval(a, root(a), bind, &vals) != eval(b, root(b), bind, &vals) {
                return false;
            }
            let mut k = 0;
            loop {
                if k == point.len() {
                    break;
                }
                point[k] += 1;
                if point[k] < dom[k] {
                    break;
                }
                point[k] = 0;
                k += 1;
            }
            if k == point.len() {
                break;
            }
        }
    }
    true
}

/// Asserts [`same_values`].
pub fn assert_same_values(a: &RecExpr<Ix>, b: &RecExpr<Ix>) {
    assert!(same_values(a, b), "{a} and {b} differ somewhere");
}
