//! `kas bench`: an operator's kernels against the slot's original layer over a binding set,
//! side by side in worker processes; a table per binding, the geometric mean of speedups, the
//! ratio of summed times, the device fingerprint, and `bench.json`.

use crate::Verdict;
use crate::cli::{BaselineArg, BenchArgs, Device, LayoutArg};
use crate::export::load;
use crate::runs::out_dir;
use crate::table::table;
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use kas_eval::bench::{BenchSummary, sets};
use kas_eval::timing::{
    Backend, Baseline, BindingResult, Fault, Inject, Layout, Protocol, TimingRequest, TimingResult,
    WorkerLimits, run_isolated,
};
use kas_primitives::relayout::TensorRef;
use kas_primitives::{Binding, Operator, Spec, write_operator};
use serde_json::json;
use std::process::Command;

/// Refuses a zero `--repeats` and a non-positive `--budget` or `--run-timeout`.
pub(crate) fn check_timing_args(a: &BenchArgs) -> anyhow::Result<()> {
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if a.repeats == 0 || !positive(a.budget) || !positive(a.run_timeout) {
        bail!("--repeats, --budget and --run-timeout must be positive");
    }
    Ok(())
}

/// Sets what `kas bench`'s options say on a timing request: protocol (repeats, budget, run
/// timeout), baseline, precision, seed and kernels.
pub(crate) fn configure(req: &mut TimingRequest, a: &BenchArgs, baseline: Option<Baseline>) {
    req.protocol = Protocol {
        budget_s: a.budget,
        run_timeout_s: a.run_timeout,
        ..Protocol::default()
    }
    .with_repeats(a.repeats);
    req.baseline = baseline;
    req.set_precision(a.precision.precision());
    req.seed = a.seed;
    req.kernels = a.kernels;
}

/// Runs `kas bench`.
pub fn run(a: BenchArgs) -> anyhow::Result<Verdict> {
    let precision = a.precision.precision();
    kas_eval::precision::precision_rule(precision);
    let path = std::path::Path::new(&a.operator);
    if path.is_file() {
        let text = kas_primitives::format::read_text(path)?;
        if crate::show::file_kind(&text, &a.operator)? == kas_graph::format::GRAPH_KIND {
            return crate::bench_graph::run(&a, &a.operator, &text);
        }
    }
    let (name, op) = load(&a.operator)?;
    if let Some(model) = &a.model {
        return crate::bench_model::run(&a, model, &name, &op);
    }
    let backend = backend(a.device, precision)?;
    let (set_label, bindings) = bindings(&a, &op)?;
    if bindings.is_empty() {
        bail!("`{name}` has no binding to time");
    }
    let baseline = baseline(a.baseline, &op, &bindings[0])?;
    let layout = match a.layout {
        LayoutArg::Nchw => Layout::Nchw,
        LayoutArg::Nhwc => Layout::Nhwc,
    };
    // Bindings are mapped onto the operator's own axes; it is timed in the layout's order.
    let op = relayout(&op, layout)?;
    let inject = a.inject.as_deref().map(parse_inject).transpose()?;
    check_timing_args(&a)?;
    let mut req = TimingRequest::new(
        &name,
        write_operator(&name, "timed by kas bench", &op)?,
        sets::named_bindings(&op, &bindings),
        backend,
    );
    configure(&mut req, &a, baseline);
    req.inject = inject;
    req.layout = layout;
    let result = time_in_workers(&req)?;
    let summary = BenchSummary::of(&result);
    let out = out_dir(a.out.as_deref(), "bench")?;
    let report = json!({
        "operator": name,
        "set": set_label,
        "device": match backend { Backend::Cuda => "cuda", Backend::Cpu => "cpu" },
        "device_key": result.fingerprint.device_key(),
        "baseline": baseline.map(|b| b.label()),
        "precision": precision,
        "layout": layout,
        "baseline_runs": baseline.map(|b| b.runs_in(precision, layout == Layout::Nhwc)),
        "protocol": req.protocol,
        "result": result,
        "summary": summary,
    });
    let text = serde_json::to_string_pretty(&report)?;
    let path = out.join("bench.json");
    std::fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    if a.json {
        println!("{text}");
    } else {
        print_text(
            &name, &set_label, backend, baseline, precision, layout, &result, &summary,
        );
        println!("report in {}", path.display());
    }
    Ok(if summary.failed == 0 {
        Verdict::Success
    } else {
        Verdict::Failure
    })
}

