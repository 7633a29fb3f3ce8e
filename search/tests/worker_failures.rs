//! A worker whose evaluator answers a `lost` failure (a failed GPU or host, a task its engine
//! lost) is retired with a `retire` record, and its job runs again once on another worker:
//! nothing is lost, nothing is repeated, and the journal holds what a run without the failure
//! holds. With every worker lost, the session ends with an error, and a resume finishes the
//! campaign.

use kas_campaign::{CampaignFile, Candidate, Evaluator, FailureKind, Fidelity, Outcome};
use kas_search::journal::{self, Record};
use kas_search::{Campaign, SearchError, SessionOptions, StandIn};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const EVALS: u64 = 12;

fn file() -> CampaignFile {
    let spec = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../experiments/specs/cnn-small.ron"
    );
    let text = format!(
        r#"(
        kind: "kas-campaign", version: 1, name: "worker-failures",
        model: (name: "cnn", spec: File("{spec}")),
        data: "fashion-mnist",
        search: Random,
        budget: (max_evals: {EVALS}),
        fidelities: [(name: "screen", train_steps: Some(10), timing_repeats: Some(3))],
        seed: 11,
        devices: ["cpu"],
        evaluator: StandIn(()),
    )"#
    );
    CampaignFile::parse(&text, "wf.ron").unwrap()
}

/// The stand-in, taking 10 ms per evaluation, lost (after 10 ms more) once it has finished
/// `good` evaluations.
struct Flaky {
    inner: StandIn,
    good: usize,
    done: AtomicUsize,
}

impl Evaluator for Flaky {
    fn device_key(&self) -> String {
        self.inner.device_key()
    }
    fn evaluate(&self, c: &Candidate, f: &Fidelity, seed: u64) -> Outcome {
        std::thread::sleep(Duration::from_millis(10));
        if self.done.fetch_add(1, Ordering::SeqCst) >= self.good {
            std::thread::sleep(Duration::from_millis(10));
            return Outcome::failed(FailureKind::Lost, "GPU fell off the bus");
        }
        self.inner.evaluate(c, f, seed)
    }
    fn time(&self, c: &Candidate, f: &Fidelity) -> Outcome {
        self.inner.time(c, f)
    }
    fn baseline(&self, f: &Fidelity, seed: u64) -> Outcome {
        self.inner.baseline(f, seed)
    }
}

fn evaluators(c: &Campaign, good: &[usize]) -> Vec<Arc<dyn Evaluator>> {
    (good.iter())
        .map(|&good| {
            Arc::new(Flaky {
                inner: StandIn::new(Default::default(), c.file.seed, c.flops_window()),
                good,
                done: AtomicUsize::new(0),
            }) as Arc<dyn Evaluator>
        })
        .collect()
}

/// Job and outcome records by job id (wall seconds left out), and the retire records.
type Jobs = BTreeMap<u64, (String, Option<String>)>;

fn jobs(dir: &Path) -> (Jobs, Vec<u64>) {
    let mut jobs = Jobs::new();
    let mut retired = Vec::new();
    for r in journal::read(dir).unwrap().records {
        match r {
            Record::Job { job, .. } => {
                let text = format!("{r:?}");
                assert!(jobs.insert(job, (text, None)).is_none(), "job {job} twice");
            }
            Record::Outcome {
                job,
                canonical,
                fidelity,
                seed_index,
                device,
                outcome,
                reward,
                ..
            } => {
                let entry = jobs.get_mut(&job).expect("an outcome after its job");
                assert!(entry.1.is_none(), "job {job} has two outcomes");
                let text =
                    format!("{canonical} {fidelity} {seed_index} {device} {outcome:?} {reward}");
                entry.1 = Some(text);
            }
            Record::Retire { job, .. } => retired.push(job),
            _ => {}
        }
    }
    (jobs, retired)
}

fn run(dir: &Path, good: &[usize]) -> Result<(), SearchError> {
    let c = Campaign::create(dir, &file(), Path::new("/")).unwrap();
    c.run(&evaluators(&c, good), SessionOptions::default(), &|_| {})
        .map(|_| ())
}

#[test]
fn a_lost_worker_s_job_runs_again_once_and_the_journal_matches_a_local_run() {
    let local = tempfile::tempdir().unwrap();
    run(local.path(), &[usize::MAX]).unwrap();
    let (want, none) = jobs(local.path());
    assert!(none.is_empty());
    assert_eq!(want.len() as u64, EVALS);
    assert!(want.values().all(|(_, o)| o.is_some()));

    let flaky = tempfile::tempdir().unwrap();
    run(flaky.path(), &[usize::MAX, 2, usize::MAX]).unwrap();
    let (got, retired) = jobs(flaky.path());
    assert_eq!(retired.len(), 1, "one worker lost, once");
    assert_eq!(
        got, want,
        "every job once, with the outcome of the local run"
    );
}

#[test]
fn with_every_worker_lost_the_session_stops_and_a_resume_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    match run(tmp.path(), &[1, 1]) {
        Err(SearchError::WorkersLost { last }) => assert!(last.contains("bus"), "{last}"),
        r => panic!("{r:?}"),
    }
    let (partial, retired) = jobs(tmp.path());
    assert_eq!(retired.len(), 2);
    let unfinished = partial.values().filter(|(_, o)| o.is_none()).count();
    assert!(unfinished >= 1, "{partial:?}");

    let c = Campaign::open(tmp.path()).unwrap();
    let summary = c
        .run(
            &evaluators(&c, &[usize::MAX]),
            SessionOptions::default(),
            &|_| {},
        )
        .unwrap();
    assert_eq!(summary.finished, EVALS);
    let (done, _) = jobs(tmp.path());
    assert!(done.values().all(|(_, o)| o.is_some()), "{done:?}");
    let local = tempfile::tempdir().unwrap();
    run(local.path(), &[usize::MAX]).unwrap();
    assert_eq!(done, jobs(local.path()).0);
}
