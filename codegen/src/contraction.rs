//! A stage seen as a batched matrix product, the shape the tiled kernels need.
//!
//! A two-operand stage `S[o] = Σ_r A[idx_A(o, r)] · B[idx_B(o, r)]` splits its result dims into
//! four groups by which operand's index expressions read them:
//!
//! - `M`: read by `A` only (rows of the tile),
//! - `N`: read by `B` only (columns of the tile),
//! - `Z`: read by both, or by neither (one block column per value: a batch of products),
//!
//! and flattens its reductions into `K`. `A` is the operand whose exclusive dims are the larger
//! group under the binding. Each zero-padding guard is applied to every operand whose loads know
//! all of the guard's iterators (its `M`/`N` side, `Z` and `K`); a guard that mixes `M` and `N`
//! dims cannot be applied to either load alone, and such a stage is not tiled.

use crate::stage::Stage;
use kas_primitives::{Binding, Expr, Iter};

/// The matrix-product view of one stage under one binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contraction {
    /// Position (in the stage's operand list) of the `M`-side operand.
    pub a: usize,
    /// Position of the `N`-side operand.
    pub b: usize,
    /// Result positions of the `M` dims, in result order (the last varies fastest).
    pub m_dims: Vec<usize>,
    /// Result positions of the `N` dims, in result order.
    pub n_dims: Vec<usize>,
    /// Result positions of the `Z` dims, in result order.
    pub z_dims: Vec<usize>,
    /// Product of the `M` dims' extents.
    pub m: u64,
    /// Product of the `N` dims' extents.
    pub n: u64,
    /// Product of the `Z` dims' extents.
    pub z: u64,
    /// Product of the reductions' extents.
    pub k: u64,
    /// For each guard, whether the `A` load applies it.
    pub guard_a: Vec<bool>,
    /// For each guard, whether the `B` load applies it.
    pub guard_b: Vec<bool>,
    /// Whether `A`'s innermost axis follows an `M` dim (then consecutive threads load
    /// consecutive rows; otherwise consecutive reduction indices), in the operand's own
    /// layout (the tiled kernel re-derives it for an intermediate written in another layout).
    pub a_m_fast: bool,
    /// Whether `B`'s innermost axis follows an `N` dim.
    pub b_n_fast: bool,
}

fn outs_of(e: &Expr, into: &mut Vec<usize>) {
    let mut its = Vec::new();
    e.iters(&mut its);
    for i in its {
        if let Iter::Out(o) = i
            && !into.contains(&o)
        {
            into.push(o);
        }
    }
}

/// The first output iterator the last axis's index reads.
pub(crate) fn innermost_out(index: &[Expr]) -> Option<usize> {
    let mut outs = Vec::new();
    outs_of(index.last()?, &mut outs);
    outs.first().copied()
}

impl Contraction {
    /// The matrix-product view of `st` with result extents `shape` and reduction extents
    /// `red`; `None` for a stage that is not a two-operand product or whose guards mix both
    /// sides.
    pub fn of(st: &Stage, shape: &[u64], red: &[u64], _b: &Binding) -> Option<Contraction> {
        if st.operands.len() != 2 {
            return None;
        }
        let reads: Vec<Vec<usize>> = st
            .index
            .iter()
            .map(|idx| {
                let mut v = Vec::new();
                for e in idx {
                    outs_of(e, &mut v);
                }
                v
            })
            .collect();
        let only = |x: usize, o: usize| reads[x].contains(&o) && !reads[1 - x].contains(&o);
        let group = |x: usize| -> Vec<usize> { (0..shape.len()).filter(|&o| only(x, o)).collect() };
        let prod = |ds: &[usize]| ds.iter().map(|&d| shape[d]).product::<u64>();
        let (g0, g1) = (group(0), group(1));
        let (a, m_dims, n_dims) = if prod(&g0) >= prod(&g1) {
            (0, g0, g1)
        } else {
            (1, g1, g0)
        };
        let b = 1 - a;
        let z_dims: Vec<usize> = (0..shape.len())
            .filter(|o| !m_dims.contains(o) && !n_dims.contains(o))
            .collect();
        let mut guard_a = Vec::new();
        let mut guard_b = Vec::new();
        for g in &st.guards {
            let mut outs = Vec::new();
            outs_of(&g.expr, &mut outs);
            let to_a = outs.iter().all(|o| !n_dims.contains(o));
            let to_b = outs.iter().all(|o| !m_dims.contains(o));
            if !to_a && !to_b {
                return None;
            }
            guard_a.push(to_a);
            guard_b.push(to_b);
        }
        let a_m_fast = innermost_out(&st.index[a]).is_some_and(|o| m_dims.contains(&o));
        let b_n_fast = innermost_out(&st.index[b]).is_some_and(|o| n_dims.contains(&o));
        Some(Contraction {
            a,
            b,
            m: prod(&m_dims),
            n: prod(&n_dims),
            z: prod(&z_dims),
            k: red.iter().product(),
            m_dims,
            n_dims,
            z_dims,
            guard_a,
            guard_b,
            a_m_fast,
            b_n_fast,
        })
    }

    /// The result dims in the layout this stage writes best when its result is an
    /// intermediate: `Z`, then `N`, then `M` (so consecutive rows are consecutive in memory).
    pub fn preferred_layout(&self) -> Vec<usize> {
        let mut v = self.z_dims.clone();
        v.extend(&self.n_dims);
        v.extend(&self.m_dims);
        v
    }
}
