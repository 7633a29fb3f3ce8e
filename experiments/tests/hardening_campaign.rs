//! `kas search` and `kas report` on campaign directories, as a careless user or an unlucky
//! moment would use them: two processes on one directory (the second refused, naming the
//! holder; a killed holder locks nothing out), `--resume` without a journal, `--out` into a
//! directory of other files, a corrupt dataset, edited or duplicated journal records; and what
//! a log shows (the directory first, then each baseline) and what the report lists.

use kas_eval::data::DatasetName;
use kas_eval::data::synthetic::write_synthetic;
use kas_search::journal::{self, Record};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A stand-in campaign file in `dir`: one worker, each evaluation (and baseline) taking
/// `sleep_ms`.
fn config(dir: &Path, sleep_ms: u64, fail_fraction: f64) -> String {
    let spec = root().join("experiments/specs/cnn-small.ron");
    let text = format!(
        r#"(
        kind: "kas-campaign", version: 1, name: "hardening",
        model: (name: "cnn", spec: File("{}")),
        data: "fashion-mnist",
        search: Mcts(()),
        budget: (max_evals: 6),
        fidelities: [(name: "screen", train_steps: Some(10)), (name: "full", epochs: Some(1.0))],
        promote_eta: 3,
        seed: 2,
        devices: ["cpu"],
        evaluator: StandIn((sleep_ms: {sleep_ms}, fail_fraction: {fail_fraction})),
    )"#,
        spec.display()
    );
    let p = dir.join(format!("standin-{sleep_ms}-{fail_fraction}.ron"));
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kas"));
    c.args(args).current_dir(root());
    c
}

fn kas(args: &[&str]) -> Output {
    command(args).output().expect("kas runs")
}

fn spawn(args: &[&str]) -> Child {
    command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kas starts")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn succeeded(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(o), stderr(o));
}

/// Exit 2 with one line `error: …` containing every needle; returns the line.
fn one_line_error(o: &Output, needles: &[&str]) -> String {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(e.starts_with("error: ") && !e.contains("panicked"), "{e}");
    for n in needles {
        assert!(e.contains(n), "{n:?} not in {e}");
    }
    e
}

/// Waits until `dir`'s journal holds a line containing `needle`.
fn wait_for(dir: &Path, needle: &str) {
    let t0 = Instant::now();
    loop {
        let text = std::fs::read_to_string(dir.join(journal::JOURNAL_FILE)).unwrap_or_default();
        if text.lines().any(|l| l.contains(needle)) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no {needle} in {text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// (headers, jobs, outcomes) of a journal, each job and outcome once.
fn counts(dir: &Path) -> (usize, usize, usize) {
    let recs = journal::read(dir).unwrap().records;
    let headers = recs
        .iter()
        .filter(|r| matches!(r, Record::Header { .. }))
        .count();
    let mut jobs: Vec<u64> = Vec::new();
    let mut outcomes: Vec<u64> = Vec::new();
    for r in &recs {
        match r {
            Record::Job { job, .. } => jobs.push(*job),
            Record::Outcome { job, .. } => outcomes.push(*job),
            _ => {}
        }
    }
    let (n_jobs, n_outcomes) = (jobs.len(), outcomes.len());
    jobs.dedup();
    outcomes.sort();
    outcomes.dedup();
    assert_eq!(
        (jobs.len(), outcomes.len()),
        (n_jobs, n_outcomes),
        "repeated"
    );
    (headers, n_jobs, n_outcomes)
}

#[test]
fn a_second_process_on_a_running_campaign_is_refused_and_the_campaign_resumes_after() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 300, 0.1);
    let dir = tmp.path().join("c");
    let d = dir.to_str().unwrap();
    let first = spawn(&["search", "--config", &cfg, "--out", d, "--max-evals", "6"]);
    wait_for(&dir, r#""type":"header""#);
    let pid = format!("(pid {}, started ", first.id());
    one_line_error(
        &kas(&["search", "--resume", d, "--max-evals", "6"]),
        &["is in use by another kas process", &pid],
    );
    // A new campaign on it is refused too (it already holds a journal).
    let e = one_line_error(&kas(&["search", "--config", &cfg, "--out", d]), &[]);
    assert!(
        e.contains("already holds a campaign journal") || e.contains("is in use by"),
        "{e}"
    );
    let o = first.wait_with_output().unwrap();
    succeeded(&o);
    assert!(
        stdout(&o).contains("6 evaluations in all"),
        "{}",
        stdout(&o)
    );
    assert_eq!(counts(&dir), (1, 6, 6), "nothing written twice");
    let o = kas(&["search", "--resume", d, "--max-evals", "8"]);
    succeeded(&o);
    assert!(
        stdout(&o).contains("8 evaluations in all"),
        "{}",
        stdout(&o)
    );
    assert_eq!(counts(&dir), (1, 8, 8));
    let o = kas(&["report", d]);
    succeeded(&o);
    assert!(
        stdout(&o).contains("report: 8 evaluations"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn two_new_campaigns_on_one_new_directory_at_once_write_one_header() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 100, 0.1);
    for round in 0..3 {
        let dir = tmp.path().join(format!("c{round}"));
        let d = dir.to_str().unwrap();
        let args = ["search", "--config", &cfg, "--out", d, "--max-evals", "3"];
        let (a, b) = (spawn(&args), spawn(&args));
        let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let ok: Vec<&Output> = outputs.iter().filter(|o| o.status.success()).collect();
        assert_eq!(ok.len(), 1, "round {round}: exactly one runs");
        let refused = outputs.iter().find(|o| !o.status.success()).unwrap();
        let e = one_line_error(refused, &[]);
        assert!(
            e.contains("is in use by another kas process (pid ")
                || e.contains("already holds a campaign journal"),
            "{e}"
        );
        assert_eq!(counts(&dir), (1, 3, 3), "round {round}");
    }
}

#[test]
fn a_killed_campaign_does_not_lock_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 150, 0.1);
    let dir = tmp.path().join("c");
    let d = dir.to_str().unwrap();
    let mut first = spawn(&["search", "--config", &cfg, "--out", d, "--max-evals", "8"]);
    wait_for(&dir, r#""type":"outcome""#);
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let o = kas(&["search", "--resume", d, "--max-evals", "8"]);
    succeeded(&o);
    assert!(
        stdout(&o).contains("8 evaluations in all"),
        "{}",
        stdout(&o)
    );
    assert_eq!(counts(&dir).1, 8);
}

#[test]
fn resume_without_a_journal_is_refused_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 0, 0.1);
    let dir = tmp.path().join("c");
    let d = dir.to_str().unwrap();
    succeeded(&kas(&[
        "search",
        "--config",
        &cfg,
        "--out",
        d,
        "--max-evals",
        "2",
    ]));
    let journal = dir.join(journal::JOURNAL_FILE);
    std::fs::remove_file(&journal).unwrap();
    let msg = [
        "cannot resume ",
        "the campaign never started (its journal.jsonl is missing or holds no record)",
    ];
    one_line_error(&kas(&["search", "--resume", d]), &msg);
    assert!(!journal.exists(), "no new campaign started");
    one_line_error(&kas(&["report", d]), &["cannot report on ", msg[1]]);
    std::fs::write(&journal, "").unwrap();
    one_line_error(&kas(&["search", "--resume", d]), &msg);
    assert_eq!(std::fs::read(&journal).unwrap().len(), 0);
}

