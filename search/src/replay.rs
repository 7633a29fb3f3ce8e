//! The replay of a checked journal through a fresh [`Scheduler`] on resume: the same calls in
//! the same order, so the same state. Records before the last migration are not replayed
//! (their canonical hashes came from another rule set, and the search that proposed them is
//! gone): their outcomes become the scheduler's archive, their jobs and evaluations still
//! count, and the candidates they hold last-fidelity outcomes of are handed to the scheduler
//! (read from their operator files) so that it can give them their missing seeds. Records
//! after it are replayed one by one: a session sets the seeds and the promotion floor and tops
//! up the candidates short of seeds ([`Scheduler::top_up`], as the session did when it
//! started), a baseline sets its figure, a job must be the job the scheduler issues now (else
//! the resume stops with [`SearchError::Diverged`]), an outcome completes its job. Retimes do
//! not touch the scheduler.

use crate::error::{Result, SearchError};
use crate::history::History;
use crate::journal::Record;
use crate::retime::Due;
use crate::scheduler::{Job, Next, Scheduler};
use kas_campaign::{Candidate, Outcome};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Baseline outcomes per fidelity, by seed index.
pub type Baselines = Vec<BTreeMap<u32, Outcome>>;

/// Replays `history` through `sched`, calling `load` for the candidate of every operator the
/// records before the last migration hold last-fidelity outcomes of (`None`: it cannot be
/// read, and is not topped up) and `on_job` with every job replayed; returns the baselines
/// the journal holds.
pub fn replay(
    history: &History,
    levels: usize,
    sched: &mut Scheduler,
    mut load: impl FnMut(&Due) -> Option<Candidate>,
    mut on_job: impl FnMut(&Job) -> Result<()>,
) -> Result<Baselines> {
    let mut baselines: Baselines = vec![BTreeMap::new(); levels];
    let start = history.last_migration.map_or(1, |m| m + 1);
    let (mut issued, mut finished) = (0, 0);
    for r in &history.records[1..start] {
        match r {
            Record::Baseline {
                fidelity,
                seed_index,
                outcome,
                ..
            } => baseline(&mut baselines, sched, *fidelity, *seed_index, outcome),
            Record::Job { .. } => issued += 1,
            Record::Outcome {
                job,
                canonical,
                fidelity,
                seed_index,
                outcome,
                reward,
                ..
            } => {
                let key = history.canonical(canonical).to_string();
                sched.archive(key, *fidelity, *seed_index, outcome.clone());
                sched.note_best(*reward, *job);
                finished += 1;
            }
            Record::Header { .. }
            | Record::Session { .. }
            | Record::Retime { .. }
            | Record::Retire { .. }
            | Record::Migration { .. } => {}
        }
    }
    sched.count_archived(issued, finished);
    for due in archived_at_last(history, start, levels) {
        if let Some(c) = load(&due) {
            sched.archive_candidate(Arc::new(c));
        }
    }
    for r in &history.records[start..] {
        match r {
            Record::Header { .. }
            | Record::Retime { .. }
            | Record::Retire { .. }
            | Record::Migration { .. } => {}
            Record::Session {
                seeds,
                promote_min_speedup,
                ..
            } => {
                sched.set_seeds(seeds.unwrap_or(1));
                sched.set_speed_floor(promote_min_speedup.unwrap_or(0.0));
                sched.top_up();
            }
            Record::Baseline {
                fidelity,
                seed_index,
                outcome,
                ..
            } => baseline(&mut baselines, sched, *fidelity, *seed_index, outcome),
            Record::Job {
                job,
                fidelity,
                seed_index,
                canonical,
                ..
            } => match sched.next_job() {
                Next::Run(j) => {
                    let got = j.candidate.canonical.to_string();
                    if j.id != *job
                        || j.level != *fidelity
                        || j.seed_index != *seed_index
                        || got != *canonical
                    {
                        return Err(SearchError::Diverged {
                            job: *job,
                            message: format!(
                                "the journal has job {job} = {canonical} at fidelity {fidelity} seed index {seed_index}, the search now gives job {} = {got} at fidelity {} seed index {} (was the code changed?)",
                                j.id, j.level, j.seed_index
                            ),
                        });
                    }
                    on_job(&j)?;
                }
                other => {
                    return Err(SearchError::Diverged {
                        job: *job,
                        message: format!("the search now gives {other:?}"),
                    });
                }
            },
            Record::Outcome { job, outcome, .. } => {
                if sched.complete(*job, outcome.clone()).is_none() {
                    return Err(SearchError::Diverged {
                        job: *job,
                        message: "an outcome for a job that is not running".into(),
                    });
                }
            }
        }
    }
    Ok(baselines)
}

/// The operators re-keyed by the last migration that the records before it (`records[1..start]`)
/// hold an outcome of at the last fidelity, by canonical hash, with their job's fields.
fn archived_at_last(history: &History, start: usize, levels: usize) -> Vec<Due> {
    let last = levels.saturating_sub(1);
    let mut jobs: BTreeMap<&str, (&str, f64, &[u32])> = BTreeMap::new();
    let mut at_last: BTreeSet<&str> = BTreeSet::new();
    for r in &history.records[1..start] {
        match r {
            Record::Job {
                canonical,
                structural,
                flops,
                path,
                ..
            } if history.is_rekeyed(canonical) => {
                jobs.insert(history.canonical(canonical), (structural, *flops, path));
            }
            Record::Outcome {
                canonical,
                fidelity,
                ..
            } if *fidelity == last && history.is_rekeyed(canonical) => {
                at_last.insert(history.canonical(canonical));
            }
            _ => {}
        }
    }
    (at_last.into_iter())
        .filter_map(|h| {
            let (structural, flops, path) = jobs.get(h)?;
            Some(Due {
                canonical: h.to_string(),
                level: last,
                structural: structural.to_string(),
                flops: *flops,
                path: path.to_vec(),
            })
        })
        .collect()
}

fn baseline(
    baselines: &mut Baselines,
    sched: &mut Scheduler,
    level: usize,
    seed_index: u32,
    outcome: &Outcome,
) {
    if let Some(b) = baselines.get_mut(level) {
        b.insert(seed_index, outcome.clone());
    }
    sched.set_baseline(level, seed_index, outcome);
}
