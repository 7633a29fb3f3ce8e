//! The replay of a checked journal through a fresh [`Scheduler`] on resume: the same calls in
//! the same order, so the same state. Records before the last migration are not replayed
//! (their canonical hashes came from another rule set, and the search that proposed them is
//! gone): their outcomes become the scheduler's archive, their jobs and evaluations still
//! count. Records after it are replayed one by one: a session sets the seeds, a baseline its
//! figure, a job must be the job the scheduler issues now (else the resume stops with
//! [`SearchError::Diverged`]), an outcome completes its job. Retimes do not touch the
//! scheduler.

use crate::error::{Result, SearchError};
use crate::history::History;
use crate::journal::Record;
use crate::scheduler::{Job, Next, Scheduler};
use kas_campaign::Outcome;
use std::collections::BTreeMap;

/// Baseline outcomes per fidelity, by seed index.
pub type Baselines = Vec<BTreeMap<u32, Outcome>>;

/// Replays `history` through `sched`, calling `on_job` with every job replayed; returns the
/// baselines the journal holds.
pub fn replay(
    history: &History,
    levels: usize,
    sched: &mut Scheduler,
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
            Record::Session { seeds, .. } => sched.set_seeds(seeds.unwrap_or(1)),
            Record::Header { .. } | Record::Retime { .. } | Record::Migration { .. } => {}
        }
    }
    sched.count_archived(issued, finished);
    for r in &history.records[start..] {
        match r {
            Record::Header { .. } | Record::Retime { .. } | Record::Migration { .. } => {}
            Record::Session { seeds, .. } => sched.set_seeds(seeds.unwrap_or(1)),
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
