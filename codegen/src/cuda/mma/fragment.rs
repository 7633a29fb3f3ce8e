//! One slice's products: each warp reads its operand fragments from the slice's shared
//! buffers and multiplies them on the tensor cores, one `16 × 8` instruction tile at a time.
//!
//! Fragments follow the PTX ISA's layouts for `mma.m16n8k8` (TF32) and `mma.m16n8k16` (bf16),
//! with `g = lane / 4` and `t = lane % 4`: TF32 `a0..a3` hold `A[g][t]`, `A[g + 8][t]`,
//! `A[g][t + 4]`, `A[g + 8][t + 4]` and `b0, b1` hold `B[t][g]`, `B[t + 4][g]`; bf16 registers hold
//! pairs, `a0..a3` = `A[g][2t..]`, `A[g + 8][2t..]`, `A[g][2t + 8..]`, `A[g + 8][2t + 8..]` and
//! `b0, b1` = `B[2t..][g]`, `B[2t + 8..][g]`. `ldmatrix` delivers exactly these when matrix `i` of
//! an `x4` (`x2`) is the `i`-th of those 8-row blocks, which its lanes' addresses select.

use super::layout::Smem;
use crate::precision::Precision;
use crate::tensor_core::Mma;
use std::fmt::Write as _;

/// Multiplies stage `rs` of both buffers into the accumulators, `mma_k` reduction indices at
/// a time.
pub(super) fn multiply(src: &mut String, t: &Mma, p: Precision, sa: &Smem, sb: &Smem) {
    let (mi, ni) = (t.warp_m() / 16, t.warp_n() / 8);
    let kstep = p.mma_k();
    let _ = writeln!(src, "    #pragma unroll");
    let _ = writeln!(src, "    for (int ks = 0; ks < {}; ks += {kstep}) {{", t.bk);
    let _ = writeln!(src, "        unsigned a[{mi}][4], b[{ni}][2];");
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(src, "        for (int i = 0; i < {mi}; ++i) {{");
    let _ = writeln!(src, "            const unsigned r0 = wr + i * 16u;");
    a_fragment(src, p, sa);
    let _ = writeln!(src, "        }}");
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(src, "        for (int j = 0; j < {ni}; ++j) {{");
    let _ = writeln!(src, "            const unsigned c0 = wc + j * 8u;");
    b_fragment(src, p, sb);
    let _ = writeln!(src, "        }}");
    let mma = match p {
        Precision::Bf16 => "kas_mma_bf16",
        _ => "kas_mma_tf32",
    };
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(src, "        for (int i = 0; i < {mi}; ++i)");
    let _ = writeln!(src, "            #pragma unroll");
    let _ = writeln!(
        src,
        "            for (int j = 0; j < {ni}; ++j) {mma}(acc[i][j], a[i], b[j]);"
    );
    let _ = writeln!(src, "    }}");
}

/// Elements of 16 bits in one 16-byte `ldmatrix` row, as storage elements.
fn half(p: Precision) -> u32 {
    16 / p.storage_bytes()
}

/// `a[i][0..4]` for the 16 rows from `r0`.
fn a_fragment(src: &mut String, p: Precision, s: &Smem) {
    let ind = "            ";
    match (s.ldmatrix, s.by_k) {
        (true, false) => {
            // [row][k]: lanes 0-15 address rows r0 + 0..15 at k, lanes 16-31 at k + half.
            let at = s.at(
                "rs",
                &format!("ks + (lane / 16u) * {}u", half(p)),
                "r0 + lane % 16u",
            );
            let _ = writeln!(src, "{ind}kas_ldsm_x4(a[i], {at});");
        }
        (true, true) => {
            // [k][row], bf16: matrix q = lane / 8 is rows k + 8 (q / 2) .. and columns
            // r0 + 8 (q % 2) .., transposed on the way.
            let at = s.at(
                "rs",
                "ks + lane % 8u + (lane / 16u) * 8u",
                "r0 + ((lane / 8u) % 2u) * 8u",
            );
            let _ = writeln!(src, "{ind}kas_ldsm_x4_trans(a[i], {at});");
        }
        (false, _) => {
            // [k][row], TF32: plain loads.
            for (q, (dk, dr)) in [(0, 0), (0, 8), (4, 0), (4, 8)].into_iter().enumerate() {
                let at = s.at(
                    "rs",
                    &format!("ks + tg + {dk}u"),
                    &format!("r0 + g + {dr}u"),
                );
                let _ = writeln!(src, "{ind}a[i][{q}] = kas_tf32(*({at}));");
            }
            return;
        }
    }
    if p == Precision::Tf32 {
        let _ = writeln!(src, "{ind}#pragma unroll");
        let _ = writeln!(
            src,
            "{ind}for (int q = 0; q < 4; ++q) a[i][q] = kas_tf32_bits(a[i][q]);"
        );
    }
}

/// `b[j][0..2]` for the 8 columns from `c0`.
fn b_fragment(src: &mut String, p: Precision, s: &Smem) {
    let ind = "            ";
    match (s.ldmatrix, s.by_k) {
        (true, false) => {
            // [col][k]: lanes 0-7 address columns c0 + 0..7 at k, lanes 8-15 at k + half.
            let at = s.at(
                "rs",
                &format!("ks + ((lane / 8u) % 2u) * {}u", half(p)),
                "c0 + lane % 8u",
            );
            let _ = writeln!(src, "{ind}kas_ldsm_x2(b[j], {at});");
        }
        (true, true) => {
            // [k][col], bf16: matrix q = (lane / 8) % 2 is rows k + 8q .., transposed.
            let at = s.at("rs", "ks + lane % 8u + ((lane / 8u) % 2u) * 8u", "c0");
            let _ = writeln!(src, "{ind}kas_ldsm_x2_trans(b[j], {at});");
        }
        (false, _) => {
            for (q, dk) in [0, 4].into_iter().enumerate() {
                let at = s.at("rs", &format!("ks + tg + {dk}u"), "c0 + g");
                let _ = writeln!(src, "{ind}b[j][{q}] = kas_tf32(*({at}));");
            }
            return;
        }
    }
    if p == Precision::Tf32 {
        let _ = writeln!(
            src,
            "{ind}b[j][0] = kas_tf32_bits(b[j][0]); b[j][1] = kas_tf32_bits(b[j][1]);"
        );
    }
}
