//! Operator-level equivalences that no expression rewrite can see, because they change what is
//! summed or how a weight is stored:
//!
//! * **Reduction shift** (exact): if a reduction iterator `r` of domain `D` occurs only as
//!   `(r + c) mod D` (one `c`), substituting `r ↦ (r − c) mod D` is a bijection of the sum.
//!   Occurrences that are a whole weight axis may also be `r` or `(r + c') mod D`; they
//!   become `(r + c' − c) mod D`, which the weight absorbs (a roll by `c' − c`).
//! * **Weight roll** (exact after a re-layout): a weight axis indexed by `(e + c) mod n`, with
//!   `n` the axis size, reads the weight rolled by `c` at `e mod n` (at `e` when `0 ≤ e < n`
//!   by the ranges or by a guard).
//!
//! * **Axis of size 1** (exact): every index read is in range, so it is 0.
//! * **Guarded remainder** (exact): `x mod m` is `x` and `x div m` is 0 where `0 ≤ x < m`
//!   holds whenever every guard `0 ≤ e < b` does (a guarded `e` ranges over `[0, b)`); where a
//!   guard fails the term is zero whatever the index. Likewise `(x + c) mod m` is the guarded
//!   `x + c'` when `c ≡ c' (mod m)`. A guard's own expression is simplified assuming every
//!   *other* guard.
//! * **Constant weight index** (exact after a re-layout): a weight axis indexed by a constant
//!   `c` reads one slice; rolled by `c`, the weight reads it at 0.
//! * **Offset normal form** (exact): `(x + c) mod N` with `N` one constant `n` (not a
//!   variable, whatever the bindings say) gets `c mod n` as its offset (none when that is 0, and no `mod` at all when
//!   `0 ≤ x < n`). In the e-graph this identity would make every `c + m·n` equal and let
//!   Shift composition enumerate them; here it runs once on the normal form.
//!
//! The absorptions record the roll of every weight axis, in the operator's weight and axis
//! order.

use super::bounds::{Bounds, Domains, Poly};
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

/// Whether `m` equals `n` under every valid binding.
fn same_value(d: &Domains, m: &Expr, n: Size) -> bool {
    d.expr(m).value() == Some(&Poly::monomial(n))
}

/// Whether `m` is a size that divides `n` (`n / m` has no negative exponent).
fn divides(d: &Domains, m: &Expr, n: Size) -> bool {
    let Some((s, 1)) = d.expr(m).value().and_then(Poly::single) else {
        return false;
    };
    d.whole_quotient(n, s).is_some()
}

