//! `kas reproduce`: the published experiments of Syno and Canvas at kas's scale, each
//! writing a markdown table and a plot of kas's figures beside the papers' (stored in
//! `experiments/reproduce/paper/`), the seeds, the device fingerprint and kas's version.
//! Resumable: every finished measurement is journaled ([`journal`]) and a rerun into the same
//! `--out` skips it.

mod all;
mod canvas;
mod chart;
mod host_baselines;
mod journal;
mod outcome;
mod paper;
mod same_compiler;
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
use outcome::{Measured, Outcome};
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
    /// `--precision` of the experiments that take one (their default unless given:
    /// [`Experiment::precision`]).
    pub precision: Precision,
    /// The experiment's default precision (f32 for the others and for `--quick`): the
    /// table's command line names `--precision` when the two differ.
    pub default_precision: Precision,
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
    /// For the experiments that run at `--precision` (the training ones and the whole-model
    /// timing), the precision they run at without it on the GPU (`--quick`: f32, on the CPU);
    /// none for the others, which choose their precisions themselves.
    precision: Option<Precision>,
    /// Whether it reads `--campaign`.
    campaign: bool,
}

/// Every experiment, in `kas reproduce list` order.
const EXPERIMENTS: &[Experiment] = &[
    Experiment {
        name: "syno-sampler",
        what: syno_sampler::WHAT,
        run: syno_sampler::run,
        precision: None,
        campaign: false,
    },
    Experiment {
        name: "syno-layers",
        what: syno_layers::WHAT,
        run: syno_layers::run,
        precision: None,
        campaign: false,
    },
    Experiment {
        name: "syno-accuracy",
        what: syno_accuracy::WHAT,
        run: syno_accuracy::run,
        precision: Some(TRAINING_PRECISION),
        campaign: false,
    },
    Experiment {
        name: "host-baselines",
        what: host_baselines::WHAT,
        run: host_baselines::run,
        precision: Some(TRAINING_PRECISION),
        campaign: false,
    },
    Experiment {
        name: "syno-e2e",
        what: syno_e2e::WHAT,
        run: syno_e2e::run,
        precision: Some(Precision::F32),
        campaign: true,
    },
    Experiment {
        name: "canvas",
        what: canvas::WHAT,
        run: canvas::run,
        precision: None,
        campaign: false,
    },
];

/// The precision the training experiments train at on the GPU unless `--precision` says
/// otherwise: TF32, the operators and the original layers alike. Syno's vision trainer
/// (`experiments/base/trainer.py` in its repository) turns TF32 on for cuDNN and cuBLAS and
/// trains in bf16 by default; TF32 is what PyTorch runs convolutions at by default on Ampere
/// and Hopper, and is closer to f32 than Syno's bf16. f32 (TF32 off) stays a `--precision f32`
/// away, with its own journal keys and tables.
pub const TRAINING_PRECISION: Precision = Precision::Tf32;

/// What follows the count of pending measurements in an experiment's last line (`… figures (N
/// measurement(s) pending: rerun with --out DIR to go on); …`), which `kas reproduce all`
/// reads back ([`pending_in`]).
const PENDING: &str = " measurement(s) pending: rerun with --out";

/// The pending measurements an experiment's last line of output reports (0 when it names
/// none).
fn pending_in(line: &str) -> usize {
    line.find(PENDING)
        .and_then(|i| line[..i].rsplit(['(', ' ']).next()?.parse().ok())
        .unwrap_or(0)
}

/// The names of the experiments that run at `--precision`.
fn at_precision() -> Vec<&'static str> {
    (EXPERIMENTS.iter())
        .filter(|e| e.precision.is_some())
        .map(|e| e.name)
        .collect()
}

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

