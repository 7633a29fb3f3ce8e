//! Index expressions as C: every size a literal under the binding, constant subtrees folded,
//! Shift offsets reduced modulo their extent and, given the ranges of the kernel's iterators
//! ([`IterRanges`]), each floor division and remainder as cheap as its dividend's range allows.
//! The range arithmetic is the one of [`kas_primitives::canon::interval`].

use kas_primitives::canon::interval::{Interval, Ranges};
use kas_primitives::{Binding, Expr, Iter};

/// An index expression as C with every size a literal under `b`, constant subtrees folded and
/// Shift offsets reduced modulo their extent.
pub fn c_expr(e: &Expr, b: &Binding) -> String {
    c_expr_in(e, b, &IterRanges::default())
}

/// The ranges of a kernel's iterators: `o<i>` in `0..out[i]`, `r<j>` in `0..red[j]`.
#[derive(Debug, Clone, Default)]
pub struct IterRanges {
    /// Extents of the output iterators.
    pub out: Vec<u64>,
    /// Extents of the reduction iterators.
    pub red: Vec<u64>,
}

impl IterRanges {
    /// The closed interval of `e`'s values, when every iterator it reads has a non-empty
    /// range, every size it reads has a value and every divisor folds to a positive constant.
    /// Bounds saturate at `±`[`kas_primitives::canon::interval::BIG`].
    pub fn interval(&self, e: &Expr, b: &Binding) -> Option<Interval> {
        Some(self.ranges(e, b)?.0[0])
    }

    /// `e`'s range under the one binding `b`, by the interval arithmetic of
    /// [`kas_primitives::canon::interval::Ranges`], with one refinement: the remainder of a
    /// dividend that stays within one period is the dividend shifted by whole periods.
    fn ranges(&self, e: &Expr, b: &Binding) -> Option<Ranges> {
        let extent = |n: Option<&u64>| {
            let n = i64::try_from(*n?).ok()?;
            (n > 0).then(|| Ranges(vec![(0, n - 1)]))
        };
        let divisor = |y: &Expr| fold(y, b).filter(|&n| n > 0);
        Some(match e {
            Expr::Iter(Iter::Out(i)) => extent(self.out.get(*i))?,
            Expr::Iter(Iter::Red(j)) => extent(self.red.get(*j))?,
            Expr::Const(c) => Ranges::constant(*c, 1),
            Expr::Size(s) => Ranges::constant(i64::try_from(s.eval(b)?).ok()?, 1),
            Expr::Add(x, y) => self.ranges(x, b)?.add(&self.ranges(y, b)?),
            Expr::Sub(x, y) => self.ranges(x, b)?.sub(&self.ranges(y, b)?),
            Expr::Mul(x, y) => self.ranges(x, b)?.mul(&self.ranges(y, b)?),
            Expr::Div(x, y) => {
                let n = divisor(y)?;
                self.ranges(x, b)?.div(&Ranges::constant(n, 1))
            }
            Expr::Mod(x, y) => {
                let n = divisor(y)?;
                let a = self.ranges(x, b)?;
                let (lo, hi) = a.0[0];
                if lo.div_euclid(n) == hi.div_euclid(n) {
                    Ranges(vec![(lo.rem_euclid(n), hi.rem_euclid(n))])
                } else {
                    a.rem(&Ranges::constant(n, 1))
                }
            }
        })
    }
}

/// Like [`c_expr`], with the iterators' ranges: a floor division or remainder whose
/// dividend is known non-negative becomes C's `/` or `%`, and a remainder whose dividend
/// spans less than two periods a compare and subtract (or add).
pub fn c_expr_in(e: &Expr, b: &Binding, ranges: &IterRanges) -> String {
    if let Some(v) = fold(e, b) {
        return v.to_string();
    }
    let r = |x: &Expr| c_expr_in(x, b, ranges);
    match e {
        Expr::Iter(Iter::Out(i)) => format!("o{i}"),
        Expr::Iter(Iter::Red(j)) => format!("r{j}"),
        Expr::Const(c) => c.to_string(),
        Expr::Size(s) => s.eval(b).unwrap_or(0).to_string(),
        Expr::Add(x, y) => format!("({} + {})", r(x), r(y)),
        Expr::Sub(x, y) => format!("({} - {})", r(x), r(y)),
        Expr::Mul(x, y) => format!("({} * {})", r(x), r(y)),
        Expr::Div(x, y) => match (ranges.interval(x, b), fold(y, b)) {
            (Some((lo, _)), Some(n)) if lo >= 0 && n > 0 => format!("({} / {n})", r(x)),
            _ => format!("KAS_DIV({}, {})", r(x), r(y)),
        },
        Expr::Mod(x, y) => {
            let n = fold(y, b).filter(|&n| n > 0);
            // (i + c) mod n with a constant c: reduce c first so i + c stays small.
            let (text, dividend) = match (&**x, n) {
                (Expr::Add(i, c), Some(n)) if fold(c, b).is_some() => {
                    let c = fold(c, b).unwrap_or(0).rem_euclid(n);
                    let reduced = Expr::Add(i.clone(), Box::new(Expr::Const(c)));
                    (format!("({} + {c})", r(i)), reduced)
                }
                _ => (r(x), (**x).clone()),
            };
            let Some(n) = n else {
                return format!("KAS_MOD({text}, {})", r(y));
            };
            let n128 = n as i128;
            let range = ranges.interval(&dividend, b);
            match range.map(|(lo, hi)| (lo as i128, hi as i128)) {
                Some((lo, hi)) if lo >= 0 && hi < n128 => text,
                Some((lo, hi)) if lo >= 0 && hi < 2 * n128 => {
                    format!("({text} >= {n} ? {text} - {n} : {text})")
                }
                Some((lo, hi)) if lo >= -n128 && hi < n128 => {
                    format!("({text} < 0 ? {text} + {n} : {text})")
                }
                Some((lo, _)) if lo >= 0 => format!("({text} % {n})"),
                _ => format!("KAS_MOD({text}, {n})"),
            }
        }
    }
}

