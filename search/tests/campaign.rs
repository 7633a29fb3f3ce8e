//! The campaign runner with stand-in evaluators: resuming from any prefix of a journal ends
//! with exactly the uninterrupted run's results; several workers stay busy and never repeat a
//! candidate; failures, panics and the wall-time budget are outcomes, not crashes; journals
//! under another seed or campaign file are refused.

mod common;
use common::*;
use kas_campaign::{CampaignFile, Candidate, Evaluator, Fidelity, Outcome, StandInConfig};
use kas_search::journal::{self, Record};
use kas_search::runner::CAMPAIGN_FILE;
use kas_search::{Campaign, CanonCache, SessionOptions, StandIn, StopReason};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

fn cache() -> Arc<CanonCache> {
    static C: OnceLock<Arc<CanonCache>> = OnceLock::new();
    C.get_or_init(|| Arc::new(CanonCache::default())).clone()
}

fn file(max_evals: u64, devices: usize, algorithm: &str) -> CampaignFile {
    let spec = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../experiments/specs/cnn-small.ron"
    );
    let devices = vec!["\"cpu\""; devices].join(", ");
    let text = format!(
        r#"(
        kind: "kas-campaign", version: 1, name: "test",
        model: (name: "cnn", spec: File("{spec}")),
        data: "fashion-mnist",
        search: {algorithm},
        budget: (max_evals: {max_evals}),
        fidelities: [(name: "screen", train_steps: Some(10)), (name: "full", epochs: Some(1.0))],
        promote_eta: 3,
        seed: 11,
        devices: [{devices}],
        evaluator: StandIn((fail_fraction: 0.2)),
    )"#
    );
    CampaignFile::parse(&text, "test.ron").unwrap()
}

fn opts() -> SessionOptions {
    SessionOptions {
        cache: Some(cache()),
        ..SessionOptions::default()
    }
}

