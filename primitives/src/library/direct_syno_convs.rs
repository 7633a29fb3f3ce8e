//! Hand-written implementations of three of Syno's shipped convolution replacements (builders
//! in `syno_convs`), independent of the interpreter: plain loops over the index formulas, with
//! explicit zero-padding checks ([`tap`]).

use super::direct::{tap, var};
use super::direct_syno::syno_sizes;
use crate::operator::Operator;
use crate::size::Binding;
use crate::tensor::Tensor;

/// The transposed 1-D conv with 2-tap mixing. Tensors `[X, B, A]` (B is attached first):
/// `X [N, C_in, H, H]`, `B [C_in, k, C_out]`, `A [C_out, s]`; output `[N, C_out, H, H]`:
///
/// `Y[n,o,h,w] = Σ_{c,b,t} X[n, c, σ(w), ⟨u_t(h) + b − k/2⟩] · B[c,b,o] · A[o,t]` with
/// `σ(w) = (w + 1) mod H` and `u_t(h) = ((s·h + t + 1) mod s·H) div s`: `h` for `t < s − 1`,
/// `σ(h)` for `t = s − 1`. The output's rows address X's columns and its columns X's rows.
pub fn syno_transposed_conv1d(op: &Operator, bd: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, ci_, co_, h_) = (
        var(op, bd, "N"),
        var(op, bd, "C_in"),
        var(op, bd, "C_out"),
        var(op, bd, "H"),
    );
    let (k, s) = (var(op, bd, "k"), var(op, bd, "s"));
    let (x, wb, wa) = (&t[0], &t[1], &t[2]);
    let mut y = Tensor::zeros(&[n_, co_, h_, h_]);
    for n in 0..n_ {
        for o in 0..co_ {
            for h in 0..h_ {
                for w in 0..h_ {
                    let row = (w + 1) % h_;
                    let mut acc = 0.0;
                    for tt in 0..s {
                        let u = ((s * h + tt + 1) % (s * h_)) / s;
                        for b in 0..k {
                            let Some(col) = tap(u, b, k, h_) else {
                                continue;
                            };
                            for c in 0..ci_ {
                                acc += x.get(&[n, c, row, col])
                                    * wb.get(&[c, b, o])
                                    * wa.get(&[o, tt]);
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

/// The Kronecker-factorised conv. Tensors `[X, A, B]` (A is attached first):
/// `X [N, C_in, H, H]`, `A [C_in/(g·s), k, k, g]`, `B [g·s, k, C_out/g]`; output
/// `[N, C_out, H, H]`:
///
/// `Y[n,o,h,w] = Σ_{ρ,c,a,b} X[n, ρ·C_in/(g·s) + c, ⟨h+a−k/2⟩, ⟨w+b−k/2⟩] · A[c,a,b,⌊o/(C_out/g)⌋] · B[ρ,b,o mod (C_out/g)]`.
pub fn syno_kronecker_conv(op: &Operator, bd: &Binding, t: &[Tensor]) -> Tensor {
    let ((n_, ci_, co_, h_), (k, s, g)) = syno_sizes(op, bd);
    let (slice, per_group) = (ci_ / (g * s), co_ / g);
    let (x, wa, wb) = (&t[0], &t[1], &t[2]);
    let mut y = Tensor::zeros(&[n_, co_, h_, h_]);
    for n in 0..n_ {
        for o in 0..co_ {
            let (grp, oo) = (o / per_group, o % per_group);
            for h in 0..h_ {
                for w in 0..h_ {
                    let mut acc = 0.0;
                    for rho in 0..g * s {
                        for c in 0..slice {
                            for a in 0..k {
                                let Some(hh) = tap(h, a, k, h_) else {
                                    continue;
                                };
                                for b in 0..k {
                                    let Some(ww) = tap(w, b, k, h_) else {
                                        continue;
                                    };
                                    acc += x.get(&[n, rho * slice + c, hh, ww])
                                        * wa.get(&[c, a, b, grp])
                                        * wb.get(&[rho, b, oo]);
                                }
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

/// The conv across channel groups. Tensors `[X, W]`: `X [N, C_in, H, H]`,
/// `W [g, k, C_in/(g·s), k, C_out/g]`; output `[N, C_out, H, H]`:
///
/// `Y[n,o,h,w] = Σ_{ρ,a,c,b} X[n, ρ·C_in/s + ⟨γ+a−k/2⟩_g·C_in/(g·s) + c, h, ⟨w+b−k/2⟩] · W[γ,a,c,b,o mod (C_out/g)]`
/// with `γ = ⌊o/(C_out/g)⌋` and `⟨·⟩_g` zero outside `[0, g)`.
pub fn syno_channel_window_conv(op: &Operator, bd: &Binding, t: &[Tensor]) -> Tensor {
    let ((n_, ci_, co_, h_), (k, s, g)) = syno_sizes(op, bd);
    let (slice, cg, per_group) = (ci_ / s, ci_ / (g * s), co_ / g);
    let (x, wt) = (&t[0], &t[1]);
    let mut y = Tensor::zeros(&[n_, co_, h_, h_]);
    for n in 0..n_ {
        for o in 0..co_ {
            let (gamma, oo) = (o / per_group, o % per_group);
            for h in 0..h_ {
                for w in 0..h_ {
                    let mut acc = 0.0;
                    for rho in 0..s {
                        for a in 0..k {
                            let Some(gi) = tap(gamma, a, k, g) else {
                                continue;
                            };
                            for c in 0..cg {
                                let ch = rho * slice + gi * cg + c;
                                for b in 0..k {
                                    let Some(ww) = tap(w, b, k, h_) else {
                                        continue;
                                    };
                                    acc += x.get(&[n, ch, h, ww]) * wt.get(&[gamma, a, c, b, oo]);
                                }
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
