//! Symbolic value ranges: bounds that hold under **every** valid binding of the variables,
//! never only under the bindings an operator file lists (`RULES.md`, "Range facts").
//!
//! A bound is a [`Poly`], an integer combination of monomials over the variables (the monomials
//! are [`Size`]s; the constant term is the monomial 1), or unbounded. A valid binding gives every
//! variable an integer ≥ 1 and makes every size of the operator a positive integer (what
//! [`Size::check_legal`] checks for the listed bindings). Every monomial that appears in a
//! bound is a size of the operator, a product of such, or a quotient with no negative exponent,
//! so each is an integer ≥ 1 under every valid binding: the comparisons ([`Poly::nonneg`]) use
//! only that, and `m ≥ m'` when `m / m'` has no negative exponent.
//!
//! The e-class analysis ([`super::analysis`]) and the operator-level passes ([`super::absorb`])
//! both use this arithmetic, so a fact one of them proves the other agrees with.

use crate::expr::{Expr, Iter};
use crate::size::Size;

/// Most terms of a polynomial; a longer one is an unknown bound.
const MAX_TERMS: usize = 12;

/// Largest magnitude of a coefficient; a larger one is an unknown bound.
const MAX_COEFF: i128 = i64::MAX as i128;

/// An integer polynomial over the variables: `Σ c·m` with monomials `m` (sizes; the constant
/// term is [`Size::ONE`]), sorted by monomial, without zero coefficients.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Poly(Vec<(Size, i128)>);

/// Whether `m / d` has no negative exponent (then `m / d` is an integer ≥ 1 under every valid
/// binding).
fn whole_quotient(m: Size, d: Size) -> Option<Size> {
    let q = m.checked_div(d)?;
    let nonneg = q
        .primary_exponents()
        .iter()
        .chain(q.coefficient_exponents())
        .all(|&e| e >= 0);
    nonneg.then_some(q)
}

/// Whether `big ≥ small` under every valid binding (both monomials of bounds, so each ≥ 1).
fn dominates(big: Size, small: Size) -> bool {
    small.is_one() || whole_quotient(big, small).is_some()
}

impl Poly {
    fn from_terms(terms: impl IntoIterator<Item = (Size, i128)>) -> Option<Poly> {
        let mut v: Vec<(Size, i128)> = terms.into_iter().collect();
        v.sort_by_key(|t| t.0);
        let mut out: Vec<(Size, i128)> = Vec::with_capacity(v.len());
        for (m, c) in v {
            match out.last_mut() {
                Some(last) if last.0 == m => last.1 = last.1.checked_add(c)?,
                _ => out.push((m, c)),
            }
        }
        out.retain(|t| t.1 != 0);
        let fits = out.len() <= MAX_TERMS && out.iter().all(|t| t.1.abs() <= MAX_COEFF);
        fits.then_some(Poly(out))
    }

    /// The constant `c`.
    pub fn constant(c: i64) -> Poly {
        Poly::from_terms([(Size::ONE, c as i128)]).expect("one term")
    }

    /// The monomial `s` (a size of the operator, or a product of such).
    pub fn monomial(s: Size) -> Poly {
        Poly::from_terms([(s, 1)]).expect("one term")
    }

    /// The value if it is one integer, the same under every binding.
    pub fn as_constant(&self) -> Option<i64> {
        match self.0.as_slice() {
            [] => Some(0),
            [(m, c)] if m.is_one() => i64::try_from(*c).ok(),
            _ => None,
        }
    }

    /// The only term `(monomial, coefficient)`, if there is exactly one.
    pub fn single(&self) -> Option<(Size, i128)> {
        match self.0.as_slice() {
            [t] => Some(*t),
            _ => None,
        }
    }

    /// Sum (`None` past the size limits).
    pub fn add(&self, o: &Poly) -> Option<Poly> {
        Poly::from_terms(self.0.iter().chain(&o.0).copied())
    }

    /// Negation.
    pub fn neg(&self) -> Poly {
        Poly(self.0.iter().map(|&(m, c)| (m, -c)).collect())
    }

    /// Difference (`None` past the size limits).
    pub fn sub(&self, o: &Poly) -> Option<Poly> {
        self.add(&o.neg())
    }

