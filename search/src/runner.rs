//! The campaign runner: a campaign directory (its stored campaign file, its journal and the
//! operator files), the replay of the journal on resume, and the workers.
//!
//! A [`Campaign`] value holds its directory's lock ([`crate::lock`]) for as long as it lives:
//! a second process on the same directory is refused, naming the holder.
//!
//! Start: the directory must be new, empty, or hold a campaign that never started
//! ([`crate::directory`]); the campaign file is stored in it with its spec embedded
//! (`campaign.ron`), the journal is created with its header, the baseline is evaluated once
//! per fidelity and seed index (the last fidelity on the campaign's `seeds` training seeds),
//! on all the evaluators at once, each journaled as it ends.
//! Then one worker thread per evaluator asks the [`Scheduler`] for a job, appends the `job`
//! record, evaluates from the job's training seed, and appends the `outcome` record; scheduler
//! transitions and journal appends happen under one lock, so the journal's order is the order
//! of the calls.
//!
//! Resume: the journal is read and checked by [`History`] (the reader `kas report` uses too).
//! Written under another canonicalization rule set, it is first re-keyed
//! ([`crate::migrate`], a `migration` record). It is replayed through a fresh scheduler
//! ([`crate::replay`]: same seed, same calls in the same order, so the same state; a proposal
//! that differs from the recorded one stops the resume with an error). Jobs with a `job` record
//! and no `outcome` were in flight at the stop: they are run again first. Nothing finished is
//! run twice, nothing finished is lost. Candidates at the last fidelity with fewer seeds than
//! this session's get their missing seeds first, best first ([`Scheduler::top_up`]), within
//! the session's budget; the scheduler's state is the journal's, so a kill between a top-up's
//! `job` and `outcome` records runs it again once. Baselines missing for this session's seeds
//! are evaluated. Evaluators with other device keys than the journal's keep its training figures:
//! the session record names the new keys, and the workers first time again every candidate not
//! yet timed on them ([`crate::retime`]). A seed or campaign-file mismatch is refused, and so is
//! a directory without a journal record (the campaign never started).

use crate::directory::{DirContents, inspect};
use crate::error::{Result, SearchError};
use crate::history::{Expected, History, campaign_digest};
use crate::journal::{self, Contents, JOURNAL_VERSION, Journal, Record};
use crate::lock::{DirLock, LOCK_FILE};
use crate::replay::{Baselines, replay};
use crate::retime::Due;
use crate::scheduler::{Finished, Job, Next, Scheduler, StopReason};
use crate::space::{CanonCache, Space};
use kas_campaign::CampaignFile;
use kas_campaign::Candidate;
use kas_campaign::Evaluator;
use kas_campaign::SearchSpace;
use kas_campaign::seeds::{seeds_at, training_seed};
use kas_campaign::{FailureKind, Outcome, first_line};
use kas_graph::sample::Slot;
use kas_primitives::Spec;
use kas_synth::{Config, Dag, Filters};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// File name of the stored campaign file inside a campaign directory.
pub const CAMPAIGN_FILE: &str = "campaign.ron";
/// Folder of the kernel files (`<canonical hash>.ron`: operator files, or graph kernel files in
/// a graph campaign) inside a campaign directory.
pub const OPERATORS_DIR: &str = "operators";

/// Budget overrides and shared caches of one session.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Replaces the campaign's `budget.max_evals` (total over the campaign).
    pub max_evals: Option<u64>,
    /// Replaces the campaign's `budget.minutes` (this session).
    pub minutes: Option<f64>,
    /// A canonical-hash cache to share (a fresh one if `None`).
    pub cache: Option<Arc<CanonCache>>,
}

/// What a session is doing when it calls the progress callback.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Measuring the original layers at a fidelity and seed index: called when it starts
    /// (`outcome` is `None`) and when it ends.
    Baseline {
        /// Fidelity index.
        fidelity: usize,
        /// Seed index of the training seed.
        seed_index: u32,
        /// What was measured, once it was.
        outcome: Option<Outcome>,
    },
    /// A candidate timed again on a new device: called after each.
    Retime {
        /// Canonical hash.
        canonical: String,
        /// The timing figures, or the failure.
        outcome: Outcome,
        /// Candidates left to time again.
        left: usize,
    },
    /// Evaluating candidates: called once when it starts and after every finished evaluation.
    Search,
}

