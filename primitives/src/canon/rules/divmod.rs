//! Division and remainder of split and merged coordinates (Split `g·B + b`, Merge `i div B`,
//! `i mod B`): the facts that make Merge∘Split and Split∘Merge identities.

use super::{Cond, Rhs, Rule};

/// The rules of this topic.
#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    Rule { name: "div-split",   lhs: "(div (+ (* ?a ?b) ?c) ?b)", rhs: Rhs::Pattern("?a"),
           conds: &[Cond::Within("?c", "?b")], version: 1 },
    Rule { name: "mod-split",   lhs: "(mod (+ (* ?a ?b) ?c) ?b)", rhs: Rhs::Pattern("?c"),
           conds: &[Cond::Within("?c", "?b")], version: 1 },
    Rule { name: "merge-split", lhs: "(+ (* (div ?x ?b) ?b) (mod ?x ?b))", rhs: Rhs::Pattern("?x"),
           conds: &[Cond::Positive(&["?b"])], version: 1 },
    Rule { name: "div-mul",     lhs: "(div (* ?a ?b) ?b)", rhs: Rhs::Pattern("?a"),
           conds: &[Cond::Positive(&["?b"])], version: 1 },
    Rule { name: "mod-mul",     lhs: "(mod (* ?a ?b) ?b)", rhs: Rhs::Pattern("0"),
           conds: &[Cond::Positive(&["?b"])], version: 1 },
    Rule { name: "mod-small",   lhs: "(mod ?x ?n)", rhs: Rhs::Pattern("?x"),
           conds: &[Cond::Within("?x", "?n")], version: 1 },
    Rule { name: "div-div",     lhs: "(div (div ?x ?a) ?b)", rhs: Rhs::Pattern("(div ?x (* ?a ?b))"),
           conds: &[Cond::Positive(&["?a", "?b"]), Cond::Sizes(&["?a", "?b"])], version: 1 },
    // One bracketing of multi-way splits: ((a·b + c)·d + e) = a·(b·d) + (c·d + e).
    Rule { name: "split-reassoc", lhs: "(+ (* (+ (* ?a ?b) ?c) ?d) ?e)",
           rhs: Rhs::Pattern("(+ (* ?a (* ?b ?d)) (+ (* ?c ?d) ?e))"),
           conds: &[Cond::Sizes(&["?b", "?d"])], version: 1 },
];

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_blocked, assert_fires};

    #[test]
    fn div_split() {
        assert_fires("div-split", "(div (+ (* o0 #B) o1) #B)", "o0");
        // o2 ranges over N > B: the remainder spills into the quotient.
        assert_blocked("div-split", "(div (+ (* o0 #B) o2) #B)", Some("o0"));
    }

    #[test]
    fn mod_split() {
        assert_fires("mod-split", "(mod (+ (* o0 #B) o1) #B)", "o1");
        assert_blocked("mod-split", "(mod (+ (* o0 #B) o2) #B)", Some("o2"));
    }

    #[test]
    fn merge_split() {
        assert_fires("merge-split", "(+ (* (div o2 #B) #B) (mod o2 #B))", "o2");
        // A zero divisor: the pattern's pieces are undefined, nothing may fire.
        assert_blocked("merge-split", "(+ (* (div o2 0) 0) (mod o2 0))", None);
    }

    #[test]
    fn div_mul() {
        assert_fires("div-mul", "(div (* o2 #B) #B)", "o2");
        assert_blocked("div-mul", "(div (* o2 -2) -2)", None);
    }

    #[test]
    fn mod_mul() {
        assert_fires("mod-mul", "(mod (* o2 #B) #B)", "0");
        assert_blocked("mod-mul", "(mod (* o2 0) 0)", None);
    }

    #[test]
    fn mod_small() {
        assert_fires("mod-small", "(mod o1 #B)", "o1");
        assert_blocked("mod-small", "(mod o2 #B)", Some("o2"));
    }

    #[test]
    fn div_div() {
        assert_fires(
            "div-div",
            "(div (div (* o2 #N) #A) #B)",
            "(div (* o2 #N) (* #A #B))",
        );
        // Negative divisors: floor division does not compose that way.
        assert_blocked("div-div", "(div (div o2 -2) -3)", Some("(div o2 6)"));
    }

    #[test]
    fn split_reassoc() {
        assert_fires(
            "split-reassoc",
            "(+ (* (+ (* o0 #B) o1) #N) o2)",
            "(+ (* o0 (* #B #N)) (+ (* o1 #N) o2))",
        );
        // Only sizes are regrouped (no general distributivity over iterators).
        assert_blocked("split-reassoc", "(+ (* (+ (* o0 o1) o1) #N) o2)", None);
    }
}
