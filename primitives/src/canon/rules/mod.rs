//! The rewrite rules, as data: each [`Rule`] is a name, a left and a right pattern (or a named
//! custom applier), the conditions that make it exact, and a version. Rules are grouped by
//! topic ([`arith`], [`divmod`], [`shift`]); `RULES.md` beside this module explains why each
//! is exact and why none makes an expression larger.
//!
//! [`digest`] hashes the whole table (names, patterns, conditions, versions): every canonical
//! hash is reported with it, so a stored hash from another rule set is recognised as such.

pub mod arith;
pub mod divmod;
pub mod shift;

use super::analysis::{IxGraph, RangeAnalysis};
use super::lang::{Atom, Ix};
use egg::{Applier, ConditionalApplier, Id, Pattern, PatternAst, Rewrite, Subst, Symbol, Var};
use std::fmt;
use std::sync::OnceLock;

/// A condition under which a rule is exact (all of a rule's conditions must hold). Range facts
/// are symbolic: they hold under **every** valid binding of the variables, never only under
/// the bindings an operator lists ([`super::bounds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// `0 ≤ x < n`.
    Within(&'static str, &'static str),
    /// Each variable is one constant under every binding.
    Constant(&'static [&'static str]),
    /// The variable is not one constant (a rule that only gathers constants must not fire on
    /// terms the analysis already folds, or it would enumerate sums of constants).
    NotConstant(&'static str),
    /// Each variable is a constant other than 0 (a 0 is the neutral element's business, and
    /// matching it through the cycle `x = x + 0` would enumerate sums).
    NonZero(&'static [&'static str]),
    /// Each variable is ≥ 1.
    Positive(&'static [&'static str]),
    /// Each variable's class holds a symbolic size leaf.
    Sizes(&'static [&'static str]),
    /// `d` divides `n`: both classes hold size leaves and `n / d` is an integer ≥ 1 under every
    /// valid binding (it has no negative exponent, or the operator has a dim of that size).
    Divides(&'static str, &'static str),
    /// `x` is not within `[0, n)` under some binding (keeps a normalising rule from firing on
    /// its own output).
    NotWithin(&'static str, &'static str),
}

/// The right-hand side of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rhs {
    /// A pattern over the left side's variables.
    Pattern(&'static str),
    /// `(* ?a ?b)` where both are size leaves: the product as one size leaf.
    FoldSizes,
    /// A pattern over the left side's variables and `?q`, the size leaf `num / den` of two
    /// size classes of the left side (applies only when `num / den` has no negative exponent
    /// and is not 1).
    Quotient {
        /// The pattern.
        pattern: &'static str,
        /// The dividend's variable.
        num: &'static str,
        /// The divisor's variable.
        den: &'static str,
    },
}

/// One rewrite rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Unique name, kebab-case.
    pub name: &'static str,
    /// Left pattern (egg syntax).
    pub lhs: &'static str,
    /// Right side.
    pub rhs: Rhs,
    /// Conditions, all required.
    pub conds: &'static [Cond],
    /// Bumped whenever the rule's meaning changes.
    pub version: u32,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quotient;
        let rhs = match self.rhs {
            Rhs::Pattern(p) => p,
            Rhs::FoldSizes => "<fold sizes>",
            Rhs::Quotient { pattern, num, den } => {
                quotient = format!("{pattern} where ?q = {num} / {den}");
                &quotient
            }
        };
        write!(
            f,
            "{} v{}: {} => {}",
            self.name, self.version, self.lhs, rhs
        )?;
        for c in self.conds {
            write!(f, " if {c:?}")?;
        }
        Ok(())
    }
}

/// Every rule, by topic.
pub fn all() -> Vec<Rule> {
    let mut v = Vec::new();
    v.extend_from_slice(arith::RULES);
    v.extend_from_slice(divmod::RULES);
    v.extend_from_slice(shift::RULES);
    v
}

/// A rule by name.
pub fn get(name: &str) -> Option<Rule> {
    all().into_iter().find(|r| r.name == name)
}

/// 128-bit digest of the rule set (names, patterns, conditions, versions), as 32 hex digits.
pub fn digest() -> &'static str {
    static D: OnceLock<String> = OnceLock::new();
    D.get_or_init(|| digest_of(&all()))
}

/// Versions of the operator-level passes that run after the e-graph (`absorb.rs`, `order.rs`,
/// `unordered.rs`); they are part of every digest, so bump one whenever its forms change.
pub const PASSES: &str = "absorb/2 order/1 unordered-channels/1 ranges/symbolic-1";

/// The digest of any list of rules (with the operator-level [`PASSES`]).
pub fn digest_of(rules: &[Rule]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"kas-canon-rules/1\n");
    h.update(PASSES.as_bytes());
    h.update(b"\n");
    for r in rules {
        h.update(r.to_string().as_bytes());
        h.update(b"\n");
    }
    let mut b = [0u8; 16];
    b.copy_from_slice(&h.finalize().as_bytes()[..16]);
    format!("{:032x}", u128::from_be_bytes(b))
}

fn var(name: &str) -> Var {
    name.parse().expect("rule variables are `?name`")
}

fn has_size(eg: &IxGraph, id: Id) -> Option<crate::size::Size> {
    eg[id].nodes.iter().find_map(|n| match n {
        Ix::Atom(Atom::Size(s)) => Some(*s),
        _ => None,
    })
}

