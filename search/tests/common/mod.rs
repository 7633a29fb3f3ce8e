//! Helpers shared by the campaign tests (each test file uses some of them).
#![allow(dead_code)]

use kas_campaign::{Evaluator, StandInConfig};
use kas_search::journal::{self, Record};
use kas_search::{Campaign, StandIn};
use std::path::Path;
use std::sync::Arc;

/// The stand-in evaluator of campaign `c`, failing `fail_fraction` of its candidates.
pub fn standin(c: &Campaign, fail_fraction: f64) -> Arc<dyn Evaluator> {
    let cfg = StandInConfig {
        fail_fraction,
        ..StandInConfig::default()
    };
    Arc::new(StandIn::new(cfg, c.file.seed, c.flops_window()))
}

/// The deterministic content of a journal, a line per record: baselines, jobs (with their
/// search path and rule set), outcomes and migrations; no timings.
pub fn results(dir: &Path) -> Vec<String> {
    (journal::read(dir).unwrap().records.into_iter())
        .filter_map(|r| match r {
            Record::Baseline {
                fidelity,
                seed_index,
                outcome,
                ..
            } => Some(format!("baseline {fidelity}.{seed_index} {outcome:?}")),
            Record::Job {
                job,
                proposal,
                fidelity,
                seed_index,
                canonical,
                path,
                rules,
                ..
            } => Some(format!(
                "job {job} {proposal} {fidelity}.{seed_index} {canonical} {path:?} {rules}"
            )),
            Record::Outcome {
                job,
                canonical,
                fidelity,
                seed_index,
                outcome,
                reward,
                ..
            } => Some(format!(
                "outcome {job} {canonical} {fidelity}.{seed_index} {outcome:?} {reward}"
            )),
            Record::Migration { rekeyed, lost, .. } => {
                Some(format!("migration {rekeyed:?} {lost:?}"))
            }
            _ => None,
        })
        .collect()
}
