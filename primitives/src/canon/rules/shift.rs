//! Shift's modular offsets `(i + c) mod N`: composition, whole periods, and a normal offset.

use super::{Cond, Rhs, Rule};

/// The rules of this topic.
#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    // ((x mod n) + c) mod n = (x + c) mod n: two Shifts of one dim compose.
    Rule { name: "shift-compose", lhs: "(mod (+ (mod ?x ?n) ?c) ?n)", rhs: Rhs::Pattern("(mod (+ ?x ?c) ?n)"),
           conds: &[Cond::Positive(&["?n"])], version: 1 },
    Rule { name: "shift-period",  lhs: "(mod (+ ?x ?c) ?n)", rhs: Rhs::Pattern("(mod ?x ?n)"),
           conds: &[Cond::MultipleOf("?c", "?n")], version: 1 },
    Rule { name: "shift-offset-mod", lhs: "(mod (+ ?x ?c) ?n)", rhs: Rhs::Pattern("(mod (+ ?x (mod ?c ?n)) ?n)"),
           conds: &[Cond::Constant(&["?c", "?n"]), Cond::Positive(&["?n"]), Cond::NotWithin("?c", "?n")],
           version: 1 },
];

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_blocked, assert_fires};

    #[test]
    fn shift_compose() {
        assert_fires("shift-compose", "(mod (+ (mod (+ o2 1) #N) 2) #N)", "(mod (+ (+ o2 1) 2) #N)");
        // Different moduli do not compose.
        assert_blocked("shift-compose", "(mod (+ (mod (+ o2 1) #B) 2) #N)", Some("(mod (+ (+ o2 1) 2) #N)"));
    }

    #[test]
    fn shift_period() {
        assert_fires("shift-period", "(mod (+ o0 6) 3)", "(mod o0 3)");
        // 5 is a whole period under one binding only (N = 5, then 8).
        assert_blocked("shift-period", "(mod (+ o2 5) #N)", Some("(mod o2 #N)"));
    }

    #[test]
    fn shift_offset_mod() {
        assert_fires("shift-offset-mod", "(mod (+ o0 -1) 3)", "(mod (+ o0 2) 3)");
        // N differs between the bindings: -1 mod N is not one constant.
        assert_blocked("shift-offset-mod", "(mod (+ o2 -1) #N)", Some("(mod (+ o2 4) #N)"));
    }
}
