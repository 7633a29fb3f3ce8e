//! `kas bench OP --model M`: a whole host model with the operator in every slot against the
//! original model, side by side in one worker process (`kas internal time-model`), at batch 1
//! and the training batch (or `--batch`); a table of model times, the slots' share of them and
//! the end-to-end speedup, and `model-bench.json`. With `--train`, training steps.

use crate::Verdict;
use crate::bench::{backend, ms};
use crate::cli::{BaselineArg, BenchArgs, LayoutArg};
use crate::runs::out_dir;
use crate::table::table;
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use kas_eval::models::ModelKind;
use kas_eval::timing::{Backend, Protocol};
use kas_eval::whole::{
    ModelEvent, ModelRequest, ModelResult, ModelRow, check_fit, run_model_isolated, training_batch,
};
use kas_primitives::{Operator, write_operator};
use serde_json::json;
use std::process::Command;

/// Runs `kas bench OP --model M`.
pub fn run(a: &BenchArgs, model: &str, name: &str, op: &Operator) -> anyhow::Result<Verdict> {
    let precision = a.precision.precision();
    let kind: ModelKind = model.parse()?;
    let (kind, slots) = check_fit(kind.name(), op)
        .with_context(|| format!("`{name}` cannot fill the slots of `{kind}`"))?;
    if a.layout != LayoutArg::Nchw {
        bail!(
            "--layout nhwc does not apply to --model: whole models run in NCHW order on both sides"
        );
    }
    if a.baseline != BaselineArg::Auto {
        bail!("--baseline does not apply to --model: the original model is the baseline");
    }
    if a.inject.is_some() {
        bail!("--inject does not apply to --model");
    }
    let backend = backend(a.device, precision)?;
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if a.repeats == 0 || !positive(a.budget) || !positive(a.run_timeout) {
        bail!("--repeats, --budget and --run-timeout must be positive");
    }
    let batches: Vec<i64> = match a.batch {
        Some(0) => bail!("the batch must be at least 1"),
        Some(b) => vec![i64::try_from(b).context("the batch is too large")?],
        None => {
            let train = training_batch(kind);
            if train == 1 { vec![1] } else { vec![1, train] }
        }
    };
    let protocol = Protocol {
        budget_s: a.budget,
        run_timeout_s: a.run_timeout,
        ..Protocol::default()
    }
    .with_repeats(a.repeats);
    let req = ModelRequest {
        name: name.to_string(),
        operator: write_operator(name, "timed by kas bench --model", op)?,
        model: kind.name().to_string(),
        batches,
        backend,
        precision,
        kernels: a.kernels,
        train: a.train,
        protocol,
        seed: a.seed,
    };
    let exe = std::env::current_exe().context("cannot locate the kas executable")?;
    let worker = || {
        let mut c = Command::new(&exe);
        c.args(["internal", "time-model"]);
        c
    };
    // The longest a worker may stay silent: one slot's tuning, or one measurement.
    let p = &req.protocol;
    let idle_s = 600.0 + p.budget_s + (p.warmup + 3) as f64 * p.run_timeout_s;
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{prefix} {spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(format!("bench --model {kind}"));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let result = run_model_isolated(&req, &worker, idle_s, &mut |e| {
        if let ModelEvent::Progress { message } = e {
            bar.set_message(message.clone());
        }
    });
    bar.finish_and_clear();
    let result = result?;
    let out = out_dir(a.out.as_deref(), "bench")?;
    let report = json!({
        "operator": name,
        "model": kind.name(),
        "slots": slots,
        "what": if a.train { "training step" } else { "forward pass" },
        "device": match backend { Backend::Cuda => "cuda", Backend::Cpu => "cpu" },
        "device_key": result.fingerprint.device_key(),
        "precision": precision,
        "kernels": a.kernels,
        "protocol": req.protocol,
        "result": result,
        "summary": result.rows.iter().map(|r| json!({
            "batch": r.batch,
            "original_s": r.original.as_ref().map(|m| m.stats.median),
            "kas_s": r.kas.as_ref().map(|m| m.stats.median),
            "rest_s": r.rest.as_ref().map(|m| m.stats.median),
            "slot_share": r.slot_share(),
            "kas_slot_share": r.kas_slot_share(),
            "speedup": r.speedup(),
            "failure": r.failure,
        })).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&report)?;
    let path = out.join("model-bench.json");
    std::fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    if a.json {
        println!("{text}");
    } else {
        print_text(name, kind.name(), slots, a, backend, &result);
        println!("report in {}", path.display());
    }
    Ok(if result.rows.iter().all(|r| r.failure.is_none()) {
        Verdict::Success
    } else {
        Verdict::Failure
    })
}

fn print_text(
    name: &str,
    model: &str,
    slots: usize,
    a: &BenchArgs,
    backend: Backend,
    r: &ModelResult,
) {
    let p = a.precision.precision();
    let what = if a.train {
        "training step (forward, loss, backward, optimiser update)"
    } else {
        "forward pass"
    };
    let sides = match (backend, a.train) {
        (Backend::Cuda, false) => format!(
            "kas's CUDA kernels ({}) in the {slots} slots vs the original model (cuDNN / cuBLAS at {p})",
            a.kernels.label()
        ),
        (Backend::Cuda, true) => format!(
            "the tch plan in the {slots} slots vs the original model (cuDNN / cuBLAS), at {p}"
        ),
        (Backend::Cpu, _) => {
            format!("the tch plan in the {slots} slots vs the original model, libtorch on the CPU")
        }
    };
    println!("kas bench {name} --model {model}: {what}, {p}; {sides}");
    let dash = || "-".to_string();
    let median = |m: &Option<kas_eval::timing::Measurement>| {
        m.as_ref().map_or_else(dash, |m| ms(m.stats.median))
    };
    let iqr = |m: &Option<kas_eval::timing::Measurement>| {
        m.as_ref().map_or_else(dash, |m| ms(m.stats.iqr))
    };
    let pct = |x: Option<f64>| x.map_or_else(dash, |x| format!("{:.1}", x * 100.0));
    let status = |row: &ModelRow| match &row.failure {
        Some(f) => format!("FAILED: {f}"),
        None => "ok".into(),
    };
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            let mut v = vec![
                row.batch.to_string(),
                median(&row.original),
                iqr(&row.original),
                median(&row.kas),
                iqr(&row.kas),
            ];
            if !a.train {
                v.extend([
                    median(&row.rest),
                    pct(row.slot_share()),
                    pct(row.kas_slot_share()),
                ]);
            }
            v.push(row.speedup().map_or_else(dash, |x| format!("{x:.3}x")));
            v.push(status(row));
            v
        })
        .collect();
    let mut header = vec![
        "batch",
        "original [ms]",
        "IQR [ms]",
        "kas [ms]",
        "kas IQR [ms]",
    ];
    if !a.train {
        header.extend(["rest [ms]", "slots [%]", "kas slots [%]"]);
    }
    header.extend(["speedup", "status"]);
    println!("{}", table(&header, rows));
    if !a.train {
        println!(
            "rest: the original model with its slots doing no work; slots [%]: the slots' share of the original's time, 1 − rest / original; kas slots [%]: 1 − rest / kas"
        );
    }
    for row in &r.rows {
        println!("batch {}: {}", row.batch, row.execution);
        if let Some(v) = &row.validation {
            let graph = v
                .graph_err
                .map_or_else(String::new, |e| format!(", CUDA graph replay err {e:.1e}"));
            println!(
                "  checked against the tch plan: worst slot {} err {:.1e} (≤ {:.0e}), model output err {:.1e} (≤ {:.0e}){graph}",
                v.worst_slot, v.slot_err, v.slot_tolerance, v.model_err, v.model_tolerance
            );
        }
        if let Some(c) = row.compile_s {
            println!("  kernels ({c:.1} s to generate, tune and compile):");
        }
        for k in &row.kernels {
            println!("    {k}");
        }
    }
    println!("device: {}", r.fingerprint.summary());
}
