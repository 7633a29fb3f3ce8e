//! `kas report DIR`: a campaign's best operators (pseudo-C, canonical hash, accuracy — or, for a
//! language model, validation loss with its perplexity and the model's parameters — speedup,
//! fidelity), its Pareto front of that figure against latency, and — written into the campaign
//! directory — `report.md` (a markdown table) and `report.svg` (the plot).

use crate::Verdict;
use crate::cli::ReportArgs;
use anyhow::Context;
use kas_primitives::print::loops_text;
use kas_search::report::{CampaignReport, MigrationNote, ReportRow, WITHIN_POINTS};
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

/// The quality figures of measured metrics: the accuracy, or a language model's validation
/// loss with its perplexity and the model's parameters.
fn quality_text(m: &kas_campaign::Metrics) -> String {
    match (m.accuracy, m.loss) {
        (None, Some(l)) => {
            let params = m
                .extra
                .get(&kas_campaign::Figure::Params)
                .map_or(String::new(), |p| format!("  params {p:.0}"));
            format!("validation loss {l:.4}  perplexity {:.3}{params}", l.exp())
        }
        (a, _) => format!("accuracy {}", figure(a, 4)),
    }
}

/// One line for an outcome: accuracy (or validation loss) and speedup, or the failure's kind
/// and first line.
pub fn outcome_text(o: &kas_campaign::Outcome) -> String {
    match o {
        kas_campaign::Outcome::Ok(m) => match m.speedup {
            Some(s) => format!("{}  speedup {s:.2}x", quality_text(m)),
            None => format!("{}  not timed", quality_text(m)),
        },
        kas_campaign::Outcome::Failed { kind, message } => {
            format!(
                "failed ({}): {}",
                kind.name(),
                kas_campaign::first_line(message)
            )
        }
    }
}

