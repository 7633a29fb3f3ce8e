//! Sizes and index expressions as C expressions over `long` values.
//!
//! Precedence levels: 1 for `+`/`-`, 2 for `*`, 3 for atoms (names, non-negative constants,
//! macro calls). A sub-expression is parenthesized when its level is below what its position
//! needs. A size with a denominator, such as `C_out/(s*g)`, is computed as the product of its
//! numerator factors divided by the product of its denominator factors (exact, since the size
//! is legal), and counts as level 1 so that it is parenthesized inside a product.

use crate::expr::{Expr, Iter};
use crate::size::{MAX_VARS, Size};

/// C names of the variables, iterators and already-computed sub-expressions.
#[derive(Debug, Clone, Default)]
pub(crate) struct CNames {
    /// Parameter name of each primary variable.
    pub primary: Vec<String>,
    /// Parameter name of each coefficient variable.
    pub coefficient: Vec<String>,
    /// Loop variable of each output iterator.
    pub outs: Vec<String>,
    /// Loop variable of each reduction iterator.
    pub reds: Vec<String>,
    /// Sub-expressions held in local variables (printed as the variable's name).
    pub locals: Vec<(Expr, String)>,
}

fn wrap(s: String, level: u8, min: u8) -> String {
    if level < min { format!("({s})") } else { s }
}

impl CNames {
    /// The C name of an iterator.
    pub(crate) fn iter(&self, i: Iter) -> &str {
        match i {
            Iter::Out(k) => &self.outs[k],
            Iter::Red(k) => &self.reds[k],
        }
    }

    /// A size as a C expression, parenthesized if its level is below `min`.
    pub(crate) fn size(&self, s: Size, min: u8) -> String {
        let mut num = Vec::new();
        let mut den = Vec::new();
        let fams = [
            (s.primary_exponents(), &self.primary),
            (s.coefficient_exponents(), &self.coefficient),
        ];
        for (exps, names) in fams {
            for (i, &e) in exps.iter().enumerate().take(MAX_VARS) {
                let name = names.get(i).map(String::as_str).unwrap_or("?");
                let side = if e > 0 { &mut num } else { &mut den };
                for _ in 0..e.unsigned_abs() {
                    side.push(name);
                }
            }
        }
        let num_text = if num.is_empty() {
            "1".to_string()
        } else {
            num.join("*")
        };
        match den.len() {
            0 => {
                let level = if num.len() > 1 { 2 } else { 3 };
                wrap(num_text, level, min)
            }
            1 => wrap(format!("{num_text}/{}", den[0]), 1, min),
            _ => wrap(format!("{num_text}/({})", den.join("*")), 1, min),
        }
    }

    /// An index expression as C, parenthesized if its level is below `min`.
    pub(crate) fn expr(&self, e: &Expr, min: u8) -> String {
        if let Some((_, name)) = self.locals.iter().find(|(x, _)| x == e) {
            return name.clone();
        }
        match e {
            Expr::Iter(i) => self.iter(*i).to_string(),
            Expr::Const(c) if *c >= 0 => c.to_string(),
            Expr::Const(c) => wrap(c.to_string(), 0, min),
            Expr::Size(s) => self.size(*s, min),
            Expr::Add(x, y) => {
                let text = match **y {
                    Expr::Const(c) if c < 0 => format!("{} - {}", self.expr(x, 1), -(c as i128)),
                    _ => format!("{} + {}", self.expr(x, 1), self.expr(y, 1)),
                };
                wrap(text, 1, min)
            }
            Expr::Sub(x, y) => wrap(format!("{} - {}", self.expr(x, 1), self.expr(y, 2)), 1, min),
            Expr::Mul(x, y) => wrap(format!("{}*{}", self.expr(x, 2), self.expr(y, 3)), 2, min),
            Expr::Div(x, y) => format!("KAS_DIV({}, {})", self.expr(x, 0), self.expr(y, 0)),
            Expr::Mod(x, y) => format!("KAS_MOD({}, {})", self.expr(x, 0), self.expr(y, 0)),
        }
    }

    /// The row-major flat offset of a multi-index into a tensor of the given shape, in Horner
    /// form: `((i0*S1 + i1)*S2 + i2)…`.
    pub(crate) fn offset(&self, index: &[Expr], shape: &[Size]) -> String {
        let n = index.len();
        let Some(first) = index.first() else {
            return "0".to_string();
        };
        let mut acc = self.expr(first, if n > 1 { 2 } else { 0 });
        for a in 1..n {
            let head = if a > 1 { format!("({acc})") } else { acc };
            acc = format!(
                "{head}*{} + {}",
                self.size(shape[a], 3),
                self.expr(&index[a], 1)
            );
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::size::VarTable;

    fn names() -> (VarTable, CNames) {
        let vars = VarTable::from_specs(&["C_out", "H"], &["s=2", "g=4", "k=3"]).unwrap();
        let n = CNames {
            primary: vec!["C_out".into(), "H".into()],
            coefficient: vec!["s".into(), "g".into(), "k".into()],
            outs: vec!["co".into(), "h".into()],
            reds: vec!["kh".into()],
            locals: vec![],
        };
        (vars, n)
    }

    #[test]
    fn sizes() {
        let (v, n) = names();
        let s = |t: &str| v.size(t).unwrap();
        assert_eq!(n.size(s("C_out/(s*g)"), 0), "C_out/(s*g)");
        assert_eq!(n.size(s("C_out/(s*g)"), 2), "(C_out/(s*g))");
        assert_eq!(n.size(s("H*k^2/s"), 1), "H*k*k/s");
        assert_eq!(n.size(s("H*k"), 2), "H*k");
        assert_eq!(n.size(s("H*k"), 3), "(H*k)");
        assert_eq!(n.size(Size::ONE, 3), "1");
    }

    #[test]
    fn exprs_and_offsets() {
        let (v, mut n) = names();
        let o = |i| Box::new(Expr::Iter(Iter::Out(i)));
        let k = Box::new(Expr::Size(v.size("k").unwrap()));
        let half = Box::new(Expr::Div(k, Box::new(Expr::Const(2))));
        let pad = Expr::Sub(
            Box::new(Expr::Add(o(1), Box::new(Expr::Iter(Iter::Red(0))))),
            half,
        );
        assert_eq!(n.expr(&pad, 0), "h + kh - KAS_DIV(k, 2)");
        let shift = Expr::Mod(
            Box::new(Expr::Add(o(0), Box::new(Expr::Const(-1)))),
            Box::new(Expr::Size(v.size("C_out/(s*g)").unwrap())),
        );
        assert_eq!(n.expr(&shift, 3), "KAS_MOD(co - 1, C_out/(s*g))");
        let shape = [v.size("C_out").unwrap(), v.size("H*k").unwrap()];
        assert_eq!(
            n.offset(&[pad.clone(), *o(1)], &shape),
            "(h + kh - KAS_DIV(k, 2))*(H*k) + h"
        );
        n.locals.push((pad.clone(), "x1".into()));
        assert_eq!(n.offset(&[*o(0), pad], &shape), "co*(H*k) + x1");
    }
}
