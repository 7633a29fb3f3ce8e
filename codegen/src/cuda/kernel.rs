//! What every stage kernel's emitter shares: the operands as a stage reads them ([`Access`])
//! and the kernel being written ([`KernelSource`]) with the pieces of C every emitter needs
//! (parameter list, guards, unflattening of linear indices).

use super::index::{IterRanges, c_expr_in};
use kas_primitives::{Binding, Expr};
use std::fmt::Write as _;

/// One operand as a stage reads it.
pub(crate) struct Access {
    /// Its buffer (kernel parameter) name.
    pub name: String,
    /// Extents of its axes, in memory order.
    pub dims: Vec<u64>,
    /// Index expression of each axis.
    pub exprs: Vec<Expr>,
}

impl Access {
    /// The flat (row-major) index as C.
    pub fn flat(&self, b: &Binding, ranges: &IterRanges) -> String {
        let mut flat = String::new();
        for (a, e) in self.exprs.iter().enumerate() {
            let e = c_expr_in(e, b, ranges);
            flat = if a == 0 {
                format!("({e})")
            } else {
                format!("({flat} * {} + ({e}))", self.dims[a])
            };
        }
        if flat.is_empty() {
            flat = "0".into();
        }
        flat
    }
}

/// What every stage kernel's emitter needs.
pub(crate) struct KernelSource<'a> {
    /// The kernel's name.
    pub name: &'a str,
    /// The operands, in parameter order.
    pub operands: &'a [Access],
    /// Guards with concrete bounds.
    pub guards: &'a [(Expr, u64)],
    /// Result extents (in result order).
    pub shape: &'a [u64],
    /// Reduction extents.
    pub red: &'a [u64],
    /// The layout the result is written in: result positions, outermost first.
    pub layout: &'a [usize],
    /// The binding every size is a literal under.
    pub binding: &'a Binding,
    /// `int` or `long long`.
    pub idx: &'a str,
    /// The iterators' ranges.
    pub ranges: IterRanges,
    /// The C type of a buffer element (`float`, or `kas_bf16` at bf16 storage).
    pub elem: &'a str,
    /// A `float f(float)` applied to every element of the program's output as it is stored
    /// (the last stage's final kernel only; see [`crate::cuda::generate_fused`]).
    pub epilogue: Option<&'a str>,
}

impl KernelSource<'_> {
    /// The kernel's parameter list: the operands (read-only), then `out`.
    pub fn params(&self) -> String {
        let mut params: Vec<String> = self
            .operands
            .iter()
            .map(|a| format!("const {} *__restrict__ {}", self.elem, a.name))
            .collect();
        params.push(format!("{} *__restrict__ out", self.elem));
        params.join(", ")
    }

    /// A buffer element read by `read` as an f32 value (converted at bf16 storage).
    pub fn as_f32(&self, read: &str) -> String {
        if self.elem == "float" {
            read.to_string()
        } else {
            format!("kas_bf16_to_f32({read})")
        }
    }

    /// The f32 value `v` as a buffer element (rounded to nearest even at bf16 storage), with
    /// the epilogue applied when the kernel has one.
    pub fn to_storage(&self, v: &str) -> String {
        let v = match self.epilogue {
            Some(f) => format!("{f}({v})"),
            None => v.to_string(),
        };
        if self.elem == "float" {
            v
        } else {
            format!("kas_f32_to_bf16({v})")
        }
    }

    /// Declares `const idx g<j> = …;` for the guards `which` selects and returns the
    /// condition that all of them hold (`None` when none is selected).
    pub fn guard_code(
        &self,
        indent: &str,
        which: &dyn Fn(usize) -> bool,
        src: &mut String,
    ) -> Option<String> {
        let mut conds = Vec::new();
        for (j, (e, n)) in self.guards.iter().enumerate() {
            if !which(j) {
                continue;
            }
            let e = c_expr_in(e, self.binding, &self.ranges);
            let _ = writeln!(src, "{indent}const {} g{j} = {e};", self.idx);
            conds.push(format!("g{j} >= 0 && g{j} < {n}"));
        }
        (!conds.is_empty()).then(|| conds.join(" && "))
    }

    /// Declares `o<p>` (for the result positions `dims`, the last fastest) from the linear
    /// index `lin`, which is consumed.
    pub fn unflatten(&self, indent: &str, lin: &str, dims: &[usize], src: &mut String) {
        for (q, &p) in dims.iter().enumerate().rev() {
            if q == 0 {
                let _ = writeln!(src, "{indent}const {} o{p} = {lin};", self.idx);
            } else {
                let n = self.shape[p];
                let _ = writeln!(
                    src,
                    "{indent}const {} o{p} = {lin} % {n}; {lin} /= {n};",
                    self.idx
                );
            }
        }
    }

    /// Declares `r<j>` for every reduction from the linear index `lin` (consumed).
    pub fn unflatten_red(&self, indent: &str, lin: &str, src: &mut String) {
        for j in (0..self.red.len()).rev() {
            if j == 0 {
                let _ = writeln!(src, "{indent}const {} r0 = {lin};", self.idx);
            } else {
                let n = self.red[j];
                let _ = writeln!(
                    src,
                    "{indent}const {} r{j} = {lin} % {n}; {lin} /= {n};",
                    self.idx
                );
            }
        }
    }
}
