//! Exact filters lose nothing: on a space small enough to enumerate, the set of canonical
//! hashes of every leaf is the same with the exact generation rules on and off (heuristic
//! rules stay on in both runs, so both enumerate the same space up to equivalence).
//!
//! The canonical hash proves the equivalences behind most exact rules, not all: with the rules
//! of [`BEYOND_CANON`] off, the space gains operators whose canonical hashes are new although
//! each equals a filtered operator up to an equivalence the canonicalizer does not decide (the
//! examples are in that list). Those rules are checked off one at a time in
//! `rules_beyond_the_canonical_hash_only_add_equivalents`, by a weaker property.

mod common;

use kas_primitives::canon::canonicalize;
use kas_synth::{Child, Dag, Filters, Node, Rule};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

const SPEC: &str = "tests/specs/tiny-exhaustive.ron";

/// Canonical hashes of every leaf of the DAG, with the nodes and leaves visited.
fn exhaust(dag: &Dag) -> (BTreeSet<u128>, usize, usize) {
    let mut seen: HashSet<u64> = HashSet::new();
    let mut canonical = BTreeSet::new();
    let mut leaves = 0;
    let mut stack: Vec<Arc<Node>> = vec![dag.root().clone()];
    while let Some(node) = stack.pop() {
        if !seen.insert(node.state.key) {
            continue;
        }
        for (_, child) in dag.children(&node) {
            match child {
                Child::Node(n) => {
                    if dag.feasible(n) {
                        stack.push(n.clone());
                    }
                }
                Child::Leaf(l) => {
                    leaves += 1;
                    let c = canonicalize(&l.op).expect("a leaf canonicalizes");
                    canonical.insert(c.hash.0);
                }
            }
        }
    }
    (canonical, seen.len(), leaves)
}

/// Exact rules whose equivalences the canonical hash does not decide (measured on this
/// space: canonical operators gained when only that rule is off), with the reason.
const BEYOND_CANON: &[(Rule, &str)] = &[
    // Σ_{a<g, b<C_in/g} x[a·(C_in/g)+b] is one reduction over C_in; the canonicalizer does not
    // fuse reductions read only through one Split (8 operators).
    (Rule::SplitTwoReductions, "reduction fusion"),
    // w[r, o·B + s] is a weight of one more axis; weight reshapes are not canonicalized (17).
    (Rule::SplitSameWeight, "weight reshape"),
    // One reduction over C_in·k read as (r div k, r mod k) is two reductions (206).
    (Rule::MergeOnReduce, "reduction fission"),
    // Σ_r w[r, c, o]: a weight summed over an axis nothing else reads is a smaller weight
    // (a reparametrization of the weights, not an identity of the loop nest) (14).
    (Rule::MergeUndoesSplit, "weight reparametrization"),
    // o ↦ (o mod g, o div g) against (o div g, o mod g) on an unordered axis: a channel
    // permutation the unordered-axis canonicalization does not find through a Merge (9).
    (Rule::MergeUnorderedOrder, "channel permutation"),
    // A reduction read as ((r + 1) mod D) div B: a bijection of the summation the reduction
    // shift rewrite (top-level (r + c) mod D only) does not see (45).
    (Rule::ShiftOnReduce, "reduction shift under div/mod"),
    // Σ_r w[o, r, c] with r bare: the weight summed over r, a smaller weight (70).
    (Rule::CreateOnBareReduce, "weight reparametrization"),
];

#[test]
fn exact_filters_keep_every_canonical_operator() {
    let on = common::dag_with(SPEC, Filters::default(), |_| {});
    let mut verified = Filters::default();
    for &r in Rule::ALL.iter().filter(|r| r.exact()) {
        if !BEYOND_CANON.iter().any(|(b, _)| *b == r) {
            verified.set(r, false);
        }
    }
    let off = common::dag_with(SPEC, verified, |_| {});
    let (with, nodes_on, leaves_on) = exhaust(&on);
    let (without, nodes_off, leaves_off) = exhaust(&off);
    eprintln!(
        "filters on: {nodes_on} nodes, {leaves_on} leaves, {} canonical; off: {nodes_off} nodes, {leaves_off} leaves, {} canonical",
        with.len(),
        without.len()
    );
    // The space is not trivial, and the exact rules switched off do remove steps in it.
    assert!(with.len() >= 100, "only {} canonical operators", with.len());
    assert!(leaves_off > leaves_on);
    assert!(nodes_off > nodes_on);
    let lost: Vec<_> = without.difference(&with).collect();
    assert!(
        lost.is_empty(),
        "{} canonical operators reached only with the exact filters off",
        lost.len()
    );
    assert_eq!(with, without);
}

/// With one rule of [`BEYOND_CANON`] off at a time, the filtered space's canonical set is a
/// subset of the unfiltered one (the rule removes only steps, never a canonical operator the
/// other rules keep); the gained operators are those of the list's equivalences.
#[test]
fn rules_beyond_the_canonical_hash_only_add_equivalents() {
    let (with, _, _) = exhaust(&common::dag_with(SPEC, Filters::default(), |_| {}));
    for &(r, why) in BEYOND_CANON {
        assert!(r.exact(), "{} is listed but heuristic", r.name());
        let mut f = Filters::default();
        f.set(r, false);
        let (without, _, _) = exhaust(&common::dag_with(SPEC, f, |_| {}));
        assert!(
            with.is_subset(&without),
            "turning {} off loses operators",
            r.name()
        );
        let gained = without.len() - with.len();
        eprintln!(
            "{} off: {gained} canonical operators gained ({why})",
            r.name()
        );
    }
}
