//! Complete operators: the primitive DAG with its tensors, and its structural checks.

use crate::error::{Error, Result};
use crate::graph::{Dim, DimId, Op, Sink, Source};
use crate::size::{Binding, Size, VarTable};
use std::ops::Mul;

/// A complete operator: input tensor, 1–3 weights, output axes and reductions, connected by
/// primitives.
///
/// The DAG is the source of truth; index expressions are derived from it
/// ([`crate::expr::Accesses`]). `ops` is in data-flow order: every op's inputs are produced by
/// earlier ops or are tensor axes. Build operators with [`crate::Builder`] or read them with
/// [`crate::format`]; both check them with [`Operator::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// Variables its sizes refer to.
    pub vars: VarTable,
    /// Bindings under which every size is checked legal.
    pub bindings: Vec<Binding>,
    /// The dimension arena.
    pub dims: Vec<Dim>,
    /// Primitive steps in data-flow order.
    pub ops: Vec<Op>,
    /// Axes of the input tensor, in order.
    pub input: Vec<DimId>,
    /// Axes of each weight tensor, in order.
    pub weights: Vec<Vec<DimId>>,
    /// Output axes, in order.
    pub outputs: Vec<DimId>,
}

/// Most weights a complete operator may have.
pub const MAX_WEIGHTS: usize = 3;

impl Operator {
    /// A dimension.
    pub fn dim(&self, d: DimId) -> &Dim {
        &self.dims[d.index()]
    }

    /// Size of a dimension.
    pub fn size(&self, d: DimId) -> Size {
        self.dims[d.index()].size
    }

    /// The dims summed over (inputs of the Reduce steps), in step order. Their indices are the
    /// reduction iterators `r0, r1, …`.
    pub fn reductions(&self) -> Vec<DimId> {
        self.ops
            .iter()
            .filter_map(|op| match op {
                Op::Reduce { input } => Some(*input),
                _ => None,
            })
            .collect()
    }

    /// Number of tensors (input + weights).
    pub fn tensor_count(&self) -> usize {
        1 + self.weights.len()
    }

    /// Axes of tensor `t` (0 = input, `1..` = weights).
    pub fn tensor_axes(&self, t: usize) -> &[DimId] {
        if t == 0 {
            &self.input
        } else {
            &self.weights[t - 1]
        }
    }

    /// Symbolic shape of tensor `t`.
    pub fn tensor_shape(&self, t: usize) -> Vec<Size> {
        self.tensor_axes(t).iter().map(|&d| self.size(d)).collect()
    }

    /// Symbolic output shape.
    pub fn output_shape(&self) -> Vec<Size> {
        self.outputs.iter().map(|&d| self.size(d)).collect()
    }

    /// Concrete shape of a list of dims under a binding.
    pub fn concrete(&self, dims: &[DimId], b: &Binding) -> Result<Vec<usize>> {
        dims.iter()
            .map(|&d| {
                let s = self.size(d);
                s.eval(b)
                    .map(|v| v as usize)
                    .ok_or_else(|| Error::IllegalSize {
                        size: s.display(&self.vars),
                        reason: format!("not a positive integer under binding `{}`", b.name),
                    })
            })
            .collect()
    }

    /// Number of weight parameters under a binding.
    pub fn params(&self, b: &Binding) -> Result<u64> {
        let mut total = 0u64;
        for w in &self.weights {
            let shape = self.concrete(w, b)?;
            total += shape.iter().map(|&x| x as u64).product::<u64>();
        }
        Ok(total)
    }

    /// Finds a dimension by name.
    pub fn dim_by_name(&self, name: &str) -> Option<DimId> {
        self.dims
            .iter()
            .position(|d| d.name == name)
            .map(|i| DimId(i as u32))
    }

