//! `kas reproduce`: the published experiments of Syno and Canvas at kas's scale, each
//! writing a markdown table and a plot of kas's figures beside the papers' (stored in
//! `experiments/reproduce/paper/`), the seeds, the device fingerprint and kas's version.
//! Resumable: every finished measurement is journaled ([`journal`]) and a rerun into the same
//! `--out` skips it.

mod chart;
mod journal;
mod outcome;
mod paper;
mod syno_layers;
mod syno_sampler;

use crate::Verdict;
use crate::cli::ReproduceArgs;
use anyhow::bail;
use journal::Journal;
use outcome::Outcome;

/// How an experiment runs.
pub struct Context {
    /// The CPU-sized version.
    pub quick: bool,
    /// The first seed.
    pub seed: u64,
}

/// One experiment.
struct Experiment {
    /// Its name on the command line.
    name: &'static str,
    /// One line on what it reproduces.
    what: &'static str,
    /// Runs it, measuring through the journal.
    run: fn(&Context, &mut Journal) -> anyhow::Result<Outcome>,
}

/// Every experiment, in `kas reproduce list` order.
const EXPERIMENTS: &[Experiment] = &[
    Experiment {
        name: "syno-sampler",
        what: syno_sampler::WHAT,
        run: syno_sampler::run,
    },
    Experiment {
        name: "syno-layers",
        what: syno_layers::WHAT,
        run: syno_layers::run,
    },
];

/// Runs `kas reproduce`.
pub fn run(a: ReproduceArgs) -> anyhow::Result<Verdict> {
    if a.name == "list" {
        for e in EXPERIMENTS {
            println!("{:<14} {}", e.name, e.what);
        }
        println!("{} experiments", EXPERIMENTS.len());
        return Ok(Verdict::Success);
    }
    let Some(e) = EXPERIMENTS.iter().find(|e| e.name == a.name) else {
        let known: Vec<&str> = EXPERIMENTS.iter().map(|e| e.name).collect();
        bail!(
            "unknown experiment `{}` (known: {})",
            a.name,
            known.join(", ")
        );
    };
    let dir = crate::runs::out_dir(a.out.as_deref(), &format!("reproduce-{}", e.name))?;
    let mut journal = Journal::open(&dir, e.name, a.quick)?;
    if journal.done() > 0 {
        eprintln!(
            "resuming {} in {}: {} measurement(s) done",
            e.name,
            dir.display(),
            journal.done()
        );
    }
    let ctx = Context {
        quick: a.quick,
        seed: a.seed,
    };
    let outcome = (e.run)(&ctx, &mut journal)?;
    outcome.check_units()?;
    let (md, svg) = outcome.write(&dir, e.name, a.quick)?;
    print!("{}", outcome.markdown(e.name, a.quick));
    println!(
        "reproduced {}: {} figures; wrote {} and {}",
        e.name,
        outcome.rows.len(),
        md.display(),
        svg.display()
    );
    Ok(Verdict::Success)
}
