//! # kas-graph
//!
//! Graph kernels: the level above kas's linear algebra (`docs/ARCHITECTURE.md`, "Graph
//! kernels"). A [`GraphKernel`] is a DAG whose nodes are either complete kas operators
//! ([`NodeOp::Linear`]: FC, convolutions, Mix, Scale, grouped and shifted variants, anything
//! the [`kas_primitives::Builder`] writes) or non-linear nodes: activations and element-wise
//! math ([`Unary`]), pooling over axes ([`NodeOp::Fold`]), softmax along an axis, broadcast
//! blends ([`BlendKind`]) and a matrix product between two intermediate tensors
//! ([`NodeOp::Bmm`]); for sequence slots, a causal softmax ([`NodeOp::CausalSoftmax`]) and a
//! prefix mean ([`NodeOp::PrefixMean`]), with a causality check ([`causal`]).
//!
//! Shapes are symbolic ([`kas_primitives::Size`] over the kernel's variables), so one graph
//! kernel fills every binding of a slot. The crate has the file format ([`format`](mod@format), kind
//! `kas-graph`), a reference interpreter in f64 that evaluates linear nodes with the
//! operator interpreter ([`interp`]), pseudo-C and Graphviz printers ([`print`](mod@print)), a
//! canonical form with exact simplification rules as data ([`canon`]) and a guided sampler
//! that builds legal kernels without rejection sampling ([`sample`]).

pub mod canon;
pub mod causal;
pub mod cost;
pub mod error;
pub mod format;
pub mod interp;
pub mod kernel;
pub mod node;
pub mod print;
pub mod sample;

pub use error::{GraphError, Result};
pub use format::{GraphFile, read_graph, write_graph};
pub use kernel::GraphKernel;
pub use node::{BlendKind, FoldKind, Node, NodeId, NodeOp, Unary};

#[cfg(test)]
mod tests;
