//! Address planning for the tiled kernel's loads ([`AddrPlan`]): an operand's address, and
//! each guard it applies, split into a part fixed per load slot (hoisted before the reduction
//! loop) and a part fixed per reduction index (`kk · stride`, or a table generated with the
//! kernel), with the expressions that are not affine left to load time.

use crate::cuda::kernel::Access;
use crate::linear::{Lin, red_values};
use kas_primitives::{Expr, Iter};

/// A side's load addresses split into a part per load slot and a part per reduction index.
pub(super) struct AddrPlan {
    /// Slot part of the affine axes (and every constant): hoisted as `<x>b[j]`.
    pub(super) base: Lin,
    /// `Some(s)` when the reduction part is exactly `s · kk` (no table column).
    pub(super) stride: Option<i64>,
    /// Axes that are not affine, `(stride, index)`, evaluated at load time.
    pub(super) nonlin: Vec<(u64, Expr)>,
    /// Affine guards with reduction terms: `(guard, slot part, table column, bound)`.
    pub(super) red_guards: Vec<(usize, Lin, usize, u64)>,
    /// Affine guards without reduction terms: folded into the slot's validity.
    pub(super) slot_guards: Vec<(Lin, u64)>,
    /// Guards that are not affine, evaluated at load time.
    pub(super) other_guards: Vec<usize>,
    /// Output positions the load-time expressions read (hoisted as `<x>o<p>[j]`).
    pub(super) outs: Vec<usize>,
    /// Reductions the load-time expressions read, with their table column.
    pub(super) reds: Vec<(usize, usize)>,
    /// Table columns per reduction index.
    pub(super) width: usize,
    /// The table, `K × width`, row-major (empty when `width` is 0).
    pub(super) table: Vec<i64>,
}

/// Largest table (entries) a side may carry.
const MAX_TABLE: usize = 1 << 17;

impl AddrPlan {
    /// The split of `acc`'s addresses and of the guards `applied` selects, for reductions of
    /// extents `red`; `None` when it would need too large a table.
    pub(super) fn of(
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
