//! Raw operators vs distinct canonical forms on an exhaustive enumeration of a small space.
//!
//! The space: input `[C, H]` (C channel-like), output `[C, H]` (C channel-like), exactly one
//! weight, and every builder program of at most `depth` steps drawn from: Unfold(k) of a dim,
//! Shift(+1) of a dim, Reduce of a dim, and one contraction sharing a non-empty subset of the
//! current dims and optionally creating a `C` axis. Programs that end with two dims of sizes C
//! and H become operators. Every order of the steps is enumerated, so the same operator is
//! reached many times: the census counts programs, structurally distinct operators and
//! canonically distinct ones, and checks every merge by evaluation against the first operator
//! with its hash.

use super::Canonical;
use super::canonicalize;
use super::check::same_function;
use crate::builder::{Axis, Builder};
use crate::error::Error;
use crate::graph::DimId;
use crate::operator::Operator;
use crate::size::{Binding, VarTable};
use std::collections::{HashMap, HashSet};

/// What the enumeration found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    /// Programs that built a valid operator.
    pub programs: usize,
    /// Distinct structural hashes among them.
    pub structural: usize,
    /// Distinct canonical hashes among them.
    pub canonical: usize,
    /// Programs with no canonical form: their e-graph did not saturate within the limits
    /// (counted among `programs`, in no hash count).
    pub unsaturated: usize,
    /// Operators whose outputs differ from those of the first operator with their hash (after
    /// both re-layouts): unsound merges.
    pub unsound: usize,
}

struct Walk {
    vars: VarTable,
    seen_s: HashSet<u128>,
    seen_c: HashMap<u128, (Operator, Canonical)>,
    out: Census,
}

fn bindings(vars: &VarTable) -> Vec<Binding> {
    vec![
        vars.bind("c4-h5", [("C", 4), ("H", 5)])
            .expect("valid binding"),
        vars.bind("c3-h7", [("C", 3), ("H", 7)])
            .expect("valid binding"),
    ]
}

impl Walk {
    fn finish(&mut self, b: &Builder, frontier: &[DimId]) {
        let (Ok(c), Ok(h)) = (self.vars.size("C"), self.vars.size("H")) else {
            return;
        };
        let sizes: Vec<_> = frontier.iter().filter_map(|&d| b.size(d).ok()).collect();
        let outputs = match sizes[..] {
            [a, x] if a == c && x == h => vec![frontier[0], frontier[1]],
            [a, x] if a == h && x == c => vec![frontier[1], frontier[0]],
            _ => return,
        };
        let mut b = b.clone();
        if b.set_unordered(outputs[0]).is_err() {
            return;
        }
        let Ok(op) = b.finish(&outputs) else { return };
        let canon = match canonicalize(&op) {
            Ok(c) => c,
            Err(Error::Unsaturated { .. }) => {
                self.out.programs += 1;
                self.out.unsaturated += 1;
                return;
            }
            Err(_) => return,
        };
        self.out.programs += 1;
        self.seen_s.insert(op.structural_hash().0);
        match self.seen_c.get(&canon.hash.0) {
            Some((rep, rc)) => {
                if !same_function(rep, rc, &op, &canon, self.out.programs as u64) {
                    self.out.unsound += 1;
                }
            }
            None => {
                self.seen_c.insert(canon.hash.0, (op, canon));
            }
        }
    }

    fn walk(&mut self, b: &Builder, frontier: &[DimId], weights: usize, left: usize) {
        if weights == 1 && frontier.len() == 2 {
            self.finish(b, frontier);
        }
        if left == 0 {
            return;
        }
        for i in 0..frontier.len() {
            let d = frontier[i];
            let mut rest = frontier.to_vec();
            rest.remove(i);
            let mut nb = b.clone();
            if let Ok((m, w)) = nb.unfold(d, "k") {
                let mut f = rest.clone();
                f.insert(i, m);
                f.push(w);
                self.walk(&nb, &f, weights, left - 1);
            }
            let mut nb = b.clone();
            if let Ok(s) = nb.shift(d, 1) {
                let mut f = rest.clone();
                f.insert(i, s);
                self.walk(&nb, &f, weights, left - 1);
            }
            let mut nb = b.clone();
            if nb.reduce(d).is_ok() {
                self.walk(&nb, &rest, weights, left - 1);
            }
        }
        if weights == 0 {
            for mask in 1u32..(1 << frontier.len()) {
                for create in [false, true] {
                    let mut axes: Vec<Axis> = (0..frontier.len())
                        .filter(|&i| mask & (1 << i) != 0)
                        .map(|i| Axis::Share(frontier[i]))
                        .collect();
                    if create {
                        axes.push(Axis::Create("C".into()));
                    }
                    let mut nb = b.clone();
                    let Ok(shared) = nb.contract(&axes) else {
                        continue;
                    };
                    let mut f: Vec<DimId> = (0..frontier.len())
                        .filter(|&i| mask & (1 << i) == 0)
                        .map(|i| frontier[i])
                        .collect();
                    f.extend(shared);
                    self.walk(&nb, &f, 1, left - 1);
                }
            }
        }
    }
}

/// Enumerates every program of at most `depth` steps (see the module docs).
pub fn census(depth: usize) -> Census {
    let vars = VarTable::from_specs(&["C", "H"], &["k=3"]).expect("valid variables");
    let mut walk = Walk {
        vars: vars.clone(),
        seen_s: HashSet::new(),
        seen_c: HashMap::new(),
        out: Census::default(),
    };
    let Ok(mut b) = Builder::new(vars.clone(), bindings(&vars)) else {
        return walk.out;
    };
    let Ok(x) = b.input(["C", "H"]) else {
        return walk.out;
    };
    if b.set_unordered(x[0]).is_err() {
        return walk.out;
    }
    walk.walk(&b, &x, 0, depth);
    walk.out.structural = walk.seen_s.len();
    walk.out.canonical = walk.seen_c.len();
    walk.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_are_fewer_than_structures() {
        let c = census(3);
        assert!(c.programs > 0);
        assert_eq!(c.unsaturated, 0);
        assert_eq!(c.unsound, 0);
        assert!(c.structural <= c.programs);
        // Reduce order, shifts before a Reduce and weight axis order are not structural
        // identities; the canonicalizer merges them.
        assert!(c.canonical < c.structural, "{c:?}");
    }
}