    /// Product (`None` past the size limits).
    pub fn mul(&self, o: &Poly) -> Option<Poly> {
        let mut terms = Vec::with_capacity(self.0.len() * o.0.len());
        for &(m, c) in &self.0 {
            for &(n, d) in &o.0 {
                terms.push((m.checked_mul(n)?, c.checked_mul(d)?));
            }
        }
        Poly::from_terms(terms)
    }

    /// Whether the value is ≥ 0 under every valid binding: every negative term is paid for by
    /// positive terms of monomials at least as large (a sufficient test, never a guess).
    pub fn nonneg(&self) -> bool {
        let mut pos: Vec<(Size, i128)> = self.0.iter().copied().filter(|t| t.1 > 0).collect();
        let mut neg: Vec<(Size, i128)> = self
            .0
            .iter()
            .filter(|t| t.1 < 0)
            .map(|&(m, c)| (m, -c))
            .collect();
        // The largest monomials first: they have the fewest monomials able to pay for them.
        neg.sort_by_key(|t| (std::cmp::Reverse(t.0.total_power()), t.0));
        pos.sort_by_key(|t| (t.0.total_power(), t.0));
        for (m, mut need) in neg {
            for p in pos.iter_mut() {
                if need == 0 {
                    break;
                }
                if p.1 > 0 && dominates(p.0, m) {
                    let t = need.min(p.1);
                    p.1 -= t;
                    need -= t;
                }
            }
            if need > 0 {
                return false;
            }
        }
        true
    }

    /// Whether the value is ≤ 0 under every valid binding.
    fn nonpos(&self) -> bool {
        self.neg().nonneg()
    }

    /// Bound on `⌊self / (k·m)⌋` for a divisor `k·m` (`k ≥ 1`, `m` a monomial): exact on every
    /// term divisible by `k·m`, the constant term bounded from above (`upper`) or below.
    fn quotient(&self, k: i128, m: Size, upper: bool) -> Option<Poly> {
        let mut terms = Vec::with_capacity(self.0.len());
        for &(t, c) in &self.0 {
            if t.is_one() {
                let q = if m.is_one() {
                    c.div_euclid(k)
                } else {
                    // ⌊c / (k·m)⌋ lies between ⌊c / k⌋ and 0 (or −1), since k·m ≥ k.
                    match (upper, c >= 0) {
                        (true, true) => c.div_euclid(k),
                        (true, false) => -1,
                        (false, true) => 0,
                        (false, false) => c.div_euclid(k),
                    }
                };
                terms.push((Size::ONE, q));
            } else {
                let q = if m.is_one() { t } else { whole_quotient(t, m)? };
                if c % k != 0 {
                    return None;
                }
                terms.push((q, c / k));
            }
        }
        Poly::from_terms(terms)
    }
}

/// A bound: a polynomial, or `None` for no bound in that direction.
pub type Bound = Option<Poly>;

fn ge0(b: &Bound) -> bool {
    b.as_ref().is_some_and(Poly::nonneg)
}

fn le0(b: &Bound) -> bool {
    b.as_ref().is_some_and(Poly::nonpos)
}

fn lift(a: &Bound, b: &Bound, f: impl Fn(&Poly, &Poly) -> Option<Poly>) -> Bound {
    f(a.as_ref()?, b.as_ref()?)
}

/// The larger of two lower bounds, when one is provably larger; else a fixed choice.
fn max_bound(a: &Bound, b: &Bound) -> Bound {
    match (a, b) {
        (None, x) | (x, None) => x.clone(),
        (Some(p), Some(q)) => {
            let p_ge = p.sub(q).is_some_and(|d| d.nonneg());
            let q_ge = q.sub(p).is_some_and(|d| d.nonneg());
            Some(if p_ge || (!q_ge && p <= q) { p } else { q }.clone())
        }
    }
}

/// The smaller of two upper bounds, when one is provably smaller; else a fixed choice.
fn min_bound(a: &Bound, b: &Bound) -> Bound {
    match (a, b) {
        (None, x) | (x, None) => x.clone(),
        (Some(p), Some(q)) => {
            let p_le = q.sub(p).is_some_and(|d| d.nonneg());
            let q_le = p.sub(q).is_some_and(|d| d.nonneg());
            Some(if p_le || (!q_le && p <= q) { p } else { q }.clone())
        }
    }
}

