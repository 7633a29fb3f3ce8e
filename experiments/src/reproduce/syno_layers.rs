//! `syno-layers` (Syno Fig. 9): Syno's Operators 1 and 2 (`syno-op1`, `syno-op2`) against the
//! 3×3 convolution on ResNet-34's 7 spatial layer shapes (binding set `resnet34-layers`, batch
//! 1), timed by `kas bench`'s machinery (worker processes, the same protocol on both sides): on
//! the GPU kas's CUDA kernels against cuDNN at f32, TF32 and bf16, and against the faster of
//! cuDNN's conv and kas's own (`conv2d` through the same kernels: the same compiler's conv, as
//! the paper's TVM conv is); with `--quick` the tch plan against libtorch's CPU convolution on
//! three shapes at a quarter of the spatial side.

use super::journal::Journal;
use super::outcome::{Measured, Outcome, Row};
use super::paper::PaperFigures;
use super::{Context, same_compiler};
use anyhow::{Context as _, bail};
use kas_codegen::Precision;
use kas_eval::bench::{BenchSummary, sets};
use kas_eval::timing::{
    Backend, Baseline, Protocol, TimingRequest, WorkerLimits, geomean, run_isolated,
};
use kas_primitives::write_operator;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::process::Command;

/// One line on what it reproduces.
pub const WHAT: &str = "Syno Fig. 9: Operators 1 and 2 vs the conv on ResNet-34's 7 spatial layers";

/// The paper's figures.
const PAPER: &str = include_str!("../../reproduce/paper/syno-layers.ron");

/// The operators compared, by library name.
const OPERATORS: [(&str, &str); 2] = [("syno-op1", "Operator 1"), ("syno-op2", "Operator 2")];

/// kas's own convolution (the library's `conv2d` through the same kernels and tuning as the
/// operators), timed on the same shapes: the same compiler's conv, as Syno's figures are
/// against TVM's. Each operator's speedup is also given against the faster of cuDNN's conv
/// and this one, shape by shape.
const KAS_CONV: (&str, &str) = ("conv2d", "kas's conv");

/// One shape timed: kas's median and the baseline's (seconds), or why it failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Shape {
    name: String,
    kas: Option<f64>,
    conv: Option<f64>,
    failure: Option<String>,
}

/// One operator timed at one precision.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Timed {
    /// Per shape.
    bindings: Vec<Shape>,
    /// Geometric mean of the speedups.
    geomean: Option<f64>,
    /// The device fingerprint line.
    device: String,
}

/// What to time: precisions, bindings and the protocol.
struct Plan {
    backend: Backend,
    precisions: Vec<Precision>,
    slots: Vec<sets::SlotBinding>,
    protocol: Protocol,
    /// Check kas's result against the reference interpreter before timing (off for `--quick`:
    /// the interpreter takes half a minute on these shapes in a debug build).
    validate: bool,
    label: &'static str,
}

fn plan(ctx: &Context) -> anyhow::Result<Plan> {
    let all = sets::named("resnet34-layers", 1)?;
    if ctx.quick {
        // Three shapes (one per channel count from 64 to 256) at a quarter of the side.
        let slots = [0usize, 2, 4]
            .iter()
            .map(|&i| {
                let mut s = all[i].clone();
                let h = (s.values["H"] / 4).max(1);
                s.values.insert("H".into(), h);
                s.values.insert("W".into(), h);
                s.input[2..].fill(h as usize);
                s.output[2..].fill(h as usize);
                s.name = format!("{}/4", s.name);
                s
            })
            .collect();
        let protocol = Protocol {
            warmup: 1,
            min_repeats: 3,
            budget_s: 0.3,
            flush: false,
            ..Protocol::default()
        }
        .with_repeats(5);
        return Ok(Plan {
            backend: Backend::Cpu,
            precisions: vec![Precision::F32],
            slots,
            protocol,
            validate: false,
            label: "CPU: kas's tch plan vs libtorch's conv, 3 of the shapes at H/4, batch 1, not validated against the interpreter",
        });
    }
    if !ctx.render_only && !kas_eval::gpu::present() {
        bail!(
            "no CUDA GPU: syno-layers times kas's kernels against cuDNN on one (--quick times a small version on the CPU)"
        );
    }
    Ok(Plan {
        backend: Backend::Cuda,
        precisions: vec![Precision::F32, Precision::Tf32, Precision::Bf16],
        slots: all,
        protocol: Protocol::default(),
        validate: true,
        label: "GPU: kas's tuned CUDA kernels vs cuDNN's conv, the 7 shapes, batch 1",
    })
}

