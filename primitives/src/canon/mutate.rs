//! Primitive-level rewrites of operators, to generate test pairs for the canonicalizer.
//!
//! [`EXACT`] rewrites give an operator that computes the same function family (possibly after a
//! weight re-layout): insert Merge∘Split of a dim, insert a Shift and its inverse, split a
//! Shift in two, shift a dim just before it is reduced, roll a weight-created axis, reorder
//! independent steps (Reduce steps included), permute weights and their axes, rename dims,
//! permute the channels of an unordered axis (a Shift of it, or a Merge or Split of its
//! channels with the parts swapped), change the bracketing of a three-way Merge or Split
//! ([`ASSOCIATIVITY`]).
//! [`NEAR`] rewrites usually change the function (a Shift offset off by one, a Merge with its
//! parts swapped, a Shift of an ordered output axis): they feed the converse check, that
//! different functions never share a hash.

use super::unordered::{Side, tree_steps};
use crate::graph::{DimId, Op, Sink, Source};
use crate::operator::Operator;
use crate::size::Size;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// A named rewrite: `None` when it does not apply to the operator (or the draw).
pub type Mutation = fn(&Operator, &mut Rng) -> Option<Operator>;

/// The generator all rewrites draw from.
pub type Rng = Xoshiro256PlusPlus;

