//! The tiled contraction kernel: a stage computed as a batched matrix product
//! ([`Contraction`]) with a [`Tile`].
//!
//! Each thread block owns a `bm × bn` tile of `(M, N)` for one `Z` value (and one slice of the
//! reduction when it is split). The reduction advances `bk` at a time: every thread loads its
//! share of the `A` and `B` slices from global memory into registers, stores them into one of
//! two shared buffers, and multiplies the other buffer's slices into a `tm × tn` register tile
//! (vectorized shared loads when the thread tile allows). The loads of the next slice are issued
//! before the products of the current one, so global latency overlaps arithmetic.
//!
//! Loads: each operand's address (and each guard) is split into a part fixed
//! per load slot, computed once before the loop from the slot's row, and a part fixed per
//! reduction index, read from a table generated with the kernel (or `kk · stride` when it is
//! that); only expressions that are not affine (a Shift's remainder) are evaluated per load,
//! with range-aware arithmetic. Where four (or two) consecutive rows or reduction indices are
//! consecutive, aligned addresses, one `float4` (`float2`) load fetches them; warps load 32
//! consecutive rows per reduction index. Out-of-range and guarded elements read as 0.
//!
//! The epilogue adds a row part, a column part and the block's batch part (each computed once)
//! and stores `float4` / `float2` where the layout allows. A split reduction writes partial
//! tiles that a second kernel adds in a fixed order (deterministic).

use crate::contraction::{Contraction, innermost_out};
use crate::cuda::{Access, KernelSource, c_expr_in};
use crate::linear::{Lin, red_values};
use crate::schedule::Tile;
use kas_primitives::{Expr, Iter};
use std::fmt::Write as _;

/// Vector width and group count of a thread's rows (or columns) in a tile of `b` with `t` per
/// thread: rows `g·(b/groups) + thread·width + q`.
fn spread(t: u32) -> (u32, u32) {
    let w = t.min(4);
    (w, t / w)
}

/// Emits one operand's load slots: their hoisted row decomposition (`pre`), the loads of the
/// slice starting at `kb` into `r<side>[j]` (`load`) and the stores into shared buffer `buf`
/// (`store`).
struct Side<'a> {
    /// `a` or `b`.
    tag: &'a str,
    /// The operand.
    acc: &'a Access,
    /// Result positions of this side's exclusive dims.
    dims: &'a [usize],
    /// Rows of the tile (`bm` or `bn`).
    rows: u32,
    /// Extent of this side (`M` or `N`).
    extent: u64,
    /// Whether consecutive threads load consecutive rows (else consecutive reduction indices).
    row_fast: bool,
    /// Which guards this side applies.
    guards: &'a [bool],
    /// Shared array name.
    smem: &'a str,
    /// Block offset variable (`m0` / `n0`).
    base: &'a str,
    /// Split addresses (slot part hoisted, reduction part tabulated), when they split.
    plan: Option<AddrPlan>,
    /// Kernel name (for the table's name).
    kernel: &'a str,
    /// Elements per load: 4 (`float4`) when four consecutive rows (or reduction indices) are
    /// consecutive and 16-byte aligned in memory, else 1.
    vec: u32,
}

/// A side's load addresses split into a part per load slot and a part per reduction index.
struct AddrPlan {
    /// Slot part of the affine axes (and every constant): hoisted as `<x>b[j]`.
    base: Lin,
    /// `Some(s)` when the reduction part is exactly `s · kk` (no table column).
    stride: Option<i64>,
    /// Axes that are not affine, `(stride, index)`, evaluated at load time.
    nonlin: Vec<(u64, Expr)>,
    /// Affine guards with reduction terms: `(guard, slot part, table column, bound)`.
    red_guards: Vec<(usize, Lin, usize, u64)>,
    /// Affine guards without reduction terms: folded into the slot's validity.
    slot_guards: Vec<(Lin, u64)>,
    /// Guards that are not affine, evaluated at load time.
    other_guards: Vec<usize>,
    /// Output positions the load-time expressions read (hoisted as `<x>o<p>[j]`).
    outs: Vec<usize>,
    /// Reductions the load-time expressions read, with their table column.
    reds: Vec<(usize, usize)>,
    /// Table columns per reduction index.
    width: usize,
    /// The table, `K × width`, row-major (empty when `width` is 0).
    table: Vec<i64>,
}

