//! Channel permutations along unordered (channel-like) input and output axes.
//!
//! The order of an unordered axis's coordinates carries no meaning: a permutation of its
//! channels is absorbed by the next layer (output axis) or the previous one (input axis). The
//! bijective views that build such an axis are therefore free to choose:
//!
//! * an unordered **output** axis is the root of a tree of Merge and Shift steps over some
//!   *leaves* (dims produced otherwise); its channel index is a bijection of the leaves'
//!   indices, so the Shifts can be dropped and the leaves merged in any order;
//! * an unordered **input** axis is the root of a tree of Split and Shift steps, likewise;
//! * two leaves that are the pieces of one Split (output side) or the parts of one Merge (input
//!   side) are joined into that dim (`div`/`mod` of it in the view), and the tree goes on from
//!   it: an unordered axis split and merged back in another order is a channel permutation.
//!
//! [`candidates`] rewrites every such tree into a Shift-free chain of the leaves in each order
//! (up to [`MAX_ORDERS`] combinations in all; beyond that, in the order found, which is sound
//! but may keep two equal operators apart). The canonicalizer keeps the candidate whose form
//! has the smallest encoding, and returns its [`ChannelMap`]s: per rewritten axis, the
//! permutation of channels from the operator to the canonical form. Only whole unordered axes
//! are permuted, never an axis mixed with another.

mod view;

pub use view::{ChannelMap, Side, View};

use super::mutate::relink;
use crate::graph::{DimId, Op, Sink, Source};
use crate::operator::Operator;
use crate::size::Size;

/// Most leaf-order combinations tried per operator.
pub const MAX_ORDERS: usize = 24;

/// The tree of bijective views rooted at an unordered axis.
struct Tree {
    /// Leaves, in order of first appearance in the view.
    leaves: Vec<DimId>,
    /// The steps of the tree.
    steps: Vec<usize>,
    /// The operator's view.
    view: View,
}

/// The Merge/Shift tree that produces output dim `d`; leaves are named by dim index.
fn output_tree(op: &Operator, d: DimId, steps: &mut Vec<usize>) -> View {
    if let Source::Op(k) = op.dim(d).source {
        match op.ops[k] {
            Op::Merge { outer, inner, .. } => {
                steps.push(k);
                let outer = Box::new(output_tree(op, outer, steps));
                let inner = Box::new(output_tree(op, inner, steps));
                return View::Mix { outer, inner };
            }
            // The output coordinate `o` reads `(o + c) mod N`: it is the input's minus `c`.
            Op::Shift { input, offset, .. } => {
                steps.push(k);
                let of = Box::new(output_tree(op, input, steps));
                return View::Roll {
                    of,
                    by: -(offset as i128),
                };
            }
            _ => {}
        }
    }
    View::Leaf(d.index())
}

/// The Split/Shift tree that consumes input dim `d`; leaves are named by dim index.
fn input_tree(op: &Operator, d: DimId, steps: &mut Vec<usize>) -> View {
    if let Some(Sink::Op(k)) = op.dim(d).sink {
        match op.ops[k] {
            Op::Split { outer, inner, .. } => {
                steps.push(k);
                let outer = Box::new(input_tree(op, outer, steps));
                let inner = Box::new(input_tree(op, inner, steps));
                return View::Mix { outer, inner };
            }
            Op::Shift { output, offset, .. } => {
                steps.push(k);
                let of = Box::new(input_tree(op, output, steps));
                return View::Roll {
                    of,
                    by: offset as i128,
                };
            }
            _ => {}
        }
    }
    View::Leaf(d.index())
}

/// A step that joins two leaves of a tree back into one dim: on the output side a Split whose
/// pieces are both leaves (`(step, its input, outer, inner)`), on the input side a Merge of
/// two leaves (`(step, its output, outer, inner)`).
fn joint(op: &Operator, side: Side, leaves: &[usize]) -> Option<(usize, DimId, DimId, DimId)> {
    let has = |d: DimId| leaves.contains(&d.index());
    leaves.iter().find_map(|&l| {
        let d = DimId(l as u32);
        let k = match (side, op.dim(d).source, op.dim(d).sink) {
            (Side::Output, Source::Op(k), _) | (Side::Input, _, Some(Sink::Op(k))) => k,
            _ => return None,
        };
        match (side, &op.ops[k]) {
            (
                Side::Output,
                &Op::Split {
                    input,
                    outer,
                    inner,
                },
            ) if has(outer) && has(inner) => Some((k, input, outer, inner)),
            (
                Side::Input,
                &Op::Merge {
                    outer,
                    inner,
                    output,
                },
            ) if has(outer) && has(inner) => Some((k, output, outer, inner)),
            _ => None,
        }
    })
}