/// What the progress callback sees: at the start and end of each baseline, then once when the
/// search starts and after every finished evaluation.
#[derive(Debug, Clone)]
pub struct Progress {
    /// What the session is doing.
    pub phase: Phase,
    /// Evaluations finished, over the campaign.
    pub finished: u64,
    /// The evaluation budget.
    pub max_evals: u64,
    /// Evaluations running.
    pub in_flight: usize,
    /// The best reward so far.
    pub best: Option<f64>,
    /// Time since this session started.
    pub elapsed: Duration,
    /// This session's wall-time budget.
    pub limit: Option<Duration>,
    /// The evaluation that just finished (none for the first call).
    pub last: Option<Finished>,
}

/// How a session ended.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    /// Why it stopped.
    pub stop: StopReason,
    /// Evaluations finished over the campaign.
    pub finished: u64,
    /// Evaluations finished in this session.
    pub finished_now: u64,
    /// Jobs of an earlier session that were run again.
    pub rerun: Vec<u64>,
    /// Whether the campaign was resumed from a journal.
    pub resumed: bool,
    /// Whether a torn last journal line was cut off.
    pub torn: bool,
    /// The best reward and its job.
    pub best: Option<(f64, u64)>,
    /// Counters of the searcher's space.
    pub space: crate::space::SpaceStats,
    /// Candidates timed again on this session's devices.
    pub retimed: usize,
    /// Operators re-keyed and lost by a migration of this session, if it made one.
    pub migrated: Option<(usize, usize)>,
    /// Evaluations queued at the start of the session for the missing seeds of candidates
    /// already at the last fidelity ([`Scheduler::top_up`]); the budget may cut some.
    pub topped_up: usize,
}

/// A campaign directory, locked for as long as this value lives.
#[derive(Debug)]
pub struct Campaign {
    /// The directory.
    pub dir: PathBuf,
    /// The stored campaign file (spec embedded).
    pub file: CampaignFile,
    digest: String,
    /// The synthesis DAG of its spec.
    pub dag: Arc<Dag>,
    /// The slot the graph sampler fills (a graph campaign's).
    slot: Option<Slot>,
    /// The text of `campaign.ron` of a new campaign, until its first session writes it,
    /// together with the journal.
    unwritten: Mutex<Option<String>>,
    _lock: DirLock,
}

