//! The re-layout a canonical form implies: which operator weight each canonical weight is, in
//! which axis order, by how much each axis is rolled, and how the channels of unordered input
//! and output axes are permuted.

use super::unordered::{ChannelMap, Side};
use crate::expr::Expr;
use crate::size::Binding;
use crate::tensor::{Tensor, for_each_index};

/// How an operator's weights map onto the canonical form's weights.
///
/// Canonical weight `j` is operator weight `order[j]`; its canonical axis `a` is axis
/// `axes[j][a]` of that operator weight; and along that axis the canonical weight is rolled:
/// `W_canon[…, i, …] = W_op[…, (i + rolls[j][a]) mod n, …]`, the roll an expression without
/// iterators (a constant, or a value such as `1 mod k` that depends on the binding). Along an unordered axis with a
/// [`ChannelMap`] `m`, with `p = m.permutation(b)`, the operator's input is the canonical input
/// with channel `j` moved to `p[j]`, and the canonical output's channel `j` is the operator's
/// output channel `p[j]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Relayout {
    /// Operator weight of each canonical weight.
    pub order: Vec<usize>,
    /// Operator axis of each canonical axis.
    pub axes: Vec<Vec<usize>>,
    /// Roll offset of each canonical axis (no iterator in it).
    pub rolls: Vec<Vec<Expr>>,
    /// Channel permutations of unordered input and output axes (none for an axis the
    /// canonicalizer left as it was).
    pub channels: Vec<ChannelMap>,
}

impl Relayout {
    /// Whether the re-layout changes nothing.
    pub fn is_identity(&self) -> bool {
        self.order.iter().enumerate().all(|(i, &w)| i == w)
            && self
                .axes
                .iter()
                .all(|a| a.iter().enumerate().all(|(i, &x)| i == x))
            && self.rolls.iter().flatten().all(|r| *r == Expr::Const(0))
            && self.channels.iter().all(ChannelMap::is_identity)
    }

    /// The operator's input tensor holding the canonical input `x` under binding `b` (`None`
    /// if a channel permutation cannot be evaluated under `b`).
    pub fn operator_input(&self, x: &Tensor, b: &Binding) -> Option<Tensor> {
        self.permute(Side::Input, x, b, true)
    }

    /// The canonical output holding the operator's output `y` under binding `b`.
    pub fn canonical_output(&self, y: &Tensor, b: &Binding) -> Option<Tensor> {
        self.permute(Side::Output, y, b, false)
    }

    /// Applies the channel maps of one side: `scatter` moves channel `j` to `p[j]`, otherwise
    /// channel `j` is taken from `p[j]`.
    fn permute(&self, side: Side, t: &Tensor, b: &Binding, scatter: bool) -> Option<Tensor> {
        let mut cur = t.clone();
        for m in self.channels.iter().filter(|m| m.side == side) {
            let p = m.permutation(b)?;
            if cur.shape.get(m.axis) != Some(&p.len()) {
                return None;
            }
            let mut next = Tensor::zeros(&cur.shape);
            let mut other = vec![0usize; cur.shape.len()];
            for_each_index(&cur.shape, |idx| {
                other.copy_from_slice(idx);
                other[m.axis] = p[idx[m.axis]];
                if scatter {
                    *next.get_mut(&other) = cur.get(idx);
                } else {
                    *next.get_mut(idx) = cur.get(&other);
                }
            });
            cur = next;
        }
        Some(cur)
    }

    /// The operator's weights (in its order and layout) holding the same values as the
    /// canonical weights `canon` under binding `b`.
    pub fn operator_weights(&self, canon: &[Tensor], b: &Binding) -> Vec<Tensor> {
        let mut out: Vec<Option<Tensor>> = vec![None; canon.len()];
        for (j, w) in canon.iter().enumerate() {
            let axes = &self.axes[j];
            let shape: Vec<usize> = {
                let mut s = vec![0; axes.len()];
                for (a, &x) in axes.iter().enumerate() {
                    s[x] = w.shape[a];
                }
                s
            };
            let mut t = Tensor::zeros(&shape);
            let mut src = vec![0usize; axes.len()];
            let rolls: Vec<i128> = self.rolls[j]
                .iter()
                .map(|r| r.eval(b, &[], &[]) as i128)
                .collect();
            for_each_index(&shape, |idx| {
                for (a, &x) in axes.iter().enumerate() {
                    let n = shape[x] as i128;
                    src[a] = (idx[x] as i128 - rolls[a]).rem_euclid(n) as usize;
                }
                let v = w.get(&src);
                *t.get_mut(idx) = v;
            });
            out[self.order[j]] = Some(t);
        }
        out.into_iter()
            .map(|t| t.expect("the order is a permutation"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutes_and_rolls() {
        let c0 = Tensor::random_int(&[2, 3], 1);
        let c1 = Tensor::random_int(&[4], 2);
        let r = Relayout {
            order: vec![1, 0],
            axes: vec![vec![1, 0], vec![0]],
            rolls: vec![vec![Expr::Const(0), Expr::Const(1)], vec![Expr::Const(-1)]],
            channels: Vec::new(),
        };
        let b = crate::size::VarTable::default()
            .bind("b", std::iter::empty())
            .unwrap();
        let w = r.operator_weights(&[c0.clone(), c1.clone()], &b);
        // Operator weight 1 is canonical weight 0, transposed, rolled by 1 on canonical axis 1.
        assert_eq!(w[1].shape, vec![3, 2]);
        for i in 0..2 {
            for j in 0..3 {
                assert_eq!(c0.get(&[i, j]), w[1].get(&[(j + 1) % 3, i]));
            }
        }
        for i in 0..4 {
            assert_eq!(c1.get(&[i]), w[0].get(&[(i + 3) % 4]));
        }
        assert!(!r.is_identity());
    }
}
