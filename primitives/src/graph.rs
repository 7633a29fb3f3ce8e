//! Dimensions and primitive steps: the nodes and edges of an operator's primitive DAG.
//!
//! Dimensions live in an arena and are named by [`DimId`]. Every primitive is an [`Op`] written
//! in **data-flow direction**: from the input tensor and weights toward the output. Its index
//! semantics (given in the docs of each variant) are in *pull* direction: the index of an
//! input-side dimension as a function of the indices of the output-side dimensions.

use crate::size::Size;
use serde::{Deserialize, Serialize};

/// Index of a dimension in an operator's arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DimId(pub u32);

impl DimId {
    /// The arena position.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a dimension comes from (its data-flow source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Axis `axis` of the input tensor.
    Input(usize),
    /// Axis `axis` of weight `weight` (0-based: weight 0 is the first weight tensor, tensor 1
    /// of the semantics contract).
    Weight {
        /// Which weight.
        weight: usize,
        /// Which axis of it.
        axis: usize,
    },
    /// Produced by the op at this position of [`crate::Operator::ops`].
    Op(usize),
}

/// Where a dimension goes (its data-flow sink).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sink {
    /// Consumed by the op at this position.
    Op(usize),
    /// Output axis at this position.
    Output(usize),
}

/// One dimension: a coordinate with a symbolic size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dim {
    /// Its size.
    pub size: Size,
    /// A human-readable name, unique within the operator.
    pub name: String,
    /// Where it comes from.
    pub source: Source,
    /// Where it goes (`None` only while an operator is being built).
    pub sink: Option<Sink>,
    /// Channel-like: the order of its coordinates carries no meaning (input and output axes
    /// only).
    pub unordered: bool,
}

/// A primitive step, in data-flow direction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    /// One dim of size `G·B` becomes `outer` (size G) and `inner` (size B); pull:
    /// `input = outer·B + inner`.
    Split {
        /// The dim that is split.
        input: DimId,
        /// Slow-varying part (G).
        outer: DimId,
        /// Fast-varying part (B).
        inner: DimId,
    },
    /// Dims `outer` (N/B) and `inner` (B) become one dim of size N; pull:
    /// `outer = output div B`, `inner = output mod B`.
    Merge {
        /// Slow-varying part.
        outer: DimId,
        /// Fast-varying part (its size is the block B).
        inner: DimId,
        /// The merged dim.
        output: DimId,
    },
    /// Cyclic shift; pull: `input = (output + offset) mod N`.
    Shift {
        /// The dim before the shift.
        input: DimId,
        /// The dim after it.
        output: DimId,
        /// The constant offset (any sign).
        offset: i64,
    },
    /// Keep every `stride`-th coordinate; pull: `input = stride·output`.
    Stride {
        /// The dim of size `stride·n`.
        input: DimId,
        /// The dim of size `n`.
        output: DimId,
        /// The stride.
        stride: Size,
    },
    /// Sliding window with zero padding; pull: `input = main + window − K div 2`, and the
    /// product term is zero when that is outside `[0, N)`.
    Unfold {
        /// The dim of size N that is windowed.
        input: DimId,
        /// The main coordinate (size N).
        main: DimId,
        /// The window coordinate (size K, odd).
        window: DimId,
    },
    /// A new dim the data does not depend on (broadcast).
    Expand {
        /// The new dim.
        output: DimId,
    },
    /// Pairs a data dim with a weight axis of the same size: both read the output's index.
    Share {
        /// The data-side dim.
        data: DimId,
        /// The weight axis.
        weight: DimId,
        /// The shared dim.
        output: DimId,
    },
    /// Sum over the dim (its index becomes a reduction iterator).
    Reduce {
        /// The dim that is summed.
        input: DimId,
    },
}

impl Op {
    /// The dims the op consumes (data-flow inputs), in port order.
    pub fn inputs(&self) -> Vec<DimId> {
        match *self {
            Op::Split { input, .. } => vec![input],
            Op::Merge { outer, inner, .. } => vec![outer, inner],
            Op::Shift { input, .. } | Op::Stride { input, .. } => vec![input],
            Op::Unfold { input, .. } => vec![input],
            Op::Expand { .. } => vec![],
            Op::Share { data, weight, .. } => vec![data, weight],
            Op::Reduce { input } => vec![input],
        }
    }

    /// The dims the op produces (data-flow outputs), in port order.
    pub fn outputs(&self) -> Vec<DimId> {
        match *self {
            Op::Split { outer, inner, .. } => vec![outer, inner],
            Op::Merge { output, .. } => vec![output],
            Op::Shift { output, .. } | Op::Stride { output, .. } => vec![output],
            Op::Unfold { main, window, .. } => vec![main, window],
            Op::Expand { output } => vec![output],
            Op::Share { output, .. } => vec![output],
            Op::Reduce { .. } => vec![],
        }
    }

    /// The primitive's name, as in the file format.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Split { .. } => "Split",
            Op::Merge { .. } => "Merge",
            Op::Shift { .. } => "Shift",
            Op::Stride { .. } => "Stride",
            Op::Unfold { .. } => "Unfold",
            Op::Expand { .. } => "Expand",
            Op::Share { .. } => "Share",
            Op::Reduce { .. } => "Reduce",
        }
    }
}
