//! `syno-e2e` (Syno Fig. 5): whole-model speedups at batch 1 of the five host models with the
//! fastest eligible operator in every slot, timed as `kas bench OP --model M` times them
//! (`kas internal time-model` workers: kas's CUDA kernels in the slots against cuDNN, both as
//! CUDA graphs, f32), beside Syno's A100 figures. Eligible: Syno's shipped operators that its
//! own rule admits (CIFAR-100 accuracy within 1 point of the baseline, from the paper's data),
//! and with `--campaign DIR` the campaign's operators faster than the original layers and within
//! 1 point of its accuracy. An operator that does not fit a model's slots is left out for it.
//! With `--precision tf32|bf16` both sides run at that precision (kas's TF32 / bf16 kernels
//! against cuDNN's), journaled under their own keys and written as `table-tf32.md`, ….
//! With `--quick`: ResNet-18 alone on the CPU (the tch plan against libtorch), few repeats.

use super::journal::Journal;
use super::outcome::{Measured, Outcome, Row};
use super::paper::PaperFigures;
use super::training::ModelMacs;
use super::{Context, precision_key, same_compiler};
use anyhow::{Context as _, bail};
use kas_campaign::KernelMode;
use kas_codegen::Precision;
use kas_eval::models::ModelKind;
use kas_eval::timing::{Backend, Protocol, geomean};
use kas_eval::whole::{ModelRequest, check_fit, run_model_isolated};
use kas_primitives::format::{read_operator_file, read_text};
use kas_primitives::{Operator, write_operator};
use kas_search::report::{CampaignReport, WITHIN_POINTS};
use serde::{Deserialize, Serialize};
use std::process::Command;

/// kas's own kernels for the original layers: the library operator among these whose
/// whole-model MACs are the original model's (a dense conv, or a grouped one for ResNeXt),
/// timed in every slot like the operators. Each model's speedup is also given against the
/// faster of cuDNN's original model and this one (the same compiler's original, as the paper's
/// TVM-compiled model is).
const KAS_ORIGINALS: [&str; 2] = ["conv2d", "grouped-conv2d"];

/// The candidate of [`KAS_ORIGINALS`] that is `kind`'s original layers, if one is.
fn kas_original(kind: ModelKind, counted: &ModelMacs) -> anyhow::Result<Option<Candidate>> {
    let original = counted.with(None)?;
    for name in KAS_ORIGINALS {
        let op = crate::export::load(name)?.1;
        if check_fit(kind.name(), &op).is_err() {
            continue;
        }
        if (counted.with(Some(&op))? - original).abs() <= 1e-9 * original {
            return Ok(Some(Candidate {
                name: name.to_string(),
                op,
                why: "kas's own kernels for the original layers".into(),
            }));
        }
    }
    Ok(None)
}

/// One line on what it reproduces.
pub const WHAT: &str =
    "Syno Fig. 5: whole-model speedups at batch 1 with the best operator within 1 point";

/// The paper's figures.
const PAPER: &str = include_str!("../../reproduce/paper/syno-e2e.ron");

/// One model timed with one operator.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Timed {
    /// The original model's median (seconds).
    original: Option<f64>,
    /// With the operator in every slot.
    kas: Option<f64>,
    /// Why it is incomplete.
    failure: Option<String>,
    /// The device fingerprint line.
    device: String,
}

impl Timed {
    fn speedup(&self) -> Option<f64> {
        match (self.original, self.kas) {
            (Some(o), Some(k)) if k > 0.0 && self.failure.is_none() => Some(o / k),
            _ => None,
        }
    }
}

/// A model's best eligible operator timed.
#[derive(Clone, Copy)]
struct Best<'a> {
    /// Its speedup over cuDNN's model.
    speedup: f64,
    name: &'a str,
    /// The model's MACs with it, relative to the original's.
    macs: f64,
    /// The model's median with it (seconds).
    kas: Option<f64>,
}

