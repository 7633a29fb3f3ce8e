//! Index expressions derived from the primitive DAG.
//!
//! Every tensor axis gets an [`Expr`] over the output iterators `o0, o1, …` and the reduction
//! iterators `r0, r1, …`, obtained by composing the pull semantics of the primitives from the
//! output side up. Unfold contributes a [`Guard`]: the product term is zero unless the guarded
//! expression lies in `[0, bound)`.

use crate::graph::{DimId, Op};
use crate::operator::Operator;
use crate::size::{Binding, Size, VarTable};
use std::fmt;

/// A loop iterator of the operator's loop nest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Iter {
    /// Output iterator (position in [`Operator::outputs`]).
    Out(usize),
    /// Reduction iterator (position in [`Operator::reductions`]).
    Red(usize),
}

impl fmt::Display for Iter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Iter::Out(i) => write!(f, "o{i}"),
            Iter::Red(i) => write!(f, "r{i}"),
        }
    }
}

/// An integer index expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// A loop iterator.
    Iter(Iter),
    /// An integer constant.
    Const(i64),
    /// A symbolic size (a constant under a binding).
    Size(Size),
    /// Sum.
    Add(Box<Expr>, Box<Expr>),
    /// Difference.
    Sub(Box<Expr>, Box<Expr>),
    /// Product.
    Mul(Box<Expr>, Box<Expr>),
    /// Floor division.
    Div(Box<Expr>, Box<Expr>),
    /// Euclidean remainder (always in `[0, divisor)`).
    Mod(Box<Expr>, Box<Expr>),
}

/// A zero-padding condition: the term counts only if `0 ≤ expr < bound`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Guard {
    /// The guarded index.
    pub expr: Expr,
    /// Its exclusive upper bound.
    pub bound: Size,
}

impl Expr {
    fn add(a: Expr, b: Expr) -> Expr {
        match (&a, &b) {
            (Expr::Const(0), _) => b,
            (_, Expr::Const(0)) => a,
            (Expr::Const(x), Expr::Const(y)) if x.checked_add(*y).is_some() => Expr::Const(x + y),
            _ => Expr::Add(Box::new(a), Box::new(b)),
        }
    }

    fn mul(a: Expr, b: Expr) -> Expr {
        match (&a, &b) {
            (Expr::Size(s), _) if s.is_one() => b,
            (_, Expr::Size(s)) if s.is_one() => a,
            _ => Expr::Mul(Box::new(a), Box::new(b)),
        }
    }

    /// Value under a binding for given iterator values. Intermediate results are computed in
    /// `i128`, so a Shift by an extreme offset (`(i + offset) mod N`) does not overflow.
    pub fn eval(&self, b: &Binding, outs: &[i64], reds: &[i64]) -> i64 {
        self.eval_wide(b, outs, reds) as i64
    }

    fn eval_wide(&self, b: &Binding, outs: &[i64], reds: &[i64]) -> i128 {
        let e = |x: &Expr| x.eval_wide(b, outs, reds);
        match self {
            Expr::Iter(Iter::Out(i)) => outs[*i] as i128,
            Expr::Iter(Iter::Red(i)) => reds[*i] as i128,
            Expr::Const(c) => *c as i128,
            Expr::Size(s) => s.eval(b).expect("size is legal under the binding") as i128,
            Expr::Add(x, y) => e(x) + e(y),
            Expr::Sub(x, y) => e(x) - e(y),
            Expr::Mul(x, y) => e(x) * e(y),
            Expr::Div(x, y) => e(x).div_euclid(e(y)),
            Expr::Mod(x, y) => e(x).rem_euclid(e(y)),
        }
    }

    /// The iterators the expression reads.
    pub fn iters(&self, out: &mut Vec<Iter>) {
        match self {
            Expr::Iter(i) => {
                if !out.contains(i) {
                    out.push(*i)
                }
            }
            Expr::Const(_) | Expr::Size(_) => {}
            Expr::Add(x, y)
            | Expr::Sub(x, y)
            | Expr::Mul(x, y)
            | Expr::Div(x, y)
            | Expr::Mod(x, y) => {
                x.iters(out);
                y.iters(out);
            }
        }
    }

