//! # kas-search
//!
//! Search over the synthesis DAG and the campaign runner (issue "Search campaigns").
//!
//! This crate will own MCTS and the random / beam baselines behind one pull-style interface
//! (`propose` / `observe`), rewards with latency in the loop, the `Evaluator` trait implemented
//! by `kas-eval`, multi-fidelity evaluation, and the append-only journal that makes campaigns
//! resumable. It depends only on [`kas_synth`] and [`kas_primitives`], so it is tested without
//! libtorch.

pub use kas_synth;
