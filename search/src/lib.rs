//! # kas-search
//!
//! Search over the synthesis DAG and the campaign runner (`docs/ARCHITECTURE.md`, "Search").
//! The campaign file, candidates, outcomes, rewards and the evaluator interface are
//! `kas-campaign`'s.
//!
//! * Searchers behind one pull-style interface ([`Searcher`]: `propose` / `observe`):
//!   over operators [`Mcts`] (UCB1-tuned with virtual loss, progressive widening, statistics shared across
//!   transpositions, exhausted subtrees marked), [`RandomSearch`] and [`Beam`]. Each is a
//!   deterministic function of its seed and of the calls it received, and never proposes a
//!   canonical hash twice ([`space`]). Over a graph space (`space: Graph(...)`),
//!   [`GraphRandom`] draws graph kernels from the graph sampler.
//! * The campaign runner ([`runner`]): an evaluator per worker (`kas-eval`'s, or the
//!   [`standin`] here for tests), multi-fidelity promotion ([`ladder`]), budgets, and the
//!   append-only [`journal`] that makes a campaign resumable after a kill. One process at a
//!   time works on a campaign directory ([`lock`]); a new campaign is written only into a new
//!   or empty directory ([`directory`]).
//! * The one reader of a journal, with its checks ([`history`]), for resume and report alike.
//! * Campaign reports ([`report`]) and the search-quality harness ([`quality`]).
//!
//! ```no_run
//! use kas_campaign::{CampaignFile, Evaluator};
//! use kas_search::{Campaign, SessionOptions, StandIn};
//! use std::sync::Arc;
//! let file = CampaignFile::read("experiments/configs/standin-small.ron".as_ref()).unwrap();
//! let c = Campaign::create("runs/demo".as_ref(), &file, "experiments/configs".as_ref()).unwrap();
//! let ev: Arc<dyn Evaluator> = Arc::new(StandIn::new(Default::default(), 0, c.flops_window()));
//! let summary = c.run(&[ev], SessionOptions::default(), &|_| {}).unwrap();
//! println!("stopped: {}", summary.stop.name());
//! ```

pub mod beam;
pub mod directory;
pub mod error;
pub mod graph_random;
pub mod history;
pub mod journal;
pub mod kernel_file;
pub mod ladder;
pub mod lock;
pub mod mcts;
pub mod migrate;
pub mod proposal;
pub mod quality;
pub mod random;
pub mod replay;
pub mod report;
pub mod retime;
pub mod runner;
pub mod scheduler;
pub mod searcher;
pub mod space;
pub mod standin;
pub mod stats;
pub mod uct;
pub mod walk;

pub use beam::Beam;
pub use error::{Result, SearchError};
pub use graph_random::GraphRandom;
pub use mcts::Mcts;
pub use proposal::{Proposal, ProposalId};
pub use random::RandomSearch;
pub use runner::{Campaign, Phase, Progress, SessionOptions, SessionSummary};
pub use scheduler::{Scheduler, StopReason};
pub use searcher::Searcher;
pub use space::{CanonCache, Space};
pub use standin::StandIn;
