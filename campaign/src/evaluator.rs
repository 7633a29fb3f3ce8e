//! The evaluator interface: the campaign runner hands it candidates, it hands back outcomes.
//! The real one (training through libtorch, timing on the GPU) lives in `kas-eval`; the
//! stand-in evaluators of `kas-search` test the search, the journal and the workers without
//! it.

use crate::candidate::Candidate;
use crate::fidelity::Fidelity;
use crate::outcome::Outcome;

/// Evaluates candidates on one device. One evaluator per worker; a worker runs one
/// evaluation at a time.
///
/// Training figures (accuracy, loss) depend on the training seed and the campaign's precision,
/// not on the device; timing figures ([`crate::Metrics::timing`]) depend on the device. A
/// campaign resumed on another device keeps the first and times its candidates again
/// ([`Evaluator::time`]).
pub trait Evaluator: Send + Sync {
    /// An opaque key of the device and of everything its timing depends on (GPU model, SM,
    /// driver, CUDA and libtorch versions, precision switches). A journal names the key of
    /// every figure; a report shows timing from the current session's keys.
    fn device_key(&self) -> String;
    /// Evaluates `candidate` at `fidelity`, training from `seed` (model weights, data order
    /// and augmentation; [`crate::seeds::training_seed`]). Must not panic on a bad candidate:
    /// every failure is an [`Outcome::Failed`] (a panic is caught and recorded as `crashed`
    /// anyway).
    fn evaluate(&self, candidate: &Candidate, fidelity: &Fidelity, seed: u64) -> Outcome;
    /// Evaluates the slot's original layers at `fidelity` from `seed`, the same way (the
    /// baseline every speedup and accuracy is compared with).
    fn baseline(&self, fidelity: &Fidelity, seed: u64) -> Outcome;
    /// Times `candidate`'s slot set against the original layers as an evaluation at
    /// `fidelity` would, without training: an outcome with timing figures only (speedup,
    /// latency and the timing extras), or the failure the timing ended with.
    fn time(&self, candidate: &Candidate, fidelity: &Fidelity) -> Outcome;
    /// Told, before any candidate is evaluated, the baseline outcome of each fidelity
    /// (evaluated now or replayed from the journal; the mean over its seeds), so that an
    /// evaluator can size its limits by it (the real one bounds a candidate's training time by
    /// the baseline's). Does nothing by default.
    fn set_baseline(&self, fidelity: &Fidelity, outcome: &Outcome) {
        let _ = (fidelity, outcome);
    }
}