fn time(p: &Plan, op_name: &str, precision: Precision, seed: u64) -> anyhow::Result<Timed> {
    let (name, op) = crate::export::load(op_name)?;
    let bindings = sets::map_onto(&op, &p.slots)?;
    let mut req = TimingRequest::new(
        &name,
        write_operator(&name, "timed by kas reproduce syno-layers", &op)?,
        sets::named_bindings(&op, &bindings),
        p.backend,
    );
    req.protocol = p.protocol.clone();
    req.baseline = Some(Baseline::Conv3x3);
    req.set_precision(precision);
    req.seed = seed;
    req.validate = p.validate;
    let exe = std::env::current_exe().context("cannot locate the kas executable")?;
    // The precision rule (`kas_eval::precision::precision_rule`) for the workers only: this
    // process times several precisions one after the other, so its environment stays as is.
    let tf32_off = precision != Precision::Tf32 && kas_eval::precision::tf32_override().is_none();
    let worker = || {
        let mut c = Command::new(&exe);
        c.args(["internal", "time-candidate"]);
        if tf32_off {
            c.env(kas_eval::precision::TF32_OVERRIDE, "0");
        }
        c
    };
    let r = run_isolated(&req, &worker, WorkerLimits::of(&req), &mut |_, b| {
        eprintln!("{op_name} {precision} {}: done", b.binding);
    })?;
    let summary = BenchSummary::of(&r);
    Ok(Timed {
        bindings: (r.bindings.iter())
            .map(|b| Shape {
                name: b.binding.clone(),
                kas: b.kas.as_ref().map(|m| m.stats.median),
                conv: b.baseline.as_ref().map(|m| m.stats.median),
                failure: (b.failure.as_ref())
                    .map(|f| kas_campaign::first_line(&f.reason).replace('|', "/")),
            })
            .collect(),
        geomean: summary.geomean_speedup,
        device: r.fingerprint.summary(),
    })
}

