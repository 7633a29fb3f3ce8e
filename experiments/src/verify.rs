//! `kas verify`: every backend against the reference interpreter, on the library and random
//! operators at small bindings.

use crate::Verdict;
use crate::cli::{Device, VerifyArgs};
use crate::runs::out_dir;
use crate::verify_grad::{GradContext, GradTally, verify_gradients};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use kas_codegen::Precision;
use kas_codegen::StageIr;
use kas_codegen::cuda::{generate_precise, precise_schedule, varied_precise_schedule};
use kas_codegen::schedule::Schedule;
use kas_codegen::stage_eval::{run_stages, run_stages_stored};
use kas_eval::tch_plan::{cuda_available, run_f32};
use kas_eval::tune::tuner::frobenius_err;
use kas_eval::{gpu::Gpu, nvrtc};
use kas_primitives::format::read_text;
use kas_primitives::interp::{interpret, random_inputs};
use kas_primitives::random::{RandomConfig, random_operator};
use kas_primitives::{Operator, Spec, Tensor, library, write_operator};
use serde_json::{Value, json};

/// Tolerance of the f64 stage evaluation against the f64 interpreter.
const STAGE_TOL: f64 = 1e-9;
/// Tolerance of f32 backends against the f64 interpreter (`docs/ARCHITECTURE.md`, "Tolerance").
const F32_TOL: f64 = 1e-4;