/// The tree rooted at axis `d`: the bijective views, where two leaves that are the pieces of
/// one Split (output side) or the parts of one Merge (input side) are joined into that dim
/// and the walk goes on from it.
fn tree(op: &Operator, side: Side, d: DimId) -> Tree {
    let mut steps = Vec::new();
    let walk = |d: DimId, steps: &mut Vec<usize>| match side {
        Side::Input => input_tree(op, d, steps),
        Side::Output => output_tree(op, d, steps),
    };
    let mut view = walk(d, &mut steps);
    loop {
        let mut leaves = Vec::new();
        view.leaves(&mut leaves);
        let Some((k, joined, outer, inner)) = joint(op, side, &leaves) else {
            break;
        };
        steps.push(k);
        let block = op.size(inner);
        let sub = walk(joined, &mut steps);
        let hi = View::Hi {
            of: Box::new(sub.clone()),
            block,
        };
        let lo = View::Lo {
            of: Box::new(sub),
            block,
        };
        view.subst(outer.index(), &hi);
        view.subst(inner.index(), &lo);
    }
    let mut dims = Vec::new();
    view.leaves(&mut dims);
    // Leaves are named by dim index while walking; name them by position.
    view.rename(&|d| dims.iter().position(|&x| x == d).expect("a leaf"));
    Tree {
        leaves: dims.into_iter().map(|i| DimId(i as u32)).collect(),
        steps,
        view,
    }
}

/// The trees (with at least one step) of the unordered axes on one side.
fn trees(op: &Operator, side: Side) -> Vec<(usize, Tree)> {
    let axes = match side {
        Side::Input => &op.input,
        Side::Output => &op.outputs,
    };
    axes.iter()
        .enumerate()
        .filter(|&(_, &d)| op.dim(d).unordered)
        .filter_map(|(i, &d)| {
            let t = tree(op, side, d);
            (!t.steps.is_empty()).then_some((i, t))
        })
        .collect()
}

/// The steps of the trees of the unordered axes on one side (Merges and Shifts toward an
/// output, Splits and Shifts from an input, and the steps that join their leaves).
pub fn tree_steps(op: &Operator, side: Side) -> Vec<usize> {
    trees(op, side)
        .into_iter()
        .flat_map(|(_, t)| t.steps)
        .collect()
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out.sort();
    out
}

/// Every combination of leaf orders (one order per tree), or only the orders found when there
/// are more than `cap`.
fn order_choices(trees: &[(usize, Tree)], cap: usize) -> Vec<Vec<Vec<usize>>> {
    let total = trees
        .iter()
        .map(|(_, t)| (1..=t.leaves.len()).product::<usize>())
        .try_fold(1usize, |a, x| a.checked_mul(x));
    if !matches!(total, Some(n) if n <= cap) {
        return vec![
            trees
                .iter()
                .map(|(_, t)| (0..t.leaves.len()).collect())
                .collect(),
        ];
    }
    let mut out: Vec<Vec<Vec<usize>>> = vec![Vec::new()];
    for (_, t) in trees {
        let perms = permutations(t.leaves.len());
        out = out
            .into_iter()
            .flat_map(|o| {
                perms.iter().map(move |p| {
                    let mut o = o.clone();
                    o.push(p.clone());
                    o
                })
            })
            .collect();
    }
    out
}

fn new_dim(op: &mut Operator, size: Size, like: DimId) -> DimId {
    let base = format!("{}~{}", op.dim(like).name, op.dims.len());
    super::push_dim(op, size, base)
}

/// Makes every step input and output axis that reads `old` read `new`.
fn replace_use(op: &mut Operator, old: DimId, new: DimId) {
    let f = |d: &mut DimId| {
        if *d == old {
            *d = new;
        }
    };
    for step in op.ops.iter_mut() {
        match step {
            Op::Split { input, .. }
            | Op::Shift { input, .. }
            | Op::Stride { input, .. }
            | Op::Unfold { input, .. }
            | Op::Reduce { input } => f(input),
            Op::Merge { outer, inner, .. } => {
                f(outer);
                f(inner);
            }
            Op::Share { data, .. } => f(data),
            Op::Expand { .. } => {}
        }
    }
    op.outputs.iter_mut().for_each(f);
}

