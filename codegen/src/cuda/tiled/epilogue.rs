//! The tiled kernel's epilogue: the register tile to the result (or to this split's partial
//! result).

use super::mainloop::spread;
use crate::contraction::Contraction;
use crate::cuda::kernel::KernelSource;
use crate::schedule::Tile;
use std::fmt::Write as _;

// The register tile to the result (or to this split's partial result): the output
// offset is a sum of a row part, a column part and the block's batch part, each computed
// once; four consecutive rows (or columns) go out as one `float4` when they are
// consecutive in the layout.
pub(super) fn store_tile(src: &mut String, k: &KernelSource<'_>, c: &Contraction, t: &Tile) {
    let idx = k.idx;
    let (bm, bn, tm, tn) = (t.bm, t.bn, t.tm, t.tn);
    let (vm, gm) = spread(tm);
    let (vn, gn) = spread(tn);
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
    let width = |dims: &[usize], v: u32| -> u32 {
        let fits = |w: u32| {
            v.is_multiple_of(w)
                && dims
                    .last()
                    .is_some_and(|&d| Some(d) == inner && k.shape[d].is_multiple_of(w as u64))
        };
        [4, 2].into_iter().find(|&w| fits(w)).unwrap_or(1)
    };
    let (wr, wc) = (width(&c.m_dims, vm), width(&c.n_dims, vn));
    // Vectorize along rows, else along columns.
    let (wr, wc) = if wr > 1 { (wr, 1) } else { (1, wc) };
    let _ = writeln!(
        src,
        "    const {idx} zo = split * {total} + {};",
        part(&c.z_dims)
    );
    // Per row (`m`, counter `i`) and per column (`n`, counter `j`): validity and offset.
    let offsets =
        |src: &mut String, x: &str, i: &str, count: u32, v: u32, stride: u32, th: &str| {
            let (dims, extent, base) = if x == "m" {
                (&c.m_dims, c.m, "m0")
            } else {
                (&c.n_dims, c.n, "n0")
            };
            let _ = writeln!(src, "    {idx} {x}o[{count}]; bool {x}ok[{count}];");
            let _ = writeln!(src, "    #pragma unroll");
            let _ = writeln!(src, "    for (int {i} = 0; {i} < {count}; ++{i}) {{");
            let _ = writeln!(
                src,
                "        {idx} {x}{i} = {base} + ({i} / {v}) * {stride} + {th} * {v} + ({i} % {v});"
            );
            let _ = writeln!(src, "        {x}ok[{i}] = {x}{i} < {extent};");
            let _ = writeln!(src, "        if (!{x}ok[{i}]) {x}{i} = 0;");
            k.unflatten("        ", &format!("{x}{i}"), dims, src);
            let _ = writeln!(src, "        (void){x}{i};");
            let _ = writeln!(src, "        {x}o[{i}] = {};", part(dims));
            let _ = writeln!(src, "    }}");
        };
    offsets(src, "m", "i", tm, vm, bm / gm, "tmi");
    offsets(src, "n", "j", tn, vn, bn / gn, "tni");
    let lanes = |w: u32, f: &dyn Fn(u32) -> String| -> String {
        (0..w).map(f).collect::<Vec<_>>().join(", ")
    };
    if let (Some(f), 1) = (k.epilogue, t.split_k) {
        let _ = writeln!(src, "    #pragma unroll");
        let _ = writeln!(src, "    for (int i = 0; i < {tm}; ++i)");
        let _ = writeln!(src, "        #pragma unroll");
        let _ = writeln!(
            src,
            "        for (int j = 0; j < {tn}; ++j) acc[i][j] = {f}(acc[i][j]);"
        );
    }
    let _ = writeln!(src, "    #pragma unroll");
    let _ = writeln!(src, "    for (int i = 0; i < {tm}; i += {wr})");
    let _ = writeln!(src, "        #pragma unroll");
    let _ = writeln!(src, "        for (int j = 0; j < {tn}; j += {wc})");
    let target = "out + zo + mo[i] + no[j]";
    let line = match (wr, wc) {
        (1, 1) => "out[zo + mo[i] + no[j]] = acc[i][j];".to_string(),
        (w, 1) => format!(
            "*reinterpret_cast<float{w} *>({target}) = make_float{w}({});",
            lanes(w, &|q| format!("acc[i + {q}][j]"))
        ),
        (_, w) => format!(
            "*reinterpret_cast<float{w} *>({target}) = make_float{w}({});",
            lanes(w, &|q| format!("acc[i][j + {q}]"))
        ),
    };
    let _ = writeln!(src, "            if (mok[i] && nok[j]) {line}");
    let _ = writeln!(src, "}}");
}

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
