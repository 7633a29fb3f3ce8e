//! Address planning for the tiled kernel's loads ([`AddrPlan`]): an operand's address, and
//! each guard it applies, split into a part fixed per load slot (hoisted before the reduction
//! loop) and a part fixed per reduction index (`kk · stride`, or a table generated with the
//! kernel), with the expressions that are not affine left to load time.

use crate::cuda::kernel::Access;
use crate::linear::{Lin, red_values};
use kas_primitives::{Expr, Iter};

/// A side's load addresses split into a part per load slot and a part per reduction index.
pub(in crate::cuda) struct AddrPlan {
    /// Slot part of the affine axes (and every constant): hoisted as `<x>b[j]`.
    pub(in crate::cuda) base: Lin,
    /// `Some(s)` when the reduction part is exactly `s · kk` (no table column).
    pub(in crate::cuda) stride: Option<i64>,
    /// Axes that are not affine, `(stride, index)`, evaluated at load time.
    pub(in crate::cuda) nonlin: Vec<(u64, Expr)>,
    /// Affine guards with reduction terms: `(guard, slot part, table column, bound)`.
    pub(in crate::cuda) red_guards: Vec<(usize, Lin, usize, u64)>,
    /// Affine guards without reduction terms: folded into the slot's validity.
    pub(in crate::cuda) slot_guards: Vec<(Lin, u64)>,
    /// Guards that are not affine, evaluated at load time.
    pub(in crate::cuda) other_guards: Vec<usize>,
    /// Output positions the load-time expressions read (hoisted as `<x>o<p>[j]`).
    pub(in crate::cuda) outs: Vec<usize>,
    /// Reductions the load-time expressions read, with their table column.
    pub(in crate::cuda) reds: Vec<(usize, usize)>,
    /// Table columns per reduction index.
    pub(in crate::cuda) width: usize,
    /// The table, `K × width`, row-major (empty when `width` is 0).
    pub(in crate::cuda) table: Vec<i64>,
}

/// Largest table (entries) a side may carry.
const MAX_TABLE: usize = 1 << 17;

impl AddrPlan {
    /// The split of `acc`'s addresses and of the guards `applied` selects, for reductions of
    /// extents `red`; `None` when it would need too large a table.
    pub(in crate::cuda) fn of(
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
        let k = red.iter().try_fold(1u64, |a, &x| a.checked_mul(x))?;
        // Is the reduction part exactly `s · kk`?
        let ident = flat_stride(&red_part, red);
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

/// `Some(s)` when `part` (reduction terms only) equals `s · kk` at every flat reduction index
/// `kk` of the extents `red` (row-major, the last fastest), `s` being its value at `kk = 1`
/// (nonzero unless `part` has no terms).
///
/// Decided in closed form, at a cost independent of the extents (enumerating every `kk` spun
/// for minutes on a reduction of 2^40 elements): `part` and `s · kk` are both linear in the
/// reduction iterators, so they agree on the whole box iff they agree on each unit step, i.e.
/// iff the coefficient of every iterator of extent above 1 is `s` times the product of the
/// later extents (an iterator of extent 1 is always 0). A product that overflows cannot equal
/// an `i64` coefficient: `None`.
fn flat_stride(part: &Lin, red: &[u64]) -> Option<i64> {
    if part.terms.keys().any(|i| match i {
        Iter::Red(j) => *j >= red.len(),
        Iter::Out(_) => true,
    }) {
        return None;
    }
    let coef = |j: usize| part.terms.get(&Iter::Red(j)).copied().unwrap_or(0);
    // The value at `kk = 1`: the coefficient of the last iterator of extent above 1 (0 when
    // the reduction has fewer than two elements).
    let s = if red.contains(&0) {
        0
    } else {
        red.iter().rposition(|&e| e > 1).map_or(0, coef)
    };
    if s == 0 && !part.terms.is_empty() {
        return None;
    }
    if red.contains(&0) {
        // No reduction index at all: nothing to disagree on.
        return Some(s);
    }
    // The product of the later extents (`None` once it overflows).
    let mut later = Some(1i64);
    for j in (0..red.len()).rev() {
        if red[j] > 1 && Some(coef(j)) != later.and_then(|l| s.checked_mul(l)) {
            return None;
        }
        later = later
            .zip(i64::try_from(red[j]).ok())
            .and_then(|(l, e)| l.checked_mul(e));
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, by enumeration of every flat index (small extents only).
    fn flat_stride_enumerated(part: &Lin, red: &[u64]) -> Option<i64> {
        let first = red_values(red).nth(1).unwrap_or_else(|| vec![0; red.len()]);
        let s = part.eval_red(&first);
        (s != 0 || part.terms.is_empty()).then_some(s).filter(|&s| {
            red_values(red)
                .enumerate()
                .all(|(kk, v)| part.eval_red(&v) == s * kk as i64)
        })
    }

    #[test]
    fn the_closed_form_agrees_with_enumeration() {
        // Every extent in 1..=3 over up to three iterators, every coefficient in -1..=12 on
        // the first two: covers identity strides (e.g. 9·r0 + 3·r1 + r2), extents of 1 with any
        // coefficient, and near misses.
        let mut checked = 0;
        let mut identities = 0;
        for n in 0..=3usize {
            for code in 0..3usize.pow(n as u32) {
                let red: Vec<u64> = (0..n)
                    .map(|j| (code / 3usize.pow(j as u32) % 3) as u64 + 1)
                    .collect();
                for c0 in -1i64..=12 {
                    for c1 in -1i64..=12 {
                        for c2 in [0i64, 1, 2] {
                            let mut part = Lin::default();
                            for (j, c) in [c0, c1, c2].into_iter().enumerate().take(n) {
                                if c != 0 {
                                    part.terms.insert(Iter::Red(j), c);
                                }
                            }
                            let want = flat_stride_enumerated(&part, &red);
                            assert_eq!(flat_stride(&part, &red), want, "{part:?} over {red:?}");
                            checked += 1;
                            identities += want.is_some() as usize;
                        }
                    }
                }
            }
        }
        assert!(checked > 1000 && identities > 20, "{checked} {identities}");
    }

    #[test]
    fn huge_extents_are_decided_at_once() {
        let e = (1u64 << 40) + 1;
        let mut part = Lin::default();
        part.terms.insert(Iter::Red(0), e as i64);
        part.terms.insert(Iter::Red(1), 1);
        assert_eq!(flat_stride(&part, &[e, e]), Some(1));
        part.terms.insert(Iter::Red(0), 7);
        assert_eq!(flat_stride(&part, &[e, e]), None);
        // s · (later extents) overflows: not an identity.
        part.terms.insert(Iter::Red(0), 1);
        part.terms.insert(Iter::Red(1), 1 << 40);
        assert_eq!(flat_stride(&part, &[e, e]), None);
    }
}
