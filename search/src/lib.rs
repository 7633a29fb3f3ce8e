//! # kas-search
//!
//! Search over the synthesis DAG and the campaign runner (`DESIGN.md`, "Search";
//! `reference/syno.md` §7).
//!
//! * Searchers behind one pull-style interface ([`Searcher`]: `propose` / `observe`):
//!   [`Mcts`] (UCB1-tuned with virtual loss, progressive widening, statistics shared across
//!   transpositions, exhausted subtrees marked), [`RandomSearch`] and [`Beam`]. Each is a
//!   deterministic function of its seed and of the calls it received, and never proposes a
//!   canonical hash twice ([`space`]).
//! * [`Outcome`]s (measured figures or a failure with its kind) and [`reward`]s that rise
//!   with accuracy and with measured speedup.
//! * The campaign runner ([`runner`]): an [`Evaluator`] per worker (implemented by `kas-eval`;
//!   [`standin`] here for tests), multi-fidelity promotion ([`fidelity`]), budgets, and the
//!   append-only [`journal`] that makes a campaign resumable after a kill.
//! * Campaign files ([`campaign`]) and the search-quality harness ([`quality`]).
//!
//! ```no_run
//! use kas_search::{Campaign, CampaignFile, Evaluator, RunOptions, StandIn};
//! use std::sync::Arc;
//! let file = CampaignFile::read("experiments/configs/standin-small.ron".as_ref()).unwrap();
//! let c = Campaign::create("runs/demo".as_ref(), &file, "experiments/configs".as_ref()).unwrap();
//! let ev: Arc<dyn Evaluator> = Arc::new(StandIn::new(Default::default(), 0, c.flops_window()));
//! let summary = c.run(&[ev], RunOptions::default(), &|_| {}).unwrap();
//! println!("stopped: {}", summary.stop.name());
//! ```

pub mod beam;
pub mod campaign;
pub mod candidate;
pub mod error;
pub mod evaluator;
pub mod fidelity;
pub mod journal;
pub mod mcts;
pub mod outcome;
pub mod quality;
pub mod random;
pub mod report;
pub mod reward;
pub mod runner;
pub mod scheduler;
pub mod searcher;
pub mod space;
pub mod standin;
pub mod uct;
pub mod walk;

pub use beam::{Beam, BeamConfig};
pub use campaign::{CampaignFile, EvaluatorKind, Kernels, SpecSource};
pub use candidate::{Candidate, Proposal, ProposalId};
pub use error::{Result, SearchError};
pub use evaluator::Evaluator;
pub use fidelity::Fidelity;
pub use mcts::{Mcts, MctsConfig};
pub use outcome::{FailureKind, Metrics, Outcome};
pub use random::RandomSearch;
pub use reward::RewardConfig;
pub use runner::{Campaign, Progress, RunOptions, Summary};
pub use scheduler::{Scheduler, StopReason};
pub use searcher::{Algorithm, Searcher};
pub use space::{CanonCache, Space};
pub use standin::{StandIn, StandInConfig};

pub use kas_synth;
