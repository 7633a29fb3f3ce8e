//! `syno-accuracy`: Syno's shipped operators in every 3×3 slot of kas's ResNet-18, trained on
//! Fashion-MNIST from several seeds beside the original convolutions: accuracy and the
//! whole model's multiply-adds against the conv model, beside the paper's CIFAR-100
//! accuracies, ImageNet deltas and multiply-add ratios (`experiments/reproduce/paper/
//! syno-accuracy.ron`).

use super::journal::Journal;
use super::outcome::{Measured, Outcome, Row};
use super::paper::PaperFigures;
use super::scatter::{Labelled, Scatter, write_scatter};
use super::training::{Trained, Trainer, mean_sd, or_dash};
use super::{Context, precision_key};
use kas_codegen::Precision;
use kas_eval::models::ModelKind;
use kas_search::stats::Sample;

/// One line on what it reproduces.
pub const WHAT: &str =
    "Syno's shipped operators trained in ResNet-18 on Fashion-MNIST: accuracy vs FLOPs";

/// The paper's figures.
const PAPER: &str = include_str!("../../reproduce/paper/syno-accuracy.ron");

/// The operators, by library name, with their names in the paper.
pub const OPERATORS: [(&str, &str); 5] = [
    ("syno-op1", "Operator 1"),
    ("syno-op2", "Operator 2"),
    ("syno-transposed-conv1d", "transposed 1-D conv"),
    ("syno-kronecker-conv", "Kronecker conv"),
    ("syno-channel-window-conv", "channel-window conv"),
];

/// The model's width in `--quick` runs: 64 as the default, since Syno's operators group the
/// channels by g·s = 64.
pub const QUICK_WIDTH: i64 = 64;

/// The accuracy-against-MACs plot in the output folder (its name at f32, without `.svg`).
const SCATTER_STEM: &str = "accuracy-macs";

/// Accuracy against the whole model's MACs relative to the conv model: kas's fills that are
/// trained, and the paper's figures for the same operators.
fn scatter<'a>(fills: &[Fill], paper: &PaperFigures) -> anyhow::Result<Scatter<'a>> {
    let conv_macs = fills[0].macs();
    let kas = (fills.iter())
        .filter_map(|f| {
            let (acc, _) = f.accuracy()?;
            Some(Labelled {
                label: f.name.to_string(),
                at: (f.macs()? / conv_macs?, acc),
            })
        })
        .collect();
    let mut theirs = vec![Labelled {
        label: "conv2d".into(),
        at: (1.0, paper.get("conv2d-cifar")?.value),
    }];
    for f in &fills[1..] {
        theirs.push(Labelled {
            label: f.name.to_string(),
            at: (
                paper.get(&format!("{}-macs", f.name))?.value,
                paper.get(&format!("{}-cifar", f.name))?.value,
            ),
        });
    }
    Ok(Scatter {
        title: "Syno's operators: accuracy against whole-model MACs",
        x: "whole-model MACs / the conv model's",
        y: "test accuracy [%] (kas: Fashion-MNIST; paper: CIFAR-100)",
        series: vec![("kas", kas), ("paper", theirs)],
    })
}

/// The seeds: 3 from the first, or 1 for `--quick`.
fn seeds(ctx: &Context) -> Vec<u64> {
    let n = if ctx.quick { 1 } else { 3 };
    (ctx.seed..ctx.seed + n).collect()
}

/// The runs of one fill that are done.
struct Fill {
    name: &'static str,
    label: &'static str,
    runs: Vec<(u64, Trained)>,
}

impl Fill {
    fn accuracy(&self) -> Option<(f64, f64)> {
        let xs: Vec<f64> = self.runs.iter().filter_map(|(_, r)| r.accuracy).collect();
        (!xs.is_empty()).then(|| mean_sd(&xs))
    }

    fn macs(&self) -> Option<f64> {
        self.runs.first().map(|(_, r)| r.macs)
    }

    fn summary(&self) -> Summary {
        let mut seconds: Vec<f64> = self.runs.iter().map(|(_, r)| r.seconds).collect();
        seconds.sort_by(f64::total_cmp);
        Summary {
            runs: self.runs.len(),
            accuracy: self.accuracy(),
            seconds: seconds.get(seconds.len() / 2).copied(),
        }
    }
}

/// A fill's runs at one precision, summed up.
struct Summary {
    /// Runs done.
    runs: usize,
    /// Accuracy mean and sd, in %.
    accuracy: Option<(f64, f64)>,
    /// Median seconds per run (the upper median of an even count).
    seconds: Option<f64>,
}

/// The per-seed change of `f`'s accuracy against the conv model's, in points, over the seeds
/// both have an accuracy for.
fn paired_change(f: &Fill, conv: &Fill) -> Vec<f64> {
    (f.runs.iter())
        .filter_map(|(seed, r)| {
            let (_, c) = conv.runs.iter().find(|(s, _)| s == seed)?;
            Some(r.accuracy? - c.accuracy?)
        })
        .collect()
}