#[test]
fn out_into_a_directory_of_other_files_is_refused_and_an_empty_one_is_used() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 0, 0.1);
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("report.md"), "my notes").unwrap();
    one_line_error(
        &kas(&["search", "--config", &cfg, "--out", mine.to_str().unwrap()]),
        &["is not empty and holds no campaign (it has report.md)"],
    );
    assert_eq!(
        std::fs::read_dir(&mine).unwrap().count(),
        1,
        "nothing written"
    );
    assert_eq!(
        std::fs::read_to_string(mine.join("report.md")).unwrap(),
        "my notes"
    );
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = kas(&[
        "search",
        "--config",
        &cfg,
        "--out",
        empty.to_str().unwrap(),
        "--max-evals",
        "2",
    ]);
    succeeded(&o);
}

#[test]
fn a_corrupt_dataset_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_synthetic(DatasetName::FashionMnist, &data, 64, 16, 0).unwrap();
    let images = data.join("fashion-mnist/train-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&images).unwrap();
    std::fs::write(&images, &bytes[..bytes.len() / 2]).unwrap();
    let cfg = tmp.path().join("tch.ron");
    std::fs::write(
        &cfg,
        r#"(kind: "kas-campaign", version: 1, name: "tch", model: (name: "cnn", width: Some(4), image: Some(12)),
        data: "fashion-mnist", search: Random, budget: (max_evals: 2),
        fidelities: [(name: "screen", train_steps: Some(2))], promote_eta: 2, seed: 0,
        devices: ["cpu"], evaluator: Tch)"#,
    )
    .unwrap();
    let out = tmp.path().join("c");
    one_line_error(
        &kas(&[
            "search",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ]),
        &["train-images-idx3-ubyte.gz"],
    );
    assert!(!out.exists(), "nothing written");
}

