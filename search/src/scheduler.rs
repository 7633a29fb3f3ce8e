//! The campaign's deterministic state machine: which evaluation runs next (a promotion, a
//! further training seed, or a new proposal), what an outcome is worth, what the searcher
//! learns, and when the campaign stops. Given the same seed and the same sequence of calls
//! ([`Scheduler::set_seeds`], [`Scheduler::set_baseline`], [`Scheduler::next_job`],
//! [`Scheduler::complete`]) it makes the same decisions, which is what lets a journal be
//! replayed into the same state.
//!
//! * **Seeds.** The last fidelity evaluates each candidate promoted to it on `seeds` training
//!   seeds (seed indices 0, 1, …; `kas_campaign::seeds`): the promotion issues seed index 0
//!   and queues the others, which are issued before anything else. When every seed issued for
//!   a candidate has its outcome, their mean ([`Outcome::mean`]; a failure on any seed is the
//!   candidate's failure) is its result at the last fidelity. Raising `seeds` (a journal of an
//!   older build, which had one) queues the missing seed indices of every candidate already
//!   there. The baseline of a fidelity is the mean of its seeds' outcomes.
//! * **Rewards.** Each evaluation's reward (journaled) compares its outcome with its own
//!   fidelity's baseline; the result of a candidate at the last fidelity is the reward of its
//!   mean outcome.
//! * **Feedback.** The searcher observes a candidate's screen result; every later result of it
//!   (a promotion's, then the last fidelity's mean over its seeds) *replaces* what the searcher
//!   had ([`crate::Searcher::revise`]), expressed at the screen's scale: shifted down by the
//!   difference between the baseline's own reward at that fidelity and at the screen, so that
//!   a fidelity's longer training is not by itself counted as progress (a failure stays 0).
//! * **Archive.** After a migration to a new rule set ([`crate::journal::Record::Migration`])
//!   the outcomes journaled before it are an archive keyed by (re-keyed canonical hash,
//!   fidelity, seed index): when the new search proposes or promotes a candidate it holds, the
//!   archived outcome is taken at once (no job, no evaluation), as if it had just finished.

use crate::ladder::Ladder;
use crate::proposal::ProposalId;
use crate::searcher::Searcher;
use kas_campaign::Candidate;
use kas_campaign::Fidelity;
use kas_campaign::Outcome;
use kas_campaign::RewardConfig;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
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
    /// Seed index of the training seed (0 below the last fidelity).
    pub seed_index: u32,
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

/// A candidate's evaluations at the last fidelity: seed indices issued, outcomes received.
#[derive(Debug, Default, Clone)]
struct SeedRuns {
    issued: u32,
    outcomes: BTreeMap<u32, Outcome>,
}

/// The scheduler of a campaign.
pub struct Scheduler {
    searcher: Box<dyn Searcher>,
    fidelities: Vec<Fidelity>,
    reward: RewardConfig,
    /// Baseline outcomes per fidelity, by seed index.
    baselines: Vec<BTreeMap<u32, Outcome>>,
    ladder: Ladder,
    candidates: BTreeMap<ProposalId, Arc<Candidate>>,
    in_flight: BTreeMap<u64, Job>,
    /// Further seeds to issue before anything else: (proposal, fidelity, seed index).
    queue: VecDeque<(ProposalId, usize, u32)>,
    seeds: u32,
    last: BTreeMap<ProposalId, SeedRuns>,
    observed: BTreeSet<ProposalId>,
    archive: HashMap<(String, usize, u32), Outcome>,
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
            .field("seeds", &self.seeds)
            .finish()
    }
}

