//! Canonical order of reduction iterators, weights and weight axes.
//!
//! Reduction iterators are first ranked by a signature that does not depend on their names
//! (domain, and every place they occur with themselves written `*` and other reductions `?`).
//! Iterators with equal signatures are tried in every order (up to [`MAX_CANDIDATES`]
//! assignments in all; beyond that, in their original order, which is sound but may keep two
//! equal operators apart); for each assignment the weights' axes and then the weights are
//! sorted by their encodings, and the assignment whose whole form has the smallest encoding
//! wins.

use super::form::{CanonicalForm, put_expr, put_size, size_token};
use super::normalize::Normal;
use super::relayout::Relayout;
use crate::expr::{Expr, Iter};
use crate::size::{Size, VarTable};

/// Most reduction assignments tried.
pub const MAX_CANDIDATES: usize = 720;

fn uses(e: &Expr, r: Iter) -> bool {
    let mut v = Vec::new();
    e.iters(&mut v);
    v.contains(&r)
}

fn signature(n: &Normal, k: usize, dom: Size) -> String {
    let r = Iter::Red(k);
    let show = |e: &Expr| {
        e.render(
            &|i| match i {
                Iter::Red(j) if j == k => "*".to_string(),
                Iter::Red(_) => "?".to_string(),
                Iter::Out(j) => format!("o{j}"),
            },
            &|s| size_token(s),
            false,
        )
    };
    let mut parts = Vec::new();
    for (t, axes) in n.tensors.iter().enumerate() {
        for (a, e) in axes.iter().enumerate() {
            if uses(e, r) {
                parts.push(if t == 0 {
                    format!("in{a}:{}", show(e))
                } else {
                    format!("w:{}", show(e))
                });
            }
        }
    }
    for (e, b) in &n.guards {
        if uses(e, r) || uses(b, r) {
            parts.push(format!("g:{}<{}", show(e), show(b)));
        }
    }
    parts.sort();
    format!("{}|{}", size_token(dom), parts.join("|"))
}

/// Every assignment of new indices to reductions that respects the signature order.
fn candidates(sigs: &[String]) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..sigs.len()).collect();
    idx.sort_by(|&a, &b| sigs[a].cmp(&sigs[b]).then(a.cmp(&b)));
    // Groups of equal signatures, in rank order.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &i in &idx {
        match groups.last_mut() {
            Some(g) if sigs[g[0]] == sigs[i] => g.push(i),
            _ => groups.push(vec![i]),
        }
    }
    let total = groups
        .iter()
        .map(|g| (1..=g.len()).product::<usize>())
        .try_fold(1usize, |a, x| a.checked_mul(x));
    let mut orders: Vec<Vec<usize>> = vec![Vec::new()];
    for g in &groups {
        let perms = if matches!(total, Some(t) if t <= MAX_CANDIDATES) {
            permutations(g)
        } else {
            vec![g.clone()]
        };
        orders = orders
            .into_iter()
            .flat_map(|o| {
                perms.iter().map(move |p| {
                    let mut o = o.clone();
                    o.extend_from_slice(p);
                    o
                })
            })
            .collect();
    }
    // `order[rank] = old index` → `new[old] = rank`.
    orders
        .into_iter()
        .map(|order| {
            let mut new = vec![0; order.len()];
            for (rank, &old) in order.iter().enumerate() {
                new[old] = rank;
            }
            new
        })
        .collect()
}

fn permutations(v: &[usize]) -> Vec<Vec<usize>> {
    if v.len() <= 1 {
        return vec![v.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..v.len() {
        let mut rest = v.to_vec();
        let x = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, x);
            out.push(p);
        }
    }
    out
}

/// What the ordering needs to know about the operator besides its normal expressions.
pub struct Shape<'a> {
    /// Variables.
    pub vars: &'a VarTable,
    /// Output sizes and channel-like flags.
    pub outputs: Vec<(Size, bool)>,
    /// Reduction domains (operator order).
    pub reds: Vec<Size>,
    /// Input axis sizes and channel-like flags.
    pub input: Vec<(Size, bool)>,
    /// Weight axis sizes (operator order).
    pub weights: Vec<Vec<Size>>,
}