/// Every job has exactly one outcome and no candidate is screened twice.
fn check_nothing_lost_or_repeated(dir: &Path) {
    let recs = journal::read(dir).unwrap().records;
    let mut jobs = BTreeMap::new();
    let mut outcomes: BTreeMap<u64, usize> = BTreeMap::new();
    let mut screened = HashSet::new();
    for r in &recs {
        match r {
            Record::Job {
                job,
                fidelity,
                canonical,
                ..
            } => {
                assert!(jobs.insert(*job, ()).is_none(), "job {job} issued twice");
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
    for job in jobs.keys() {
        assert_eq!(outcomes.get(job), Some(&1), "job {job}");
    }
    assert_eq!(jobs.len(), outcomes.len());
}

#[test]
fn resuming_from_any_prefix_of_the_journal_gives_the_uninterrupted_results() {
    let whole = tempfile::tempdir().unwrap();
    let f = file(14, 1, "Mcts(())");
    let c = Campaign::create(whole.path(), &f, Path::new("/")).unwrap();
    let s = c.run(&[standin(&c, 0.2)], opts(), &|_| {}).unwrap();
    assert_eq!((s.stop, s.finished), (StopReason::MaxEvals, 14));
    let want = results(whole.path());
    assert!(
        want.iter()
            .any(|l| l.starts_with("job") && l.contains(" 1.0 ")),
        "no promotion happened: {want:#?}"
    );
    assert!(
        want.iter()
            .any(|l| l.starts_with("job") && l.contains(" 1.2 ")),
        "no candidate ran its third seed at the last fidelity: {want:#?}"
    );
    check_nothing_lost_or_repeated(whole.path());
    let bytes = std::fs::read(whole.path().join(journal::JOURNAL_FILE)).unwrap();
    // Kill points: inside the header, between records, and inside records.
    let n = bytes.len();
    let header_len = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    for cut in [40, n / 4, n / 2 + 17, n - 9] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            whole.path().join(CAMPAIGN_FILE),
            dir.path().join(CAMPAIGN_FILE),
        )
        .unwrap();
        std::fs::write(dir.path().join(journal::JOURNAL_FILE), &bytes[..cut]).unwrap();
        if cut < header_len {
            // A journal is created with its header in one rename, so only an edit leaves a
            // torn header: nothing to resume, and the campaign is not silently restarted.
            let e = Campaign::open(dir.path()).unwrap_err().to_string();
            assert!(e.contains("the campaign never started"), "{e}");
            continue;
        }
        let c = Campaign::open(dir.path()).unwrap();
        let s = c.run(&[standin(&c, 0.2)], opts(), &|_| {}).unwrap();
        assert!(s.resumed);
        assert_eq!(s.finished, 14, "cut at {cut}");
        assert_eq!(results(dir.path()), want, "cut at {cut} of {n}");
        check_nothing_lost_or_repeated(dir.path());
        assert!(
            dir.path().join("operators").read_dir().unwrap().count() > 0,
            "operator files are rewritten on resume"
        );
    }
}

#[test]
fn a_larger_budget_on_resume_continues_where_the_first_session_stopped() {
    let whole = tempfile::tempdir().unwrap();
    let c = Campaign::create(whole.path(), &file(9, 1, "Random"), Path::new("/")).unwrap();
    c.run(&[standin(&c, 0.2)], opts(), &|_| {}).unwrap();
    let parts = tempfile::tempdir().unwrap();
    let c = Campaign::create(parts.path(), &file(9, 1, "Random"), Path::new("/")).unwrap();
    let o = SessionOptions {
        max_evals: Some(4),
        ..opts()
    };
    assert_eq!(c.run(&[standin(&c, 0.2)], o, &|_| {}).unwrap().finished, 4);
    drop(c);
    let c = Campaign::open(parts.path()).unwrap();
    let s = c.run(&[standin(&c, 0.2)], opts(), &|_| {}).unwrap();
    assert_eq!((s.finished, s.finished_now), (9, 5));
    assert_eq!(results(parts.path()), results(whole.path()));
}

/// Counts evaluations running at once.
struct Busy {
    inner: StandIn,
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    panic_on: Option<u128>,
}

impl Evaluator for Busy {
    fn device_key(&self) -> String {
        "cpu-test".into()
    }
    fn evaluate(&self, c: &Candidate, f: &Fidelity, seed: u64) -> Outcome {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(300));
        self.now.fetch_sub(1, Ordering::SeqCst);
        if self
            .panic_on
            .is_some_and(|m| c.canonical.0.is_multiple_of(m))
        {
            panic!("test evaluator gives up");
        }
        self.inner.evaluate(c, f, seed)
    }
    fn baseline(&self, f: &Fidelity, seed: u64) -> Outcome {
        self.inner.baseline(f, seed)
    }
    fn time(&self, c: &Candidate, f: &Fidelity) -> Outcome {
        self.inner.time(c, f)
    }
}

#[test]
fn several_workers_stay_busy_and_never_repeat_a_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let c = Campaign::create(dir.path(), &file(15, 3, "Mcts(())"), Path::new("/")).unwrap();
    let (now, peak) = (Arc::default(), Arc::new(AtomicUsize::new(0)));
    let evs: Vec<Arc<dyn Evaluator>> = (0..3)
        .map(|_| {
            Arc::new(Busy {
                inner: StandIn::new(StandInConfig::default(), 11, c.flops_window()),
                now: Arc::clone(&now),
                peak: peak.clone(),
                panic_on: Some(3),
            }) as Arc<dyn Evaluator>
        })
        .collect();
    let calls = AtomicUsize::new(0);
    let s = c
        .run(&evs, opts(), &|p| {
            if p.phase == kas_search::Phase::Search {
                calls.fetch_add(1, Ordering::SeqCst);
            }
            assert!(p.in_flight <= 3);
        })
        .unwrap();
    assert_eq!(s.finished, 15);
    assert_eq!(peak.load(Ordering::SeqCst), 3, "three workers ran at once");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        16,
        "one progress call per evaluation, plus one"
    );
    check_nothing_lost_or_repeated(dir.path());
    let crashed = journal::read(dir.path())
        .unwrap()
        .records
        .iter()
        .filter(|r| {
            matches!(
                r,
                Record::Outcome {
                    outcome: Outcome::Failed {
                        kind: kas_campaign::FailureKind::Crashed,
                        ..
                    },
                    ..
                }
            )
        })
        .count();
    assert!(crashed > 0, "panics are recorded as crashed outcomes");
}

