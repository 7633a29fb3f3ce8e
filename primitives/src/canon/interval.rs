//! Numeric value ranges under given bindings: one closed interval `[lo, hi]` per binding.
//!
//! Code generation uses this arithmetic for index ranges under the one binding it emits code
//! for. Canonicalization does not: its ranges are symbolic and hold under every valid binding
//! ([`super::bounds`]), so a canonical form never depends on the bindings a file lists.
//! Bounds saturate at `±`[`BIG`] (an unknown value), far beyond any index of a legal operator.

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
