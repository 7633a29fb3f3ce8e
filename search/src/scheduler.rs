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
//!   candidate's failure) is its result at the last fidelity. The baseline of a fidelity is
//!   the mean of its seeds' outcomes.
//! * **Top-ups.** At the start of every session ([`Scheduler::top_up`]) every candidate with
//!   a last-fidelity result on fewer than `seeds` seeds — one promoted under fewer seeds (a
//!   journal of an older build had one), or one the archive holds from before a migration —
//!   gets its missing seed indices queued, before any promotion or proposal, best first:
//!   first those faster than the original layers (speedup > 1) whose mean accuracy is within
//!   [`WITHIN_POINTS`] of the baseline's mean over the same seeds (a loss target: at most
//!   [`kas_campaign::WITHIN_NATS`] above it; the candidates the report's
//!   acceptance line waits for), fastest first; then the other measured ones, highest reward
//!   first; then those with no outcome yet (in flight at the stop); ties by proposal number.
//!   A failed candidate (a failure on any seed) and one whose speedup is below the promotion
//!   floor are not topped up: more seeds cannot make them count. A candidate of the archive
//!   that no proposal of this search holds at the last fidelity is adopted under a number of
//!   its own ([`ADOPTED`] + k, in canonical-hash order); the searcher never hears of it.
//! * **Promotion floor.** A result whose measured speedup is below the floor
//!   ([`Scheduler::set_speed_floor`], the campaign's `promote_min_speedup`) is never promoted
//!   ([`Ladder`]).
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
//!   Every evaluation finished since joins the archive, and a request for an evaluation that
//!   is running waits for its outcome: an evaluation (canonical hash, fidelity, seed index) is
//!   run once, whichever of an adopted candidate and a proposal asks for it.

use crate::ladder::Ladder;
use crate::proposal::ProposalId;
use crate::report::WITHIN_POINTS;
use crate::searcher::Searcher;
use kas_campaign::Candidate;
use kas_campaign::Fidelity;
use kas_campaign::Outcome;
use kas_campaign::RewardConfig;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

/// The first number of the candidates the scheduler adopts from the archive to top up their
/// seeds (2^48: beyond any searcher's proposal numbers, exact in a JSON reader's doubles).
pub const ADOPTED: ProposalId = 1 << 48;

/// An evaluation: canonical hash, fidelity, seed index.
type Key = (String, usize, u32);

/// A request for an evaluation: proposal, fidelity, seed index.
type Request = (ProposalId, usize, u32);

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
    /// Whether it is below the last fidelity and its measured speedup is below the promotion
    /// floor: it will not be promoted.
    pub below_floor: bool,
}

/// A candidate's evaluations at the last fidelity: seed indices issued (or queued, or taken
/// from the archive), outcomes received.
#[derive(Debug, Default, Clone)]
struct SeedRuns {
    issued: BTreeSet<u32>,
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
    /// Further seeds to issue before anything else.
    queue: VecDeque<Request>,
    seeds: u32,
    last: BTreeMap<ProposalId, SeedRuns>,
    observed: BTreeSet<ProposalId>,
    /// Outcomes journaled before the last migration, and of every evaluation finished since.
    archive: HashMap<Key, Outcome>,
    /// Evaluations in flight, with the requests waiting for their outcome.
    running: HashMap<Key, Vec<Request>>,
    /// Candidates the archive holds last-fidelity outcomes of, by canonical hash.
    archived: BTreeMap<String, Arc<Candidate>>,
    /// Candidates adopted from the archive so far.
    adopted: u64,
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
            running: HashMap::new(),
            archived: BTreeMap::new(),
            adopted: 0,
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

    /// Sets the number of training seeds at the last fidelity (at least 1) for the candidates
    /// promoted from now on; [`Scheduler::top_up`] gives those already there their missing
    /// seeds.
    pub fn set_seeds(&mut self, seeds: u32) {
        self.seeds = seeds.max(1);
    }

    /// Sets the promotion floor on the measured speedup (0: none) for the promotions decided
    /// from now on.
    pub fn set_speed_floor(&mut self, floor: f64) {
        self.ladder.set_floor(floor);
    }

    /// Notes a candidate the archive holds last-fidelity outcomes of (by its canonical hash),
    /// so that [`Scheduler::top_up`] can adopt it.
    pub fn archive_candidate(&mut self, candidate: Arc<Candidate>) {
        self.archived
            .entry(candidate.canonical.to_string())
            .or_insert(candidate);
    }

