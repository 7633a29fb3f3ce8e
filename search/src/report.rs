//! What a campaign found, read back from its directory: one row per candidate and fidelity
//! it reached (its seeds combined), one entry per candidate (its highest-fidelity row), the
//! baselines, failure counts, jobs without an outcome, and the Pareto front of the campaign's
//! target figure (accuracy, or a language model's validation loss: lower is better) against
//! latency. The journal is read and checked by [`History`], as a resume reads it: a journal a
//! resume refuses, a report refuses too.
//!
//! * **Seeds.** A row's figures are the mean over its seeds ([`Outcome::mean`]; a failure on
//!   any seed is the row's failure); at the last fidelity the row also has each seed's
//!   outcome, and [`CampaignReport::paired`] the paired difference of accuracy to the baseline
//!   trained on the same seeds, with its 95 % interval ([`crate::stats`]). Every comparison
//!   with a baseline is made at the row's own fidelity: screen figures only with the screen
//!   baseline.
//! * **Devices.** Training figures come from the outcomes; timing figures (speedup, latency)
//!   from the newest measured timing of the operator on a device of the last session
//!   (an evaluation's or a retime's, at any fidelity); without one, from the newest on an
//!   earlier device, and the row says so ([`ReportRow::timing_current`]).
//! * **Rewards** are recomputed from the figures a row shows and the mean baseline of its
//!   fidelity.
//! * **Migrations.** Canonical hashes journaled before a migration are shown re-keyed.

use crate::error::{Result, SearchError};
use crate::history::{Expected, History, UnfinishedJob, campaign_digest};
use crate::journal::Record;
use crate::runner::{CAMPAIGN_FILE, OPERATORS_DIR};
use crate::stats::Sample;
use kas_campaign::{CampaignFile, RewardTarget, WITHIN_NATS};
use kas_campaign::{FailureKind, Metrics, Outcome};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A candidate's figures at one fidelity, its seeds combined.
#[derive(Debug, Clone)]
pub struct ReportRow {
    /// Canonical hash (32 hex digits, under the journal's current rule set).
    pub canonical: String,
    /// Fidelity index of the figures.
    pub fidelity: usize,
    /// What was measured: the mean over the seeds, with the timing the report shows.
    pub outcome: Outcome,
    /// Its reward at that fidelity (recomputed from `outcome`).
    pub reward: f64,
    /// The first job that measured it.
    pub job: u64,
    /// Each seed's outcome as journaled, by seed index.
    pub seeds: BTreeMap<u32, Outcome>,
    /// The device key of the timing shown, if any.
    pub timing_device: Option<String>,
    /// Whether that timing was measured on a device of the last session.
    pub timing_current: bool,
    /// The campaign's target figure (accuracy or loss).
    pub target: RewardTarget,
}

impl ReportRow {
    /// A row of one seed's `outcome`, timed on no named device.
    pub fn new(
        canonical: String,
        fidelity: usize,
        outcome: Outcome,
        reward: f64,
        job: u64,
    ) -> ReportRow {
        ReportRow {
            canonical,
            fidelity,
            seeds: [(0, outcome.clone())].into(),
            outcome,
            reward,
            job,
            timing_device: None,
            timing_current: true,
            target: RewardTarget::Accuracy,
        }
    }

    /// The campaign's target figure (the mean over the seeds): accuracy, or loss.
    pub fn figure(&self) -> Option<f64> {
        self.target.of(self.outcome.metrics()?)
    }

    /// The target figure of each measured seed, by seed index.
    pub fn seed_figures(&self) -> BTreeMap<u32, f64> {
        (self.seeds.iter())
            .filter_map(|(k, o)| Some((*k, self.target.of(o.metrics()?)?)))
            .collect()
    }

    /// Mean, standard deviation and interval of the target figure over the seeds.
    pub fn figure_sample(&self) -> Option<Sample> {
        Sample::of(&self.seed_figures().into_values().collect::<Vec<_>>())
    }

    /// Accuracy (the mean over the seeds), if measured.
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

    /// The accuracy of each measured seed, by seed index.
    pub fn seed_accuracies(&self) -> BTreeMap<u32, f64> {
        (self.seeds.iter())
            .filter_map(|(k, o)| Some((*k, o.metrics()?.accuracy?)))
            .collect()
    }

