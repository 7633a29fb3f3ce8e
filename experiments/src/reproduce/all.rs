//! `kas reproduce all`: every experiment, one after the other, each in its own folder
//! `ROOT/NAME` (the layout of `experiments/reproduced/`) and its own process (each sets the
//! precision rule of its own measurements, which holds for a whole process), under one
//! `--minutes` limit: an experiment starts with the minutes left, none is started once they
//! are spent (each then only renders its table from its journal). A rerun into the same
//! `--out` goes on where the journals stop, so the suite runs in chunks.

use super::{EXPERIMENTS, journaled, pending_in};
use crate::Verdict;
use crate::cli::ReproduceArgs;
use anyhow::{Context as _, bail};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One experiment's run: how its process ended and how long it took.
struct Ran {
    name: &'static str,
    status: std::process::ExitStatus,
    seconds: f64,
    /// The measurements it left pending (from its last line).
    pending: usize,
}

/// Runs `c` with its standard output passed through to this process's, line by line as it
/// comes; returns how it ended and its last line.
fn run_passing_output(mut c: Command) -> anyhow::Result<(std::process::ExitStatus, String)> {
    let mut child = c.stdout(Stdio::piped()).spawn()?;
    let mut last = String::new();
    if let Some(out) = child.stdout.take() {
        let mut stdout = std::io::stdout().lock();
        for line in BufReader::new(out).lines() {
            let line = line?;
            writeln!(stdout, "{line}")?;
            last = line;
        }
    }
    Ok((child.wait()?, last))
}

/// The command line of experiment `name` of the suite into `dir`, with `minutes` to go
/// (none: no limit; 0: render only).
fn command(a: &ReproduceArgs, e: &super::Experiment, dir: &Path, minutes: Option<f64>) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| "kas".into());
    let mut c = Command::new(exe);
    c.args(["reproduce", e.name, "--out"])
        .arg(dir)
        .arg("--seed")
        .arg(a.seed.to_string());
    if a.quick {
        c.arg("--quick");
    }
    if let Some(d) = &a.data_dir {
        c.arg("--data-dir").arg(d);
    }
    if let Some(m) = minutes {
        c.arg("--minutes").arg(format!("{m}"));
    }
    if e.campaign
        && let Some(d) = &a.campaign
    {
        c.arg("--campaign").arg(d);
    }
    if e.precision.is_some()
        && let Some(p) = a.precision
    {
        c.arg("--precision").arg(p.precision().to_string());
    }
    c
}

/// Runs `kas reproduce all`.
pub fn run(a: &ReproduceArgs) -> anyhow::Result<Verdict> {
    if !a.redo.is_empty() {
        bail!("--redo names one experiment's measurements: give it with that experiment's name");
    }
    let root = crate::runs::out_dir(a.out.as_deref(), "reproduce-all")?;
    let deadline = a
        .minutes
        .map(|m| Instant::now() + Duration::from_secs_f64(m * 60.0));
    let mut ran = Vec::new();
    for (i, e) in EXPERIMENTS.iter().enumerate() {
        let left =
            deadline.map(|d| d.saturating_duration_since(Instant::now()).as_secs_f64() / 60.0);
        let dir = root.join(e.name);
        eprintln!(
            "=== kas reproduce all: {} ({} of {}){}",
            e.name,
            i + 1,
            EXPERIMENTS.len(),
            match left {
                Some(m) if m > 0.0 => format!(", {m:.1} minute(s) left"),
                Some(_) => ", no minutes left: its table from its journal".into(),
                None => String::new(),
            }
        );
        let start = Instant::now();
        let (status, last) = run_passing_output(command(a, e, &dir, left))
            .with_context(|| format!("running kas reproduce {}", e.name))?;
        ran.push(Ran {
            name: e.name,
            status,
            seconds: start.elapsed().as_secs_f64(),
            pending: pending_in(&last),
        });
    }
    print!("{}", journaled(&root)?);
    let failed: Vec<String> = (ran.iter())
        .filter(|r| !r.status.success())
        .map(|r| match r.status.code() {
            Some(c) => format!("{} (exit {c})", r.name),
            None => format!("{} (killed)", r.name),
        })
        .collect();
    let seconds: f64 = ran.iter().map(|r| r.seconds).sum();
    if !failed.is_empty() {
        bail!(
            "{} of {} experiments failed (their errors above): {}",
            failed.len(),
            ran.len(),
            failed.join(", ")
        );
    }
    let pending: Vec<String> = (ran.iter())
        .filter(|r| r.pending > 0)
        .map(|r| format!("{} {}", r.name, r.pending))
        .collect();
    let total: usize = ran.iter().map(|r| r.pending).sum();
    println!(
        "reproduced all {} experiments into {} in {seconds:.0} s: {}",
        ran.len(),
        root.display(),
        if total == 0 {
            "nothing pending".to_string()
        } else {
            format!(
                "{total} measurement(s) pending ({}): rerun with --out {} to go on",
                pending.join(", "),
                root.display()
            )
        }
    );
    Ok(Verdict::Success)
}
