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

/// `e` with reduction iterator `old` renamed to its new position (`order[new] = old`).
pub(super) fn relabel(e: &Expr, order: &[usize]) -> Expr {
    let b = |x: &Expr| Box::new(relabel(x, order));
    match e {
        Expr::Iter(Iter::Red(j)) => {
            Expr::Iter(Iter::Red(order.iter().position(|o| o == j).unwrap_or(*j)))
        }
        Expr::Iter(_) | Expr::Const(_) | Expr::Size(_) => e.clone(),
        Expr::Add(x, y) => Expr::Add(b(x), b(y)),
        Expr::Sub(x, y) => Expr::Sub(b(x), b(y)),
        Expr::Mul(x, y) => Expr::Mul(b(x), b(y)),
        Expr::Div(x, y) => Expr::Div(b(x), b(y)),
        Expr::Mod(x, y) => Expr::Mod(b(x), b(y)),
    }
}