/// An eligible operator and why it is.
struct Candidate {
    name: String,
    op: Operator,
    why: String,
}

/// Syno's shipped operators whose published CIFAR-100 delta is within the margin.
fn shipped(paper: &PaperFigures) -> anyhow::Result<Vec<Candidate>> {
    let mut out = Vec::new();
    for (name, _) in super::syno_accuracy::OPERATORS {
        let Ok(f) = paper.get(&format!("cifar-delta-{name}")) else {
            continue; // no published CIFAR-100 baseline for its model: Syno's rule cannot admit it
        };
        if f.value >= -WITHIN_POINTS {
            out.push(Candidate {
                name: name.to_string(),
                op: crate::export::load(name)?.1,
                why: format!("Syno's: CIFAR-100 {:+.2} points", f.value),
            });
        }
    }
    Ok(out)
}

/// The campaign's operators faster than the original layers and within the margin.
fn from_campaign(dir: &std::path::Path) -> anyhow::Result<Vec<Candidate>> {
    if !dir.join("campaign.ron").exists() {
        bail!(
            "{} is not a campaign directory (no campaign.ron)",
            dir.display()
        );
    }
    let report = CampaignReport::load(dir)?;
    let mut out = Vec::new();
    for row in report.faster_and_as_accurate(WITHIN_POINTS) {
        let path = report.operator_path(&row.canonical);
        let text = read_text(&path)?;
        let (file, op) = read_operator_file(&text, &path.display().to_string())
            .with_context(|| format!("{}: syno-e2e takes an operator campaign", path.display()))?;
        let name = if file.name.contains(&row.canonical) {
            file.name
        } else {
            format!("{} ({})", file.name, row.canonical)
        };
        out.push(Candidate {
            name,
            op,
            why: format!(
                "campaign {}: {} {:.4} (baseline {:.4})",
                dir.display(),
                report.target().label(),
                row.figure().unwrap_or(f64::NAN),
                report.baseline_figure_for(row).unwrap_or(f64::NAN)
            ),
        });
    }
    Ok(out)
}

/// The details table's row of `c` timed in `kind` (`macs`: its whole-model MACs over the
/// original's).
fn detail_row(kind: ModelKind, c: &Candidate, macs: f64, t: &Timed) -> String {
    let ms = |v: Option<f64>| v.map_or("-".into(), |s| format!("{:.3}", s * 1e3));
    format!(
        "| {kind} | {} | {} | {macs:.3}x | {} | {} | {} | {} |",
        c.name,
        c.why,
        ms(t.original),
        ms(t.kas),
        t.speedup().map_or("-".into(), |x| format!("{x:.3}x")),
        t.failure.as_deref().unwrap_or("").replace('|', "/")
    )
}

fn time(
    kind: ModelKind,
    c: &Candidate,
    backend: Backend,
    protocol: &Protocol,
    ctx: &Context,
) -> anyhow::Result<Timed> {
    let req = ModelRequest {
        name: c.name.clone(),
        operator: write_operator(&c.name, "timed by kas reproduce syno-e2e", &c.op)?,
        model: kind.name().to_string(),
        batches: vec![1],
        backend,
        precision: ctx.precision,
        kernels: KernelMode::Tuned,
        train: false,
        protocol: protocol.clone(),
        seed: ctx.seed,
    };
    let exe = std::env::current_exe().context("cannot locate the kas executable")?;
    let worker = || {
        let mut c = Command::new(&exe);
        c.args(["internal", "time-model"]);
        c
    };
    let idle_s = 600.0 + protocol.budget_s + (protocol.warmup + 3) as f64 * protocol.run_timeout_s;
    // A worker that fails (a kernel that does not compile, a crash) is a result of the
    // experiment, journaled as such; a rerun does not time it again.
    let r = match run_model_isolated(&req, &worker, idle_s, &mut |_| {}) {
        Ok(r) => r,
        Err(e) => {
            return Ok(Timed {
                original: None,
                kas: None,
                failure: Some(kas_campaign::first_line(&e.to_string())),
                device: String::new(),
            });
        }
    };
    let row = r.rows.first();
    Ok(Timed {
        original: row
            .and_then(|r| r.original.as_ref())
            .map(|m| m.stats.median),
        kas: row.and_then(|r| r.kas.as_ref()).map(|m| m.stats.median),
        failure: row.map_or(Some("no row".into()), |r| r.failure.clone()),
        device: r.fingerprint.summary(),
    })
}

