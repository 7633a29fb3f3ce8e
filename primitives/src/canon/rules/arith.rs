//! Arithmetic identities: neutral elements, folding of constants and of size products.
//!
//! Constant folding of whole classes (a class that is one constant under every binding) is done
//! by the analysis, not by rules; these rules bring constants together so that it can.

use super::{Cond, Rhs, Rule};

/// The rules of this topic.
#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    Rule { name: "add-0-right", lhs: "(+ ?a 0)", rhs: Rhs::Pattern("?a"), conds: &[], version: 1 },
    Rule { name: "add-0-left",  lhs: "(+ 0 ?a)", rhs: Rhs::Pattern("?a"), conds: &[], version: 1 },
    Rule { name: "sub-0",       lhs: "(- ?a 0)", rhs: Rhs::Pattern("?a"), conds: &[], version: 1 },
    Rule { name: "mul-1-right", lhs: "(* ?a 1)", rhs: Rhs::Pattern("?a"), conds: &[], version: 1 },
    Rule { name: "mul-1-left",  lhs: "(* 1 ?a)", rhs: Rhs::Pattern("?a"), conds: &[], version: 1 },
    Rule { name: "div-1",       lhs: "(div ?a 1)", rhs: Rhs::Pattern("?a"), conds: &[], version: 1 },
    // Targeted associativity: only constants are moved together.
    Rule { name: "add-consts",  lhs: "(+ (+ ?a ?c) ?d)", rhs: Rhs::Pattern("(+ ?a (+ ?c ?d))"),
           conds: &[Cond::NonZero(&["?c", "?d"]), Cond::NotConstant("?a")], version: 1 },
    Rule { name: "sub-const",   lhs: "(- ?a ?c)", rhs: Rhs::Pattern("(+ ?a (- 0 ?c))"),
           conds: &[Cond::Constant(&["?c"]), Cond::NotConstant("?a")], version: 1 },
    Rule { name: "size-fold",   lhs: "(* ?a ?b)", rhs: Rhs::FoldSizes,
           conds: &[Cond::Sizes(&["?a", "?b"])], version: 1 },
];

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_blocked, assert_fires};

    #[test]
    fn neutral_elements_fire() {
        assert_fires("add-0-right", "(+ o0 0)", "o0");
        assert_fires("add-0-left", "(+ 0 o0)", "o0");
        assert_fires("sub-0", "(- o0 0)", "o0");
        assert_fires("mul-1-right", "(* o0 1)", "o0");
        assert_fires("mul-1-left", "(* 1 o0)", "o0");
        assert_fires("div-1", "(div o0 1)", "o0");
    }

    #[test]
    fn add_consts_fires_and_is_blocked_on_iterators() {
        assert_fires("add-consts", "(+ (+ o0 2) -5)", "(+ o0 -3)");
        // Moving an iterator would be exact too, but it is general associativity: not a rule.
        assert_blocked("add-consts", "(+ (+ o0 o1) 2)", None);
        // All-constant sums are folded by the analysis; the rule would only enumerate sums.
        assert_blocked("add-consts", "(+ (+ 4 2) -5)", None);
        // A coefficient is a variable, not its declared value: its constants gather.
        assert_fires("add-consts", "(+ (+ #k 2) -5)", "(+ #k -3)");
        assert_blocked("add-consts", "(+ (+ o0 0) -5)", None);
    }

    #[test]
    fn sub_const_fires_and_is_blocked_on_symbolic_values() {
        assert_fires("sub-const", "(- o0 2)", "(+ o0 -2)");
        // `#B` is a variable: there is no single constant to negate.
        assert_blocked("sub-const", "(- o0 #B)", Some("(+ o0 -3)"));
        assert_blocked("sub-const", "(- 7 2)", None);
        // `#k` is a variable too, whatever its declared value.
        assert_fires("sub-const", "(- #k 2)", "(+ #k -2)");
    }

    #[test]
    fn size_fold_fires_and_is_blocked_on_iterators() {
        assert_fires("size-fold", "(* #A #B)", "#AB");
        assert_blocked("size-fold", "(* o0 #B)", Some("#AB"));
    }
}
