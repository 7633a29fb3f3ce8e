//! `kas search --engine ray[:ADDR]`: the campaign's master (this process) keeps the journal and
//! the searcher; every evaluation runs as a Ray task on a host of the cluster, through the
//! bridge `experiments/python/kas_ray.py` (a child process speaking JSON lines on its standard
//! input and output). Each task runs `kas internal evaluate` on its host with a
//! [`RemoteRequest`]: the stored campaign file, the job's fields as its journal record gives
//! them and the operator file, the fidelity and the training seed; it answers the outcome. A
//! task that Ray loses (its worker or node died) or whose `kas` exits abnormally answers a
//! `lost` failure: the runner retires that worker and runs the job again once
//! ([`kas_search::journal::Record::Retire`]). Authentication and transport are Ray's.

use anyhow::{Context, bail};
use kas_campaign::{Candidate, Evaluator, FailureKind, Fidelity, Outcome};
use kas_search::Campaign;
use kas_search::runner::OPERATORS_DIR;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};

/// The Python with Ray: `KAS_RAY_PYTHON`, else `$KAS_HOME/ray-2.60.0/bin/python`
/// (scripts/env.sh installs it there).
pub const RAY_PYTHON_VAR: &str = "KAS_RAY_PYTHON";

/// What one evaluation task asks `kas internal evaluate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoteRequest {
    /// What to do.
    pub op: RemoteOp,
    /// The stored campaign file (spec embedded).
    pub campaign: String,
    /// The data directory on the worker host.
    pub data_dir: Option<PathBuf>,
    /// Baseline outcome of each fidelity, where known.
    pub baselines: Vec<Option<Outcome>>,
    /// Fidelity index.
    pub fidelity: usize,
    /// Training seed.
    pub seed: u64,
    /// The candidate, for `evaluate` and `time`.
    pub job: Option<RemoteJob>,
}

/// The operation of a [`RemoteRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteOp {
    /// Answer the worker's device key.
    Device,
    /// Evaluate the candidate.
    Evaluate,
    /// Evaluate the baseline.
    Baseline,
    /// Time the candidate.
    Time,
}

/// A candidate as its `job` record gives it, with its operator (or graph kernel) file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoteJob {
    /// Canonical hash.
    pub canonical: String,
    /// Rule-set digest.
    pub rules: String,
    /// Structural hash.
    pub structural: String,
    /// FLOPs.
    pub flops: f64,
    /// Child indices from the DAG root.
    pub path: Vec<u32>,
    /// The text of `operators/<canonical>.ron`.
    pub file: String,
}

/// What a task answers: the outcome, or the device key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteReply {
    /// The outcome of an evaluation, baseline or timing.
    Outcome(Outcome),
    /// The worker's device key.
    Device(String),
}

/// The bridge's answer to one request.
#[derive(Debug, Deserialize)]
struct BridgeReply {
    id: u64,
    /// The task's standard output.
    #[serde(default)]
    stdout: Option<String>,
    /// Why the task was lost.
    #[serde(default)]
    lost: Option<String>,
}

/// The requests waiting for the bridge's answer: the task's standard output, or why it was lost.
type Pending = Arc<Mutex<HashMap<u64, Sender<Result<String, String>>>>>;

/// The bridge process and the requests waiting for it.
struct Bridge {
    stdin: Mutex<ChildStdin>,
    pending: Pending,
    next: AtomicU64,
    child: Mutex<Child>,
    argv: Vec<String>,
    gpus: f64,
}

impl Bridge {
    fn start(address: &str, gpus: f64) -> anyhow::Result<Bridge> {
        let python = match std::env::var(RAY_PYTHON_VAR) {
            Ok(p) if !p.trim().is_empty() => PathBuf::from(p),
            _ => kas_home().join("ray-2.60.0/bin/python"),
        };
        if !python.is_file() {
            bail!(
                "no Python with Ray at {} (run scripts/env.sh, or set {RAY_PYTHON_VAR})",
                python.display()
            );
        }
        let script = bridge_script()?;
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(address)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {} {}", python.display(), script.display()))?;
        let stdin = child.stdin.take().context("the Ray bridge has no stdin")?;
        let stdout = child
            .stdout
            .take()
            .context("the Ray bridge has no stdout")?;
        let pending: Pending = Arc::default();
        let waiting = pending.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(r) = serde_json::from_str::<BridgeReply>(&line) else {
                    continue;
                };
                let answer = match (r.stdout, r.lost) {
                    (Some(out), None) => Ok(out),
                    (_, lost) => Err(lost.unwrap_or_else(|| "the task answered nothing".into())),
                };
                if let Some(tx) = waiting.lock().expect("bridge lock").remove(&r.id) {
                    let _ = tx.send(answer);
                }
            }
            // The bridge is gone: every request still waiting is lost.
            waiting.lock().expect("bridge lock").clear();
        });
        let exe = std::env::current_exe().context("cannot locate the kas executable")?;
        Ok(Bridge {
            stdin: Mutex::new(stdin),
            pending,
            next: AtomicU64::new(0),
            child: Mutex::new(child),
            argv: vec![
                exe.display().to_string(),
                "internal".into(),
                "evaluate".into(),
            ],
            gpus,
        })
    }

    /// Runs one task: its reply, or why it was lost.
    fn call(&self, req: &RemoteRequest) -> Result<RemoteReply, String> {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = channel();
        self.pending.lock().expect("bridge lock").insert(id, tx);
        let line = serde_json::json!({
            "id": id,
            "argv": self.argv,
            "stdin": serde_json::to_string(req).map_err(|e| e.to_string())?,
            "gpus": self.gpus,
        });
        {
            let mut w = self.stdin.lock().expect("bridge lock");
            writeln!(w, "{line}")
                .and_then(|_| w.flush())
                .map_err(|e| format!("the Ray bridge is gone: {e}"))?;
        }
        let out = rx
            .recv()
            .map_err(|_| "the Ray bridge exited".to_string())??;
        serde_json::from_str(out.trim())
            .map_err(|e| format!("kas internal evaluate answered no reply ({e})"))
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let mut child = self.child.lock().expect("bridge lock");
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn kas_home() -> PathBuf {
    match std::env::var("KAS_HOME") {
        Ok(h) if !h.is_empty() => PathBuf::from(h),
        _ => PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| ".".into())).join(".cache/kas"),
    }
}

