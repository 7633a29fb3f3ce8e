//! What a searcher proposes: a numbered candidate.

use kas_campaign::Candidate;

/// The number a searcher gives each proposal (0, 1, 2, … in proposal order).
pub type ProposalId = u64;

/// One proposal of a searcher.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// Its number; pass it back to [`crate::Searcher::observe`].
    pub id: ProposalId,
    /// The operator to evaluate.
    pub candidate: std::sync::Arc<Candidate>,
}
