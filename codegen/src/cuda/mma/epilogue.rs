//! The tensor-core kernel's epilogue: each warp's accumulators to the result (or to this
//! split's f32 partial result), converted to the storage type.
//!
//! Accumulator `q` of instruction tile `(i, j)` is row `wr + 16 i + g + 8 (q / 2)` and column
//! `wc + 8 j + 2 t + q % 2` of the block's tile (`g = lane / 4`, `t = lane % 4`). Where the
//! two columns of a pair are consecutive in the result's layout (the innermost dim is an `N`
//! dim of even extent), the pair goes out as one `float2`, or as two bf16 in one 32-bit word.

use crate::contraction::Contraction;
use crate::cuda::kernel::KernelSource;
use crate::tensor_core::Mma;
use std::fmt::Write as _;

/// The stride of each result position in the stage's layout (row-major over the layout).
fn layout_strides(k: &KernelSource<'_>) -> Vec<u64> {
    let mut strides = vec![0u64; k.shape.len()];
    let mut s = 1u64;
    for &p in k.layout.iter().rev() {
        strides[p] = s;
        s *= k.shape[p];
    }
    strides
}

/// Stores the accumulators.
pub(super) fn store(src: &mut String, k: &KernelSource<'_>, c: &Contraction, t: &Mma) {
    let idx = k.idx;
    let (mi, ni) = (t.warp_m() / 16, t.warp_n() / 8);
    let total: u64 = k.shape.iter().product();
    let strides = layout_strides(k);
    let part = |dims: &[usize]| -> String {
        let terms: Vec<String> = dims
            .iter()
            .map(|&p| format!("{} * o{p}", strides[p]))
            .collect();
        if terms.is_empty() {
            "0".into()
        } else {
            terms.join(" + ")
        }
    };
    let inner = k.layout.last().copied();
    let paired = c
        .n_dims
        .last()
        .is_some_and(|&d| Some(d) == inner && k.shape[d].is_multiple_of(2));
    let partial = t.split_k > 1;
    // The value written for accumulator `q`, and a pair's 32- or 64-bit store.
    let value = |q: &str| -> String {
        let v = format!("acc[i][j][{q}]");
        if partial { v } else { k.to_storage(&v) }
    };
    let _ = writeln!(
        src,
        "    const {idx} zo = split * {total} + {};",
        part(&c.z_dims)
    );
    let _ = writeln!(src, "    #pragma unroll");
    let _ = writeln!(src, "    for (int i = 0; i < {mi}; ++i)");
    let _ = writeln!(src, "    #pragma unroll");
    let _ = writeln!(src, "    for (int h = 0; h < 2; ++h) {{");
    let _ = writeln!(src, "        {idx} m = m0 + wr + i * 16 + h * 8 + g;");
    let _ = writeln!(src, "        const bool mok = m < {};", c.m);
    let _ = writeln!(src, "        if (!mok) m = 0;");
    k.unflatten("        ", "m", &c.m_dims, src);
    let _ = writeln!(src, "        (void)m;");
    let _ = writeln!(src, "        const {idx} mo = zo + {};", part(&c.m_dims));
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(src, "        for (int j = 0; j < {ni}; ++j) {{");
    if paired {
        let _ = writeln!(src, "            {idx} n = n0 + wc + j * 8 + tg * 2;");
        let _ = writeln!(src, "            const bool nok = n < {};", c.n);
        let _ = writeln!(src, "            if (!nok) n = 0;");
        k.unflatten("            ", "n", &c.n_dims, src);
        let _ = writeln!(src, "            (void)n;");
        let target = format!("out + mo + {}", part(&c.n_dims));
        let line = if partial || k.elem == "float" {
            format!(
                "*reinterpret_cast<float2 *>({target}) = make_float2(acc[i][j][2 * h], acc[i][j][2 * h + 1]);"
            )
        } else {
            format!(
                "*reinterpret_cast<unsigned *>({target}) = kas_pack_bf16x2(acc[i][j][2 * h], acc[i][j][2 * h + 1]);"
            )
        };
        let _ = writeln!(src, "            if (mok && nok) {line}");
    } else {
        let _ = writeln!(src, "            #pragma unroll");
        let _ = writeln!(src, "            for (int e = 0; e < 2; ++e) {{");
        let _ = writeln!(
            src,
            "                {idx} n = n0 + wc + j * 8 + tg * 2 + e;"
        );
        let _ = writeln!(src, "                const bool nok = n < {};", c.n);
        let _ = writeln!(src, "                if (!nok) n = 0;");
        k.unflatten("                ", "n", &c.n_dims, src);
        let _ = writeln!(src, "                (void)n;");
        let _ = writeln!(
            src,
            "                if (mok && nok) out[mo + {}] = {};",
            part(&c.n_dims),
            value("2 * h + e")
        );
        let _ = writeln!(src, "            }}");
    }
    let _ = writeln!(src, "        }}");
    let _ = writeln!(src, "    }}");
    let _ = writeln!(src, "}}");
}