impl Campaign {
    /// Creates a campaign in `dir` from `file`, whose spec `File` paths are relative to
    /// `base`. Everything is checked before anything is written: the file and its spec, then
    /// the directory, which must be new, empty, or hold a campaign that never started (else
    /// [`SearchError::NotEmpty`], or [`SearchError::Invalid`] when it holds a journal). The
    /// directory is created and its lock taken before the check is repeated, so of two
    /// processes creating one campaign at once, one is refused. `campaign.ron` is written by
    /// the first session, just before the journal, so that a start that fails in between
    /// (building the evaluators, say) leaves no half-started campaign.
    pub fn create(dir: &Path, file: &CampaignFile, base: &Path) -> Result<Campaign> {
        let embedded = file.embedded(base)?;
        let text = embedded.to_text();
        let dag = Campaign::dag_of(dir, &embedded)?;
        let slot = Campaign::slot_of(dir, &embedded)?;
        if let Err(e) = Campaign::check_new(dir) {
            // Files of a campaign being created right now (its temporary files) are not
            // "other files": while another kas process holds the lock, name that process.
            if matches!(e, SearchError::NotEmpty { .. }) && dir.join(LOCK_FILE).exists() {
                DirLock::acquire(dir)?;
            }
            return Err(e);
        }
        std::fs::create_dir_all(dir).map_err(|e| SearchError::io(dir, e))?;
        let lock = DirLock::acquire(dir)?;
        if Campaign::check_new(dir)? == DirContents::NeverStarted {
            let stale = dir.join(journal::JOURNAL_FILE);
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(|e| SearchError::io(&stale, e))?;
            }
        }
        Ok(Campaign {
            dir: dir.to_path_buf(),
            digest: campaign_digest(&text),
            dag,
            slot,
            file: embedded,
            unwritten: Mutex::new(Some(text)),
            _lock: lock,
        })
    }

    /// Whether a new campaign may be written into `dir`: what it holds, or the refusal.
    fn check_new(dir: &Path) -> Result<DirContents> {
        match inspect(dir)? {
            DirContents::Campaign => Err(SearchError::Invalid(format!(
                "{} already holds a campaign journal: resume it with --resume, or choose another --out",
                dir.display()
            ))),
            DirContents::Other { entry } => Err(SearchError::NotEmpty {
                path: dir.display().to_string(),
                entry,
            }),
            c => Ok(c),
        }
    }

    /// Opens the campaign stored in `dir` to resume it: takes the directory's lock and checks
    /// the journal ([`History`]; [`SearchError::NotStarted`] without a record).
    pub fn open(dir: &Path) -> Result<Campaign> {
        let path = dir.join(CAMPAIGN_FILE);
        if !path.is_file() {
            return Err(SearchError::Invalid(format!(
                "{} is not a campaign directory (no {CAMPAIGN_FILE})",
                dir.display()
            )));
        }
        let lock = DirLock::acquire(dir)?;
        let text = std::fs::read_to_string(&path).map_err(|e| SearchError::io(&path, e))?;
        let file = CampaignFile::parse(&text, &path.display().to_string())?;
        let c = Campaign {
            dir: dir.to_path_buf(),
            digest: campaign_digest(&text),
            dag: Campaign::dag_of(dir, &file)?,
            slot: Campaign::slot_of(dir, &file)?,
            file,
            unwritten: Mutex::new(None),
            _lock: lock,
        };
        History::read(dir, &c.expected(), "resume")?;
        Ok(c)
    }

    /// The synthesis DAG of `file`'s spec.
    fn dag_of(dir: &Path, file: &CampaignFile) -> Result<Arc<Dag>> {
        let spec_text = file.spec_text(dir)?;
        let spec = Spec::read(&spec_text, &format!("{} (model spec)", file.name))
            .map_err(|e| SearchError::Spec(e.to_string()))?;
        let cfg = Config::new(spec).map_err(|e| SearchError::Spec(e.to_string()))?;
        Ok(Arc::new(Dag::new(cfg, Filters::default())))
    }

    /// The slot of `file`'s spec the graph sampler fills, for a graph campaign.
    fn slot_of(dir: &Path, file: &CampaignFile) -> Result<Option<Slot>> {
        if file.space == SearchSpace::Operators {
            return Ok(None);
        }
        let spec_text = file.spec_text(dir)?;
        let spec = Spec::read(&spec_text, &format!("{} (model spec)", file.name))
            .map_err(|e| SearchError::Spec(e.to_string()))?;
        Slot::from_spec(&spec)
            .map(Some)
            .map_err(|e| SearchError::Spec(e.to_string()))
    }

    /// The digest its journal keys canonical hashes by (its space's).
    pub fn rules(&self) -> String {
        self.file.space.rules_digest()
    }

    /// The searcher of the campaign's space and algorithm over `space` (the operator DAG's
    /// view; unused by a graph campaign).
    fn searcher(&self, space: Space) -> Box<dyn crate::Searcher> {
        let f = &self.file;
        match (&f.space, &self.slot) {
            (SearchSpace::Graph(g), Some(slot)) => Box::new(crate::GraphRandom::new(
                slot.clone(),
                g.sample_config(),
                f.seed,
                &f.name,
                &self.rules(),
            )),
            _ => crate::searcher::build(&f.search, space, f.seed),
        }
    }

    /// What the journal must agree with.
    fn expected(&self) -> Expected<'_> {
        Expected {
            digest: &self.digest,
            seed: self.file.seed,
            fidelities: self.file.fidelities.len(),
        }
    }

    /// The spec's FLOPs window (a graph campaign's: its space's window times the replaced
    /// layers' FLOPs).
    pub fn flops_window(&self) -> (f64, f64) {
        match (&self.file.space, &self.slot) {
            (SearchSpace::Graph(g), Some(slot)) => {
                let f = slot.reference.flops;
                (f * g.flops_ratio.0, f * g.flops_ratio.1)
            }
            _ => self.dag.cfg.budgets().flops,
        }
    }

    /// Runs (or resumes, when the directory holds a journal) the campaign with one worker per
    /// evaluator, calling `progress` after every finished evaluation.
    pub fn run(
        &self,
        evaluators: &[Arc<dyn Evaluator>],
        opts: SessionOptions,
        progress: &(dyn Fn(&Progress) + Sync),
    ) -> Result<SessionSummary> {
        if evaluators.is_empty() {
            return Err(SearchError::Invalid("no evaluator".into()));
        }
        let started = Instant::now();
        let mut devices: Vec<String> = evaluators.iter().map(|e| e.device_key()).collect();
        devices.sort();
        devices.dedup();
        let f = &self.file;
        let levels = f.fidelities.len();
        let cache = opts.cache.clone().unwrap_or_default();
        let space = Space::new(self.dag.clone(), cache);
        let searcher = self.searcher(space);
        let rules = self.rules();
        let mut sched = Scheduler::new(
            searcher,
            f.fidelities.clone(),
            f.promote_eta,
            f.reward,
            u64::MAX,
        );
        let resumed = self.dir.join(journal::JOURNAL_FILE).exists();
        let header = Record::Header {
            version: JOURNAL_VERSION,
            campaign: f.name.clone(),
            campaign_digest: self.digest.clone(),
            rules: rules.clone(),
            devices: devices.clone(),
            seed: f.seed,
        };
        let mut migrated = None;
        let mut retimes: VecDeque<Due> = VecDeque::new();
        let (mut journal, torn, mut baselines) = if resumed {
            let (mut j, contents) = Journal::open(&self.dir)?;
            let torn = contents.torn;
            let mut history = History::check(contents, &self.dir, &self.expected(), "resume")?;
            if history.rules != rules {
                let rec = crate::migrate::migration(&self.dir, &f.name, &history, &f.space)?;
                if let Record::Migration { rekeyed, lost, .. } = &rec {
                    migrated = Some((rekeyed.len(), lost.len()));
                }
                j.append(&rec)?;
                let mut records = history.records;
                records.push(rec);
                let contents = Contents {
                    records,
                    valid_len: 0,
                    torn,
                };
                history = History::check(contents, &self.dir, &self.expected(), "resume")?;
            }
            retimes.extend(crate::retime::due(&history, &devices));
            let b = replay(
                &history,
                levels,
                &mut sched,
                |due| crate::retime::candidate(&self.dir, due, &rules).ok(),
                |job| self.write_operator_file(&job.candidate),
            )?;
            (j, torn, b)
        } else {
            let unwritten = self.unwritten.lock().expect("campaign lock").take();
            if let Some(text) = unwritten {
                std::fs::create_dir_all(self.dir.join(OPERATORS_DIR))
                    .map_err(|e| SearchError::io(&self.dir, e))?;
                write_atomic(&self.dir.join(CAMPAIGN_FILE), &text)?;
            }
            let j = Journal::create(&self.dir, &header)?;
            (j, false, vec![Default::default(); levels])
        };
        let max_evals = opts.max_evals.unwrap_or(f.budget.max_evals);
        let minutes = opts.minutes.or(f.budget.minutes);
        sched.set_max_evals(max_evals);
        sched.set_seeds(f.seeds);
        sched.set_speed_floor(f.promote_min_speedup);
        let topped_up = sched.top_up();
        let rerun: Vec<Job> = sched.in_flight();
        journal.append(&Record::Session {
            started: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            max_evals,
            minutes,
            rerun: rerun.iter().map(|j| j.id).collect(),
            devices: Some(devices.clone()),
            seeds: Some(f.seeds),
            promote_min_speedup: Some(f.promote_min_speedup),
        })?;
        let limit = minutes.map(|m| Duration::from_secs_f64(m * 60.0));
        self.baselines(
            evaluators,
            &mut journal,
            &mut sched,
            &mut baselines,
            &|phase, sched| {
                progress(&Progress {
                    phase,
                    finished: sched.finished(),
                    max_evals: sched.max_evals(),
                    in_flight: 0,
                    best: sched.best().map(|(r, _)| r),
                    elapsed: started.elapsed(),
                    limit,
                    last: None,
                })
            },
        )?;
        for ev in evaluators {
            for (level, fidelity) in f.fidelities.iter().enumerate() {
                if let Some(o) = sched.baseline(level) {
                    ev.set_baseline(fidelity, &o);
                }
            }
        }
        for job in &rerun {
            self.write_operator_file(&job.candidate)?;
        }
        let finished_before = sched.finished();
        let shared = Shared {
            state: Mutex::new(State {
                sched,
                journal,
                requeue: rerun.iter().cloned().collect(),
                retimes,
                retimed: 0,
                timed: Default::default(),
                rules: rules.clone(),
                running: 0,
                workers: evaluators.len(),
                lost: Default::default(),
                error: None,
                stop: None,
            }),
            wake: Condvar::new(),
            started,
            limit,
            seed: f.seed,
        };
        {
            let st = shared.state.lock().expect("campaign lock");
            progress(&shared.progress(&st, Phase::Search, None));
        }
        std::thread::scope(|s| {
            for ev in evaluators {
                let shared = &shared;
                s.spawn(move || self.worker(shared, ev.as_ref(), progress));
            }
        });
        let st = shared.state.into_inner().expect("campaign lock");
        if let Some(e) = st.error {
            return Err(e);
        }
        Ok(SessionSummary {
            stop: st.stop.unwrap_or(StopReason::Exhausted),
            finished: st.sched.finished(),
            finished_now: st.sched.finished() - finished_before,
            rerun: rerun.iter().map(|j| j.id).collect(),
            resumed,
            torn,
            best: st.sched.best(),
            space: st.sched.searcher().stats(),
            retimed: st.retimed,
            migrated,
            topped_up,
        })
    }

    /// Evaluates, journals and hands the scheduler every baseline the journal lacks: one per
    /// fidelity and seed index of this session's seeds, on all of `evaluators` at once (each
    /// takes the next missing one; each is journaled as soon as it ends, so a kill loses none
    /// that finished; with one evaluator, in order).
    fn baselines(
        &self,
        evaluators: &[Arc<dyn Evaluator>],
        journal: &mut Journal,
        sched: &mut Scheduler,
        have: &mut Baselines,
        progress: &(dyn Fn(Phase, &Scheduler) + Sync),
    ) -> Result<()> {
        let f = &self.file;
        let levels = f.fidelities.len();
        let missing: VecDeque<(usize, u32)> = (have.iter().enumerate())
            .flat_map(|(level, done)| {
                (0..seeds_at(level, levels, f.seeds))
                    .filter(|i| !done.contains_key(i))
                    .map(move |i| (level, i))
            })
            .collect();
        let workers = evaluators.len().min(missing.len());
        let queue = Mutex::new(missing);
        let state = Mutex::new((journal, sched, have, None::<SearchError>));
        let lock = || {
            state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        std::thread::scope(|s| {
            for ev in &evaluators[..workers] {
                let (queue, lock) = (&queue, &lock);
                s.spawn(move || {
                    loop {
                        let next = queue
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .pop_front();
                        let Some((level, seed_index)) = next else {
                            break;
                        };
                        let phase = |outcome| Phase::Baseline {
                            fidelity: level,
                            seed_index,
                            outcome,
                        };
                        {
                            let g = lock();
                            if g.3.is_some() {
                                break;
                            }
                            progress(phase(None), g.1);
                        }
                        let seed = training_seed(f.seed, seed_index);
                        let outcome =
                            guarded(|| ev.baseline(&f.fidelities[level], seed)).sanitized();
                        let mut g = lock();
                        let (journal, sched, have, error) = &mut *g;
                        progress(phase(Some(outcome.clone())), sched);
                        let record = Record::Baseline {
                            fidelity: level,
                            seed_index,
                            device: ev.device_key(),
                            outcome: outcome.clone(),
                        };
                        if let Err(e) = journal.append(&record) {
                            error.get_or_insert(e);
                            break;
                        }
                        sched.set_baseline(level, seed_index, &outcome);
                        have[level].insert(seed_index, outcome);
                    }
                });
            }
        });
        let (_, _, _, error) = state
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        error.map_or(Ok(()), Err)
    }

    /// Writes `operators/<canonical>.ron` (the operator's or the graph kernel's file) unless
    /// it exists.
    fn write_operator_file(&self, c: &Candidate) -> Result<()> {
        let path = self
            .dir
            .join(OPERATORS_DIR)
            .join(format!("{}.ron", c.canonical));
        if path.exists() {
            return Ok(());
        }
        let description = format!(
            "campaign `{}`; canonical hash {} (rules {}); structural hash {}; {:.4e} FLOPs",
            self.file.name, c.canonical, c.rules, c.structural, c.flops
        );
        let name = match c.kernel {
            kas_campaign::Kernel::Operator(_) => format!("op-{}", c.canonical),
            kas_campaign::Kernel::Graph(_) => format!("graph-{}", c.canonical),
        };
        let text = crate::kernel_file::write_kernel(&name, &description, &c.kernel)
            .map_err(SearchError::Spec)?;
        std::fs::create_dir_all(self.dir.join(OPERATORS_DIR))
            .map_err(|e| SearchError::io(&self.dir, e))?;
        write_atomic(&path, &text)
    }

    fn worker(&self, shared: &Shared, ev: &dyn Evaluator, progress: &(dyn Fn(&Progress) + Sync)) {
        let device = ev.device_key();
        let mut st = shared.state.lock().expect("campaign lock");
        loop {
            if st.error.is_some() || st.stop.is_some_and(|s| s != StopReason::WallTime) {
                break;
            }
            if shared.limit.is_some_and(|l| shared.started.elapsed() >= l) {
                st.stop = Some(StopReason::WallTime);
                if st.running == 0 {
                    break;
                }
                st = shared.wake.wait(st).expect("campaign lock");
                continue;
            }
            // A candidate timed by an evaluation of this session needs no retime.
            while st
                .retimes
                .front()
                .is_some_and(|d| st.timed.contains(&d.canonical))
            {
                st.retimes.pop_front();
            }
            if let Some(due) = st.retimes.pop_front() {
                let rules = st.rules.clone();
                st.running += 1;
                drop(st);
                let t0 = Instant::now();
                let fidelity = &self.file.fidelities[due.level];
                let outcome = match crate::retime::candidate(&self.dir, &due, &rules) {
                    Ok(c) => guarded(|| ev.time(&c, fidelity)).sanitized(),
                    Err(why) => Outcome::failed(
                        FailureKind::Invalid,
                        format!("its operator file cannot be read: {why}"),
                    ),
                };
                let rec = Record::Retime {
                    canonical: due.canonical.clone(),
                    rules,
                    fidelity: due.level,
                    device: device.clone(),
                    outcome: outcome.clone(),
                    seconds: t0.elapsed().as_secs_f64(),
                };
                st = shared.state.lock().expect("campaign lock");
                st.running -= 1;
                st.retimed += 1;
                if let Err(e) = st.journal.append(&rec) {
                    st.error = Some(e);
                }
                let phase = Phase::Retime {
                    canonical: due.canonical,
                    outcome,
                    left: st.retimes.len(),
                };
                progress(&shared.progress(&st, phase, None));
                shared.wake.notify_all();
                continue;
            }
            let job = if let Some(j) = st.requeue.pop_front() {
                j
            } else {
                match st.sched.next_job() {
                    Next::Run(j) => {
                        let c = &j.candidate;
                        let rec = Record::Job {
                            job: j.id,
                            proposal: j.proposal,
                            fidelity: j.level,
                            seed_index: j.seed_index,
                            canonical: c.canonical.to_string(),
                            rules: c.rules.clone(),
                            structural: c.structural.to_string(),
                            flops: c.flops,
                            path: c.path.clone(),
                            seed: shared.seed,
                        };
                        if let Err(e) = self
                            .write_operator_file(c)
                            .and_then(|_| st.journal.append(&rec))
                        {
                            st.error = Some(e);
                            break;
                        }
                        j
                    }
                    Next::Wait => {
                        st = shared.wake.wait(st).expect("campaign lock");
                        continue;
                    }
                    Next::Done(reason) => {
                        st.stop.get_or_insert(reason);
                        break;
                    }
                }
            };
            st.running += 1;
            drop(st);
            // Timing does not depend on the training seed: only seed 0 times the candidate, the
            // other seeds train only (the mean over seeds takes the speedup from seed 0).
            let mut fidelity = self.file.fidelities[job.level].clone();
            if job.seed_index > 0 {
                fidelity.timing_repeats = None;
            }
            let seed = training_seed(shared.seed, job.seed_index);
            let t0 = Instant::now();
            let outcome = guarded(|| ev.evaluate(&job.candidate, &fidelity, seed));
            let seconds = t0.elapsed().as_secs_f64();
            st = shared.state.lock().expect("campaign lock");
            st.running -= 1;
            if let Outcome::Failed {
                kind: FailureKind::Lost,
                message,
            } = &outcome
            {
                // The worker is lost: it retires, and its job runs again once elsewhere.
                let rec = Record::Retire {
                    job: job.id,
                    device: device.clone(),
                    message: message.clone(),
                };
                if let Err(e) = st.journal.append(&rec) {
                    st.error = Some(e);
                }
                st.workers -= 1;
                if st.workers == 0 && st.error.is_none() {
                    st.error = Some(SearchError::WorkersLost {
                        last: message.clone(),
                    });
                }
                if st.lost.insert(job.id) {
                    st.requeue.push_back(job);
                    break;
                }
            }
            let lost = outcome.is_lost();
            if let Some(fin) = st.sched.complete(job.id, outcome) {
                if fin.outcome.metrics().is_some_and(|m| m.is_timed()) {
                    st.timed.insert(job.candidate.canonical.to_string());
                }
                let rec = Record::Outcome {
                    job: job.id,
                    canonical: job.candidate.canonical.to_string(),
                    rules: job.candidate.rules.clone(),
                    fidelity: job.level,
                    seed_index: job.seed_index,
                    device: device.clone(),
                    seed: shared.seed,
                    outcome: fin.outcome.clone(),
                    reward: fin.reward,
                    seconds,
                };
                if let Err(e) = st.journal.append(&rec) {
                    st.error = Some(e);
                }
                progress(&shared.progress(&st, Phase::Search, Some(fin)));
            }
            shared.wake.notify_all();
            if lost {
                break;
            }
        }
        shared.wake.notify_all();
    }
}