/// Times `req` binding by binding in `kas internal time-candidate` worker processes, with a
/// progress bar.
pub(crate) fn time_in_workers(req: &TimingRequest) -> anyhow::Result<TimingResult> {
    let exe = std::env::current_exe().context("cannot locate the kas executable")?;
    let worker = || {
        let mut c = Command::new(&exe);
        c.args(["internal", "time-candidate"]);
        c
    };
    let bar = ProgressBar::new(req.bindings.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix("bench");
    let result = run_isolated(req, &worker, WorkerLimits::of(req), &mut |_, r| {
        bar.set_message(r.binding.clone());
        bar.inc(1);
    });
    bar.finish_and_clear();
    Ok(result?)
}

/// Where `kas bench` times: the GPU (refused without one) or the CPU (f32 only).
pub(crate) fn backend(
    device: Device,
    precision: kas_codegen::Precision,
) -> anyhow::Result<Backend> {
    Ok(match device {
        Device::Cuda => {
            if !kas_eval::gpu::present() {
                bail!(
                    "no CUDA GPU: kas bench needs one (no CUDA driver or no device on this machine; --device cpu times on the CPU)"
                );
            }
            Backend::Cuda
        }
        Device::Cpu => {
            if precision != kas_codegen::Precision::F32 {
                return Err(kas_eval::Error::from(
                    kas_eval::error::ConfigError::PrecisionNotTimed(precision),
                )
                .into());
            }
            Backend::Cpu
        }
    })
}

/// The bindings to time and a label for them.
fn bindings(a: &BenchArgs, op: &Operator) -> anyhow::Result<(String, Vec<Binding>)> {
    if let Some(set) = &a.set {
        let batch = a.batch.unwrap_or(1);
        let slots = sets::named(set, batch)?;
        let bs = sets::map_onto(op, &slots)?;
        return Ok((format!("{set} at batch {batch}"), bs));
    }
    if let Some(path) = &a.spec {
        let shown = path.display().to_string();
        let text = kas_primitives::format::read_text(path)?;
        let spec = Spec::read(&text, &shown)?;
        let slots = sets::from_spec(&spec, a.batch)?;
        let bs = sets::map_onto(op, &slots)?;
        let label = match a.batch {
            Some(n) => format!("spec {} at batch {n}", spec.name),
            None => format!("spec {}", spec.name),
        };
        return Ok((label, bs));
    }
    let mut bs = op.bindings.clone();
    if let Some(n) = a.batch {
        if n == 0 {
            bail!("the batch must be at least 1");
        }
        let Some((kas_primitives::VarKind::Primary, i)) = op.vars.lookup("N") else {
            bail!("the operator has no batch variable `N` for --batch");
        };
        for b in &mut bs {
            b.primary[i] = n;
        }
    }
    Ok(("the operator's own bindings".into(), bs))
}

fn baseline(arg: BaselineArg, op: &Operator, first: &Binding) -> anyhow::Result<Option<Baseline>> {
    baseline_for(
        arg,
        &op.concrete(&op.input, first)?,
        &op.concrete(&op.outputs, first)?,
    )
}

/// The original layer `arg` names for a slot of these shapes (`auto`: inferred from them).
pub(crate) fn baseline_for(
    arg: BaselineArg,
    input: &[usize],
    output: &[usize],
) -> anyhow::Result<Option<Baseline>> {
    let chosen = match arg {
        BaselineArg::None => return Ok(None),
        BaselineArg::Conv3x3 => Baseline::Conv3x3,
        BaselineArg::Matmul => Baseline::Matmul,
        BaselineArg::Auto => match Baseline::infer(input, output) {
            Some(b) => b,
            None => bail!(
                "no baseline fits input {input:?} → output {output:?}: choose --baseline none"
            ),
        },
    };
    chosen.check(input, output).map_err(anyhow::Error::msg)?;
    Ok(Some(chosen))
}

/// `hang@2` → a hang when timing binding 2.
fn parse_inject(s: &str) -> anyhow::Result<Inject> {
    let (what, at) = s
        .split_once('@')
        .with_context(|| format!("--inject `{s}`: expected KIND@BINDING"))?;
    let fault = match what {
        "hang" => Fault::Hang,
        "crash" => Fault::Crash,
        "device-fault" => Fault::DeviceFault,
        _ => bail!("--inject `{s}`: the kinds are hang, crash and device-fault"),
    };
    let binding = at
        .parse()
        .with_context(|| format!("--inject `{s}`: `{at}` is not a binding index"))?;
    Ok(Inject { binding, fault })
}

pub(crate) fn ms(s: f64) -> String {
    format!("{:.4}", s * 1e3)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn print_text(
    name: &str,
    set: &str,
    backend: Backend,
    baseline: Option<Baseline>,
    precision: kas_codegen::Precision,
    layout: Layout,
    r: &TimingResult,
    s: &BenchSummary,
) {
    let (dev, base_lib) = match backend {
        Backend::Cuda => (
            match precision {
                kas_codegen::Precision::F32 => "GPU: kas's CUDA kernels (f32 SIMT FMAs)",
                kas_codegen::Precision::Tf32 => {
                    "GPU: kas's CUDA kernels (f32 storage, TF32 mma.sync m16n8k8 where a stage runs on tensor cores, f32 accumulation)"
                }
                kas_codegen::Precision::Bf16 => {
                    "GPU: kas's CUDA kernels (bf16 storage, bf16 mma.sync m16n8k16 where a stage runs on tensor cores, f32 accumulation)"
                }
            },
            baseline.map_or("", |b| b.runs_in(precision, layout == Layout::Nhwc)),
        ),
        Backend::Cpu => ("CPU: kas's tch plan", "libtorch on the CPU"),
    };
    let base = baseline.map_or("none", |b| b.label());
    let order = match layout {
        Layout::Nchw => "",
        Layout::Nhwc => ", channels-last (NHWC) on both sides",
    };
    println!(
        "kas bench {name}: {set}, {}{order}; {dev} vs {base} ({base_lib})",
        r.fingerprint.settings.precision
    );
    let rows: Vec<Vec<String>> = r.bindings.iter().map(|b| row(b, r)).collect();
    let header = [
        "binding",
        "kas [ms]",
        "kas IQR [ms]",
        "baseline [ms]",
        "speedup",
        "roofline",
        "status",
    ];
    println!("{}", table(&header, rows));
    if backend == Backend::Cuda {
        println!("kas kernels per binding (stage schedules, `|` between stages):");
        for b in &r.bindings {
            if let Some(k) = &b.kernels {
                println!("  {}: {k}", b.binding);
            }
        }
    }
    match (s.geomean_speedup, s.summed_time_ratio) {
        (Some(g), Some(ratio)) => println!(
            "geomean speedup {g:.3}x over {} bindings; summed times kas {} ms, {base} {} ms (ratio {ratio:.3}x)",
            s.compared,
            ms(s.kas_total_s),
            ms(s.baseline_total_s)
        ),
        _ => println!("no binding was measured on both sides"),
    }
    if let Some(f) = s.geomean_roofline_fraction {
        println!("geomean fraction of the roofline {:.1}%", f * 100.0);
    }
    match &r.peak {
        Some(p) => println!("peak figures: {}", p.source),
        None => println!("peak figures: none for this device (no roofline)"),
    }
    println!("device: {}", r.fingerprint.summary());
    if s.failed > 0 {
        println!("{} of {} bindings failed", s.failed, r.bindings.len());
    }
}

fn row(b: &BindingResult, r: &TimingResult) -> Vec<String> {
    let dash = || "-".to_string();
    let kas = b.kas.as_ref();
    let status = match &b.failure {
        Some(f) => format!(
            "FAILED ({}, {}): {}",
            f.phase.label(),
            f.kind.name(),
            f.reason
        ),
        None => match &b.validation {
            Some(v) => format!("ok (err {:.1e})", v.err),
            None => "ok".into(),
        },
    };
    vec![
        b.binding.clone(),
        kas.map_or_else(dash, |m| ms(m.stats.median)),
        kas.map_or_else(dash, |m| ms(m.stats.iqr)),
        b.baseline
            .as_ref()
            .map_or_else(dash, |m| ms(m.stats.median)),
        b.speedup().map_or_else(dash, |x| format!("{x:.3}x")),
        r.peak
            .as_ref()
            .and_then(|p| b.roofline_fraction(p))
            .map_or_else(dash, |f| format!("{:.1}%", f * 100.0)),
        status,
    ]
}

/// `op` as `layout` stores a convolution's tensors: channels-last moves the channels of its
/// input, its output and each 4-axis weight (`[O, I, kh, kw]` → `[O, kh, kw, I]`) last.
/// Errors (one line) for an operator whose input or output is not 4-axis.
fn relayout(op: &Operator, layout: Layout) -> anyhow::Result<Operator> {
    if layout == Layout::Nchw {
        return Ok(op.clone());
    }
    if op.input.len() != 4 || op.outputs.len() != 4 {
        bail!(
            "--layout {} needs an operator with a 4-axis input and output (a convolution slot's [N, C, H, W]); this one has {} and {} axes",
            layout.label(),
            op.input.len(),
            op.outputs.len()
        );
    }
    let order = layout.order();
    let mut out = op
        .with_axis_order(TensorRef::Tensor(0), &order)?
        .with_axis_order(TensorRef::Output, &order)?;
    for t in 1..op.tensor_count() {
        if op.tensor_axes(t).len() == 4 {
            out = out.with_axis_order(TensorRef::Tensor(t), &order)?;
        }
    }
    Ok(out)
}
