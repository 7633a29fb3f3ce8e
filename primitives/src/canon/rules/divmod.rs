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
    // Its converse, so that both bracketings of a three-way Split reach one class (extraction
    // then picks the same term from either): a·N + (c·D + e) = (a·(N/D) + c)·D + e.
    Rule { name: "split-unassoc", lhs: "(+ (* ?a ?n) (+ (* ?c ?d) ?e))",
           rhs: Rhs::Quotient { pattern: "(+ (* (+ (* ?a ?q) ?c) ?d) ?e)", num: "?n", den: "?d" },
           conds: &[Cond::Divides("?d", "?n")], version: 1 },
    // The bracketings of a three-way Merge: (x div C) mod B = (x mod (B·C)) div C, both ways.
    Rule { name: "merge-reassoc", lhs: "(mod (div ?x ?c) ?b)",
           rhs: Rhs::Pattern("(div (mod ?x (* ?b ?c)) ?c)"),
           conds: &[Cond::Positive(&["?b", "?c"]), Cond::Sizes(&["?b", "?c"])], version: 1 },
    Rule { name: "merge-unassoc", lhs: "(div (mod ?x ?n) ?c)",
           rhs: Rhs::Quotient { pattern: "(mod (div ?x ?c) ?q)", num: "?n", den: "?c" },
           conds: &[Cond::Divides("?c", "?n")], version: 1 },
    // (x mod N) mod C = x mod C when C divides N (the inner part of a three-way Merge).
    Rule { name: "mod-mod", lhs: "(mod (mod ?x ?n) ?c)", rhs: Rhs::Pattern("(mod ?x ?c)"),
           conds: &[Cond::Divides("?c", "?n")], version: 1 },
    // `merge-split` on x mod N whose remainder part `mod-mod` already shortened.
    Rule { name: "merge-split-mod", lhs: "(+ (* (div (mod ?x ?n) ?b) ?b) (mod ?x ?b))",
           rhs: Rhs::Pattern("(mod ?x ?n)"),
           conds: &[Cond::Divides("?b", "?n")], version: 1 },
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

    #[test]
    fn split_unassoc() {
        assert_fires(
            "split-unassoc",
            "(+ (* o0 #AB) (+ (* o1 #B) r0))",
            "(+ (* (+ (* o0 #A) o1) #B) r0)",
        );
        // N is not a multiple of B: there is no whole quotient to regroup by.
        assert_blocked(
            "split-unassoc",
            "(+ (* o0 #N) (+ (* o1 #B) r0))",
            Some("(+ (* (+ (* o0 #N) o1) #B) r0)"),
        );
        // A multiple of B by 1 (N = B): the quotient would be 1, a general distributivity.
        assert_blocked("split-unassoc", "(+ (* o0 #B) (+ (* o1 #B) r0))", None);
    }

    #[test]
    fn merge_reassoc() {
        assert_fires(
            "merge-reassoc",
            "(mod (div o2 #B) #A)",
            "(div (mod o2 (* #A #B)) #B)",
        );
        // A divisor that may be 0 or negative: floor division does not regroup.
        assert_blocked(
            "merge-reassoc",
            "(mod (div o2 -2) #A)",
            Some("(div (mod o2 (* #A -2)) -2)"),
        );
        // Not sizes (an iterator as a divisor).
        assert_blocked("merge-reassoc", "(mod (div o2 o1) #A)", None);
    }

    #[test]
    fn merge_unassoc() {
        assert_fires(
            "merge-unassoc",
            "(div (mod o2 #AB) #B)",
            "(mod (div o2 #B) #A)",
        );
        // B does not divide N: there is no whole quotient N/B to take the remainder by.
        assert_blocked("merge-unassoc", "(div (mod (* r1 #k) #N) #B)", None);
    }

    #[test]
    fn merge_split_mod() {
        assert_fires(
            "merge-split-mod",
            "(+ (* (div (mod r1 #AB) #B) #B) (mod r1 #B))",
            "(mod r1 #AB)",
        );
        // B does not divide N: x mod B is not the remainder of x mod N.
        assert_blocked(
            "merge-split-mod",
            "(+ (* (div (mod (* r1 #k) #N) #B) #B) (mod (* r1 #k) #B))",
            Some("(mod (* r1 #k) #N)"),
        );
    }

    #[test]
    fn mod_mod() {
        assert_fires("mod-mod", "(mod (mod r1 #AB) #B)", "(mod r1 #B)");
        assert_fires("mod-mod", "(mod (mod r1 #B) #B)", "(mod r1 #B)");
        // B does not divide N: (x mod N) mod B differs from x mod B once x ≥ N.
        assert_blocked(
            "mod-mod",
            "(mod (mod (* r1 #k) #N) #B)",
            Some("(mod (* r1 #k) #B)"),
        );
    }
}
