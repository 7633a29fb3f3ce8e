//! One operand of the tiled kernel ([`Side`]): its load slots, whether its loads vectorize,
//! its address table, and the hoisted decomposition of each slot's row before the reduction
//! loop (`pre`). The loads and stores of each slice are in `load.rs`.

use super::plan::AddrPlan;
use crate::cuda::kernel::{Access, KernelSource};
use crate::schedule::Tile;
use crate::tensor_core::Mma;
use kas_primitives::{Expr, Iter};
use std::fmt::Write as _;

/// The block shape an operand's load slots depend on: the threads sharing the loads and the
/// reduction slice loaded at a time (a [`Tile`] or an [`Mma`]).
pub(in crate::cuda) trait Slice {
    /// Threads per block.
    fn threads(&self) -> u32;
    /// Reduction indices per slice.
    fn bk(&self) -> u32;
    /// Rows of the `M` side.
    fn rows_m(&self) -> u32;
    /// Rows of the `N` side.
    fn rows_n(&self) -> u32;
    /// Whether a side loaded along the reduction through a table may load runs of
    /// consecutive reduction indices at once ([`runs_of`]): the tensor-core kernels (the f32
    /// tiled kernels keep their element loads there, as measured).
    fn table_runs(&self) -> bool {
        false
    }
}

impl Slice for Tile {
    fn threads(&self) -> u32 {
        Tile::threads(self)
    }
    fn bk(&self) -> u32 {
        self.bk
    }
    fn rows_m(&self) -> u32 {
        self.bm
    }
    fn rows_n(&self) -> u32 {
        self.bn
    }
}

impl Slice for Mma {
    fn threads(&self) -> u32 {
        Mma::threads(self)
    }
    fn table_runs(&self) -> bool {
        true
    }
    fn bk(&self) -> u32 {
        self.bk
    }
    fn rows_m(&self) -> u32 {
        self.bm
    }
    fn rows_n(&self) -> u32 {
        self.bn
    }
}

/// Emits one operand's load slots: their hoisted row decomposition (`pre`), the loads of the
/// slice starting at `kb` into `r<side>[j]` (`load`) and the stores into shared buffer `buf`
/// (`store`).
pub(in crate::cuda) struct Side<'a> {
    /// `a` or `b`.
    pub(in crate::cuda) tag: &'a str,
    /// The operand.
    pub(in crate::cuda) acc: &'a Access,
    /// Result positions of this side's exclusive dims.
    pub(in crate::cuda) dims: &'a [usize],
    /// Rows of the tile (`bm` or `bn`).
    pub(in crate::cuda) rows: u32,
    /// Extent of this side (`M` or `N`).
    pub(in crate::cuda) extent: u64,
    /// Whether consecutive threads load consecutive rows (else consecutive reduction indices).
    pub(in crate::cuda) row_fast: bool,
    /// Which guards this side applies.
    pub(in crate::cuda) guards: &'a [bool],
    /// Shared array name.
    pub(in crate::cuda) smem: &'a str,
    /// Block offset variable (`m0` / `n0`).
    pub(in crate::cuda) base: &'a str,
    /// Split addresses (slot part hoisted, reduction part tabulated), when they split.
    pub(in crate::cuda) plan: Option<AddrPlan>,
    /// Kernel name (for the table's name).
    pub(in crate::cuda) kernel: &'a str,
    /// Elements per load: 4 (`float4`) when four consecutive rows (or reduction indices) are
    /// consecutive and 16-byte aligned in memory, else 1.
    pub(in crate::cuda) vec: u32,
}

impl Side<'_> {
    /// Load instructions per thread per slice.
    pub(in crate::cuda) fn slots(&self, t: &dyn Slice) -> u32 {
        (self.rows * t.bk() / self.vec).div_ceil(t.threads())
    }

    /// Whether every thread's every slot is inside the tile.
    pub(in crate::cuda) fn exact(&self, t: &dyn Slice) -> bool {
        self.slots(t) * t.threads() == self.rows * t.bk() / self.vec
    }

    /// Whether `w`-wide vector loads (`float4`, `float2`) are exact for this side: along rows
    /// when consecutive rows are consecutive addresses (the innermost row dim has unit stride
    /// and an extent divisible by `w`, nothing else depends on it) and every other term keeps
    /// the alignment; along the reduction when it is exactly the unit-stride `kk` with `K`
    /// divisible by `w` and no reduction-dependent guard.
    pub(in crate::cuda) fn vectorizable(
        &self,
        k: &KernelSource<'_>,
        t: &dyn Slice,
        red_extent: u64,
        w: u32,
    ) -> bool {
        let Some(p) = &self.plan else { return false };
        let wi = w as i64;
        let quad = |v: i64| v % wi == 0;
        if !self.rows.is_multiple_of(w) || !t.bk().is_multiple_of(w) {
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
            let plain = p.nonlin.is_empty()
                && p.other_guards.is_empty()
                && red_extent.is_multiple_of(w as u64)
                && p.base.terms.values().all(|&v| quad(v))
                && quad(p.base.c);
            plain
                && match p.stride {
                    Some(1) if p.width == 0 => true,
                    Some(1) => t.table_runs() && runs_of(p, w, false),
                    None => t.table_runs() && runs_of(p, w, true),
                    _ => false,
                }
        }
    }

    /// The table's declaration (before the kernel), if this side has one.
    pub(in crate::cuda) fn table_decl(&self, src: &mut String, idx: &str) {
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

    /// Declares the slots' rows, reduction offsets, validity and hoisted address parts, and
    /// computes them once before the reduction loop.
    pub(in crate::cuda) fn pre(&self, src: &mut String, k: &KernelSource<'_>, t: &dyn Slice) {
        let Some(p) = &self.plan else {
            return self.generic_pre(src, k, t);
        };
        let (x, idx, n) = (self.tag, k.idx, self.slots(t));
        let threads = t.threads();
        let (rows, bk) = (self.rows, t.bk());
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

    /// [`Side::pre`] without an address plan: the slots' output iterators are hoisted instead.
    fn generic_pre(&self, src: &mut String, k: &KernelSource<'_>, t: &dyn Slice) {
        let (x, idx, n) = (self.tag, k.idx, self.slots(t));
        let threads = t.threads();
        let (rows, bk) = (self.rows, t.bk());
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
}

/// Whether a side loaded along the reduction can load `w` consecutive reduction indices at
/// once: every aligned run of `w` rows of its table has the same guard columns (the guards
/// hold or fail for the whole run) and, when the table carries the address (`addressed`:
/// column 0), addresses `a, a + 1, …, a + w − 1` with `a` a multiple of `w` (a gathered
/// operand whose innermost axis is the innermost reduction, e.g. the channels of a
/// channels-last convolution's input).
fn runs_of(p: &AddrPlan, w: u32, addressed: bool) -> bool {
    let (w, width) = (w as usize, p.width);
    if width == 0 {
        return !addressed;
    }
    let rows = p.table.len() / width;
    if !rows.is_multiple_of(w) {
        return false;
    }
    let at = |r: usize, c: usize| p.table[r * width + c];
    (0..rows).step_by(w).all(|r| {
        let first = at(r, 0);
        (!addressed || first.rem_euclid(w as i64) == 0)
            && (1..w).all(|j| {
                (!addressed || at(r + j, 0) == first + j as i64)
                    && p.red_guards
                        .iter()
                        .all(|&(_, _, c, _)| at(r + j, c) == at(r, c))
            })
    })
}