/// A seeded generator.
pub fn rng(seed: u64) -> Rng {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// Rewrites that preserve the function family.
pub const EXACT: &[(&str, Mutation)] = &[
    ("merge-split", merge_split),
    ("shift-pair", shift_pair),
    ("split-shift", split_shift),
    ("shift-reduce", shift_reduce),
    ("roll-created", roll_created),
    ("reorder", reorder),
    ("permute-weights", permute_weights),
    ("rename", rename),
    ("reassociate-merge", reassociate_merge),
    ("reassociate-split", reassociate_split),
    ("split-merge-regrouped", split_merge_regrouped),
];

/// The rewrites of [`EXACT`] that change only the bracketing of a three-way Merge or Split
/// (`kas canon --check` counts the pairs they produce separately).
pub const ASSOCIATIVITY: &[&str] = &[
    "reassociate-merge",
    "reassociate-split",
    "split-merge-regrouped",
];

/// Rewrites that permute the channels of an unordered axis (the function family is the same:
/// the next or previous layer absorbs the permutation).
pub const CHANNEL: &[(&str, Mutation)] = &[
    ("shift-unordered-output", shift_unordered_output),
    ("shift-unordered-input", shift_unordered_input),
    ("swap-unordered-merge", swap_unordered_merge),
    ("swap-unordered-split", swap_unordered_split),
];

/// Rewrites that usually change the function.
pub const NEAR: &[(&str, Mutation)] = &[
    ("shift-off-by-one", shift_off_by_one),
    ("swap-merge", swap_merge),
    ("shift-ordered-output", shift_ordered_output),
];

/// Recomputes every dim's source and sink from the tensors, steps and outputs.
pub(crate) fn relink(op: &mut Operator) {
    for (i, &d) in op.input.iter().enumerate() {
        op.dims[d.index()].source = Source::Input(i);
    }
    for (w, axes) in op.weights.iter().enumerate() {
        for (a, &d) in axes.iter().enumerate() {
            op.dims[d.index()].source = Source::Weight { weight: w, axis: a };
        }
    }
    for (k, step) in op.ops.iter().enumerate() {
        for d in step.outputs() {
            op.dims[d.index()].source = Source::Op(k);
        }
        for d in step.inputs() {
            op.dims[d.index()].sink = Some(Sink::Op(k));
        }
    }
    for (i, &d) in op.outputs.iter().enumerate() {
        op.dims[d.index()].sink = Some(Sink::Output(i));
    }
}

fn finish(mut op: Operator) -> Option<Operator> {
    relink(&mut op);
    op.validate().ok().map(|()| op)
}

fn new_dim(op: &mut Operator, size: Size, tag: &str) -> DimId {
    let base = format!("{tag}#{}", op.dims.len());
    super::push_dim(op, size, base)
}

/// Makes `new` take `old`'s place in its sink (a step or an output axis).
fn redirect(op: &mut Operator, old: DimId, new: DimId) {
    for step in op.ops.iter_mut() {
        match step {
            Op::Split { input, .. }
            | Op::Shift { input, .. }
            | Op::Stride { input, .. }
            | Op::Unfold { input, .. }
            | Op::Reduce { input } => {
                if *input == old {
                    *input = new;
                }
            }
            Op::Merge { outer, inner, .. } => {
                if *outer == old {
                    *outer = new;
                }
                if *inner == old {
                    *inner = new;
                }
            }
            Op::Share { data, .. } => {
                if *data == old {
                    *data = new;
                }
            }
            Op::Expand { .. } => {}
        }
    }
    for o in op.outputs.iter_mut() {
        if *o == old {
            *o = new;
            // The channel-like flag belongs to the output axis.
            let u = op.dims[old.index()].unordered;
            if !matches!(op.dims[old.index()].source, Source::Input(_)) {
                op.dims[old.index()].unordered = false;
            }
            op.dims[new.index()].unordered = u;
        }
    }
}

/// Position right after the step that produces `d` (0 for a tensor axis).
fn after_producer(op: &Operator, d: DimId) -> usize {
    match op.dim(d).source {
        Source::Op(k) => k + 1,
        _ => 0,
    }
}

/// Dims a view may be inserted after: not weight axes.
fn data_dims(op: &Operator) -> Vec<DimId> {
    (0..op.dims.len())
        .map(|i| DimId(i as u32))
        .filter(|&d| !matches!(op.dim(d).source, Source::Weight { .. }))
        .collect()
}

fn pick<T: Copy>(v: &[T], r: &mut Rng) -> Option<T> {
    (!v.is_empty()).then(|| v[r.random_range(0..v.len())])
}

/// Splits a dim into (G, B) and merges the pieces back.
pub fn merge_split(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let d = pick(&data_dims(op), r)?;
    let size = op.size(d);
    // B: the whole size, or one variable of it.
    let mut blocks = vec![size];
    for (kind, exps) in [
        (crate::size::VarKind::Primary, size.primary_exponents()),
        (
            crate::size::VarKind::Coefficient,
            size.coefficient_exponents(),
        ),
    ] {
        for (i, &e) in exps.iter().enumerate() {
            if e > 0 {
                blocks.push(Size::var(kind, i));
            }
        }
    }
    let b = pick(&blocks, r)?;
    let g = size.checked_div(b)?;
    let mut m = op.clone();
    let gd = new_dim(&mut m, g, "g");
    let bd = new_dim(&mut m, b, "b");
    let out = new_dim(&mut m, size, "m");
    redirect(&mut m, d, out);
    let at = after_producer(op, d);
    m.ops.insert(
        at,
        Op::Merge {
            outer: gd,
            inner: bd,
            output: out,
        },
    );
    m.ops.insert(
        at,
        Op::Split {
            input: d,
            outer: gd,
            inner: bd,
        },
    );
    finish(m)
}

fn insert_shift(op: &Operator, d: DimId, offsets: &[i64]) -> Option<Operator> {
    let mut m = op.clone();
    let at = after_producer(op, d);
    let mut cur = d;
    let mut steps = Vec::new();
    for &c in offsets {
        let next = new_dim(&mut m, op.size(d), "s");
        steps.push((cur, next, c));
        cur = next;
    }
    redirect(&mut m, d, cur);
    for (k, (input, output, offset)) in steps.into_iter().enumerate() {
        m.ops.insert(
            at + k,
            Op::Shift {
                input,
                output,
                offset,
            },
        );
    }
    finish(m)
}

/// Inserts Shift(c) then Shift(−c) after a dim (not one of size 1: there the shifted index
/// folds to 0, which equals the original only under an Unfold guard, and the canonicalizer
/// does not use equalities that hold only under a guard).
pub fn shift_pair(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let dims: Vec<DimId> = data_dims(op)
        .into_iter()
        .filter(|&d| !op.size(d).is_one())
        .collect();
    let d = pick(&dims, r)?;
    let c = r.random_range(-3i64..=3);
    insert_shift(op, d, &[c, -c])
}

/// Replaces a Shift(c) by Shift(a)∘Shift(c − a).
pub fn split_shift(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let shifts: Vec<usize> = (0..op.ops.len())
        .filter(|&k| matches!(op.ops[k], Op::Shift { .. }))
        .collect();
    let k = pick(&shifts, r)?;
    let Op::Shift {
        input,
        output,
        offset,
    } = op.ops[k]
    else {
        return None;
    };
    let a = r.random_range(-3i64..=3);
    let mut m = op.clone();
    let mid = new_dim(&mut m, op.size(input), "s");
    m.ops[k] = Op::Shift {
        input,
        output: mid,
        offset: a,
    };
    m.ops.insert(
        k + 1,
        Op::Shift {
            input: mid,
            output,
            offset: offset.checked_sub(a)?,
        },
    );
    finish(m)
}

/// Shifts a dim right before it is reduced (a sum is shift-invariant).
pub fn shift_reduce(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let reds = op.reductions();
    let d = pick(&reds, r)?;
    let c = r.random_range(1i64..=3);
    insert_shift(op, d, &[c])
}

/// Rolls an axis a weight creates (its data side is a broadcast): the weight absorbs it.
pub fn roll_created(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let created: Vec<DimId> = op
        .ops
        .iter()
        .filter_map(|s| match *s {
            Op::Share { data, output, .. }
                if matches!(op.dim(data).source, Source::Op(k) if matches!(op.ops[k], Op::Expand { .. })) =>
            {
                Some(output)
            }
            _ => None,
        })
        .collect();
    let d = pick(&created, r)?;
    let c = r.random_range(1i64..=3);
    insert_shift(op, d, &[c])
}

/// A random order of the steps that respects data flow.
pub fn reorder(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let n = op.ops.len();
    let producer = |d: DimId| match op.dim(d).source {
        Source::Op(k) => Some(k),
        _ => None,
    };
    let deps: Vec<Vec<usize>> = op
        .ops
        .iter()
        .map(|s| s.inputs().into_iter().filter_map(producer).collect())
        .collect();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let ready: Vec<usize> = (0..n)
            .filter(|&k| !done[k] && deps[k].iter().all(|&j| done[j]))
            .collect();
        let k = pick(&ready, r)?;
        done[k] = true;
        order.push(k);
    }
    let mut m = op.clone();
    m.ops = order.iter().map(|&k| op.ops[k].clone()).collect();
    finish(m)
}

