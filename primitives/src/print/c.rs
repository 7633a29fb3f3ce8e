//! The forward loop nest of an operator as compilable C99.

use super::c_expr::CNames;
use super::names::{Names, c_function_name};
use crate::expr::{Accesses, Expr, Iter};
use crate::graph::Op;
use crate::operator::Operator;
use std::collections::HashSet;
use std::fmt::Write as _;

/// The floor-division and Euclidean-remainder macros the printed code uses (for `b > 0`).
const MACROS: &str = "\
#ifndef KAS_DIV
/* Floor division (rounds toward minus infinity), for b > 0. */
#define KAS_DIV(a, b) ((a) / (b) - ((a) % (b) < 0))
#endif
#ifndef KAS_MOD
/* Euclidean remainder, in [0, b) for b > 0 (also when a < 0). */
#define KAS_MOD(a, b) ((a) % (b) + ((a) % (b) < 0 ? (b) : 0))
#endif
";

const INDENT: &str = "    ";

/// Name of tensor `t` in printed code: `in`, `w1`, `w2`, … (`out` is the output).
pub(crate) fn tensor_name(t: usize) -> String {
    if t == 0 {
        "in".to_string()
    } else {
        format!("w{t}")
    }
}

/// Prints the forward loop nest of `op` as a C99 function named `name` (made a valid C
/// identifier if it is not one).
///
/// The function takes one `long` per variable of `op.vars` (primary, then coefficient, named as
/// the variable where that is a usable C identifier), then the input, each weight and the
/// output as dense row-major `double` arrays:
///
/// ```c
/// void name(long N, long C_in, ..., const double *in, const double *w1, double *out);
/// ```
///
/// It loops over the output iterators, then the reduction iterators, checks every Unfold guard
/// before reading a tensor (a failing guard skips the term: zero padding), accumulates the
/// product of the tensors in a `double` and stores it into `out`. Sizes are written
/// symbolically in terms of the `long` parameters. The text starts with the `KAS_DIV` /
/// `KAS_MOD` macros (floor division, Euclidean remainder) and a comment with the shapes and
/// index formulas.
pub fn loop_nest_c(op: &Operator, name: &str) -> String {
    let acc = Accesses::of(op);
    let p = Printer::new(op, &acc, name);
    let mut s = String::new();
    s.push_str(MACROS);
    s.push('\n');
    s.push_str(&p.header());
    s.push_str(&p.function());
    s
}

/// Everything needed to print one operator.
struct Printer<'a> {
    op: &'a Operator,
    acc: &'a Accesses,
    function: String,
    c: CNames,
    /// Local variable holding each guarded index, in the order they are computed, with the
    /// guard's position in `acc.guards`.
    guard_locals: Vec<(usize, String)>,
    sum: String,
}

