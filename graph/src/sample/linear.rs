//! The linear nodes the sampler writes, each a complete kas operator built with the
//! [`Builder`] over the slot's variables: FC (a weight over one axis, Canvas's FC and Mix),
//! k×k convolution, depthwise convolution, grouped FC, Scale and a shifted FC (Canvas's Shift
//! followed by an FC).

use kas_primitives::{Axis, Binding, Builder, Operator, Result, Size, VarTable};

fn start(
    vars: &VarTable,
    bs: &[Binding],
    shape: &[Size],
) -> Result<(Builder, Vec<kas_primitives::DimId>)> {
    let mut b = Builder::new(vars.clone(), bs.to_vec())?;
    let dims = b.input(shape.iter().copied())?;
    Ok((b, dims))
}

/// `out[…, o, …] = Σ_i x[…, i, …] · W[o, i]` on axis `axis`, `o < out`.
pub fn fc(
    vars: &VarTable,
    bs: &[Binding],
    shape: &[Size],
    axis: usize,
    out: Size,
) -> Result<Operator> {
    let (mut b, dims) = start(vars, bs, shape)?;
    let s = b.contract(&[Axis::CreateSize(out), Axis::Share(dims[axis])])?;
    b.reduce(s[1])?;
    let mut outs = dims;
    outs[axis] = s[0];
    b.finish(&outs)
}

/// `out[n, o, h, w] = Σ_{c,a,b} x[n, c, h+a−k/2, w+b−k/2] · W[o, c, a, b]` (zero padding).
pub fn conv(
    vars: &VarTable,
    bs: &[Binding],
    shape: &[Size],
    out: Size,
    k: Size,
) -> Result<Operator> {
    let (mut b, d) = start(vars, bs, shape)?;
    let (ho, kh) = b.unfold(d[2], k)?;
    let (wo, kw) = b.unfold(d[3], k)?;
    let s = b.contract(&[
        Axis::CreateSize(out),
        Axis::Share(d[1]),
        Axis::Share(kh),
        Axis::Share(kw),
    ])?;
    for &r in &s[1..] {
        b.reduce(r)?;
    }
    b.finish(&[d[0], s[0], ho, wo])
}

/// `out[n, c, h, w] = Σ_{a,b} x[n, c, h+a−k/2, w+b−k/2] · W[c, a, b]`.
pub fn depthwise(vars: &VarTable, bs: &[Binding], shape: &[Size], k: Size) -> Result<Operator> {
    let (mut b, d) = start(vars, bs, shape)?;
    let (ho, kh) = b.unfold(d[2], k)?;
    let (wo, kw) = b.unfold(d[3], k)?;
    let s = b.contract(&[Axis::Share(d[1]), Axis::Share(kh), Axis::Share(kw)])?;
    b.reduce(s[1])?;
    b.reduce(s[2])?;
    b.finish(&[d[0], s[0], ho, wo])
}

/// `g` groups over axis 1: `out[n, γ·C/g + o, …] = Σ_i x[n, γ·C/g + i, …] · W[γ, o, i]`.
pub fn grouped_fc(vars: &VarTable, bs: &[Binding], shape: &[Size], g: Size) -> Result<Operator> {
    let (mut b, d) = start(vars, bs, shape)?;
    let block = shape[1].checked_div(g).unwrap_or(shape[1]);
    let (group, i) = b.split(d[1], block)?;
    let w = b.contract(&[Axis::Share(group), Axis::CreateSize(block), Axis::Share(i)])?;
    b.reduce(w[2])?;
    let o = b.merge(w[0], w[1])?;
    let mut outs = d;
    outs[1] = o;
    b.finish(&outs)
}

/// `out[…, c, …] = x[…, c, …] · W[c]` on axis `axis` (a learned per-position gate).
pub fn scale(vars: &VarTable, bs: &[Binding], shape: &[Size], axis: usize) -> Result<Operator> {
    let (mut b, dims) = start(vars, bs, shape)?;
    let s = b.contract(&[Axis::Share(dims[axis])])?;
    let mut outs = dims;
    outs[axis] = s[0];
    b.finish(&outs)
}

/// A cyclic shift of axis `axis` by `offset`, then an FC over axis 1:
/// `out[n, o, …, i, …] = Σ_c x[n, c, …, (i + offset) mod S, …] · W[o, c]`.
pub fn shift_fc(
    vars: &VarTable,
    bs: &[Binding],
    shape: &[Size],
    axis: usize,
    offset: i64,
    out: Size,
) -> Result<Operator> {
    let (mut b, dims) = start(vars, bs, shape)?;
    let shifted = b.shift(dims[axis], offset)?;
    let s = b.contract(&[Axis::CreateSize(out), Axis::Share(dims[1])])?;
    b.reduce(s[1])?;
    let mut outs = dims;
    outs[1] = s[0];
    outs[axis] = shifted;
    b.finish(&outs)
}