impl Scheduler {
    /// A scheduler running `searcher` over `fidelities` (promoting the best `1/eta` of each),
    /// scoring with `reward`, stopping after `max_evals` evaluations in all; one seed at the
    /// last fidelity until [`Scheduler::set_seeds`] says otherwise.
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
            baselines: vec![BTreeMap::new(); levels],
            fidelities,
            reward,
            candidates: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            queue: VecDeque::new(),
            seeds: 1,
            last: BTreeMap::new(),
            observed: BTreeSet::new(),
            archive: HashMap::new(),
            issued_jobs: 0,
            finished: 0,
            max_evals,
            searcher_done: false,
            best: None,
        }
    }

    /// The last fidelity's index.
    fn last_level(&self) -> usize {
        self.baselines.len() - 1
    }

    /// Sets the number of training seeds at the last fidelity (at least 1). Raising it queues
    /// the missing seed indices of every candidate already promoted there, by proposal number.
    pub fn set_seeds(&mut self, seeds: u32) {
        let seeds = seeds.max(1);
        let level = self.last_level();
        if seeds > self.seeds {
            for (&p, runs) in self.last.iter_mut() {
                for k in runs.issued..seeds {
                    self.queue.push_back((p, level, k));
                }
                runs.issued = runs.issued.max(seeds);
            }
        }
        self.seeds = seeds;
    }

    /// The number of training seeds at the last fidelity.
    pub fn seeds(&self) -> u32 {
        self.seeds
    }

    /// Sets the baseline outcome of fidelity `level` at seed index `seed_index` (the mean of
    /// its seeds' target figures enters rewards).
    pub fn set_baseline(&mut self, level: usize, seed_index: u32, outcome: &Outcome) {
        if let Some(b) = self.baselines.get_mut(level) {
            b.insert(seed_index, outcome.clone());
        }
    }

    /// The baseline outcome of fidelity `level`: the mean over its seeds.
    pub fn baseline(&self, level: usize) -> Option<Outcome> {
        let b = self.baselines.get(level)?;
        Outcome::mean(&b.values().cloned().collect::<Vec<_>>())
    }

    /// The baseline's target figure at `level`.
    fn baseline_figure(&self, level: usize) -> Option<f64> {
        self.baseline(level).and_then(|o| self.reward.figure(&o))
    }

    /// Adds an outcome journaled before a migration to the archive (the first one of a key
    /// stays).
    pub fn archive(&mut self, canonical: String, level: usize, seed_index: u32, outcome: Outcome) {
        self.archive
            .entry((canonical, level, seed_index))
            .or_insert(outcome);
    }

    /// Counts `issued` jobs and `finished` evaluations journaled before a migration (job
    /// numbers go on after them, and they count against the budget).
    pub fn count_archived(&mut self, issued: u64, finished: u64) {
        self.issued_jobs += issued;
        self.finished += finished;
    }

    /// Notes a reward journaled before a migration for the best so far.
    pub fn note_best(&mut self, reward: f64, job: u64) {
        if self.best.is_none_or(|(b, _)| reward > b) {
            self.best = Some((reward, job));
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

    /// The next job: a queued seed, else a promotion if one is due, else a new proposal at the
    /// screen fidelity. Candidates the archive holds at that fidelity and seed are settled from
    /// it on the way.
    pub fn next_job(&mut self) -> Next {
        loop {
            if self.issued_jobs >= self.max_evals {
                return if self.in_flight.is_empty() {
                    Next::Done(StopReason::MaxEvals)
                } else {
                    Next::Wait
                };
            }
            let (proposal, level, seed_index) = if let Some(q) = self.queue.pop_front() {
                q
            } else if let Some((p, level)) = self.ladder.promote() {
                self.first_seed(p, level)
            } else if self.searcher_done {
                return self.idle();
            } else {
                match self.searcher.propose() {
                    Some(p) => {
                        self.candidates.insert(p.id, p.candidate.clone());
                        self.first_seed(p.id, 0)
                    }
                    None => {
                        self.searcher_done = true;
                        return self.idle();
                    }
                }
            };
            let candidate = self.candidates[&proposal].clone();
            let key = (candidate.canonical.to_string(), level, seed_index);
            if let Some(o) = self.archive.get(&key).cloned() {
                self.settle(proposal, level, seed_index, o);
                continue;
            }
            let job = Job {
                id: self.issued_jobs,
                proposal,
                level,
                seed_index,
                candidate,
            };
            self.issued_jobs += 1;
            self.in_flight.insert(job.id, job.clone());
            return Next::Run(job);
        }
    }

    /// Seed index 0 of `proposal` at `level`; at the last fidelity, the other seeds queued.
    fn first_seed(&mut self, proposal: ProposalId, level: usize) -> (ProposalId, usize, u32) {
        if level == self.last_level() {
            let seeds = self.seeds;
            let runs = self.last.entry(proposal).or_default();
            runs.issued = runs.issued.max(seeds);
            for k in 1..seeds {
                self.queue.push_back((proposal, level, k));
            }
        }
        (proposal, level, 0)
    }

    fn idle(&self) -> Next {
        if self.in_flight.is_empty() {
            Next::Done(StopReason::Exhausted)
        } else {
            Next::Wait
        }
    }

    /// Records the outcome of job `id` (ignored if that job is not in flight); returns it
    /// with its reward.
    pub fn complete(&mut self, id: u64, outcome: Outcome) -> Option<Finished> {
        let job = self.in_flight.remove(&id)?;
        let outcome = outcome.sanitized();
        self.finished += 1;
        let reward = self.settle(job.proposal, job.level, job.seed_index, outcome.clone());
        if self.best.is_none_or(|(b, _)| reward > b) {
            self.best = Some((reward, job.id));
        }
        Some(Finished {
            job,
            outcome,
            reward,
        })
    }

    /// Takes one evaluation's outcome into the ladder and the searcher; returns its reward.
    fn settle(&mut self, p: ProposalId, level: usize, seed_index: u32, outcome: Outcome) -> f64 {
        let base = self.baseline_figure(level);
        let reward = self.reward.reward(&outcome, base);
        if level == self.last_level() {
            let runs = self.last.entry(p).or_default();
            runs.outcomes.insert(seed_index, outcome);
            if runs.outcomes.len() as u32 >= runs.issued.max(1) {
                let all: Vec<Outcome> = runs.outcomes.values().cloned().collect();
                let mean = Outcome::mean(&all).expect("at least one outcome");
                let r = self.reward.reward(&mean, base);
                self.result(p, level, r, mean.metrics().is_some());
            }
        } else {
            self.result(p, level, reward, outcome.metrics().is_some());
        }
        reward
    }

    /// A candidate's result at `level`: promotable below the last fidelity; observed by the
    /// searcher the first time, a revision at the screen's scale after that.
    fn result(&mut self, p: ProposalId, level: usize, reward: f64, measured: bool) {
        if level < self.last_level() {
            self.ladder.record(level, p, reward, measured);
        }
        if self.observed.insert(p) {
            self.searcher.observe(p, reward);
        } else {
            let r = self.at_screen_scale(level, reward);
            self.searcher.revise(p, r);
        }
    }

    /// `reward`, earned at `level`, shifted by the baseline's own reward there minus at the
    /// screen (0 stays 0; no shift while a baseline is missing).
    pub fn at_screen_scale(&self, level: usize, reward: f64) -> f64 {
        if reward <= 0.0 || level == 0 {
            return reward.max(0.0);
        }
        let own = |l: usize| {
            let o = self.baseline(l)?;
            Some(self.reward.reward(&o, self.reward.figure(&o)))
        };
        match (own(level), own(0)) {
            (Some(here), Some(screen)) => (reward - (here - screen)).max(0.0),
            _ => reward,
        }
    }
}
