//! The tiled kernel's memory traffic per reduction slice: each [`Side`]'s loads from global
//! memory into registers (through its [`super::plan::AddrPlan`], or generically when it has
//! none) and their stores into a shared buffer.

use super::side::{Side, Slice};
use crate::cuda::index::c_expr_in;
use crate::cuda::kernel::KernelSource;
use std::fmt::Write as _;

/// Where a load slot's elements go.
pub(in crate::cuda) enum Sink<'s> {
    /// The registers `<x>r[j]` (the tiled kernel; stored into shared memory later).
    Register,
    /// Straight into shared memory at `dst` (a C pointer expression in `j`) by `cp.async` of
    /// `bytes` per slot, zero-filled where the element is out of range or guarded.
    Async {
        /// Destination pointer.
        dst: &'s str,
        /// Bytes per slot (4, 8 or 16).
        bytes: u32,
    },
    /// Into shared memory at `dst` by a plain load and store of one element of type `elem`.
    Store {
        /// Destination pointer.
        dst: &'s str,
        /// The element's C type.
        elem: &'s str,
    },
    /// Into the registers `<x>h[j]` by a plain load of one element of type `elem`, stored into
    /// shared memory later by [`Side::drain`] (so that the load's latency overlaps work).
    Hold {
        /// The element's C type.
        elem: &'s str,
    },
}

impl Sink<'_> {
    /// The slot's first line: its value or source pointer, before the bounds test.
    fn declare(&self, src: &mut String, vec: u32, name: &str) {
        let line = match self {
            Sink::Register => match vec {
                4 => "float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);".to_string(),
                2 => "float2 v = make_float2(0.0f, 0.0f);".to_string(),
                _ => "float v = 0.0f;".to_string(),
            },
            Sink::Async { .. } => format!("const auto *sp = {name}; unsigned sn = 0u;"),
            Sink::Store { elem, .. } | Sink::Hold { elem } => format!("{elem} v = 0;"),
        };
        let _ = writeln!(src, "        {line}");
    }

    /// What a valid element does with its address `addr` (`read` reads it as a value).
    fn take(&self, name: &str, addr: &str, read: &str) -> String {
        match self {
            Sink::Register => format!("v = {read};"),
            Sink::Async { bytes, .. } => format!("{{ sp = {name} + ({addr}); sn = {bytes}u; }}"),
            Sink::Store { .. } | Sink::Hold { .. } => format!("v = {name}[{addr}];"),
        }
    }

    /// The slot's last line, after the bounds test; `inside` is the condition that the slot
    /// lies in the tile (`None` when every slot does), which a shared-memory sink tests.
    fn finish(&self, src: &mut String, x: &str, inside: Option<&str>) {
        let line = match self {
            Sink::Register => format!("{x}r[j] = v;"),
            Sink::Async { dst, bytes } => format!("kas_cp_async{bytes}({dst}, sp, sn);"),
            Sink::Store { dst, .. } => format!("*({dst}) = v;"),
            Sink::Hold { .. } => format!("{x}h[j] = v;"),
        };
        match (self, inside) {
            (Sink::Register | Sink::Hold { .. }, _) | (_, None) => {
                let _ = writeln!(src, "        {line}");
            }
            (_, Some(c)) => {
                let _ = writeln!(src, "        if ({c}) {line}");
            }
        }
    }
}

