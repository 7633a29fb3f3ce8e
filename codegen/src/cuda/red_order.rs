//! The reduction order of a tensor-core stage. Reductions are summed in any order (the sum is
//! the same up to rounding); the order decides which reduction index varies fastest along a
//! load slice. When the `M`-side operand is loaded along the reduction and its innermost axis
//! is one reduction read plainly (the channels of a channels-last convolution's input), that
//! reduction goes last, so that consecutive reduction indices are consecutive elements and the
//! loads can move several at once (`tiled/side.rs`, `runs_of`).

use crate::contraction::Contraction;
use crate::cuda::kernel::Access;
use kas_primitives::{Expr, Iter};

/// The new order of a stage's `n` reductions (new position → old index), or `None` to keep
/// it.
pub(super) fn for_tensor_cores(
    c: &Contraction,
    operands: &[Access],
    n: usize,
) -> Option<Vec<usize>> {
    if c.a_m_fast {
        return None;
    }
    let Some(Expr::Iter(Iter::Red(j))) = operands.get(c.a)?.exprs.last() else {
        return None;
    };
    let j = *j;
    if j + 1 >= n {
        return None;
    }
    Some((0..n).filter(|&r| r != j).chain([j]).collect())
}

/// Where each reduction goes under `order` (`order[new] = old`): `position[old] = new`, as
/// [`kas_primitives::Expr::rename_reductions`] takes it.
pub(super) fn positions(order: &[usize]) -> Vec<usize> {
    let mut position = vec![0; order.len()];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    position
}
