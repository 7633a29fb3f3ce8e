//! # kas-synth
//!
//! Guided bottom-up synthesis of complete operators for a slot (`DESIGN.md`, "Synthesis";
//! `reference/syno.md` §3–§6).
//!
//! A node of the search DAG ([`dag`]) is a partial operator ([`state::State`]): the frontier of
//! dimensions reached from the output iterators and reductions, the weights attached and the
//! step counts. Children ([`generate`]) are the legal next primitive steps, read bottom-up:
//! reductions first, then views (Split, Merge, Shift, Unfold) and contractions (one weight
//! each), then finalization ([`finalize`]) when the frontier equals the input shape. Every
//! filter is a named switch with a hit counter ([`rules`]); the shape distance and FLOPs
//! bounds ([`distance`]) prune nodes that cannot finish; dead ends are marked. Leaves are
//! replayed through the builder ([`replay`]) and kept only inside the FLOPs window. Random
//! descent ([`descent`]) and parallel runs with a report ([`run`](mod@run)) sample distinct operators
//! deterministically for a seed.
//!
//! ```no_run
//! use kas_synth::{Config, Dag, Filters, RunOptions, sample};
//! let text = std::fs::read_to_string("experiments/specs/cnn-small.ron").unwrap();
//! let spec = kas_primitives::Spec::read(&text, "cnn-small.ron").unwrap();
//! let dag = Dag::new(Config::new(spec).unwrap(), Filters::default());
//! let opts = RunOptions { count: Some(10), ..RunOptions::default() };
//! let (ops, report) = sample(&dag, &opts).unwrap();
//! println!("{} operators, leaf rate {}", ops.len(), report.leaf_rate());
//! ```

pub mod config;
pub mod dag;
pub mod descent;
pub mod dim;
pub mod distance;
pub mod error;
pub mod feasible;
pub mod finalize;
pub mod generate;
pub mod mix;
pub mod replay;
pub mod rules;
pub mod run;
pub mod state;

pub use config::Config;
pub use dag::Dag;
pub use error::{Result, SynthError};
pub use finalize::Leaf;
pub use rules::{Filters, Prune, Rule};
pub use run::{Report, RunOptions, SynthStop, run, sample};

pub use kas_primitives;