/// Shuffles the weights and the axes of each weight.
pub fn permute_weights(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let mut m = op.clone();
    shuffle(&mut m.weights, r);
    for w in m.weights.iter_mut() {
        shuffle(w, r);
    }
    finish(m)
}

fn shuffle<T>(v: &mut [T], r: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = r.random_range(0..=i);
        v.swap(i, j);
    }
}

/// Gives every dim a new name.
pub fn rename(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let mut m = op.clone();
    let tag: u32 = r.random_range(0..1000);
    for (i, d) in m.dims.iter_mut().enumerate() {
        d.name = format!("v{tag}_{i}");
    }
    finish(m)
}

/// The producing step of `d`, if a step produces it.
fn producer(op: &Operator, d: DimId) -> Option<usize> {
    match op.dim(d).source {
        Source::Op(k) => Some(k),
        _ => None,
    }
}

/// Rebrackets one three-way Merge: `Merge(Merge(a, b), c)` becomes `Merge(a, Merge(b, c))` and
/// the other way round (the same mixed radix: `o = (a·B + b)·C + c = a·(B·C) + (b·C + c)`).
pub fn reassociate_merge(op: &Operator, r: &mut Rng) -> Option<Operator> {
    // (inner merge, outer merge) pairs where the inner one's output feeds the outer one.
    let nested: Vec<(usize, usize)> = (0..op.ops.len())
        .filter_map(|k2| {
            let Op::Merge { outer, inner, .. } = op.ops[k2] else {
                return None;
            };
            [outer, inner].into_iter().find_map(|d| {
                let k1 = producer(op, d)?;
                let Op::Merge {
                    outer: x, inner: y, ..
                } = op.ops[k1]
                else {
                    return None;
                };
                // Not a Merge that joins the two pieces of one Split: the canonicalizer sees an
                // unordered dim split and merged back (in either order) only through such a join
                // (`RULES.md`, "Known gaps").
                let joins = producer(op, x).is_some_and(|p| {
                    matches!(op.ops[p], Op::Split { .. }) && producer(op, y) == Some(p)
                });
                (!joins).then_some((k1, k2))
            })
        })
        .collect();
    let (k1, k2) = pick(&nested, r)?;
    let (
        Op::Merge {
            outer: x,
            inner: y,
            output: mid,
        },
        Op::Merge {
            outer,
            inner,
            output,
        },
    ) = (op.ops[k1].clone(), op.ops[k2].clone())
    else {
        return None;
    };
    let mut m = op.clone();
    // The intermediate dim is reused for the new inner merge, with its new size.
    let (first, second) = if outer == mid {
        // Merge(Merge(x, y), inner) → Merge(x, Merge(y, inner)).
        m.dims[mid.index()].size = op.size(y).checked_mul(op.size(inner))?;
        (
            Op::Merge {
                outer: y,
                inner,
                output: mid,
            },
            Op::Merge {
                outer: x,
                inner: mid,
                output,
            },
        )
    } else {
        // Merge(outer, Merge(x, y)) → Merge(Merge(outer, x), y).
        m.dims[mid.index()].size = op.size(outer).checked_mul(op.size(x))?;
        (
            Op::Merge {
                outer,
                inner: x,
                output: mid,
            },
            Op::Merge {
                outer: mid,
                inner: y,
                output,
            },
        )
    };
    m.ops[k2] = second;
    m.ops.insert(k2, first);
    m.ops.remove(k1);
    finish(m)
}

