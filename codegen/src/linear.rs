//! Affine index forms, used to split a tiled load's address into a part fixed per load slot
//! (the tile's rows and the block's batch dims, computed once before the reduction loop) and a
//! part fixed per reduction index (tabulated at code-generation time).
//!
//! An operand's flat index is `Σ_a stride_a · e_a(o, r)`. Every axis whose `e_a` is affine
//! (sums, differences, products by constants) adds `stride_a · e_a` to the two parts; an axis
//! that is not (a Shift's `mod`, a Split's `div`) is evaluated at load time from the slot's row
//! iterators and the reduction iterators, which the table then also carries. Guards split the
//! same way; a guard without reduction terms folds into the slot's validity.

use kas_primitives::{Binding, Expr, Iter};
use std::collections::BTreeMap;

/// `c + Σ coef · iter`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lin {
    /// Constant term.
    pub c: i64,
    /// Coefficients of iterators (no zero entries).
    pub terms: BTreeMap<Iter, i64>,
}

impl Lin {
    /// The affine form of `e` under `b`, if it is affine.
    pub fn of(e: &Expr, b: &Binding) -> Option<Lin> {
        Some(match e {
            Expr::Iter(i) => Lin {
                c: 0,
                terms: [(*i, 1)].into_iter().collect(),
            },
            Expr::Const(c) => Lin::constant(*c),
            Expr::Size(s) => Lin::constant(i64::try_from(s.eval(b)?).ok()?),
            Expr::Add(x, y) => Lin::of(x, b)?.plus(&Lin::of(y, b)?, 1)?,
            Expr::Sub(x, y) => Lin::of(x, b)?.plus(&Lin::of(y, b)?, -1)?,
            Expr::Mul(x, y) => {
                let (x, y) = (Lin::of(x, b)?, Lin::of(y, b)?);
                if x.terms.is_empty() {
                    y.scaled(x.c)?
                } else if y.terms.is_empty() {
                    x.scaled(y.c)?
                } else {
                    return None;
                }
            }
            Expr::Div(x, y) | Expr::Mod(x, y) => {
                let (x, y) = (Lin::of(x, b)?, Lin::of(y, b)?);
                if !x.terms.is_empty() || !y.terms.is_empty() || y.c == 0 {
                    return None;
                }
                Lin::constant(if matches!(e, Expr::Div(..)) {
                    x.c.div_euclid(y.c)
                } else {
                    x.c.rem_euclid(y.c)
                })
            }
        })
    }

    /// A constant.
    pub fn constant(c: i64) -> Lin {
        Lin {
            c,
            terms: BTreeMap::new(),
        }
    }

    /// `self + sign · other` (checked).
    pub fn plus(&self, other: &Lin, sign: i64) -> Option<Lin> {
        let mut out = self.clone();
        out.c = out.c.checked_add(other.c.checked_mul(sign)?)?;
        for (&i, &k) in &other.terms {
            let v = out.terms.get(&i).copied().unwrap_or(0) + k.checked_mul(sign)?;
            if v == 0 {
                out.terms.remove(&i);
            } else {
                out.terms.insert(i, v);
            }
        }
        Some(out)
    }

    /// `k · self` (checked).
    pub fn scaled(&self, k: i64) -> Option<Lin> {
        if k == 0 {
            return Some(Lin::default());
        }
        Some(Lin {
            c: self.c.checked_mul(k)?,
            terms: self
                .terms
                .iter()
                .map(|(&i, &v)| Some((i, v.checked_mul(k)?)))
                .collect::<Option<_>>()?,
        })
    }

    /// The output-iterator terms and the constant (the part fixed per load slot).
    pub fn slot_part(&self) -> Lin {
        Lin {
            c: self.c,
            terms: self
                .terms
                .iter()
                .filter(|(i, _)| matches!(i, Iter::Out(_)))
                .map(|(&i, &v)| (i, v))
                .collect(),
        }
    }

    /// The reduction-iterator terms (the part fixed per reduction index).
    pub fn red_part(&self) -> Lin {
        Lin {
            c: 0,
            terms: self
                .terms
                .iter()
                .filter(|(i, _)| matches!(i, Iter::Red(_)))
                .map(|(&i, &v)| (i, v))
                .collect(),
        }
    }

    /// Value for reduction iterators `reds` (output terms must be absent).
    pub fn eval_red(&self, reds: &[i64]) -> i64 {
        self.c
            + self
                .terms
                .iter()
                .map(|(i, v)| match i {
                    Iter::Red(j) => v * reds[*j],
                    Iter::Out(_) => 0,
                })
                .sum::<i64>()
    }

    /// As C over `o<p>` / `r<j>` names.
    pub fn c_text(&self) -> String {
        let mut parts = vec![self.c.to_string()];
        for (i, v) in &self.terms {
            parts.push(format!("{v} * {i}"));
        }
        format!("({})", parts.join(" + "))
    }
}

/// The reduction iterators (as values) of each flat reduction index `0..K`, row-major over
/// `red` (the last fastest).
pub fn red_values(red: &[u64]) -> impl Iterator<Item = Vec<i64>> + '_ {
    let k: u64 = red.iter().product();
    (0..k).map(move |mut kk| {
        let mut v = vec![0i64; red.len()];
        for j in (0..red.len()).rev() {
            v[j] = (kk % red[j]) as i64;
            kk /= red[j];
        }
        v
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn it(i: Iter) -> Box<Expr> {
        Box::new(Expr::Iter(i))
    }

    #[test]
    fn affine_forms_split_and_evaluate() {
        let b = Binding {
            name: "b".into(),
            primary: [0; kas_primitives::size::MAX_VARS],
            coeff: [0; kas_primitives::size::MAX_VARS],
        };
        // (o2 + r1 - 1) * 7 + (o3 + r2 - 1)
        let e = Expr::Add(
            Box::new(Expr::Mul(
                Box::new(Expr::Sub(
                    Box::new(Expr::Add(it(Iter::Out(2)), it(Iter::Red(1)))),
                    Box::new(Expr::Const(1)),
                )),
                Box::new(Expr::Const(7)),
            )),
            Box::new(Expr::Sub(
                Box::new(Expr::Add(it(Iter::Out(3)), it(Iter::Red(2)))),
                Box::new(Expr::Const(1)),
            )),
        );
        let l = Lin::of(&e, &b).unwrap();
        assert_eq!(l.c, -8);
        assert_eq!(l.terms[&Iter::Out(2)], 7);
        assert_eq!(l.terms[&Iter::Red(2)], 1);
        assert_eq!(l.slot_part().terms.len(), 2);
        assert_eq!(l.red_part().eval_red(&[0, 2, 1]), 15);
        // A mod of an iterator is not affine; of constants it folds.
        let m = Expr::Mod(it(Iter::Out(0)), Box::new(Expr::Const(5)));
        assert!(Lin::of(&m, &b).is_none());
        let f = Expr::Mod(Box::new(Expr::Const(-3)), Box::new(Expr::Const(2)));
        assert_eq!(Lin::of(&f, &b).unwrap(), Lin::constant(1));
        // Products of two iterators are not affine.
        assert!(Lin::of(&Expr::Mul(it(Iter::Out(0)), it(Iter::Red(0))), &b).is_none());
        let rv: Vec<Vec<i64>> = red_values(&[2, 3]).collect();
        assert_eq!(rv.len(), 6);
        assert_eq!(rv[4], vec![1, 1]);
    }
}
