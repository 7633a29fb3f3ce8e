//! # kas-campaign
//!
//! The types on the seam between the search (`kas-search`) and the evaluators (`kas-eval`),
//! so that both see them and neither depends on the other:
//!
//! * the campaign file ([`CampaignFile`], RON, `docs/FORMAT.md`) with every section of it:
//!   the host model ([`ModelSection`]), budgets, [`Fidelity`]s, the searchers' constants
//!   ([`Algorithm`]), the [`RewardConfig`], the evaluator ([`EvaluatorKind`]) and the kernels a
//!   GPU times ([`KernelMode`]);
//! * what a campaign searches over ([`SearchSpace`]: operators or graph kernels);
//! * what an evaluator is handed ([`Candidate`], whose [`Kernel`] is an operator or a graph
//!   kernel) and what it hands back ([`Outcome`]:
//!   [`Metrics`] with typed [`Figure`]s, or a failure of a [`FailureKind`]);
//! * the [`Evaluator`] interface itself, the [`reward`] of an outcome, and the training
//!   [`seeds`] of the last fidelity.

pub mod candidate;
pub mod error;
pub mod evaluator;
pub mod fidelity;
pub mod file;
pub mod outcome;
pub mod reward;
pub mod search_config;
pub mod seeds;
pub mod space;

pub use candidate::Candidate;
pub use candidate::Kernel;
pub use error::{CampaignError, Result};
pub use evaluator::Evaluator;
pub use fidelity::Fidelity;
pub use file::{
    ALL_GPUS, CAMPAIGN_KIND, CAMPAIGN_VERSION, CampaignBudget, CampaignFile, EvaluatorKind,
    KernelMode, ModelSection, SpecSource, StandInConfig,
};
pub use kas_codegen::Precision;
pub use outcome::{FailureKind, Figure, Metrics, Outcome, TIMING_FIGURES, first_line};
pub use reward::{RewardConfig, RewardTarget, WITHIN_NATS};
pub use search_config::{Algorithm, BeamConfig, MctsConfig};
pub use space::{GraphSpace, SearchSpace};
