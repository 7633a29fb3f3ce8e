//! The reference interpreter of graph kernels, in f64: linear nodes go through the operator
//! interpreter ([`kas_primitives::interpret`]), every other node through naive loops written
//! straight from its definition ([`crate::NodeOp`]). Obviously correct rather than fast.

use crate::error::{GraphError, Result};
use crate::kernel::GraphKernel;
use crate::node::{FoldKind, NodeOp};
use kas_primitives::tensor::for_each_index;
use kas_primitives::{Binding, Tensor};

/// Most elements of any one tensor the interpreter allocates.
pub const MAX_ELEMENTS: usize = 50_000_000;

/// Most multiply-adds of one matrix product node.
pub const MAX_BMM_POINTS: u128 = 20_000_000_000;

/// The weights of every node (an empty list for non-linear nodes), random in `[-1, 1)`: node
/// `k`'s weight `t` has seed `seed + 16·k + t`.
pub fn random_weights(g: &GraphKernel, b: &Binding, seed: u64) -> Result<Vec<Vec<Tensor>>> {
    g.nodes
        .iter()
        .enumerate()
        .map(|(k, n)| match &n.op {
            NodeOp::Linear(op) => (0..op.weights.len())
                .map(|w| {
                    let shape = op.concrete(&op.weights[w], b)?;
                    let s = seed.wrapping_add(16 * k as u64 + w as u64);
                    Ok(Tensor::random(&shape, s))
                })
                .collect::<Result<Vec<_>>>(),
            _ => Ok(Vec::new()),
        })
        .collect()
}

/// Evaluates `g` under binding `b` on `input`, with `weights[k]` the weights of node `k`.
pub fn evaluate(
    g: &GraphKernel,
    b: &Binding,
    input: &Tensor,
    weights: &[Vec<Tensor>],
) -> Result<Tensor> {
    let values = evaluate_all(g, b, input, weights)?;
    Ok(values
        .into_iter()
        .nth(g.output.index())
        .expect("output node exists"))
}

/// How far `g`'s exact output under `b` moves when its data move by one f32 rounding: the
/// largest relative change ([`Tensor::rel_err`] against `want`, the output on `input` and
/// `weights`) over `draws` seeded draws in which every input and weight value is multiplied
/// by `1 ± 2⁻²⁴` (sign at random). A well-conditioned kernel moves by about 1e-7; one whose
/// output cancels moves by as much as an f32 backend's rounding can, so its f32 result cannot
/// be held to the usual tolerance.
pub fn f32_sensitivity(
    g: &GraphKernel,
    b: &Binding,
    input: &Tensor,
    weights: &[Vec<Tensor>],
    want: &Tensor,
    draws: u64,
    seed: u64,
) -> Result<f64> {
    use rand::{RngExt, SeedableRng};
    let mut worst = 0.0f64;
    for d in 0..draws {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed.wrapping_add(d));
        let mut nudge = |t: &Tensor| Tensor {
            shape: t.shape.clone(),
            data: t
                .data
                .iter()
                .map(|&v| {
                    let u = f64::from(f32::EPSILON) / 2.0;
                    if rng.random_bool(0.5) {
                        v * (1.0 + u)
                    } else {
                        v * (1.0 - u)
                    }
                })
                .collect(),
        };
        let x = nudge(input);
        let w: Vec<Vec<Tensor>> = weights
            .iter()
            .map(|ws| ws.iter().map(&mut nudge).collect())
            .collect();
        let y = evaluate(g, b, &x, &w)?;
        worst = worst.max(y.rel_err(want));
    }
    Ok(worst)
}