    /// Mean, standard deviation and interval of the accuracy over the seeds.
    pub fn accuracy_sample(&self) -> Option<Sample> {
        Sample::of(&self.seed_accuracies().into_values().collect::<Vec<_>>())
    }
}

/// A migration of the journal to a new rule set.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationNote {
    /// Rule-set digest before.
    pub from: String,
    /// Rule-set digest after.
    pub to: String,
    /// Operators re-keyed.
    pub rekeyed: usize,
    /// Operators that could not be re-keyed.
    pub lost: usize,
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
    /// Baseline outcome per fidelity: the mean over its seeds.
    pub baselines: BTreeMap<usize, Outcome>,
    /// Baseline outcomes per fidelity, by seed index.
    pub baseline_seeds: BTreeMap<usize, BTreeMap<u32, Outcome>>,
    /// Evaluations finished (every fidelity and seed).
    pub evaluations: usize,
    /// Failed evaluations by kind.
    pub failures: BTreeMap<FailureKind, usize>,
    /// Indices into `entries` of the Pareto front (target figure better, relative latency
    /// down), by increasing latency.
    pub front: Vec<usize>,
    /// One row per candidate and fidelity it reached, in order of their first job.
    pub results: Vec<ReportRow>,
    /// Jobs without an outcome: running now, or in flight at the last stop (a resume runs
    /// them again).
    pub unfinished: Vec<UnfinishedJob>,
    /// Device keys of the last session: the devices timing is shown from.
    pub devices: Vec<String>,
    /// Candidates timed again on a new device, and how many of those timings failed.
    pub retimes: (usize, usize),
    /// Migrations of the journal to new rule sets.
    pub migrations: Vec<MigrationNote>,
}

/// The newest timing of an operator: its figures and device key.
type Timing = (Metrics, String);

/// A row's key: canonical hash and fidelity.
type RowKey = (String, usize);