/// What the paired changes `diffs` can tell at this fidelity, beside the paper's change
/// `theirs`: their 95 % interval (Student's t over the seeds), whether it holds 0 (no change
/// measurable) and whether it holds the paper's figure.
fn change_verdict(diffs: &[f64], theirs: f64) -> String {
    let Some((lo, hi)) = Sample::of(diffs).and_then(|s| s.interval()) else {
        return format!("same seeds ({} paired)", diffs.len());
    };
    let holds = |x: f64| lo <= x && x <= hi;
    let verdict = match (holds(0.0), holds(theirs)) {
        (true, true) => "holds both 0 and the paper's change: this fidelity tells neither apart",
        (true, false) => {
            "holds 0 but not the paper's change: no change measurable at this fidelity, and not one as large as the paper's"
        }
        (false, true) => "a measurable change, in line with the paper's",
        (false, false) => "a measurable change, not the paper's",
    };
    format!(
        "{} paired seeds, 95 % interval [{lo:+.2}, {hi:+.2}] points, which {verdict}",
        diffs.len()
    )
}

/// The same fills and seeds at the other precisions journaled in this `--out` (nothing is
/// trained for them), beside this run's: accuracy, change against the conv model at the same
/// precision, and seconds per training run, so that what the precision changes is read from
/// measurements (none when no other precision is journaled).
fn precisions_side_by_side(
    ctx: &Context,
    journal: &Journal,
    fills: &[Fill],
) -> anyhow::Result<Vec<String>> {
    let mut at = vec![(ctx.precision, fills.iter().map(Fill::summary).collect())];
    for p in Precision::ALL.into_iter().filter(|&p| p != ctx.precision) {
        let mut summaries = Vec::new();
        for f in fills {
            let mut runs = Vec::new();
            for seed in seeds(ctx) {
                let key = precision_key(p, &format!("{}-seed-{seed}", f.name));
                if let Some(r) = journal.peek::<Trained>(&key)? {
                    runs.push((seed, r));
                }
            }
            summaries.push(
                Fill {
                    name: f.name,
                    label: f.label,
                    runs,
                }
                .summary(),
            );
        }
        if summaries.iter().any(|s| s.runs > 0) {
            at.push((p, summaries));
        }
    }
    if at.len() == 1 {
        return Ok(Vec::new());
    }
    let mut lines = vec![
        "\nThe same fills and seeds at each precision journaled in this --out (accuracy mean ± sd; the change against the conv model at the same precision; `--precision P` renders each one's table):\n".to_string(),
        "| operator | precision | runs | accuracy [%] | change [points] | seconds per run (median) |".into(),
        "|---|---|---|---|---|---|".into(),
    ];
    for (i, f) in fills.iter().enumerate() {
        for (p, summaries) in &at {
            let s = &summaries[i];
            if s.runs == 0 {
                continue;
            }
            let conv = summaries[0].accuracy.map(|a| a.0);
            lines.push(format!(
                "| {} | {} | {} | {} | {} | {} |",
                f.name,
                p.label(),
                s.runs,
                or_dash(s.accuracy, |(m, sd)| format!("{m:.2} ± {sd:.2}")),
                or_dash(
                    s.accuracy.zip(conv).filter(|_| i > 0),
                    |((a, _), c)| format!("{:+.2}", a - c)
                ),
                or_dash(s.seconds, |t| format!("{t:.1}")),
            ));
        }
    }
    Ok(lines)
}