/// Runs the experiment.
pub fn run(ctx: &Context, journal: &mut Journal) -> anyhow::Result<Outcome> {
    let paper = PaperFigures::parse(PAPER, "syno-layers")?;
    let p = plan(ctx)?;
    let mut rows = Vec::new();
    let mut devices: Vec<String> = Vec::new();
    let mut details = vec![
        format!("{}.\n", p.label),
        "| operator | precision | shape | kas [ms] | conv [ms] | speedup | failure |".into(),
        "|---|---|---|---|---|---|---|".into(),
    ];
    let mut timed = Vec::new();
    for &precision in &p.precisions {
        let mut kas_conv: Option<Timed> = None;
        for (op, label) in std::iter::once(KAS_CONV).chain(OPERATORS) {
            let key = format!("{op}-{precision}");
            let theirs = if op == KAS_CONV.0 {
                None
            } else {
                Some(paper.get(op)?.clone())
            };
            let Some(t) = journal.measure_in_time(&key, || time(&p, op, precision, ctx.seed))?
            else {
                rows.push(Row {
                    label: format!("{label} geomean speedup, {precision}"),
                    unit: "x".into(),
                    kas: None,
                    paper: theirs,
                    note: "pending: --minutes ran out before it".into(),
                });
                continue;
            };
            if !devices.contains(&t.device) {
                devices.push(t.device.clone());
            }
            for Shape {
                name: shape,
                kas,
                conv: base,
                failure,
            } in &t.bindings
            {
                let ms = |v: &Option<f64>| v.map_or("-".into(), |s| format!("{:.4}", s * 1e3));
                let speedup = match (kas, base) {
                    (Some(k), Some(b)) if *k > 0.0 => format!("{:.3}x", b / k),
                    _ => "-".into(),
                };
                details.push(format!(
                    "| {op} | {precision} | {shape} | {} | {} | {speedup} | {} |",
                    ms(kas),
                    ms(base),
                    failure.as_deref().unwrap_or("")
                ));
            }
            let failed = t.bindings.iter().filter(|b| b.failure.is_some()).count();
            let theirs_note = match theirs {
                Some(_) => "; paper: A100, TVM-tuned conv, its own precision",
                None => "",
            };
            rows.push(Row {
                label: format!("{label} geomean speedup, {precision}"),
                unit: "x".into(),
                kas: t.geomean,
                paper: theirs.clone(),
                note: format!(
                    "{}; baseline {}{}{theirs_note}",
                    if p.backend == Backend::Cuda {
                        "kas's CUDA kernels"
                    } else {
                        "kas's tch plan on the CPU"
                    },
                    match p.backend {
                        Backend::Cuda => Baseline::Conv3x3.runs_as(precision),
                        Backend::Cpu => "libtorch's CPU conv, f32",
                    },
                    if failed > 0 {
                        format!("; {failed} shape(s) failed")
                    } else {
                        String::new()
                    }
                ),
            });
            if op == KAS_CONV.0 {
                kas_conv = Some(t.clone());
            } else {
                rows.push(Row {
                    label: format!("{label} geomean speedup vs the faster conv, {precision}"),
                    unit: "x".into(),
                    kas: kas_conv.as_ref().and_then(|c| against_faster_conv(&t, c)),
                    paper: theirs,
                    note: match &kas_conv {
                        Some(_) => format!(
                            "against the faster of the baseline and {} shape by shape (the same compiler's conv, as the paper's TVM conv; {} through its own run's ratio to the baseline){theirs_note}",
                            KAS_CONV.1, KAS_CONV.1
                        ),
                        None => format!("{} not timed yet", KAS_CONV.1),
                    },
                });
            }
            timed.push((label, precision, t));
        }
    }
    details.extend(precision_gains(&timed));
    details.extend(same_compiler_gains(&timed, &shape_macs(&p)?));
    Ok(Outcome {
        title: "Syno Fig. 9: ResNet-34 spatial layers, speedup over the conv".into(),
        rows,
        seeds: vec![ctx.seed],
        devices,
        details,
        pending: Vec::new(),
        measured: Measured::default(),
    })
}

/// The geometric mean over the shapes of the operator's speedup against the faster of the
/// baseline conv it was timed beside (cuDNN's) and kas's own conv (`conv`, timed as an
/// operator beside the baseline in its own run; [`same_compiler::against_faster`]). None unless
/// some shape has all four figures.
fn against_faster_conv(op: &Timed, conv: &Timed) -> Option<f64> {
    let ratios: Vec<f64> = (op.bindings.iter())
        .filter_map(|x| {
            let y = conv.bindings.iter().find(|y| y.name == x.name)?;
            Some(same_compiler::against_faster(
                x.conv? / x.kas?,
                y.conv? / y.kas?,
            ))
        })
        .filter(|r| *r > 0.0 && r.is_finite())
        .collect();
    geomean(&ratios)
}

/// Geometric mean of `a_i / b_i` over the shapes `pick` gives both figures for.
fn geomean_ratio(a: &Timed, b: &Timed, pick: impl Fn(&Shape) -> Option<f64>) -> Option<f64> {
    let ratios: Vec<f64> = (a.bindings.iter())
        .filter_map(|x| {
            let y = b.bindings.iter().find(|y| y.name == x.name)?;
            Some(pick(x)? / pick(y)?)
        })
        .filter(|r| *r > 0.0 && r.is_finite())
        .collect();
    geomean(&ratios)
}

/// Multiply-accumulates by shape name.
type ShapeMacs = BTreeMap<String, f64>;

