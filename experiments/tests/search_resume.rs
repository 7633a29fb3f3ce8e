//! Kill-and-resume of a real `kas search` process: a campaign on the stand-in evaluator with
//! one worker is SIGKILLed at pseudo-random moments several times and resumed each time; in the
//! end nothing finished was lost or repeated and the results equal an uninterrupted run's.

use kas_search::journal::{self, Record};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn campaign(dir: &Path) -> PathBuf {
    let spec = root().join("experiments/specs/cnn-small.ron");
    let text = format!(
        r#"(
        kind: "kas-campaign", version: 1, name: "kill-test",
        model: (name: "cnn", spec: File("{}")),
        data: "fashion-mnist",
        search: Mcts(()),
        budget: (max_evals: 18),
        fidelities: [(name: "screen", train_steps: Some(10)), (name: "full", epochs: Some(1.0))],
        promote_eta: 3,
        seed: 5,
        devices: ["cpu"],
        evaluator: StandIn((sleep_ms: 25, fail_fraction: 0.15)),
    )"#,
        spec.display()
    );
    let p = dir.join("kill-test.ron");
    std::fs::write(&p, text).unwrap();
    p
}

fn kas(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kas"));
    c.args(args)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Deterministic content of a journal: baselines, jobs and outcomes without timings.
fn results(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for r in journal::read(dir).unwrap().records {
        match r {
            Record::Baseline {
                fidelity, outcome, ..
            } => out.push(format!("baseline {fidelity} {outcome:?}")),
            Record::Job {
                job,
                fidelity,
                canonical,
                ..
            } => out.push(format!("job {job} {fidelity} {canonical}")),
            Record::Outcome {
                job,
                canonical,
                fidelity,
                outcome,
                reward,
                ..
            } => out.push(format!(
                "outcome {job} {canonical} {fidelity} {outcome:?} {reward}"
            )),
            _ => {}
        }
    }
    out
}

/// Small deterministic generator of kill delays (SplitMix64).
fn delays(seed: u64, n: usize, lo_ms: u64, hi_ms: u64) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            lo_ms + (z ^ (z >> 31)) % (hi_ms - lo_ms)
        })
        .collect()
}

#[test]
fn a_campaign_killed_several_times_ends_like_an_uninterrupted_one() {
    let t0 = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = campaign(tmp.path());
    let cfg = cfg.to_str().unwrap();
    let whole = tmp.path().join("whole");
    let o = kas(&["search", "--config", cfg, "--out", whole.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = results(&whole);
    let run_ms = t0.elapsed().as_millis() as u64;

    let killed = tmp.path().join("killed");
    let killed_s = killed.to_str().unwrap();
    let mut kills_mid_run = 0;
    // Kill moments between a sixth and a half of an uninterrupted run, so that most land while
    // a (re)started campaign still has work left; stop after 5 kills mid-run or once a campaign
    // finished on its own (the final resume below completes what is left either way).
    let run_ms = run_ms.max(200);
    for ms in delays(7, 20, run_ms / 6, run_ms / 2) {
        if kills_mid_run >= 5 {
            break;
        }
        // Killed before the journal (created whole with its header) was written: the campaign
        // never started, so it is started again.
        let mut child = if !killed.join("journal.jsonl").exists() {
            kas(&["search", "--config", cfg, "--out", killed_s])
        } else {
            kas(&["search", "--resume", killed_s])
        }
        .spawn()
        .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            kills_mid_run += 1;
        }
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(
            status.success() || status.code().is_none(),
            "a resume failed: {:?}",
            child.stderr.take().map(|mut e| {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut e, &mut s).unwrap();
                s
            })
        );
        if finished {
            break;
        }
    }
    assert!(
        kills_mid_run >= 3,
        "only {kills_mid_run} kills hit a running campaign"
    );
    let o = if killed.join("journal.jsonl").exists() {
        kas(&["search", "--resume", killed_s]).output().unwrap()
    } else {
        kas(&["search", "--config", cfg, "--out", killed_s])
            .output()
            .unwrap()
    };
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Nothing lost, nothing repeated.
    let recs = journal::read(&killed).unwrap().records;
    let mut outcomes: BTreeMap<u64, usize> = BTreeMap::new();
    let mut jobs = HashSet::new();
    let mut screened = HashSet::new();
    for r in &recs {
        match r {
            Record::Job {
                job,
                fidelity,
                canonical,
                ..
            } => {
                assert!(jobs.insert(*job), "job {job} issued twice");
                if *fidelity == 0 {
                    assert!(
                        screened.insert(canonical.clone()),
                        "{canonical} screened twice"
                    );
                }
            }
            Record::Outcome { job, .. } => *outcomes.entry(*job).or_default() += 1,
            _ => {}
        }
    }
    assert_eq!(jobs.len(), 18);
    assert!(outcomes.values().all(|&n| n == 1), "{outcomes:?}");
    assert_eq!(outcomes.len(), 18);
    // Exactly the uninterrupted run's results.
    assert_eq!(results(&killed), want);
    eprintln!(
        "kill-and-resume: {kills_mid_run} kills mid-run, {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