/// The canonical form and the re-layout from the operator's weights to its weights.
pub fn order(n: &Normal, shape: &Shape<'_>, rolls: &[Vec<Expr>]) -> (CanonicalForm, Relayout) {
    let sigs: Vec<String> = shape
        .reds
        .iter()
        .enumerate()
        .map(|(k, &d)| signature(n, k, d))
        .collect();
    let mut best: Option<(Vec<u8>, CanonicalForm, Relayout)> = None;
    for new in candidates(&sigs) {
        let (form, relayout) = build(n, shape, rolls, &new);
        let bytes = form.bytes();
        if best.as_ref().is_none_or(|b| bytes < b.0) {
            best = Some((bytes, form, relayout));
        }
    }
    let (_, f, r) = best.expect("at least one candidate");
    (f, r)
}

/// A weight while sorting: its key, its operator index, and `(operator axis, size, index)` per
/// axis in canonical order.
type SortedWeight = (Vec<u8>, usize, Vec<(usize, Size, Expr)>);

fn build(
    n: &Normal,
    shape: &Shape<'_>,
    rolls: &[Vec<Expr>],
    new: &[usize],
) -> (CanonicalForm, Relayout) {
    let mut reductions = vec![Size::ONE; new.len()];
    for (old, &k) in new.iter().enumerate() {
        reductions[k] = shape.reds[old];
    }
    let input = shape
        .input
        .iter()
        .zip(&n.tensors[0])
        .map(|(&(s, u), e)| (s, u, e.rename_reductions(new)))
        .collect();
    // Each weight: axes sorted by encoding.
    let mut weights: Vec<SortedWeight> = n.tensors[1..]
        .iter()
        .enumerate()
        .map(|(w, axes)| {
            let mut ax: Vec<(Vec<u8>, usize, Size, Expr)> = axes
                .iter()
                .enumerate()
                .map(|(a, e)| {
                    let e = e.rename_reductions(new);
                    let s = shape.weights[w][a];
                    let mut key = Vec::new();
                    put_size(&mut key, s);
                    put_expr(&mut key, &e);
                    (key, a, s, e)
                })
                .collect();
            ax.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.cmp(&y.1)));
            let mut key = Vec::new();
            for x in &ax {
                key.extend_from_slice(&x.0);
            }
            (
                key,
                w,
                ax.into_iter().map(|(_, a, s, e)| (a, s, e)).collect(),
            )
        })
        .collect();
    weights.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.cmp(&y.1)));
    let relayout = Relayout {
        order: weights.iter().map(|w| w.1).collect(),
        axes: weights
            .iter()
            .map(|w| w.2.iter().map(|x| x.0).collect())
            .collect(),
        rolls: weights
            .iter()
            .map(|w| w.2.iter().map(|x| rolls[w.1][x.0].clone()).collect())
            .collect(),
        channels: Vec::new(),
    };
    let mut guards: Vec<(Vec<u8>, (Expr, Expr))> = n
        .guards
        .iter()
        .map(|(e, b)| {
            let (e, b) = (e.rename_reductions(new), b.rename_reductions(new));
            let mut key = Vec::new();
            put_expr(&mut key, &e);
            put_expr(&mut key, &b);
            (key, (e, b))
        })
        .collect();
    guards.sort_by(|x, y| x.0.cmp(&y.0));
    guards.dedup_by(|x, y| x.0 == y.0);
    let form = CanonicalForm {
        vars: shape.vars.clone(),
        outputs: shape.outputs.clone(),
        reductions,
        input,
        weights: weights
            .into_iter()
            .map(|w| w.2.into_iter().map(|(_, s, e)| (s, e)).collect())
            .collect(),
        guards: guards.into_iter().map(|g| g.1).collect(),
    };
    (form, relayout)
}
