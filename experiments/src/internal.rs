//! `kas internal …`: commands kas runs itself. `time-candidate` is the timing worker of
//! `kas bench` (and of any caller of `kas_eval::timing::run_isolated`): it reads one
//! `TimingRequest` (JSON) on standard input and writes `Event`s, one JSON object per line, on
//! standard output. `time-model` is the worker of `kas bench OP --model M`: one `ModelRequest`
//! in, `ModelEvent`s out, the same way.

use crate::Verdict;
use crate::cli::InternalCommand;
use anyhow::Context;
use kas_eval::error::WorkerError;
use kas_eval::timing::{TimingRequest, run_in_turns};
use std::io::{BufRead, Write};

/// Runs `kas internal …`.
pub fn run(c: InternalCommand) -> anyhow::Result<Verdict> {
    match c {
        InternalCommand::TimeCandidate => time_candidate(),
        InternalCommand::TimeModel => time_model(),
    }
}

fn time_candidate() -> anyhow::Result<Verdict> {
    // The request is the first line; with `turns`, each later line gives the worker its turn.
    let mut input = std::io::stdin().lock();
    let mut text = String::new();
    input
        .read_line(&mut text)
        .context("cannot read the request on standard input")?;
    let req: TimingRequest =
        serde_json::from_str(&text).context("the request is not a timing request (JSON)")?;
    // Still before any CUDA context exists: TF32 stays possible for a TF32 request only.
    kas_eval::precision::precision_rule(req.precision);
    let mut out = std::io::stdout().lock();
    let mut wait_turn = || -> kas_eval::error::Result<()> {
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(n) if n > 0 => Ok(()),
            Ok(_) => Err(WorkerError::TurnRefused.into()),
            Err(e) => Err(WorkerError::Stdin(e).into()),
        }
    };
    run_in_turns(
        &req,
        &mut |e| {
            let line = serde_json::to_string(e).map_err(WorkerError::Event)?;
            writeln!(out, "{line}")
                .and_then(|_| out.flush())
                .map_err(|err| WorkerError::Stdout(err).into())
        },
        &mut wait_turn,
    )?;
    Ok(Verdict::Success)
}

fn time_model() -> anyhow::Result<Verdict> {
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut text)
        .context("cannot read the request on standard input")?;
    let req: kas_eval::whole::ModelRequest = serde_json::from_str(&text)
        .context("the request is not a whole-model timing request (JSON)")?;
    // Still before any CUDA context exists: TF32 stays possible for a TF32 request only.
    kas_eval::precision::precision_rule(req.precision);
    let mut out = std::io::stdout().lock();
    kas_eval::whole::run_model_in_process(&req, &mut |e| {
        let line = serde_json::to_string(e).map_err(WorkerError::Event)?;
        writeln!(out, "{line}")
            .and_then(|_| out.flush())
            .map_err(|err| WorkerError::Stdout(err).into())
    })?;
    Ok(Verdict::Success)
}