    /// The expression with reduction iterator `k` renamed to `new[k]` (other iterators,
    /// constants and sizes unchanged).
    pub fn rename_reductions(&self, new: &[usize]) -> Expr {
        let b = |x: &Expr| Box::new(x.rename_reductions(new));
        match self {
            Expr::Iter(Iter::Red(k)) => Expr::Iter(Iter::Red(new[*k])),
            Expr::Iter(_) | Expr::Const(_) | Expr::Size(_) => self.clone(),
            Expr::Add(x, y) => Expr::Add(b(x), b(y)),
            Expr::Sub(x, y) => Expr::Sub(b(x), b(y)),
            Expr::Mul(x, y) => Expr::Mul(b(x), b(y)),
            Expr::Div(x, y) => Expr::Div(b(x), b(y)),
            Expr::Mod(x, y) => Expr::Mod(b(x), b(y)),
        }
    }

    /// Prints the expression with a naming function for iterators and sizes. Division and
    /// remainder print as `div` / `mod` unless `c_style`, where they print as the macros
    /// `KAS_DIV(a, b)` / `KAS_MOD(a, b)` (floor division, Euclidean remainder).
    pub fn render(
        &self,
        iter_name: &dyn Fn(Iter) -> String,
        size_name: &dyn Fn(Size) -> String,
        c_style: bool,
    ) -> String {
        let r = |e: &Expr| e.render(iter_name, size_name, c_style);
        let atom = |e: &Expr| match e {
            Expr::Iter(_) | Expr::Const(_) => r(e),
            Expr::Size(s) if s.variable_count() <= 1 && s.total_power() <= 1 => r(e),
            _ => format!("({})", r(e)),
        };
        match self {
            Expr::Iter(i) => iter_name(*i),
            Expr::Const(c) => c.to_string(),
            Expr::Size(s) => size_name(*s),
            Expr::Add(x, y) => match **y {
                Expr::Const(c) if c < 0 => format!("{} - {}", r(x), -c),
                _ => format!("{} + {}", r(x), r(y)),
            },
            Expr::Sub(x, y) => format!("{} - {}", r(x), atom(y)),
            Expr::Mul(x, y) => format!("{}*{}", atom(x), atom(y)),
            Expr::Div(x, y) if c_style => format!("KAS_DIV({}, {})", r(x), r(y)),
            Expr::Mod(x, y) if c_style => format!("KAS_MOD({}, {})", r(x), r(y)),
            Expr::Div(x, y) => format!("{} div {}", atom(x), atom(y)),
            Expr::Mod(x, y) => format!("{} mod {}", atom(x), atom(y)),
        }
    }

    /// Prints with iterator names `o0`/`r0` and symbolic sizes.
    pub fn display(&self, vars: &VarTable) -> String {
        self.render(&|i| i.to_string(), &|s| s.display(vars), false)
    }
}

/// The derived loop nest of an operator: one index expression per tensor axis, the
/// zero-padding guards, and the iterator domains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accesses {
    /// Domain of each output iterator.
    pub out_sizes: Vec<Size>,
    /// Domain of each reduction iterator.
    pub red_sizes: Vec<Size>,
    /// For each tensor (0 = input, `1..` = weights), the index expression of each axis.
    pub tensors: Vec<Vec<Expr>>,
    /// Zero-padding guards, one per Unfold, in step order.
    pub guards: Vec<Guard>,
}

impl Accesses {
    /// Derives the loop nest of a (validated) operator.
    pub fn of(op: &Operator) -> Accesses {
        let reds = op.reductions();
        let mut seeds: Vec<(DimId, Expr)> = op
            .outputs
            .iter()
            .enumerate()
            .map(|(i, &d)| (d, Expr::Iter(Iter::Out(i))))
            .collect();
        seeds.extend(
            reds.iter()
                .enumerate()
                .map(|(i, &d)| (d, Expr::Iter(Iter::Red(i)))),
        );
        let all: Vec<usize> = (0..op.ops.len()).collect();
        let (e, guards) = pull(op, &seeds, &all);
        let get = |d: DimId| -> Expr {
            e[d.index()]
                .clone()
                .expect("every tensor axis is reached from the outputs and reductions")
        };
        let tensors = (0..op.tensor_count())
            .map(|t| op.tensor_axes(t).iter().map(|&d| get(d)).collect())
            .collect();
        Accesses {
            out_sizes: op.output_shape(),
            red_sizes: reds.iter().map(|&d| op.size(d)).collect(),
            tensors,
            guards,
        }
    }

