//! `kas reproduce`: the published experiments of Syno and Canvas at kas's scale, each
//! writing a markdown table and a plot of kas's figures beside the papers' (stored in
//! `experiments/reproduce/paper/`), the seeds, the device fingerprint and kas's version.
//! Resumable: every finished measurement is journaled ([`journal`]) and a rerun into the same
//! `--out` skips it.

mod canvas;
mod chart;
mod host_baselines;
mod journal;
mod outcome;
mod paper;
mod scatter;
mod syno_accuracy;
mod syno_e2e;
mod syno_layers;
mod syno_sampler;
mod training;

use crate::Verdict;
use crate::cli::ReproduceArgs;
use anyhow::bail;
use journal::Journal;
use kas_codegen::Precision;
use outcome::Outcome;
use std::path::PathBuf;

/// How an experiment runs.
pub struct Context {
    /// The CPU-sized version.
    pub quick: bool,
    /// The first seed.
    pub seed: u64,
    /// The output directory (the journal's).
    pub dir: PathBuf,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--campaign`.
    pub campaign: Option<PathBuf>,
    /// `--precision` of the experiments that take one ([`AT_PRECISION`]; f32 unless given).
    pub precision: Precision,
    /// `--minutes 0`: measure nothing, only render what is journaled (on any machine: the GPU
    /// experiments do not ask for a GPU then).
    pub render_only: bool,
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
    Experiment {
        name: "syno-accuracy",
        what: syno_accuracy::WHAT,
        run: syno_accuracy::run,
    },
    Experiment {
        name: "host-baselines",
        what: host_baselines::WHAT,
        run: host_baselines::run,
    },
    Experiment {
        name: "syno-e2e",
        what: syno_e2e::WHAT,
        run: syno_e2e::run,
    },
    Experiment {
        name: "canvas",
        what: canvas::WHAT,
        run: canvas::run,
    },
];

/// The experiments that run at `--precision` (the training ones and the whole-model timing).
const AT_PRECISION: [&str; 3] = ["syno-accuracy", "host-baselines", "syno-e2e"];

/// The journal key of measurement `base` at precision `p`: as it is at f32, `base-tf32` (or
/// `-bf16`) at another precision, so that measurements at two precisions never stand in for
/// each other.
pub fn precision_key(p: Precision, base: &str) -> String {
    format!("{base}{}", precision_suffix(p))
}

/// What names of measurements and files get at precision `p`: nothing at f32, `-tf32` or
/// `-bf16` otherwise.
fn precision_suffix(p: Precision) -> String {
    match p {
        Precision::F32 => String::new(),
        p => format!("-{p}"),
    }
}

impl Context {
    /// The journal key of measurement `base` at `--precision` ([`precision_key`]).
    pub fn key(&self, base: &str) -> String {
        precision_key(self.precision, base)
    }

    /// The name of an output file `stem.ext`: as it is at f32, `stem-tf32.ext` (or `-bf16`) at
    /// another precision, so that the tables of two precisions live side by side in one
    /// `--out` (they share its journal).
    pub fn file(&self, stem: &str, ext: &str) -> String {
        format!("{stem}{}.{ext}", precision_suffix(self.precision))
    }
}

/// `kas reproduce list --out ROOT`: what the journals of `ROOT/NAME` hold (each experiment's
/// folder named after it, as in `experiments/reproduced/`), and the device time in all.
fn journaled(root: &std::path::Path) -> anyhow::Result<String> {
    if !root.is_dir() {
        bail!("{} is not a folder", root.display());
    }
    let mut rows = Vec::new();
    let mut total = outcome::Measured::default();
    for e in EXPERIMENTS {
        let (count, seconds) = match journal::measured_in(&root.join(e.name))? {
            None => ("-".to_string(), "-".to_string()),
            Some((quick, m)) => {
                total.count += m.count;
                total.seconds += m.seconds;
                let q = if quick { " (--quick)" } else { "" };
                (format!("{}{q}", m.count), format!("{:.0}", m.seconds))
            }
        };
        rows.push(vec![e.name.to_string(), count, seconds]);
    }
    rows.push(vec![
        "in all".into(),
        total.count.to_string(),
        format!("{:.0} ({:.1} min)", total.seconds, total.seconds / 60.0),
    ]);
    Ok(format!(
        "\nJournaled in {} (each measurement's wall time):\n{}\n",
        root.display(),
        crate::table::table(&["experiment", "measurements", "seconds [s]"], rows)
    ))
}

/// Runs `kas reproduce`.
pub fn run(a: ReproduceArgs) -> anyhow::Result<Verdict> {
    if a.name == "list" {
        for e in EXPERIMENTS {
            println!("{:<14} {}", e.name, e.what);
        }
        if let Some(root) = &a.out {
            print!("{}", journaled(root)?);
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
    if let Some(m) = a.minutes
        && !(m.is_finite() && m >= 0.0)
    {
        bail!("--minutes must be 0 or a positive number, not {m}");
    }
    let dir = crate::runs::out_dir(a.out.as_deref(), &format!("reproduce-{}", e.name))?;
    if a.precision.is_some() && !AT_PRECISION.contains(&e.name) {
        bail!(
            "--precision applies to {}, not `{}`",
            AT_PRECISION.join(", "),
            e.name
        );
    }
    if a.minutes == Some(0.0) && !a.redo.is_empty() {
        bail!("--redo measures again and --minutes 0 measures nothing: use one of them");
    }
    let mut journal = Journal::open(&dir, e.name, a.quick)?;
    for key in journal.redo(&a.redo)? {
        eprintln!("{key}: journaled, measured again (--redo)");
    }
    journal.set_minutes(a.minutes);
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
        dir: dir.clone(),
        data_dir: a.data_dir,
        campaign: a.campaign,
        precision: a.precision.map_or(Precision::F32, |p| p.precision()),
        render_only: a.minutes == Some(0.0),
    };
    let mut outcome = (e.run)(&ctx, &mut journal)?;
    outcome.pending = journal.pending().to_vec();
    outcome.measured = journal.measured();
    outcome.check_units()?;
    let (md, svg) = outcome.write(&ctx, e.name)?;
    print!("{}", outcome.markdown(&ctx, e.name));
    let pending = match outcome.pending.len() {
        0 => String::new(),
        n => format!(
            " ({n} measurement(s) pending: rerun with --out {} to go on)",
            dir.display()
        ),
    };
    println!(
        "reproduced {}: {} figures{pending}; wrote {} and {}",
        e.name,
        outcome.rows.len(),
        md.display(),
        svg.display()
    );
    Ok(Verdict::Success)
}
