//! The evaluator interface: the campaign runner hands it candidates, it hands back outcomes.
//! The real one (training through libtorch, timing on the GPU) lives in `kas-eval`; the
//! stand-in evaluators of `kas-search` test the search, the journal and the workers without
//! it.

use crate::candidate::Candidate;
use crate::fidelity::Fidelity;
use crate::outcome::Outcome;

/// Evaluates candidates on one device. One evaluator per worker; a worker runs one
/// evaluation at a time.
pub trait Evaluator: Send + Sync {
    /// An opaque key of the device and of everything its figures depend on (GPU model, SM,
    /// driver, CUDA and libtorch versions, precision switches). Journals refuse to mix keys.
    fn device_key(&self) -> String;
    /// Evaluates `candidate` at `fidelity`. Must not panic on a bad candidate: every failure
    /// is an [`Outcome::Failed`] (a panic is caught and recorded as `crashed` anyway).
    fn evaluate(&self, candidate: &Candidate, fidelity: &Fidelity) -> Outcome;
    /// Evaluates the slot's original layers at `fidelity`, the same way (the baseline every
    /// speedup and accuracy is compared with).
    fn baseline(&self, fidelity: &Fidelity) -> Outcome;
    /// Told, before any candidate is evaluated, the baseline outcome of each fidelity
    /// (evaluated now or replayed from the journal), so that an evaluator can size its limits
    /// by it (the real one bounds a candidate's training time by the baseline's). Does nothing
    /// by default.
    fn set_baseline(&self, fidelity: &Fidelity, outcome: &Outcome) {
        let _ = (fidelity, outcome);
    }
}