/// Occurrences of `r`: `Err(())` if one is not `(r + c) mod E` with `E` dividing `D`;
/// otherwise the offsets.
fn shifted_uses(e: &Expr, r: Iter, dom: Size, d: &Domains, out: &mut Vec<i64>) -> Result<(), ()> {
    if let Some((x, c, m)) = shift_parts(e)
        && *x == Expr::Iter(r)
        && divides(d, m, dom)
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

/// Replaces every `(r + c) mod D` by `r` and every `(r + c) mod E` (`E` a divisor of `D`) by
/// `r mod E`: with `r ↦ (r − c) mod D`, `(r + c) mod E` is `r mod E`.
fn unshift(e: &Expr, r: Iter, dom: Size, d: &Domains) -> Expr {
    if let Some((x, _, m)) = shift_parts(e)
        && *x == Expr::Iter(r)
    {
        return if same_value(d, m, dom) {
            Expr::Iter(r)
        } else {
            Expr::Mod(Box::new(Expr::Iter(r)), Box::new(m.clone()))
        };
    }
    let b = |x: &Expr| Box::new(unshift(x, r, dom, d));
    match e {
        Expr::Iter(_) | Expr::Const(_) | Expr::Size(_) => e.clone(),
        Expr::Add(x, y) => Expr::Add(b(x), b(y)),
        Expr::Sub(x, y) => Expr::Sub(b(x), b(y)),
        Expr::Mul(x, y) => Expr::Mul(b(x), b(y)),
        Expr::Div(x, y) => Expr::Div(b(x), b(y)),
        Expr::Mod(x, y) => Expr::Mod(b(x), b(y)),
    }
}

/// The range of `x` where every guard holds: a subterm that is a guarded expression lies in
/// `[0, bound)`.
fn guarded_range(x: &Expr, d: &Domains, guards: &[(Expr, Expr)]) -> Bounds {
    let r = |y: &Expr| guarded_range(y, d, guards);
    let base = match x {
        Expr::Iter(_) | Expr::Const(_) | Expr::Size(_) => d.expr(x),
        Expr::Add(p, q) => r(p).add(&r(q)),
        Expr::Sub(p, q) => r(p).sub(&r(q)),
        Expr::Mul(p, q) => r(p).mul(&r(q)),
        Expr::Div(p, q) => r(p).div(&r(q)),
        Expr::Mod(p, q) => r(p).rem(&r(q)),
    };
    guards
        .iter()
        .filter(|(g, _)| g == x)
        .fold(base, |acc, (_, b)| {
            let lim = Bounds {
                lo: Some(Poly::constant(0)),
                hi: d.expr(b).sub(&Bounds::constant(1)).hi,
            };
            acc.meet(&lim)
        })
}

/// `x mod m → x` and `x div m → 0` wherever `0 ≤ x < m` holds when every guard does (where a
/// guard fails the term is zero whatever the index).
fn guarded(x: &Expr, d: &Domains, guards: &[(Expr, Expr)]) -> Expr {
    let b = |y: &Expr| Box::new(guarded(y, d, guards));
    let y = match x {
        Expr::Iter(_) | Expr::Const(_) | Expr::Size(_) => return x.clone(),
        Expr::Add(p, q) => Expr::Add(b(p), b(q)),
        Expr::Sub(p, q) => Expr::Sub(b(p), b(q)),
        Expr::Mul(p, q) => Expr::Mul(b(p), b(q)),
        Expr::Div(p, q) => Expr::Div(b(p), b(q)),
        Expr::Mod(p, q) => Expr::Mod(b(p), b(q)),
    };
    if let Expr::Mod(p, m) = &y
        && let Some(g) = congruent_guard(p, m, d, guards)
    {
        return g;
    }
    match &y {
        Expr::Mod(p, m) | Expr::Div(p, m) if guarded_range(p, d, guards).within(&d.expr(m)) => {
            if matches!(y, Expr::Mod(..)) {
                (**p).clone()
            } else {
                Expr::Const(0)
            }
        }
        _ => y,
    }
}

/// `x + c` as `(x, c)` (`c = 0` when `e` is not a sum with a constant).
fn offset_parts(e: &Expr) -> (&Expr, i64) {
    match e {
        Expr::Add(x, c) => match **c {
            Expr::Const(c) => (x, c),
            _ => (e, 0),
        },
        _ => (e, 0),
    }
}

/// A guard `0 ≤ x + c' < m` for `(x + c) mod m` with `c ≡ c' (mod m)` under every valid
/// binding (`c = c'`, or `m` one constant that divides `c − c'`): where the guard holds, the
/// remainder is the guarded expression.
fn congruent_guard(p: &Expr, m: &Expr, d: &Domains, guards: &[(Expr, Expr)]) -> Option<Expr> {
    let (x, c) = offset_parts(p);
    let mr = d.expr(m);
    if !mr.positive() {
        return None;
    }
    let mv = mr.value()?.clone();
    guards.iter().find_map(|(g, b)| {
        let (xg, cg) = offset_parts(g);
        let diff = c as i128 - cg as i128;
        let congruent = diff == 0
            || mv
                .as_constant()
                .is_some_and(|n| diff.rem_euclid(n as i128) == 0);
        let same = xg == x && d.expr(b).value() == Some(&mv) && congruent;
        same.then(|| g.clone())
    })
}

/// The offset normal form of `e` (bottom-up).
fn offsets(e: &Expr, d: &Domains) -> Expr {
    let b = |x: &Expr| Box::new(offsets(x, d));
    let e = match e {
        Expr::Iter(_) | Expr::Const(_) | Expr::Size(_) => return e.clone(),
        Expr::Add(x, y) => Expr::Add(b(x), b(y)),
        Expr::Sub(x, y) => Expr::Sub(b(x), b(y)),
        Expr::Mul(x, y) => Expr::Mul(b(x), b(y)),
        Expr::Div(x, y) => Expr::Div(b(x), b(y)),
        Expr::Mod(x, y) => Expr::Mod(b(x), b(y)),
    };
    let Expr::Mod(a, m) = &e else { return e };
    let Some(n) = d.expr(m).exact().filter(|&n| n >= 1) else {
        return e;
    };
    let x = match &**a {
        Expr::Add(x, c) => match **c {
            Expr::Const(c) if c.rem_euclid(n) == 0 => (**x).clone(),
            Expr::Const(c) => Expr::Add(x.clone(), Box::new(Expr::Const(c.rem_euclid(n)))),
            _ => return e,
        },
        x => x.clone(),
    };
    if d.expr(&x).within(&Bounds::constant(n)) {
        x
    } else {
        Expr::Mod(Box::new(x), m.clone())
    }
}

/// Applies the offset normal form and both absorptions to `n` in place; returns the roll of every weight axis
/// (`rolls[w][a]`, operator order). `sizes[t][a]` is the size of each tensor axis (input
/// first).
pub fn absorb(n: &mut Normal, d: &Domains, sizes: &[Vec<Size>]) -> Vec<Vec<Expr>> {
    let weight_sizes = &sizes[1..];
    let mut rolls: Vec<Vec<Expr>> = weight_sizes
        .iter()
        .map(|w| vec![Expr::Const(0); w.len()])
        .collect();
    for axes in n.tensors.iter_mut() {
        for e in axes.iter_mut() {
            *e = offsets(e, d);
        }
    }
    for (e, b) in n.guards.iter_mut() {
        *e = offsets(e, d);
        *b = offsets(b, d);
    }
    // Every index the interpreter reads is in range, so an axis of size 1 is read at 0.
    for (axes, sz) in n.tensors.iter_mut().zip(sizes) {
        for (e, &s) in axes.iter_mut().zip(sz) {
            if d.size(s).exact() == Some(1) {
                *e = Expr::Const(0);
            }
        }
    }
    // Each guard may assume every other guard (if another fails, the term is zero anyway),
    // never itself.
    for i in 0..n.guards.len() {
        let others: Vec<(Expr, Expr)> = n
            .guards
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, g)| g.clone())
            .collect();
        n.guards[i].0 = guarded(&n.guards[i].0, d, &others);
    }
    let guards = n.guards.clone();
    for axes in n.tensors.iter_mut() {
        for e in axes.iter_mut() {
            *e = guarded(e, d, &guards);
        }
    }
    for (k, &dom) in d.reds.iter().enumerate() {
        let r = Iter::Red(k);
        let mut offs = Vec::new();
        let mut ok = true;
        // Whole weight axes `r` or `(r + c') mod D`: (weight, axis, c').
        let mut whole = Vec::new();
        for (t, axes) in n.tensors.iter().enumerate() {
            for (a, e) in axes.iter().enumerate() {
                if t > 0 && *e == Expr::Iter(r) {
                    whole.push((t - 1, a, 0));
                    continue;
                }
                if t > 0
                    && let Some((x, c, m)) = shift_parts(e)
                    && *x == Expr::Iter(r)
                    && same_value(d, m, dom)
                {
                    whole.push((t - 1, a, c));
                    continue;
                }
                ok &= shifted_uses(e, r, dom, d, &mut offs).is_ok();
            }
        }
        for (e, b) in &n.guards {
            ok &= shifted_uses(e, r, dom, d, &mut offs).is_ok();
            ok &= shifted_uses(b, r, dom, d, &mut offs).is_ok();
        }
        // Only whole weight axes: the weight rolls below take care of them.
        let Some(&c) = offs.first() else { continue };
        if !ok || offs.iter().any(|&x| x != c) {
            continue;
        }
        for (t, axes) in n.tensors.iter_mut().enumerate() {
            for (a, e) in axes.iter_mut().enumerate() {
                if t > 0 && whole.iter().any(|&(w, x, _)| w == t - 1 && x == a) {
                    *e = Expr::Iter(r);
                } else {
                    *e = unshift(e, r, dom, d);
                }
            }
        }
        for (e, b) in n.guards.iter_mut() {
            *e = unshift(e, r, dom, d);
            *b = unshift(b, r, dom, d);
        }
        // A whole weight axis `(r + c') mod D` now reads `(r + c' − c) mod D`: the weight
        // absorbs it as a roll.
        for (w, a, c2) in whole {
            add_roll(&mut rolls[w][a], &Expr::Const(c2), -(c as i128));
        }
    }
    for (w, axes) in n.tensors.iter_mut().skip(1).enumerate() {
        for (a, e) in axes.iter_mut().enumerate() {
            // An index that reads no iterator (a constant, or `1 mod k`: one value under each
            // binding) reads one slice: the roll brings it to 0.
            let mut its = Vec::new();
            e.iters(&mut its);
            if its.is_empty() && *e != Expr::Const(0) {
                add_roll(&mut rolls[w][a], e, 0);
                *e = Expr::Const(0);
                continue;
            }
            let Some((x, c, m)) = shift_parts(e) else {
                continue;
            };
            let size = weight_sizes[w][a];
            if !same_value(d, m, size) {
                continue;
            }
            // `(x + c) mod n = ((x mod n) + c) mod n`: the weight absorbs the offset, and reads
            // `x mod n`, or `x` where that is in range by the analysis or by a guard (where the
            // guard fails the term is zero whatever the weight holds).
            let in_range = guarded_range(x, d, &guards).within(&d.size(size));
            *e = if in_range {
                x.clone()
            } else {
                guarded(
                    &Expr::Mod(Box::new(x.clone()), Box::new(m.clone())),
                    d,
                    &guards,
                )
            };
            add_roll(&mut rolls[w][a], &Expr::Const(c), 0);
        }
    }
    rolls
}

