//! `host-baselines`: the five host models of Syno's end-to-end figure (ResNet-18, ResNet-34,
//! ResNeXt-29, DenseNet-121, EfficientNet-V2-S, CIFAR-style at 64×64) with their original
//! layers, trained on Fashion-MNIST: the baselines the operators are judged against, beside
//! the paper's ImageNet baselines of the same models.

use super::journal::Journal;
use super::outcome::{Measured, Outcome, Row};
use super::paper::PaperFigures;
use super::training::{Trained, Trainer, or_dash};
use super::{Context, precision_key};
use kas_codegen::Precision;
use kas_eval::models::ModelKind;

/// One line on what it reproduces.
pub const WHAT: &str = "the five host models' baseline accuracy on Fashion-MNIST";

/// The paper's figures.
const PAPER: &str = include_str!("../../reproduce/paper/host-baselines.ron");

/// The models, in the paper's order.
pub const MODELS: [ModelKind; 5] = [
    ModelKind::ResNet18,
    ModelKind::ResNet34,
    ModelKind::ResNeXt29,
    ModelKind::DenseNet121,
    ModelKind::EfficientNetV2S,
];

/// The models' width in `--quick` runs (first-stage channels, growth rate, stem channels or
/// width per group).
pub const QUICK_WIDTH: i64 = 4;

/// The same models and seed at the other precisions journaled in this `--out` (nothing is
/// trained for them): accuracy and seconds beside this run's, so that what the precision
/// changes is read from measurements (none when no other precision is journaled).
fn other_precisions(ctx: &Context, journal: &Journal) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    for kind in MODELS {
        let base = format!("{}-seed-{}", kind.name(), ctx.seed);
        let mut runs = Vec::new();
        for p in Precision::ALL {
            if let Some(r) = journal.peek::<Trained>(&precision_key(p, &base))? {
                runs.push((p, r));
            }
        }
        if runs.iter().all(|(p, _)| *p == ctx.precision) {
            continue;
        }
        for (p, r) in runs {
            lines.push(format!(
                "| {kind} | {} | {} | {:.1} |",
                p.label(),
                or_dash(r.accuracy, |a| format!("{a:.2}")),
                r.seconds
            ));
        }
    }
    if !lines.is_empty() {
        lines.splice(
            0..0,
            [
                "\nThe same models and seed at each precision journaled in this --out (`--precision P` renders each one's table):\n".to_string(),
                "| model | precision | accuracy [%] | seconds |".into(),
                "|---|---|---|---|".into(),
            ],
        );
    }
    Ok(lines)
}

/// Runs the experiment.
pub fn run(ctx: &Context, journal: &mut Journal) -> anyhow::Result<Outcome> {
    let paper = PaperFigures::parse(PAPER, "host-baselines")?;
    let trainer = Trainer::new(ctx, "host-baselines")?;
    let seed = ctx.seed;
    let mut rows = Vec::new();
    let mut devices: Vec<String> = Vec::new();
    let mut details = vec![
        format!("{}.\n", trainer.label()),
        "| model | accuracy [%] | MACs per image | params | epochs | seconds | failure |".into(),
        "|---|---|---|---|---|---|---|".into(),
    ];
    let mut adopted = Vec::new();
    for kind in MODELS {
        let key = ctx.key(&format!("{}-seed-{seed}", kind.name()));
        let twin = (kind == ModelKind::ResNet18)
            .then(|| trainer.baseline_twin(ctx, "host-baselines", seed))
            .flatten();
        let r = journal.measure_or_adopt(&key, twin.as_ref(), || {
            eprintln!("training {kind}, seed {seed}");
            trainer.train(kind, QUICK_WIDTH, None, seed)
        })?;
        if let Some(from) = journal.adopted(&key) {
            adopted.push(format!("{kind} from {from}"));
        }
        if let Some(r) = &r {
            if !devices.contains(&r.device) {
                devices.push(r.device.clone());
            }
            details.push(format!(
                "| {kind} | {} | {:.3e} | {} | {:.2} | {:.1} | {} |",
                or_dash(r.accuracy, |a| format!("{a:.2}")),
                r.macs,
                or_dash(r.params, |p| p.to_string()),
                r.epochs,
                r.seconds,
                r.failure.as_deref().unwrap_or("").replace('|', "/")
            ));
        }
        rows.push(Row {
            label: format!("{kind} baseline accuracy"),
            unit: "%".into(),
            kas: r.as_ref().and_then(|r| r.accuracy),
            paper: Some(paper.get(kind.name())?.clone()),
            note: "kas: Fashion-MNIST, CIFAR-style model (sizes under the table); paper: ImageNet (another dataset)"
                .into(),
        });
    }
    details.extend(super::training::adopted_note(&adopted));
    details.extend(other_precisions(ctx, journal)?);
    Ok(Outcome {
        title: "Host models: baseline accuracy with the original layers".into(),
        rows,
        seeds: vec![seed],
        devices,
        details,
        pending: Vec::new(),
        measured: Measured::default(),
    })
}
