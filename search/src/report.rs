//! What a campaign found, read back from its directory: one entry per candidate (its
//! highest-fidelity result), the baselines, failure counts, jobs without an outcome, and the
//! Pareto front of accuracy against latency. The journal is read and checked by [`History`],
//! as a resume reads it: a journal a resume refuses, a report refuses too.

use crate::error::{Result, SearchError};
use crate::history::{Expected, History, UnfinishedJob, campaign_digest};
use crate::journal::Record;
use crate::runner::{CAMPAIGN_FILE, OPERATORS_DIR};
use kas_campaign::CampaignFile;
use kas_campaign::{FailureKind, Outcome};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A candidate's result at its highest fidelity.
#[derive(Debug, Clone)]
pub struct ReportRow {
    /// Canonical hash (32 hex digits).
    pub canonical: String,
    /// Fidelity index of the figures.
    pub fidelity: usize,
    /// What was measured.
    pub outcome: Outcome,
    /// Its reward at that fidelity.
    pub reward: f64,
    /// The job that measured it.
    pub job: u64,
}

impl ReportRow {
    /// Accuracy, if measured.
    pub fn accuracy(&self) -> Option<f64> {
        self.outcome.metrics().and_then(|m| m.accuracy)
    }

    /// Speedup over the original layers, if measured.
    pub fn speedup(&self) -> Option<f64> {
        self.outcome.metrics().and_then(|m| m.speedup)
    }

    /// Latency relative to the original layers (1 / speedup).
    pub fn relative_latency(&self) -> Option<f64> {
        self.speedup().filter(|s| *s > 0.0).map(|s| 1.0 / s)
    }
}

/// A campaign's results.
#[derive(Debug, Clone)]
pub struct CampaignReport {
    /// The campaign file.
    pub file: CampaignFile,
    /// The directory.
    pub dir: PathBuf,
    /// One entry per candidate, best first: highest fidelity first, then highest reward.
    pub entries: Vec<ReportRow>,
    /// Baseline outcome per fidelity.
    pub baselines: BTreeMap<usize, Outcome>,
    /// Evaluations finished (every fidelity).
    pub evaluations: usize,
    /// Failed evaluations by kind.
    pub failures: BTreeMap<FailureKind, usize>,
    /// Indices into `entries` of the Pareto front (accuracy up, relative latency down),
    /// by increasing latency.
    pub front: Vec<usize>,
    /// Every finished evaluation, in journal order (a candidate once per fidelity it reached).
    pub results: Vec<ReportRow>,
    /// Jobs without an outcome: running now, or in flight at the last stop (a resume runs
    /// them again).
    pub unfinished: Vec<UnfinishedJob>,
}

impl CampaignReport {
    /// Reads the campaign in `dir`.
    pub fn load(dir: &Path) -> Result<CampaignReport> {
        let path = dir.join(CAMPAIGN_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| SearchError::io(&path, e))?;
        let file = CampaignFile::parse(&text, &path.display().to_string())?;
        let digest = campaign_digest(&text);
        let expected = Expected {
            digest: &digest,
            seed: file.seed,
            fidelities: file.fidelities.len(),
        };
        let history = History::read(dir, &expected, "report on")?;
        let mut best: BTreeMap<String, ReportRow> = BTreeMap::new();
        let mut baselines = BTreeMap::new();
        let mut failures = BTreeMap::new();
        let mut evaluations = 0;
        let mut results = Vec::new();
        for r in history.records {
            match r {
                Record::Baseline {
                    fidelity, outcome, ..
                } => {
                    baselines.insert(fidelity, outcome);
                }
                Record::Outcome {
                    job,
                    canonical,
                    fidelity,
                    outcome,
                    reward,
                    ..
                } => {
                    evaluations += 1;
                    if let Outcome::Failed { kind, .. } = &outcome {
                        *failures.entry(*kind).or_insert(0) += 1;
                    }
                    let e = ReportRow {
                        canonical: canonical.clone(),
                        fidelity,
                        outcome,
                        reward,
                        job,
                    };
                    results.push(e.clone());
                    match best.get(&canonical) {
                        Some(old) if old.fidelity > fidelity => {}
                        _ => {
                            best.insert(canonical, e);
                        }
                    }
                }
                _ => {}
            }
        }
        let mut entries: Vec<ReportRow> = best.into_values().collect();
        entries.sort_by(|a, b| {
            b.fidelity
                .cmp(&a.fidelity)
                .then(b.reward.total_cmp(&a.reward))
                .then(a.job.cmp(&b.job))
        });
        let points: Vec<Option<(f64, f64)>> = entries
            .iter()
            .map(|e| Some((e.accuracy()?, e.relative_latency()?)))
            .collect();
        let front = pareto_front(&points);
        Ok(CampaignReport {
            file,
            dir: dir.to_path_buf(),
            entries,
            baselines,
            evaluations,
            failures,
            front,
            results,
            unfinished: history.unfinished,
        })
    }

