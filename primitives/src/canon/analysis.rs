//! The e-class analysis: the value range of every class under every binding.
//!
//! A class whose value is the same constant under every binding also gets that constant as a
//! node (constant folding), and loses its other non-leaf nodes; an iterator of domain 1 is
//! thus the constant 0.

use super::interval::{Domains, Ranges};
use super::lang::{Atom, Ix};
use egg::{Analysis, DidMerge, EGraph, Id};

/// Ranges of e-classes under the operator's bindings.
#[derive(Debug, Clone)]
pub struct RangeAnalysis {
    /// Iterator domains and bindings.
    pub domains: Domains,
}

/// The e-graph of index expressions.
pub type IxGraph = EGraph<Ix, RangeAnalysis>;

impl Analysis<Ix> for RangeAnalysis {
    type Data = Ranges;

    fn make(egraph: &mut IxGraph, enode: &Ix, _id: Id) -> Ranges {
        let d = &egraph.analysis.domains;
        let r = |i: &Id| &egraph[*i].data;
        match enode {
            Ix::Num(c) => Ranges::constant(*c, d.len()),
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

    fn merge(&mut self, to: &mut Ranges, from: Ranges) -> DidMerge {
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
