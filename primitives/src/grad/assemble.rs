//! Turns a list of steps and tensor axes into a valid [`Operator`]: steps in data-flow order,
//! the arena compacted to the dims still used, sources and sinks recomputed.

use crate::error::{Error, Result};
use crate::graph::{Dim, DimId, Op, Sink, Source};
use crate::operator::Operator;
use crate::size::{Binding, VarTable};
use std::collections::HashSet;

/// An operator under construction: a dim arena (possibly with unused dims) and the steps and
/// tensor axes that refer to it, steps in any order.
pub(crate) struct Draft {
    /// Variables.
    pub vars: VarTable,
    /// Bindings.
    pub bindings: Vec<Binding>,
    /// The arena (sources, sinks and unused dims are fixed up by [`Draft::finish`]).
    pub dims: Vec<Dim>,
    /// Steps, in any order.
    pub ops: Vec<Op>,
    /// Input axes.
    pub input: Vec<DimId>,
    /// Axes of each weight.
    pub weights: Vec<Vec<DimId>>,
    /// Output axes.
    pub outputs: Vec<DimId>,
}

impl Draft {
    /// Adds a dim with a name not yet in the arena (`base`, else `base_2`, `base_3`, …).
    pub fn add_dim(&mut self, base: &str, like: DimId) -> DimId {
        let taken: HashSet<&str> = self.dims.iter().map(|d| d.name.as_str()).collect();
        let mut name = base.to_string();
        let mut k = 2;
        while taken.contains(name.as_str()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        let size = self.dims[like.index()].size;
        self.dims.push(Dim {
            size,
            name,
            source: Source::Input(0),
            sink: None,
            unordered: false,
        });
        DimId(self.dims.len() as u32 - 1)
    }

    /// Orders the steps, compacts the arena and validates the result.
    pub fn finish(self) -> Result<Operator> {
        // Data-flow order: a step goes once every dim it reads exists (stable otherwise).
        let mut have: HashSet<DimId> = self
            .input
            .iter()
            .chain(self.weights.iter().flatten())
            .copied()
            .collect();
        let mut left: Vec<Op> = self.ops;
        let mut ordered = Vec::with_capacity(left.len());
        while !left.is_empty() {
            let Some(k) = left
                .iter()
                .position(|op| op.inputs().iter().all(|d| have.contains(d)))
            else {
                return Err(Error::InvalidOperator(
                    "gradient: the reversed steps read a dimension nothing produces".into(),
                ));
            };
            let op = left.remove(k);
            have.extend(op.outputs());
            ordered.push(op);
        }
        // Compact the arena to the dims still referred to, keeping their order.
        let mut used = vec![false; self.dims.len()];
        let all = self
            .input
            .iter()
            .chain(self.weights.iter().flatten())
            .chain(&self.outputs)
            .copied()
            .chain(ordered.iter().flat_map(|op| {
                let mut v = op.inputs();
                v.extend(op.outputs());
                v
            }))
            .collect::<Vec<_>>();
        for d in &all {
            used[d.index()] = true;
        }
        let mut map = vec![DimId(u32::MAX); self.dims.len()];
        let mut dims = Vec::new();
        for (i, d) in self.dims.into_iter().enumerate() {
            if used[i] {
                map[i] = DimId(dims.len() as u32);
                dims.push(d);
            }
        }
        let m = |d: DimId| map[d.index()];
        let ops: Vec<Op> = ordered.iter().map(|op| remap(op, m)).collect();
        let input: Vec<DimId> = self.input.iter().map(|&d| m(d)).collect();
        let weights: Vec<Vec<DimId>> = self
            .weights
            .iter()
            .map(|w| w.iter().map(|&d| m(d)).collect())
            .collect();
        let outputs: Vec<DimId> = self.outputs.iter().map(|&d| m(d)).collect();
        for (i, &d) in input.iter().enumerate() {
            dims[d.index()].source = Source::Input(i);
        }
        for (w, axes) in weights.iter().enumerate() {
            for (a, &d) in axes.iter().enumerate() {
                dims[d.index()].source = Source::Weight { weight: w, axis: a };
            }
        }
        for (k, op) in ops.iter().enumerate() {
            for d in op.outputs() {
                dims[d.index()].source = Source::Op(k);
            }
            for d in op.inputs() {
                dims[d.index()].sink = Some(Sink::Op(k));
            }
        }
        for (i, &d) in outputs.iter().enumerate() {
            dims[d.index()].sink = Some(Sink::Output(i));
        }
        // Only input and output axes may be unordered.
        for d in &mut dims {
            if !matches!(d.source, Source::Input(_)) && !matches!(d.sink, Some(Sink::Output(_))) {
                d.unordered = false;
            }
        }
        let op = Operator {
            vars: self.vars,
            bindings: self.bindings,
            dims,
            ops,
            input,
            weights,
            outputs,
        };
        op.validate()?;
        Ok(op)
    }
}

/// The step with every dim renamed by `m`.
pub(crate) fn remap(op: &Op, m: impl Fn(DimId) -> DimId) -> Op {
    match *op {
        Op::Split {
            input,
            outer,
            inner,
        } => Op::Split {
            input: m(input),
            outer: m(outer),
            inner: m(inner),
        },
        Op::Merge {
            outer,
            inner,
            output,
        } => Op::Merge {
            outer: m(outer),
            inner: m(inner),
            output: m(output),
        },
        Op::Shift {
            input,
            output,
            offset,
        } => Op::Shift {
            input: m(input),
            output: m(output),
            offset,
        },
        Op::Stride {
            input,
            output,
            stride,
        } => Op::Stride {
            input: m(input),
            output: m(output),
            stride,
        },
        Op::Unfold {
            input,
            main,
            window,
        } => Op::Unfold {
            input: m(input),
            main: m(main),
            window: m(window),
        },
        Op::Expand { output } => Op::Expand { output: m(output) },
        Op::Share {
            data,
            weight,
            output,
        } => Op::Share {
            data: m(data),
            weight: m(weight),
            output: m(output),
        },
        Op::Reduce { input } => Op::Reduce { input: m(input) },
    }
}
