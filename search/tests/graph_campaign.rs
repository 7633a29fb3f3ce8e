//! Campaigns over a graph space (`space: Graph(...)`) with the stand-in evaluator: they run,
//! journal graph kernels by canonical hash (each evaluated once), resume from any prefix of
//! the journal to the uninterrupted run's results, give the same journal for the same seed
//! whatever the thread count, report, and migrate to a new rule set.

mod common;
use common::*;
use kas_campaign::CampaignFile;
use kas_search::journal::{self, Record};
use kas_search::kernel_file::read_kernel;
use kas_search::report::CampaignReport;
use kas_search::runner::CAMPAIGN_FILE;
use kas_search::{Campaign, SessionOptions, StopReason};
use std::collections::HashSet;
use std::path::Path;

const SPEC: &str = r#"(
    kind: "kas-spec",
    version: 1,
    name: "tiny",
    input: "[N, C_in: unordered, H, H]",
    output: "[N, C_out: unordered, H, H]",
    variables: (primary: ["N", "C_in", "C_out", "H"], coefficient: ["k=3"]),
    fixed: [(0, 0)],
    bindings: [
        (name: "a", values: {"N": 2, "C_in": 4, "C_out": 4, "H": 6}),
        (name: "b", values: {"N": 2, "C_in": 4, "C_out": 8, "H": 3}),
    ],
)"#;

fn file(max_evals: u64, seed: u64) -> CampaignFile {
    let text = format!(
        r#"(
        kind: "kas-campaign", version: 2, name: "graph-test",
        model: (name: "cnn", spec: Text({spec:?})),
        data: "fashion-mnist",
        space: Graph((max_nodes: 12)),
        search: Random,
        budget: (max_evals: {max_evals}),
        fidelities: [(name: "screen", train_steps: Some(10)), (name: "full", epochs: Some(1.0))],
        promote_eta: 3,
        seed: {seed},
        devices: ["cpu"],
        evaluator: StandIn((fail_fraction: 0.2)),
    )"#,
        spec = SPEC
    );
    CampaignFile::parse(&text, "graph.ron").unwrap()
}

fn run_in(dir: &Path, f: &CampaignFile, threads: usize) -> Vec<String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let c = Campaign::create(dir, f, Path::new("/")).unwrap();
        let s = c
            .run(&[standin(&c, 0.2)], SessionOptions::default(), &|_| {})
            .unwrap();
        assert_eq!(s.stop, StopReason::MaxEvals);
    });
    results(dir)
}

#[test]
fn a_graph_campaign_journals_resumes_from_any_prefix_and_reports() {
    let whole = tempfile::tempdir().unwrap();
    let f = file(12, 3);
    let want = run_in(whole.path(), &f, 1);
    let rules = f.space.rules_digest();
    assert!(rules.starts_with("graph-"));
    // Graph kernels, each screened once, with their kernel files.
    let mut screened = HashSet::new();
    for r in journal::read(whole.path()).unwrap().records {
        if let Record::Job {
            canonical,
            fidelity,
            rules: r,
            ..
        } = r
        {
            assert_eq!(r, rules);
            if fidelity == 0 {
                assert!(screened.insert(canonical.clone()), "{canonical} twice");
            }
            let k = read_kernel(&whole.path().join(format!("operators/{canonical}.ron"))).unwrap();
            assert!(
                k.graph().is_some(),
                "{canonical} is not a graph kernel file"
            );
        }
    }
    assert!(screened.len() >= 5, "{screened:?}");
    assert!(
        want.iter()
            .any(|l| l.starts_with("job") && l.contains(" 1.0 ")),
        "no promotion: {want:#?}"
    );
    // The same seed gives the same journal on more threads; another seed another one.
    let again = tempfile::tempdir().unwrap();
    assert_eq!(run_in(again.path(), &f, 3), want);
    let other = tempfile::tempdir().unwrap();
    assert_ne!(run_in(other.path(), &file(12, 4), 1), want);
    // Resuming from prefixes of the journal ends with the uninterrupted results.
    let bytes = std::fs::read(whole.path().join(journal::JOURNAL_FILE)).unwrap();
    let n = bytes.len();
    for cut in [n / 3, n / 2 + 11, n - 7] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            whole.path().join(CAMPAIGN_FILE),
            dir.path().join(CAMPAIGN_FILE),
        )
        .unwrap();
        std::fs::write(dir.path().join(journal::JOURNAL_FILE), &bytes[..cut]).unwrap();
        let c = Campaign::open(dir.path()).unwrap();
        let s = c
            .run(&[standin(&c, 0.2)], SessionOptions::default(), &|_| {})
            .unwrap();
        assert!(s.resumed);
        assert_eq!(s.finished, 12, "cut at {cut}");
        assert_eq!(results(dir.path()), want, "cut at {cut} of {n}");
    }
    // The report reads it: every row is a graph kernel with its file.
    let r = CampaignReport::load(whole.path()).unwrap();
    assert_eq!(r.entries.len(), screened.len());
    for e in &r.entries {
        let k = read_kernel(&r.operator_path(&e.canonical)).unwrap();
        assert!(k.graph().is_some());
    }
}

#[test]
fn a_graph_journal_under_another_rule_set_is_rekeyed_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let f = file(4, 5);
    let want = run_in(dir.path(), &f, 1);
    let path = dir.path().join(journal::JOURNAL_FILE);
    let rules = f.space.rules_digest();
    let old = std::fs::read_to_string(&path)
        .unwrap()
        .replace(&rules, "graph-00000000000000000000000000000000");
    std::fs::write(&path, old).unwrap();
    let c = Campaign::open(dir.path()).unwrap();
    let o = SessionOptions {
        max_evals: Some(6),
        ..SessionOptions::default()
    };
    let s = c.run(&[standin(&c, 0.2)], o, &|_| {}).unwrap();
    // Every kernel re-keyed (to its own hash: the rules did not really change), none lost,
    // none evaluated again.
    let screened: HashSet<&str> = (want.iter())
        .filter(|l| l.starts_with("job"))
        .map(|l| l.split(' ').nth(4).unwrap())
        .collect();
    assert_eq!(s.migrated, Some((screened.len(), 0)));
    assert_eq!(s.finished, 6);
}