/// Each operator's multiply-accumulates per shape (from its plan; kas's conv by its library
/// name), by label.
fn shape_macs(p: &Plan) -> anyhow::Result<BTreeMap<&'static str, ShapeMacs>> {
    (std::iter::once(KAS_CONV).chain(OPERATORS))
        .map(|(op_name, label)| {
            let (_, op) = crate::export::load(op_name)?;
            let bindings = sets::map_onto(&op, &p.slots)?;
            let plan = kas_primitives::Plan::with_bindings(&op, &bindings)?;
            let per_shape = (p.slots.iter().zip(&plan.flops))
                .map(|(s, &f)| (s.name.clone(), f as f64))
                .collect();
            Ok((label, per_shape))
        })
        .collect()
}

/// Why an operator gains less against the faster conv than against cuDNN's, from the timings
/// and the plans: for each operator and precision, its MACs and its kernels' time relative to
/// kas's conv (geomean over the shapes both timed). Time that does not follow the MACs is what
/// the same compiler rule takes back.
fn same_compiler_gains(
    timed: &[(&str, Precision, Timed)],
    macs: &BTreeMap<&str, ShapeMacs>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (label, precision, t) in timed {
        if *label == KAS_CONV.1 {
            continue;
        }
        let Some((_, _, conv)) =
            (timed.iter()).find(|(l, p, _)| *l == KAS_CONV.1 && p == precision)
        else {
            continue;
        };
        let time = geomean_ratio(t, conv, |s| s.kas);
        let ratios: Vec<f64> = (t.bindings.iter())
            .filter(|s| s.kas.is_some())
            .filter_map(|s| {
                let of = |l: &str| macs.get(l)?.get(&s.name).copied();
                Some(of(label)? / of(KAS_CONV.1)?)
            })
            .filter(|r| *r > 0.0 && r.is_finite())
            .collect();
        if let (Some(m), Some(k)) = (geomean(&ratios), time) {
            out.push(format!(
                "- {label} at {precision}: {m:.2}x the conv's MACs; its kernels take {k:.2}x \
                 the time of kas's conv kernels, so against kas's conv it runs {:.2}x as fast.",
                1.0 / k
            ));
        }
    }
    if !out.is_empty() {
        out.insert(
            0,
            "\nWhy the speedups against the faster conv are smaller (measured above, same shapes, \
             geomeans over them): where kas's conv beats the baseline's, the operator is compared \
             with kas's conv, and at batch 1 kas's kernel times follow the MACs only loosely."
                .into(),
        );
    }
    out
}

