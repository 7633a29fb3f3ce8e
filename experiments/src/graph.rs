//! `kas graph sample | show`: Canvas-style graph kernels (`docs/ARCHITECTURE.md`, "Graph
//! kernels").

use crate::Verdict;
use crate::cli::{GraphCommand, GraphSampleArgs, GraphShowArgs};
use crate::graph_verify;
use anyhow::{Context, bail};
use kas_graph::canon::rules;
use kas_graph::sample::{SampleConfig, Slot, sample_on};
use kas_graph::{print, read_graph, write_graph};
use kas_primitives::Spec;
use kas_primitives::format::read_text;

/// Runs a `graph` subcommand.
pub fn run(c: GraphCommand) -> anyhow::Result<Verdict> {
    match c {
        GraphCommand::Sample(a) => sample(a),
        GraphCommand::Show(a) => show(a),
        GraphCommand::Verify(a) => graph_verify::run(a),
    }
}

fn sample(a: GraphSampleArgs) -> anyhow::Result<Verdict> {
    if a.count == 0 {
        bail!("--count must be positive");
    }
    let path = a.spec.display().to_string();
    let spec = Spec::read(&read_text(&a.spec)?, &path)?;
    let slot = Slot::from_spec(&spec)?;
    let threads = if a.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        a.threads
    };
    let cfg = SampleConfig {
        flops_ratio: window(&a.flops, "--flops")?,
        params_ratio: window(&a.params, "--params")?,
        spatial_mixing: a.spatial_mixing,
        ..SampleConfig::default()
    };
    cfg.check()?;
    let start = std::time::Instant::now();
    let report = sample_on(threads, &slot, &cfg, a.count, a.seed, &spec.name)?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let pct = 100.0 * report.legal as f64 / report.descents as f64;
    println!(
        "spec {}: flops window {:?}, params window {:?} (ratios of the replaced layer: {}): {} descents, {} legal ({pct:.1} %), {} distinct, {secs:.2} s on {threads} threads: \
         {:.1} descents/s, {:.1} distinct/s (seed {}, rules {})",
        spec.name,
        cfg.flops_ratio,
        cfg.params_ratio,
        match slot.layout {
            kas_graph::sample::Layout::Image => "a 3x3 convolution",
            kas_graph::sample::Layout::Sequence => "causal attention",
        },
        report.descents,
        report.legal,
        report.kernels.len(),
        report.descents as f64 / secs,
        report.kernels.len() as f64 / secs,
        a.seed,
        rules::digest()
    );
    if !report.failures.is_empty() {
        let parts: Vec<String> = report
            .failures
            .iter()
            .map(|(f, n)| format!("{f:?} {n}"))
            .collect();
        println!("failed descents: {}", parts.join(", "));
    }
    let nodes: usize = report.kernels.iter().map(|(g, _)| g.nodes.len() - 1).sum();
    if !report.kernels.is_empty() {
        println!(
            "mean nodes per distinct kernel {:.1}",
            nodes as f64 / report.kernels.len() as f64
        );
    }
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for (g, _) in &report.kernels {
        for n in &g.nodes[1..] {
            let kind = match n.op {
                kas_graph::NodeOp::Unary(_) => "element-wise",
                _ => n.op.kind(),
            };
            *kinds.entry(kind).or_default() += 1;
        }
    }
    if !kinds.is_empty() {
        let parts: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("nodes by kind: {}", parts.join(", "));
    }
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (g, h) in &report.kernels {
            let file = dir.join(format!("{h}.ron"));
            std::fs::write(&file, write_graph(g, &format!("canonical hash {h}"))?)
                .with_context(|| format!("writing {}", file.display()))?;
        }
        println!(
            "wrote {} kernels to {}",
            report.kernels.len(),
            dir.display()
        );
    }
    Ok(if report.legal > 0 {
        Verdict::Success
    } else {
        Verdict::Failure
    })
}

/// Parses a `MIN:MAX` window of ratios.
fn window(text: &str, flag: &str) -> anyhow::Result<(f64, f64)> {
    let parsed = text.split_once(':').and_then(|(lo, hi)| {
        Some((
            lo.trim().parse::<f64>().ok()?,
            hi.trim().parse::<f64>().ok()?,
        ))
    });
    match parsed {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi => Ok((lo, hi)),
        _ => bail!("{flag} takes MIN:MAX with 0 <= MIN <= MAX (got `{text}`)"),
    }
}

/// Runs `kas graph show` (and `kas show` of a graph kernel file).
pub(crate) fn show(a: GraphShowArgs) -> anyhow::Result<Verdict> {
    let path = a.file.display().to_string();
    let g = read_graph(&read_text(&a.file)?, &path)?;
    if a.dot {
        print!("{}", print::dot(&g));
    } else {
        print!("{}", print::pseudo_c(&g));
    }
    Ok(Verdict::Success)
}
