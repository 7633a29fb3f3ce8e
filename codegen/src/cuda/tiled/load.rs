//! The tiled kernel's memory traffic per reduction slice: each [`Side`]'s loads from global
//! memory into registers (through its [`super::plan::AddrPlan`], or generically when it has
//! none) and their stores into a shared buffer.

use super::side::Side;
use crate::cuda::index::c_expr_in;
use crate::cuda::kernel::KernelSource;
use crate::schedule::Tile;
use std::fmt::Write as _;

impl Side<'_> {
    /// Loads the slice starting at reduction index `kb` into the registers `<x>r[j]`.
    pub(super) fn load(&self, src: &mut String, k: &KernelSource<'_>, t: &Tile, kb: &str) {
        let Some(p) = &self.plan else {
            return self.generic_load(src, k, t, kb);
        };
        let (x, idx, n) = (self.tag, k.idx, self.slots(t));
        let _ = writeln!(src, "    #pragma unroll");
        let _ = writeln!(src, "    for (int j = 0; j < {n}; ++j) {{");
        match self.vec {
            4 => {
                let _ = writeln!(
                    src,
                    "        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);"
                );
            }
            2 => {
                let _ = writeln!(src, "        float2 v = make_float2(0.0f, 0.0f);");
            }
            _ => {
                let _ = writeln!(src, "        float v = 0.0f;");
            }
        }
        let _ = writeln!(src, "        const {idx} kk = {kb} + {x}kl[j];");
        let _ = writeln!(src, "        if ({x}ok[j] && kk < kend) {{");
        let ind = "            ";
        if p.width > 0 {
            let _ = writeln!(
                src,
                "{ind}const {idx} *tk = {}_{x}t + kk * {};",
                self.kernel, p.width
            );
        }
        for q in &p.outs {
            let _ = writeln!(src, "{ind}const {idx} o{q} = {x}o{q}[j];");
        }
        for (r, col) in &p.reds {
            let _ = writeln!(src, "{ind}const {idx} r{r} = __ldg(tk + {col});");
        }
        let mut conds = Vec::new();
        for (g, _, col, bound) in &p.red_guards {
            let _ = writeln!(
                src,
                "{ind}const {idx} g{g} = {x}g{g}[j] + __ldg(tk + {col});"
            );
            conds.push(format!("g{g} >= 0 && g{g} < {bound}"));
        }
        for &g in &p.other_guards {
            let (e, bound) = &k.guards[g];
            let _ = writeln!(
                src,
                "{ind}const {idx} g{g} = {};",
                c_expr_in(e, k.binding, &k.ranges)
            );
            conds.push(format!("g{g} >= 0 && g{g} < {bound}"));
        }
        let mut addr = format!("{x}b[j]");
        match p.stride {
            Some(0) => {}
            Some(1) => addr.push_str(" + kk"),
            Some(s) => addr.push_str(&format!(" + kk * {s}")),
            None => addr.push_str(" + __ldg(tk)"),
        }
        for (stride, e) in &p.nonlin {
            addr.push_str(&format!(
                " + ({}) * {stride}",
                c_expr_in(e, k.binding, &k.ranges)
            ));
        }
        let read = match self.vec {
            1 => format!("{}[{addr}]", self.acc.name),
            v => format!(
                "__ldg(reinterpret_cast<const float{v} *>({} + ({addr})))",
                self.acc.name
            ),
        };
        if conds.is_empty() {
            let _ = writeln!(src, "{ind}v = {read};");
        } else {
            let _ = writeln!(src, "{ind}if ({}) v = {read};", conds.join(" && "));
        }
        let _ = writeln!(src, "        }}");
        let _ = writeln!(src, "        {x}r[j] = v;");
        let _ = writeln!(src, "    }}");
    }

    /// [`Side::load`] without an address plan: every index and guard evaluated per load.
    fn generic_load(&self, src: &mut String, k: &KernelSource<'_>, t: &Tile, kb: &str) {
        let (x, idx, n) = (self.tag, k.idx, self.slots(t));
        let ind = "        ";
        let _ = writeln!(src, "    #pragma unroll");
        let _ = writeln!(src, "    for (int j = 0; j < {n}; ++j) {{");
        let _ = writeln!(src, "{ind}float v = 0.0f;");
        let _ = writeln!(src, "{ind}{idx} kk = {kb} + {x}kl[j];");
        let _ = writeln!(src, "{ind}if ({x}ok[j] && kk < kend) {{");
        let inner = "            ";
        for &p in self.dims {
            let _ = writeln!(src, "{inner}const {idx} o{p} = {x}o{p}[j];");
        }
        k.unflatten_red(inner, "kk", src);
        let cond = k.guard_code(inner, &|g| self.guards[g], src);
        let read = format!("{}[{}]", self.acc.name, self.acc.flat(k.binding, &k.ranges));
        match cond {
            Some(c) => {
                let _ = writeln!(src, "{inner}if ({c}) v = {read};");
            }
            None => {
                let _ = writeln!(src, "{inner}v = {read};");
            }
        }
        let _ = writeln!(src, "{ind}}}");
        let _ = writeln!(src, "{ind}(void)kk;");
        let _ = writeln!(src, "{ind}{x}r[j] = v;");
        let _ = writeln!(src, "    }}");
    }

    /// Stores the registers `<x>r[j]` into shared buffer `buf`.
    pub(super) fn store(&self, src: &mut String, t: &Tile, buf: &str) {
        let (x, n) = (self.tag, self.slots(t));
        let _ = writeln!(src, "    #pragma unroll");
        let _ = writeln!(src, "    for (int j = 0; j < {n}; ++j) {{");
        let sm = self.smem;
        let lanes = ["x", "y", "z", "w"];
        let store = match (self.vec, self.row_fast) {
            (1, _) => format!("{sm}[{buf}][{x}kl[j]][{x}row[j]] = {x}r[j];"),
            (v, true) => format!(
                "*reinterpret_cast<float{v} *>(&{sm}[{buf}][{x}kl[j]][{x}row[j]]) = {x}r[j];"
            ),
            (v, false) => {
                let parts: Vec<String> = (0..v as usize)
                    .map(|q| {
                        format!(
                            "{sm}[{buf}][{x}kl[j] + {q}][{x}row[j]] = {x}r[j].{};",
                            lanes[q]
                        )
                    })
                    .collect();
                format!("{{ {} }}", parts.join(" "))
            }
        };
        if self.exact(t) {
            let _ = writeln!(src, "        {store}");
        } else {
            let _ = writeln!(
                src,
                "        if (tid + {}u * j < {}u) {store}",
                t.threads(),
                self.rows * t.bk / self.vec
            );
        }
        let _ = writeln!(src, "    }}");
    }
}
