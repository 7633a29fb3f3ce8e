//! `kas internal …`: commands kas runs itself. `time-candidate` is the timing worker of
//! `kas bench` (and of any caller of `kas_eval::timing::run_isolated`): it reads one
//! `TimingRequest` (JSON) on standard input and writes `Event`s, one JSON object per line, on
//! standard output. `time-model` is the worker of `kas bench OP --model M`: one `ModelRequest`
//! in, `ModelEvent`s out, the same way.

use crate::Verdict;
use crate::cli::InternalCommand;
use crate::engine_ray::{RemoteOp, RemoteReply, RemoteRequest};
use anyhow::Context;
use kas_campaign::CampaignFile;
use kas_eval::error::WorkerError;
use kas_eval::timing::{TimingRequest, run_in_turns};
use kas_search::Campaign;
use kas_search::retime::Due;
use kas_search::runner::OPERATORS_DIR;
use std::io::{BufRead, Write};
use std::path::Path;

/// Runs `kas internal …`.
pub fn run(c: InternalCommand) -> anyhow::Result<Verdict> {
    match c {
        InternalCommand::TimeCandidate => time_candidate(),
        InternalCommand::TimeModel => time_model(),
        InternalCommand::Evaluate => evaluate(),
    }
}

/// `kas internal evaluate`: one [`RemoteRequest`] (JSON) on standard input, its
/// [`RemoteReply`] (one JSON line) on standard output: the task of a Ray evaluation
/// (`crate::engine_ray`). The campaign is rebuilt in a temporary directory with one worker on
/// this host's first visible GPU (Ray sets `CUDA_VISIBLE_DEVICES`), or on the CPU.
fn evaluate() -> anyhow::Result<Verdict> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
        .context("cannot read the request on standard input")?;
    let req: RemoteRequest =
        serde_json::from_str(&text).context("the request is not an evaluation request (JSON)")?;
    let mut file = CampaignFile::parse(&req.campaign, "the request's campaign")?;
    let cuda = file.devices.iter().any(|d| d.starts_with("cuda:"));
    file.devices = vec![if cuda { "cuda:0" } else { "cpu" }.to_string()];
    file.evaluations_per_device = 1;
    kas_eval::precision::precision_rule(file.precision);
    let dir = std::env::temp_dir().join(format!("kas-evaluate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let reply = answer(&req, &file, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}", serde_json::to_string(&reply?)?);
    Ok(Verdict::Success)
}

/// The reply to `req`, from a campaign of `file` made in `dir`.
fn answer(req: &RemoteRequest, file: &CampaignFile, dir: &Path) -> anyhow::Result<RemoteReply> {
    let host = crate::search::host(file, req.data_dir.as_deref(), true)?;
    let campaign = Campaign::create(dir, file, Path::new("/"))?;
    let ev = crate::search::evaluators(&campaign, host.as_ref(), req.data_dir.as_deref())?
        .into_iter()
        .next()
        .context("no evaluator")?;
    let fidelity = (campaign.file.fidelities.get(req.fidelity))
        .with_context(|| format!("the campaign has no fidelity {}", req.fidelity))?
        .clone();
    for (f, b) in campaign.file.fidelities.iter().zip(&req.baselines) {
        if let Some(b) = b {
            ev.set_baseline(f, b);
        }
    }
    let candidate = match &req.job {
        Some(j) => {
            let ops = dir.join(OPERATORS_DIR);
            std::fs::create_dir_all(&ops).context("cannot write the operator file")?;
            std::fs::write(ops.join(format!("{}.ron", j.canonical)), &j.file)
                .context("cannot write the operator file")?;
            let due = Due {
                canonical: j.canonical.clone(),
                level: req.fidelity,
                structural: j.structural.clone(),
                flops: j.flops,
                path: j.path.clone(),
            };
            Some(kas_search::retime::candidate(dir, &due, &j.rules).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let reply = match (req.op, &candidate) {
        (RemoteOp::Device, _) => RemoteReply::Device(ev.device_key()),
        (RemoteOp::Baseline, _) => RemoteReply::Outcome(ev.baseline(&fidelity, req.seed)),
        (RemoteOp::Evaluate, Some(c)) => RemoteReply::Outcome(ev.evaluate(c, &fidelity, req.seed)),
        (RemoteOp::Time, Some(c)) => RemoteReply::Outcome(ev.time(c, &fidelity)),
        (op, None) => anyhow::bail!("a {op:?} request without its job"),
    };
    Ok(reply)
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