    /// Checks every structural rule: sources and sinks agree with the steps, steps are in
    /// data-flow order, sizes agree across each step and are legal under every binding,
    /// windows are odd, weight axes are only ever the weight side of a Share, every dim is
    /// used exactly once, and there are 1–3 weights and at least one output axis.
    pub fn validate(&self) -> Result<()> {
        self.vars.validate()?;
        let name = |d: DimId| -> String {
            self.dims
                .get(d.index())
                .map(|x| x.name.clone())
                .unwrap_or_else(|| format!("#{}", d.0))
        };
        let check_id = |d: DimId| -> Result<()> {
            if d.index() < self.dims.len() {
                Ok(())
            } else {
                Err(Error::UnknownDim(format!("#{}", d.0)))
            }
        };
        if self.outputs.is_empty() {
            return Err(Error::InvalidOperator("no output axis".into()));
        }
        if self.weights.is_empty() || self.weights.len() > MAX_WEIGHTS {
            return Err(Error::InvalidOperator(format!(
                "{} weights; a complete operator has 1 to {MAX_WEIGHTS}",
                self.weights.len()
            )));
        }
        let mut names = std::collections::HashSet::new();
        for d in &self.dims {
            if !names.insert(d.name.as_str()) {
                return Err(Error::DuplicateDimName(d.name.clone()));
            }
        }
        // Recompute sources and sinks from the tensors and steps.
        let n = self.dims.len();
        let mut source: Vec<Option<Source>> = vec![None; n];
        let mut sink: Vec<Option<Sink>> = vec![None; n];
        let mut set_source = |d: DimId, s: Source| -> Result<()> {
            check_id(d)?;
            if source[d.index()].replace(s).is_some() {
                return Err(Error::IllegalStep(format!(
                    "dimension `{}` is produced twice",
                    name(d)
                )));
            }
            Ok(())
        };
        for (i, &d) in self.input.iter().enumerate() {
            set_source(d, Source::Input(i))?;
        }
        for (w, axes) in self.weights.iter().enumerate() {
            if axes.is_empty() {
                return Err(Error::InvalidOperator(format!("weight {w} has no axis")));
            }
            for (a, &d) in axes.iter().enumerate() {
                set_source(d, Source::Weight { weight: w, axis: a })?;
            }
        }
        for (k, op) in self.ops.iter().enumerate() {
            for d in op.outputs() {
                set_source(d, Source::Op(k))?;
            }
        }
        let mut set_sink = |d: DimId, s: Sink| -> Result<()> {
            check_id(d)?;
            if sink[d.index()].replace(s).is_some() {
                return Err(Error::DimUsedTwice(name(d)));
            }
            Ok(())
        };
        for (k, op) in self.ops.iter().enumerate() {
            for d in op.inputs() {
                set_sink(d, Sink::Op(k))?;
            }
        }
        for (i, &d) in self.outputs.iter().enumerate() {
            set_sink(d, Sink::Output(i))?;
        }
        for i in 0..n {
            let d = DimId(i as u32);
            let Some(src) = source[i] else {
                return Err(Error::InvalidOperator(format!(
                    "dimension `{}` has no source",
                    name(d)
                )));
            };
            let Some(snk) = sink[i] else {
                return Err(Error::DimUnused(name(d)));
            };
            if self.dims[i].source != src || self.dims[i].sink != Some(snk) {
                return Err(Error::InvalidOperator(format!(
                    "dimension `{}` has stale source/sink links",
                    name(d)
                )));
            }
            if self.dims[i].unordered
                && !matches!(src, Source::Input(_))
                && !matches!(snk, Sink::Output(_))
            {
                return Err(Error::InvalidOperator(format!(
                    "dimension `{}` is marked unordered but is neither an input nor an output axis",
                    name(d)
                )));
            }
            // Weight axes go straight into the weight port of a Share.
            if let Source::Weight { .. } = src {
                let ok = matches!(snk, Sink::Op(k) if matches!(self.ops[k], Op::Share { weight, .. } if weight == d));
                if !ok {
                    return Err(Error::IllegalStep(format!(
                        "weight axis `{}` must be consumed by a Share as its weight side",
                        name(d)
                    )));
                }
            }
            self.dims[i].size.check_legal(&self.vars, &self.bindings)?;
        }
        // Data-flow order and per-step size rules.
        for (k, op) in self.ops.iter().enumerate() {
            for d in op.inputs() {
                if let Source::Op(j) = self.dims[d.index()].source
                    && j >= k
                {
                    return Err(Error::InvalidOperator(format!(
                        "step {k} ({}) reads `{}` before it is produced",
                        op.kind(),
                        name(d)
                    )));
                }
            }
            self.check_step(op)?;
        }
        Ok(())
    }

    fn mismatch(&self, ctx: &str, a: Size, b: Size) -> Error {
        Error::SizeMismatch {
            context: ctx.to_string(),
            left: a.display(&self.vars),
            right: b.display(&self.vars),
        }
    }

    fn check_step(&self, op: &Op) -> Result<()> {
        let s = |d: DimId| self.size(d);
        match *op {
            Op::Split {
                input,
                outer,
                inner,
            } => {
                if s(outer).mul(s(inner)) != s(input) {
                    return Err(self.mismatch("Split", s(input), s(outer).mul(s(inner))));
                }
            }
            Op::Merge {
                outer,
                inner,
                output,
            } => {
                if s(outer).mul(s(inner)) != s(output) {
                    return Err(self.mismatch("Merge", s(output), s(outer).mul(s(inner))));
                }
            }
            Op::Shift { input, output, .. } => {
                if s(input) != s(output) {
                    return Err(self.mismatch("Shift", s(input), s(output)));
                }
            }
            Op::Stride {
                input,
                output,
                stride,
            } => {
                stride.check_legal(&self.vars, &self.bindings)?;
                if s(output).mul(stride) != s(input) {
                    return Err(self.mismatch("Stride", s(input), s(output).mul(stride)));
                }
            }
            Op::Unfold {
                input,
                main,
                window,
            } => {
                if s(input) != s(main) {
                    return Err(self.mismatch("Unfold", s(input), s(main)));
                }
                check_odd(s(window), &self.vars, &self.bindings)?;
            }
            Op::Expand { .. } | Op::Reduce { .. } => {}
            Op::Share {
                data,
                weight,
                output,
            } => {
                if !matches!(self.dim(weight).source, Source::Weight { .. }) {
                    return Err(Error::IllegalStep(format!(
                        "the weight side of a Share must be a weight axis, `{}` is not",
                        self.dim(weight).name
                    )));
                }
                if matches!(self.dim(data).source, Source::Weight { .. }) {
                    return Err(Error::IllegalStep(format!(
                        "the data side of a Share may not be a weight axis (`{}`)",
                        self.dim(data).name
                    )));
                }
                if s(data) != s(weight) {
                    return Err(self.mismatch("Share", s(data), s(weight)));
                }
                if s(data) != s(output) {
                    return Err(self.mismatch("Share", s(data), s(output)));
                }
            }
        }
        Ok(())
    }
}

/// Checks that a window size is odd under every binding.
pub(crate) fn check_odd(window: Size, vars: &VarTable, bindings: &[Binding]) -> Result<()> {
    window.check_legal(vars, bindings)?;
    for b in bindings {
        let v = window.eval(b).unwrap_or(0);
        if v.is_multiple_of(2) {
            return Err(Error::EvenWindow {
                window: window.display(vars),
                binding: b.name.clone(),
                value: v,
            });
        }
    }
    Ok(())
}