/// Largest table (entries) a side may carry.
const MAX_TABLE: usize = 1 << 17;

impl AddrPlan {
    /// The split of `acc`'s addresses and of the guards `applied` selects, for reductions of
    /// extents `red`; `None` when it would need too large a table.
    fn of(
        acc: &Access,
        guards: &[(Expr, u64)],
        applied: &[bool],
        red: &[u64],
        b: &kas_primitives::Binding,
    ) -> Option<AddrPlan> {
        let mut lin_total = Lin::default();
        let mut nonlin = Vec::new();
        let mut stride = 1u64;
        let mut strides = vec![0u64; acc.dims.len()];
        for a in (0..acc.dims.len()).rev() {
            strides[a] = stride;
            stride = stride.checked_mul(acc.dims[a])?;
        }
        let mut its: Vec<Iter> = Vec::new();
        for (a, e) in acc.exprs.iter().enumerate() {
            match Lin::of(e, b) {
                Some(l) => {
                    lin_total = lin_total.plus(&l.scaled(i64::try_from(strides[a]).ok()?)?, 1)?
                }
                None => {
                    e.iters(&mut its);
                    nonlin.push((strides[a], e.clone()));
                }
            }
        }
        let mut red_guards = Vec::new();
        let mut slot_guards = Vec::new();
        let mut other_guards = Vec::new();
        let mut columns: Vec<Lin> = Vec::new();
        let red_part = lin_total.red_part();
        let k: u64 = red.iter().product();
        // Is the reduction part exactly `s · kk`?
        let ident = {
            let s = red_part.eval_red(&first_step(red));
            (s != 0 || red_part.terms.is_empty())
                .then_some(s)
                .filter(|&s| {
                    red_values(red)
                        .enumerate()
                        .all(|(kk, v)| red_part.eval_red(&v) == s * kk as i64)
                })
        };
        if ident.is_none() {
            columns.push(red_part);
        }
        for (g, (e, bound)) in guards.iter().enumerate() {
            if !applied[g] {
                continue;
            }
            match Lin::of(e, b) {
                Some(l) if l.red_part().terms.is_empty() => slot_guards.push((l, *bound)),
                Some(l) => {
                    red_guards.push((g, l.slot_part(), columns.len(), *bound));
                    columns.push(l.red_part());
                }
                None => {
                    e.iters(&mut its);
                    other_guards.push(g);
                }
            }
        }
        let outs: Vec<usize> = its
            .iter()
            .filter_map(|i| match i {
                Iter::Out(p) => Some(*p),
                Iter::Red(_) => None,
            })
            .collect();
        let mut reds = Vec::new();
        for i in &its {
            if let Iter::Red(j) = i {
                reds.push((*j, columns.len()));
                columns.push(Lin {
                    c: 0,
                    terms: [(*i, 1)].into_iter().collect(),
                });
            }
        }
        let width = columns.len();
        if (k as usize).saturating_mul(width) > MAX_TABLE {
            return None;
        }
        let mut table = Vec::with_capacity(k as usize * width);
        for v in red_values(red) {
            for c in &columns {
                table.push(c.eval_red(&v));
            }
        }
        Some(AddrPlan {
            base: lin_total.slot_part(),
            stride: ident,
            nonlin,
            red_guards,
            slot_guards,
            other_guards,
            outs,
            reds,
            width,
            table,
        })
    }
}

/// The reduction iterators of flat index 1 (the first step of `kk`).
fn first_step(red: &[u64]) -> Vec<i64> {
    red_values(red).nth(1).unwrap_or_else(|| vec![0; red.len()])
}