/// The journal's lines and the index of its first outcome.
fn lines_and_first_outcome(dir: &Path) -> (Vec<String>, usize) {
    let text = std::fs::read_to_string(dir.join(journal::JOURNAL_FILE)).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let at = (lines.iter())
        .position(|l| l.contains(r#""type":"outcome""#))
        .unwrap();
    (lines, at)
}

#[test]
fn edited_or_duplicated_outcomes_are_refused_by_resume_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 0, 0.1);
    let dir = tmp.path().join("c");
    let d = dir.to_str().unwrap();
    succeeded(&kas(&[
        "search",
        "--config",
        &cfg,
        "--out",
        d,
        "--max-evals",
        "4",
    ]));
    let (lines, at) = lines_and_first_outcome(&dir);
    let write = |lines: &[String]| {
        std::fs::write(dir.join(journal::JOURNAL_FILE), lines.join("\n") + "\n").unwrap()
    };
    let line_no = format!("journal.jsonl:{}: ", at + 1);
    for (from, to, needle) in [
        (
            r#""device":"stand-in""#,
            r#""device":"cuda:0""#,
            "measured on device cuda:0, the journal's devices are [stand-in]",
        ),
        (r#""rules":""#, r#""rules":"0"#, "under rule set 0"),
    ] {
        let mut edited = lines.clone();
        edited[at] = lines[at].replacen(from, to, 1);
        assert_ne!(edited[at], lines[at]);
        write(&edited);
        for args in [vec!["search", "--resume", d], vec!["report", d]] {
            one_line_error(&kas(&args), &[&line_no, "the outcome of job 0", needle]);
        }
    }
    let mut doubled = lines.clone();
    doubled.insert(at + 1, lines[at].clone());
    write(&doubled);
    let second = format!("journal.jsonl:{}: a second outcome of job 0", at + 2);
    for args in [vec!["search", "--resume", d], vec!["report", d]] {
        one_line_error(&kas(&args), &[&second]);
    }
}

#[test]
fn the_report_lists_measured_operators_and_names_jobs_without_an_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 0, 0.5);
    let dir = tmp.path().join("c");
    let d = dir.to_str().unwrap();
    succeeded(&kas(&[
        "search",
        "--config",
        &cfg,
        "--out",
        d,
        "--max-evals",
        "12",
    ]));
    let o = kas(&["report", d, "--top", "100"]);
    succeeded(&o);
    let text = stdout(&o);
    let failed: usize = text
        .lines()
        .next()
        .and_then(|l| {
            l.split(", ")
                .find(|p| p.ends_with(" failed") || p.contains(" failed ("))
        })
        .and_then(|p| p.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(failed > 0, "the test needs failures: {text}");
    let best: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("best operators"))
        .skip(1)
        .take_while(|l| !l.starts_with("faster than"))
        .filter(|l| l.chars().nth(2) == Some('.'))
        .collect();
    assert!(!best.is_empty(), "{text}");
    assert!(best.iter().all(|l| l.contains(" accuracy ")), "{text}");
    assert!(!best.iter().any(|l| l.contains("failed (")), "{text}");
    // The last outcome lost (as a kill mid-evaluation leaves it): named, not ignored.
    let (mut lines, _) = lines_and_first_outcome(&dir);
    let last = (lines.iter())
        .rposition(|l| l.contains(r#""type":"outcome""#))
        .unwrap();
    let job: serde_json::Value = serde_json::from_str(&lines[last]).unwrap();
    lines.remove(last);
    std::fs::write(dir.join(journal::JOURNAL_FILE), lines.join("\n") + "\n").unwrap();
    let o = kas(&["report", d]);
    succeeded(&o);
    let want = format!(
        "1 job(s) without an outcome (running now, or in flight at the last stop: a resume runs them again): job {} (",
        job["job"]
    );
    assert!(stdout(&o).contains(&want), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("report: 11 evaluations"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn without_a_terminal_the_directory_and_each_baseline_come_first() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), 0, 0.1);
    let dir = tmp.path().join("c");
    let d = dir.to_str().unwrap();
    let o = kas(&["search", "--config", &cfg, "--out", d, "--max-evals", "3"]);
    succeeded(&o);
    assert_eq!(
        stdout(&o).lines().next(),
        Some(format!("campaign {d}").as_str())
    );
    let log = stderr(&o);
    let lines: Vec<&str> = log.lines().collect();
    // The screen baseline on one seed, the last fidelity's on the campaign's three seeds, each
    // announced before it starts and reported when it ends; then one line per evaluation.
    let expected_baselines = [
        ("screen", "1/2"),
        ("full seed 0", "2/2"),
        ("full seed 1", "2/2"),
        ("full seed 2", "2/2"),
    ];
    assert_eq!(lines.len(), 2 * expected_baselines.len() + 3, "{log}");
    for (k, (name, of)) in expected_baselines.iter().enumerate() {
        assert_eq!(
            lines[2 * k],
            format!("baselines: {name} ({of}): measuring the original layers"),
            "{log}"
        );
        assert!(
            lines[2 * k + 1].starts_with(&format!("baselines: {name}: accuracy 0.8")),
            "{log}"
        );
    }
    assert!(
        lines[2 * expected_baselines.len()].starts_with("search: 1/3 evaluations"),
        "{log}"
    );
    // On resume the baselines come from the journal: nothing to announce.
    let o = kas(&["search", "--resume", d, "--max-evals", "4"]);
    succeeded(&o);
    assert!(!stderr(&o).contains("baselines:"), "{}", stderr(&o));
}