/// The value of every node (see [`evaluate`]).
pub fn evaluate_all(
    g: &GraphKernel,
    b: &Binding,
    input: &Tensor,
    weights: &[Vec<Tensor>],
) -> Result<Vec<Tensor>> {
    if weights.len() != g.nodes.len() {
        return Err(GraphError::InvalidGraph(format!(
            "{} weight lists given, the kernel has {} nodes",
            weights.len(),
            g.nodes.len()
        )));
    }
    let mut values: Vec<Tensor> = Vec::with_capacity(g.nodes.len());
    for (k, n) in g.nodes.iter().enumerate() {
        let shape = g.concrete(crate::NodeId(k as u32), b)?;
        let numel = shape.iter().try_fold(1usize, |a, &x| a.checked_mul(x));
        if numel.is_none_or(|n| n > MAX_ELEMENTS) {
            return Err(GraphError::TooLarge(format!(
                "node `{}` has shape {shape:?}",
                n.name
            )));
        }
        let x = |i: usize| &values[n.inputs[i].index()];
        let v = match &n.op {
            NodeOp::Input => {
                if input.shape != shape {
                    return Err(GraphError::TensorShape {
                        what: "the input".into(),
                        got: input.shape.clone(),
                        expected: shape,
                    });
                }
                input.clone()
            }
            NodeOp::Linear(op) => {
                let mut tensors = vec![x(0).clone()];
                tensors.extend(weights[k].iter().cloned());
                kas_primitives::interpret(op, b, &tensors)?
            }
            NodeOp::Unary(u) => Tensor {
                shape,
                data: x(0).data.iter().map(|&v| u.apply(v)).collect(),
            },
            NodeOp::Fold { axes, kind } => fold(x(0), axes, *kind, &shape),
            NodeOp::Softmax { axis } => softmax(x(0), *axis),
            NodeOp::CausalSoftmax { query, key } => causal_softmax(x(0), *query, *key),
            NodeOp::PrefixMean { axis } => prefix_mean(x(0), *axis),
            NodeOp::Blend { kind, map } => {
                let (l, r) = (x(0), x(1));
                let ls = l.strides();
                let mut out = Tensor::zeros(&shape);
                let mut i = 0;
                for_each_index(&shape, |o| {
                    let off: usize = map.iter().zip(&ls).map(|(&m, &s)| o[m] * s).sum();
                    out.data[i] = kind.apply(l.data[off], r.data[i]);
                    i += 1;
                });
                out
            }
            NodeOp::Bmm {
                batch,
                lhs_contract,
                rhs_contract,
                scaled,
            } => {
                let k = lhs_contract
                    .iter()
                    .map(|&a| x(0).shape[a] as u128)
                    .product::<u128>();
                let points = k.saturating_mul(shape.iter().map(|&d| d as u128).product());
                if points > MAX_BMM_POINTS {
                    return Err(GraphError::TooLarge(format!(
                        "node `{}` takes {points} multiply-adds",
                        n.name
                    )));
                }
                let mut y = bmm(x(0), x(1), *batch, lhs_contract, rhs_contract, &shape);
                if *scaled {
                    let s = 1.0 / (k as f64).sqrt();
                    y.data.iter_mut().for_each(|v| *v *= s);
                }
                y
            }
        };
        values.push(v);
    }
    Ok(values)
}

/// Mean or maximum over `axes`.
fn fold(x: &Tensor, axes: &[usize], kind: FoldKind, shape: &[usize]) -> Tensor {
    let kept: Vec<usize> = (0..x.shape.len()).filter(|a| !axes.contains(a)).collect();
    let init = match kind {
        FoldKind::Avg => 0.0,
        FoldKind::Max => f64::NEG_INFINITY,
    };
    let mut out = Tensor {
        shape: shape.to_vec(),
        data: vec![init; shape.iter().product()],
    };
    let os = out.strides();
    let mut i = 0;
    for_each_index(&x.shape, |idx| {
        let off: usize = kept.iter().zip(&os).map(|(&a, &s)| idx[a] * s).sum();
        let v = x.data[i];
        match kind {
            FoldKind::Avg => out.data[off] += v,
            FoldKind::Max => out.data[off] = out.data[off].max(v),
        }
        i += 1;
    });
    if kind == FoldKind::Avg {
        let n: usize = axes.iter().map(|&a| x.shape[a]).product();
        for v in &mut out.data {
            *v /= n as f64;
        }
    }
    out
}

