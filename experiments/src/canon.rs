//! `kas canon FILE.ron…` and `kas canon --check N [--seed S]`.

use crate::Verdict;
use crate::cli::CanonArgs;
use anyhow::Context;
use kas_primitives::canon::{self, census, check, rules};
use kas_primitives::format::read_operator_file;
use std::collections::BTreeSet;

/// Runs `kas canon`.
pub fn run(a: CanonArgs) -> anyhow::Result<Verdict> {
    match (a.check, a.census) {
        (Some(n), _) => run_check(n, a.seed),
        (None, Some(depth)) => {
            let c = census::census(depth);
            println!(
                "census depth {depth}: {} programs, {} structurally distinct, {} canonically distinct, {} unsaturated, {} unsound",
                c.programs, c.structural, c.canonical, c.unsaturated, c.unsound
            );
            Ok(if c.unsound == 0 {
                Verdict::Success
            } else {
                Verdict::Failure
            })
        }
        (None, None) => forms(&a),
    }
}

fn forms(a: &CanonArgs) -> anyhow::Result<Verdict> {
    let mut hashes = BTreeSet::new();
    // Operators whose e-graph did not saturate within the limits: no canonical form.
    let mut uncanonical = 0usize;
    for path in &a.files {
        let p = path.display().to_string();
        let text = kas_primitives::format::read_text(path)?;
        let (file, op) = read_operator_file(&text, &p)?;
        let c = match canon::canonicalize(&op) {
            Ok(c) => c,
            Err(e @ kas_primitives::Error::Unsaturated { .. }) => {
                println!("{p}: {e} ({})", file.name);
                uncanonical += 1;
                continue;
            }
            Err(e) => return Err(e).with_context(|| p.clone()),
        };
        println!("{p}: {} ({})", c.hash, file.name);
        for line in c.form.display().lines() {
            println!("  {line}");
        }
        let r = &c.relayout;
        if r.is_identity() {
            println!("  relayout: identity");
        } else {
            let rolls: Vec<Vec<String>> = r
                .rolls
                .iter()
                .map(|w| w.iter().map(|e| e.display(&c.form.vars)).collect())
                .collect();
            println!(
                "  relayout: weights {:?}, axes {:?}, rolls {rolls:?}",
                r.order, r.axes
            );
            for m in &r.channels {
                println!("  channels: {}", m.describe(&c.form.vars));
            }
        }
        println!(
            "  e-graph: {}, {} iterations, {} nodes, {} rewrites",
            c.report.stop, c.report.iterations, c.report.nodes, c.report.applied
        );
        hashes.insert(c.hash);
    }
    let without = if uncanonical == 0 {
        String::new()
    } else {
        format!(", {uncanonical} without a canonical form")
    };
    println!(
        "{} operators, {} canonical hashes{without} (rules {})",
        a.files.len(),
        hashes.len(),
        rules::digest()
    );
    Ok(if uncanonical == 0 {
        Verdict::Success
    } else {
        Verdict::Failure
    })
}

fn run_check(n: usize, seed: u64) -> anyhow::Result<Verdict> {
    let step = (n / 10).max(1);
    let s = check::run(n, seed, |s| {
        if s.trials % step == 0 && s.trials < n {
            eprintln!("{}", s.line());
        }
    });
    for line in s.unsound.iter().chain(&s.collisions).take(20) {
        println!("{line}");
    }
    for line in s.missed.iter().take(5) {
        println!("{line}");
    }
    println!(
        "base operators: {} structurally distinct, {} canonically distinct",
        s.structural_distinct, s.canonical_distinct
    );
    println!(
        "rules {}; converse pairs {} ({} shared a hash, each checked equal); unsaturated e-graphs {}",
        rules::digest(),
        s.converse_pairs,
        s.converse_merged,
        s.unsaturated
    );
    println!(
        "associativity pairs (three-way Merge or Split rebracketed): {}/{} merged",
        s.assoc_merged, s.assoc_pairs
    );
    println!("{}", s.line());
    Ok(if s.ok() {
        Verdict::Success
    } else {
        Verdict::Failure
    })
}
