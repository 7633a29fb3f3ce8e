//! `kas search --engine ray:ADDR` against a single-node Ray cluster that the test starts itself
//! (on the CPU, stopped at the end even when the test fails): a stand-in campaign with several
//! Ray workers yields the journal of a local run with one worker (every job and outcome, in job
//! order), and a task killed mid-evaluation is retired and run again once: nothing is lost,
//! nothing repeated. Skips, saying why, when Ray is not installed (scripts/env.sh installs it).

use kas_search::journal::{self, Record};
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The Python with Ray, as kas finds it.
fn ray_python() -> Option<PathBuf> {
    let p = match std::env::var("KAS_RAY_PYTHON") {
        Ok(p) if !p.is_empty() => PathBuf::from(p),
        _ => {
            let home = std::env::var("KAS_HOME").unwrap_or_else(|_| {
                format!("{}/.cache/kas", std::env::var("HOME").unwrap_or_default())
            });
            Path::new(&home).join("ray-2.60.0/bin/python")
        }
    };
    (p.is_file() && p.with_file_name("ray").is_file()).then_some(p)
}

/// A Ray head started by this test, in its own process group, stopped on drop.
struct Head {
    child: Child,
    address: String,
    mark: String,
    token: String,
}

impl Head {
    fn start(python: &Path, tmp: &Path) -> Head {
        let port = 20000 + (std::process::id() % 20000) as u16;
        let mark = format!("kas-engine-ray-{}", std::process::id());
        // Ray 2.60 authenticates with a token: this cluster's, known to this test only.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let token = format!("{:032x}", nanos ^ (u128::from(std::process::id()) << 64));
        let child = Command::new(python.with_file_name("ray"))
            .args(["start", "--head", "--block", "--num-cpus=4", "--num-gpus=0"])
            .arg(format!("--port={port}"))
            .args(["--include-dashboard=false", "--disable-usage-stats"])
            .arg(format!("--temp-dir={}", tmp.display()))
            .env("KAS_ENGINE_RAY_TEST", &mark)
            .env("RAY_AUTH_MODE", "token")
            .env("RAY_AUTH_TOKEN", &token)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("ray start");
        Head {
            child,
            address: format!("127.0.0.1:{port}"),
            mark,
            token,
        }
    }
}

impl Drop for Head {
    fn drop(&mut self) {
        let group = -(self.child.id() as i32);
        unsafe_kill(group, "-TERM");
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        unsafe_kill(group, "-KILL");
        let _ = self.child.wait();
    }
}

/// Sends a signal to a process (group, when negative) this test started, through kill(1).
fn unsafe_kill(pid: i32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

fn campaign(dir: &Path, devices: &str, sleep_ms: u64) -> PathBuf {
    let spec = root().join("experiments/specs/cnn-small.ron");
    let text = format!(
        r#"(
        kind: "kas-campaign", version: 1, name: "engine-ray",
        model: (name: "cnn", spec: File("{}")),
        data: "fashion-mnist",
        search: Random,
        budget: (max_evals: 8),
        fidelities: [(name: "screen", train_steps: Some(10), timing_repeats: Some(3))],
        seed: 7,
        devices: [{devices}],
        evaluator: StandIn((sleep_ms: {sleep_ms}, fail_fraction: 0.2)),
    )"#,
        spec.display()
    );
    let p = dir.join(format!("engine-ray-{sleep_ms}.ron"));
    std::fs::write(&p, text).unwrap();
    p
}

fn kas(file: &Path, out: &Path, engine: &str, python: &Path, head: &Head) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kas"));
    c.args(["search", "--config"])
        .arg(file)
        .arg("--out")
        .arg(out)
        .args(["--engine", engine])
        .env("KAS_RAY_PYTHON", python)
        .env("RAY_AUTH_MODE", "token")
        .env("RAY_AUTH_TOKEN", &head.token)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Job and outcome records by job id (wall seconds left out), and the number of retires.
fn jobs(dir: &Path) -> (BTreeMap<u64, (String, Option<String>)>, usize) {
    let mut jobs = BTreeMap::new();
    let mut retired = 0;
    for r in journal::read(dir).unwrap().records {
        match &r {
            Record::Job { job, .. } => {
                assert!(jobs.insert(*job, (format!("{r:?}"), None)).is_none());
            }
            Record::Outcome {
                job,
                canonical,
                device,
                outcome,
                reward,
                ..
            } => {
                let e: &mut (String, Option<String>) = jobs.get_mut(job).unwrap();
                assert!(e.1.is_none(), "job {job} has two outcomes");
                e.1 = Some(format!("{canonical} {device} {outcome:?} {reward}"));
            }
            Record::Retire { .. } => retired += 1,
            _ => {}
        }
    }
    (jobs, retired)
}

/// `kas internal evaluate` processes of the cluster this test started (found by the mark its
/// Ray workers inherit).
fn evaluations(mark: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let env = std::fs::read(e.path().join("environ")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains("internal evaluate")
            && String::from_utf8_lossy(&env).contains(&format!("KAS_ENGINE_RAY_TEST={mark}"))
        {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn a_ray_campaign_journals_what_a_local_run_does_and_survives_a_killed_task() {
    let Some(python) = ray_python() else {
        eprintln!(
            "skipped: Ray is not installed (scripts/env.sh installs ray 2.60.0 into $KAS_HOME)"
        );
        return;
    };
    let tmp = tempfile::Builder::new()
        .prefix("kr")
        .tempdir_in("/tmp")
        .unwrap();
    let head = Head::start(&python, &tmp.path().join("ray"));
    let t0 = Instant::now();

    // The same campaign run locally with one worker.
    let one = campaign(tmp.path(), "\"cpu\"", 0);
    let local = tmp.path().join("local");
    let out = kas(&one, &local, "local", &python, &head).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (want, _) = jobs(&local);
    assert_eq!(want.len(), 8);

    // Three Ray workers (the head may still be starting: kas waits for it through ray.init).
    let three = campaign(tmp.path(), "\"cpu\", \"cpu\", \"cpu\"", 0);
    let ray = tmp.path().join("ray-run");
    let engine = format!("ray:{}", head.address);
    let out = kas(&three, &ray, &engine, &python, &head).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (got, retired) = jobs(&ray);
    assert_eq!(retired, 0);
    assert_eq!(got, want, "the Ray run's jobs and outcomes");

    // A task killed mid-evaluation: its worker is retired, its job runs again once.
    let slow = campaign(tmp.path(), "\"cpu\", \"cpu\"", 1500);
    let killed = tmp.path().join("killed");
    let mut run = kas(&slow, &killed, &engine, &python, &head)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let victim = loop {
        // Past the probe and the baseline: a job record is written.
        let started = std::fs::read_to_string(killed.join("journal.jsonl"))
            .is_ok_and(|t| t.contains("\"type\":\"job\""));
        if let (true, Some(&pid)) = (started, evaluations(&head.mark).first()) {
            break pid;
        }
        assert!(Instant::now() < deadline, "no evaluation task started");
        std::thread::sleep(Duration::from_millis(50));
    };
    unsafe_kill(victim, "-KILL");
    let status = run.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(run.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    let (got, retired) = jobs(&killed);
    assert_eq!(retired, 1, "one task killed");
    assert_eq!(got, want, "nothing lost, nothing repeated");
    eprintln!(
        "engine_ray: {:.1} s with the cluster up",
        t0.elapsed().as_secs_f64()
    );
}