    /// Queues the missing seeds of every candidate with a last-fidelity result on fewer than
    /// `seeds` seeds, best first, adopting the archive's candidates that no proposal holds
    /// there (the module's documentation says which, and in what order). Called at the start
    /// of every session, after [`Scheduler::set_seeds`]; returns the evaluations queued.
    pub fn top_up(&mut self) -> usize {
        let level = self.last_level();
        let held: BTreeSet<String> = (self.last.keys())
            .map(|p| self.candidates[p].canonical.to_string())
            .collect();
        let adopt: Vec<(String, Arc<Candidate>)> = (self.archived.iter())
            .filter(|(h, _)| !held.contains(*h))
            .map(|(h, c)| (h.clone(), c.clone()))
            .collect();
        for (h, c) in adopt {
            let outcomes: BTreeMap<u32, Outcome> = (0..kas_campaign::seeds::MAX_SEEDS)
                .filter_map(|k| Some((k, self.archive.get(&(h.clone(), level, k))?.clone())))
                .collect();
            if outcomes.is_empty() {
                continue;
            }
            let id = ADOPTED + self.adopted;
            self.adopted += 1;
            self.candidates.insert(id, c);
            let issued = outcomes.keys().copied().collect();
            self.last.insert(id, SeedRuns { issued, outcomes });
        }
        let mut due: Vec<((u8, f64), ProposalId)> = Vec::new();
        for (&p, runs) in &self.last {
            if (0..self.seeds).all(|k| runs.issued.contains(&k)) {
                continue;
            }
            if let Some(rank) = self.rank(runs) {
                due.push((rank, p));
            }
        }
        due.sort_by(|(a, p), (b, q)| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(p.cmp(q)));
        let mut queued = 0;
        for (_, p) in due {
            let runs = self.last.get_mut(&p).expect("ranked");
            for k in 0..self.seeds {
                if runs.issued.insert(k) {
                    self.queue.push_back((p, level, k));
                    queued += 1;
                }
            }
        }
        queued
    }

    /// Where a candidate's last-fidelity seeds so far put it in the top-up order (lower
    /// first): (tier, key); `None` when it is not topped up (failed, or below the floor).
    fn rank(&self, runs: &SeedRuns) -> Option<(u8, f64)> {
        if runs.outcomes.is_empty() {
            return Some((2, 0.0));
        }
        let all: Vec<Outcome> = runs.outcomes.values().cloned().collect();
        let mean = Outcome::mean(&all)?;
        let m = mean.metrics()?;
        if self.ladder.below_floor(m.speedup) {
            return None;
        }
        let level = self.last_level();
        let target = self.reward.target;
        let base: Vec<f64> = (runs.outcomes.keys())
            .filter_map(|k| target.of(self.baselines[level].get(k)?.metrics()?))
            .collect();
        let margin = if target.lower_is_better() {
            kas_campaign::WITHIN_NATS
        } else {
            WITHIN_POINTS / 100.0
        };
        let within = match (target.of(m), base.is_empty()) {
            (Some(a), false) => {
                target.within(a, base.iter().sum::<f64>() / base.len() as f64, margin)
            }
            _ => false,
        };
        match m.speedup {
            Some(s) if within && s > 1.0 => Some((0, -s)),
            _ => Some((1, -self.reward.reward(&mean, self.baseline_figure(level)))),
        }
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
            if let Some(waiting) = self.running.get_mut(&key) {
                waiting.push((proposal, level, seed_index));
                continue;
            }
            self.running.insert(key, Vec::new());
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
    fn first_seed(&mut self, proposal: ProposalId, level: usize) -> Request {
        if level == self.last_level() {
            let runs = self.last.entry(proposal).or_default();
            runs.issued.extend(0..self.seeds);
            for k in 1..self.seeds {
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
        let key = (
            job.candidate.canonical.to_string(),
            job.level,
            job.seed_index,
        );
        let waiting = self.running.remove(&key).unwrap_or_default();
        self.archive.insert(key, outcome.clone());
        let reward = self.settle(job.proposal, job.level, job.seed_index, outcome.clone());
        for (p, level, k) in waiting {
            self.settle(p, level, k, outcome.clone());
        }
        if self.best.is_none_or(|(b, _)| reward > b) {
            self.best = Some((reward, job.id));
        }
        let below_floor = job.level < self.last_level()
            && self
                .ladder
                .below_floor(outcome.metrics().and_then(|m| m.speedup));
        Some(Finished {
            job,
            outcome,
            reward,
            below_floor,
        })
    }

    /// Takes one evaluation's outcome into the ladder and the searcher; returns its reward.
    fn settle(&mut self, p: ProposalId, level: usize, seed_index: u32, outcome: Outcome) -> f64 {
        let base = self.baseline_figure(level);
        let reward = self.reward.reward(&outcome, base);
        if level == self.last_level() {
            let runs = self.last.entry(p).or_default();
            runs.outcomes.insert(seed_index, outcome);
            if runs.outcomes.len() >= runs.issued.len().max(1) {
                let all: Vec<Outcome> = runs.outcomes.values().cloned().collect();
                let mean = Outcome::mean(&all).expect("at least one outcome");
                let r = self.reward.reward(&mean, base);
                self.result(p, level, r, &mean);
            }
        } else {
            self.result(p, level, reward, &outcome);
        }
        reward
    }

    /// A candidate's result at `level`: promotable below the last fidelity; observed by the
    /// searcher the first time, a revision at the screen's scale after that (a candidate
    /// adopted from the archive is none of the searcher's).
    fn result(&mut self, p: ProposalId, level: usize, reward: f64, outcome: &Outcome) {
        if level < self.last_level() {
            let speedup = outcome.metrics().and_then(|m| m.speedup);
            (self.ladder).record(level, p, reward, outcome.metrics().is_some(), speedup);
        }
        if p >= ADOPTED {
            return;
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
