//! A campaign judged by a loss (a language model's validation loss, lower is better): the
//! report's acceptance line takes rows faster than the original layers whose mean loss is at
//! most `WITHIN_NATS` above the baseline's over the same seeds, the paired difference is
//! `row − baseline` in nats, the seeds' spread is the loss's, and the Pareto front prefers
//! lower losses.

use kas_campaign::{CampaignFile, Figure, Metrics, Outcome, RewardTarget, WITHIN_NATS};
use kas_search::report::{CampaignReport, ReportRow, WITHIN_POINTS, pareto_front};
use std::collections::BTreeMap;

const CAMPAIGN: &str = r#"(
    kind: "kas-campaign",
    version: 1,
    name: "gpt-loss",
    model: (name: "gpt", slots: Some("mlp-up")),
    data: "shakespeare",
    search: Random,
    budget: (max_evals: 10),
    fidelities: [(name: "full", train_steps: Some(10), timing_repeats: Some(2))],
    promote_eta: 2,
    reward: (target: Loss(max: 5.0), form: Constrained(delta: 0.02)),
    seed: 0,
    seeds: 2,
    devices: ["cpu"],
    evaluator: StandIn(()),
)"#;

fn loss(l: f64, speedup: Option<f64>) -> Outcome {
    let mut extra = BTreeMap::new();
    extra.insert(Figure::Perplexity, l.exp());
    Outcome::Ok(Metrics {
        loss: Some(l),
        speedup,
        extra,
        ..Metrics::default()
    })
}

/// A row of `losses` (one per seed index) at speedup `s`.
fn row(file: &CampaignFile, name: &str, losses: &[f64], s: f64) -> ReportRow {
    let seeds: BTreeMap<u32, Outcome> = (losses.iter().enumerate())
        .map(|(i, &l)| (i as u32, loss(l, Some(s))))
        .collect();
    let outcome = Outcome::mean(&seeds.values().cloned().collect::<Vec<_>>()).unwrap();
    let mut r = ReportRow::new(name.into(), 0, outcome.clone(), 0.0, 0);
    r.reward = file.reward.reward(&outcome, Some(1.50));
    r.seeds = seeds;
    r.target = file.reward.target;
    r
}

#[test]
fn the_acceptance_line_compares_losses_downwards() {
    let file = CampaignFile::parse(CAMPAIGN, "gpt-loss.ron").unwrap();
    assert_eq!(file.reward.target, RewardTarget::Loss { max: 5.0 });
    let baseline: BTreeMap<u32, Outcome> =
        [(0, loss(1.49, Some(1.0))), (1, loss(1.51, Some(1.0)))].into();
    let results = vec![
        // Faster and 0.01 nats above the baseline: counts.
        row(&file, "a", &[1.50, 1.52], 1.5),
        // Faster and lower: counts.
        row(&file, "b", &[1.40, 1.42], 1.2),
        // Faster but 0.05 nats above: does not.
        row(&file, "c", &[1.54, 1.56], 3.0),
        // Lower but slower: does not.
        row(&file, "d", &[1.30, 1.30], 0.8),
    ];
    let report = CampaignReport {
        file,
        dir: std::env::temp_dir(),
        entries: results.clone(),
        baselines: [(
            0,
            Outcome::mean(&baseline.values().cloned().collect::<Vec<_>>()).unwrap(),
        )]
        .into(),
        baseline_seeds: [(0, baseline)].into(),
        evaluations: 8,
        failures: BTreeMap::new(),
        front: Vec::new(),
        results,
        unfinished: Vec::new(),
        devices: vec!["cpu".into()],
        retimes: (0, 0),
        migrations: Vec::new(),
    };
    assert_eq!(report.margin(WITHIN_POINTS), WITHIN_NATS);
    let winners: Vec<&str> = (report.faster_and_as_accurate(WITHIN_POINTS).iter())
        .map(|r| r.canonical.as_str())
        .collect();
    assert_eq!(winners, ["a", "b"]);
    let a = &report.results[0];
    assert!((a.figure().unwrap() - 1.51).abs() < 1e-12);
    assert!((report.baseline_figure_for(a).unwrap() - 1.50).abs() < 1e-12);
    // Paired: each seed's loss minus the baseline's on that seed, in nats.
    let d = report.paired(a).unwrap();
    assert_eq!(d.n, 2);
    assert!((d.mean - 0.01).abs() < 1e-12);
    let s = a.figure_sample().unwrap();
    assert!((s.mean - 1.51).abs() < 1e-12 && s.sd.unwrap() > 0.0);
    assert!((report.baseline_sample(0).unwrap().mean - 1.50).abs() < 1e-12);
    // Within δ = 0.02 nats: the constrained reward is 1 + speedup; c is outside (< 1).
    assert!((a.reward - 2.5).abs() < 1e-12);
    assert!(report.results[2].reward < 1.0);
    // The Pareto front over (score, latency), fastest first: each next point has a lower loss.
    let points: Vec<Option<(f64, f64)>> = (report.results.iter())
        .map(|r| Some((r.target.score(r.figure()?), r.relative_latency()?)))
        .collect();
    let front: Vec<&str> = pareto_front(&points)
        .into_iter()
        .map(|i| report.results[i].canonical.as_str())
        .collect();
    assert_eq!(front, ["c", "a", "b", "d"]);
}
