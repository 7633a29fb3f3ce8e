//! Hand-written implementations of Syno's operators (`docs/ARCHITECTURE.md`, "Syno's
//! operators"), independent of the interpreter: Operators 1 and 2 are computed in the two
//! stages of Syno's generated PyTorch code, the GPT-2 QKV operator as a tied two-slice linear
//! map.

use super::direct::var;
use crate::operator::Operator;
use crate::size::Binding;
use crate::tensor::Tensor;

/// Syno's Operator 1. Tensors `[X, B, A]` (B is attached first): `X [N, C_in, H, H]`,
/// `B [C_in, k, m]` (input channel, W tap, bottleneck channel) and `A [g, k, k, C_out, m]`
/// (group, H tap, W tap, output channel, bottleneck channel), `m = C_out/(g·s)`; output
/// `[N, C_out, H, H]`:
///
/// `Y[n,o,h,w] = Σ_{γ,c,a,b,μ} X[n, γ·C_in/g + c, ⟨h+a−1⟩, ⟨w+b−1⟩] · A[γ,a,b,o,μ] · B[γ·C_in/g + c, b, μ]`
/// (with `k = 3`; in general the taps are offset by `k div 2`).
pub fn syno_op1(op: &Operator, bd: &Binding, t: &[Tensor]) -> Tensor {
    let ((n_, ci_, co_, h_), (k, s, g)) = syno_sizes(op, bd);
    let (cig, m_) = (ci_ / g, co_ / (g * s));
    let half = (k / 2) as i64;
    let (x, wb, wa) = (&t[0], &t[1], &t[2]);
    // Stage 1: grouped channel compression C_in → g·m, keeping the W tap b:
    // T[n, γ, μ, h, w, b] = Σ_c X[n, γ·C_in/g + c, h, ⟨w + b − k/2⟩] · B[γ·C_in/g + c, b, μ].
    let mut tt = Tensor::zeros(&[n_, g, m_, h_, h_, k]);
    for n in 0..n_ {
        for grp in 0..g {
            for mu in 0..m_ {
                for h in 0..h_ {
                    for w in 0..h_ {
                        for b in 0..k {
                            let ww = w as i64 + b as i64 - half;
                            if ww < 0 || ww >= h_ as i64 {
                                continue;
                            }
                            let mut acc = 0.0;
                            for c in 0..cig {
                                let ch = grp * cig + c;
                                acc += x.get(&[n, ch, h, ww as usize]) * wb.get(&[ch, b, mu]);
                            }
                            *tt.get_mut(&[n, grp, mu, h, w, b]) = acc;
                        }
                    }
                }
            }
        }
    }
    // Stage 2: a k×k conv over the compressed channels whose W taps reuse b:
    // Y[n, o, h, w] = Σ_{γ, μ, a, b} T[n, γ, μ, ⟨h + a − k/2⟩, w, b] · A[γ, a, b, o, μ].
    let mut y = Tensor::zeros(&[n_, co_, h_, h_]);
    for n in 0..n_ {
        for o in 0..co_ {
            for h in 0..h_ {
                for w in 0..h_ {
                    let mut acc = 0.0;
                    for grp in 0..g {
                        for mu in 0..m_ {
                            for a in 0..k {
                                let hh = h as i64 + a as i64 - half;
                                if hh < 0 || hh >= h_ as i64 {
                                    continue;
                                }
                                for b in 0..k {
                                    acc += tt.get(&[n, grp, mu, hh as usize, w, b])
                                        * wa.get(&[grp, a, b, o, mu]);
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

/// Syno's Operator 2. Tensors `[X, B, A]` (B is attached first): `X [N, C_in, H, H]`,
/// `B [C_in, k, m]` (input channel, W tap, bottleneck channel) and `A [g, k, C_out, m]`
/// (group, H tap, output channel, bottleneck channel), `m = C_out/(g·s)`; output
/// `[N, C_out, H, H]`:
///
/// `Y[n,o,h,w] = Σ_{γ,c,a,b,μ} X[n, γ·C_in/g + c, σ(⟨h+a−1⟩), ⟨w+b−1⟩] · A[γ,a,o,μ] · B[γ·C_in/g + c, b, μ]`
/// with `σ(x) = (x + 1) mod H` applied after the zero-padding check.
pub fn syno_op2(op: &Operator, bd: &Binding, t: &[Tensor]) -> Tensor {
    let ((n_, ci_, co_, h_), (k, s, g)) = syno_sizes(op, bd);
    let (cig, m_) = (ci_ / g, co_ / (g * s));
    let half = (k / 2) as i64;
    let (x, wb, wa) = (&t[0], &t[1], &t[2]);
    // Stage 1: grouped channel reduction with a 1×k tap along W, on every input row r:
    // T[n, γ, μ, r, w] = Σ_{c, b} X[n, γ·C_in/g + c, r, ⟨w + b − k/2⟩] · B[γ·C_in/g + c, b, μ].
    let mut tt = Tensor::zeros(&[n_, g, m_, h_, h_]);
    for n in 0..n_ {
        for grp in 0..g {
            for mu in 0..m_ {
                for r in 0..h_ {
                    for w in 0..h_ {
                        let mut acc = 0.0;
                        for c in 0..cig {
                            let ch = grp * cig + c;
                            for b in 0..k {
                                let ww = w as i64 + b as i64 - half;
                                if ww < 0 || ww >= h_ as i64 {
                                    continue;
                                }
                                acc += x.get(&[n, ch, r, ww as usize]) * wb.get(&[ch, b, mu]);
                            }
                        }
                        *tt.get_mut(&[n, grp, mu, r, w]) = acc;
                    }
                }
            }
        }
    }
    // Stage 2: k×1 conv along H over the bottleneck, reading the row shifted by one:
    // Y[n, o, h, w] = Σ_{γ, μ, a} T[n, γ, μ, σ(⟨h + a − k/2⟩), w] · A[γ, a, o, μ].
    let mut y = Tensor::zeros(&[n_, co_, h_, h_]);
    for n in 0..n_ {
        for o in 0..co_ {
            for h in 0..h_ {
                for w in 0..h_ {
                    let mut acc = 0.0;
                    for grp in 0..g {
                        for mu in 0..m_ {
                            for a in 0..k {
                                let p = h as i64 + a as i64 - half;
                                if p < 0 || p >= h_ as i64 {
                                    continue;
                                }
                                let r = (p as usize + 1) % h_;
                                acc += tt.get(&[n, grp, mu, r, w]) * wa.get(&[grp, a, o, mu]);
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

/// The GPT-2 QKV tied-weight operator. `X [N, seq_len, H_in]`, weight
/// `W [k³t², H_in/k, G]` with `G = H_in/(k⁴t)`, output `[N, seq_len, t·H_in]` where output
/// feature `o = α·k·G + β·G + γ` (`α < k³t²`, `β < k`, `γ < G`) is
///
/// `Y[n, l, o] = Σ_{j < H_in/k} X[n, l, β·H_in/k + j] · W[α, j, γ]`:
/// the same `H_in/k → t·H_in/k` map applied to each of the `k` input slices, interleaved.
pub fn gpt2_qkv_tied(op: &Operator, bd: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, l_, hi_) = (
        var(op, bd, "N"),
        var(op, bd, "seq_len"),
        var(op, bd, "H_in"),
    );
    let (k, tt) = (var(op, bd, "k"), var(op, bd, "t"));
    let slice = hi_ / k;
    let g_ = hi_ / (k * k * k * k * tt);
    let out = tt * hi_;
    let (x, wt) = (&t[0], &t[1]);
    let mut y = Tensor::zeros(&[n_, l_, out]);
    for n in 0..n_ {
        for l in 0..l_ {
            for o in 0..out {
                let alpha = o / (k * g_);
                let beta = (o / g_) % k;
                let gamma = o % g_;
                let mut acc = 0.0;
                for j in 0..slice {
                    acc += x.get(&[n, l, beta * slice + j]) * wt.get(&[alpha, j, gamma]);
                }
                *y.get_mut(&[n, l, o]) = acc;
            }
        }
    }
    y
}

/// The sizes Syno's convolutions read under a binding: `((N, C_in, C_out, H), (k, s, g))`.
type SynoSizes = ((usize, usize, usize, usize), (usize, usize, usize));

/// [`SynoSizes`] under binding `bd`.
pub(super) fn syno_sizes(op: &Operator, bd: &Binding) -> SynoSizes {
    let v = |name: &str| var(op, bd, name);
    (
        (v("N"), v("C_in"), v("C_out"), v("H")),
        (v("k"), v("s"), v("g")),
    )
}