/// Rebrackets one three-way Split: `x → (m, c), m → (a, b)` becomes `x → (a, n), n → (b, c)`
/// and the other way round (`x = (a·B + b)·C + c = a·(B·C) + (b·C + c)`).
pub fn reassociate_split(op: &Operator, r: &mut Rng) -> Option<Operator> {
    // (outer split, inner split) pairs where the inner one splits a piece of the outer one.
    let nested: Vec<(usize, usize)> = (0..op.ops.len())
        .filter_map(|k2| {
            let Op::Split { input, .. } = op.ops[k2] else {
                return None;
            };
            let k1 = producer(op, input)?;
            matches!(op.ops[k1], Op::Split { .. }).then_some((k1, k2))
        })
        .collect();
    let (k1, k2) = pick(&nested, r)?;
    let (
        Op::Split {
            input,
            outer,
            inner,
        },
        Op::Split {
            input: mid,
            outer: a,
            inner: b,
        },
    ) = (op.ops[k1].clone(), op.ops[k2].clone())
    else {
        return None;
    };
    let mut m = op.clone();
    let (first, second) = if outer == mid {
        // x → (mid = a·B + b, inner) → x → (a, mid' = b·C + inner).
        m.dims[mid.index()].size = op.size(b).checked_mul(op.size(inner))?;
        (
            Op::Split {
                input,
                outer: a,
                inner: mid,
            },
            Op::Split {
                input: mid,
                outer: b,
                inner,
            },
        )
    } else {
        // x → (outer, mid = a·C + b) → x → (mid' = outer·A + a, b).
        m.dims[mid.index()].size = op.size(outer).checked_mul(op.size(a))?;
        (
            Op::Split {
                input,
                outer: mid,
                inner: b,
            },
            Op::Split {
                input: mid,
                outer,
                inner: a,
            },
        )
    };
    m.ops.remove(k2);
    m.ops[k1] = second;
    m.ops.insert(k1, first);
    finish(m)
}