/// The precision a journal key of an experiment that runs at `--precision` was measured at
/// (the inverse of [`precision_key`]).
pub fn key_precision(key: &str) -> Precision {
    [Precision::Tf32, Precision::Bf16]
        .into_iter()
        .find(|&p| key.ends_with(&precision_suffix(p)))
        .unwrap_or(Precision::F32)
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

impl Experiment {
    /// The precision it runs at: `--precision` if given (an error for an experiment that
    /// does not take one), else its default; f32 for `--quick`.
    fn precision(&self, given: Option<Precision>, quick: bool) -> anyhow::Result<Precision> {
        match (given, self.precision) {
            (Some(_), None) => bail!(
                "--precision applies to {}, not `{}`",
                at_precision().join(", "),
                self.name
            ),
            (Some(p), Some(_)) => Ok(p),
            (None, Some(p)) if !quick => Ok(p),
            (None, _) => Ok(Precision::F32),
        }
    }

    /// Whether journal key `key` is one of the measurements of a run at `precision`: every
    /// key of an experiment that chooses its precisions itself, the keys of that precision
    /// ([`key_precision`]) of one that runs at `--precision`.
    fn at(&self, key: &str, precision: Precision) -> bool {
        self.precision.is_none() || key_precision(key) == precision
    }
}

/// `kas reproduce list --out ROOT`: what the journals of `ROOT/NAME` hold (each experiment's
/// folder named after it, as in `experiments/reproduced/`), by precision for the experiments
/// that run at `--precision`, and the device time of the suite (every experiment at its
/// default precision), of the other precisions, and in all.
fn journaled(root: &std::path::Path) -> anyhow::Result<String> {
    if !root.is_dir() {
        bail!("{} is not a folder", root.display());
    }
    let minutes = |m: Measured| format!("{:.0} ({:.1} min)", m.seconds, m.seconds / 60.0);
    let mut rows = Vec::new();
    let (mut suite, mut other) = (Measured::default(), Measured::default());
    for e in EXPERIMENTS {
        let Some((quick, seconds)) = journal::seconds_in(&root.join(e.name))? else {
            rows.push(vec![e.name.to_string(), "-".into(), "-".into(), "-".into()]);
            continue;
        };
        let q = if quick { " (--quick)" } else { "" };
        let default = e.precision(None, quick)?;
        let precisions = match e.precision {
            None => vec![None],
            Some(_) => std::iter::once(default)
                .chain(Precision::ALL.into_iter().filter(|&p| p != default))
                .map(Some)
                .collect(),
        };
        for p in precisions {
            let at = |k: &str| p.is_none_or(|p| e.at(k, p));
            let m = Measured::of((seconds.iter()).filter(|(k, _)| at(k)).map(|(_, s)| *s));
            // Another precision than the default appears only once something is journaled at it.
            if m.count == 0 && p.is_some_and(|p| p != default) {
                continue;
            }
            let label = match p {
                None => "-".to_string(),
                Some(p) if p == default => format!("{p} (default)"),
                Some(p) => p.to_string(),
            };
            let total = if p.is_none_or(|p| p == default) {
                &mut suite
            } else {
                &mut other
            };
            *total = *total + m;
            rows.push(vec![
                e.name.to_string(),
                label,
                format!("{}{q}", m.count),
                format!("{:.0}", m.seconds),
            ]);
        }
    }
    let all = suite + other;
    for (label, m) in [
        ("the suite (default precisions)", suite),
        ("other precisions", other),
        ("in all", all),
    ] {
        rows.push(vec![
            label.into(),
            String::new(),
            m.count.to_string(),
            minutes(m),
        ]);
    }
    Ok(format!(
        "\nJournaled in {} (each measurement's wall time):\n{}\n",
        root.display(),
        crate::table::table(
            &["experiment", "precision", "measurements", "seconds [s]"],
            rows
        )
    ))
}

/// Runs `kas reproduce`.
pub fn run(a: ReproduceArgs) -> anyhow::Result<Verdict> {
    if let Some(m) = a.minutes
        && !(m.is_finite() && m >= 0.0)
    {
        bail!("--minutes must be 0 or a positive number, not {m}");
    }
    if a.name == "all" {
        return all::run(&a);
    }
    if a.name == "list" {
        for e in EXPERIMENTS {
            println!("{:<14} {}", e.name, e.what);
        }
        println!("{:<14} every experiment above, into --out ROOT/NAME", "all");
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
    let given = a.precision.map(|p| p.precision());
    let precision = e.precision(given, a.quick)?;
    let dir = crate::runs::out_dir(a.out.as_deref(), &format!("reproduce-{}", e.name))?;
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
        precision,
        default_precision: e.precision(None, a.quick)?,
        render_only: a.minutes == Some(0.0),
    };
    let mut outcome = (e.run)(&ctx, &mut journal)?;
    outcome.pending = journal.pending().to_vec();
    outcome.measured = journal.measured_where(|k| e.at(k, precision));
    outcome.check_units()?;
    let (md, svg) = outcome.write(&ctx, e.name)?;
    print!("{}", outcome.markdown(&ctx, e.name));
    let pending = match outcome.pending.len() {
        0 => String::new(),
        n => format!(" ({n}{PENDING} {} to go on)", dir.display()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_their_precision_and_experiments_their_default() {
        for p in Precision::ALL {
            for base in ["conv2d-seed-0", "resnet18-op-7e0a", "x"] {
                assert_eq!(key_precision(&precision_key(p, base)), p, "{base} {p}");
            }
        }
        let e = |name: &str| EXPERIMENTS.iter().find(|e| e.name == name).unwrap();
        let acc = e("syno-accuracy");
        assert_eq!(acc.precision(None, false).unwrap(), TRAINING_PRECISION);
        assert_eq!(acc.precision(None, true).unwrap(), Precision::F32);
        let bf16 = Some(Precision::Bf16);
        assert_eq!(acc.precision(bf16, false).unwrap(), Precision::Bf16);
        assert!(acc.at("conv2d-seed-0-tf32", Precision::Tf32));
        assert!(!acc.at("conv2d-seed-0", Precision::Tf32));
        assert_eq!(
            e("syno-e2e").precision(None, false).unwrap(),
            Precision::F32
        );
        let layers = e("syno-layers");
        assert!(layers.precision(bf16, false).is_err());
        assert!(
            layers.at("syno-op1-tf32", Precision::F32),
            "its own precisions all count"
        );
        assert_eq!(
            at_precision(),
            ["syno-accuracy", "host-baselines", "syno-e2e"]
        );
    }

    #[test]
    fn the_pending_count_is_read_back_from_the_last_line() {
        let line = format!("reproduced x: 6 figures (18{PENDING} r/x to go on); wrote a and b");
        assert_eq!(pending_in(&line), 18);
        assert_eq!(pending_in("reproduced x: 6 figures; wrote a and b"), 0);
    }
}