/// A closed range `[lo, hi]` that holds under every valid binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounds {
    /// Lower bound.
    pub lo: Bound,
    /// Upper bound.
    pub hi: Bound,
}

impl Bounds {
    /// Anything.
    pub fn top() -> Bounds {
        Bounds { lo: None, hi: None }
    }

    /// Exactly `p`.
    pub fn exactly(p: Poly) -> Bounds {
        Bounds {
            lo: Some(p.clone()),
            hi: Some(p),
        }
    }

    /// The constant `c`.
    pub fn constant(c: i64) -> Bounds {
        Bounds::exactly(Poly::constant(c))
    }

    /// The value, if both bounds are the same polynomial.
    pub fn value(&self) -> Option<&Poly> {
        match (&self.lo, &self.hi) {
            (Some(a), Some(b)) if a == b => Some(a),
            _ => None,
        }
    }

    /// The value if it is one integer, the same under every valid binding.
    pub fn exact(&self) -> Option<i64> {
        self.value()?.as_constant()
    }

    /// Both bounds as integers, if they are.
    fn numbers(&self) -> Option<(i128, i128)> {
        let lo = self.lo.as_ref()?.as_constant()?;
        let hi = self.hi.as_ref()?.as_constant()?;
        Some((lo as i128, hi as i128))
    }

    fn from_numbers(lo: i128, hi: i128) -> Bounds {
        let n = |x: i128| {
            i64::try_from(x)
                .ok()
                .filter(|x| x.unsigned_abs() as i128 <= MAX_COEFF)
                .map(Poly::constant)
        };
        Bounds {
            lo: n(lo),
            hi: n(hi),
        }
    }

    /// Intersection (both sides are sound ranges of the same value). Where neither bound is
    /// provably tighter, the smaller polynomial in a fixed order is kept, so the answer does
    /// not depend on the order of the arguments.
    pub fn meet(&self, o: &Bounds) -> Bounds {
        Bounds {
            lo: max_bound(&self.lo, &o.lo),
            hi: min_bound(&self.hi, &o.hi),
        }
    }

    /// Sum.
    pub fn add(&self, o: &Bounds) -> Bounds {
        Bounds {
            lo: lift(&self.lo, &o.lo, Poly::add),
            hi: lift(&self.hi, &o.hi, Poly::add),
        }
    }

    /// Difference.
    pub fn sub(&self, o: &Bounds) -> Bounds {
        Bounds {
            lo: lift(&self.lo, &o.hi, Poly::sub),
            hi: lift(&self.hi, &o.lo, Poly::sub),
        }
    }

    /// `self` times a value `v` of known sign.
    fn scale(&self, v: &Poly) -> Bounds {
        let by = |b: &Bound| b.as_ref().and_then(|p| p.mul(v));
        if v.nonneg() {
            Bounds {
                lo: by(&self.lo),
                hi: by(&self.hi),
            }
        } else if v.nonpos() {
            Bounds {
                lo: by(&self.hi),
                hi: by(&self.lo),
            }
        } else {
            Bounds::top()
        }
    }

    /// Product.
    pub fn mul(&self, o: &Bounds) -> Bounds {
        if let (Some((a, b)), Some((c, d))) = (self.numbers(), o.numbers()) {
            let p = [a * c, a * d, b * c, b * d];
            return Bounds::from_numbers(*p.iter().min().unwrap(), *p.iter().max().unwrap());
        }
        if let Some(v) = o.value() {
            return self.scale(v);
        }
        if let Some(v) = self.value() {
            return o.scale(v);
        }
        if ge0(&self.lo) && ge0(&o.lo) {
            return Bounds {
                lo: lift(&self.lo, &o.lo, Poly::mul),
                hi: lift(&self.hi, &o.hi, Poly::mul),
            };
        }
        Bounds::top()
    }

