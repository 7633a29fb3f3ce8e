//! The e-class analysis: the symbolic value range of every class, true under every valid
//! binding of the variables ([`super::bounds`]), never only under an operator's listed bindings.
//!
//! A class whose value is one integer under every valid binding also gets that constant as a
//! node (constant folding), and loses its other non-leaf nodes; an iterator of domain 1 is
//! thus the constant 0.

use super::bounds::{Bounds, Domains};
use super::lang::{Atom, Ix};
use egg::{Analysis, DidMerge, EGraph, Id};

/// Symbolic ranges of e-classes.
#[derive(Debug, Clone)]
pub struct RangeAnalysis {
    /// Iterator domains.
    pub domains: Domains,
}

/// The e-graph of index expressions.
pub type IxGraph = EGraph<Ix, RangeAnalysis>;

impl Analysis<Ix> for RangeAnalysis {
    type Data = Bounds;

    fn make(egraph: &mut IxGraph, enode: &Ix, _id: Id) -> Bounds {
        let d = &egraph.analysis.domains;
        let r = |i: &Id| &egraph[*i].data;
        match enode {
            Ix::Num(c) => Bounds::constant(*c),
            Ix::Atom(Atom::Iter(i)) => d.iter(*i),
            Ix::Atom(Atom::Size(s)) => d.size(*s),
            Ix::Add([a, b]) => r(a).add(r(b)),
            Ix::Sub([a, b]) => r(a).sub(r(b)),
            Ix::Mul([a, b]) => r(a).mul(r(b)),
            Ix::Div([a, b]) => r(a).div(r(b)),
            Ix::Mod([a, b]) => r(a).rem(r(b)),
            Ix::Guard([a, b]) => r(a).guard(r(b)),
        }
    }

    fn merge(&mut self, to: &mut Bounds, from: Bounds) -> DidMerge {
        let m = to.meet(&from);
        let changed_to = m != *to;
        let changed_from = m != from;
        *to = m;
        DidMerge(changed_to, changed_from)
    }

    fn modify(egraph: &mut IxGraph, id: Id) {
        if let Some(c) = egraph[id].data.exact() {
            let has = egraph[id].nodes.contains(&Ix::Num(c));
            if !has {
                let k = egraph.add(Ix::Num(c));
                egraph.union(id, k);
            }
            // A constant class keeps only its leaves: no rule needs to look inside a
            // constant, and its operator nodes would close cycles that let patterns match
            // ever larger terms.
            let id = egraph.find(id);
            egraph[id]
                .nodes
                .retain(|n| matches!(n, Ix::Num(_) | Ix::Atom(_)));
        }
    }
}
