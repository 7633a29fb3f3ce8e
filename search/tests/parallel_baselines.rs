//! The baselines a session lacks are measured on all of its evaluators at once (a resume that
//! adds seeds to a campaign spent minutes training them one after the other), each journaled
//! as it ends.

use kas_campaign::{CampaignFile, Candidate, Evaluator, Fidelity, Outcome};
use kas_search::journal::{self, Record};
use kas_search::{Campaign, SessionOptions, StandIn};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn file() -> CampaignFile {
    let spec = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../experiments/specs/cnn-small.ron"
    );
    let text = format!(
        r#"(
        kind: "kas-campaign", version: 1, name: "parallel-baselines",
        model: (name: "cnn", spec: File("{spec}")),
        data: "fashion-mnist",
        search: Random,
        budget: (max_evals: 2),
        fidelities: [(name: "screen", train_steps: Some(10), timing_repeats: Some(3)),
                     (name: "full", epochs: Some(1.0), timing_repeats: Some(5))],
        promote_eta: 2,
        seed: 4,
        seeds: 3,
        devices: ["cpu"],
        evaluations_per_device: 3,
        evaluator: StandIn(()),
    )"#
    );
    CampaignFile::parse(&text, "pb.ron").unwrap()
}

/// The stand-in, counting baselines in flight at once (each takes 150 ms).
struct Counting {
    inner: StandIn,
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl Evaluator for Counting {
    fn device_key(&self) -> String {
        self.inner.device_key()
    }
    fn evaluate(&self, c: &Candidate, f: &Fidelity, seed: u64) -> Outcome {
        self.inner.evaluate(c, f, seed)
    }
    fn time(&self, c: &Candidate, f: &Fidelity) -> Outcome {
        self.inner.time(c, f)
    }
    fn baseline(&self, f: &Fidelity, seed: u64) -> Outcome {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(n, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(150));
        self.now.fetch_sub(1, Ordering::SeqCst);
        self.inner.baseline(f, seed)
    }
}

#[test]
fn missing_baselines_run_on_every_evaluator_and_are_all_journaled() {
    let tmp = tempfile::tempdir().unwrap();
    let f = file();
    let c = Campaign::create(tmp.path(), &f, Path::new("/")).unwrap();
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let evs: Vec<Arc<dyn Evaluator>> = (0..3)
        .map(|_| {
            Arc::new(Counting {
                inner: StandIn::new(Default::default(), f.seed, c.flops_window()),
                now: now.clone(),
                most: most.clone(),
            }) as Arc<dyn Evaluator>
        })
        .collect();
    let opts = SessionOptions {
        max_evals: Some(2),
        ..SessionOptions::default()
    };
    c.run(&evs, opts, &|_| {}).unwrap();
    assert!(most.load(Ordering::SeqCst) >= 2, "baselines one at a time");
    let mut got: Vec<(usize, u32)> = (journal::read(tmp.path()).unwrap().records.iter())
        .filter_map(|r| match r {
            Record::Baseline {
                fidelity,
                seed_index,
                ..
            } => Some((*fidelity, *seed_index)),
            _ => None,
        })
        .collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [(0, 0), (1, 0), (1, 1), (1, 2)],
        "one screen, three full seeds"
    );
}