/// Runs the experiment.
pub fn run(ctx: &Context, journal: &mut Journal) -> anyhow::Result<Outcome> {
    let paper = PaperFigures::parse(PAPER, "syno-e2e")?;
    if ctx.quick && ctx.precision != Precision::F32 {
        bail!(
            "--quick times on the CPU, at f32 only (not --precision {})",
            ctx.precision
        );
    }
    let precision = match ctx.precision {
        Precision::F32 => "f32 (TF32 off)",
        p => p.label(),
    };
    let (backend, models, protocol, label) = if ctx.quick {
        let protocol = Protocol {
            warmup: 1,
            min_repeats: 3,
            budget_s: 0.5,
            flush: false,
            ..Protocol::default()
        }
        .with_repeats(3);
        (
            Backend::Cpu,
            vec![ModelKind::ResNet18],
            protocol,
            "CPU: the tch plan in the slots against libtorch's model, batch 1, f32, 3 repeats"
                .to_string(),
        )
    } else {
        if !ctx.render_only && !kas_eval::gpu::present() {
            bail!(
                "no CUDA GPU: syno-e2e times whole models on one (--quick times ResNet-18 on the CPU)"
            );
        }
        if !ctx.render_only {
            kas_eval::precision::check_allowed(ctx.precision)?;
        }
        (
            Backend::Cuda,
            super::host_baselines::MODELS.to_vec(),
            Protocol::default(),
            format!(
                "GPU: kas's tuned CUDA kernels in the slots against cuDNN, CUDA graphs, batch 1, {precision}"
            ),
        )
    };
    let mut candidates = shipped(&paper)?;
    if let Some(dir) = &ctx.campaign {
        candidates.extend(from_campaign(dir)?);
    }
    let mut rows = Vec::new();
    let mut devices: Vec<String> = Vec::new();
    let mut details = vec![
        format!("{label}.\n"),
        "| model | operator | eligible because | MACs / original | original [ms] | kas [ms] | speedup | note |"
            .into(),
        "|---|---|---|---|---|---|---|---|".into(),
    ];
    let mut best_all = Vec::new();
    let mut best_faster_all = Vec::new();
    let mut same_compiler_why = Vec::new();
    for &kind in &models {
        let mut best: Option<Best> = None;
        let counted = ModelMacs::new(kind.default_config())?;
        let original_macs = counted.with(None)?;
        for c in &candidates {
            if let Err(e) = check_fit(kind.name(), &c.op) {
                let why = kas_campaign::first_line(&e.to_string()).replace('|', "/");
                details.push(format!(
                    "| {kind} | {} | {} | - | - | - | - | does not fit: {why} |",
                    c.name, c.why
                ));
                continue;
            }
            let key = ctx.key(&format!("{}-{}", kind.name(), c.name));
            let Some(t) =
                journal.measure_in_time(&key, || time(kind, c, backend, &protocol, ctx))?
            else {
                continue;
            };
            if !t.device.is_empty() && !devices.contains(&t.device) {
                devices.push(t.device.clone());
            }
            let s = t.speedup();
            // Counted, not timed: the layers outside the slots plus the operator's plan.
            let macs = counted.with(Some(&c.op))? / original_macs;
            details.push(detail_row(kind, c, macs, &t));
            if let Some(speedup) = s
                && best.is_none_or(|b| speedup > b.speedup)
            {
                best = Some(Best {
                    speedup,
                    name: c.name.as_str(),
                    macs,
                    kas: t.kas,
                });
            }
        }
        if let Some(b) = best {
            best_all.push(b.speedup);
        }
        // The same compiler's original: kas's own kernels for the original layers.
        let mine = match kas_original(kind, &counted)? {
            None => None,
            Some(c) => {
                let key = ctx.key(&format!("{}-{}", kind.name(), c.name));
                let t =
                    journal.measure_in_time(&key, || time(kind, &c, backend, &protocol, ctx))?;
                if let Some(t) = &t {
                    details.push(detail_row(kind, &c, 1.0, t));
                }
                t.and_then(|t| Some((c.name, t.speedup()?, t.kas?)))
            }
        };
        let against_faster = (best.zip(mine.as_ref()))
            .map(|(b, (_, m, _))| same_compiler::against_faster(b.speedup, *m));
        if let (Some(b), Some((original, m, mk))) = (best, &mine)
            && let Some(k) = b.kas
        {
            same_compiler_why.push(format!(
                "- {kind}: {} has {:.2}x the original's MACs and takes {:.2}x the time of kas's \
                 kernels for the original layers ({original}), which run {m:.2}x as fast as \
                 cuDNN's model.",
                b.name,
                b.macs,
                k / mk
            ));
        }
        if let Some(s) = against_faster {
            best_faster_all.push(s);
        }
        rows.push(Row {
            label: format!("{kind} speedup, batch 1"),
            unit: "x".into(),
            kas: best.map(|b| b.speedup),
            paper: Some(paper.get(kind.name())?.clone()),
            note: best.map_or("no eligible operator timed".into(), |b| {
                format!(
                    "kas: {}, {:.2}x the original's MACs; paper: its own pick, A100, TVM",
                    b.name, b.macs
                )
            }),
        });
        rows.push(Row {
            label: format!("{kind} speedup vs the faster original, batch 1"),
            unit: "x".into(),
            kas: against_faster,
            paper: Some(paper.get(kind.name())?.clone()),
            note: match (&mine, best) {
                (Some((name, m, _)), Some(_)) => format!(
                    "kas: the same operator against the faster of cuDNN's model and kas's own kernels for its layers ({name}: {m:.2}x cuDNN's speed); paper: against TVM's, the same compiler's"
                ),
                (None, _) => "kas's own kernels for the original layers not timed".into(),
                (Some(_), None) => "no eligible operator timed".into(),
            },
        });
    }
    // Every precision's timings journaled in this --out, for the paragraph on precisions.
    let mut by_precision: Vec<(Precision, Vec<(String, Timed)>)> = Vec::new();
    for p in [Precision::F32, Precision::Tf32, Precision::Bf16] {
        let mut timed = Vec::new();
        for kind in &models {
            for c in &candidates {
                let base = format!("{}-{}", kind.name(), c.name);
                if let Some(t) = journal.peek::<Timed>(&precision_key(p, &base))? {
                    timed.push((base, t));
                }
            }
        }
        by_precision.push((p, timed));
    }
    details.extend(precision_gains(&by_precision));
    if !same_compiler_why.is_empty() {
        details.push(
            "\nWhy the speedups against the faster original are smaller (the timings above): \
             where kas's kernels for the original layers beat cuDNN's model, the operator is \
             compared with them, and at batch 1 the model's time follows its MACs only loosely."
                .into(),
        );
        details.extend(same_compiler_why);
    }
    for (label, speedups) in [
        ("geomean speedup vs paper's", &best_all),
        (
            "geomean speedup vs the faster original, beside paper's",
            &best_faster_all,
        ),
    ] {
        for (key, compiler) in [
            ("geomean-tvm", "TVM"),
            ("geomean-inductor", "TorchInductor"),
        ] {
            rows.push(Row {
                label: format!("{label} {compiler}"),
                unit: "x".into(),
                kas: geomean(speedups),
                paper: Some(paper.get(key)?.clone()),
                note: format!(
                    "kas: over the {} of {} model(s) with an eligible operator timed",
                    speedups.len(),
                    models.len()
                ),
            });
        }
    }
    Ok(Outcome {
        title: match ctx.precision {
            Precision::F32 => "Syno Fig. 5: whole-model speedup at batch 1".into(),
            p => format!("Syno Fig. 5: whole-model speedup at batch 1, {}", p.label()),
        },
        rows,
        seeds: vec![ctx.seed],
        devices,
        details,
        pending: Vec::new(),
        measured: Measured::default(),
    })
}