/// Splits a dim of size `A·B·C` three ways and merges the pieces back in the other bracketing:
/// `x → (m, c), m → (a, b)`, then `Merge(a, Merge(b, c))` (or the mirror image). Only the
/// associativity of Merge and Split makes the result `x` again.
pub fn split_merge_regrouped(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let d = pick(&data_dims(op), r)?;
    let size = op.size(d);
    let mut vars = Vec::new();
    for (kind, exps) in [
        (crate::size::VarKind::Primary, size.primary_exponents()),
        (
            crate::size::VarKind::Coefficient,
            size.coefficient_exponents(),
        ),
    ] {
        for (i, &e) in exps.iter().enumerate() {
            for _ in 0..e.max(0) {
                vars.push(Size::var(kind, i));
            }
        }
    }
    // B and C: two variable factors of the size (A, the rest, may be 1).
    if vars.len() < 2 {
        return None;
    }
    let i = r.random_range(0..vars.len());
    let c = vars.remove(i);
    let b = vars[r.random_range(0..vars.len())];
    let a = size.checked_div(b)?.checked_div(c)?;
    let mut m = op.clone();
    let [ad, bd, cd] = [(a, "a"), (b, "b"), (c, "c")].map(|(s, t)| new_dim(&mut m, s, t));
    let left = r.random_bool(0.5);
    let (ms, ns) = if left { (a * b, b * c) } else { (b * c, a * b) };
    let mid_split = new_dim(&mut m, ms, "m");
    let mid_merge = new_dim(&mut m, ns, "n");
    let out = new_dim(&mut m, size, "o");
    redirect(&mut m, d, out);
    let steps = if left {
        // x → (m, c), m → (a, b); n = Merge(b, c), o = Merge(a, n).
        [
            Op::Split {
                input: d,
                outer: mid_split,
                inner: cd,
            },
            Op::Split {
                input: mid_split,
                outer: ad,
                inner: bd,
            },
            Op::Merge {
                outer: bd,
                inner: cd,
                output: mid_merge,
            },
            Op::Merge {
                outer: ad,
                inner: mid_merge,
                output: out,
            },
        ]
    } else {
        // x → (a, m), m → (b, c); n = Merge(a, b), o = Merge(n, c).
        [
            Op::Split {
                input: d,
                outer: ad,
                inner: mid_split,
            },
            Op::Split {
                input: mid_split,
                outer: bd,
                inner: cd,
            },
            Op::Merge {
                outer: ad,
                inner: bd,
                output: mid_merge,
            },
            Op::Merge {
                outer: mid_merge,
                inner: cd,
                output: out,
            },
        ]
    };
    let at = after_producer(op, d);
    for (k, step) in steps.into_iter().enumerate() {
        m.ops.insert(at + k, step);
    }
    finish(m)
}

/// Shifts an unordered output axis (a cyclic permutation of its channels; not one of size 1,
/// for the reason given at [`shift_pair`]).
pub fn shift_unordered_output(op: &Operator, r: &mut Rng) -> Option<Operator> {
    shift_unordered(op, &op.outputs, r)
}

/// Shifts an unordered input axis right after the input (a cyclic permutation of its
/// channels; not one of size 1, for the reason given at [`shift_pair`]).
pub fn shift_unordered_input(op: &Operator, r: &mut Rng) -> Option<Operator> {
    shift_unordered(op, &op.input, r)
}

/// Shifts one of the unordered axes among `candidates` by 1 to 3.
fn shift_unordered(op: &Operator, candidates: &[DimId], r: &mut Rng) -> Option<Operator> {
    let axes: Vec<DimId> = candidates
        .iter()
        .copied()
        .filter(|&d| op.dim(d).unordered && !op.size(d).is_one())
        .collect();
    let d = pick(&axes, r)?;
    let c = r.random_range(1i64..=3);
    insert_shift(op, d, &[c])
}

/// Swaps the parts of a Merge that builds an unordered output axis (a permutation of its
/// channels).
pub fn swap_unordered_merge(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let merges: Vec<usize> = tree_steps(op, Side::Output)
        .into_iter()
        .filter(|&k| matches!(op.ops[k], Op::Merge { .. }))
        .collect();
    let k = pick(&merges, r)?;
    let mut m = op.clone();
    if let Op::Merge { outer, inner, .. } = &mut m.ops[k] {
        std::mem::swap(outer, inner);
    }
    finish(m)
}

