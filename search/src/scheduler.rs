//! The campaign's deterministic state machine: which evaluation runs next (a promotion or a
//! new proposal), what an outcome is worth, and when the campaign stops. Given the same seed
//! and the same sequence of [`Scheduler::next_job`] and [`Scheduler::complete`] calls it makes
//! the same decisions, which is what lets a journal be replayed into the same state.

use crate::ladder::Ladder;
use crate::proposal::ProposalId;
use crate::searcher::Searcher;
use kas_campaign::Candidate;
use kas_campaign::Fidelity;
use kas_campaign::Outcome;
use kas_campaign::RewardConfig;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One evaluation to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// Job number (0, 1, … in issue order).
    pub id: u64,
    /// The candidate's proposal number.
    pub proposal: ProposalId,
    /// Fidelity index.
    pub level: usize,
    /// The candidate.
    pub candidate: Arc<Candidate>,
}

/// Why a campaign stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The evaluation budget is spent.
    MaxEvals,
    /// The wall-time budget is spent.
    WallTime,
    /// The searcher has nothing left to propose and nothing can be promoted.
    Exhausted,
}

impl StopReason {
    /// The reason's name, as printed.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::MaxEvals => "max-evals",
            StopReason::WallTime => "wall-time",
            StopReason::Exhausted => "exhausted",
        }
    }
}

/// What [`Scheduler::next_job`] says.
#[derive(Debug, Clone)]
pub enum Next {
    /// Run this job.
    Run(Job),
    /// Nothing to run until an evaluation in flight ends.
    Wait,
    /// Nothing more will run.
    Done(StopReason),
}

/// A finished evaluation.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The job.
    pub job: Job,
    /// Its outcome.
    pub outcome: Outcome,
    /// Its reward.
    pub reward: f64,
}

/// The scheduler of a campaign.
pub struct Scheduler {
    searcher: Box<dyn Searcher>,
    fidelities: Vec<Fidelity>,
    reward: RewardConfig,
    baselines: Vec<Option<f64>>,
    ladder: Ladder,
    candidates: BTreeMap<ProposalId, Arc<Candidate>>,
    in_flight: BTreeMap<u64, Job>,
    issued_jobs: u64,
    finished: u64,
    max_evals: u64,
    searcher_done: bool,
    best: Option<(f64, u64)>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("searcher", &self.searcher.name())
            .field("issued", &self.issued_jobs)
            .field("finished", &self.finished)
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}

impl Scheduler {
    /// A scheduler running `searcher` over `fidelities` (promoting the best `1/eta` of each),
    /// scoring with `reward`, stopping after `max_evals` evaluations in all.
    pub fn new(
        searcher: Box<dyn Searcher>,
        fidelities: Vec<Fidelity>,
        eta: u32,
        reward: RewardConfig,
        max_evals: u64,
    ) -> Scheduler {
        let levels = fidelities.len().max(1);
        Scheduler {
            searcher,
            ladder: Ladder::new(levels, eta),
            baselines: vec![None; levels],
            fidelities,
            reward,
            candidates: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            issued_jobs: 0,
            finished: 0,
            max_evals,
            searcher_done: false,
            best: None,
        }
    }

    /// Sets the baseline outcome of fidelity `level` (its target figure enters rewards).
    pub fn set_baseline(&mut self, level: usize, outcome: &Outcome) {
        if let Some(b) = self.baselines.get_mut(level) {
            *b = self.reward.figure(outcome);
        }
    }

    /// Changes the evaluation budget (total over the campaign).
    pub fn set_max_evals(&mut self, max_evals: u64) {
        self.max_evals = max_evals;
    }

    /// The fidelities.
    pub fn fidelities(&self) -> &[Fidelity] {
        &self.fidelities
    }

    /// Jobs issued so far.
    pub fn issued(&self) -> u64 {
        self.issued_jobs
    }

    /// Evaluations finished so far.
    pub fn finished(&self) -> u64 {
        self.finished
    }

    /// The evaluation budget.
    pub fn max_evals(&self) -> u64 {
        self.max_evals
    }

    /// Jobs issued and not finished, by number.
    pub fn in_flight(&self) -> Vec<Job> {
        self.in_flight.values().cloned().collect()
    }

    /// The best reward so far and the job that got it.
    pub fn best(&self) -> Option<(f64, u64)> {
        self.best
    }

    /// The searcher.
    pub fn searcher(&self) -> &dyn Searcher {
        self.searcher.as_ref()
    }

    /// The next job: a promotion if one is due, else a new proposal at the screen fidelity.
    pub fn next_job(&mut self) -> Next {
        if self.issued_jobs >= self.max_evals {
            return if self.in_flight.is_empty() {
                Next::Done(StopReason::MaxEvals)
            } else {
                Next::Wait
            };
        }
        let (proposal, level, candidate) = if let Some((p, level)) = self.ladder.promote() {
            (p, level, self.candidates[&p].clone())
        } else if self.searcher_done {
            return self.idle();
        } else {
            match self.searcher.propose() {
                Some(p) => {
                    self.candidates.insert(p.id, p.candidate.clone());
                    (p.id, 0, p.candidate)
                }
                None => {
                    self.searcher_done = true;
                    return self.idle();
                }
            }
        };
        let job = Job {
            id: self.issued_jobs,
            proposal,
            level,
            candidate,
        };
        self.issued_jobs += 1;
        self.in_flight.insert(job.id, job.clone());
        Next::Run(job)
    }

    fn idle(&self) -> Next {
        if self.in_flight.is_empty() {
            Next::Done(StopReason::Exhausted)
        } else {
            Next::Wait
        }
    }

    /// Records the outcome of job `id` (ignored if that job is not in flight); returns it
    /// with its reward. Screen outcomes are fed back to the searcher.
    pub fn complete(&mut self, id: u64, outcome: Outcome) -> Option<Finished> {
        let job = self.in_flight.remove(&id)?;
        let outcome = outcome.sanitized();
        let base = self.baselines.get(job.level).copied().flatten();
        let reward = self.reward.reward(&outcome, base);
        self.ladder
            .record(job.level, job.proposal, reward, outcome.metrics().is_some());
        if job.level == 0 {
            self.searcher.observe(job.proposal, reward);
        }
        self.finished += 1;
        if self.best.is_none_or(|(b, _)| reward > b) {
            self.best = Some((reward, job.id));
        }
        Some(Finished {
            job,
            outcome,
            reward,
        })
    }
}