    /// Floor division (unknown unless the divisor is ≥ 1).
    pub fn div(&self, o: &Bounds) -> Bounds {
        if !o.positive() {
            return Bounds::top();
        }
        if let (Some((a, b)), Some((c, d))) = (self.numbers(), o.numbers()) {
            let q = [
                a.div_euclid(c),
                a.div_euclid(d),
                b.div_euclid(c),
                b.div_euclid(d),
            ];
            return Bounds::from_numbers(*q.iter().min().unwrap(), *q.iter().max().unwrap());
        }
        let divisor = o.value().and_then(Poly::single).filter(|t| t.1 >= 1);
        let lo = if ge0(&self.lo) {
            divisor
                .and_then(|(m, k)| self.lo.as_ref()?.quotient(k, m, false))
                .or(Some(Poly::constant(0)))
        } else if le0(&self.lo) {
            // ⌊x / n⌋ ≥ x for x ≤ 0 and n ≥ 1.
            self.lo.clone()
        } else {
            None
        };
        let hi = if ge0(&self.hi) {
            // ⌊x / n⌋ ≤ x for x ≥ 0 and n ≥ 1.
            divisor
                .and_then(|(m, k)| self.hi.as_ref()?.quotient(k, m, true))
                .or_else(|| self.hi.clone())
        } else if le0(&self.hi) {
            Some(Poly::constant(0))
        } else {
            None
        };
        Bounds { lo, hi }
    }

    /// Euclidean remainder (unknown unless the divisor is ≥ 1).
    pub fn rem(&self, o: &Bounds) -> Bounds {
        if !o.positive() {
            return Bounds::top();
        }
        if let (Some(x), Some(n)) = (self.exact(), o.exact()) {
            return Bounds::constant(x.rem_euclid(n));
        }
        if self.within(o) {
            return self.clone();
        }
        Bounds {
            lo: Some(Poly::constant(0)),
            hi: lift(&o.hi, &Some(Poly::constant(1)), Poly::sub),
        }
    }

    /// The zero-padding guard `0 ≤ self < bound` as 0/1.
    pub fn guard(&self, bound: &Bounds) -> Bounds {
        if self.within(bound) {
            return Bounds::constant(1);
        }
        let below = lift(&self.hi, &Some(Poly::constant(1)), Poly::add);
        let above = lift(&self.lo, &bound.hi, Poly::sub);
        if le0(&below) || ge0(&above) {
            Bounds::constant(0)
        } else {
            Bounds {
                lo: Some(Poly::constant(0)),
                hi: Some(Poly::constant(1)),
            }
        }
    }

    /// Whether `0 ≤ self < bound` under every valid binding.
    pub fn within(&self, bound: &Bounds) -> bool {
        let room = lift(&bound.lo, &self.hi, Poly::sub).and_then(|d| d.sub(&Poly::constant(1)));
        ge0(&self.lo) && ge0(&room)
    }

    /// Whether the value is ≥ 1 under every valid binding.
    pub fn positive(&self) -> bool {
        ge0(&lift(&self.lo, &Some(Poly::constant(1)), Poly::sub))
    }
}

/// What the ranges of leaves are: the iterator domains (sizes are their own symbolic values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domains {
    /// Output iterator domains.
    pub outs: Vec<Size>,
    /// Reduction iterator domains.
    pub reds: Vec<Size>,
    /// Sizes that are positive integers under every valid binding because the operator has
    /// dims of these sizes (`C/(g·s)`, say); any size without a negative exponent is one too.
    pub legal: Vec<Size>,
}

impl Domains {
    /// `n / d` when it is a positive integer under every valid binding: no negative exponent,
    /// or the size of one of the operator's dims.
    pub fn whole_quotient(&self, n: Size, d: Size) -> Option<Size> {
        let q = n.checked_div(d)?;
        let nonneg = q
            .primary_exponents()
            .iter()
            .chain(q.coefficient_exponents())
            .all(|&e| e >= 0);
        (nonneg || self.legal.contains(&q)).then_some(q)
    }

    /// A size: exactly itself.
    pub fn size(&self, s: Size) -> Bounds {
        Bounds::exactly(Poly::monomial(s))
    }

    /// An iterator's range `[0, domain − 1]`.
    pub fn iter(&self, i: Iter) -> Bounds {
        let s = match i {
            Iter::Out(k) => self.outs.get(k),
            Iter::Red(k) => self.reds.get(k),
        };
        match s {
            Some(&s) => Bounds {
                lo: Some(Poly::constant(0)),
                hi: Poly::monomial(s).sub(&Poly::constant(1)),
            },
            None => Bounds::top(),
        }
    }