/// The bridge script, written next to the executable's temporary files (it is built into kas).
fn bridge_script() -> anyhow::Result<PathBuf> {
    let path = std::env::temp_dir().join(format!("kas_ray-{}.py", std::process::id()));
    std::fs::write(&path, include_str!("../python/kas_ray.py"))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// An evaluator whose evaluations are Ray tasks.
struct RayEvaluator {
    bridge: Arc<Bridge>,
    device: String,
    campaign: String,
    dir: PathBuf,
    fidelities: Vec<String>,
    data_dir: Option<PathBuf>,
    baselines: Mutex<Vec<Option<Outcome>>>,
}

impl RayEvaluator {
    fn request(&self, op: RemoteOp, c: Option<&Candidate>, f: &Fidelity, seed: u64) -> Outcome {
        let job = match c.map(|c| self.job(c)).transpose() {
            Ok(j) => j,
            Err(e) => return Outcome::failed(FailureKind::Invalid, e),
        };
        let req = RemoteRequest {
            op,
            campaign: self.campaign.clone(),
            data_dir: self.data_dir.clone(),
            baselines: self.baselines.lock().expect("baselines").clone(),
            fidelity: self
                .fidelities
                .iter()
                .position(|n| *n == f.name)
                .unwrap_or(0),
            seed,
            job,
        };
        match self.bridge.call(&req) {
            Ok(RemoteReply::Outcome(o)) => o,
            Ok(RemoteReply::Device(d)) => Outcome::failed(
                FailureKind::Lost,
                format!("a device key ({d}) for an outcome"),
            ),
            Err(why) => Outcome::failed(FailureKind::Lost, format!("Ray task lost: {why}")),
        }
    }

    fn job(&self, c: &Candidate) -> Result<RemoteJob, String> {
        let path = self
            .dir
            .join(OPERATORS_DIR)
            .join(format!("{}.ron", c.canonical));
        let file = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(RemoteJob {
            canonical: c.canonical.to_string(),
            rules: c.rules.clone(),
            structural: c.structural.to_string(),
            flops: c.flops,
            path: c.path.clone(),
            file,
        })
    }
}

impl Evaluator for RayEvaluator {
    fn device_key(&self) -> String {
        self.device.clone()
    }
    fn evaluate(&self, c: &Candidate, f: &Fidelity, seed: u64) -> Outcome {
        self.request(RemoteOp::Evaluate, Some(c), f, seed)
    }
    fn baseline(&self, f: &Fidelity, seed: u64) -> Outcome {
        self.request(RemoteOp::Baseline, None, f, seed)
    }
    fn time(&self, c: &Candidate, f: &Fidelity) -> Outcome {
        self.request(RemoteOp::Time, Some(c), f, 0)
    }
    fn set_baseline(&self, f: &Fidelity, outcome: &Outcome) {
        if let Some(i) = self.fidelities.iter().position(|n| *n == f.name) {
            self.baselines.lock().expect("baselines")[i] = Some(outcome.clone());
        }
    }
}

/// One Ray evaluator per worker of the campaign (`evaluations_per_device` per device of its
/// file: the number of tasks at once), sharing one bridge to the cluster at `address` (`auto`:
/// the one `ray start` left on this host). Their device key is the one a first task answers.
pub fn evaluators(
    c: &Campaign,
    address: &str,
    data_dir: Option<&Path>,
) -> anyhow::Result<Vec<Arc<dyn Evaluator>>> {
    let workers = c.file.worker_devices();
    let gpus = if workers.iter().all(|d| d.starts_with("cuda:")) {
        1.0 / f64::from(c.file.evaluations_per_device.max(1))
    } else {
        0.0
    };
    let bridge = Arc::new(Bridge::start(address, gpus)?);
    let probe = RemoteRequest {
        op: RemoteOp::Device,
        campaign: c.file.to_text(),
        data_dir: data_dir.map(Path::to_path_buf),
        baselines: vec![None; c.file.fidelities.len()],
        fidelity: 0,
        seed: 0,
        job: None,
    };
    let device = match bridge.call(&probe) {
        Ok(RemoteReply::Device(d)) => d,
        Ok(r) => bail!("the Ray probe task answered {r:?}, not a device key"),
        Err(why) => bail!("the Ray probe task failed: {why}"),
    };
    Ok(workers
        .iter()
        .map(|_| {
            Arc::new(RayEvaluator {
                bridge: bridge.clone(),
                device: device.clone(),
                campaign: probe.campaign.clone(),
                dir: c.dir.clone(),
                fidelities: c.file.fidelities.iter().map(|f| f.name.clone()).collect(),
                data_dir: probe.data_dir.clone(),
                baselines: Mutex::new(vec![None; c.file.fidelities.len()]),
            }) as Arc<dyn Evaluator>
        })
        .collect())
}
