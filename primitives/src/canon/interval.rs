//! Value ranges under every binding: one closed interval `[lo, hi]` per binding.
//!
//! Both the e-class analysis ([`super::analysis`]) and the operator-level passes
//! ([`super::absorb`]) use this arithmetic, so a fact one of them proves the other agrees with.
//! Bounds saturate at `±`[`BIG`] (an unknown value), far beyond any index of a legal operator.

use crate::expr::{Expr, Iter};
use crate::size::{Binding, Size};

/// Magnitude of an unknown bound.
pub const BIG: i64 = 1 << 50;

/// A closed interval.
pub type Interval = (i64, i64);

/// An interval per binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranges(pub Vec<Interval>);

fn clamp(x: i128) -> i64 {
    x.clamp(-(BIG as i128), BIG as i128) as i64
}

impl Ranges {
    /// The same constant under every binding.
    pub fn constant(c: i64, n: usize) -> Ranges {
        Ranges(vec![(c, c); n])
    }

    /// The value under each binding.
    pub fn exact_each(v: &[i64]) -> Ranges {
        Ranges(v.iter().map(|&x| (x, x)).collect())
    }

    /// Anything.
    pub fn top(n: usize) -> Ranges {
        Ranges(vec![(-BIG, BIG); n])
    }

    /// The value if it is one constant under every binding.
    pub fn exact(&self) -> Option<i64> {
        let (lo, hi) = *self.0.first()?;
        (lo == hi && lo.abs() < BIG && self.0.iter().all(|&(a, b)| a == lo && b == lo))
            .then_some(lo)
    }

    /// The value under each binding if it is exact under each.
    pub fn exact_per_binding(&self) -> Option<Vec<i64>> {
        self.0
            .iter()
            .map(|&(a, b)| (a == b && a.abs() < BIG).then_some(a))
            .collect()
    }

    /// Intersection (both sides are sound over-approximations of the same value).
    pub fn meet(&self, other: &Ranges) -> Ranges {
        Ranges(
            self.0
                .iter()
                .zip(&other.0)
                .map(|(&(a, b), &(c, d))| {
                    let (lo, hi) = (a.max(c), b.min(d));
                    // Disjoint only for values never reached (an empty domain): keep one side.
                    if lo <= hi { (lo, hi) } else { (a, b) }
                })
                .collect(),
        )
    }

    fn zip(&self, o: &Ranges, f: impl Fn(Interval, Interval) -> Interval) -> Ranges {
        Ranges(self.0.iter().zip(&o.0).map(|(&x, &y)| f(x, y)).collect())
    }

    /// Sum.
    pub fn add(&self, o: &Ranges) -> Ranges {
        self.zip(o, |(a, b), (c, d)| {
            (clamp(a as i128 + c as i128), clamp(b as i128 + d as i128))
        })
    }

    /// Difference.
    pub fn sub(&self, o: &Ranges) -> Ranges {
        self.zip(o, |(a, b), (c, d)| {
            (clamp(a as i128 - d as i128), clamp(b as i128 - c as i128))
        })
    }

    /// Product.
    pub fn mul(&self, o: &Ranges) -> Ranges {
        self.zip(o, |(a, b), (c, d)| {
            let p = [
                a as i128 * c as i128,
                a as i128 * d as i128,
                b as i128 * c as i128,
                b as i128 * d as i128,
            ];
            (
                clamp(*p.iter().min().unwrap()),
                clamp(*p.iter().max().unwrap()),
            )
        })
    }

    /// Floor division (unknown unless the divisor is positive).
    pub fn div(&self, o: &Ranges) -> Ranges {
        self.zip(o, |(a, b), (c, d)| {
            if c <= 0 || a <= -BIG || b >= BIG {
                return (-BIG, BIG);
            }
            let q = [
                a.div_euclid(c),
                a.div_euclid(d),
                b.div_euclid(c),
                b.div_euclid(d),
            ];
            (*q.iter().min().unwrap(), *q.iter().max().unwrap())
        })
    }

    /// Euclidean remainder (unknown unless the divisor is positive).
    pub fn rem(&self, o: &Ranges) -> Ranges {
        self.zip(o, |(a, b), (c, d)| {
            if c <= 0 {
                (-BIG, BIG)
            } else if c == d && a == b && a.abs() < BIG {
                (a.rem_euclid(c), a.rem_euclid(c))
            } else if a >= 0 && b < c {
                (a, b)
            } else {
                (0, d - 1)
            }
        })
    }

    /// The zero-padding guard `0 ≤ self < bound` as 0/1.
    pub fn guard(&self, bound: &Ranges) -> Ranges {
        self.zip(bound, |(a, b), (c, d)| {
            if a >= 0 && b < c {
                (1, 1)
            } else if b < 0 || a >= d {
                (0, 0)
            } else {
                (0, 1)
            }
        })
    }

    /// Whether `0 ≤ self < bound` under every binding.
    pub fn within(&self, bound: &Ranges) -> bool {
        self.0
            .iter()
            .zip(&bound.0)
            .all(|(&(a, b), &(c, _))| a >= 0 && b < c)
    }

    /// Whether the value is ≥ 1 under every binding.
    pub fn positive(&self) -> bool {
        self.0.iter().all(|&(a, _)| a >= 1)
    }
}

/// What the ranges of leaves are: iterator domains and size values under each binding.
#[derive(Debug, Clone)]
pub struct Domains {
    /// The bindings, in the operator's order.
    pub bindings: Vec<Binding>,
    /// Output iterator domains.
    pub outs: Vec<Size>,
    /// Reduction iterator domains.
    pub reds: Vec<Size>,
}

impl Domains {
    /// Number of bindings.
    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    /// Whether there is no binding (then no range fact holds).
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// A size under each binding.
    pub fn size(&self, s: Size) -> Ranges {
        Ranges(
            self.bindings
                .iter()
                .map(|b| match s.eval(b) {
                    Some(v) => (v as i64, v as i64),
                    None => (-BIG, BIG),
                })
                .collect(),
        )
    }

    /// An iterator's range `[0, domain − 1]` under each binding.
    pub fn iter(&self, i: Iter) -> Ranges {
        let s = match i {
            Iter::Out(k) => self.outs.get(k),
            Iter::Red(k) => self.reds.get(k),
        };
        match s {
            Some(&s) => Ranges(
                self.size(s)
                    .0
                    .into_iter()
                    .map(|(_, hi)| (0, hi - 1))
                    .collect(),
            ),
            None => Ranges::top(self.len()),
        }
    }

    /// Range of a whole expression.
    pub fn expr(&self, e: &Expr) -> Ranges {
        match e {
            Expr::Iter(i) => self.iter(*i),
            Expr::Const(c) => Ranges::constant(*c, self.len()),
            Expr::Size(s) => self.size(*s),
            Expr::Add(a, b) => self.expr(a).add(&self.expr(b)),
            Expr::Sub(a, b) => self.expr(a).sub(&self.expr(b)),
            Expr::Mul(a, b) => self.expr(a).mul(&self.expr(b)),
            Expr::Div(a, b) => self.expr(a).div(&self.expr(b)),
            Expr::Mod(a, b) => self.expr(a).rem(&self.expr(b)),
        }
    }
}