/// Why the speedups change with the precision, from the timings themselves: for each operator
/// and precision other than f32, how much faster than at f32 the conv and kas's kernels run
/// (geomean over the shapes timed at both).
fn precision_gains(timed: &[(&str, Precision, Timed)]) -> Vec<String> {
    let mut out = Vec::new();
    for (label, precision, t) in timed {
        let Some((_, _, f32)) = timed
            .iter()
            .find(|(l, p, _)| l == label && *p == Precision::F32)
        else {
            continue;
        };
        if *precision == Precision::F32 {
            continue;
        }
        let conv = geomean_ratio(f32, t, |s| s.conv);
        let kas = geomean_ratio(f32, t, |s| s.kas);
        if let (Some(c), Some(k)) = (conv, kas) {
            out.push(format!(
                "- {label} at {precision}: the conv runs {c:.2}x as fast as at f32, kas's kernels \
                 {k:.2}x (geomean over the shapes), so the speedup changes by {:.2}x.",
                k / c
            ));
        }
    }
    if !out.is_empty() {
        out.insert(
            0,
            "\nWhy the speedups change with the precision (measured above, same shapes): the \
             f32 rows use no tensor cores on either side (TF32 off); at TF32 and bf16 the \
             conv does."
                .into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(figures: &[(f64, f64)]) -> Timed {
        Timed {
            bindings: figures
                .iter()
                .enumerate()
                .map(|(i, &(kas, conv))| Shape {
                    name: format!("s{i}"),
                    kas: Some(kas),
                    conv: Some(conv),
                    failure: None,
                })
                .collect(),
            geomean: None,
            device: String::new(),
        }
    }

    #[test]
    fn the_faster_conv_is_chosen_shape_by_shape() {
        // Shape 0: the operator 4x the baseline; kas's conv twice as fast as the baseline in
        // its run -> 2x. Shape 1: 3x; kas's conv half as fast -> the baseline's 3x.
        let op = timed(&[(1.0, 4.0), (1.0, 3.0)]);
        let conv = timed(&[(4.0, 8.0), (6.0, 3.0)]);
        let g = against_faster_conv(&op, &conv).unwrap();
        assert!((g - 6f64.sqrt()).abs() < 1e-12, "{g}");
        let mut untimed = conv.clone();
        untimed.bindings[0].kas = None;
        untimed.bindings[1].kas = None;
        assert_eq!(against_faster_conv(&op, &untimed), None);
    }

    #[test]
    fn precision_gains_compare_each_precision_with_f32() {
        let t = [
            ("Op", Precision::F32, timed(&[(1.0, 4.0), (2.0, 8.0)])),
            ("Op", Precision::Bf16, timed(&[(1.0, 1.0), (1.0, 2.0)])),
        ];
        let lines = precision_gains(&t);
        assert_eq!(lines.len(), 2, "{lines:?}");
        // conv: 4x at both shapes; kas: 1x and 2x, geomean sqrt(2).
        assert!(lines[1].contains("conv runs 4.00x"), "{}", lines[1]);
        assert!(lines[1].contains("kernels 1.41x"), "{}", lines[1]);
        assert!(lines[1].contains("changes by 0.35x"), "{}", lines[1]);
        assert!(precision_gains(&t[1..]).is_empty());
    }

    #[test]
    fn same_compiler_gains_compare_macs_and_time_with_kas_conv() {
        let t = [
            (KAS_CONV.1, Precision::F32, timed(&[(2.0, 4.0), (2.0, 8.0)])),
            ("Op", Precision::F32, timed(&[(1.0, 4.0), (2.0, 8.0)])),
            ("Op", Precision::Bf16, timed(&[(1.0, 1.0), (1.0, 2.0)])),
        ];
        let per = |a: f64, b: f64| ShapeMacs::from([("s0".into(), a), ("s1".into(), b)]);
        let macs = BTreeMap::from([(KAS_CONV.1, per(100.0, 100.0)), ("Op", per(25.0, 100.0))]);
        let lines = same_compiler_gains(&t, &macs);
        // Only f32 has kas's conv; MACs 0.25x and 1x (geomean 0.5), time 0.5x and 1x.
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[1].contains("Op at f32: 0.50x the conv's MACs"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("take 0.71x"), "{}", lines[1]);
        assert!(lines[1].contains("runs 1.41x as fast"), "{}", lines[1]);
        assert!(same_compiler_gains(&t[1..], &macs).is_empty());
    }

    #[test]
    fn the_operators_macs_come_from_their_plans() {
        let p = Plan {
            backend: Backend::Cpu,
            precisions: vec![Precision::F32],
            slots: sets::named("resnet34-layers", 1).unwrap(),
            protocol: Protocol::default(),
            validate: false,
            label: "",
        };
        let macs = shape_macs(&p).unwrap();
        let conv = &macs[KAS_CONV.1];
        // 64-64-56: a 3x3 conv, 64x64 channels on 56x56.
        assert_eq!(conv.len(), 7);
        assert_eq!(conv["64-64-56"], (64 * 64 * 9 * 56 * 56) as f64);
        // Both of Syno's operators cost fewer MACs than the conv over the shapes (Operator 1
        // not at every shape: 64-128-28 is a conv with half the others' MACs).
        for (_, label) in OPERATORS {
            let m = &macs[label];
            let ratios: Vec<f64> = conv.iter().map(|(n, c)| m[n] / c).collect();
            assert!(geomean(&ratios).unwrap() < 0.8, "{label}: {m:?}");
        }
    }
}
