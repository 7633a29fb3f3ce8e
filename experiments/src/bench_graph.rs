//! `kas bench GRAPH.ron`: a graph kernel (a graph campaign's `operators/<hash>.ron`) timed as
//! a graph campaign times it: on a GPU its CUDA program (linear nodes as `--kernels` says:
//! tuned per binding and cached, heuristic tiled or reference; element-wise nodes fused), on
//! the CPU its tch path, validated against the graph interpreter, then side by side with the
//! slot's original layer, under each distinct binding of the file (`--batch` replaces `N`),
//! in worker processes.

use crate::Verdict;
use crate::bench::{
    backend, baseline_for, check_timing_args, configure, print_text, time_in_workers,
};
use crate::cli::BenchArgs;
use crate::runs::out_dir;
use anyhow::{Context, bail};
use kas_eval::bench::BenchSummary;
use kas_eval::timing::{Backend, Layout, TimingRequest};
use kas_graph::{GraphKernel, read_graph, write_graph};
use kas_primitives::{Binding, NamedBinding};
use serde_json::json;

/// Runs `kas bench` on the graph kernel file `path` (its text `text`).
pub fn run(a: &BenchArgs, path: &str, text: &str) -> anyhow::Result<Verdict> {
    let precision = a.precision.precision();
    if a.model.is_some() || a.set.is_some() || a.spec.is_some() {
        bail!(
            "{path}: a graph kernel is timed under its own bindings: --model, --set and --spec apply to operators"
        );
    }
    if a.layout != crate::cli::LayoutArg::Nchw || a.inject.is_some() {
        bail!("{path}: --layout nhwc and --inject apply to operators");
    }
    let g = read_graph(text, path)?;
    let backend = backend(a.device, precision)?;
    if precision != kas_codegen::Precision::F32 {
        bail!("{path}: graph kernels are generated at f32 only (--precision f32)");
    }
    let bindings = bindings(&g, a.batch)?;
    let first = bindings
        .first()
        .context("the graph kernel has no binding")?;
    let baseline = baseline_for(
        a.baseline,
        &g.concrete(g.input(), first)?,
        &g.concrete(g.output, first)?,
    )?;
    check_timing_args(a)?;
    let named: Vec<NamedBinding> = bindings
        .iter()
        .map(|b| NamedBinding::from_binding(b, &g.vars))
        .collect();
    let mut req = TimingRequest::new(
        &g.name,
        write_graph(&g, "timed by kas bench")?,
        named,
        backend,
    );
    req.graph = true;
    configure(&mut req, a, baseline);
    let result = time_in_workers(&req)?;
    let summary = BenchSummary::of(&result);
    let out = out_dir(a.out.as_deref(), "bench")?;
    let set_label = "the graph kernel's own bindings".to_string();
    let report = json!({
        "graph_kernel": g.name,
        "set": set_label,
        "device": match backend { Backend::Cuda => "cuda", Backend::Cpu => "cpu" },
        "device_key": result.fingerprint.device_key(),
        "baseline": baseline.map(|b| b.label()),
        "precision": precision,
        "kernels": a.kernels,
        "protocol": req.protocol,
        "result": result,
        "summary": summary,
    });
    let json_text = serde_json::to_string_pretty(&report)?;
    let file = out.join("bench.json");
    std::fs::write(&file, &json_text)
        .with_context(|| format!("cannot write {}", file.display()))?;
    if a.json {
        println!("{json_text}");
    } else {
        print_text(
            &g.name,
            &set_label,
            backend,
            baseline,
            precision,
            Layout::Nchw,
            &result,
            &summary,
        );
        println!("report in {}", file.display());
    }
    Ok(if summary.failed == 0 {
        Verdict::Success
    } else {
        Verdict::Failure
    })
}

/// The file's distinct bindings (the first name of each), with `N` set to `batch` if given.
fn bindings(g: &GraphKernel, batch: Option<u64>) -> anyhow::Result<Vec<Binding>> {
    let mut out: Vec<Binding> = Vec::new();
    for b in &g.bindings {
        let mut b = b.clone();
        if let Some(n) = batch {
            if n == 0 {
                bail!("the batch must be at least 1");
            }
            let Some((kas_primitives::VarKind::Primary, i)) = g.vars.lookup("N") else {
                bail!("the graph kernel has no batch variable `N` for --batch");
            };
            b.primary[i] = n;
        }
        if !out
            .iter()
            .any(|x| x.primary == b.primary && x.coeff == b.coeff)
        {
            out.push(b);
        }
    }
    Ok(out)
}