/// Drops the dims nothing refers to and renumbers the rest.
fn compact(op: &mut Operator) {
    let mut used = vec![false; op.dims.len()];
    let all = op.input.iter().chain(op.weights.iter().flatten());
    for &d in all.chain(&op.outputs) {
        used[d.index()] = true;
    }
    for step in &op.ops {
        for d in step.inputs().into_iter().chain(step.outputs()) {
            used[d.index()] = true;
        }
    }
    let mut new = vec![DimId(0); op.dims.len()];
    let mut dims = Vec::new();
    for (i, d) in op.dims.iter().enumerate() {
        if used[i] {
            new[i] = DimId(dims.len() as u32);
            dims.push(d.clone());
        }
    }
    op.dims = dims;
    let m = |d: &mut DimId| *d = new[d.index()];
    op.input.iter_mut().for_each(m);
    op.weights.iter_mut().flatten().for_each(m);
    op.outputs.iter_mut().for_each(m);
    for step in op.ops.iter_mut() {
        match step {
            Op::Split {
                input,
                outer,
                inner,
            } => [input, outer, inner].into_iter().for_each(m),
            Op::Merge {
                outer,
                inner,
                output,
            } => [outer, inner, output].into_iter().for_each(m),
            Op::Shift { input, output, .. } | Op::Stride { input, output, .. } => {
                [input, output].into_iter().for_each(m)
            }
            Op::Unfold {
                input,
                main,
                window,
            } => [input, main, window].into_iter().for_each(m),
            Op::Expand { output } => m(output),
            Op::Share {
                data,
                weight,
                output,
            } => [data, weight, output].into_iter().for_each(m),
            Op::Reduce { input } => m(input),
        }
    }
}

/// Rewrites the trees of one side into chains of their leaves in the given orders; returns
/// the operator and the channel maps.
fn rewrite(
    op: &Operator,
    side: Side,
    trees: &[(usize, Tree)],
    orders: &[Vec<usize>],
) -> (Operator, Vec<ChannelMap>) {
    let mut m = op.clone();
    let drop: Vec<usize> = trees.iter().flat_map(|(_, t)| t.steps.clone()).collect();
    let mut front = Vec::new();
    let mut back = Vec::new();
    let mut maps = Vec::new();
    for ((axis, t), order) in trees.iter().zip(orders) {
        let leaves: Vec<DimId> = order.iter().map(|&i| t.leaves[i]).collect();
        let size = |m: &Operator, ds: &[DimId]| {
            ds.iter()
                .fold(Size::ONE, |a, &d| std::ops::Mul::mul(a, m.size(d)))
        };
        match side {
            Side::Output => {
                let root = m.outputs[*axis];
                if leaves.len() == 1 {
                    m.outputs[*axis] = leaves[0];
                    m.dims[leaves[0].index()].unordered = true;
                }
                let mut cur = leaves[0];
                for (i, &l) in leaves.iter().enumerate().skip(1) {
                    let out = if i + 1 == leaves.len() {
                        root
                    } else {
                        let s = size(&m, &leaves[..=i]);
                        new_dim(&mut m, s, root)
                    };
                    back.push(Op::Merge {
                        outer: cur,
                        inner: l,
                        output: out,
                    });
                    cur = out;
                }
            }
            Side::Input => {
                let root = m.input[*axis];
                if leaves.len() == 1 {
                    replace_use(&mut m, leaves[0], root);
                }
                let mut cur = root;
                for i in 0..leaves.len().saturating_sub(1) {
                    let rest = if i + 2 == leaves.len() {
                        leaves[i + 1]
                    } else {
                        let s = size(&m, &leaves[i + 1..]);
                        new_dim(&mut m, s, root)
                    };
                    front.push(Op::Split {
                        input: cur,
                        outer: leaves[i],
                        inner: rest,
                    });
                    cur = rest;
                }
            }
        }
        maps.push(ChannelMap {
            side,
            axis: *axis,
            leaves: t.leaves.iter().map(|&d| op.size(d)).collect(),
            op: t.view.clone(),
            canon: View::chain(order),
        });
    }
    let kept = m
        .ops
        .iter()
        .enumerate()
        .filter(|(k, _)| !drop.contains(k))
        .map(|(_, s)| s.clone());
    let kept: Vec<Op> = kept.collect();
    m.ops = front.into_iter().chain(kept).chain(back).collect();
    compact(&mut m);
    relink(&mut m);
    (m, maps)
}

/// The operators to canonicalize in place of `op`, each with the channel maps from `op` to
/// it: `op` itself (no maps) when no unordered axis is built by a Merge, Split or Shift.
pub fn candidates(op: &Operator) -> Vec<(Operator, Vec<ChannelMap>)> {
    let outs = trees(op, Side::Output);
    let out_orders = order_choices(&outs, MAX_ORDERS);
    // The input trees do not depend on the output orders: one budget for all of them.
    let cap = (MAX_ORDERS / out_orders.len()).max(1);
    let mut out = Vec::new();
    for o in out_orders {
        let (m, maps) = rewrite(op, Side::Output, &outs, &o);
        let ins = trees(&m, Side::Input);
        for i in order_choices(&ins, cap) {
            let (n, more) = rewrite(&m, Side::Input, &ins, &i);
            debug_assert!(n.validate().is_ok(), "{:?}", n.validate());
            out.push((n, maps.iter().cloned().chain(more).collect()));
        }
    }
    out
}

#[cfg(test)]
mod tests;