    /// Range of a whole expression.
    pub fn expr(&self, e: &Expr) -> Bounds {
        match e {
            Expr::Iter(i) => self.iter(*i),
            Expr::Const(c) => Bounds::constant(*c),
            Expr::Size(s) => self.size(*s),
            Expr::Add(a, b) => self.expr(a).add(&self.expr(b)),
            Expr::Sub(a, b) => self.expr(a).sub(&self.expr(b)),
            Expr::Mul(a, b) => self.expr(a).mul(&self.expr(b)),
            Expr::Div(a, b) => self.expr(a).div(&self.expr(b)),
            Expr::Mod(a, b) => self.expr(a).rem(&self.expr(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::size::VarTable;

    fn vars() -> VarTable {
        VarTable::from_specs(&["A", "B", "C"], &["g", "k=3"]).unwrap()
    }

    fn p(terms: &[(&str, i128)]) -> Poly {
        let v = vars();
        Poly::from_terms(terms.iter().map(|&(s, c)| (v.size(s).unwrap(), c))).unwrap()
    }

    #[test]
    fn comparisons_hold_for_every_binding_or_are_refused() {
        // A·B − B ≥ 0 (A ≥ 1), A·B − 1 ≥ 0, C − C/g ≥ 0 (g ≥ 1).
        assert!(p(&[("A*B", 1), ("B", -1)]).nonneg());
        assert!(p(&[("A*B", 1), ("1", -1)]).nonneg());
        assert!(p(&[("C", 1), ("C/g", -1)]).nonneg());
        // A − B, A − 2, B − A·B: false under some binding, so never proved.
        assert!(!p(&[("A", 1), ("B", -1)]).nonneg());
        assert!(!p(&[("A", 1), ("1", -2)]).nonneg());
        assert!(!p(&[("B", 1), ("A*B", -1)]).nonneg());
        // 2·A·B − A − B ≥ 0: each negative term paid by one A·B.
        assert!(p(&[("A*B", 2), ("A", -1), ("B", -1)]).nonneg());
    }

    #[test]
    fn split_coordinates_are_within_the_product_and_merge_parts_within_their_sizes() {
        let v = vars();
        let s = |t: &str| v.size(t).unwrap();
        let d = Domains {
            outs: vec![s("A"), s("B"), s("A*B*C")],
            reds: vec![],
            legal: vec![],
        };
        let (o0, o1, o2) = (Iter::Out(0), Iter::Out(1), Iter::Out(2));
        let e = |x: Expr, y: Expr, f: fn(Box<Expr>, Box<Expr>) -> Expr| f(Box::new(x), Box::new(y));
        // o0·B + o1 < A·B.
        let split = e(
            e(Expr::Iter(o0), Expr::Size(s("B")), Expr::Mul),
            Expr::Iter(o1),
            Expr::Add,
        );
        assert!(d.expr(&split).within(&d.size(s("A*B"))));
        assert!(!d.expr(&split).within(&d.size(s("A"))));
        // (o2 div C) < A·B, and (o2 div (B·C)) < A.
        let q = e(Expr::Iter(o2), Expr::Size(s("C")), Expr::Div);
        assert!(d.expr(&q).within(&d.size(s("A*B"))));
        let q2 = e(Expr::Iter(o2), Expr::Size(s("B*C")), Expr::Div);
        assert!(d.expr(&q2).within(&d.size(s("A"))));
        assert!(!d.expr(&q2).within(&d.size(s("C"))));
        // k div 2 is not one constant: k is a variable, whatever its declared value.
        let half = e(Expr::Size(s("k")), Expr::Const(2), Expr::Div);
        assert_eq!(d.expr(&half).exact(), None);
        assert_eq!(
            d.expr(&e(Expr::Const(7), Expr::Const(2), Expr::Div))
                .exact(),
            Some(3)
        );
    }

    #[test]
    fn meet_does_not_depend_on_the_order_of_its_arguments() {
        let a = Bounds {
            lo: Some(p(&[("A", 1)])),
            hi: Some(p(&[("A*B", 1)])),
        };
        let b = Bounds {
            lo: Some(p(&[("B", 1)])),
            hi: Some(p(&[("A*B", 1), ("1", -1)])),
        };
        assert_eq!(a.meet(&b), b.meet(&a));
        assert_eq!(a.meet(&b).hi, b.hi);
    }
}
