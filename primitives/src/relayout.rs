//! The same operator with a tensor's axes in another order ([`Operator::with_axis_order`]):
//! the computation is unchanged, only the order in which the input, a weight or the output
//! lays out its axes (row-major over the new order). A channels-last convolution is the
//! NCHW one with its input and output axes in the order N, H, W, C.

use crate::error::{Error, Result};
use crate::graph::{Sink, Source};
use crate::operator::Operator;

/// Which tensor of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorRef {
    /// Tensor `t` (0 the input, `1..` the weights).
    Tensor(usize),
    /// The output.
    Output,
}

impl Operator {
    /// This operator with `which`'s axes reordered: axis `i` of the new tensor is axis
    /// `order[i]` of the old one. Errors: no such tensor, or `order` is not a permutation of
    /// its axes.
    pub fn with_axis_order(&self, which: TensorRef, order: &[usize]) -> Result<Operator> {
        let mut op = self.clone();
        let axes = match which {
            TensorRef::Output => &mut op.outputs,
            TensorRef::Tensor(0) => &mut op.input,
            TensorRef::Tensor(t) => op.weights.get_mut(t - 1).ok_or_else(|| {
                Error::InvalidOperator(format!(
                    "tensor {t} does not exist (the operator has {} weights)",
                    self.weights.len()
                ))
            })?,
        };
        let mut seen = vec![false; axes.len()];
        if order.len() != axes.len() || order.iter().any(|&i| i >= seen.len()) {
            return Err(Error::InvalidOperator(format!(
                "axis order {order:?} is not a permutation of {} axes",
                axes.len()
            )));
        }
        for &i in order {
            if std::mem::replace(&mut seen[i], true) {
                return Err(Error::InvalidOperator(format!(
                    "axis order {order:?} names axis {i} twice"
                )));
            }
        }
        *axes = order.iter().map(|&i| axes[i]).collect();
        // Each dim's link names its (new) axis position.
        let moved: Vec<_> = axes.clone();
        for (pos, d) in moved.into_iter().enumerate() {
            let dim = &mut op.dims[d.index()];
            match which {
                TensorRef::Output => dim.sink = Some(Sink::Output(pos)),
                TensorRef::Tensor(0) => dim.source = Source::Input(pos),
                TensorRef::Tensor(t) => {
                    dim.source = Source::Weight {
                        weight: t - 1,
                        axis: pos,
                    }
                }
            }
        }
        Ok(op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::{interpret, random_inputs};
    use crate::library;
    use crate::tensor::Tensor;

    /// `t` with its axes in `order` (axis `i` of the result is axis `order[i]` of `t`).
    fn permuted(t: &Tensor, order: &[usize]) -> Tensor {
        let shape: Vec<usize> = order.iter().map(|&i| t.shape[i]).collect();
        let strides: Vec<usize> = (0..t.shape.len())
            .map(|a| t.shape[a + 1..].iter().product())
            .collect();
        let mut data = Vec::with_capacity(t.data.len());
        crate::tensor::for_each_index(&shape, |v| {
            let at: usize = v.iter().zip(order).map(|(&x, &a)| x * strides[a]).sum();
            data.push(t.data[at]);
        });
        Tensor { shape, data }
    }

    #[test]
    fn a_channels_last_conv_computes_the_permuted_result() {
        let op = (library::get("conv2d").unwrap().build)().unwrap();
        let b = &op.bindings[0];
        let nhwc = [0, 2, 3, 1];
        let cl = op
            .with_axis_order(TensorRef::Tensor(0), &nhwc)
            .and_then(|o| o.with_axis_order(TensorRef::Output, &nhwc))
            .and_then(|o| o.with_axis_order(TensorRef::Tensor(1), &nhwc))
            .unwrap();
        cl.validate().unwrap();
        // Written and read back (weight axes named out of the builder's order).
        let text = crate::format::write_operator("cl", "", &cl).unwrap();
        let (_, back) = crate::format::read_operator(&text, "cl.ron").unwrap();
        assert_eq!(back.input.len(), 4);
        let xs = random_inputs(&op, b, 3, false).unwrap();
        let want = interpret(&op, b, &xs).unwrap();
        let xs_cl = vec![permuted(&xs[0], &nhwc), permuted(&xs[1], &nhwc)];
        let got = interpret(&cl, b, &xs_cl).unwrap();
        let want_cl = permuted(&want, &nhwc);
        assert_eq!(got.shape, want_cl.shape);
        assert!(got.rel_err(&want_cl) < 1e-12, "{}", got.rel_err(&want_cl));
    }

    #[test]
    fn orders_that_are_not_permutations_are_refused() {
        let op = (library::get("conv2d").unwrap().build)().unwrap();
        for (which, order) in [
            (TensorRef::Tensor(0), vec![0, 1, 2]),
            (TensorRef::Tensor(0), vec![0, 1, 1, 2]),
            (TensorRef::Output, vec![0, 1, 2, 4]),
            (TensorRef::Tensor(5), vec![0]),
        ] {
            assert!(op.with_axis_order(which, &order).is_err(), "{order:?}");
        }
    }
}