    /// One line per tensor, e.g. `in[o0, r0, o2 + r1 - k div 2, …]`, then the guards.
    pub fn display(&self, vars: &VarTable) -> String {
        let mut s = String::new();
        for (t, idx) in self.tensors.iter().enumerate() {
            let name = if t == 0 {
                "in".to_string()
            } else {
                format!("w{t}")
            };
            let parts: Vec<String> = idx.iter().map(|x| x.display(vars)).collect();
            s.push_str(&format!("{name}[{}]\n", parts.join(", ")));
        }
        for g in &self.guards {
            s.push_str(&format!(
                "guard 0 <= {} < {}\n",
                g.expr.display(vars),
                g.bound.display(vars)
            ));
        }
        s
    }
}

/// Pull semantics over a subset of steps: starting from expressions for some dims (`seeds`),
/// walks `steps` (indices into [`Operator::ops`], any order; they are visited from the output
/// side up) and derives an expression for every dim they read. Returns the expression of each
/// dim (`None` where not reached) and the zero-padding guards of the Unfolds among `steps`, in
/// step order.
///
/// A step whose output-side dims have no expression yet is skipped; with `steps` closed under
/// "produces a dim read by a later step of the set" this never happens.
pub fn pull(
    op: &Operator,
    seeds: &[(DimId, Expr)],
    steps: &[usize],
) -> (Vec<Option<Expr>>, Vec<Guard>) {
    let mut e: Vec<Option<Expr>> = vec![None; op.dims.len()];
    for (d, x) in seeds {
        e[d.index()] = Some(x.clone());
    }
    let mut order = steps.to_vec();
    order.sort_unstable();
    order.dedup();
    let mut guards = Vec::new();
    for &k in order.iter().rev() {
        let known = |d: DimId| e[d.index()].clone();
        match op.ops[k] {
            Op::Split {
                input,
                outer,
                inner,
            } => {
                if let (Some(o), Some(i)) = (known(outer), known(inner)) {
                    let v = Expr::add(Expr::mul(o, Expr::Size(op.size(inner))), i);
                    e[input.index()] = Some(v);
                }
            }
            Op::Merge {
                outer,
                inner,
                output,
            } => {
                if let Some(i) = known(output) {
                    let b = Expr::Size(op.size(inner));
                    e[outer.index()] = Some(Expr::Div(Box::new(i.clone()), Box::new(b.clone())));
                    e[inner.index()] = Some(Expr::Mod(Box::new(i), Box::new(b)));
                }
            }
            Op::Shift {
                input,
                output,
                offset,
            } => {
                if let Some(i) = known(output) {
                    e[input.index()] = Some(Expr::Mod(
                        Box::new(Expr::add(i, Expr::Const(offset))),
                        Box::new(Expr::Size(op.size(input))),
                    ));
                }
            }
            Op::Stride {
                input,
                output,
                stride,
            } => {
                if let Some(i) = known(output) {
                    e[input.index()] = Some(Expr::mul(Expr::Size(stride), i));
                }
            }
            Op::Unfold {
                input,
                main,
                window,
            } => {
                if let (Some(m), Some(w)) = (known(main), known(window)) {
                    let half = Expr::Div(
                        Box::new(Expr::Size(op.size(window))),
                        Box::new(Expr::Const(2)),
                    );
                    let v = Expr::Sub(Box::new(Expr::add(m, w)), Box::new(half));
                    guards.push(Guard {
                        expr: v.clone(),
                        bound: op.size(input),
                    });
                    e[input.index()] = Some(v);
                }
            }
            Op::Expand { .. } | Op::Reduce { .. } => {}
            Op::Share {
                data,
                weight,
                output,
            } => {
                if let Some(v) = known(output) {
                    e[data.index()] = Some(v.clone());
                    e[weight.index()] = Some(v);
                }
            }
        }
    }
    // Guards were collected from the output side up.
    guards.reverse();
    (e, guards)
}