/// `roll += by + c`, constants folded (a roll only matters modulo the axis size).
fn add_roll(roll: &mut Expr, by: &Expr, c: i128) {
    let sum = |a: &Expr, b: Expr| match (a, &b) {
        (Expr::Const(0), _) => b,
        (_, Expr::Const(0)) => a.clone(),
        (Expr::Const(x), Expr::Const(y)) if x.checked_add(*y).is_some() => Expr::Const(x + y),
        _ => Expr::Add(Box::new(a.clone()), Box::new(b)),
    };
    // `c` lies in [−2^63, 2^63]: each half fits in an i64.
    for t in [
        by.clone(),
        Expr::Const((c / 2) as i64),
        Expr::Const((c - c / 2) as i64),
    ] {
        *roll = sum(roll, t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canon::rules::testing::domains;

    fn it(i: Iter) -> Expr {
        Expr::Iter(i)
    }
    fn add(a: Expr, b: Expr) -> Expr {
        Expr::Add(Box::new(a), Box::new(b))
    }
    fn md(a: Expr, b: Expr) -> Expr {
        Expr::Mod(Box::new(a), Box::new(b))
    }
    fn c(x: i64) -> Expr {
        Expr::Const(x)
    }

    /// Runs the passes on one input axis and one weight axis.
    fn run(input: Expr, weight: Expr, wsize: &str, guards: Vec<(Expr, Expr)>) -> (Normal, i64) {
        let (v, d) = domains();
        let mut n = Normal {
            tensors: vec![vec![input], vec![weight]],
            guards,
        };
        let sizes = vec![vec![v.size("N").unwrap()], vec![v.size(wsize).unwrap()]];
        let rolls = absorb(&mut n, &d, &sizes);
        let roll = match rolls[0][0] {
            Expr::Const(x) => x,
            ref e => panic!("a symbolic roll {e:?}"),
        };
        (n, roll)
    }

    fn size(name: &str) -> Expr {
        Expr::Size(domains().0.size(name).unwrap())
    }

    #[test]
    fn offsets_reduce_modulo_a_constant_only() {
        let (n, _) = run(
            md(add(it(Iter::Out(2)), c(7)), c(3)),
            it(Iter::Out(1)),
            "B",
            vec![],
        );
        assert_eq!(n.tensors[0][0], md(add(it(Iter::Out(2)), c(1)), c(3)));
        // N is a variable: 7 mod N is not one constant.
        let e = md(add(it(Iter::Out(2)), c(7)), size("N"));
        let (n, _) = run(e.clone(), it(Iter::Out(1)), "B", vec![]);
        assert_eq!(n.tensors[0][0], e);
    }

    #[test]
    fn reduction_shift_is_absorbed_only_when_every_use_is_shifted() {
        let r = Iter::Red(1);
        let shifted = md(add(it(r), c(2)), size("N"));
        let (n, roll) = run(shifted.clone(), it(r), "N", vec![]);
        assert_eq!(
            (n.tensors[0][0].clone(), n.tensors[1][0].clone(), roll),
            (it(r), it(r), -2)
        );
        // `r` is also read bare inside the input index: no bijection removes both.
        let both = add(shifted.clone(), it(r));
        let (n, _) = run(both.clone(), it(r), "N", vec![]);
        assert_eq!(n.tensors[0][0], both);
    }

    #[test]
    fn weight_roll_needs_the_axis_size_as_modulus() {
        let o = it(Iter::Out(1));
        let (n, roll) = run(
            it(Iter::Out(2)),
            md(add(o.clone(), c(1)), size("B")),
            "B",
            vec![],
        );
        assert_eq!((n.tensors[1][0].clone(), roll), (o.clone(), 1));
        // Modulo A on an axis of size B: not a roll of that axis.
        let e = md(add(o, c(1)), size("A"));
        let (n, roll) = run(it(Iter::Out(2)), e.clone(), "B", vec![]);
        assert_eq!((n.tensors[1][0].clone(), roll), (e, 0));
    }

    #[test]
    fn guarded_remainder_needs_the_guard() {
        let x = add(it(Iter::Out(2)), it(Iter::Out(0)));
        let e = md(x.clone(), size("N"));
        let (n, _) = run(
            e.clone(),
            it(Iter::Out(1)),
            "B",
            vec![(x.clone(), size("N"))],
        );
        assert_eq!(n.tensors[0][0], x);
        let (n, _) = run(e.clone(), it(Iter::Out(1)), "B", vec![]);
        assert_eq!(n.tensors[0][0], e);
    }

    #[test]
    fn constant_weight_index_and_size_one_axes() {
        let (n, roll) = run(it(Iter::Out(2)), c(2), "B", vec![]);
        assert_eq!((n.tensors[1][0].clone(), roll), (c(0), 2));
        // An input axis of size N is not touched; a weight axis of size 1 reads 0.
        let (n, _) = run(it(Iter::Out(2)), it(Iter::Out(1)), "B/B", vec![]);
        assert_eq!(n.tensors[0][0], it(Iter::Out(2)));
        assert_eq!(n.tensors[1][0], c(0));
    }
}
