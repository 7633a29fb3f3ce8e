//! `canvas`: kas's graph-kernel sampler (`kas graph sample`) on ResNet-18's 3×3 slots at
//! ImageNet sizes (`experiments/specs/resnet18-conv.ron`), one thread: the share of attempts
//! (descents) that give a legal kernel, the time per attempt and per distinct kernel, beside
//! Canvas's public sampler measured on the same stages; then a small Canvas-style campaign
//! (`kas search` on `experiments/configs/canvas-resnet18-fmnist64.ron`, or the CPU-sized
//! `canvas-resnet18-cpu.ron` for `--quick`) in the `campaign/` folder of the output, resumed
//! by a rerun until it has made its [`CAMPAIGN_EVALS`] evaluations; each run's chunk of it is
//! journaled (`campaign-chunk-N`) with its wall time.

use super::Context;
use super::journal::Journal;
use super::outcome::{Measured, Outcome, Row};
use super::paper::PaperFigures;
use anyhow::{Context as _, bail};
use kas_eval::data::DatasetName;
use kas_eval::data::synthetic::write_synthetic;
use kas_graph::sample::{SampleConfig, Slot, sample_on};
use kas_primitives::Spec;
use kas_search::report::{CampaignReport, ReportRow, WITHIN_POINTS};
use kas_search::stats::Sample;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;

/// One line on what it reproduces.
pub const WHAT: &str =
    "Canvas: graph sampler success rate and speed, and a small Canvas-style campaign";

/// The paper's figures.
const PAPER: &str = include_str!("../../reproduce/paper/canvas.ron");

/// The spec (embedded, so the experiment runs from any directory).
const SPEC: &str = include_str!("../../specs/resnet18-conv.ron");

/// The campaigns (embedded; written into the output folder).
const CAMPAIGN: &str = include_str!("../../configs/canvas-resnet18-fmnist64.ron");
const QUICK_CAMPAIGN: &str = include_str!("../../configs/canvas-resnet18-cpu.ron");

/// Evaluations of the campaign, over all its chunks: the experiment is done after them. The
/// committed H200 run (two chunks, 825 s) found a kernel faster than the convolutions and within
/// 1 point over 3 seeds in its first 20.
const CAMPAIGN_EVALS: u64 = 20;

/// Evaluations of the `--quick` campaign.
const QUICK_EVALS: u64 = 2;

/// One chunk of the campaign (a run of `kas search` for the time a run of the experiment had).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Chunk {
    /// The evaluations the campaign had made when the chunk ended.
    evaluations: u64,
}

/// One sampling run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Run {
    seconds: f64,
    descents: usize,
    legal: usize,
    distinct: usize,
    device: String,
}

/// Seeds and descents per seed: 3 × 3000 as Canvas's measurement, or 1 × 100 for `--quick`.
fn plan(ctx: &Context) -> (Vec<u64>, usize) {
    if ctx.quick {
        (vec![ctx.seed], 100)
    } else {
        ((ctx.seed..ctx.seed + 3).collect(), 3000)
    }
}

fn sample(seed: u64, descents: usize) -> anyhow::Result<Run> {
    let spec = Spec::read(SPEC, "resnet18-conv.ron")?;
    let slot = Slot::from_spec(&spec)?;
    let cfg = SampleConfig::default();
    let start = std::time::Instant::now();
    let r = sample_on(1, &slot, &cfg, descents, seed, &spec.name)?;
    Ok(Run {
        seconds: start.elapsed().as_secs_f64(),
        descents: r.descents,
        legal: r.legal,
        distinct: r.kernels.len(),
        device: kas_eval::fingerprint::Fingerprint::cpu("f32").summary(),
    })
}

/// Where the gap in seconds per kernel to Canvas's comes from, from the measured figures on
/// both sides: its acceptance rate against kas's times its time per attempt against kas's
/// (empty when nothing was measured).
fn decomposition(
    paper: &PaperFigures,
    legal: usize,
    all: usize,
    seconds: f64,
) -> anyhow::Result<String> {
    if legal == 0 || all == 0 {
        return Ok(String::new());
    }
    let rate = 100.0 * legal as f64 / all as f64;
    let ms = 1e3 * seconds / all as f64;
    let (their_rate, their_ms) = (
        paper.get("success_rate")?.value,
        paper.get("ms_per_attempt")?.value,
    );
    Ok(format!(
        "; Canvas's figure is {:.0}x kas's per legal kernel: {:.0}x from acceptance ({rate:.1} % \
         against {their_rate} %) times {:.0}x from the time per attempt ({ms:.2} ms against \
         {their_ms} ms)",
        (rate / their_rate) * (their_ms / ms),
        rate / their_rate,
        their_ms / ms
    ))
}

