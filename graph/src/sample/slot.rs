//! The slot a sampled kernel fills, read from a spec: an image slot `[N, C_in, H, W] →
//! [N, C_out, H, W]` or a causal sequence slot `[N, T, C] → [N, T, C]` (GPT's token
//! mixing), and the cost of the layer it replaces.

use crate::cost::Cost;
use crate::error::{GraphError, Result};
use kas_primitives::{Binding, Size, Spec, VarTable};

/// The kind of slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `[N, C, H, W]`.
    Image,
    /// `[N, T, C]`, causal along `T` (axis 1): position `t` reads positions `≤ t` only
    /// ([`crate::causal`]).
    Sequence,
}

/// A slot and the sizes the sampler uses.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Image or causal sequence.
    pub layout: Layout,
    /// The spec's variables.
    pub vars: VarTable,
    /// The spec's bindings.
    pub bindings: Vec<Binding>,
    /// Batch.
    pub n: Size,
    /// Input channels.
    pub c_in: Size,
    /// Output channels.
    pub c_out: Size,
    /// Height (the sequence length `T` in a sequence slot).
    pub h: Size,
    /// Width (`T` again in a sequence slot).
    pub w: Size,
    /// The convolution window (a coefficient variable whose value is 3), if any.
    pub k: Option<Size>,
    /// The group count (the coefficient variable `g`), if any.
    pub g: Option<Size>,
    /// Cost of the replaced layer, summed over bindings: a k×k convolution `C_in → C_out`
    /// (k = 3) in an image slot; in a sequence slot, attention (four `C × C` projections,
    /// `C = C_in`, scores and mixing: `4·C²` parameters, `N·T·(4·C² + 2·T·C)` multiply-adds).
    pub reference: Cost,
}

impl Slot {
    /// The slot of a spec whose input is `[N, C_in, H, W]` and output `[N, C_out, H, W]`, or
    /// (a causal token-mixing slot) input `[N, T, C]` and output `[N, T, C]` (one size `C`:
    /// a projection slot `[N, T, H_in] → [N, T, H_out]` is not one).
    pub fn from_spec(spec: &Spec) -> Result<Slot> {
        let (i, o) = (&spec.input, &spec.output);
        let same = |a: usize| i[a].size == o[a].size;
        if i.len() == 3 && o.len() == 3 && same(0) && same(1) && same(2) {
            let mut reference = Cost::default();
            for b in &spec.bindings {
                let f = |s: Size| s.eval_f64(b);
                let (n, t, c) = (f(i[0].size), f(i[1].size), f(i[2].size));
                reference.params += 4.0 * c * c;
                reference.flops += n * t * (4.0 * c * c + 2.0 * t * c);
            }
            return Ok(Slot {
                layout: Layout::Sequence,
                vars: spec.vars.clone(),
                bindings: spec.bindings.clone(),
                n: i[0].size,
                c_in: i[2].size,
                c_out: o[2].size,
                h: i[1].size,
                w: i[1].size,
                k: None,
                g: None,
                reference,
            });
        }
        let ok = i.len() == 4
            && o.len() == 4
            && i[0].size == o[0].size
            && i[2].size == o[2].size
            && i[3].size == o[3].size;
        if !ok {
            return Err(GraphError::Sampler(format!(
                "spec `{}`: the graph sampler fills image slots [N, C_in, H, W] -> [N, C_out, H, W] and token-mixing slots [N, T, C] -> [N, T, C]",
                spec.name
            )));
        }
        let coeff = |pred: &dyn Fn(&kas_primitives::Var) -> bool| {
            spec.vars
                .coefficient
                .iter()
                .position(pred)
                .map(|p| Size::var(kas_primitives::VarKind::Coefficient, p))
        };
        let k = coeff(&|v| v.value == Some(3));
        let g = coeff(&|v| v.name == "g");
        let mut reference = Cost::default();
        for b in &spec.bindings {
            let f = |s: Size| s.eval_f64(b);
            let params = f(i[1].size) * f(o[1].size) * 9.0;
            reference.params += params;
            reference.flops += params * f(o[0].size) * f(o[2].size) * f(o[3].size);
        }
        Ok(Slot {
            layout: Layout::Image,
            vars: spec.vars.clone(),
            bindings: spec.bindings.clone(),
            n: i[0].size,
            c_in: i[1].size,
            c_out: o[1].size,
            h: i[2].size,
            w: i[3].size,
            k,
            g,
            reference,
        })
    }

    /// The target output shape.
    pub fn output_shape(&self) -> Vec<Size> {
        match self.layout {
            Layout::Image => vec![self.n, self.c_out, self.h, self.w],
            Layout::Sequence => vec![self.n, self.h, self.c_out],
        }
    }

    /// The input shape.
    pub fn input_shape(&self) -> Vec<Size> {
        match self.layout {
            Layout::Image => vec![self.n, self.c_in, self.h, self.w],
            Layout::Sequence => vec![self.n, self.h, self.c_in],
        }
    }

    /// The axis along which kernels must be causal (the sequence axis), if any.
    pub fn causal_axis(&self) -> Option<usize> {
        (self.layout == Layout::Sequence).then_some(1)
    }
}
