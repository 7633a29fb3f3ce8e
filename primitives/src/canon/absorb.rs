//! Operator-level equivalences that no expression rewrite can see, because they change what is
//! summed or how a weight is stored:
//!
//! * **Reduction shift** (exact): if a reduction iterator `r` of domain `D` occurs only as
//!   `(r + c) mod D` (one `c`), substituting `r ↦ (r − c) mod D` is a bijection of the sum.
//!   Occurrences that are a whole weight axis may also be bare `r`; they become
//!   `(r − c) mod D`, which the weight absorbs (a roll by `−c`).
//! * **Weight roll** (exact after a re-layout): a weight axis indexed by `(e + c) mod n`, with
//!   `n` the axis size and `0 ≤ e < n`, reads the weight rolled by `c` at `e`.
//!
//! Both record the roll of every weight axis, in the operator's weight and axis order.

use super::interval::Domains;
use super::normalize::Normal;
use crate::expr::{Expr, Iter};
use crate::size::Size;

/// `(x + c) mod m` as `(x, c, m)`.
fn shift_parts(e: &Expr) -> Option<(&Expr, i64, &Expr)> {
    if let Expr::Mod(a, m) = e
        && let Expr::Add(x, c) = &**a
        && let Expr::Const(c) = **c
    {
        return Some((x, c, m));
    }
    None
}

/// Whether `m` equals `n` under every binding.
fn same_value(d: &Domains, m: &Expr, n: Size) -> bool {
    match (d.expr(m).exact_per_binding(), d.size(n).exact_per_binding()) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Occurrences of `r`: `Err(())` if one is not `(r + c) mod D`; otherwise the offsets.
fn shifted_uses(e: &Expr, r: Iter, dom: Size, d: &Domains, out: &mut Vec<i64>) -> Result<(), ()> {
    if let Some((x, c, m)) = shift_parts(e)
        && *x == Expr::Iter(r)
        && same_value(d, m, dom)
    {
        out.push(c);
        return Ok(());
    }
    match e {
        Expr::Iter(i) if *i == r => Err(()),
        Expr::Iter(_) | Expr::Const(_) | Expr::Size(_) => Ok(()),
        Expr::Add(a, b) | Expr::Sub(a, b) | Expr::Mul(a, b) | Expr::Div(a, b) | Expr::Mod(a, b) => {
            shifted_uses(a, r, dom, d, out)?;
            shifted_uses(b, r, dom, d, out)
        }
    }
}

/// Replaces every `(r + c) mod D` by `r`.
fn unshift(e: &Expr, r: Iter) -> Expr {
    if let Some((x, _, _)) = shift_parts(e)
        && *x == Expr::Iter(r)
    {
        return Expr::Iter(r);
    }
    let b = |x: &Expr| Box::new(unshift(x, r));
    match e {
        Expr::Iter(_) | Expr::Const(_) | Expr::Size(_) => e.clone(),
        Expr::Add(x, y) => Expr::Add(b(x), b(y)),
        Expr::Sub(x, y) => Expr::Sub(b(x), b(y)),
        Expr::Mul(x, y) => Expr::Mul(b(x), b(y)),
        Expr::Div(x, y) => Expr::Div(b(x), b(y)),
        Expr::Mod(x, y) => Expr::Mod(b(x), b(y)),
    }
}

/// Applies both absorptions to `n` in place; returns the roll of every weight axis
/// (`rolls[w][a]`, operator order). `weight_sizes[w][a]` is each weight axis's size.
pub fn absorb(n: &mut Normal, d: &Domains, weight_sizes: &[Vec<Size>]) -> Vec<Vec<i64>> {
    let mut rolls: Vec<Vec<i64>> = weight_sizes.iter().map(|w| vec![0; w.len()]).collect();
    for (k, &dom) in d.reds.iter().enumerate() {
        let r = Iter::Red(k);
        let mut offs = Vec::new();
        let mut ok = true;
        let mut bare = Vec::new();
        for (t, axes) in n.tensors.iter().enumerate() {
            for (a, e) in axes.iter().enumerate() {
                if t > 0 && *e == Expr::Iter(r) {
                    bare.push((t - 1, a));
                } else {
                    ok &= shifted_uses(e, r, dom, d, &mut offs).is_ok();
                }
            }
        }
        for (e, b) in &n.guards {
            ok &= shifted_uses(e, r, dom, d, &mut offs).is_ok();
            ok &= shifted_uses(b, r, dom, d, &mut offs).is_ok();
        }
        let Some(&c) = offs.first() else { continue };
        if !ok || offs.iter().any(|&x| x != c) {
            continue;
        }
        for axes in n.tensors.iter_mut() {
            for e in axes.iter_mut() {
                *e = unshift(e, r);
            }
        }
        for (e, b) in n.guards.iter_mut() {
            *e = unshift(e, r);
            *b = unshift(b, r);
        }
        // A bare weight axis now reads `(r − c) mod D`: the weight absorbs it as a roll.
        for (w, a) in bare {
            rolls[w][a] -= c;
        }
    }
    for (w, axes) in n.tensors.iter_mut().skip(1).enumerate() {
        for (a, e) in axes.iter_mut() .enumerate() {
            let Some((x, c, m)) = shift_parts(e) else { continue };
            let size = weight_sizes[w][a];
            if same_value(d, m, size) && d.expr(x).within(&d.size(size)) && !d.is_empty() {
                let x = x.clone();
                *e = x;
                rolls[w][a] += c;
            }
        }
    }
    rolls
}