impl Side<'_> {
    /// Load instructions per thread per slice.
    fn slots(&self, t: &Tile) -> u32 {
        (self.rows * t.bk / self.vec).div_ceil(t.threads())
    }

    /// Whether every thread's every slot is inside the tile.
    fn exact(&self, t: &Tile) -> bool {
        self.slots(t) * t.threads() == self.rows * t.bk / self.vec
    }

    /// Whether `w`-wide vector loads (`float4`, `float2`) are exact for this side: along rows
    /// when consecutive rows are consecutive addresses (the innermost row dim has unit stride
    /// and an extent divisible by `w`, nothing else depends on it) and every other term keeps
    /// the alignment; along the reduction when it is exactly the unit-stride `kk` with `K`
    /// divisible by `w` and no reduction-dependent guard.
    fn vectorizable(&self, k: &KernelSource<'_>, t: &Tile, red_extent: u64, w: u32) -> bool {
        let Some(p) = &self.plan else { return false };
        let wi = w as i64;
        let quad = |v: i64| v % wi == 0;
        if !self.rows.is_multiple_of(w) || !t.bk.is_multiple_of(w) {
            return false;
        }
        if self.row_fast {
            let Some(&last) = self.dims.last() else {
                return false;
            };
            let inner = Iter::Out(last);
            let mentions = |e: &Expr| {
                let mut its = Vec::new();
                e.iters(&mut its);
                its.contains(&inner)
            };
            k.shape[last].is_multiple_of(w as u64)
                && p.base.terms.get(&inner) == Some(&1)
                && p.base.terms.iter().all(|(i, &v)| *i == inner || quad(v))
                && quad(p.base.c)
                && match p.stride {
                    Some(s) => quad(s),
                    None => (0..p.table.len() / p.width.max(1)).all(|r| quad(p.table[r * p.width])),
                }
                && p.nonlin
                    .iter()
                    .all(|(s, e)| quad(*s as i64) && !mentions(e))
                && p.red_guards
                    .iter()
                    .all(|(_, l, ..)| !l.terms.contains_key(&inner))
                && p.slot_guards
                    .iter()
                    .all(|(l, _)| !l.terms.contains_key(&inner))
                && p.other_guards.iter().all(|&g| !mentions(&k.guards[g].0))
        } else {
            p.stride == Some(1)
                && p.width == 0
                && p.nonlin.is_empty()
                && p.other_guards.is_empty()
                && red_extent.is_multiple_of(w as u64)
                && p.base.terms.values().all(|&v| quad(v))
                && quad(p.base.c)
        }
    }

    /// The table's declaration (before the kernel), if this side has one.
    fn table_decl(&self, src: &mut String, idx: &str) {
        let Some(p) = &self.plan else { return };
        if p.width == 0 {
            return;
        }
        let vals: Vec<String> = p.table.iter().map(i64::to_string).collect();
        let _ = writeln!(
            src,
            "__device__ const {idx} {}_{}t[{}] = {{{}}};",
            self.kernel,
            self.tag,
            vals.len(),
            vals.join(",")
        );
    }

    fn pre(&self, src: &mut String, k: &KernelSource<'_>, t: &Tile) {
        let Some(p) = &self.plan else {
            return self.generic_pre(src, k, t);
        };
        let (x, idx, n) = (self.tag, k.idx, self.slots(t));
        let threads = t.threads();
        let (rows, bk) = (self.rows, t.bk);
        let _ = writeln!(src, "    unsigned {x}row[{n}], {x}kl[{n}];");
        let _ = writeln!(src, "    bool {x}ok[{n}];");
        let _ = writeln!(src, "    {idx} {x}b[{n}];");
        for (g, ..) in &p.red_guards {
            let _ = writeln!(src, "    {idx} {x}g{g}[{n}];");
        }
        for q in &p.outs {
            let _ = writeln!(src, "    {idx} {x}o{q}[{n}];");
        }
        let v = self.vec;
        let _ = writeln!(src, "    #pragma unroll");
        let _ = writeln!(src, "    for (int j = 0; j < {n}; ++j) {{");
        let _ = writeln!(src, "        const unsigned e = tid + {threads}u * j;");
        let warps = threads / 32;
        if self.row_fast && (rows / v).is_multiple_of(32) && bk.is_multiple_of(warps) {
            // Each warp loads 32 consecutive rows (groups of `v`) at one reduction index per
            // slot, so a thread's slots share their reduction indices (and table rows).
            let r = rows / v / 32;
            let _ = writeln!(
                src,
                "        {x}row[j] = ((tid % 32u) + 32u * (j % {r}u)) * {v}u; {x}kl[j] = tid / 32u + {warps}u * (j / {r}u);"
            );
        } else if self.row_fast {
            let _ = writeln!(
                src,
                "        {x}row[j] = (e % {q}u) * {v}u; {x}kl[j] = e / {q}u;",
                q = rows / v
            );
        } else {
            let _ = writeln!(
                src,
                "        {x}row[j] = e / {q}u; {x}kl[j] = (e % {q}u) * {v}u;",
                q = bk / v
            );
        }
        let _ = writeln!(src, "        {idx} row = {} + {x}row[j];", self.base);
        let _ = writeln!(
            src,
            "        bool ok = e < {}u && row < {};",
            rows * bk / v,
            self.extent
        );
        let _ = writeln!(src, "        if (!ok) row = 0;");
        k.unflatten("        ", "row", self.dims, src);
        let _ = writeln!(src, "        (void)row;");
        let _ = writeln!(src, "        {x}b[j] = {};", p.base.c_text());
        for (l, bound) in &p.slot_guards {
            let _ = writeln!(
                src,
                "        {{ const {idx} g = {}; ok = ok && g >= 0 && g < {bound}; }}",
                l.c_text()
            );
        }
        for (g, l, ..) in &p.red_guards {
            let _ = writeln!(src, "        {x}g{g}[j] = {};", l.c_text());
        }
        for q in &p.outs {
            let _ = writeln!(src, "        {x}o{q}[j] = o{q};");
        }
        let _ = writeln!(src, "        {x}ok[j] = ok;");
        let _ = writeln!(src, "    }}");
    }

    fn generic_pre(&self, src: &mut String, k: &KernelSource<'_>, t: &Tile) {
        let (x, idx, n) = (self.tag, k.idx, self.slots(t));
        let threads = t.threads();
        let (rows, bk) = (self.rows, t.bk);
        let _ = writeln!(src, "    unsigned {x}row[{n}], {x}kl[{n}];");
        let _ = writeln!(src, "    bool {x}ok[{n}];");
        for &p in self.dims {
            let _ = writeln!(src, "    {idx} {x}o{p}[{n}];");
        }
        let _ = writeln!(src, "    #pragma unroll");
        let _ = writeln!(src, "    for (int j = 0; j < {n}; ++j) {{");
        let _ = writeln!(src, "        const unsigned e = tid + {threads}u * j;");
        if self.row_fast {
            let _ = writeln!(
                src,
                "        {x}row[j] = e % {rows}u; {x}kl[j] = e / {rows}u;"
            );
        } else {
            let _ = writeln!(src, "        {x}row[j] = e / {bk}u; {x}kl[j] = e % {bk}u;");
        }
        let _ = writeln!(src, "        {idx} row = {} + {x}row[j];", self.base);
        let _ = writeln!(
            src,
            "        {x}ok[j] = e < {}u && row < {};",
            rows * bk,
            self.extent
        );
        let _ = writeln!(src, "        if (!{x}ok[j]) row = 0;");
        for (q, &p) in self.dims.iter().enumerate().rev() {
            if q == 0 {
                let _ = writeln!(src, "        {x}o{p}[j] = row;");
            } else {
                let e = k.shape[p];
                let _ = writeln!(src, "        {x}o{p}[j] = row % {e}; row /= {e};");
            }
        }
        if self.dims.is_empty() {
            let _ = writeln!(src, "        (void)row;");
        }
        let _ = writeln!(src, "    }}");
    }

    fn load(&self, src: &mut String, k: &KernelSource<'_>, t: &Tile, kb: &str) {
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

    fn store(&self, src: &mut String, t: &Tile, buf: &str) {
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

/// Emits the tiled kernel of a stage.
pub(crate) fn emit(src: &mut String, k: &KernelSource<'_>, c: &Contraction, t: &Tile) {
    let idx = k.idx;
    let threads = t.threads();
    let (bm, bn, bk, tm, tn) = (t.bm, t.bn, t.bk, t.tm, t.tn);
    let gx = c.m.div_ceil(bm as u64);
    let gy = c.n.div_ceil(bn as u64);
    let s = t.split_k as u64;
    let kch = c.k.div_ceil(s).div_ceil(bk as u64) * bk as u64;
    let total: u64 = k.shape.iter().product();
    let params = k.params();
    let a = Side {
        tag: "a",
        acc: &k.operands[c.a],
        dims: &c.m_dims,
        rows: bm,
        extent: c.m,
        row_fast: innermost_out(&k.operands[c.a].exprs).is_some_and(|o| c.m_dims.contains(&o)),
        guards: &c.guard_a,
        smem: "As",
        base: "m0",
        plan: AddrPlan::of(&k.operands[c.a], k.guards, &c.guard_a, k.red, k.binding),
        kernel: k.name,
        vec: 1,
    };
    let b = Side {
        tag: "b",
        acc: &k.operands[c.b],
        dims: &c.n_dims,
        rows: bn,
        extent: c.n,
        row_fast: innermost_out(&k.operands[c.b].exprs).is_some_and(|o| c.n_dims.contains(&o)),
        guards: &c.guard_b,
        smem: "Bs",
        base: "n0",
        plan: AddrPlan::of(&k.operands[c.b], k.guards, &c.guard_b, k.red, k.binding),
        kernel: k.name,
        vec: 1,
    };
    let mut a = a;
    let mut b = b;
    for side in [&mut a, &mut b] {
        side.vec = [4, 2]
            .into_iter()
            .find(|&w| side.vectorizable(k, t, c.k, w))
            .unwrap_or(1);
    }
    a.table_decl(src, idx);
    b.table_decl(src, idx);
    let _ = writeln!(
        src,
        "// tiled: M = {} (dims {:?}), N = {} (dims {:?}), Z = {} (dims {:?}), K = {}; tile {}",
        c.m,
        c.m_dims,
        c.n,
        c.n_dims,
        c.z,
        c.z_dims,
        c.k,
        t.label()
    );
    let _ = writeln!(
        src,
        "extern \"C\" __global__ void __launch_bounds__({threads}, {}) {}({params})",
        t.min_blocks, k.name,
    );
    let _ = writeln!(src, "{{");
    let _ = writeln!(
        src,
        "    __shared__ __align__(16) float As[2][{bk}][{}];",
        bm + 4
    );
    let _ = writeln!(
        src,
        "    __shared__ __align__(16) float Bs[2][{bk}][{}];",
        bn + 4
    );
    let _ = writeln!(src, "    const unsigned tid = threadIdx.x;");
    let _ = writeln!(src, "    {idx} bid = blockIdx.x;");
    let _ = writeln!(
        src,
        "    const {idx} m0 = (bid % {gx}) * {bm}; bid /= {gx};"
    );
    let _ = writeln!(
        src,
        "    const {idx} n0 = (bid % {gy}) * {bn}; bid /= {gy};"
    );
    if s > 1 {
        let _ = writeln!(src, "    const {idx} split = bid % {s}; bid /= {s};");
    } else {
        let _ = writeln!(src, "    const {idx} split = 0;");
    }
    k.unflatten("    ", "bid", &c.z_dims, src);
    if c.z_dims.is_empty() {
        let _ = writeln!(src, "    (void)bid;");
    }
    let _ = writeln!(src, "    const {idx} kbeg = split * {kch};");
    let _ = writeln!(
        src,
        "    const {idx} kend = kbeg + {kch} < {K} ? kbeg + {kch} : {K};",
        K = c.k
    );
    a.pre(src, k, t);
    b.pre(src, k, t);
    let reg = |v: u32| match v {
        4 => "float4",
        2 => "float2",
        _ => "float",
    };
    let _ = writeln!(src, "    {} ar[{}];", reg(a.vec), a.slots(t));
    let _ = writeln!(src, "    {} br[{}];", reg(b.vec), b.slots(t));
    let _ = writeln!(src, "    float acc[{tm}][{tn}];");
    let _ = writeln!(src, "    #pragma unroll");
    let _ = writeln!(src, "    for (int i = 0; i < {tm}; ++i)");
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(
        src,
        "        for (int j = 0; j < {tn}; ++j) acc[i][j] = 0.0f;"
    );
    let _ = writeln!(src, "    const unsigned tmi = tid % {}u;", bm / tm);
    let _ = writeln!(src, "    const unsigned tni = tid / {}u;", bm / tm);
    // Prologue: the first slice into buffer 0.
    a.load(src, k, t, "kbeg");
    b.load(src, k, t, "kbeg");
    a.store(src, t, "0");
    b.store(src, t, "0");
    let _ = writeln!(src, "    __syncthreads();");
    let _ = writeln!(src, "    int cur = 0;");
    let _ = writeln!(src, "    for ({idx} kt = kbeg; kt < kend; kt += {bk}) {{");
    let _ = writeln!(src, "    const bool more = kt + {bk} < kend;");
    let _ = writeln!(src, "    if (more) {{");
    a.load(src, k, t, &format!("(kt + {bk})"));
    b.load(src, k, t, &format!("(kt + {bk})"));
    let _ = writeln!(src, "    }}");
    let (vm, gm) = spread(tm);
    let (vn, gn) = spread(tn);
    let _ = writeln!(src, "    #pragma unroll");
    let _ = writeln!(src, "    for (int q = 0; q < {bk}; ++q) {{");
    let _ = writeln!(src, "        float a[{tm}], b[{tn}];");
    let frag = |src: &mut String, arr: &str, smem: &str, v: u32, g: u32, rows: u32, th: &str| {
        for gi in 0..g {
            let off = format!("{} + {th} * {v}", gi * (rows / g));
            if v == 4 {
                let _ = writeln!(
                    src,
                    "        {{ const float4 t4 = *reinterpret_cast<const float4 *>(&{smem}[cur][q][{off}]); {arr}[{b0}] = t4.x; {arr}[{b1}] = t4.y; {arr}[{b2}] = t4.z; {arr}[{b3}] = t4.w; }}",
                    b0 = gi * 4,
                    b1 = gi * 4 + 1,
                    b2 = gi * 4 + 2,
                    b3 = gi * 4 + 3
                );
            } else {
                for qq in 0..v {
                    let _ = writeln!(
                        src,
                        "        {arr}[{}] = {smem}[cur][q][{off} + {qq}];",
                        gi * v + qq
                    );
                }
            }
        }
    };
    frag(src, "a", "As", vm, gm, bm, "tmi");
    frag(src, "b", "Bs", vn, gn, bn, "tni");
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(src, "        for (int i = 0; i < {tm}; ++i)");
    let _ = writeln!(src, "            #pragma unroll");
    let _ = writeln!(
        src,
        "            for (int j = 0; j < {tn}; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);"
    );
    let _ = writeln!(src, "    }}");
    let _ = writeln!(src, "    if (more) {{");
    a.store(src, t, "cur ^ 1");
    b.store(src, t, "cur ^ 1");
    let _ = writeln!(src, "    }}");
    let _ = writeln!(src, "    __syncthreads();");
    let _ = writeln!(src, "    cur ^= 1;");
    let _ = writeln!(src, "    }}");
    // The register tile to the result (or to this split's partial result): the output
    // offset is a sum of a row part, a column part and the block's batch part, each computed
    // once; four consecutive rows (or columns) go out as one `float4` when they are
    // consecutive in the layout.
    let strides = layout_strides(k);
    let part = |dims: &[usize]| -> String {
        let terms: Vec<String> = dims
            .iter()
            .map(|&p| format!("{} * o{p}", strides[p]))
            .collect();
        if terms.is_empty() {
            "0".into()
        } else {
            terms.join(" + ")
        }
    };
    let inner = k.layout.last().copied();
    let width = |dims: &[usize], v: u32| -> u32 {
        let fits = |w: u32| {
            v.is_multiple_of(w)
                && dims
                    .last()
                    .is_some_and(|&d| Some(d) == inner && k.shape[d].is_multiple_of(w as u64))
        };
        [4, 2].into_iter().find(|&w| fits(w)).unwrap_or(1)
    };
    let (wr, wc) = (width(&c.m_dims, vm), width(&c.n_dims, vn));
    // Vectorize along rows, else along columns.
    let (wr, wc) = if wr > 1 { (wr, 1) } else { (1, wc) };
    let _ = writeln!(
        src,
        "    const {idx} zo = split * {total} + {};",
        part(&c.z_dims)
    );
    // Per row (`m`, counter `i`) and per column (`n`, counter `j`): validity and offset.
    let offsets =
        |src: &mut String, x: &str, i: &str, count: u32, v: u32, stride: u32, th: &str| {
            let (dims, extent, base) = if x == "m" {
                (&c.m_dims, c.m, "m0")
            } else {
                (&c.n_dims, c.n, "n0")
            };
            let _ = writeln!(src, "    {idx} {x}o[{count}]; bool {x}ok[{count}];");
            let _ = writeln!(src, "    #pragma unroll");
            let _ = writeln!(src, "    for (int {i} = 0; {i} < {count}; ++{i}) {{");
            let _ = writeln!(
                src,
                "        {idx} {x}{i} = {base} + ({i} / {v}) * {stride} + {th} * {v} + ({i} % {v});"
            );
            let _ = writeln!(src, "        {x}ok[{i}] = {x}{i} < {extent};");
            let _ = writeln!(src, "        if (!{x}ok[{i}]) {x}{i} = 0;");
            k.unflatten("        ", &format!("{x}{i}"), dims, src);
            let _ = writeln!(src, "        (void){x}{i};");
            let _ = writeln!(src, "        {x}o[{i}] = {};", part(dims));
            let _ = writeln!(src, "    }}");
        };
    offsets(src, "m", "i", tm, vm, bm / gm, "tmi");
    offsets(src, "n", "j", tn, vn, bn / gn, "tni");
    let lanes = |w: u32, f: &dyn Fn(u32) -> String| -> String {
        (0..w).map(f).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(src, "    #pragma unroll");
    let _ = writeln!(src, "    for (int i = 0; i < {tm}; i += {wr})");
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(src, "        for (int j = 0; j < {tn}; j += {wc})");
    let target = "out + zo + mo[i] + no[j]";
    let line = match (wr, wc) {
        (1, 1) => "out[zo + mo[i] + no[j]] = acc[i][j];".to_string(),
        (w, 1) => format!(
            "*reinterpret_cast<float{w} *>({target}) = make_float{w}({});",
            lanes(w, &|q| format!("acc[i + {q}][j]"))
        ),
        (_, w) => format!(
            "*reinterpret_cast<float{w} *>({target}) = make_float{w}({});",
            lanes(w, &|q| format!("acc[i][j + {q}]"))
        ),
    };
    let _ = writeln!(src, "            if (mok[i] && nok[j]) {line}");
    let _ = writeln!(src, "}}");
}

/// The stride of each result position in the stage's layout (row-major over the layout).
fn layout_strides(k: &KernelSource<'_>) -> Vec<u64> {
    let mut strides = vec![0u64; k.shape.len()];
    let mut s = 1u64;
    for &p in k.layout.iter().rev() {
        strides[p] = s;
        s *= k.shape[p];
    }
    strides
}

/// Emits the kernel adding `splits` partial results of `total` elements, in order.
pub(crate) fn emit_split_sum(src: &mut String, name: &str, total: u64, splits: u32, idx: &str) {
    let _ = writeln!(
        src,
        "extern \"C\" __global__ void {name}(const float *__restrict__ part, float *__restrict__ out)"
    );
    let _ = writeln!(src, "{{");
    let _ = writeln!(
        src,
        "    for ({idx} t = ({idx})blockIdx.x * blockDim.x + threadIdx.x; t < ({idx}){total}; t += ({idx})gridDim.x * blockDim.x) {{"
    );
    let _ = writeln!(src, "        float s = 0.0f;");
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(
        src,
        "        for (int q = 0; q < {splits}; ++q) s += part[({idx})q * {total} + t];"
    );
    let _ = writeln!(src, "        out[t] = s;");
    let _ = writeln!(src, "    }}");
    let _ = writeln!(src, "}}");
}
