//! Shift's modular offsets `(i + c) mod N`: composition.
//!
//! Reducing an offset modulo a constant `N` (`(i + c) mod N = (i + (c mod N)) mod N`) is exact
//! but is not a rule: in an e-graph it makes every `c + m·N` equal, and composition then
//! enumerates them without end. It is done once on the extracted normal form instead
//! ([`crate::canon::absorb`]).

use super::{Cond, Rhs, Rule};

/// The rules of this topic.
#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    // ((x mod n) + c) mod n = (x + c) mod n: two Shifts of one dim compose.
    // Only for an inner `x` that may leave [0, n): otherwise `x mod n` is `x` already, and
    // matching through that cycle would enumerate ever new offsets.
    Rule { name: "shift-compose", lhs: "(mod (+ (mod ?x ?n) ?c) ?n)", rhs: Rhs::Pattern("(mod (+ ?x ?c) ?n)"),
           conds: &[Cond::Positive(&["?n"]), Cond::NonZero(&["?c"]), Cond::NotWithin("?x", "?n")], version: 1 },
];

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_blocked, assert_fires};

    #[test]
    fn shift_compose() {
        assert_fires(
            "shift-compose",
            "(mod (+ (mod (+ o2 1) #N) 2) #N)",
            "(mod (+ (+ o2 1) 2) #N)",
        );
        // Different moduli do not compose.
        assert_blocked(
            "shift-compose",
            "(mod (+ (mod (+ o2 1) #B) 2) #N)",
            Some("(mod (+ (+ o2 1) 2) #N)"),
        );
    }
}