    /// The baseline's accuracy at fidelity `level`, if measured.
    pub fn baseline_accuracy(&self, level: usize) -> Option<f64> {
        self.baselines
            .get(&level)
            .and_then(|o| o.metrics())
            .and_then(|m| m.accuracy)
    }

    /// The evaluations faster than the original layers (speedup > 1) whose accuracy is at
    /// most `points` percentage points below the baseline's at the same fidelity, fastest
    /// first.
    pub fn faster_and_as_accurate(&self, points: f64) -> Vec<&ReportRow> {
        let mut out: Vec<&ReportRow> = (self.results.iter())
            .filter(|e| {
                match (
                    e.speedup(),
                    e.accuracy(),
                    self.baseline_accuracy(e.fidelity),
                ) {
                    (Some(s), Some(a), Some(b)) => s > 1.0 && a >= b - points / 100.0,
                    _ => false,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            let (x, y) = (a.speedup().unwrap_or(0.0), b.speedup().unwrap_or(0.0));
            y.total_cmp(&x).then(a.job.cmp(&b.job))
        });
        out
    }

    /// The candidates whose highest-fidelity result was measured (not failed), best first.
    pub fn measured(&self) -> impl Iterator<Item = &ReportRow> {
        self.entries
            .iter()
            .filter(|e| e.outcome.metrics().is_some())
    }

    /// The operator file of a canonical hash.
    pub fn operator_path(&self, canonical: &str) -> PathBuf {
        self.dir
            .join(OPERATORS_DIR)
            .join(format!("{canonical}.ron"))
    }

    /// The name of fidelity `level`.
    pub fn fidelity_name(&self, level: usize) -> &str {
        self.file
            .fidelities
            .get(level)
            .map_or("?", |f| f.name.as_str())
    }
}

/// Indices of the points (accuracy, latency) not dominated by another (one at least as
/// accurate and at least as fast, better in one), by increasing latency; `None` points are
/// skipped. Of equal points the first is kept.
pub fn pareto_front(points: &[Option<(f64, f64)>]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..points.len()).filter(|&i| points[i].is_some()).collect();
    let p = |i: usize| points[i].expect("filtered");
    // Fastest first; among equally fast, most accurate first.
    idx.sort_by(|&a, &b| {
        p(a).1
            .total_cmp(&p(b).1)
            .then(p(b).0.total_cmp(&p(a).0))
            .then(a.cmp(&b))
    });
    let mut front = Vec::new();
    let mut best_acc = f64::NEG_INFINITY;
    for i in idx {
        if p(i).0 > best_acc {
            best_acc = p(i).0;
            front.push(i);
        }
    }
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pareto_front_keeps_the_undominated_points() {
        let pts = vec![
            Some((0.80, 1.0)),
            Some((0.85, 0.5)), // dominates the first
            Some((0.90, 2.0)),
            None,
            Some((0.70, 0.3)),
            Some((0.90, 2.5)), // dominated by index 2
            Some((0.85, 0.5)), // equal to index 1: first kept
        ];
        assert_eq!(pareto_front(&pts), vec![4, 1, 2]);
        assert!(pareto_front(&[]).is_empty());
    }

    #[test]
    fn faster_and_as_accurate_compares_at_the_same_fidelity() {
        use kas_campaign::Metrics;
        let ok = |acc: f64, speedup: f64| {
            Outcome::Ok(Metrics {
                accuracy: Some(acc),
                speedup: Some(speedup),
                ..Metrics::default()
            })
        };
        let entry = |job: u64, fidelity: usize, outcome: Outcome| ReportRow {
            canonical: format!("{job:032x}"),
            fidelity,
            outcome,
            reward: 0.0,
            job,
        };
        let file = CampaignFile::parse(
            r#"(kind: "kas-campaign", version: 1, name: "t", model: (name: "cnn"), data: "fashion-mnist",
                search: Random, budget: (max_evals: 5), devices: ["cpu"], evaluator: StandIn(()),
                fidelities: [(name: "screen", train_steps: Some(1)), (name: "full", train_steps: Some(2))])"#,
            "t.ron",
        )
        .unwrap();
        let r = CampaignReport {
            file,
            dir: PathBuf::from("."),
            entries: vec![],
            baselines: [(0, ok(0.80, 1.0)), (1, ok(0.90, 1.0))].into(),
            evaluations: 5,
            failures: BTreeMap::new(),
            front: vec![],
            unfinished: vec![],
            results: vec![
                entry(0, 0, ok(0.795, 1.5)), // within a point at the screen
                entry(1, 1, ok(0.885, 3.0)), // 1.5 points below the full baseline
                entry(2, 1, ok(0.95, 0.9)),  // slower
                entry(3, 0, ok(0.85, 2.0)),  // better and faster
                entry(4, 0, Outcome::failed(FailureKind::Timeout, "slow")),
            ],
        };
        let jobs: Vec<u64> = r
            .faster_and_as_accurate(1.0)
            .iter()
            .map(|e| e.job)
            .collect();
        assert_eq!(jobs, [3, 0]);
        assert_eq!(r.faster_and_as_accurate(2.0).len(), 3);
    }
}
