//! # kas-synth
//!
//! Guided bottom-up synthesis of complete operators for a slot (issue "Guided synthesis").
//!
//! This crate will own partial operators (frontiers of dimensions), the legal next primitive
//! steps from each, the shape distance and FLOPs lower bound used for pruning, budgets,
//! finalization into an input tensor plus weights, the transposition table of the search DAG,
//! and random descent. It builds on the operator type of [`kas_primitives`].

pub use kas_primitives;
