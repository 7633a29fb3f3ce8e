//! The simplification rules, as data: each [`PairRule`] says that `outer(inner(x))` equals a
//! shorter expression for every real `x` (the identity, or one element-wise function), and
//! [`IDEMPOTENT`] lists the blends with `f(x, x) = x`. Each rule is checked by random
//! evaluation ([`check_pair`]); [`digest`] hashes the table so a stored canonical hash from
//! another rule set is recognised as such.

use crate::node::{BlendKind, Unary};
use std::sync::OnceLock;

/// What `outer(inner(x))` becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rhs {
    /// `x` itself.
    Identity,
    /// One element-wise function of `x`.
    Apply(Unary),
}

/// `outer(inner(x)) = rhs(x)` for every real `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairRule {
    /// Unique name, kebab-case (`outer-inner`).
    pub name: &'static str,
    /// The function applied second.
    pub outer: Unary,
    /// The function applied first.
    pub inner: Unary,
    /// The simpler form.
    pub rhs: Rhs,
    /// Bumped whenever the rule's meaning changes.
    pub version: u32,
}

const fn rule(name: &'static str, outer: Unary, inner: Unary, rhs: Rhs) -> PairRule {
    PairRule {
        name,
        outer,
        inner,
        rhs,
        version: 1,
    }
}

use Rhs::{Apply, Identity};
use Unary::{Abs, Exp, Neg, Relu, Sigmoid, Sqr, Sqrt};

/// Every pair rule. Each is exact on the reals: `Neg` is an involution; `Abs`, `Relu` are
/// idempotent; `Abs` and `Relu` leave non-negative values (`Exp`, `Sigmoid`, `Sqr`, `Sqrt`,
/// `Abs`) unchanged; `Abs`, `Sqr` and `Sqrt` (`√|x|`) are even, so they absorb an inner `Neg`
/// or `Abs`; `Sqr` and `Sqrt` undo each other up to the sign: `(√|x|)² = √(x²) = |x|`.
pub static RULES: &[PairRule] = &[
    rule("neg-neg", Neg, Neg, Identity),
    rule("abs-abs", Abs, Abs, Apply(Abs)),
    rule("relu-relu", Relu, Relu, Apply(Relu)),
    rule("abs-neg", Abs, Neg, Apply(Abs)),
    rule("abs-relu", Abs, Relu, Apply(Relu)),
    rule("abs-exp", Abs, Exp, Apply(Exp)),
    rule("abs-sigmoid", Abs, Sigmoid, Apply(Sigmoid)),
    rule("abs-sqr", Abs, Sqr, Apply(Sqr)),
    rule("abs-sqrt", Abs, Sqrt, Apply(Sqrt)),
    rule("relu-abs", Relu, Abs, Apply(Abs)),
    rule("relu-exp", Relu, Exp, Apply(Exp)),
    rule("relu-sigmoid", Relu, Sigmoid, Apply(Sigmoid)),
    rule("relu-sqr", Relu, Sqr, Apply(Sqr)),
    rule("relu-sqrt", Relu, Sqrt, Apply(Sqrt)),
    rule("sqr-neg", Sqr, Neg, Apply(Sqr)),
    rule("sqr-abs", Sqr, Abs, Apply(Sqr)),
    rule("sqrt-neg", Sqrt, Neg, Apply(Sqrt)),
    rule("sqrt-abs", Sqrt, Abs, Apply(Sqrt)),
    rule("sqr-sqrt", Sqr, Sqrt, Apply(Abs)),
    rule("sqrt-sqr", Sqrt, Sqr, Apply(Abs)),
];

/// Blends with `f(x, x) = x`: a blend of a node with itself (plain element-wise) is the node.
pub const IDEMPOTENT: &[BlendKind] = &[BlendKind::Max, BlendKind::Min];

/// The rule for `outer(inner(x))`, if any.
pub fn find(outer: Unary, inner: Unary) -> Option<&'static PairRule> {
    RULES.iter().find(|r| r.outer == outer && r.inner == inner)
}

/// Whether `outer(inner(x)) = rhs(x)` holds, up to a relative 1e-12, on 2000 points drawn
/// from `seed` (uniform in `[-8, 8]`, plus 0, ±1 and tiny values).
pub fn check_pair(outer: Unary, inner: Unary, rhs: Rhs, seed: u64) -> bool {
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::{RngExt, SeedableRng};
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let fixed = [0.0, 1.0, -1.0, 1e-9, -1e-9, 0.5, -0.5];
    let drawn: Vec<f64> = (0..2000).map(|_| rng.random_range(-8.0..8.0)).collect();
    fixed.iter().chain(&drawn).all(|&x| {
        let left = outer.apply(inner.apply(x));
        let right = match rhs {
            Rhs::Identity => x,
            Rhs::Apply(u) => u.apply(x),
        };
        (left - right).abs() <= 1e-12 * (1.0 + right.abs())
    })
}

/// Whether `f(x, x) = x` on 2000 points drawn from `seed`.
pub fn check_idempotent(kind: BlendKind, seed: u64) -> bool {
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::{RngExt, SeedableRng};
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..2000).all(|_| {
        let x: f64 = rng.random_range(-8.0..8.0);
        kind.apply(x, x) == x
    })
}

/// 128-bit digest of the rule set (names, functions, versions), as 32 hex digits.
pub fn digest() -> &'static str {
    static D: OnceLock<String> = OnceLock::new();
    D.get_or_init(|| {
        let mut h = blake3::Hasher::new();
        h.update(b"kas-graph-rules/1");
        for r in RULES {
            h.update(
                format!(
                    "{} v{}: {:?} {:?} {:?};",
                    r.name, r.version, r.outer, r.inner, r.rhs
                )
                .as_bytes(),
            );
        }
        for k in IDEMPOTENT {
            h.update(format!("idempotent {k:?};").as_bytes());
        }
        let b = h.finalize();
        b.as_bytes()[..16]
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_rule_holds_by_random_evaluation() {
        for (i, r) in RULES.iter().enumerate() {
            assert!(
                check_pair(r.outer, r.inner, r.rhs, 11 + i as u64),
                "rule {} does not hold",
                r.name
            );
        }
    }

    #[test]
    fn the_check_catches_a_wrong_rule() {
        assert!(!check_pair(Relu, Neg, Identity, 1));
        assert!(!check_pair(Sqr, Sqrt, Apply(Sqr), 1));
        assert!(!check_pair(Neg, Abs, Apply(Abs), 1));
    }

    #[test]
    fn idempotent_blends_hold_and_others_do_not() {
        for &k in IDEMPOTENT {
            assert!(check_idempotent(k, 5), "{k:?}");
        }
        for k in [BlendKind::Add, BlendKind::Sub, BlendKind::Mul] {
            assert!(!check_idempotent(k, 5), "{k:?}");
        }
    }

    #[test]
    fn rule_names_are_unique_and_match_their_functions() {
        let mut seen = std::collections::HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.name), "{} twice", r.name);
            assert_eq!(r.name, format!("{}-{}", r.outer.name(), r.inner.name()));
            assert!(std::ptr::eq(find(r.outer, r.inner).unwrap(), r));
        }
        assert_eq!(digest().len(), 32);
    }
}
