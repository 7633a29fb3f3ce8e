//! Hand-written implementations of the convolution family, independent of the interpreter.
//!
//! Each function reads only the values of the operator's variables under the binding (through
//! [`var`]), never its graph or index expressions, and computes the output with plain nested
//! loops and explicit zero-padding checks. Tensors are `[input, weight…]` in the layouts the
//! builders produce (documented on each function). The implementations of Syno's operators
//! are in the sibling module `direct_syno` and re-exported here.

use crate::operator::Operator;
use crate::size::Binding;
use crate::tensor::Tensor;

pub use super::direct_syno::{gpt2_qkv_tied, syno_op1, syno_op2};

/// The value of variable `name` under `binding` (panics if the operator has no such variable).
pub fn var(op: &Operator, binding: &Binding, name: &str) -> usize {
    let (kind, i) = op
        .vars
        .lookup(name)
        .unwrap_or_else(|| panic!("the operator has no variable `{name}`"));
    binding.value(kind, i) as usize
}

/// Position `i + t − k div 2` read by window tap `t` of a "same" window of size `k`, or `None`
/// when it falls outside `[0, n)` (zero padding).
pub fn tap(i: usize, t: usize, k: usize, n: usize) -> Option<usize> {
    let p = i as i64 + t as i64 - (k / 2) as i64;
    if p < 0 || p >= n as i64 {
        None
    } else {
        Some(p as usize)
    }
}

