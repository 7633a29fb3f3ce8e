//! Tests of the channel-order candidates.

use super::*;
use crate::random::{RandomConfig, random_operator};

#[test]
fn debug_candidates() {
    for seed in 0..400 {
        let op = random_operator(seed, &RandomConfig::default());
        for side in [Side::Output, Side::Input] {
            let ts = trees(&op, side);
            for o in order_choices(&ts, MAX_ORDERS) {
                let (m, _) = rewrite(&op, side, &ts, &o);
                if let Err(e) = m.validate() {
                    panic!("{seed} {side:?} {e:?}\n{}\n{:#?}", crate::format::write_operator("x", "", &op).unwrap_or_default(), m.ops);
                }
            }
        }
    }
}

#[test]
fn debug_58() {
    let base = crate::canon::check::trial_operator(5, 58);
    let mut r = crate::canon::mutate::rng(58);
    let (other, names) = crate::canon::mutate::exact_rewrites(&base, 1 + 58 % 3, &mut r);
    eprintln!("{names:?} {} {}", candidates(&base).len(), candidates(&other).len());
    for (c, _) in candidates(&base).into_iter().chain(candidates(&other)) {
        let ca = crate::canon::canonicalize(&c).unwrap();
        eprintln!("{}\n{}", ca.hash, ca.form.display());
    }
    eprintln!("{}", crate::format::write_operator("x", "", &other).unwrap());
}

#[test]
fn debug_count() {
    let mut miss = Vec::new();
    for i in 0..1000 {
        let base = crate::canon::check::trial_operator(5, i);
        let mut r = crate::canon::mutate::rng(i as u64);
        let (other, names) = crate::canon::mutate::exact_rewrites(&base, 1 + i % 3, &mut r);
        let (a, b) = (crate::canon::canonicalize(&base).unwrap(), crate::canon::canonicalize(&other).unwrap());
        if a.hash != b.hash { miss.push((i, names, candidates(&base).len(), candidates(&other).len())); }
    }
    eprintln!("{miss:?}");
}
