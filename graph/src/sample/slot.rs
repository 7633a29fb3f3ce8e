//! The slot a sampled kernel fills, read from a spec: `[N, C_in, H, W] → [N, C_out, H, W]`,
//! and the cost of the layer it replaces.

use crate::cost::Cost;
use crate::error::{GraphError, Result};
use kas_primitives::{Binding, Size, Spec, VarTable};

/// An image slot and the sizes the sampler uses.
#[derive(Debug, Clone)]
pub struct Slot {
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
    /// Height.
    pub h: Size,
    /// Width.
    pub w: Size,
    /// The convolution window (a coefficient variable whose value is 3), if any.
    pub k: Option<Size>,
    /// The group count (the coefficient variable `g`), if any.
    pub g: Option<Size>,
    /// Cost of the replaced layer, a k×k convolution `C_in → C_out` (k = 3), summed over
    /// bindings.
    pub reference: Cost,
}

impl Slot {
    /// The slot of a spec whose input is `[N, C_in, H, W]` and output `[N, C_out, H, W]`.
    pub fn from_spec(spec: &Spec) -> Result<Slot> {
        let (i, o) = (&spec.input, &spec.output);
        let ok = i.len() == 4
            && o.len() == 4
            && i[0].size == o[0].size
            && i[2].size == o[2].size
            && i[3].size == o[3].size;
        if !ok {
            return Err(GraphError::Sampler(format!(
                "spec `{}`: the graph sampler fills image slots [N, C_in, H, W] -> [N, C_out, H, W]",
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
        vec![self.n, self.c_out, self.h, self.w]
    }

    /// The input shape.
    pub fn input_shape(&self) -> Vec<Size> {
        vec![self.n, self.c_in, self.h, self.w]
    }
}
