//! `kas report DIR`: a campaign's best operators (pseudo-C, canonical hash, accuracy, speedup,
//! fidelity), its Pareto front of accuracy against latency, and — written into the campaign
//! directory — `report.md` (a markdown table) and `report.svg` (the plot).

use crate::Verdict;
use crate::cli::ReportArgs;
use anyhow::Context;
use kas_primitives::print::loops_text;
use kas_search::report::{CampaignReport, ReportRow};
use kas_search::runner::CAMPAIGN_FILE;
use std::fmt::Write as _;
use std::path::Path;

/// Runs `kas report`.
pub fn run(a: ReportArgs) -> anyhow::Result<Verdict> {
    if !a.dir.join(CAMPAIGN_FILE).exists() {
        anyhow::bail!(
            "{} is not a campaign directory (no {CAMPAIGN_FILE})",
            a.dir.display()
        );
    }
    print(&a.dir, a.top)?;
    Ok(Verdict::Success)
}

fn figure(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".to_string(), |x| format!("{x:.digits$}"))
}

/// One line for an outcome: accuracy and speedup, or the failure's kind and first line.
pub fn outcome_text(o: &kas_campaign::Outcome) -> String {
    match o {
        kas_campaign::Outcome::Ok(m) => format!(
            "accuracy {}  speedup {}x",
            figure(m.accuracy, 4),
            figure(m.speedup, 2)
        ),
        kas_campaign::Outcome::Failed { kind, message } => {
            format!(
                "failed ({}): {}",
                kind.name(),
                kas_campaign::first_line(message)
            )
        }
    }
}

/// Prints the report of the campaign in `dir` (the `top` best operators) and writes
/// `report.md` and `report.svg` there.
pub fn print(dir: &Path, top: usize) -> anyhow::Result<()> {
    let r = CampaignReport::load(dir)?;
    let failed: usize = r.failures.values().sum();
    let kinds: Vec<String> = (r.failures.iter())
        .map(|(k, n)| format!("{} {n}", k.name()))
        .collect();
    println!(
        "campaign {}: {} evaluations, {} candidates, {} failed{}",
        r.file.name,
        r.evaluations,
        r.entries.len(),
        failed,
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        }
    );
    for (level, o) in &r.baselines {
        println!("baseline {}: {}", r.fidelity_name(*level), outcome_text(o));
    }
    if !r.unfinished.is_empty() {
        println!("{}", unfinished_text(&r));
    }
    println!("best operators (measured; highest fidelity first, then reward):");
    for (i, e) in r.measured().take(top).enumerate() {
        println!(
            "{:>2}. {}  {:<8} {}  reward {:.4}",
            i + 1,
            e.canonical,
            r.fidelity_name(e.fidelity),
            outcome_text(&e.outcome),
            e.reward
        );
        if let Some(code) = pseudo_c(&r, e) {
            for line in code.lines() {
                println!("      {line}");
            }
        }
    }
    let winners = r.faster_and_as_accurate(WITHIN_POINTS);
    println!(
        "faster than the original layers (speedup > 1) within {WITHIN_POINTS} point of the baseline's accuracy at the same fidelity: {}",
        winners.len()
    );
    for e in winners.iter().take(top) {
        println!(
            "    {}  {:<8} speedup {}  accuracy {} (baseline {})",
            e.canonical,
            r.fidelity_name(e.fidelity),
            figure(e.speedup(), 3),
            figure(e.accuracy(), 4),
            figure(r.baseline_accuracy(e.fidelity), 4)
        );
    }
    println!("Pareto front (accuracy vs latency relative to the original layers = 1):");
    for &i in &r.front {
        let e = &r.entries[i];
        println!(
            "    latency {}  accuracy {}  {}  ({})",
            figure(e.relative_latency(), 3),
            figure(e.accuracy(), 4),
            e.canonical,
            r.fidelity_name(e.fidelity)
        );
    }
    let md = dir.join("report.md");
    std::fs::write(&md, markdown(&r)).with_context(|| format!("writing {}", md.display()))?;
    let svg = dir.join("report.svg");
    crate::plot::write_svg(&r, &svg)?;
    println!(
        "report: {} evaluations, {} candidates, front of {}; wrote {} and {}",
        r.evaluations,
        r.entries.len(),
        r.front.len(),
        md.display(),
        svg.display()
    );
    Ok(())
}

/// One line naming the jobs without an outcome.
fn unfinished_text(r: &CampaignReport) -> String {
    let jobs: Vec<String> = (r.unfinished.iter())
        .map(|u| {
            format!(
                "job {} ({}) {}",
                u.job,
                r.fidelity_name(u.fidelity),
                &u.canonical[..8]
            )
        })
        .collect();
    format!(
        "{} job(s) without an outcome (running now, or in flight at the last stop: a resume runs them again): {}",
        jobs.len(),
        jobs.join(", ")
    )
}

/// Accuracy points below the baseline's that still count as "as accurate".
const WITHIN_POINTS: f64 = 1.0;

/// The operator's loop nest as pseudo-code, if its file is there.
fn pseudo_c(r: &CampaignReport, e: &ReportRow) -> Option<String> {
    let path = r.operator_path(&e.canonical);
    let text = std::fs::read_to_string(&path).ok()?;
    let (_, op) = kas_primitives::read_operator(&text, &path.display().to_string()).ok()?;
    Some(loops_text(&op))
}

fn markdown(r: &CampaignReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Campaign `{}`\n", r.file.name);
    let _ = writeln!(
        s,
        "{} evaluations, {} candidates. Figures come from the fidelity named in each row; \
         latency is relative to the original layers (1 / speedup).\n",
        r.evaluations,
        r.entries.len()
    );
    let _ = writeln!(s, "| fidelity | baseline |\n|---|---|");
    for (level, o) in &r.baselines {
        let _ = writeln!(s, "| {} | {} |", r.fidelity_name(*level), outcome_text(o));
    }
    if !r.unfinished.is_empty() {
        let _ = writeln!(s, "\n{}.", unfinished_text(r));
    }
    let winners = r.faster_and_as_accurate(WITHIN_POINTS);
    let _ = writeln!(
        s,
        "\nFaster than the original layers (speedup > 1) within {WITHIN_POINTS} point of the \
         baseline's accuracy at the same fidelity: {}.\n",
        winners.len()
    );
    if !winners.is_empty() {
        let _ = writeln!(
            s,
            "| canonical hash | fidelity | speedup | accuracy | baseline accuracy |\n|---|---|---|---|---|"
        );
        for e in &winners {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} |",
                e.canonical,
                r.fidelity_name(e.fidelity),
                figure(e.speedup(), 3),
                figure(e.accuracy(), 4),
                figure(r.baseline_accuracy(e.fidelity), 4)
            );
        }
    }
    let _ = writeln!(
        s,
        "\n| rank | canonical hash | fidelity | accuracy | speedup | reward | Pareto | outcome |\n|---|---|---|---|---|---|---|---|"
    );
    for (i, e) in r.entries.iter().enumerate() {
        let status = match &e.outcome {
            kas_campaign::Outcome::Ok(_) => "ok".to_string(),
            kas_campaign::Outcome::Failed { kind, .. } => kind.name().to_string(),
        };
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} | {:.4} | {} | {} |",
            i + 1,
            e.canonical,
            r.fidelity_name(e.fidelity),
            figure(e.accuracy(), 4),
            figure(e.speedup(), 3),
            e.reward,
            if r.front.contains(&i) { "yes" } else { "" },
            status
        );
    }
    s
}
