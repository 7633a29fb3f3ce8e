//! Sampling throughput without the `kas` binary (no libtorch): runs guided synthesis on a spec
//! for a time or a count and prints the run report, with the canonically distinct count as
//! `kas sample` computes it.
//!
//! `cargo run --release -p kas-synth --example sample_rate -- SPEC [SECONDS | dDESCENTS] [THREADS] [SEED]`

use kas_primitives::canon::canonicalize;
use kas_synth::{Config, Dag, Filters, RunOptions};
use std::collections::HashSet;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: sample_rate SPEC [SECONDS] [THREADS] [SEED]");
        std::process::exit(2);
    };
    let num = |i: usize, d: f64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: reading {path}: {e}");
            std::process::exit(2);
        }
    };
    let spec = match kas_primitives::Spec::read(&text, path).map_err(|e| e.to_string()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let dag = match Config::new(spec) {
        Ok(cfg) => Dag::new(cfg, Filters::default()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    // `dN` instead of seconds: exactly N descents (a fixed amount of work to time).
    let descents = args
        .get(2)
        .and_then(|a| a.strip_prefix('d'))
        .and_then(|n| n.parse().ok());
    let opts = RunOptions {
        seconds: if descents.is_some() {
            None
        } else {
            Some(num(2, 10.0))
        },
        max_descents: descents.unwrap_or(u64::MAX),
        threads: num(3, 2.0) as usize,
        seed: num(4, 0.0) as u64,
        ..RunOptions::default()
    };
    let mut canonical = HashSet::new();
    let mut canon_secs = 0.0;
    let report = kas_synth::run(&dag, &opts, |leaf| {
        let t = std::time::Instant::now();
        if let Ok(c) = canonicalize(&leaf.op) {
            canonical.insert(c.hash.0);
        }
        canon_secs += t.elapsed().as_secs_f64();
    });
    let r = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "descents {} leaves {} distinct {} canonical {} in {:.2} s (canonicalization {:.2} s)",
        r.descents,
        r.leaves,
        r.distinct,
        canonical.len(),
        r.seconds,
        canon_secs
    );
    println!(
        "distinct_per_sec {:.2} canonical_per_sec {:.2} leaf_rate {:.4} first_walk_rate {:.4} descents_per_sec {:.1}",
        r.distinct_per_sec(),
        canonical.len() as f64 / r.seconds,
        r.leaf_rate(),
        r.first_walk_rate(),
        r.descents as f64 / r.seconds
    );
    println!(
        "backtracks {} nodes {} expanded {} dead {} transpositions {}",
        r.backtracks, r.nodes, r.expanded, r.dead, r.transpositions
    );
    for (rule, n) in &r.rule_hits {
        println!("  rule  {:<28} {n:>12}", rule.name());
    }
    for (p, n) in &r.prunes {
        println!("  prune {:<28} {n:>12}", p.name());
    }
}
