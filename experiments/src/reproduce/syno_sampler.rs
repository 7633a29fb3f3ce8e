//! `syno-sampler`: guided synthesis on Syno's ResNet-18 spec (`experiments/specs/
//! resnet18-conv.ron`) with kas's sampler (`kas_synth::run`, as `kas sample` runs it):
//! distinct operators per second, the leaf rate, and the share of search nodes proved dead,
//! beside Syno's sampler measured on the same spec with 2 worker threads.

use super::Context;
use super::journal::Journal;
use super::outcome::{Measured, Outcome, Row};
use super::paper::PaperFigures;
use kas_primitives::Spec;
use kas_synth::{Config, Dag, Filters, RunOptions};
use serde::{Deserialize, Serialize};

/// One line on what it reproduces.
pub const WHAT: &str = "synthesis statistics on Syno's ResNet-18 spec beside Syno's sampler";

/// The spec (embedded, so the experiment runs from any directory).
const SPEC: &str = include_str!("../../specs/resnet18-conv.ron");

/// The paper's figures.
const PAPER: &str = include_str!("../../reproduce/paper/syno-sampler.ron");

/// Worker threads: Syno's measurement used 2.
const THREADS: usize = 2;

/// One sampling run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Run {
    seconds: f64,
    descents: u64,
    leaves: u64,
    first_walk_leaves: u64,
    distinct: u64,
    nodes: u64,
    dead: u64,
    device: String,
}

/// Seeds and seconds per seed: 3 × 60 s, or 1 × 3 s for `--quick`.
fn plan(ctx: &Context) -> (Vec<u64>, f64) {
    if ctx.quick {
        (vec![ctx.seed], 3.0)
    } else {
        ((ctx.seed..ctx.seed + 3).collect(), 60.0)
    }
}

fn sample(seed: u64, seconds: f64) -> anyhow::Result<Run> {
    let spec = Spec::read(SPEC, "resnet18-conv.ron")?;
    let dag = Dag::new(Config::new(spec)?, Filters::default());
    let opts = RunOptions {
        seed,
        seconds: Some(seconds),
        threads: THREADS,
        ..RunOptions::default()
    };
    let start = std::time::Instant::now();
    let r = kas_synth::run(&dag, &opts, |_| {})?;
    Ok(Run {
        seconds: start.elapsed().as_secs_f64(),
        descents: r.descents,
        leaves: r.leaves,
        first_walk_leaves: r.first_walk_leaves,
        distinct: r.distinct,
        nodes: r.nodes,
        dead: r.dead,
        device: kas_eval::fingerprint::Fingerprint::cpu("f32").summary(),
    })
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Runs the experiment.
pub fn run(ctx: &Context, journal: &mut Journal) -> anyhow::Result<Outcome> {
    let paper = PaperFigures::parse(PAPER, "syno-sampler")?;
    let (seeds, seconds) = plan(ctx);
    let mut runs = Vec::new();
    for &seed in &seeds {
        let key = format!("seed-{seed}-{seconds}s");
        if let Some(r) = journal.measure_in_time(&key, || sample(seed, seconds))? {
            runs.push(r);
        }
    }
    // Nothing measured yet (`--minutes` ran out first): no figure rather than zeros.
    let some = |x: f64| (!runs.is_empty()).then_some(x);
    let sum = |f: fn(&Run) -> u64| runs.iter().map(f).sum::<u64>();
    let total_s: f64 = runs.iter().map(|r| r.seconds).sum();
    let rates: Vec<f64> = (runs.iter())
        .map(|r| r.distinct as f64 / r.seconds.max(1e-9))
        .collect();
    let (lo, hi) = rates
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    let threads_note = format!("{THREADS} worker threads, as Syno's");
    let row = |label: &str, unit: &str, kas: Option<f64>, key: Option<&str>, note: String| {
        Ok::<Row, anyhow::Error>(Row {
            label: label.into(),
            unit: unit.into(),
            kas,
            paper: key.map(|k| paper.get(k)).transpose()?.cloned(),
            note,
        })
    };
    let rows = vec![
        row(
            "distinct operators per second",
            "/s",
            some(sum(|r| r.distinct) as f64 / total_s.max(1e-9)),
            Some("distinct_per_sec"),
            format!(
                "structural distinct over all runs; per seed {lo:.2} to {hi:.2}; {threads_note}"
            ),
        )?,
        row(
            "leaf rate (first walk, no backtracking)",
            "%",
            ratio(sum(|r| r.first_walk_leaves), sum(|r| r.descents)).map(|x| 100.0 * x),
            Some("leaf_rate"),
            "descents whose first walk reached a leaf, Syno's definition".into(),
        )?,
        row(
            "leaf rate with backtracking",
            "%",
            ratio(sum(|r| r.leaves), sum(|r| r.descents)).map(|x| 100.0 * x),
            None,
            "kas's descents backtrack out of dead ends; Syno's do not".into(),
        )?,
        row(
            "search nodes proved dead",
            "%",
            ratio(sum(|r| r.dead), sum(|r| r.nodes)).map(|x| 100.0 * x),
            Some("dead_fraction"),
            "dead ends: nodes proved to hold no leaf, of nodes created".into(),
        )?,
        row(
            "distinct operators",
            "",
            some(sum(|r| r.distinct) as f64),
            Some("distinct"),
            format!("{} run(s) of {seconds} s", runs.len()),
        )?,
        row(
            "sampling time",
            "s",
            some(total_s),
            Some("seconds"),
            "wall time of the runs, building the DAG included".into(),
        )?,
    ];
    let mut devices: Vec<String> = runs.iter().map(|r| r.device.clone()).collect();
    devices.dedup();
    let details = vec![
        "| seed | seconds | descents | leaves | first-walk leaves | distinct | nodes | dead |"
            .to_string(),
        "|---|---|---|---|---|---|---|---|".to_string(),
    ]
    .into_iter()
    .chain(seeds.iter().zip(&runs).map(|(s, r)| {
        format!(
            "| {s} | {:.1} | {} | {} | {} | {} | {} | {} |",
            r.seconds, r.descents, r.leaves, r.first_walk_leaves, r.distinct, r.nodes, r.dead
        )
    }))
    .collect();
    Ok(Outcome {
        title: "Syno's sampler on its ResNet-18 spec: kas vs Syno".into(),
        rows,
        seeds,
        devices,
        details,
        pending: Vec::new(),
        measured: Measured::default(),
    })
}