fn holds(c: Cond, eg: &IxGraph, s: &Subst) -> bool {
    let d = |v: &str| &eg[s[var(v)]].data;
    match c {
        Cond::Within(x, n) => d(x).within(d(n)),
        Cond::NotWithin(x, n) => !d(x).within(d(n)),
        Cond::Constant(vs) => vs.iter().all(|v| d(v).exact().is_some()),
        Cond::NotConstant(v) => d(v).exact().is_none(),
        Cond::NonZero(vs) => vs.iter().all(|v| matches!(d(v).exact(), Some(c) if c != 0)),
        Cond::Positive(vs) => vs.iter().all(|v| d(v).positive()),
        Cond::Sizes(vs) => vs.iter().all(|v| has_size(eg, s[var(v)]).is_some()),
        Cond::Divides(den, num) => quotient(eg, s, num, den).is_some(),
    }
}

/// `num / den` for two size classes, when it is a positive integer under every valid binding
/// ([`super::bounds::Domains::whole_quotient`]).
fn quotient(eg: &IxGraph, s: &Subst, num: &str, den: &str) -> Option<crate::size::Size> {
    let n = has_size(eg, s[var(num)])?;
    let d = has_size(eg, s[var(den)])?;
    eg.analysis.domains.whole_quotient(n, d)
}

/// Largest total power of a size [`Rhs::FoldSizes`] creates.
pub const MAX_FOLDED_POWER: u32 = 8;

/// The applier of [`Rhs::FoldSizes`].
#[derive(Debug)]
struct FoldSizes;

impl Applier<Ix, RangeAnalysis> for FoldSizes {
    fn apply_one(
        &self,
        eg: &mut IxGraph,
        matched: Id,
        subst: &Subst,
        _ast: Option<&PatternAst<Ix>>,
        _rule: Symbol,
    ) -> Vec<Id> {
        let (Some(a), Some(b)) = (
            has_size(eg, subst[var("?a")]),
            has_size(eg, subst[var("?b")]),
        ) else {
            return vec![];
        };
        // Products of sizes that no dim of a legal operator has are never needed: the cap keeps
        // cyclic classes from folding ever higher powers.
        let Some(p) = a
            .checked_mul(b)
            .filter(|p| p.total_power() <= MAX_FOLDED_POWER)
        else {
            return vec![];
        };
        let id = eg.add(Ix::Atom(Atom::Size(p)));
        if eg.union(matched, id) {
            vec![id]
        } else {
            vec![]
        }
    }
}

/// The applier of [`Rhs::Quotient`].
#[derive(Debug)]
struct WithQuotient {
    pattern: Pattern<Ix>,
    num: &'static str,
    den: &'static str,
}

impl Applier<Ix, RangeAnalysis> for WithQuotient {
    fn apply_one(
        &self,
        eg: &mut IxGraph,
        matched: Id,
        subst: &Subst,
        ast: Option<&PatternAst<Ix>>,
        rule: Symbol,
    ) -> Vec<Id> {
        let Some(q) = quotient(eg, subst, self.num, self.den).filter(|q| !q.is_one()) else {
            return vec![];
        };
        let id = eg.add(Ix::Atom(Atom::Size(q)));
        let mut s = subst.clone();
        s.insert(var("?q"), id);
        self.pattern.apply_one(eg, matched, &s, ast, rule)
    }
}

impl Rule {
    /// The egg rewrite.
    pub fn rewrite(&self) -> Rewrite<Ix, RangeAnalysis> {
        let lhs: Pattern<Ix> = self.lhs.parse().expect("rule patterns parse");
        let conds = self.conds;
        let condition =
            move |eg: &mut IxGraph, _id: Id, s: &Subst| conds.iter().all(|&c| holds(c, eg, s));
        match self.rhs {
            Rhs::Pattern(p) => {
                let rhs: Pattern<Ix> = p.parse().expect("rule patterns parse");
                Rewrite::new(
                    self.name,
                    lhs,
                    ConditionalApplier {
                        condition,
                        applier: rhs,
                    },
                )
            }
            Rhs::FoldSizes => Rewrite::new(
                self.name,
                lhs,
                ConditionalApplier {
                    condition,
                    applier: FoldSizes,
                },
            ),
            Rhs::Quotient { pattern, num, den } => Rewrite::new(
                self.name,
                lhs,
                ConditionalApplier {
                    condition,
                    applier: WithQuotient {
                        pattern: pattern.parse().expect("rule patterns parse"),
                        num,
                        den,
                    },
                },
            ),
        }
        .expect("rule is well-formed")
    }
}

/// The egg rewrites of every rule (built once).
pub fn rewrites() -> &'static [Rewrite<Ix, RangeAnalysis>] {
    static R: OnceLock<Vec<Rewrite<Ix, RangeAnalysis>>> = OnceLock::new();
    R.get_or_init(|| all().iter().map(Rule::rewrite).collect())
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_patterns_parse() {
        let rules = all();
        let mut names: Vec<_> = rules.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), rules.len());
        assert_eq!(rewrites().len(), rules.len());
    }

    #[test]
    fn digest_covers_names_versions_and_conditions() {
        // The golden value of the whole table is pinned in `canon::tests::golden_hashes`.
        let rules = all();
        assert_eq!(digest(), digest_of(&rules));
        let mut bumped = rules.clone();
        bumped[0].version += 1;
        assert_ne!(digest_of(&bumped), digest());
        let mut loosened = rules.clone();
        let i = loosened.iter().position(|r| r.name == "div-split").unwrap();
        loosened[i].conds = &[];
        assert_ne!(digest_of(&loosened), digest());
        assert_ne!(digest_of(&rules[1..]), digest());
    }
}
