//! Differential check of a library operator: the reference interpreter against the entry's
//! independent direct implementation, on random float inputs under every test binding.

use super::{Entry, entries};
use crate::error::Result;
use crate::interp::{interpret, random_inputs};

/// Largest relative error (f64 against f64) accepted as a match.
pub const TOLERANCE: f64 = 1e-9;

/// The outcome of one operator under one binding.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// Name of the library entry.
    pub name: String,
    /// Name of the binding.
    pub binding: String,
    /// `rel_err(direct, interpreter)`; infinite when the output shapes differ.
    pub err: f64,
    /// Whether `err ≤` [`TOLERANCE`].
    pub ok: bool,
}

/// Builds `entry`'s operator and compares the interpreter with the direct implementation on
/// random inputs (seeded from `seed`) under each of its bindings.
pub fn check(entry: &Entry, seed: u64) -> Result<Vec<CheckReport>> {
    let op = (entry.build)()?;
    let mut reports = Vec::with_capacity(op.bindings.len());
    for (i, b) in op.bindings.iter().enumerate() {
        let s = seed.wrapping_add(1000 * i as u64);
        let inputs = random_inputs(&op, b, s, false)?;
        let reference = interpret(&op, b, &inputs)?;
        let got = (entry.direct)(&op, b, &inputs);
        let err = if got.shape == reference.shape {
            got.rel_err(&reference)
        } else {
            f64::INFINITY
        };
        reports.push(CheckReport {
            name: entry.name.to_string(),
            binding: b.name.clone(),
            err,
            ok: err <= TOLERANCE,
        });
    }
    Ok(reports)
}

/// [`check`] for every entry of the library.
pub fn check_all(seed: u64) -> Result<Vec<CheckReport>> {
    let mut all = Vec::new();
    for e in entries() {
        all.extend(check(e, seed)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::super::direct::var;
    use super::*;
    use crate::operator::Operator;
    use crate::size::Binding;
    use crate::tensor::Tensor;

    #[test]
    fn every_entry_matches_its_direct_implementation() {
        let reports = check_all(42).unwrap();
        let total: usize = entries()
            .iter()
            .map(|e| (e.build)().unwrap().bindings.len())
            .sum();
        assert_eq!(reports.len(), total);
        for r in &reports {
            assert!(r.ok, "{} under {}: err {:e}", r.name, r.binding, r.err);
        }
    }

    #[test]
    fn check_is_seed_independent() {
        for r in check(super::super::get("syno-op2").unwrap(), 9).unwrap() {
            assert!(r.ok, "{} under {}: err {:e}", r.name, r.binding, r.err);
        }
    }

    /// conv2d with a parametrised mistake: `pad` replaces `k div 2` as the window offset, and
    /// `swap` reads the weight's two window axes the wrong way round.
    fn bad_conv(op: &Operator, b: &Binding, t: &[Tensor], pad: i64, swap: bool) -> Tensor {
        let (n_, ci_, co_) = (var(op, b, "N"), var(op, b, "C_in"), var(op, b, "C_out"));
        let (h_, w_, k) = (var(op, b, "H"), var(op, b, "W"), var(op, b, "k"));
        let mut y = Tensor::zeros(&[n_, co_, h_, w_]);
        for n in 0..n_ {
            for o in 0..co_ {
                for h in 0..h_ {
                    for w in 0..w_ {
                        let mut acc = 0.0;
                        for c in 0..ci_ {
                            for a in 0..k {
                                for bb in 0..k {
                                    let hh = h as i64 + a as i64 - pad;
                                    let ww = w as i64 + bb as i64 - pad;
                                    if hh < 0 || hh >= h_ as i64 || ww < 0 || ww >= w_ as i64 {
                                        continue;
                                    }
                                    let (wa, wb) = if swap { (bb, a) } else { (a, bb) };
                                    acc += t[0].get(&[n, c, hh as usize, ww as usize])
                                        * t[1].get(&[o, c, wa, wb]);
                                }
                            }
                        }
                        *y.get_mut(&[n, o, h, w]) = acc;
                    }
                }
            }
        }
        y
    }

    fn off_by_one(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
        let k = var(op, b, "k") as i64;
        bad_conv(op, b, t, k / 2 + 1, false)
    }

    fn swapped_taps(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
        let k = var(op, b, "k") as i64;
        bad_conv(op, b, t, k / 2, true)
    }

    fn right(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
        let k = var(op, b, "k") as i64;
        bad_conv(op, b, t, k / 2, false)
    }

    fn wrong_shape(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
        let mut y = super::super::direct::conv2d(op, b, t);
        y.shape.reverse();
        y
    }

    #[test]
    fn wrong_direct_implementations_are_detected() {
        let conv = *super::super::get("conv2d").unwrap();
        // The harness itself accepts the correct variant of the parametrised loops…
        let good = Entry {
            direct: right,
            ..conv
        };
        assert!(check(&good, 3).unwrap().iter().all(|r| r.ok));
        // …and rejects each mistake under at least one binding.
        for direct in [off_by_one, swapped_taps, wrong_shape] {
            let bad = Entry { direct, ..conv };
            let reports = check(&bad, 3).unwrap();
            assert!(reports.iter().any(|r| !r.ok), "{reports:?}");
        }
    }
}