/// The value of an iterator-free expression, if it fits in an `i64`.
fn fold(e: &Expr, b: &Binding) -> Option<i64> {
    let v: i128 = match e {
        Expr::Iter(_) => return None,
        Expr::Const(c) => *c as i128,
        Expr::Size(s) => s.eval(b)? as i128,
        Expr::Add(x, y) => fold(x, b)? as i128 + fold(y, b)? as i128,
        Expr::Sub(x, y) => fold(x, b)? as i128 - fold(y, b)? as i128,
        Expr::Mul(x, y) => fold(x, b)? as i128 * fold(y, b)? as i128,
        Expr::Div(x, y) => {
            let d = fold(y, b)? as i128;
            if d == 0 {
                return None;
            }
            (fold(x, b)? as i128).div_euclid(d)
        }
        Expr::Mod(x, y) => {
            let d = fold(y, b)? as i128;
            if d == 0 {
                return None;
            }
            (fold(x, b)? as i128).rem_euclid(d)
        }
    };
    i64::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kas_primitives::size::MAX_VARS;

    fn it(i: Iter) -> Box<Expr> {
        Box::new(Expr::Iter(i))
    }

    #[test]
    fn ranges_make_remainders_and_divisions_cheap_only_when_safe() {
        let b = Binding {
            name: "b".into(),
            primary: [0; MAX_VARS],
            coeff: [0; MAX_VARS],
        };
        let ranges = IterRanges {
            out: vec![5],
            red: vec![3],
        };
        let c = |x: i64| Box::new(Expr::Const(x));
        // (o0 + r0 - 1 + 1) mod 5: o0 + r0 in [0, 6]: a compare and subtract.
        let shift = Expr::Mod(
            Box::new(Expr::Add(
                Box::new(Expr::Sub(
                    Box::new(Expr::Add(it(Iter::Out(0)), it(Iter::Red(0)))),
                    c(1),
                )),
                c(1),
            )),
            c(5),
        );
        let t = c_expr_in(&shift, &b, &ranges);
        assert!(t.contains(">= 5 ?") && !t.contains("KAS_MOD"), "{t}");
        // Without ranges it stays the Euclidean macro.
        assert!(c_expr(&shift, &b).contains("KAS_MOD"));
        // (o0 - 3) mod 5 may be negative (down to -3): add instead.
        let neg = Expr::Mod(Box::new(Expr::Sub(it(Iter::Out(0)), c(3))), c(5));
        let t = c_expr_in(&neg, &b, &ranges);
        assert!(t.contains("< 0 ?"), "{t}");
        // o0 div 2 with o0 >= 0: plain division; (o0 - 3) div 2: the floor macro.
        let d = Expr::Div(it(Iter::Out(0)), c(2));
        assert_eq!(c_expr_in(&d, &b, &ranges), "(o0 / 2)");
        let d = Expr::Div(Box::new(Expr::Sub(it(Iter::Out(0)), c(3))), c(2));
        assert!(c_expr_in(&d, &b, &ranges).contains("KAS_DIV"));
        // Every rendering evaluates like the expression, over the whole range.
        for e in [&shift, &neg] {
            let (lo, hi) = ranges.interval(e, &b).unwrap();
            for o in 0..5 {
                for r in 0..3 {
                    let v = e.eval(&b, &[o], &[r]);
                    assert!(lo <= v && v <= hi);
                }
            }
        }
    }
}