/// Runs `kas verify`.
pub fn run(a: VerifyArgs) -> anyhow::Result<Verdict> {
    // Every argument is checked before anything runs: the spec is read even when the library
    // alone fills the count.
    if a.samples == 0 {
        anyhow::bail!("--samples must be at least 1");
    }
    let spec = a
        .spec
        .as_deref()
        .map(|path| -> anyhow::Result<_> {
            let shown = path.display().to_string();
            let spec = Spec::read(&read_text(path)?, &shown)?;
            let name = spec.name.clone();
            Ok((shown, name, kas_synth::Config::new(spec)?))
        })
        .transpose()?;
    // f32 means f32 (docs/ARCHITECTURE.md, "Precision"); before CUDA starts. Verification
    // compares with f64 and never needs TF32 in libtorch: TF32 is tensor-core kernels only.
    kas_eval::precision::f32_means_f32();
    let precision = a.precision.precision();
    let gpu = match a.device {
        Device::Cuda => {
            let g = Gpu::open(0)?;
            if !cuda_available() {
                anyhow::bail!(
                    "libtorch sees no CUDA device although the driver does: this kas was built without TORCH_RPATH (see docs/ARCHITECTURE.md, Building for a GPU)"
                );
            }
            Some(g)
        }
        Device::Cpu => {
            nvrtc::available()?;
            None
        }
    };
    // Up to `samples` operators: the library's first, then sampled or random ones.
    let mut ops: Vec<(String, Operator)> = Vec::new();
    for e in library::entries().iter().take(a.samples) {
        ops.push((
            e.name.to_string(),
            (e.build)().with_context(|| format!("building `{}`", e.name))?,
        ));
    }
    let library_count = ops.len();
    let source = match spec {
        Some((shown, name, config)) => {
            let need = a.samples - ops.len();
            ops.extend(sampled(&name, config, need, a.seed)?);
            format!("sampled from {shown}")
        }
        None => {
            let cfg = RandomConfig::default();
            let mut i = 0u64;
            while ops.len() < a.samples {
                let seed = a.seed.wrapping_mul(1_000_003).wrapping_add(i);
                ops.push((format!("random-{seed}"), random_operator(seed, &cfg)));
                i += 1;
            }
            "random builder programs".to_string()
        }
    };
    let out = out_dir(a.out.as_deref(), "verify")?;
    let bar = ProgressBar::new(ops.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix("verify");
    let mut results = Vec::new();
    let mut equal = 0usize;
    let mut checks = 0usize;
    let mut tally = GradTally::default();
    let mut explained: Vec<String> = Vec::new();
    for (name, op) in &ops {
        bar.set_message(name.clone());
        let mut by_model = 0;
        let mut outcome = verify_one(
            name,
            op,
            gpu.as_ref(),
            precision,
            a.seed,
            &mut checks,
            &mut by_model,
        );
        let grads = if a.grad {
            let cx = GradContext {
                gpu: gpu.as_ref(),
                precision,
                seed: a.seed,
                out: &out,
            };
            let g = verify_gradients(name, op, &cx, &mut checks, &mut tally, &mut by_model)?;
            if outcome.is_ok()
                && let Some(why) = g.failure
            {
                outcome = Err(why);
            }
            Some(g.records)
        } else {
            None
        };
        let ok = outcome.is_ok();
        equal += ok as usize;
        if by_model > 0 {
            explained.push(name.clone());
        }
        if let Err(reason) = &outcome {
            let path = out.join(format!("{name}.ron"));
            let text = write_operator(name, reason, op)?;
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            bar.println(format!(
                "MISMATCH {name}: {reason} (saved {})",
                path.display()
            ));
        }
        let mut record = json!({
            "operator": name,
            "equal": ok,
            "reason": outcome.err(),
            "storage_model": by_model > 0,
        });
        if let Some(grads) = grads {
            record["gradients"] = Value::Array(grads);
        }
        results.push(record);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let kernels = match precision {
        Precision::F32 => "CUDA kernels (reference, heuristic tiled, varied tiled)".to_string(),
        p => format!(
            "CUDA kernels at {p} (direct, heuristic tensor-core, varied tensor-core; relative Frobenius error ≤ {:.0e})",
            p.tolerance()
        ),
    };
    let backends = match &gpu {
        Some(g) => format!(
            "stage IR (f64), tch plan on CUDA (f32), {kernels} on {} (sm_{}{}, {precision})",
            g.name, g.sm.0, g.sm.1
        ),
        None => format!(
            "stage IR (f64), tch plan on the CPU (f32), {kernels} compiled by NVRTC to PTX and sm_90 CUBIN"
        ),
    };
    let mut line = format!("{equal}/{} equal", ops.len());
    if !explained.is_empty() {
        line += &format!(
            " ({} of them only against the {precision} storage model, their output cancelling after a rounded value: {})",
            explained.len(),
            explained.join(", ")
        );
    }
    let mut report = json!({
        "device": match a.device { Device::Cuda => "cuda", Device::Cpu => "cpu" },
        "seed": a.seed,
        "source": source,
        "backends": backends,
        "checks": checks,
        "nvidia_tf32_override": kas_eval::precision::tf32_override().unwrap_or_default(),
        "precision": precision,
        "results": results,
        "summary": line,
    });
    if a.grad {
        report["gradients"] = json!({
            "checked": tally.checked,
            "equal": tally.equal,
            "without_operator": tally.missing,
            "summary": tally.line(),
        });
    }
    let summary = format!(
        "{} operators ({library_count} from the library, {} {source}), {checks} operator-binding checks; report in {}",
        ops.len(),
        ops.len() - library_count,
        out.display()
    );
    let mut text = vec![format!("backends: {backends}"), summary];
    if a.grad {
        text.push(tally.line());
    }
    text.push(line);
    finish(&out, &report, a.json, &text, equal == ops.len())
}

/// Writes `report` as `verify.json` in `out` and prints it (as JSON with `json`, else the
/// `text` lines); success when `all_equal`. Shared by `kas verify` and `kas graph verify`.
pub(crate) fn finish(
    out: &std::path::Path,
    report: &serde_json::Value,
    json: bool,
    text: &[String],
    all_equal: bool,
) -> anyhow::Result<Verdict> {
    std::fs::write(
        out.join("verify.json"),
        serde_json::to_string_pretty(report)?,
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        for l in text {
            println!("{l}");
        }
    }
    Ok(if all_equal {
        Verdict::Success
    } else {
        Verdict::Failure
    })
}

/// Up to `count` distinct operators sampled (deterministically, from `seed`) by guided
/// synthesis from the spec `name` configured as `config`.
fn sampled(
    name: &str,
    config: kas_synth::Config,
    count: usize,
    seed: u64,
) -> anyhow::Result<Vec<(String, Operator)>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let dag = kas_synth::Dag::new(config, kas_synth::Filters::default());
    let opts = kas_synth::RunOptions {
        seed,
        count: Some(count),
        ..kas_synth::RunOptions::default()
    };
    let mut out = Vec::new();
    kas_synth::run(&dag, &opts, |leaf| {
        out.push((format!("{name}-{}", out.len()), leaf.op.clone()));
    })?;
    Ok(out)
}

/// Checks one operator under each of its bindings; `Err` names the first disagreement.
/// `by_model` counts kernel results that missed the f64 reference at TF32 or bf16 but equal
/// the precision's storage model (`kas_codegen::stage_eval::run_stages_stored`).
pub(crate) fn verify_one(
    name: &str,
    op: &Operator,
    gpu: Option<&Gpu>,
    precision: Precision,
    seed: u64,
    checks: &mut usize,
    by_model: &mut usize,
) -> Result<(), String> {
    let ir = StageIr::lower(op).map_err(|e| format!("lowering: {e}"))?;
    for (i, b) in op.bindings.iter().enumerate() {
        *checks += 1;
        let xs = random_inputs(op, b, seed.wrapping_add(31 * i as u64), false)
            .map_err(|e| e.to_string())?;
        // The reference sees the same f32-rounded inputs the kernels see.
        let xs: Vec<Tensor> = xs
            .into_iter()
            .map(|t| Tensor {
                data: t.data.iter().map(|&v| v as f32 as f64).collect(),
                shape: t.shape,
            })
            .collect();
        let want = interpret(op, b, &xs).map_err(|e| format!("interpreter: {e}"))?;
        let staged = run_stages(&ir, b, &xs).map_err(|e| format!("stage IR: {e}"))?;
        let err = staged.rel_err(&want);
        if err.is_nan() || err > STAGE_TOL {
            return Err(format!("stage IR under `{}`: err {err:.2e}", b.name));
        }
        let dev = if gpu.is_some() {
            tch::Device::Cuda(0)
        } else {
            tch::Device::Cpu
        };
        let planned = run_f32(op, b, &xs, dev).map_err(|e| e.to_string())?;
        let err = planned.rel_err(&want);
        if err.is_nan() || err > F32_TOL {
            return Err(format!("tch plan under `{}`: err {err:.2e}", b.name));
        }
        // The reference kernels, the heuristic schedule and a varied one, at the precision
        // (tensor-core tiles at TF32 and bf16), on inputs rounded to its storage.
        let gen_err = |e: kas_codegen::Error| format!("CUDA generation: {e}");
        let schedules = [
            Schedule::direct(ir.stages.len()),
            precise_schedule(&ir, b, precision).map_err(gen_err)?,
            varied_precise_schedule(&ir, b, precision, seed.wrapping_add(i as u64))
                .map_err(gen_err)?,
        ];
        let (xs, want) = if precision == Precision::Bf16 {
            let xs: Vec<Tensor> = xs
                .into_iter()
                .map(|t| Tensor {
                    data: t
                        .data
                        .iter()
                        .map(|&v| precision.round(v as f32) as f64)
                        .collect(),
                    shape: t.shape,
                })
                .collect();
            let want = interpret(op, b, &xs).map_err(|e| format!("interpreter: {e}"))?;
            (xs, want)
        } else {
            (xs, want)
        };
        for sched in &schedules {
            let prog = generate_precise(&ir, b, "kas", sched, precision).map_err(gen_err)?;
            match gpu {
                None => {
                    nvrtc::compile(name, &prog.source, true).map_err(|e| e.to_string())?;
                }
                Some(g) => {
                    let got = g.run(name, &prog, &xs).map_err(|e| e.to_string())?;
                    let (err, tol) = match precision {
                        Precision::F32 => (got.rel_err(&want), F32_TOL),
                        p => (frobenius_err(&got.data, &want.data), p.tolerance()),
                    };
                    if err.is_nan() || err > tol {
                        // At TF32 and bf16, a miss the precision itself explains (the output
                        // cancels after a rounded value) passes against the storage model.
                        let model_err = match precision {
                            Precision::F32 => None,
                            p => run_stages_stored(&ir, b, &xs, sched, p)
                                .ok()
                                .map(|m| frobenius_err(&got.data, &m.data)),
                        };
                        match model_err {
                            Some(e) if e <= tol => *by_model += 1,
                            _ => {
                                let model = model_err
                                    .map(|e| {
                                        format!(", {e:.2e} against the {precision} storage model")
                                    })
                                    .unwrap_or_default();
                                return Err(format!(
                                    "CUDA ({}) under `{}`: err {err:.2e}{model}",
                                    sched.label(),
                                    b.name
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
