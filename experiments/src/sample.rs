//! `kas sample`: guided synthesis of distinct operators for a slot spec.

use crate::Verdict;
use crate::cli::SampleArgs;
use anyhow::{Context, bail};
use kas_primitives::canon::{canonicalize, rules};
use kas_primitives::{Spec, write_operator};
use kas_synth::{Config, Dag, Filters, Leaf, Report, RunOptions};
use serde_json::json;
use std::collections::HashSet;
use std::path::Path;

/// Runs `kas sample`.
pub fn run(a: SampleArgs) -> anyhow::Result<Verdict> {
    if a.count.is_none() && a.seconds.is_none() {
        bail!("give --count N or --seconds S");
    }
    if a.count == Some(0) || a.seconds.is_some_and(|s| s.is_nan() || s <= 0.0) {
        bail!("--count and --seconds must be positive");
    }
    let path = a.spec.display().to_string();
    let text = kas_primitives::format::read_text(&a.spec)?;
    let spec = Spec::read(&text, &path)?;
    let name = spec.name.clone();
    let dag = Dag::new(Config::new(spec)?, Filters::default());
    let out = crate::runs::out_dir(a.out.as_deref(), "sample")?;
    let opts = RunOptions {
        seed: a.seed,
        count: a.count,
        seconds: a.seconds,
        threads: a.threads,
        ..RunOptions::default()
    };
    // Leaves go to a writer thread (canonical hash, RON file) so that the synthesis threads
    // never wait for it; the channel is bounded, so a lagging writer slows synthesis down
    // instead of piling up. Rates are over the wall time including the writer's last leaves.
    let start = std::time::Instant::now();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Leaf>(1 << 12);
    let seed = a.seed;
    let (report, written) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| write_leaves(rx, &name, seed, &out));
        let report = kas_synth::run(&dag, &opts, |leaf| {
            // A failed send means the writer stopped on an error, reported below.
            let _ = tx.send(leaf.clone());
        });
        drop(tx);
        let written = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the operator writer thread panicked"));
        (report, written)
    });
    let (_, canonical, uncanonical) = written??;
    let mut report = report?;
    report.seconds = start.elapsed().as_secs_f64();
    print_report(&report);
    let canonical_per_sec = canonical.len() as f64 / report.seconds.max(1e-9);
    println!(
        "distinct_canonical {} ({canonical_per_sec:.2}/s, rules {}), uncanonical {uncanonical}",
        canonical.len(),
        rules::digest()
    );
    if let Some(p) = &a.stats_json {
        let mut j = report_json(&report, &name, a.seed, &out);
        j["distinct_canonical"] = json!(canonical.len());
        j["canonical_per_sec"] = json!(canonical_per_sec);
        j["uncanonical"] = json!(uncanonical);
        j["canon_rules"] = json!(rules::digest());
        std::fs::write(p, serde_json::to_string_pretty(&j)? + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
    }
    println!(
        "{} distinct operators in {:.1} s ({:.1}/s), leaf_rate {:.3}, stop: {}",
        report.distinct,
        report.seconds,
        report.distinct_per_sec(),
        report.leaf_rate(),
        report.stop.name()
    );
    Ok(Verdict::Success)
}

/// Canonicalizes and writes each leaf as `NAME-NNNNN.ron` into `out`; returns the number
/// written, the set of canonical hashes and the number of leaves with no canonical form (their
/// e-graph did not saturate within the limits; they are written with `canonical hash none`).
fn write_leaves(
    rx: std::sync::mpsc::Receiver<Leaf>,
    name: &str,
    seed: u64,
    out: &Path,
) -> anyhow::Result<(usize, HashSet<u128>, usize)> {
    let mut written = 0usize;
    // Structurally distinct leaves may still be equal modulo rewriting: count canonical forms.
    let mut canonical: HashSet<u128> = HashSet::new();
    let mut uncanonical = 0usize;
    for leaf in rx {
        let file = format!("{name}-{written:05}");
        let canon = match canonicalize(&leaf.op) {
            Ok(c) => {
                canonical.insert(c.hash.0);
                c.hash.to_string()
            }
            Err(kas_primitives::Error::Unsaturated { .. }) => {
                uncanonical += 1;
                "none".to_string()
            }
            Err(e) => return Err(e.into()),
        };
        let description = format!(
            "sampled from spec `{name}` (seed {seed}); structural hash {}; canonical hash {canon} (rules {}); {:.4e} FLOPs",
            leaf.hash,
            rules::digest(),
            leaf.flops
        );
        let text = write_operator(&file, &description, &leaf.op)?;
        std::fs::write(out.join(format!("{file}.ron")), text)
            .with_context(|| format!("writing into {}", out.display()))?;
        written += 1;
    }
    Ok((written, canonical, uncanonical))
}

fn print_report(r: &Report) {
    println!("stop reason       {}", r.stop.name());
    println!("seconds           {:.2}", r.seconds);
    println!("descents          {}", r.descents);
    println!("leaves            {}", r.leaves);
    println!("first_walk_leaves {}", r.first_walk_leaves);
    println!("backtracks        {}", r.backtracks);
    println!("distinct          {}", r.distinct);
    println!("distinct_per_sec  {:.2}", r.distinct_per_sec());
    println!("leaf_rate         {:.4}", r.leaf_rate());
    println!("first_walk_rate   {:.4}", r.first_walk_rate());
    println!("nodes_created     {}", r.nodes);
    println!("nodes_expanded    {}", r.expanded);
    println!("transpositions    {}", r.transpositions);
    println!("nodes_dead        {}", r.dead);
    println!("rule hits:");
    for (rule, n) in &r.rule_hits {
        let kind = if rule.exact() { "exact" } else { "heuristic" };
        println!("  {:<28} {:>12}  {kind}", rule.name(), n);
    }
    println!("prunes:");
    for (p, n) in &r.prunes {
        println!("  {:<28} {:>12}", p.name(), n);
    }
}

fn report_json(r: &Report, spec: &str, seed: u64, out: &Path) -> serde_json::Value {
    let rules: serde_json::Map<String, serde_json::Value> = r
        .rule_hits
        .iter()
        .map(|(k, n)| (k.name().to_string(), json!(n)))
        .collect();
    let prunes: serde_json::Map<String, serde_json::Value> = r
        .prunes
        .iter()
        .map(|(k, n)| (k.name().to_string(), json!(n)))
        .collect();
    json!({
        "spec": spec,
        "seed": seed,
        "out": out.display().to_string(),
        "stop": r.stop.name(),
        "seconds": r.seconds,
        "descents": r.descents,
        "leaves": r.leaves,
        "first_walk_leaves": r.first_walk_leaves,
        "backtracks": r.backtracks,
        "distinct": r.distinct,
        "distinct_per_sec": r.distinct_per_sec(),
        "leaf_rate": r.leaf_rate(),
        "first_walk_rate": r.first_walk_rate(),
        "nodes_created": r.nodes,
        "nodes_expanded": r.expanded,
        "transpositions": r.transpositions,
        "nodes_dead": r.dead,
        "rule_hits": rules,
        "prunes": prunes,
    })
}