/// Softmax along `axis` (shifted by the maximum for stability).
fn softmax(x: &Tensor, axis: usize) -> Tensor {
    let len = x.shape[axis];
    softmax_prefixes(x, axis, |_| len)
}

/// Softmax along `key` over the entries whose key index is at most the query index; the
/// others are 0.
fn causal_softmax(x: &Tensor, query: usize, key: usize) -> Tensor {
    softmax_prefixes(x, key, |idx| idx[query] + 1)
}

/// Softmax along `axis` of each row's first `upto(row index)` entries (shifted by their maximum
/// for stability); the entries after them are 0.
fn softmax_prefixes(x: &Tensor, axis: usize, upto: impl Fn(&[usize]) -> usize) -> Tensor {
    let mut out = Tensor::zeros(&x.shape);
    let st = x.strides();
    let mut outer = x.shape.clone();
    outer[axis] = 1;
    for_each_index(&outer, |idx| {
        let base: usize = idx.iter().zip(&st).map(|(&i, &s)| i * s).sum();
        let at = |j: usize| base + j * st[axis];
        let upto = upto(idx);
        debug_assert!(upto <= x.shape[axis]);
        let m = (0..upto)
            .map(|j| x.data[at(j)])
            .fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = (0..upto).map(|j| (x.data[at(j)] - m).exp()).sum();
        for j in 0..upto {
            out.data[at(j)] = (x.data[at(j)] - m).exp() / sum;
        }
    });
    out
}

/// The mean of the prefix `0..=t` along `axis`, at each `t`.
fn prefix_mean(x: &Tensor, axis: usize) -> Tensor {
    let mut out = x.clone();
    let st = x.strides();
    let len = x.shape[axis];
    let mut outer = x.shape.clone();
    outer[axis] = 1;
    for_each_index(&outer, |idx| {
        let base: usize = idx.iter().zip(&st).map(|(&i, &s)| i * s).sum();
        let mut sum = 0.0;
        for j in 0..len {
            sum += x.data[base + j * st[axis]];
            out.data[base + j * st[axis]] = sum / (j + 1) as f64;
        }
    });
    out
}

/// The matrix product of [`NodeOp::Bmm`].
fn bmm(
    l: &Tensor,
    r: &Tensor,
    batch: usize,
    lc: &[usize],
    rc: &[usize],
    shape: &[usize],
) -> Tensor {
    let lfree: Vec<usize> = (batch..l.shape.len()).filter(|a| !lc.contains(a)).collect();
    let rfree: Vec<usize> = (batch..r.shape.len()).filter(|a| !rc.contains(a)).collect();
    let kshape: Vec<usize> = lc.iter().map(|&a| l.shape[a]).collect();
    let (ls, rs) = (l.strides(), r.strides());
    let mut out = Tensor::zeros(shape);
    let mut i = 0;
    for_each_index(shape, |o| {
        let mut lo = 0;
        let mut ro = 0;
        for a in 0..batch {
            lo += o[a] * ls[a];
            ro += o[a] * rs[a];
        }
        for (j, &a) in lfree.iter().enumerate() {
            lo += o[batch + j] * ls[a];
        }
        for (j, &a) in rfree.iter().enumerate() {
            ro += o[batch + lfree.len() + j] * rs[a];
        }
        let mut acc = 0.0;
        for_each_index(&kshape, |k| {
            let mut lk = lo;
            let mut rk = ro;
            for (j, &kv) in k.iter().enumerate() {
                lk += kv * ls[lc[j]];
                rk += kv * rs[rc[j]];
            }
            acc += l.data[lk] * r.data[rk];
        });
        out.data[i] = acc;
        i += 1;
    });
    out
}