/// Accuracy points below the baseline's that still count as "as accurate": the window of the
/// report's acceptance line ([`CampaignReport::faster_and_as_accurate`]), and of the top-up
/// order of `crate::scheduler`.
pub const WITHIN_POINTS: f64 = 1.0;

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
        let devices = history.devices.clone();
        let mut baseline_seeds: BTreeMap<usize, BTreeMap<u32, Outcome>> = BTreeMap::new();
        let mut failures = BTreeMap::new();
        let mut evaluations = 0;
        let mut retimes = (0, 0);
        let mut migrations = Vec::new();
        // (canonical, fidelity) → (first job, seed outcomes), in order of first job.
        let mut rows: Vec<(RowKey, u64, BTreeMap<u32, Outcome>)> = Vec::new();
        let mut at: BTreeMap<(String, usize), usize> = BTreeMap::new();
        // Newest timing per canonical hash: on a current device, and on any.
        let mut now: BTreeMap<String, Timing> = BTreeMap::new();
        let mut any: BTreeMap<String, Timing> = BTreeMap::new();
        let mut timing = |canonical: &str, m: &Metrics, device: &str| {
            if m.is_timed() {
                let t = (m.timing(), device.to_string());
                if devices.iter().any(|d| d == device) {
                    now.insert(canonical.to_string(), t.clone());
                }
                any.insert(canonical.to_string(), t);
            }
        };
        for r in &history.records {
            match r {
                Record::Baseline {
                    fidelity,
                    seed_index,
                    outcome,
                    ..
                } => {
                    (baseline_seeds.entry(*fidelity).or_default())
                        .insert(*seed_index, outcome.clone());
                }
                Record::Outcome {
                    job,
                    canonical,
                    fidelity,
                    seed_index,
                    device,
                    outcome,
                    ..
                } => {
                    evaluations += 1;
                    let canonical = history.canonical(canonical).to_string();
                    match outcome {
                        Outcome::Failed { kind, .. } => *failures.entry(*kind).or_insert(0) += 1,
                        Outcome::Ok(m) => timing(&canonical, m, device),
                    }
                    let key = (canonical, *fidelity);
                    let i = *at.entry(key.clone()).or_insert_with(|| {
                        rows.push((key, *job, BTreeMap::new()));
                        rows.len() - 1
                    });
                    rows[i].2.insert(*seed_index, outcome.clone());
                }
                Record::Retime {
                    canonical,
                    device,
                    outcome,
                    ..
                } => {
                    retimes.0 += 1;
                    match outcome {
                        Outcome::Ok(m) => timing(history.canonical(canonical), m, device),
                        Outcome::Failed { .. } => retimes.1 += 1,
                    }
                }
                Record::Migration {
                    from,
                    to,
                    rekeyed,
                    lost,
                } => migrations.push(MigrationNote {
                    from: from.clone(),
                    to: to.clone(),
                    rekeyed: rekeyed.len(),
                    lost: lost.len(),
                }),
                Record::Header { .. }
                | Record::Session { .. }
                | Record::Job { .. }
                | Record::Retire { .. } => {}
            }
        }
        let baselines: BTreeMap<usize, Outcome> = (baseline_seeds.iter())
            .filter_map(|(l, b)| {
                Some((*l, Outcome::mean(&b.values().cloned().collect::<Vec<_>>())?))
            })
            .collect();
        let results: Vec<ReportRow> = rows
            .into_iter()
            .map(|((canonical, fidelity), job, seeds)| {
                let all: Vec<Outcome> = seeds.values().cloned().collect();
                let mut outcome = Outcome::mean(&all).expect("a row has an outcome");
                let (device, current) = match (now.get(&canonical), any.get(&canonical)) {
                    (Some((t, d)), _) => (Some((t, d)), true),
                    (None, Some((t, d))) => (Some((t, d)), false),
                    (None, None) => (None, true),
                };
                if let (Outcome::Ok(m), Some((t, _))) = (&mut outcome, device) {
                    *m = m.with_timing(t);
                }
                let base = baselines.get(&fidelity).and_then(|b| file.reward.figure(b));
                ReportRow {
                    reward: file.reward.reward(&outcome, base),
                    canonical,
                    fidelity,
                    outcome,
                    job,
                    seeds,
                    timing_device: device.map(|(_, d)| d.clone()),
                    timing_current: current,
                    target: file.reward.target,
                }
            })
            .collect();
        let mut best: BTreeMap<String, ReportRow> = BTreeMap::new();
        for e in &results {
            match best.get(&e.canonical) {
                Some(old) if old.fidelity > e.fidelity => {}
                _ => {
                    best.insert(e.canonical.clone(), e.clone());
                }
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
            .map(|e| Some((e.target.score(e.figure()?), e.relative_latency()?)))
            .collect();
        let front = pareto_front(&points);
        Ok(CampaignReport {
            file,
            dir: dir.to_path_buf(),
            entries,
            baselines,
            baseline_seeds,
            evaluations,
            failures,
            front,
            results,
            unfinished: history.unfinished,
            devices,
            retimes,
            migrations,
        })
    }

    /// The baseline's accuracy at fidelity `level` (the mean over its seeds), if measured.
    pub fn baseline_accuracy(&self, level: usize) -> Option<f64> {
        self.baselines
            .get(&level)
            .and_then(|o| o.metrics())
            .and_then(|m| m.accuracy)
    }

    /// The baseline's accuracy at `row`'s fidelity, over the seeds `row` was measured on (the
    /// mean over all its seeds when it has none of them).
    pub fn baseline_accuracy_for(&self, row: &ReportRow) -> Option<f64> {
        let b = self.baseline_seeds.get(&row.fidelity)?;
        let same: Vec<f64> = (row.seeds.keys())
            .filter_map(|k| b.get(k)?.metrics()?.accuracy)
            .collect();
        if same.is_empty() {
            self.baseline_accuracy(row.fidelity)
        } else {
            Some(same.iter().sum::<f64>() / same.len() as f64)
        }
    }

    /// The target of the campaign (accuracy or loss).
    pub fn target(&self) -> RewardTarget {
        self.file.reward.target
    }

    /// The baseline's target figure at fidelity `level` (the mean over its seeds).
    pub fn baseline_figure(&self, level: usize) -> Option<f64> {
        self.target().of(self.baselines.get(&level)?.metrics()?)
    }

    /// The baseline's target figure at `row`'s fidelity, over the seeds `row` was measured on
    /// (the mean over all its seeds when it has none of them).
    pub fn baseline_figure_for(&self, row: &ReportRow) -> Option<f64> {
        let b = self.baseline_seeds.get(&row.fidelity)?;
        let same: Vec<f64> = (row.seeds.keys())
            .filter_map(|k| self.target().of(b.get(k)?.metrics()?))
            .collect();
        if same.is_empty() {
            self.baseline_figure(row.fidelity)
        } else {
            Some(same.iter().sum::<f64>() / same.len() as f64)
        }
    }

    /// The baseline's target figure (accuracy or loss) over its seeds at `level`: mean,
    /// spread, interval.
    pub fn baseline_sample(&self, level: usize) -> Option<Sample> {
        let b = self.baseline_seeds.get(&level)?;
        let v: Vec<f64> = b
            .values()
            .filter_map(|o| self.target().of(o.metrics()?))
            .collect();
        Sample::of(&v)
    }

    /// The paired difference `row figure − baseline figure` (accuracy, or loss) over the seed
    /// indices both were measured on at `row`'s fidelity: mean, spread and 95 % interval.
    pub fn paired(&self, row: &ReportRow) -> Option<Sample> {
        let b = self.baseline_seeds.get(&row.fidelity)?;
        let d: Vec<f64> = (row.seed_figures().into_iter())
            .filter_map(|(k, a)| Some(a - self.target().of(b.get(&k)?.metrics()?)?))
            .collect();
        Sample::of(&d)
    }

    /// The margin of the acceptance line in the target's own units: `points` percentage
    /// points of accuracy, or [`WITHIN_NATS`] nats of loss.
    pub fn margin(&self, points: f64) -> f64 {
        if self.target().lower_is_better() {
            WITHIN_NATS
        } else {
            points / 100.0
        }
    }

    /// The rows faster than the original layers (speedup > 1) whose target figure — the mean
    /// over their seeds — is within the margin of the baseline's mean over the same seeds at
    /// the same fidelity ([`CampaignReport::margin`]: at most `points` percentage points less
    /// accurate, or at most [`WITHIN_NATS`] nats of loss above), fastest first. At the last
    /// fidelity a row counts only once it has all the campaign's seeds: no verdict from fewer.
    /// Only a candidate's highest-fidelity row counts: a screen that passed does not stand for
    /// a candidate whose longer training was measured (and may have failed the margin).
    pub fn faster_and_as_accurate(&self, points: f64) -> Vec<&ReportRow> {
        let mut out: Vec<&ReportRow> = (self.results.iter())
            .filter(|e| self.is_highest(e) && self.seeds_missing(e) == 0 && self.passes(e, points))
            .collect();
        out.sort_by(|a, b| {
            let (x, y) = (a.speedup().unwrap_or(0.0), b.speedup().unwrap_or(0.0));
            y.total_cmp(&x).then(a.job.cmp(&b.job))
        });
        out
    }

    /// The rows at the last fidelity that pass the test of
    /// [`CampaignReport::faster_and_as_accurate`] on the seeds they have but lack some of the
    /// campaign's seeds: no verdict yet (a resume trains their missing seeds first).
    pub fn waiting_for_seeds(&self, points: f64) -> Vec<&ReportRow> {
        (self.results.iter())
            .filter(|e| self.is_highest(e) && self.seeds_missing(e) > 0 && self.passes(e, points))
            .collect()
    }

    /// Whether `row` is its candidate's result at the highest fidelity it has one at.
    fn is_highest(&self, row: &ReportRow) -> bool {
        !(self.results.iter()).any(|e| e.canonical == row.canonical && e.fidelity > row.fidelity)
    }

    /// Whether `row` is faster than the original layers and within the margin of the
    /// baseline over the same seeds ([`CampaignReport::margin`]).
    fn passes(&self, row: &ReportRow, points: f64) -> bool {
        match (row.speedup(), row.figure(), self.baseline_figure_for(row)) {
            (Some(s), Some(a), Some(b)) => {
                s > 1.0 && self.target().within(a, b, self.margin(points))
            }
            _ => false,
        }
    }

    /// How many of the campaign's seeds `row` lacks: 0 below the last fidelity.
    pub fn seeds_missing(&self, row: &ReportRow) -> usize {
        if row.fidelity < self.last_fidelity() {
            return 0;
        }
        (self.file.seeds as usize).saturating_sub(row.seeds.len())
    }

    /// How many of the campaign's seeds the baseline lacks at `level`: 0 below the last
    /// fidelity.
    pub fn baseline_seeds_missing(&self, level: usize) -> usize {
        if level < self.last_fidelity() {
            return 0;
        }
        let have = self.baseline_seeds.get(&level).map_or(0, |b| b.len());
        (self.file.seeds as usize).saturating_sub(have)
    }

    /// Whether `row`'s speedup is below the campaign's promotion floor (a resume does not
    /// train its missing seeds).
    pub fn below_floor(&self, row: &ReportRow) -> bool {
        row.speedup()
            .is_some_and(|s| s < self.file.promote_min_speedup)
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

    /// The index of the last fidelity.
    pub fn last_fidelity(&self) -> usize {
        self.file.fidelities.len().saturating_sub(1)
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

    /// A metric with an accuracy and a speedup.
    fn ok(acc: f64, speedup: f64) -> Outcome {
        Outcome::Ok(kas_campaign::Metrics {
            accuracy: Some(acc),
            speedup: Some(speedup),
            ..kas_campaign::Metrics::default()
        })
    }

    /// A report of a one-seed campaign with a screen and a full fidelity (baselines 0.80 and
    /// 0.90) holding `results`.
    fn two_fidelity_report(results: Vec<ReportRow>) -> CampaignReport {
        let file = CampaignFile::parse(
            r#"(kind: "kas-campaign", version: 1, name: "t", model: (name: "cnn"), data: "fashion-mnist",
                search: Random, budget: (max_evals: 5), devices: ["cpu"], evaluator: StandIn(()),
                fidelities: [(name: "screen", train_steps: Some(1)), (name: "full", train_steps: Some(2))], seeds: 1)"#,
            "t.ron",
        )
        .unwrap();
        let seeds = |o: Outcome| BTreeMap::from([(0, o)]);
        CampaignReport {
            file,
            dir: PathBuf::from("."),
            entries: vec![],
            baselines: [(0, ok(0.80, 1.0)), (1, ok(0.90, 1.0))].into(),
            baseline_seeds: [(0, seeds(ok(0.80, 1.0))), (1, seeds(ok(0.90, 1.0)))].into(),
            evaluations: results.len(),
            failures: BTreeMap::new(),
            front: vec![],
            unfinished: vec![],
            devices: vec![],
            retimes: (0, 0),
            migrations: vec![],
            results,
        }
    }

    #[test]
    fn faster_and_as_accurate_compares_at_the_same_fidelity() {
        let entry = |job: u64, fidelity: usize, outcome: Outcome| {
            ReportRow::new(format!("{job:032x}"), fidelity, outcome, 0.0, job)
        };
        let r = two_fidelity_report(vec![
            entry(0, 0, ok(0.795, 1.5)), // within a point at the screen
            entry(1, 1, ok(0.885, 3.0)), // 1.5 points below the full baseline
            entry(2, 1, ok(0.95, 0.9)),  // slower
            entry(3, 0, ok(0.85, 2.0)),  // better and faster
            entry(4, 0, Outcome::failed(FailureKind::Timeout, "slow")),
        ]);
        let jobs: Vec<u64> = r
            .faster_and_as_accurate(1.0)
            .iter()
            .map(|e| e.job)
            .collect();
        assert_eq!(jobs, [3, 0]);
        assert_eq!(r.faster_and_as_accurate(2.0).len(), 3);
        // With three seeds asked for, a last-fidelity row on one seed gives no verdict yet.
        let mut three = r;
        three.file.seeds = 3;
        let jobs: Vec<u64> = (three.faster_and_as_accurate(2.0).iter())
            .map(|e| e.job)
            .collect();
        assert_eq!(jobs, [3, 0]);
    }

    #[test]
    fn a_candidate_counts_only_at_its_highest_fidelity() {
        let row = |name: &str, job: u64, fidelity: usize, outcome: Outcome| {
            ReportRow::new(name.to_string(), fidelity, outcome, 0.0, job)
        };
        let r = two_fidelity_report(vec![
            row("a", 0, 0, ok(0.85, 2.0)), // passes at the screen ...
            row("a", 1, 1, ok(0.85, 2.0)), // ... but 5 points below the full baseline
            row("b", 2, 0, ok(0.85, 2.0)), // screened only: counts at the screen
        ]);
        let passing: Vec<u64> = (r.faster_and_as_accurate(1.0).iter())
            .map(|e| e.job)
            .collect();
        assert_eq!(passing, [2]);
    }
}