impl Side<'_> {
    /// Loads the slice starting at reduction index `kb` into the registers `<x>r[j]`.
    pub(in crate::cuda) fn load(
        &self,
        src: &mut String,
        k: &KernelSource<'_>,
        t: &dyn Slice,
        kb: &str,
    ) {
        self.load_into(src, k, t, kb, &Sink::Register);
    }

    /// Loads the slice starting at reduction index `kb` into `sink`.
    pub(in crate::cuda) fn load_into(
        &self,
        src: &mut String,
        k: &KernelSource<'_>,
        t: &dyn Slice,
        kb: &str,
        sink: &Sink<'_>,
    ) {
        let Some(p) = &self.plan else {
            return self.generic_load(src, k, t, kb, sink);
        };
        let (x, idx, n) = (self.tag, k.idx, self.slots(t));
        let _ = writeln!(src, "    #pragma unroll");
        let _ = writeln!(src, "    for (int j = 0; j < {n}; ++j) {{");
        sink.declare(src, self.vec, &self.acc.name);
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
        let take = sink.take(&self.acc.name, &addr, &read);
        if conds.is_empty() {
            let _ = writeln!(src, "{ind}{take}");
        } else {
            let _ = writeln!(src, "{ind}if ({}) {take}", conds.join(" && "));
        }
        let _ = writeln!(src, "        }}");
        sink.finish(src, x, self.inside(t).as_deref());
        let _ = writeln!(src, "    }}");
    }

    /// [`Side::load`] without an address plan: every index and guard evaluated per load.
    fn generic_load(
        &self,
        src: &mut String,
        k: &KernelSource<'_>,
        t: &dyn Slice,
        kb: &str,
        sink: &Sink<'_>,
    ) {
        let (x, idx, n) = (self.tag, k.idx, self.slots(t));
        let ind = "        ";
        let _ = writeln!(src, "    #pragma unroll");
        let _ = writeln!(src, "    for (int j = 0; j < {n}; ++j) {{");
        sink.declare(src, 1, &self.acc.name);
        let _ = writeln!(src, "{ind}{idx} kk = {kb} + {x}kl[j];");
        let _ = writeln!(src, "{ind}if ({x}ok[j] && kk < kend) {{");
        let inner = "            ";
        for &p in self.dims {
            let _ = writeln!(src, "{inner}const {idx} o{p} = {x}o{p}[j];");
        }
        k.unflatten_red(inner, "kk", src);
        let cond = k.guard_code(inner, &|g| self.guards[g], src);
        let addr = self.acc.flat(k.binding, &k.ranges);
        let read = format!("{}[{addr}]", self.acc.name);
        let take = sink.take(&self.acc.name, &addr, &read);
        match cond {
            Some(c) => {
                let _ = writeln!(src, "{inner}if ({c}) {take}");
            }
            None => {
                let _ = writeln!(src, "{inner}{take}");
            }
        }
        let _ = writeln!(src, "{ind}}}");
        let _ = writeln!(src, "{ind}(void)kk;");
        sink.finish(src, x, self.inside(t).as_deref());
        let _ = writeln!(src, "    }}");
    }

    /// The condition that slot `j` of thread `tid` lies in the tile (`None` when all do).
    fn inside(&self, t: &dyn Slice) -> Option<String> {
        (!self.exact(t)).then(|| {
            format!(
                "tid + {}u * j < {}u",
                t.threads(),
                self.rows * t.bk() / self.vec
            )
        })
    }

    /// Stores the registers `<x>h[j]` that a [`Sink::Hold`] load filled into shared memory
    /// at `dst` (a C pointer expression in `j`), the slots inside the tile only.
    pub(in crate::cuda) fn drain(&self, src: &mut String, t: &dyn Slice, dst: &str) {
        let (x, n) = (self.tag, self.slots(t));
        let _ = writeln!(src, "    #pragma unroll");
        let _ = writeln!(src, "    for (int j = 0; j < {n}; ++j) {{");
        let store = format!("*({dst}) = {x}h[j];");
        match self.inside(t) {
            Some(c) => {
                let _ = writeln!(src, "        if ({c}) {store}");
            }
            None => {
                let _ = writeln!(src, "        {store}");
            }
        }
        let _ = writeln!(src, "    }}");
    }

    /// Stores the registers `<x>r[j]` into shared buffer `buf`.
    pub(in crate::cuda) fn store(&self, src: &mut String, t: &dyn Slice, buf: &str) {
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
                self.rows * t.bk() / self.vec
            );
        }
        let _ = writeln!(src, "    }}");
    }
}
