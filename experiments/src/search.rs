//! `kas search`: runs or resumes a search campaign (`kas_search::runner`), with a progress
//! bar, then prints the campaign's report (`kas report`).

use crate::Verdict;
use crate::cli::SearchArgs;
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use kas_campaign::{
    ALL_GPUS, CampaignFile, Evaluator, EvaluatorKind, SpecSource, file::MAX_EVALUATIONS_PER_DEVICE,
};
use kas_eval::evaluator::CampaignHost;
use kas_search::runner::Progress;
use kas_search::{Campaign, Phase, SessionOptions, StandIn};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The environment variable that gives the stand-in evaluator another device key.
const STANDIN_DEVICE_VAR: &str = "KAS_STANDIN_DEVICE";

/// The embedded default campaign (its slot spec is generated from the model).
const DEFAULT_CAMPAIGN: &str = include_str!("../configs/cnn-fmnist.ron");

/// Runs `kas search`.
pub fn run(a: SearchArgs) -> anyhow::Result<Verdict> {
    // The campaign's precision rule (docs/ARCHITECTURE.md, "Precision": TF32 off unless the
    // campaign trains at tf32) is applied once its file is read, before libtorch or CUDA
    // starts (`host` builds the model); the timing workers inherit it.
    if a.max_evals == Some(0) {
        bail!("--max-evals must be at least 1");
    }
    if a.minutes.is_some_and(|m| !(m.is_finite() && m > 0.0)) {
        bail!("--minutes must be positive");
    }
    if let Some(n) = a.evaluations_per_device
        && !(1..=MAX_EVALUATIONS_PER_DEVICE).contains(&n)
    {
        bail!("--evaluations-per-device must be 1 to {MAX_EVALUATIONS_PER_DEVICE}, not {n}");
    }
    // The Ray cluster's address (`auto`: the one `ray start` left on this host), or none to
    // evaluate on this host. With Ray, the devices are the worker hosts': nothing is checked
    // here but the campaign file.
    let ray = match a.engine.as_str() {
        "local" => None,
        "ray" => Some("auto"),
        e => match e.strip_prefix("ray:") {
            Some(addr) if !addr.is_empty() => Some(addr),
            _ => bail!("--engine must be local, ray or ray:ADDR, not `{e}`"),
        },
    };
    // Execution settings: they change what runs, not what the campaign is (a resume keeps its
    // file and digest; timing under other kernels is keyed apart and done again).
    let session = |file: &mut CampaignFile| -> anyhow::Result<()> {
        if let Some(k) = a.kernels {
            file.kernels = k;
        }
        if let Some(n) = a.evaluations_per_device {
            file.evaluations_per_device = n;
        }
        Ok(())
    };
    // `"cuda:*"` runs on every GPU the driver sees (CUDA_VISIBLE_DEVICES applies); the stored
    // campaign file keeps `"cuda:*"`, so that a resume on another host takes its GPUs.
    let expand = |file: &mut CampaignFile| -> anyhow::Result<()> {
        if file.devices.iter().any(|d| d == ALL_GPUS) {
            file.expand_devices(kas_eval::gpu::device_count()?)?;
        }
        Ok(())
    };
    // Every check (campaign file, model, dataset, devices, directory, journal) comes before
    // anything is written; `Campaign::create` and `Campaign::open` lock the directory.
    let (campaign, host) = match &a.resume {
        Some(dir) => {
            let mut c = Campaign::open(dir)?;
            session(&mut c.file)?;
            if ray.is_none() {
                expand(&mut c.file)?;
            }
            kas_eval::precision::precision_rule(c.file.precision);
            let host = host(&c.file, a.data_dir.as_deref(), ray.is_none())?;
            (c, host)
        }
        None => {
            let (mut file, base) = match &a.config {
                Some(p) => {
                    let base = p.parent().unwrap_or(Path::new(".")).to_path_buf();
                    (CampaignFile::read(p)?, base)
                }
                None => {
                    let f =
                        CampaignFile::parse(DEFAULT_CAMPAIGN, "embedded configs/cnn-fmnist.ron")?;
                    (f, Path::new(".").to_path_buf())
                }
            };
            if let Some(s) = a.seed {
                file.seed = s;
            }
            session(&mut file)?;
            kas_eval::precision::precision_rule(file.precision);
            let mut expanded = file.clone();
            if ray.is_none() {
                expand(&mut expanded)?;
            }
            let host = host(&expanded, a.data_dir.as_deref(), ray.is_none())?;
            let file = match &host {
                Some(h) => h.resolve_spec(file, &base)?,
                None => file,
            };
            let dir = crate::runs::out_path(a.out.as_deref(), "search");
            let mut c = Campaign::create(&dir, &file, &base)?;
            c.file.devices = expanded.devices;
            (c, host)
        }
    };
    let evaluators = match ray {
        None => evaluators(&campaign, host.as_ref(), a.data_dir.as_deref())?,
        Some(addr) => crate::engine_ray::evaluators(&campaign, addr, a.data_dir.as_deref())?,
    };
    let opts = SessionOptions {
        max_evals: a.max_evals,
        minutes: a.minutes,
        cache: None,
    };
    // Named first: the baselines alone can take minutes.
    println!("campaign {}", campaign.dir.display());
    let bar = ProgressBar::new(opts.max_evals.unwrap_or(campaign.file.budget.max_evals));
    let search_style = ProgressStyle::with_template(
        "search [{bar:30}] {pos}/{len} evals  {msg}  [{elapsed_precise}, eta {eta}]",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    let baseline_style =
        ProgressStyle::with_template("baselines {spinner} {msg}  [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(search_style.clone());
    // Without a terminal the bar is hidden: a line when each baseline starts and ends and one
    // per finished evaluation instead, so a log shows how far a long campaign got.
    let plain = !std::io::stderr().is_terminal();
    let fidelity_names: Vec<String> = (campaign.file.fidelities.iter())
        .map(|f| f.name.clone())
        .collect();
    let logged = AtomicU64::new(0);
    let in_baselines = AtomicBool::new(false);
    let baseline_started = Mutex::new(Duration::ZERO);
    let summary = campaign.run(&evaluators, opts, &|p: &Progress| {
        if let Phase::Retime {
            canonical,
            outcome,
            left,
        } = &p.phase
        {
            let what = match outcome {
                kas_campaign::Outcome::Ok(m) => match m.speedup {
                    Some(s) => format!("speedup {s:.2}x"),
                    None => "no speedup".to_string(),
                },
                failed => crate::report::outcome_text(failed),
            };
            let line = format!(
                "retime: {} on this device: {what} ({left} left)",
                &canonical[..8.min(canonical.len())]
            );
            if plain {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
            return;
        }
        if let Phase::Baseline {
            fidelity,
            seed_index,
            outcome,
        } = &p.phase
        {
            let name = fidelity_names.get(*fidelity).map_or("?", |n| n.as_str());
            let name = if campaign.file.seeds > 1 && fidelity + 1 == fidelity_names.len() {
                format!("{name} seed {seed_index}")
            } else {
                name.to_string()
            };
            let mut started = baseline_started
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match outcome {
                None => {
                    *started = p.elapsed;
                    let what = format!(
                        "{name} ({}/{}): measuring the original layers",
                        fidelity + 1,
                        fidelity_names.len()
                    );
                    if plain {
                        eprintln!("baselines: {what}");
                    }
                    bar.set_message(what);
                    if !in_baselines.swap(true, Ordering::Relaxed) {
                        bar.set_style(baseline_style.clone());
                        bar.enable_steady_tick(Duration::from_millis(250));
                    }
                }
                Some(o) => {
                    let line = format!(
                        "baselines: {name}: {} ({:.0} s)",
                        crate::report::outcome_text(o),
                        p.elapsed.saturating_sub(*started).as_secs_f64()
                    );
                    if plain {
                        eprintln!("{line}");
                    } else {
                        bar.println(line);
                    }
                }
            }
            return;
        }
        if in_baselines.swap(false, Ordering::Relaxed) {
            bar.disable_steady_tick();
            bar.set_style(search_style.clone());
        }
        bar.set_length(p.max_evals);
        bar.set_position(p.finished);
        let mut msg = match p.best {
            Some(b) => format!("best {b:.4}"),
            None => "best -".to_string(),
        };
        if let Some(l) = p.limit {
            let left = l.saturating_sub(p.elapsed).as_secs();
            msg.push_str(&format!(", {}:{:02} left", left / 60, left % 60));
        }
        if plain && logged.swap(p.finished, Ordering::Relaxed) != p.finished {
            let last = p.last.as_ref().map_or(String::new(), |f| {
                format!(
                    "; job {} ({}) {}: {}{}{}",
                    f.job.id,
                    fidelity_names.get(f.job.level).map_or("?", |n| n.as_str()),
                    &f.job.candidate.canonical.to_string()[..8],
                    crate::report::outcome_text(&f.outcome),
                    crate::report::seconds_text(&f.outcome),
                    crate::report::floor_note(f.below_floor, campaign.file.promote_min_speedup)
                )
            });
            eprintln!(
                "search: {}/{} evaluations, {msg}, {:.0} s elapsed{last}",
                p.finished,
                p.max_evals,
                p.elapsed.as_secs_f64()
            );
        }
        bar.set_message(msg);
    });
    bar.finish_and_clear();
    let summary = summary?;
    if let Some((rekeyed, lost)) = summary.migrated {
        println!(
            "migration: the journal's canonical hashes re-keyed to this build's rule set ({rekeyed} operators, {lost} lost)"
        );
    }
    println!(
        "session: {} evaluations ({} re-run from the last stop{}), {} seed evaluations queued for candidates short of seeds, {} candidates timed again on this device; space: {} duplicate leaves, {} exhausted nodes",
        summary.finished_now,
        summary.rerun.len(),
        if summary.torn {
            ", torn journal line dropped"
        } else {
            ""
        },
        summary.topped_up,
        summary.retimed,
        summary.space.duplicates,
        summary.space.exhausted
    );
    crate::report::print(&campaign.dir, 5)?;
    println!(
        "search stopped: {}; {} evaluations in all; best reward {}",
        summary.stop.name(),
        summary.finished,
        summary
            .best
            .map_or("-".to_string(), |(r, job)| format!("{r:.4} (job {job})"))
    );
    Ok(Verdict::Success)
}

/// The campaign's host model, built once, when its evaluator trains it (then checked with
/// the data and devices, before anything is written) or its spec is generated from it.
pub(crate) fn host(
    file: &CampaignFile,
    data_dir: Option<&Path>,
    check: bool,
) -> anyhow::Result<Option<CampaignHost>> {
    let tch = matches!(file.evaluator, EvaluatorKind::Tch);
    if !tch && file.model.spec != SpecSource::FromModel {
        return Ok(None);
    }
    let context = || format!("campaign `{}`", file.name);
    let host = CampaignHost::new(file).with_context(context)?;
    if tch && check {
        host.check(file, data_dir).with_context(context)?;
    }
    Ok(Some(host))
}

/// One evaluator per worker of the campaign (`evaluations_per_device` per device).
pub(crate) fn evaluators(
    c: &Campaign,
    host: Option<&CampaignHost>,
    data_dir: Option<&Path>,
) -> anyhow::Result<Vec<Arc<dyn Evaluator>>> {
    match (&c.file.evaluator, host) {
        (EvaluatorKind::StandIn(cfg), _) => {
            // The stand-in's device key: `stand-in`, or another one to test a campaign
            // resumed on another device (docs/CLI.md, `kas search`).
            let device = std::env::var(STANDIN_DEVICE_VAR)
                .ok()
                .filter(|d| !d.trim().is_empty())
                .unwrap_or_else(|| kas_search::standin::STANDIN_DEVICE.to_string());
            Ok(c.file
                .worker_devices()
                .iter()
                .map(|_| {
                    Arc::new(StandIn {
                        device: device.clone(),
                        ..StandIn::new(cfg.clone(), c.file.seed, c.flops_window())
                    }) as Arc<dyn Evaluator>
                })
                .collect())
        }
        (EvaluatorKind::Tch, Some(host)) => {
            let exe = std::env::current_exe().context("cannot locate the kas executable")?;
            // The trained slot weights of every operator's first full-fidelity training, for
            // `kas export DIR --best` (docs/FORMAT.md, "Trained weights").
            let weights = c.dir.join(crate::export_torch::WEIGHTS_DIR);
            let last = (c.file.fidelities.last()).map_or(String::new(), |f| f.name.clone());
            Ok(host
                .evaluators(&c.file, data_dir, &exe)?
                .into_iter()
                .map(|e| e.saving_weights(weights.clone(), last.clone()))
                .map(|e| Arc::new(e) as Arc<dyn Evaluator>)
                .collect())
        }
        (EvaluatorKind::Tch, None) => bail!("the Tch evaluator's host model was not built"),
    }
}