/// The evaluations the campaign makes in all (the experiment is done after them).
fn campaign_evals(ctx: &Context) -> u64 {
    if ctx.quick {
        QUICK_EVALS
    } else {
        CAMPAIGN_EVALS
    }
}

/// Runs (or resumes) the campaign in `dir` for this session's time; its output goes to
/// standard error.
fn campaign(ctx: &Context, dir: &Path, minutes: Option<f64>) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot locate the kas executable")?;
    let mut c = Command::new(exe);
    c.arg("search");
    if dir.join("campaign.ron").exists() {
        c.arg("--resume").arg(dir);
    } else {
        let file = ctx.dir.join("campaign-config.ron");
        let text = if ctx.quick { QUICK_CAMPAIGN } else { CAMPAIGN };
        std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
        c.arg("--config").arg(&file).arg("--out").arg(dir);
        c.arg("--seed").arg(ctx.seed.to_string());
    }
    c.arg("--max-evals").arg(campaign_evals(ctx).to_string());
    if let Some(m) = minutes {
        c.arg("--minutes").arg(format!("{m}"));
    }
    let data = match (&ctx.data_dir, ctx.quick) {
        (Some(d), _) => Some(d.clone()),
        (None, true) => {
            let d = ctx.dir.join("data");
            if !d.exists() {
                write_synthetic(DatasetName::FashionMnist, &d, 256, 64, ctx.seed)?;
            }
            Some(d)
        }
        (None, false) => None,
    };
    if let Some(d) = data {
        c.arg("--data-dir").arg(d);
    }
    let out = c.output().context("cannot run kas search")?;
    // kas search's output goes to standard error here, so that the reproduction's table
    // stays the standard output.
    eprint!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        bail!(
            "the campaign in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("no message")
        );
    }
    Ok(())
}

/// Runs the experiment.
pub fn run(ctx: &Context, journal: &mut Journal) -> anyhow::Result<Outcome> {
    let paper = PaperFigures::parse(PAPER, "canvas")?;
    // The campaign needs a GPU (but `--minutes 0` only renders what is journaled).
    if !ctx.quick && !ctx.render_only && !kas_eval::gpu::present() {
        bail!(
            "no CUDA GPU: canvas runs its campaign on one (--quick runs a CPU-sized version; \
             --minutes 0 renders the table from what is journaled)"
        );
    }
    let (seeds, descents) = plan(ctx);
    let mut runs = Vec::new();
    for &seed in &seeds {
        let key = format!("sampler-seed-{seed}-{descents}");
        if let Some(r) = journal.measure_in_time(&key, || sample(seed, descents))? {
            runs.push(r);
        }
    }
    let sum = |f: fn(&Run) -> usize| runs.iter().map(f).sum::<usize>();
    let seconds: f64 = runs.iter().map(|r| r.seconds).sum();
    let (all, legal, distinct) = (sum(|r| r.descents), sum(|r| r.legal), sum(|r| r.distinct));
    let ratio = |a: f64, b: usize| (b > 0).then(|| a / b as f64);
    let mut rows = vec![
        Row {
            label: "sampler success rate".into(),
            unit: "%".into(),
            kas: ratio(100.0 * legal as f64, all),
            paper: Some(paper.get("success_rate")?.clone()),
            note: format!(
                "legal kernels of {all} descents (attempts), ImageNet-size ResNet-18 slots, one thread; {}",
                if legal == all {
                    "every descent gave a legal kernel: kas's sampler checks legality at each step, Canvas's rejects whole kernels after the fact"
                } else {
                    "kas's sampler checks legality at each step, Canvas's rejects whole kernels after the fact"
                }
            ),
        },
        Row {
            label: "seconds per distinct kernel".into(),
            unit: "s".into(),
            kas: ratio(seconds, distinct),
            paper: Some(paper.get("seconds_per_kernel")?.clone()),
            note: format!(
                "{distinct} distinct kernels in {seconds:.2} s, one thread{}",
                decomposition(&paper, legal, all, seconds)?
            ),
        },
        Row {
            label: "time per attempt".into(),
            unit: "ms".into(),
            kas: ratio(1e3 * seconds, all),
            paper: Some(paper.get("ms_per_attempt")?.clone()),
            note: "wall time of the runs over their descents".into(),
        },
    ];
    let dir = ctx.dir.join("campaign");
    let evaluations = |dir: &Path| -> anyhow::Result<u64> {
        Ok(if dir.join("campaign.ron").exists() {
            CampaignReport::load(dir)?.evaluations as u64
        } else {
            0
        })
    };
    if evaluations(&dir)? < campaign_evals(ctx) {
        // A chunk's key is new for every run: a rerun goes on with the campaign.
        let chunks = journal.keys_with_prefix("campaign-chunk-");
        let key = format!("campaign-chunk-{chunks}");
        let minutes = journal.minutes_left();
        let chunk = journal.measure_in_time(&key, || {
            campaign(ctx, &dir, minutes)?;
            Ok(Chunk {
                evaluations: evaluations(&dir)?,
            })
        })?;
        if chunk.is_none() {
            eprintln!("--minutes ran out: the campaign goes on in a rerun");
        }
    }
    let mut details = vec![
        "| seed | descents | legal | distinct | seconds |".to_string(),
        "|---|---|---|---|---|".to_string(),
    ];
    details.extend(seeds.iter().zip(&runs).map(|(s, r)| {
        format!(
            "| {s} | {} | {} | {} | {:.2} |",
            r.descents, r.legal, r.distinct, r.seconds
        )
    }));
    let mut campaign_devices = Vec::new();
    if dir.join("campaign.ron").exists() {
        let report = CampaignReport::load(&dir)?;
        let winners = report.faster_and_as_accurate(WITHIN_POINTS);
        let best = winners
            .iter()
            .filter_map(|w| w.speedup())
            .fold(None, |b: Option<f64>, s| Some(b.map_or(s, |b| b.max(s))));
        rows.push(Row {
            label: "campaign evaluations".into(),
            unit: String::new(),
            kas: Some(report.evaluations as f64),
            paper: None,
            note: format!("campaign {} in {}", report.file.name, dir.display()),
        });
        rows.push(Row {
            label: "campaign kernels faster than the conv, within 1 point".into(),
            unit: String::new(),
            kas: Some(winners.len() as f64),
            paper: None,
            note: "Canvas reports no per-model figures in its abstract (canvas.md s. 8.1)".into(),
        });
        rows.push(Row {
            label: "campaign's best such speedup (slots)".into(),
            unit: "x".into(),
            kas: best,
            paper: None,
            note: "slot latency against the original layers, as the campaign times it".into(),
        });
        details.extend(winner_table(&report, &winners));
        details.push(format!(
            "\nCampaign: `kas report {}` for its candidates and plot.",
            dir.display()
        ));
        campaign_devices = (report.devices.iter())
            .map(|d| format!("campaign timing on {d}"))
            .collect();
    }
    let mut devices: Vec<String> = runs.iter().map(|r| r.device.clone()).collect();
    devices.extend(campaign_devices);
    devices.dedup();
    Ok(Outcome {
        title: "Canvas: graph-kernel sampler and a Canvas-style campaign".into(),
        rows,
        seeds,
        devices,
        details,
        pending: Vec::new(),
        measured: Measured::default(),
    })
}