/// Why the speedups change with the precision, from the timings journaled at each: for every
/// precision other than f32, over the model–operator pairs timed at both, how much faster than
/// at f32 the original models and kas's run (geomean), and the geomean speedup at both.
fn precision_gains(by_precision: &[(Precision, Vec<(String, Timed)>)]) -> Vec<String> {
    let Some((_, at_f32)) = by_precision.iter().find(|(p, _)| *p == Precision::F32) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (p, timed) in by_precision.iter().filter(|(p, _)| *p != Precision::F32) {
        let (mut original, mut kas, mut before, mut after) = (vec![], vec![], vec![], vec![]);
        for (key, t) in timed {
            let Some((_, f)) = at_f32.iter().find(|(k, _)| k == key) else {
                continue;
            };
            if let (Some(s0), Some(s1), Some(o0), Some(o1), Some(k0), Some(k1)) = (
                f.speedup(),
                t.speedup(),
                f.original,
                t.original,
                f.kas,
                t.kas,
            ) {
                original.push(o0 / o1);
                kas.push(k0 / k1);
                before.push(s0);
                after.push(s1);
            }
        }
        if let (Some(o), Some(k), Some(b), Some(a)) = (
            geomean(&original),
            geomean(&kas),
            geomean(&before),
            geomean(&after),
        ) {
            out.push(format!(
                "- at {p} ({} model-operator pairs timed at both): the original models run \
                 {o:.2}x as fast as at f32, kas's {k:.2}x (geomean), so the speedups change by \
                 {:.2}x: geomean speedup over these pairs {b:.2}x at f32, {a:.2}x at {p}.",
                original.len(),
                k / o
            ));
        }
    }
    if !out.is_empty() {
        out.insert(
            0,
            "\nWhy the speedups change with the precision (the timings journaled at each \
             precision in this --out): at f32 neither side uses tensor cores (TF32 off); at \
             TF32 and bf16 cuDNN's convolutions do, against kas's tuned kernels at that \
             precision."
                .into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(original: f64, kas: f64) -> Timed {
        Timed {
            original: Some(original),
            kas: Some(kas),
            failure: None,
            device: String::new(),
        }
    }

    #[test]
    fn precision_gains_compare_the_pairs_timed_at_both() {
        let f32 = vec![
            ("a".to_string(), timed(4.0, 1.0)),
            ("b".to_string(), timed(8.0, 2.0)),
            ("c".to_string(), timed(8.0, 2.0)),
        ];
        // `c` is not timed at bf16; `b` failed there.
        let mut failed = timed(2.0, 1.0);
        failed.failure = Some("err".into());
        let bf16 = vec![
            ("a".to_string(), timed(1.0, 1.0)),
            ("b".to_string(), failed),
        ];
        let lines = precision_gains(&[
            (Precision::F32, f32.clone()),
            (Precision::Tf32, Vec::new()),
            (Precision::Bf16, bf16),
        ]);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[1].starts_with("- at bf16 (1 model-operator pairs"),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].contains("original models run 4.00x"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("kas's 1.00x"), "{}", lines[1]);
        assert!(lines[1].contains("change by 0.25x"), "{}", lines[1]);
        assert!(
            lines[1].contains("4.00x at f32, 1.00x at bf16"),
            "{}",
            lines[1]
        );
        // Nothing at f32, or nothing else: no paragraph.
        assert!(precision_gains(&[(Precision::F32, f32)]).is_empty());
        assert!(precision_gains(&[(Precision::Tf32, Vec::new())]).is_empty());
    }
}