/// Swaps the pieces of a Split of an unordered input axis (a permutation of its channels).
pub fn swap_unordered_split(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let splits: Vec<usize> = tree_steps(op, Side::Input)
        .into_iter()
        .filter(|&k| matches!(op.ops[k], Op::Split { .. }))
        .collect();
    let k = pick(&splits, r)?;
    let mut m = op.clone();
    if let Op::Split { outer, inner, .. } = &mut m.ops[k] {
        std::mem::swap(outer, inner);
    }
    finish(m)
}

/// Shifts an ordered output axis (not of size 1): the output moves, no layer absorbs it.
pub fn shift_ordered_output(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let axes: Vec<DimId> = op
        .outputs
        .iter()
        .copied()
        .filter(|&d| !op.dim(d).unordered && !op.size(d).is_one())
        .collect();
    let d = pick(&axes, r)?;
    let c = r.random_range(1i64..=3);
    insert_shift(op, d, &[c])
}

/// Changes one Shift's offset by one.
pub fn shift_off_by_one(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let shifts: Vec<usize> = (0..op.ops.len())
        .filter(|&k| matches!(op.ops[k], Op::Shift { .. }))
        .collect();
    let k = pick(&shifts, r)?;
    let mut m = op.clone();
    if let Op::Shift { offset, .. } = &mut m.ops[k] {
        *offset = offset.checked_add(1)?;
    }
    finish(m)
}

/// Swaps the two parts of one Merge (when both orders are legal).
pub fn swap_merge(op: &Operator, r: &mut Rng) -> Option<Operator> {
    let merges: Vec<usize> = (0..op.ops.len())
        .filter(|&k| matches!(op.ops[k], Op::Merge { .. }))
        .collect();
    let k = pick(&merges, r)?;
    let mut m = op.clone();
    if let Op::Merge { outer, inner, .. } = &mut m.ops[k] {
        std::mem::swap(outer, inner);
    }
    finish(m)
}

/// Applies `count` exact rewrites drawn at random from [`EXACT`] (skipping those that do not
/// apply), then, every other time, one channel permutation from [`CHANNEL`]; returns the result
/// and the names of the rewrites applied.
pub fn exact_rewrites(op: &Operator, count: usize, r: &mut Rng) -> (Operator, Vec<&'static str>) {
    let mut cur = op.clone();
    let mut names = Vec::new();
    for _ in 0..count * 4 {
        if names.len() == count {
            break;
        }
        let (name, f) = EXACT[r.random_range(0..EXACT.len())];
        if let Some(next) = f(&cur, r) {
            cur = next;
            names.push(name);
        }
    }
    if r.random_bool(0.5) {
        for _ in 0..4 {
            let (name, f) = CHANNEL[r.random_range(0..CHANNEL.len())];
            if let Some(next) = f(&cur, r) {
                cur = next;
                names.push(name);
                break;
            }
        }
    }
    (cur, names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{RandomConfig, random_operator};

    #[test]
    fn every_rewrite_applies_and_keeps_the_operator_valid() {
        let cfg = RandomConfig::default();
        let all: Vec<_> = EXACT.iter().chain(CHANNEL).chain(NEAR).collect();
        let mut applied = vec![0; all.len()];
        for seed in 0..60 {
            let op = random_operator(seed, &cfg);
            let mut r = rng(seed);
            // Nested Merges and Splits (for the changes of bracketing) are rare in random
            // operators: try each rewrite on a regrouped split-and-merge too.
            let regrouped = split_merge_regrouped(&op, &mut r);
            for op in std::iter::once(&op).chain(&regrouped) {
                for (i, (_, f)) in all.iter().enumerate() {
                    if let Some(m) = f(op, &mut r) {
                        m.validate().unwrap();
                        applied[i] += 1;
                    }
                }
            }
        }
        for (i, (name, _)) in all.iter().enumerate() {
            assert!(applied[i] > 0, "{name} never applied");
        }
    }
}