/// k×k convolution, same padding. `X [N, C_in, H, W]`, weight `[C_out, C_in, k, k]`, output
/// `[N, C_out, H, W]`.
pub fn conv2d(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, ci_, co_) = (var(op, b, "N"), var(op, b, "C_in"), var(op, b, "C_out"));
    let (h_, w_, k) = (var(op, b, "H"), var(op, b, "W"), var(op, b, "k"));
    let (x, wt) = (&t[0], &t[1]);
    let mut y = Tensor::zeros(&[n_, co_, h_, w_]);
    for n in 0..n_ {
        for o in 0..co_ {
            for h in 0..h_ {
                for w in 0..w_ {
                    let mut acc = 0.0;
                    for c in 0..ci_ {
                        for a in 0..k {
                            let hh = h as i64 + a as i64 - (k / 2) as i64;
                            if hh < 0 || hh >= h_ as i64 {
                                continue;
                            }
                            for bb in 0..k {
                                let ww = w as i64 + bb as i64 - (k / 2) as i64;
                                if ww < 0 || ww >= w_ as i64 {
                                    continue;
                                }
                                acc += x.get(&[n, c, hh as usize, ww as usize])
                                    * wt.get(&[o, c, a, bb]);
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

/// Grouped k×k convolution with `g` groups. `X [N, C_in, H, W]`, weight
/// `[g, C_out/g, C_in/g, k, k]` (group, output channel in group, input channel in group, kh,
/// kw), output `[N, C_out, H, W]` where output channel `γ·C_out/g + o` reads input channels
/// `γ·C_in/g + c`.
pub fn grouped_conv2d(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, ci_, co_) = (var(op, b, "N"), var(op, b, "C_in"), var(op, b, "C_out"));
    let (h_, w_, k, g) = (
        var(op, b, "H"),
        var(op, b, "W"),
        var(op, b, "k"),
        var(op, b, "g"),
    );
    let (cig, cog) = (ci_ / g, co_ / g);
    let (x, wt) = (&t[0], &t[1]);
    let mut y = Tensor::zeros(&[n_, co_, h_, w_]);
    for n in 0..n_ {
        for oc in 0..co_ {
            let grp = oc / cog;
            let o = oc % cog;
            for h in 0..h_ {
                for w in 0..w_ {
                    let mut acc = 0.0;
                    for c in 0..cig {
                        for a in 0..k {
                            for bb in 0..k {
                                let (Some(hh), Some(ww)) = (tap(h, a, k, h_), tap(w, bb, k, w_))
                                else {
                                    continue;
                                };
                                acc += x.get(&[n, grp * cig + c, hh, ww])
                                    * wt.get(&[grp, o, c, a, bb]);
                            }
                        }
                    }
                    *y.get_mut(&[n, oc, h, w]) = acc;
                }
            }
        }
    }
    y
}

/// Depthwise k×k convolution. `X [N, C, H, W]`, weight `[C, k, k]`, output `[N, C, H, W]`.
pub fn depthwise_conv2d(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, c_, h_, w_, k) = (
        var(op, b, "N"),
        var(op, b, "C"),
        var(op, b, "H"),
        var(op, b, "W"),
        var(op, b, "k"),
    );
    let (x, wt) = (&t[0], &t[1]);
    let mut y = Tensor::zeros(&[n_, c_, h_, w_]);
    for n in 0..n_ {
        for c in 0..c_ {
            for h in 0..h_ {
                for w in 0..w_ {
                    let mut acc = 0.0;
                    for a in 0..k {
                        let hh = h as i64 + a as i64 - (k / 2) as i64;
                        if hh < 0 || hh >= h_ as i64 {
                            continue;
                        }
                        for bb in 0..k {
                            let ww = w as i64 + bb as i64 - (k / 2) as i64;
                            if ww < 0 || ww >= w_ as i64 {
                                continue;
                            }
                            acc += x.get(&[n, c, hh as usize, ww as usize]) * wt.get(&[c, a, bb]);
                        }
                    }
                    *y.get_mut(&[n, c, h, w]) = acc;
                }
            }
        }
    }
    y
}

/// 1×1 convolution. `X [N, C_in, H, W]`, weight `[C_out, C_in]`, output `[N, C_out, H, W]`.
pub fn pointwise_conv2d(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, ci_, co_) = (var(op, b, "N"), var(op, b, "C_in"), var(op, b, "C_out"));
    let (h_, w_) = (var(op, b, "H"), var(op, b, "W"));
    let (x, wt) = (&t[0], &t[1]);
    let mut y = Tensor::zeros(&[n_, co_, h_, w_]);
    for n in 0..n_ {
        for o in 0..co_ {
            for h in 0..h_ {
                for w in 0..w_ {
                    let mut acc = 0.0;
                    for c in 0..ci_ {
                        acc += x.get(&[n, c, h, w]) * wt.get(&[o, c]);
                    }
                    *y.get_mut(&[n, o, h, w]) = acc;
                }
            }
        }
    }
    y
}

/// Linear layer. `X [N, seq_len, H_in]`, weight `[H_out, H_in]`, output `[N, seq_len, H_out]`.
pub fn linear(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, l_) = (var(op, b, "N"), var(op, b, "seq_len"));
    let (hi_, ho_) = (var(op, b, "H_in"), var(op, b, "H_out"));
    let (x, wt) = (&t[0], &t[1]);
    let mut y = Tensor::zeros(&[n_, l_, ho_]);
    for n in 0..n_ {
        for l in 0..l_ {
            for o in 0..ho_ {
                let mut acc = 0.0;
                for i in 0..hi_ {
                    acc += x.get(&[n, l, i]) * wt.get(&[o, i]);
                }
                *y.get_mut(&[n, l, o]) = acc;
            }
        }
    }
    y
}

/// k×k convolution with dilation `s`, same padding: tap `a` reads row `h + s·(a − k div 2)`.
/// `X [N, C_in, H, W]`, weight `[C_out, C_in, k, k]`, output `[N, C_out, H, W]`.
pub fn dilated_conv2d(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, ci_, co_) = (var(op, b, "N"), var(op, b, "C_in"), var(op, b, "C_out"));
    let (h_, w_, k, s) = (
        var(op, b, "H"),
        var(op, b, "W"),
        var(op, b, "k") as i64,
        var(op, b, "s") as i64,
    );
    let (x, wt) = (&t[0], &t[1]);
    let mut y = Tensor::zeros(&[n_, co_, h_, w_]);
    for n in 0..n_ {
        for o in 0..co_ {
            for h in 0..h_ {
                for w in 0..w_ {
                    let mut acc = 0.0;
                    for c in 0..ci_ {
                        for a in 0..k {
                            let hh = h as i64 + s * (a - k / 2);
                            if hh < 0 || hh >= h_ as i64 {
                                continue;
                            }
                            for bb in 0..k {
                                let ww = w as i64 + s * (bb - k / 2);
                                if ww < 0 || ww >= w_ as i64 {
                                    continue;
                                }
                                acc += x.get(&[n, c, hh as usize, ww as usize])
                                    * wt.get(&[o, c, a as usize, bb as usize]);
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

/// Spatially separable convolution, computed in two stages: a k×1 convolution along H with
/// `A [C_mid, C_in, k]`, then a 1×k convolution along W with `B [C_out, C_mid, k]`.
/// `X [N, C_in, H, W]`, output `[N, C_out, H, W]`.
pub fn separable_conv2d(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, ci_, cm_, co_) = (
        var(op, b, "N"),
        var(op, b, "C_in"),
        var(op, b, "C_mid"),
        var(op, b, "C_out"),
    );
    let (h_, w_, k) = (var(op, b, "H"), var(op, b, "W"), var(op, b, "k"));
    let (x, wa, wb) = (&t[0], &t[1], &t[2]);
    // Stage 1: mid[n, m, h, w] = Σ_{c, a} X[n, c, ⟨h + a − k/2⟩, w] · A[m, c, a].
    let mut mid = Tensor::zeros(&[n_, cm_, h_, w_]);
    for n in 0..n_ {
        for m in 0..cm_ {
            for h in 0..h_ {
                for w in 0..w_ {
                    let mut acc = 0.0;
                    for c in 0..ci_ {
                        for a in 0..k {
                            if let Some(hh) = tap(h, a, k, h_) {
                                acc += x.get(&[n, c, hh, w]) * wa.get(&[m, c, a]);
                            }
                        }
                    }
                    *mid.get_mut(&[n, m, h, w]) = acc;
                }
            }
        }
    }
    // Stage 2: Y[n, o, h, w] = Σ_{m, b} mid[n, m, h, ⟨w + b − k/2⟩] · B[o, m, b].
    let mut y = Tensor::zeros(&[n_, co_, h_, w_]);
    for n in 0..n_ {
        for o in 0..co_ {
            for h in 0..h_ {
                for w in 0..w_ {
                    let mut acc = 0.0;
                    for m in 0..cm_ {
                        for bb in 0..k {
                            if let Some(ww) = tap(w, bb, k, w_) {
                                acc += mid.get(&[n, m, h, ww]) * wb.get(&[o, m, bb]);
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

/// Shift by +1 along H and −1 along W (cyclic), then a 1×1 convolution:
/// `Y[n, o, h, w] = Σ_c X[n, c, (h + 1) mod H, (w − 1) mod W] · W[o, c]`.
/// `X [N, C_in, H, W]`, weight `[C_out, C_in]`, output `[N, C_out, H, W]`.
pub fn shift_conv2d(op: &Operator, b: &Binding, t: &[Tensor]) -> Tensor {
    let (n_, ci_, co_) = (var(op, b, "N"), var(op, b, "C_in"), var(op, b, "C_out"));
    let (h_, w_) = (var(op, b, "H"), var(op, b, "W"));
    let (x, wt) = (&t[0], &t[1]);
    let mut y = Tensor::zeros(&[n_, co_, h_, w_]);
    for n in 0..n_ {
        for o in 0..co_ {
            for h in 0..h_ {
                let hh = (h + 1) % h_;
                for w in 0..w_ {
                    let ww = (w + w_ - 1) % w_;
                    let mut acc = 0.0;
                    for c in 0..ci_ {
                        acc += x.get(&[n, c, hh, ww]) * wt.get(&[o, c]);
                    }
                    *y.get_mut(&[n, o, h, w]) = acc;
                }
            }
        }
    }
    y
}