#[test]
fn the_wall_time_budget_stops_a_session_and_resume_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let c = Campaign::create(dir.path(), &file(6, 1, "Random"), Path::new("/")).unwrap();
    let slow: Arc<dyn Evaluator> = Arc::new(StandIn::new(
        StandInConfig {
            sleep_ms: 60,
            ..StandInConfig::default()
        },
        11,
        c.flops_window(),
    ));
    let o = SessionOptions {
        minutes: Some(0.1 / 60.0),
        ..opts()
    };
    let s = c.run(std::slice::from_ref(&slow), o, &|_| {}).unwrap();
    assert_eq!(s.stop, StopReason::WallTime);
    assert!(s.finished < 6);
    drop(c);
    let c = Campaign::open(dir.path()).unwrap();
    let s = c.run(&[slow], opts(), &|_| {}).unwrap();
    assert_eq!((s.stop, s.finished), (StopReason::MaxEvals, 6));
    check_nothing_lost_or_repeated(dir.path());
}

#[test]
fn journals_under_other_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = Campaign::create(dir.path(), &file(2, 1, "Random"), Path::new("/")).unwrap();
    c.run(&[standin(&c, 0.2)], opts(), &|_| {}).unwrap();
    // (Another device is not refused: its timing is taken anew, tests/seeds_devices_migration.rs.)
    // An edited campaign file is refused.
    let path = dir.path().join(CAMPAIGN_FILE);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("seed: 11", "seed: 12");
    std::fs::write(&path, text).unwrap();
    drop(c);
    // Refused when opened, before any evaluator is built.
    let e = Campaign::open(dir.path()).unwrap_err().to_string();
    assert!(e.contains("changed since the campaign started"), "{e}");
    // And a new campaign never overwrites a journal.
    let e = Campaign::create(dir.path(), &file(2, 1, "Random"), Path::new("/")).unwrap_err();
    assert!(
        e.to_string().contains("already holds a campaign journal"),
        "{e}"
    );
}

/// Records the baselines it is told.
struct Told {
    inner: StandIn,
    told: std::sync::Mutex<Vec<(String, Outcome)>>,
}

impl Evaluator for Told {
    fn device_key(&self) -> String {
        self.inner.device_key()
    }
    fn evaluate(&self, c: &Candidate, f: &Fidelity, seed: u64) -> Outcome {
        self.inner.evaluate(c, f, seed)
    }
    fn baseline(&self, f: &Fidelity, seed: u64) -> Outcome {
        self.inner.baseline(f, seed)
    }
    fn time(&self, c: &Candidate, f: &Fidelity) -> Outcome {
        self.inner.time(c, f)
    }
    fn set_baseline(&self, f: &Fidelity, o: &Outcome) {
        self.told.lock().unwrap().push((f.name.clone(), o.clone()));
    }
}

#[test]
fn evaluators_are_told_the_baselines_whether_evaluated_or_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let c = Campaign::create(dir.path(), &file(3, 1, "Random"), Path::new("/")).unwrap();
    let told = |c: &Campaign| {
        Arc::new(Told {
            inner: StandIn::new(StandInConfig::default(), 11, c.flops_window()),
            told: Default::default(),
        })
    };
    let first = told(&c);
    c.run(&[first.clone() as Arc<dyn Evaluator>], opts(), &|_| {})
        .unwrap();
    let got = first.told.lock().unwrap().clone();
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["screen", "full"]);
    drop(c);
    let c = Campaign::open(dir.path()).unwrap();
    let again = told(&c);
    c.run(&[again.clone() as Arc<dyn Evaluator>], opts(), &|_| {})
        .unwrap();
    assert_eq!(
        *again.told.lock().unwrap(),
        got,
        "replayed from the journal"
    );
}
