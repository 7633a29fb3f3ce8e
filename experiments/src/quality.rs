//! `kas search-quality`: MCTS, random and beam search compared on one fixed reward per
//! candidate (`kas_search::quality`): the best reward found after n evaluations, averaged over
//! seeds.

use crate::Verdict;
use crate::cli::QualityArgs;
use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use kas_campaign::{Algorithm, BeamConfig, MctsConfig};
use kas_primitives::Spec;
use kas_synth::{Config, Dag, Filters};
use std::sync::Arc;

/// Runs `kas search-quality`.
pub fn run(a: QualityArgs) -> anyhow::Result<Verdict> {
    if a.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    if a.evals.is_empty() || a.evals.contains(&0) {
        bail!("--evals must list positive counts");
    }
    let path = a.spec.display().to_string();
    let text = kas_primitives::format::read_text(&a.spec)?;
    let spec = Spec::read(&text, &path)?;
    let dag = Arc::new(Dag::new(Config::new(spec)?, Filters::default()));
    let algorithms = [
        Algorithm::Mcts(MctsConfig::default()),
        Algorithm::Random,
        Algorithm::Beam(BeamConfig::default()),
    ];
    let bar = ProgressBar::new(algorithms.len() as u64 * a.seeds);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} runs [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix("search-quality");
    let t0 = std::time::Instant::now();
    let table = kas_search::quality::compare(dag, &algorithms, a.seeds, &a.evals, &mut |d, _| {
        bar.set_position(d as u64)
    });
    bar.finish_and_clear();
    let head: Vec<String> = table
        .checkpoints
        .iter()
        .map(|n| format!("best@{n}"))
        .collect();
    println!(
        "best reward after n evaluations, mean ± std over {} seeds (stand-in figures, default reward)",
        table.seeds
    );
    println!(
        "{:<8} {}",
        "search",
        head.iter().map(|h| format!("{h:>16}")).collect::<String>()
    );
    for row in &table.rows {
        let cells: String = (row.mean_best.iter().zip(&row.std_best))
            .map(|(m, s)| format!("{:>16}", format!("{m:.4} ± {s:.4}")))
            .collect();
        let note = if row.exhausted_runs > 0 {
            format!("  ({} runs ran out of candidates)", row.exhausted_runs)
        } else {
            String::new()
        };
        println!("{:<8} {cells}{note}", row.algorithm);
    }
    println!(
        "pool: {} distinct candidates evaluated once, best {:.4}; {:.1} s",
        table.pool,
        table.pool_best,
        t0.elapsed().as_secs_f64()
    );
    Ok(Verdict::Success)
}