/// Runs the experiment.
pub fn run(ctx: &Context, journal: &mut Journal) -> anyhow::Result<Outcome> {
    let paper = PaperFigures::parse(PAPER, "syno-accuracy")?;
    let trainer = Trainer::new(ctx, "syno-accuracy")?;
    let seeds = seeds(ctx);
    let mut fills = Vec::new();
    let mut adopted = Vec::new();
    let all = std::iter::once(("conv2d", "3x3 conv (original)")).chain(OPERATORS);
    for (name, label) in all {
        let op = if name == "conv2d" {
            None
        } else {
            Some(crate::export::load(name)?.1)
        };
        let mut runs = Vec::new();
        for &seed in &seeds {
            let key = ctx.key(&format!("{name}-seed-{seed}"));
            let twin = op
                .is_none()
                .then(|| trainer.baseline_twin(ctx, "syno-accuracy", seed))
                .flatten();
            let r = journal.measure_or_adopt(&key, twin.as_ref(), || {
                eprintln!("training resnet18 with {name}, seed {seed}");
                trainer.train(ModelKind::ResNet18, QUICK_WIDTH, op.as_ref(), seed)
            })?;
            if let Some(from) = journal.adopted(&key) {
                adopted.push(format!("{name} seed {seed} from {from}"));
            }
            if let Some(r) = r {
                runs.push((seed, r));
            }
        }
        fills.push(Fill { name, label, runs });
    }
    let conv = &fills[0];
    let (conv_acc, conv_macs) = (conv.accuracy().map(|a| a.0), conv.macs());
    let seeds_note = |f: &Fill| {
        let failed = f.runs.iter().filter(|(_, r)| r.accuracy.is_none()).count();
        let failed = match failed {
            0 => String::new(),
            n => format!(", {n} run(s) without an accuracy (details)"),
        };
        let trained = f
            .accuracy()
            .map_or("no accuracy yet".to_string(), |(_, sd)| {
                format!("{} seed(s), sd {sd:.2} points", f.runs.len())
            });
        trained + &failed
    };
    let mut rows = vec![Row {
        label: "3x3 conv accuracy".into(),
        unit: "%".into(),
        kas: conv_acc,
        paper: Some(paper.get("conv2d-cifar")?.clone()),
        note: format!(
            "kas: Fashion-MNIST, {}; paper: CIFAR-100 (another dataset)",
            seeds_note(conv)
        ),
    }];
    for f in &fills[1..] {
        let acc = f.accuracy().map(|a| a.0);
        rows.push(Row {
            label: format!("{} accuracy", f.label),
            unit: "%".into(),
            kas: acc,
            paper: Some(paper.get(&format!("{}-cifar", f.name))?.clone()),
            note: format!(
                "kas: Fashion-MNIST, {}; paper: CIFAR-100 of the model it was found in",
                seeds_note(f)
            ),
        });
        let theirs = paper.get(&format!("{}-imagenet-delta", f.name))?.clone();
        rows.push(Row {
            label: format!("{} accuracy change", f.label),
            unit: "points".into(),
            kas: acc.zip(conv_acc).map(|(a, c)| a - c),
            note: format!(
                "kas: against the conv model, {}; paper: ImageNet top-1 against its baseline",
                change_verdict(&paired_change(f, conv), theirs.value)
            ),
            paper: Some(theirs),
        });
        rows.push(Row {
            label: format!("{} whole-model MACs / conv model", f.label),
            unit: "x".into(),
            kas: f.macs().zip(conv_macs).map(|(m, c)| m / c),
            paper: Some(paper.get(&format!("{}-macs", f.name))?.clone()),
            note: "kas: ResNet-18 at the trained image size, the operator's plan in every slot"
                .into(),
        });
    }
    let scatter_file = ctx.file(SCATTER_STEM, "svg");
    write_scatter(&scatter(&fills, &paper)?, &ctx.dir.join(&scatter_file))?;
    let mut devices: Vec<String> = Vec::new();
    let mut details = vec![
        format!("{}.\n", trainer.label()),
        format!(
            "Accuracy against the whole model's MACs (kas's and the paper's points): `{scatter_file}`.\n"
        ),
        "| operator | seed | accuracy [%] | MACs per image | params | epochs | seconds | failure |"
            .into(),
        "|---|---|---|---|---|---|---|---|".into(),
    ];
    for f in &fills {
        for (seed, r) in &f.runs {
            if !devices.contains(&r.device) {
                devices.push(r.device.clone());
            }
            details.push(format!(
                "| {} | {seed} | {} | {:.3e} | {} | {:.2} | {:.1} | {} |",
                f.name,
                or_dash(r.accuracy, |a| format!("{a:.2}")),
                r.macs,
                or_dash(r.params, |p| p.to_string()),
                r.epochs,
                r.seconds,
                r.failure.as_deref().unwrap_or("").replace('|', "/")
            ));
        }
    }
    details.extend(super::training::adopted_note(&adopted));
    details.extend(precisions_side_by_side(ctx, journal, &fills)?);
    Ok(Outcome {
        title: "Syno's operators in ResNet-18: accuracy and MACs against the conv".into(),
        rows,
        seeds,
        devices,
        details,
        pending: Vec::new(),
        measured: Measured::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_change_verdict_reads_the_interval() {
        // Mean +1, sd 1 over 3 seeds: half-width 4.303 / sqrt(3) = 2.48.
        let v = change_verdict(&[0.0, 1.0, 2.0], -3.75);
        assert!(
            v.starts_with("3 paired seeds, 95 % interval [-1.48, +3.48] points"),
            "{v}"
        );
        assert!(v.ends_with("holds 0 but not the paper's change: no change measurable at this fidelity, and not one as large as the paper's"), "{v}");
        assert!(change_verdict(&[0.0, 1.0, 2.0], -0.38).contains("tells neither apart"));
        assert!(change_verdict(&[-4.0, -3.9, -4.1], -3.75).ends_with("not the paper's"));
        assert!(change_verdict(&[-4.0, -3.0, -4.5], -3.75).ends_with("in line with the paper's"));
        assert_eq!(change_verdict(&[1.0], -1.0), "same seeds (1 paired)");
    }
}