impl<'a> Printer<'a> {
    fn new(op: &'a Operator, acc: &'a Accesses, name: &str) -> Printer<'a> {
        let mut names = Names::default();
        for t in 0..op.tensor_count() {
            names.claim(&tensor_name(t), &tensor_name(t));
        }
        names.claim("out", "out");
        let function = c_function_name(name);
        let function = names.claim(&function, &format!("kas_{function}"));
        let mut c = CNames {
            primary: (op.vars.primary.iter().enumerate())
                .map(|(i, v)| names.claim(&v.name, &format!("P{i}")))
                .collect(),
            coefficient: (op.vars.coefficient.iter().enumerate())
                .map(|(i, v)| names.claim(&v.name, &format!("K{i}")))
                .collect(),
            ..CNames::default()
        };
        c.outs = (op.outputs.iter().enumerate())
            .map(|(i, &d)| names.claim(&op.dim(d).name, &format!("o{i}")))
            .collect();
        c.reds = (op.reductions().iter().enumerate())
            .map(|(i, &d)| names.claim(&op.dim(d).name, &format!("r{i}")))
            .collect();
        // One guard per Unfold, in step order; name each after the Unfold's input dim.
        let unfold_inputs: Vec<String> = (op.ops.iter())
            .filter_map(|s| match s {
                Op::Unfold { input, .. } => Some(op.dim(*input).name.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            unfold_inputs.len(),
            acc.guards.len(),
            "one guard per Unfold"
        );
        // Step order, except that a guard whose index contains another guard's index comes
        // after it (so that it can use that guard's local).
        let mut order: Vec<usize> = (0..acc.guards.len()).collect();
        let nested = |g: usize| {
            (acc.guards.iter().enumerate())
                .filter(|&(h, other)| h != g && contains(&acc.guards[g].expr, &other.expr))
                .count()
        };
        order.sort_by_key(|&g| nested(g));
        let guard_locals = (order.into_iter())
            .map(|g| (g, names.claim(&unfold_inputs[g], &format!("g{g}"))))
            .collect();
        let sum = names.claim("acc", "acc");
        Printer {
            op,
            acc,
            function,
            c,
            guard_locals,
            sum,
        }
    }

    /// An expression in the header comment: loop names, `div` / `mod`, symbolic sizes.
    fn math(&self, e: &Expr) -> String {
        let text = e.render(
            &|i: Iter| self.c.iter(i).to_string(),
            &|s| s.display(&self.op.vars),
            false,
        );
        text.replace("*/", "* /")
    }

    fn shape(&self, sizes: &[crate::size::Size]) -> String {
        let parts: Vec<String> = sizes.iter().map(|s| s.display(&self.op.vars)).collect();
        format!("[{}]", parts.join(", "))
    }

    fn header(&self) -> String {
        let op = self.op;
        let mut h = String::new();
        let _ = writeln!(
            h,
            "/*\n * {}: forward loop nest of a kas operator (printed by kas-primitives).\n *",
            self.function
        );
        let outs = self.c.outs.join(", ");
        let mut formula = format!(" *   out[{outs}] = ");
        if !self.c.reds.is_empty() {
            let _ = write!(formula, "sum over {} of ", self.c.reds.join(", "));
        }
        let factors: Vec<String> = (0..op.tensor_count())
            .map(|t| format!("{}[..]", tensor_name(t)))
            .collect();
        let _ = writeln!(h, "{formula}{}", factors.join(" * "));
        if !self.acc.guards.is_empty() {
            let _ = writeln!(
                h,
                " *   (a term is zero when an Unfold index leaves its range: zero padding)"
            );
        }
        let _ = writeln!(h, " *\n * Shapes (dense, row-major):");
        for t in 0..op.tensor_count() {
            let _ = writeln!(
                h,
                " *   {:<4} {}",
                tensor_name(t),
                self.shape(&op.tensor_shape(t))
            );
        }
        let _ = writeln!(h, " *   {:<4} {}", "out", self.shape(&op.output_shape()));
        let loops = |names: &[String], sizes: &[crate::size::Size]| -> String {
            let parts: Vec<String> = (names.iter().zip(sizes))
                .map(|(n, s)| format!("{n} < {}", s.display(&op.vars)))
                .collect();
            parts.join(", ")
        };
        let _ = writeln!(
            h,
            " * Output loops: {}",
            loops(&self.c.outs, &self.acc.out_sizes)
        );
        if !self.c.reds.is_empty() {
            let _ = writeln!(
                h,
                " * Reduction loops: {}",
                loops(&self.c.reds, &self.acc.red_sizes)
            );
        }
        let _ = writeln!(h, " * Indices:");
        for (t, idx) in self.acc.tensors.iter().enumerate() {
            let parts: Vec<String> = idx.iter().map(|e| self.math(e)).collect();
            let _ = writeln!(h, " *   {}[{}]", tensor_name(t), parts.join(", "));
        }
        for g in &self.acc.guards {
            let _ = writeln!(
                h,
                " * Guard: 0 <= {} < {}",
                self.math(&g.expr),
                g.bound.display(&op.vars)
            );
        }
        let renamed: Vec<String> = (op.vars.primary.iter().zip(&self.c.primary))
            .chain(op.vars.coefficient.iter().zip(&self.c.coefficient))
            .filter(|(v, c)| &v.name != *c)
            .map(|(v, c)| format!("{} is {c}", v.name))
            .collect();
        if !renamed.is_empty() {
            let _ = writeln!(h, " * Parameters renamed for C: {}", renamed.join(", "));
        }
        let defaults: Vec<String> = (op.vars.coefficient.iter())
            .chain(&op.vars.primary)
            .filter_map(|v| v.value.map(|x| format!("{} = {x}", v.name)))
            .collect();
        if !defaults.is_empty() {
            let _ = writeln!(h, " * Declared values: {}", defaults.join(", "));
        }
        h.push_str(" */\n");
        h
    }

    fn function(&self) -> String {
        let params: Vec<String> = (self.c.primary.iter())
            .chain(&self.c.coefficient)
            .map(|n| format!("long {n}"))
            .collect();
        let mut tensors: Vec<String> = (0..self.op.tensor_count())
            .map(|t| format!("const double *{}", tensor_name(t)))
            .collect();
        tensors.push("double *out".to_string());
        let open = format!("void {}(", self.function);
        let pad = " ".repeat(open.len());
        let mut sig = open.clone();
        if !params.is_empty() {
            let _ = write!(sig, "{},\n{pad}", params.join(", "));
        }
        let _ = write!(sig, "{})", tensors.join(", "));

        let body = self.body();
        let used = identifiers(&body);
        let mut s = format!("{sig}\n{{\n");
        for n in self.c.primary.iter().chain(&self.c.coefficient) {
            if !used.contains(n.as_str()) {
                let _ = writeln!(s, "{INDENT}(void){n};");
            }
        }
        s.push_str(&body);
        s.push_str("}\n");
        s
    }

    fn body(&self) -> String {
        let mut lines: Vec<String> = Vec::new();
        let mut depth = 1;
        let mut open = |lines: &mut Vec<String>, var: &str, size: crate::size::Size| {
            lines.push(format!(
                "{}for (long {var} = 0; {var} < {}; {var}++) {{",
                INDENT.repeat(depth),
                self.c.size(size, 0)
            ));
            depth += 1;
        };
        for (v, &s) in self.c.outs.iter().zip(&self.acc.out_sizes) {
            open(&mut lines, v, s);
        }
        let out_depth = self.c.outs.len() + 1;
        lines.push(format!(
            "{}double {} = 0.0;",
            INDENT.repeat(out_depth),
            self.sum
        ));
        for (v, &s) in self.c.reds.iter().zip(&self.acc.red_sizes) {
            open(&mut lines, v, s);
        }
        let inner = out_depth + self.c.reds.len();
        lines.extend(self.term(inner));
        for d in (out_depth..inner).rev() {
            lines.push(format!("{}}}", INDENT.repeat(d)));
        }
        let out_index: Vec<Expr> = (0..self.c.outs.len())
            .map(|i| Expr::Iter(Iter::Out(i)))
            .collect();
        lines.push(format!(
            "{}out[{}] = {};",
            INDENT.repeat(out_depth),
            self.c.offset(&out_index, &self.acc.out_sizes),
            self.sum
        ));
        for d in (1..out_depth).rev() {
            lines.push(format!("{}}}", INDENT.repeat(d)));
        }
        let mut s = lines.join("\n");
        s.push('\n');
        s
    }

    /// The innermost statement(s): guarded indices, the guard test, the accumulation.
    fn term(&self, depth: usize) -> Vec<String> {
        let ind = INDENT.repeat(depth);
        let mut lines = Vec::new();
        let mut c = self.c.clone();
        let mut tests = Vec::new();
        for (g, local) in &self.guard_locals {
            let guard = &self.acc.guards[*g];
            lines.push(format!(
                "{ind}const long {local} = {};",
                c.expr(&guard.expr, 0)
            ));
            tests.push(format!(
                "0 <= {local} && {local} < {}",
                c.size(guard.bound, 2)
            ));
            c.locals.push((guard.expr.clone(), local.clone()));
        }
        let factors: Vec<String> = (self.acc.tensors.iter().enumerate())
            .map(|(t, idx)| {
                let shape = self.op.tensor_shape(t);
                format!("{}[{}]", tensor_name(t), c.offset(idx, &shape))
            })
            .collect();
        let (ind2, close) = if tests.is_empty() {
            (ind.clone(), None)
        } else {
            let cond = tests.join(&format!(" &&\n{ind}    "));
            lines.push(format!("{ind}if ({cond}) {{"));
            (format!("{ind}{INDENT}"), Some(format!("{ind}}}")))
        };
        let lead = format!("{ind2}{} += ", self.sum);
        let joiner = format!(" *\n{}", " ".repeat(lead.len()));
        lines.push(format!("{lead}{};", factors.join(&joiner)));
        lines.extend(close);
        lines
    }
}

/// Whether `sub` occurs in `e`.
fn contains(e: &Expr, sub: &Expr) -> bool {
    if e == sub {
        return true;
    }
    match e {
        Expr::Iter(_) | Expr::Const(_) | Expr::Size(_) => false,
        Expr::Add(x, y) | Expr::Sub(x, y) | Expr::Mul(x, y) | Expr::Div(x, y) | Expr::Mod(x, y) => {
            contains(x, sub) || contains(y, sub)
        }
    }
}

/// The identifiers a piece of C code mentions.
fn identifiers(code: &str) -> HashSet<&str> {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}
