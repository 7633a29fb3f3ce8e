//! # kas-synth
//!
//! Guided bottom-up synthesis of complete operators for a slot (`docs/ARCHITECTURE.md`,
//! "Synthesis").
//!
//! A node of the search [`Dag`] is a partial operator ([`State`]): the frontier of dimensions
//! ([`DimNode`]) reached from the output iterators and reductions, the weights attached and the
//! step counts. Children ([`Child`], by [`StepType`]) are the legal next primitive steps, read
//! bottom-up: reductions first, then views (Split, Merge, Shift, Unfold) and contractions (one
//! weight each), then finalization into a [`Leaf`] when the frontier equals the input shape.
//! Every filter is a named switch with a hit counter ([`Rule`], [`Filters`], [`DagStats`]);
//! the shape distance and FLOPs bounds ([`shape_distance`], [`flops_lower_bound`],
//! [`flops_upper_bound`]) and a relaxed search ([`Feasibility`]) prune nodes that cannot
//! finish ([`Prune`]); dead ends are marked. Leaves are replayed through the builder and kept
//! only inside the FLOPs window. Random descent ([`descend`]) and parallel runs with a
//! [`Report`] ([`run()`], [`sample`]) sample distinct operators deterministically for a seed.
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

// The public API is the list of re-exports below: what callers (the searchers, the `kas`
// commands and the integration tests) use to build a DAG, walk it and sample from it, and
// the types reachable through it. Everything else is crate-private; the lint keeps it so.
#![warn(unreachable_pub)]

mod config;
mod dag;
mod descent;
mod dim;
mod distance;
mod error;
mod feasible;
mod finalize;
mod generate;
mod mix;
mod replay;
mod rules;
mod run;
mod state;

// Configuration and the DAG.
pub use config::{Config, SearchedAxis};
pub use dag::{Child, Dag, Node};
pub use rules::{DagStats, Filters, Prune, Rule};
// What a node holds.
pub use dim::{AppliedStep, DimNode, Origin, StepKind};
pub use generate::StepType;
pub use state::{Counts, State};
// Leaves and sampling.
pub use descent::{Descent, descend};
pub use finalize::Leaf;
pub use run::{Report, RunOptions, SynthStop, run, sample};
// Bounds (for tests and tools that check them).
pub use distance::{flops_lower_bound, flops_upper_bound, shape_distance};
pub use feasible::Feasibility;
// Errors.
pub use error::{Result, SynthError};
