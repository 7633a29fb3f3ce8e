//! The index-expression language of the e-graph, and conversions from and to [`Expr`].
//!
//! Terms are `(+ a b)`, `(- a b)`, `(* a b)`, `(div a b)`, `(mod a b)` (floor division and
//! Euclidean remainder, as in [`Expr`]), `(guard e n)` (1 if `0 ≤ e < n`, else 0: the Unfold
//! zero-padding condition), integer constants, and leaves: output iterators `o3`, reduction
//! iterators `r1`, and symbolic sizes written `$` followed by the 16 exponents of the size
//! (primary then coefficient variables), e.g. `$0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0`. Shift's
//! modular offset is `(mod (+ e c) n)`.

use crate::expr::{Expr, Iter};
use crate::size::{MAX_VARS, Size, VarKind};
use egg::{Id, RecExpr, define_language};
use std::fmt;
use std::str::FromStr;

/// An atom (leaf term) of an index expression: an iterator or a symbolic size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom {
    /// A loop iterator.
    Iter(Iter),
    /// A symbolic size (a constant under each binding).
    Size(Size),
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::Iter(i) => write!(f, "{i}"),
            Atom::Size(s) => {
                let e: Vec<String> = s
                    .primary_exponents()
                    .iter()
                    .chain(s.coefficient_exponents())
                    .map(|x| x.to_string())
                    .collect();
                write!(f, "${}", e.join("."))
            }
        }
    }
}

impl FromStr for Atom {
    type Err = String;

    fn from_str(s: &str) -> Result<Atom, String> {
        let bad = || format!("not an atom: `{s}`");
        if let Some(rest) = s.strip_prefix('$') {
            let e: Vec<i8> = rest
                .split('.')
                .map(|x| x.parse::<i8>().map_err(|_| bad()))
                .collect::<Result<_, _>>()?;
            if e.len() != 2 * MAX_VARS {
                return Err(bad());
            }
            let mut size = Size::ONE;
            for (k, &x) in e.iter().enumerate() {
                let (kind, i) = if k < MAX_VARS {
                    (VarKind::Primary, k)
                } else {
                    (VarKind::Coefficient, k - MAX_VARS)
                };
                for _ in 0..x.unsigned_abs() {
                    let v = Size::var(kind, i);
                    size = if x > 0 {
                        size.checked_mul(v)
                    } else {
                        size.checked_div(v)
                    }
                    .ok_or_else(bad)?;
                }
            }
            return Ok(Atom::Size(size));
        }
        let (kind, num) = s.split_at(1.min(s.len()));
        let i: usize = num.parse().map_err(|_| bad())?;
        match kind {
            "o" => Ok(Atom::Iter(Iter::Out(i))),
            "r" => Ok(Atom::Iter(Iter::Red(i))),
            _ => Err(bad()),
        }
    }
}

define_language! {
    /// The e-graph language of index expressions (variants: `+ - * div mod guard`, an
    /// integer constant, a [`Atom`]).
    #[allow(missing_docs)]
    pub enum Ix {
        "+" = Add([Id; 2]),
        "-" = Sub([Id; 2]),
        "*" = Mul([Id; 2]),
        "div" = Div([Id; 2]),
        "mod" = Mod([Id; 2]),
        "guard" = Guard([Id; 2]),
        Num(i64),
        Atom(Atom),
    }
}

/// Appends `e` to `rec`, returning its id.
pub fn push_expr(rec: &mut RecExpr<Ix>, e: &Expr) -> Id {
    let node = match e {
        Expr::Iter(i) => Ix::Atom(Atom::Iter(*i)),
        Expr::Const(c) => Ix::Num(*c),
        Expr::Size(s) => Ix::Atom(Atom::Size(*s)),
        Expr::Add(a, b) => Ix::Add([push_expr(rec, a), push_expr(rec, b)]),
        Expr::Sub(a, b) => Ix::Sub([push_expr(rec, a), push_expr(rec, b)]),
        Expr::Mul(a, b) => Ix::Mul([push_expr(rec, a), push_expr(rec, b)]),
        Expr::Div(a, b) => Ix::Div([push_expr(rec, a), push_expr(rec, b)]),
        Expr::Mod(a, b) => Ix::Mod([push_expr(rec, a), push_expr(rec, b)]),
    };
    rec.add(node)
}

/// The term `(guard e bound)`.
pub fn guard_term(e: &Expr, bound: Size) -> RecExpr<Ix> {
    let mut rec = RecExpr::default();
    let a = push_expr(&mut rec, e);
    let b = rec.add(Ix::Atom(Atom::Size(bound)));
    rec.add(Ix::Guard([a, b]));
    rec
}

/// A term as an [`Expr`]; `None` if it contains a `guard` below its root.
pub fn to_expr(rec: &RecExpr<Ix>, id: Id) -> Option<Expr> {
    let b = |i: Id| to_expr(rec, i).map(Box::new);
    Some(match &rec[id] {
        Ix::Num(c) => Expr::Const(*c),
        Ix::Atom(Atom::Iter(i)) => Expr::Iter(*i),
        Ix::Atom(Atom::Size(s)) => Expr::Size(*s),
        Ix::Add([x, y]) => Expr::Add(b(*x)?, b(*y)?),
        Ix::Sub([x, y]) => Expr::Sub(b(*x)?, b(*y)?),
        Ix::Mul([x, y]) => Expr::Mul(b(*x)?, b(*y)?),
        Ix::Div([x, y]) => Expr::Div(b(*x)?, b(*y)?),
        Ix::Mod([x, y]) => Expr::Mod(b(*x)?, b(*y)?),
        Ix::Guard(_) => return None,
    })
}

/// The root id of a non-empty term.
pub fn root(rec: &RecExpr<Ix>) -> Id {
    Id::from(rec.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_round_trip() {
        let s = Size::var(VarKind::Primary, 1).checked_div(Size::var(VarKind::Coefficient, 2));
        for leaf in [
            Atom::Iter(Iter::Out(3)),
            Atom::Iter(Iter::Red(12)),
            Atom::Size(s.unwrap()),
            Atom::Size(Size::ONE),
        ] {
            assert_eq!(leaf.to_string().parse::<Atom>(), Ok(leaf));
        }
        assert!("x3".parse::<Atom>().is_err());
        assert!("$1.2".parse::<Atom>().is_err());
    }

    #[test]
    fn expressions_round_trip() {
        let e = Expr::Mod(
            Box::new(Expr::Add(
                Box::new(Expr::Iter(Iter::Out(0))),
                Box::new(Expr::Const(-2)),
            )),
            Box::new(Expr::Size(Size::var(VarKind::Primary, 0))),
        );
        let mut rec = RecExpr::default();
        let id = push_expr(&mut rec, &e);
        assert_eq!(to_expr(&rec, id), Some(e.clone()));
        let text = rec.to_string();
        let back: RecExpr<Ix> = text.parse().unwrap();
        assert_eq!(to_expr(&back, root(&back)), Some(e));
    }
}