/// Runs an evaluation, turning a panic into a `crashed` outcome.
fn guarded(f: impl FnOnce() -> Outcome) -> Outcome {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(o) => o,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            Outcome::failed(
                FailureKind::Crashed,
                format!("evaluator panicked: {}", first_line(&msg)),
            )
        }
    }
}

/// Writes `text` to `path` through a temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| SearchError::io(path, e))
}

struct State {
    sched: Scheduler,
    journal: Journal,
    requeue: VecDeque<Job>,
    /// Candidates to time again on this session's devices.
    retimes: VecDeque<Due>,
    retimed: usize,
    /// Candidates timed by an evaluation of this session.
    timed: std::collections::HashSet<String>,
    /// This build's rule-set digest.
    rules: String,
    running: usize,
    /// Workers not retired.
    workers: usize,
    /// Jobs whose worker was lost once (run again once; a second loss is their outcome).
    lost: std::collections::HashSet<u64>,
    error: Option<SearchError>,
    stop: Option<StopReason>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    started: Instant,
    limit: Option<Duration>,
    seed: u64,
}

impl Shared {
    fn progress(&self, st: &State, phase: Phase, last: Option<Finished>) -> Progress {
        Progress {
            phase,
            finished: st.sched.finished(),
            max_evals: st.sched.max_evals(),
            in_flight: st.running,
            best: st.sched.best().map(|(r, _)| r),
            elapsed: self.started.elapsed(),
            limit: self.limit,
            last,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_recorded_with_its_first_line_only() {
        let o =
            guarded(|| panic!("called `unwrap()` on Torch(\"CUDA out of memory.\\nframe #0: …\")"));
        match o {
            Outcome::Failed { kind, message } => {
                assert_eq!(kind, FailureKind::Crashed);
                assert_eq!(
                    message,
                    "evaluator panicked: called `unwrap()` on Torch(\"CUDA out of memory."
                );
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(first_line("a\nb"), "a");
        assert_eq!(first_line(&"x".repeat(500)).chars().count(), 401);
    }
}