/// The campaign's kernels faster than the original layers and within the margin, each beside
/// the baseline over the same seeds: accuracy mean ± sd, the paired difference and its 95 %
/// interval (markdown lines; only a heading and the baseline when there is none).
fn winner_table(report: &CampaignReport, winners: &[&ReportRow]) -> Vec<String> {
    let pct = |s: Option<Sample>| {
        s.map_or("-".to_string(), |s| match s.sd {
            Some(sd) => format!("{:.2} ± {:.2} ({})", 100.0 * s.mean, 100.0 * sd, s.n),
            None => format!("{:.2} (1)", 100.0 * s.mean),
        })
    };
    let last = report.baseline_seeds.keys().last().copied();
    let mut lines = vec![
        format!(
            "\nCampaign kernels faster than the original layers and within {WITHIN_POINTS} point \
             of the baseline's accuracy (mean over the same seeds); baseline at the last fidelity: \
             {} % (mean ± sd (seeds)).\n",
            pct(last.and_then(|l| report.baseline_sample(l)))
        ),
        "| kernel | slot speedup | accuracy [%] | difference [points] | 95 % interval [points] |"
            .to_string(),
        "|---|---|---|---|---|".to_string(),
    ];
    for w in winners {
        let d = report.paired(w);
        let interval = d
            .and_then(|d| d.half_width.map(|h| (d.mean, h)))
            .map_or("-".to_string(), |(m, h)| {
                format!("[{:+.2}, {:+.2}]", 100.0 * (m - h), 100.0 * (m + h))
            });
        lines.push(format!(
            "| `{}` | {:.3} x | {} | {} | {} |",
            w.canonical,
            w.speedup().unwrap_or(f64::NAN),
            pct(w.accuracy_sample()),
            d.map_or("-".to_string(), |d| format!("{:+.2}", 100.0 * d.mean)),
            interval
        ));
    }
    lines
}