/// Where an evaluation's seconds went, for its log line: `; compile C s, validate+time V s,
/// train T s, test E s` (the figures it has: `compile_seconds`; `timing_seconds` less the
/// compilation, which is validation, timing and the worker's start; `train_seconds`;
/// `test_seconds`), or nothing for a failure or an outcome without them.
pub fn seconds_text(o: &kas_campaign::Outcome) -> String {
    use kas_campaign::Figure;
    let Some(m) = o.metrics() else {
        return String::new();
    };
    let get = |f: Figure| m.extra.get(&f).copied();
    let compile = get(Figure::CompileSeconds);
    let parts: Vec<String> = [
        ("compile", compile),
        (
            "validate+time",
            get(Figure::TimingSeconds).map(|t| (t - compile.unwrap_or(0.0)).max(0.0)),
        ),
        ("train", get(Figure::TrainSeconds)),
        ("test", get(Figure::TestSeconds)),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.map(|v| format!("{name} {v:.1} s")))
    .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("; {}", parts.join(", "))
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
    println!("{}", devices_text(&r));
    for m in &r.migrations {
        println!("{}", migration_text(m));
    }
    for (level, o) in &r.baselines {
        println!(
            "baseline {}: {}{}",
            r.fidelity_name(*level),
            outcome_text(o),
            baseline_seeds_text(&r, *level)
        );
    }
    if !r.unfinished.is_empty() {
        println!("{}", unfinished_text(&r));
    }
    println!("best operators (measured; highest fidelity first, then reward):");
    for (i, e) in r.measured().take(top).enumerate() {
        println!(
            "{:>2}. {}  {:<8} {}  reward {:.4}{}{}",
            i + 1,
            e.canonical,
            r.fidelity_name(e.fidelity),
            outcome_text(&e.outcome),
            e.reward,
            seeds_text(&r, e),
            timing_note(e)
        );
        if let Some(code) = pseudo_c(&r, e) {
            for line in code.lines() {
                println!("      {line}");
            }
        }
    }
    let winners = r.faster_and_as_accurate(WITHIN_POINTS);
    let label = r.target().label();
    println!(
        "faster than the original layers (speedup > 1) {}: {} ({})",
        within_text(&r),
        winners.len(),
        acceptance_terms(&r)
    );
    for e in winners.iter().take(top) {
        println!(
            "    {}  {:<8} speedup {}  {label} {} (baseline {}){}",
            e.canonical,
            r.fidelity_name(e.fidelity),
            figure(e.speedup(), 3),
            figure(e.figure(), 4),
            figure(r.baseline_figure_for(e), 4),
            seeds_text(&r, e)
        );
    }
    println!("Pareto front ({label} vs latency relative to the original layers = 1):");
    for &i in &r.front {
        let e = &r.entries[i];
        println!(
            "    latency {}  {label} {}  {}  ({})",
            figure(e.relative_latency(), 3),
            figure(e.figure(), 4),
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

/// The acceptance window in words: within one point of the baseline's accuracy, or at most
/// `WITHIN_NATS` nats above its validation loss.
fn within_text(r: &CampaignReport) -> String {
    if r.target().lower_is_better() {
        format!(
            "and no more than {} nats above the baseline's validation loss at the same fidelity",
            kas_campaign::WITHIN_NATS
        )
    } else {
        format!("within {WITHIN_POINTS} point of the baseline's accuracy at the same fidelity")
    }
}

/// The target's name in the plural, for sentences.
fn plural(r: &CampaignReport) -> &'static str {
    if r.target().lower_is_better() {
        "validation losses"
    } else {
        "accuracies"
    }
}

/// Which devices the timing comes from, and what was timed again.
fn devices_text(r: &CampaignReport) -> String {
    let (retimed, failed) = r.retimes;
    let again = if retimed > 0 {
        format!("; {retimed} candidates timed again on a new device ({failed} failed)")
    } else {
        String::new()
    };
    format!(
        "timing from device {} (the last session's; training figures from any device){again}",
        r.devices.join(", ")
    )
}

/// One line for a migration of the journal.
fn migration_text(m: &MigrationNote) -> String {
    format!(
        "journal migrated from rule set {} to {}: {} operators re-keyed, {} lost",
        m.from, m.to, m.rekeyed, m.lost
    )
}

/// The spread of the baseline over its seeds at `level`, when it has several, and the seeds
/// it lacks.
fn baseline_seeds_text(r: &CampaignReport, level: usize) -> String {
    let missing = r.baseline_seeds_missing(level);
    let short = if missing > 0 {
        format!("; needs {missing} more seed(s) of {}", r.file.seeds)
    } else {
        String::new()
    };
    match r.baseline_sample(level) {
        Some(s) if s.n > 1 => format!(
            "  (mean over {} seeds; {} sd {}{short})",
            s.n,
            r.target().label(),
            figure(s.sd, 4)
        ),
        Some(s) if missing > 0 => format!("  ({} seed{short})", s.n),
        _ => String::new(),
    }
}

/// For a row at the last fidelity short of the campaign's seeds: how many it lacks (its
/// interval, if any, is from too few seeds for a verdict), and whether a resume trains them.
fn short_text(r: &CampaignReport, e: &ReportRow) -> String {
    let missing = r.seeds_missing(e);
    if missing == 0 {
        String::new()
    } else if r.below_floor(e) {
        format!(
            "; needs {missing} more seed(s) of {} for a verdict, not trained: speedup below promote_min_speedup {:.2}x",
            r.file.seeds, r.file.promote_min_speedup
        )
    } else {
        format!(
            "; needs {missing} more seed(s) of {} for a verdict (a resume trains them first)",
            r.file.seeds
        )
    }
}

/// The note of a `kas search` log line for a result that will not be promoted because its
/// speedup is below the campaign's promotion floor `floor`.
pub fn floor_note(below: bool, floor: f64) -> String {
    if below {
        format!("; not promoted: speedup below promote_min_speedup {floor:.2}x")
    } else {
        String::new()
    }
}

/// For a row trained on several seeds, or at the last fidelity: its seeds, the accuracy's
/// spread, and the paired difference to the baseline with its 95 % interval.
fn seeds_text(r: &CampaignReport, e: &ReportRow) -> String {
    if e.seeds.len() < 2 && e.fidelity != r.last_fidelity() {
        return String::new();
    }
    let label = r.target().label();
    let spread = e
        .figure_sample()
        .and_then(|s| s.sd)
        .map_or(String::new(), |sd| format!(", {label} sd {sd:.4}"));
    let paired = match r.paired(e) {
        Some(d) => match d.interval() {
            Some((lo, hi)) => format!(
                "; vs baseline {:+.4} (95 % interval [{lo:+.4}, {hi:+.4}], {} paired seeds)",
                d.mean, d.n
            ),
            None => format!("; vs baseline {:+.4} (1 paired seed, no interval)", d.mean),
        },
        None => String::new(),
    };
    format!(
        "  [{} seed(s){spread}{paired}{}]",
        e.seeds.len(),
        short_text(r, e)
    )
}

/// A note when a row's timing is not from the last session's devices.
fn timing_note(e: &ReportRow) -> String {
    match (&e.timing_device, e.timing_current) {
        (Some(d), false) => format!("  (timed on earlier device {d})"),
        _ => String::new(),
    }
}

/// What the acceptance line compares, and how many candidates wait for seeds.
fn acceptance_terms(r: &CampaignReport) -> String {
    let waiting = r.waiting_for_seeds(WITHIN_POINTS).len();
    let waiting = if waiting > 0 {
        format!(
            "; {waiting} more pass on fewer seeds and need their missing seeds to count (a resume trains them first)"
        )
    } else {
        String::new()
    };
    format!(
        "{} at the last fidelity `{}` are means over all {} seed(s), each compared with the baseline's mean over the same seeds; speedups from device {}{waiting}",
        plural(r),
        r.fidelity_name(r.last_fidelity()),
        r.file.seeds,
        r.devices.join(", ")
    )
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

/// The operator's loop nest (a graph kernel's pseudo-C) as pseudo-code, if its file is there.
fn pseudo_c(r: &CampaignReport, e: &ReportRow) -> Option<String> {
    match kas_search::kernel_file::read_kernel(&r.operator_path(&e.canonical)).ok()? {
        kas_campaign::Kernel::Operator(op) => Some(loops_text(&op)),
        kas_campaign::Kernel::Graph(g) => Some(kas_graph::print::pseudo_c(&g)),
    }
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
    let _ = writeln!(s, "{}.\n", devices_text(r));
    for m in &r.migrations {
        let _ = writeln!(s, "{}.\n", migration_text(m));
    }
    let _ = writeln!(s, "| fidelity | baseline | seeds |\n|---|---|---|");
    for (level, o) in &r.baselines {
        let _ = writeln!(
            s,
            "| {} | {} | {}{} |",
            r.fidelity_name(*level),
            outcome_text(o),
            r.baseline_seeds.get(level).map_or(0, |b| b.len()),
            baseline_seeds_text(r, *level)
        );
    }
    if !r.unfinished.is_empty() {
        let _ = writeln!(s, "\n{}.", unfinished_text(r));
    }
    let winners = r.faster_and_as_accurate(WITHIN_POINTS);
    let label = r.target().label();
    let _ = writeln!(
        s,
        "\nFaster than the original layers (speedup > 1) {}: {} ({}).\n",
        within_text(r),
        winners.len(),
        acceptance_terms(r)
    );
    if !winners.is_empty() {
        let _ = writeln!(
            s,
            "| canonical hash | fidelity | speedup | {label} | baseline {label} | seeds |\n|---|---|---|---|---|---|"
        );
        for e in &winners {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} | {} |",
                e.canonical,
                r.fidelity_name(e.fidelity),
                figure(e.speedup(), 3),
                figure(e.figure(), 4),
                figure(r.baseline_figure_for(e), 4),
                e.seeds.len()
            );
        }
    }
    let last = r.last_fidelity();
    let at_last: Vec<&ReportRow> = (r.entries.iter())
        .filter(|e| e.fidelity == last && e.outcome.metrics().is_some())
        .collect();
    if !at_last.is_empty() {
        let _ = writeln!(
            s,
            "\nAt the last fidelity `{}`: {label} over the seeds (mean ± sample standard \
             deviation) and its paired difference to the baseline trained on the same seeds, with \
             the 95 % interval of Student's t.\n",
            r.fidelity_name(last)
        );
        let (extra_head, extra_rule) = if r.target().lower_is_better() {
            (" perplexity | params |", "---|---|")
        } else {
            ("", "")
        };
        let _ = writeln!(
            s,
            "| canonical hash | seeds | {label} | vs baseline | 95 % interval | speedup |{extra_head}\n|---|---|---|---|---|---|{extra_rule}"
        );
        for e in at_last {
            let acc = e.figure_sample().map_or("-".to_string(), |a| match a.sd {
                Some(sd) => format!("{:.4} ± {sd:.4}", a.mean),
                None => format!("{:.4}", a.mean),
            });
            let d = r.paired(e);
            let interval = d
                .and_then(|d| d.interval())
                .map_or("-".to_string(), |(lo, hi)| format!("[{lo:+.4}, {hi:+.4}]"));
            let missing = r.seeds_missing(e);
            let seeds = if missing > 0 {
                format!("{} (needs {missing} more)", e.seeds.len())
            } else {
                e.seeds.len().to_string()
            };
            let lm = if r.target().lower_is_better() {
                let m = e.outcome.metrics();
                let get = |f| m.and_then(|m| m.extra.get(&f).copied());
                format!(
                    " {} | {} |",
                    figure(get(kas_campaign::Figure::Perplexity), 3),
                    figure(get(kas_campaign::Figure::Params), 0)
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "| `{}` | {seeds} | {acc} | {} | {interval} | {} |{lm}",
                e.canonical,
                d.map_or("-".to_string(), |d| format!("{:+.4}", d.mean)),
                figure(e.speedup(), 3)
            );
        }
    }
    let _ = writeln!(
        s,
        "\n| rank | canonical hash | fidelity | {label} | speedup | reward | Pareto | outcome |\n|---|---|---|---|---|---|---|---|"
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
            figure(e.figure(), 4),
            figure(e.speedup(), 3),
            e.reward,
            if r.front.contains(&i) { "yes" } else { "" },
            status
        );
    }
    s
}
