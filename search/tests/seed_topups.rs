//! Issue 20: candidates already at the last fidelity on fewer seeds than the campaign's get
//! their missing seeds from the scheduler itself at the start of a session, best first, within
//! the budget, journaled like any evaluation and run exactly once across kills (an old journal
//! of one seed, a journal of an older rule set whose candidates the new search never proposed,
//! and the committed GPU campaign `experiments/campaigns/resnet18-fmnist64` as its H100 run
//! left it); promotion skips
//! candidates slower than the campaign's `promote_min_speedup`.

mod common;
use common::*;
use kas_campaign::RewardConfig;
use kas_campaign::StandInConfig;
use kas_campaign::{CampaignFile, Candidate, Evaluator, Fidelity, Metrics, Outcome};
use kas_search::history::campaign_digest;
use kas_search::journal::{self, JOURNAL_FILE, Record};
use kas_search::proposal::Proposal;
use kas_search::report::{CampaignReport, WITHIN_POINTS};
use kas_search::runner::{CAMPAIGN_FILE, OPERATORS_DIR};
use kas_search::scheduler::{ADOPTED, Next, Scheduler};
use kas_search::space::SpaceStats;
use kas_search::{Campaign, Phase, RandomSearch, Searcher, SessionOptions, Space, StandIn};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

fn file(max_evals: u64, extra: &str) -> CampaignFile {
    let spec = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../experiments/specs/cnn-small.ron"
    );
    let text = format!(
        r#"(
        kind: "kas-campaign", version: 1, name: "topups",
        model: (name: "cnn", spec: File("{spec}")),
        data: "fashion-mnist",
        search: Random,
        budget: (max_evals: {max_evals}),
        fidelities: [(name: "screen", train_steps: Some(10), timing_repeats: Some(3)),
                     (name: "full", epochs: Some(1.0), timing_repeats: Some(5))],
        promote_eta: 2,
        seed: 5,
        {extra}
        devices: ["cpu"],
        evaluator: StandIn(()),
    )"#
    );
    CampaignFile::parse(&text, "topups.ron").unwrap()
}

/// The stand-in with a baseline 30 points less accurate: every candidate is within the
/// acceptance window, so those faster than the original layers count once they have all
/// their seeds.
struct Generous(StandIn);

impl Evaluator for Generous {
    fn device_key(&self) -> String {
        self.0.device_key()
    }
    fn evaluate(&self, c: &Candidate, f: &Fidelity, seed: u64) -> Outcome {
        self.0.evaluate(c, f, seed)
    }
    fn baseline(&self, f: &Fidelity, seed: u64) -> Outcome {
        match self.0.baseline(f, seed) {
            Outcome::Ok(m) => Outcome::Ok(Metrics {
                accuracy: m.accuracy.map(|a| a - 0.3),
                ..m
            }),
            o => o,
        }
    }
    fn time(&self, c: &Candidate, f: &Fidelity) -> Outcome {
        self.0.time(c, f)
    }
}

fn generous(c: &Campaign) -> Arc<dyn Evaluator> {
    Arc::new(Generous(StandIn::new(
        StandInConfig::default(),
        c.file.seed,
        c.flops_window(),
    )))
}

fn budget(n: u64) -> SessionOptions {
    SessionOptions {
        max_evals: Some(n),
        ..SessionOptions::default()
    }
}

fn records(dir: &Path) -> Vec<Record> {
    journal::read(dir).unwrap().records
}

/// (canonical, fidelity, seed index) of every job, in order.
fn jobs(recs: &[Record]) -> Vec<(String, usize, u32)> {
    (recs.iter())
        .filter_map(|r| match r {
            Record::Job {
                canonical,
                fidelity,
                seed_index,
                ..
            } => Some((canonical.clone(), *fidelity, *seed_index)),
            _ => None,
        })
        .collect()
}

/// Every job has one outcome, and no (canonical hash, fidelity, seed index) is evaluated twice
/// since the last migration.
fn check_each_evaluation_once(dir: &Path) {
    let recs = records(dir);
    let start = recs
        .iter()
        .rposition(|r| matches!(r, Record::Migration { .. }))
        .unwrap_or(0);
    let mut outcomes: BTreeMap<u64, usize> = BTreeMap::new();
    let mut keys = BTreeSet::new();
    for (i, r) in recs.iter().enumerate() {
        match r {
            Record::Job {
                job,
                canonical,
                fidelity,
                seed_index,
                ..
            } => {
                outcomes.entry(*job).or_default();
                if i > start {
                    let k = (canonical.clone(), *fidelity, *seed_index);
                    assert!(keys.insert(k.clone()), "{k:?} evaluated twice");
                }
            }
            Record::Outcome { job, .. } => *outcomes.entry(*job).or_default() += 1,
            _ => {}
        }
    }
    for (job, n) in outcomes {
        assert_eq!(n, 1, "job {job} has {n} outcomes");
    }
}

/// A journal line with its fields edited by `f`.
fn rewrite_journal(dir: &Path, f: impl Fn(&mut serde_json::Map<String, serde_json::Value>)) {
    let text = std::fs::read_to_string(dir.join(JOURNAL_FILE)).unwrap();
    let lines: Vec<String> = (text.lines())
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            f(v.as_object_mut().unwrap());
            serde_json::to_string(&v).unwrap()
        })
        .collect();
    std::fs::write(dir.join(JOURNAL_FILE), lines.join("\n") + "\n").unwrap();
}

/// Replaces `from` by `to` in the stored campaign file, and its digest in the journal's
/// header: what an older build's campaign directory looks like.
fn edit_campaign(dir: &Path, from: &str, to: &str) {
    let path = dir.join(CAMPAIGN_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{text}");
    let text = text.replace(from, to);
    std::fs::write(&path, &text).unwrap();
    let digest = campaign_digest(&text);
    rewrite_journal(dir, |o| {
        if o["type"] == "header" {
            o.insert("campaign_digest".into(), digest.clone().into());
        }
    });
}

/// A campaign of `evals` evaluations on one seed, made to look like an older build's: no
/// `seeds` in its file (so the default, 3) and none in its sessions.
fn one_seed_campaign(dir: &Path, evals: u64) {
    let c = Campaign::create(dir, &file(evals, "seeds: 1,"), Path::new("/")).unwrap();
    c.run(&[generous(&c)], SessionOptions::default(), &|_| {})
        .unwrap();
    drop(c);
    edit_campaign(dir, "seeds: 1,", "");
    rewrite_journal(dir, |o| {
        if o["type"] == "session" {
            o.remove("seeds");
        }
    });
}

/// The candidates at the last fidelity, in the documented top-up order of the report's rows:
/// faster than the original layers within the window, fastest first; then by reward.
fn best_first(r: &CampaignReport) -> Vec<String> {
    let mut rows: Vec<_> = (r.results.iter())
        .filter(|e| e.fidelity == r.last_fidelity() && e.outcome.metrics().is_some())
        .collect();
    let rank = |e: &kas_search::report::ReportRow| {
        let (s, a) = (e.speedup().unwrap(), e.accuracy().unwrap());
        let b = r.baseline_accuracy_for(e).unwrap();
        if s > 1.0 && a >= b - WITHIN_POINTS / 100.0 {
            (0, -s)
        } else {
            (1, -e.reward)
        }
    };
    rows.sort_by(|a, b| {
        let (x, y) = (rank(a), rank(b));
        x.0.cmp(&y.0).then(x.1.total_cmp(&y.1))
    });
    rows.iter().map(|e| e.canonical.clone()).collect()
}

#[test]
fn a_candidate_on_one_of_three_seeds_gets_the_other_two_on_resume_and_then_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    one_seed_campaign(dir, 14);
    let before = CampaignReport::load(dir).unwrap();
    let order = best_first(&before);
    assert!(order.len() >= 2, "{order:?}");
    let last = before.last_fidelity();
    assert!(
        before
            .faster_and_as_accurate(WITHIN_POINTS)
            .iter()
            .all(|e| e.fidelity < last),
        "one seed of three gives no verdict at the last fidelity"
    );
    let waiting: BTreeSet<String> = (before.waiting_for_seeds(WITHIN_POINTS).iter())
        .map(|e| e.canonical.clone())
        .collect();
    assert!(
        !waiting.is_empty(),
        "a candidate faster and as accurate on one seed"
    );
    for e in before.results.iter().filter(|e| e.fidelity == last) {
        assert_eq!(before.seeds_missing(e), 2);
    }
    assert_eq!(before.baseline_seeds_missing(last), 2);

    let old = records(dir);
    let c = Campaign::open(dir).unwrap();
    let n = 14 + 2 * order.len() as u64;
    let s = c.run(&[generous(&c)], budget(n), &|_| {}).unwrap();
    assert_eq!((s.finished, s.topped_up), (n, 2 * order.len()));
    drop(c);
    let new = &records(dir)[old.len()..];
    let want: Vec<(String, usize, u32)> = (order.iter())
        .flat_map(|h| [(h.clone(), last, 1), (h.clone(), last, 2)])
        .collect();
    assert_eq!(jobs(new), want, "the missing seeds first, best first");
    check_each_evaluation_once(dir);

    let after = CampaignReport::load(dir).unwrap();
    for h in &order {
        let row = (after.results.iter())
            .find(|e| &e.canonical == h && e.fidelity == last)
            .unwrap();
        assert_eq!(row.seeds.len(), 3, "{h}");
        assert_eq!(after.seeds_missing(row), 0);
    }
    assert_eq!(after.baseline_seeds_missing(last), 0);
    assert!(after.waiting_for_seeds(WITHIN_POINTS).is_empty());
    let counted: BTreeSet<String> = (after.faster_and_as_accurate(WITHIN_POINTS).iter())
        .filter(|e| e.fidelity == last)
        .map(|e| e.canonical.clone())
        .collect();
    assert!(!counted.is_empty(), "the acceptance line counts them now");
    // Every candidate is within the window here, and the speedup comes from seed 0: those
    // that passed on one seed are exactly those counted on three.
    assert_eq!(counted, waiting);
}

#[test]
fn a_top_up_cut_by_the_budget_or_a_kill_is_run_once_on_resume() {
    let whole = tempfile::tempdir().unwrap();
    one_seed_campaign(whole.path(), 14);
    let before = records(whole.path());
    let c = Campaign::open(whole.path()).unwrap();
    let s = c.run(&[generous(&c)], budget(22), &|_| {}).unwrap();
    assert_eq!(s.finished, 22);
    drop(c);
    let want = results(whole.path());
    check_each_evaluation_once(whole.path());
    let bytes = std::fs::read(whole.path().join(JOURNAL_FILE)).unwrap();
    let old_len: usize = std::fs::read_to_string(whole.path().join(JOURNAL_FILE))
        .unwrap()
        .lines()
        .take(before.len())
        .map(|l| l.len() + 1)
        .sum();
    // Kill points: before the resumed session, right after the first top-up's job record
    // (its evaluation in flight), inside a later record, and just before the end.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let first_job = old_len + text[old_len..].find("{\"type\":\"job\"").expect("a job");
    let after_job = first_job + text[first_job..].find('\n').unwrap() + 1;
    match serde_json::from_str::<Record>(&text[first_job..after_job]).unwrap() {
        Record::Job {
            fidelity: 1,
            seed_index,
            ..
        } => assert!(seed_index > 0, "the resumed session starts with a top-up"),
        r => panic!("the resumed session starts with {r:?}, not a top-up"),
    }
    let n = bytes.len();
    for cut in [old_len, after_job, (after_job + n) / 2, n - 5] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            whole.path().join(CAMPAIGN_FILE),
            dir.path().join(CAMPAIGN_FILE),
        )
        .unwrap();
        std::fs::write(dir.path().join(JOURNAL_FILE), &bytes[..cut]).unwrap();
        let c = Campaign::open(dir.path()).unwrap();
        // The first session stops on the budget (a cut top-up waits for more); the second
        // resumes with the whole run's.
        let s = c.run(&[generous(&c)], budget(15), &|_| {}).unwrap();
        assert!(s.finished <= 22, "cut at {cut}");
        drop(c);
        let c = Campaign::open(dir.path()).unwrap();
        let s = c.run(&[generous(&c)], budget(22), &|_| {}).unwrap();
        assert_eq!(s.finished, 22, "cut at {cut}");
        check_each_evaluation_once(dir.path());
        let got = results(dir.path());
        let key = |l: &String| l.starts_with("job") || l.starts_with("outcome");
        assert_eq!(
            got.iter().filter(|l| key(l)).collect::<Vec<_>>(),
            want.iter().filter(|l| key(l)).collect::<Vec<_>>(),
            "cut at {cut} of {n}"
        );
    }
}

/// A fake old canonical hash for `h`.
fn fake(h: &str) -> String {
    format!(
        "{:032x}",
        u128::from_str_radix(h, 16).unwrap() ^ 0x0f0f_0000_aaaa_4321
    )
}

#[test]
fn a_migrated_journal_tops_up_candidates_the_new_search_never_proposes() {
    const OLD_RULES: &str = "fedcba9876543210fedcba9876543210";
    let whole = tempfile::tempdir().unwrap();
    let dir = whole.path();
    one_seed_campaign(dir, 14);
    let report = CampaignReport::load(dir).unwrap();
    let order = best_first(&report);
    assert!(order.len() >= 2);
    // An older build's journal: another rule-set digest, other canonical hashes, the operator
    // files under those hashes.
    let original = records(dir);
    let hashes: BTreeSet<String> = jobs(&original).into_iter().map(|(h, _, _)| h).collect();
    rewrite_journal(dir, |o| {
        if o.contains_key("rules") {
            o.insert("rules".into(), OLD_RULES.into());
        }
        if let Some(h) = o.get("canonical").and_then(|v| v.as_str()).map(fake) {
            o.insert("canonical".into(), h.into());
        }
    });
    let ops = dir.join(OPERATORS_DIR);
    for h in &hashes {
        std::fs::rename(
            ops.join(format!("{h}.ron")),
            ops.join(format!("{}.ron", fake(h))),
        )
        .unwrap();
    }
    let old_journal = std::fs::read_to_string(dir.join(JOURNAL_FILE)).unwrap();

    // The archived candidates at the last fidelity get their seeds before anything else, as
    // candidates of their own; when the new search proposes and promotes them again, their
    // seeds are taken from there, not evaluated again.
    let c = Campaign::open(dir).unwrap();
    let n = 14 + 2 * order.len() as u64 + 3;
    let s = c.run(&[generous(&c)], budget(n), &|_| {}).unwrap();
    assert_eq!(s.migrated, Some((hashes.len(), 0)));
    assert_eq!((s.finished, s.topped_up), (n, 2 * order.len()));
    drop(c);
    let recs = records(dir);
    let new = &recs[original.len()..];
    let last = 1;
    let want: Vec<(String, usize, u32)> = (order.iter())
        .flat_map(|h| [(h.clone(), last, 1), (h.clone(), last, 2)])
        .collect();
    let got = jobs(new);
    assert_eq!(
        got[..want.len()],
        want[..],
        "the missing seeds first, best first"
    );
    let adopted: Vec<u64> = (new.iter())
        .filter_map(|r| match r {
            Record::Job { proposal, .. } => Some(*proposal),
            _ => None,
        })
        .take(want.len())
        .collect();
    assert!(
        adopted.iter().all(|p| *p >= kas_search::scheduler::ADOPTED),
        "{adopted:?}"
    );
    check_each_evaluation_once(dir);
    let after = CampaignReport::load(dir).unwrap();
    for h in &order {
        let row = (after.results.iter())
            .find(|e| &e.canonical == h && e.fidelity == last)
            .unwrap();
        assert_eq!(row.seeds.len(), 3, "{h}: seed 0 archived, 1 and 2 new");
    }
    assert!(
        after
            .faster_and_as_accurate(WITHIN_POINTS)
            .iter()
            .any(|e| e.fidelity == last)
    );

    // Killed right after the first top-up's job record: the resume migrates again (same
    // mapping), adopts the same candidates under the same numbers and runs that job once.
    let whole_results = results(dir);
    let text = std::fs::read_to_string(dir.join(JOURNAL_FILE)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let first_top_up = (original.len()..lines.len())
        .find(|&i| lines[i].starts_with("{\"type\":\"job\""))
        .unwrap();
    for keep in [first_top_up + 1, lines.len() - 2] {
        // The directory as the kill left it (the migration wrote the re-keyed operator files
        // before its record): the old journal, then the migration record and what followed
        // it, up to the kill.
        let cut = tempfile::tempdir().unwrap();
        copy_dir(dir, cut.path());
        let mut journal = old_journal.clone();
        for l in &lines[original.len()..keep] {
            journal.push_str(l);
            journal.push('\n');
        }
        std::fs::write(cut.path().join(JOURNAL_FILE), journal).unwrap();
        let c = Campaign::open(cut.path()).unwrap();
        let s = c.run(&[generous(&c)], budget(n), &|_| {}).unwrap();
        assert_eq!((s.finished, s.migrated), (n, None), "kept {keep} lines");
        drop(c);
        check_each_evaluation_once(cut.path());
        assert_eq!(results(cut.path()), whole_results, "kept {keep} lines");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else if e.file_name() != "campaign.lock" {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn resuming_the_committed_gpu_campaign_trains_its_best_candidates_on_every_seed() {
    let committed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../experiments/campaigns/resnet18-fmnist64"
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("camp");
    copy_dir(Path::new(committed), &dir);
    // The journal as the H100 run left it (one seed per candidate; the committed one has
    // since been resumed on the H200, its operators are a superset).
    let h100 = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/resnet18-fmnist64-h100.jsonl"
    );
    std::fs::copy(h100, dir.join(JOURNAL_FILE)).unwrap();
    let before = CampaignReport::load(&dir).unwrap();
    let last = before.last_fidelity();
    let at_last = best_first(&before);
    assert_eq!(before.file.seeds, 3, "the file predates seeds: the default");
    assert!(at_last.len() >= 5, "{at_last:?}");
    let old = records(&dir);
    let c = Campaign::open(&dir).unwrap();
    // The stand-in in place of the H100: what matters is which evaluations are asked for.
    let ev: Arc<dyn Evaluator> = Arc::new(StandIn::new(
        StandInConfig::default(),
        c.file.seed,
        c.flops_window(),
    ));
    let n = before.evaluations as u64 + 2 * at_last.len() as u64;
    let s = c.run(&[ev], budget(n), &|_| {}).unwrap();
    assert_eq!(s.finished, n);
    assert_eq!(s.topped_up, 2 * at_last.len());
    drop(c);
    let recs = records(&dir);
    let new = &recs[old.len()..];
    let rekey: BTreeMap<String, String> = (new.iter())
        .find_map(|r| match r {
            Record::Migration { rekeyed, .. } => Some(rekeyed.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let now = |h: &String| rekey.get(h).cloned().unwrap_or_else(|| h.clone());
    let want: Vec<(String, usize, u32)> = (at_last.iter())
        .flat_map(|h| [(now(h), last, 1), (now(h), last, 2)])
        .collect();
    assert_eq!(jobs(new), want, "every candidate at `full`, best first");
    let after = CampaignReport::load(&dir).unwrap();
    for h in &at_last {
        let row = (after.results.iter())
            .find(|e| e.canonical == now(h) && e.fidelity == last)
            .unwrap();
        let seeds: Vec<u32> = row.seeds.keys().copied().collect();
        assert_eq!(seeds, [0, 1, 2], "{h}");
    }
    assert_eq!(after.baseline_seeds[&last].len(), 3);
}

#[test]
fn promotion_skips_candidates_slower_than_the_floor() {
    let run = |floor: &str| {
        let tmp = tempfile::tempdir().unwrap();
        let f = file(30, &format!("seeds: 1, promote_min_speedup: {floor},"));
        let c = Campaign::create(tmp.path(), &f, Path::new("/")).unwrap();
        let flagged = Mutex::new(Vec::new());
        c.run(&[generous(&c)], SessionOptions::default(), &|p| {
            if let (Phase::Search, Some(fin)) = (&p.phase, &p.last) {
                let s = fin.outcome.metrics().and_then(|m| m.speedup);
                flagged
                    .lock()
                    .unwrap()
                    .push((fin.job.level, s, fin.below_floor));
            }
        })
        .unwrap();
        drop(c);
        let recs = records(tmp.path());
        let screen: BTreeMap<String, f64> = (recs.iter())
            .filter_map(|r| match r {
                Record::Outcome {
                    canonical,
                    fidelity: 0,
                    outcome,
                    ..
                } => Some((canonical.clone(), outcome.metrics()?.speedup?)),
                _ => None,
            })
            .collect();
        let promoted: Vec<f64> = (jobs(&recs).into_iter())
            .filter(|(_, f, _)| *f == 1)
            .map(|(h, _, _)| screen[&h])
            .collect();
        (promoted, flagged.into_inner().unwrap())
    };
    let (free, _) = run("0.0");
    assert!(
        free.iter().any(|s| *s < 1.0),
        "without a floor a slow candidate goes up: {free:?}"
    );
    let (held, flagged) = run("1.0");
    assert!(!held.is_empty(), "fast candidates still go up");
    assert!(held.iter().all(|s| *s >= 1.0), "{held:?}");
    assert!(flagged.iter().any(|f| f.2), "{flagged:?}");
    for (level, s, below) in flagged {
        assert_eq!(below, level == 0 && s.is_some_and(|s| s < 1.0));
    }
}

#[test]
fn an_old_journal_replays_its_promotions_without_a_floor_and_uses_the_floor_from_then_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let c = Campaign::create(
        dir,
        &file(20, "seeds: 1, promote_min_speedup: 0.0,"),
        Path::new("/"),
    )
    .unwrap();
    c.run(&[generous(&c)], SessionOptions::default(), &|_| {})
        .unwrap();
    drop(c);
    // Sessions of an older build, which had no floor; the campaign's floor from now on is 1.
    edit_campaign(
        dir,
        "promote_min_speedup: 0.0,",
        "promote_min_speedup: 1.0,",
    );
    rewrite_journal(dir, |o| {
        if o["type"] == "session" {
            o.remove("promote_min_speedup");
        }
    });
    let old = records(dir);
    let slow_promoted = (jobs(&old).into_iter()).any(|(h, f, _)| {
        f == 1
            && old.iter().any(|r| {
                matches!(r, Record::Outcome { canonical, fidelity: 0, outcome, .. }
                    if *canonical == h && outcome.metrics().and_then(|m| m.speedup).is_some_and(|s| s < 1.0))
            })
    });
    assert!(slow_promoted, "the old journal promoted a slow candidate");
    let c = Campaign::open(dir).unwrap();
    let s = c.run(&[generous(&c)], budget(40), &|_| {}).unwrap();
    assert_eq!(s.finished, 40, "the old promotions replay");
    drop(c);
    let recs = records(dir);
    let new = &recs[old.len()..];
    let screen = |h: &str| {
        recs.iter().find_map(|r| match r {
            Record::Outcome {
                canonical,
                fidelity: 0,
                outcome,
                ..
            } if canonical == h => outcome.metrics()?.speedup,
            _ => None,
        })
    };
    let promoted_now: Vec<f64> = (jobs(new).into_iter())
        .filter(|(_, f, _)| *f == 1)
        .filter_map(|(h, _, _)| screen(&h))
        .collect();
    assert!(!promoted_now.is_empty());
    assert!(promoted_now.iter().all(|s| *s >= 1.0), "{promoted_now:?}");
}

/// What a searcher was told: `observe` or `revise`, proposal, reward.
type Told = Arc<Mutex<Vec<(&'static str, u64, f64)>>>;

/// Proposes the given candidates in order, recording what it is told.
struct Fixed {
    list: Vec<Arc<Candidate>>,
    next: usize,
    told: Told,
}

impl Searcher for Fixed {
    fn name(&self) -> &'static str {
        "fixed"
    }
    fn propose(&mut self) -> Option<Proposal> {
        let c = self.list.get(self.next)?.clone();
        self.next += 1;
        Some(Proposal {
            id: self.next as u64 - 1,
            candidate: c,
        })
    }
    fn observe(&mut self, id: u64, reward: f64) {
        self.told.lock().unwrap().push(("observe", id, reward));
    }
    fn revise(&mut self, id: u64, reward: f64) {
        self.told.lock().unwrap().push(("revise", id, reward));
    }
    fn stats(&self) -> SpaceStats {
        SpaceStats::default()
    }
}

#[test]
fn a_request_for_an_evaluation_in_flight_waits_for_its_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let c = Campaign::create(tmp.path(), &file(10, "seeds: 3,"), Path::new("/")).unwrap();
    let mut random = RandomSearch::new(Space::new(c.dag.clone(), Default::default()), 1);
    let (x, y) = (
        random.propose().unwrap().candidate,
        random.propose().unwrap().candidate,
    );
    let told = Arc::new(Mutex::new(Vec::new()));
    let searcher = Fixed {
        list: vec![x.clone(), y.clone()],
        next: 0,
        told: told.clone(),
    };
    let fids = c.file.fidelities.clone();
    let mut s = Scheduler::new(Box::new(searcher), fids, 2, RewardConfig::default(), 100);
    let ok = |a: f64, sp: f64| {
        Outcome::Ok(Metrics {
            accuracy: Some(a),
            speedup: Some(sp),
            ..Metrics::default()
        })
    };
    for k in 0..3 {
        s.set_baseline(1, k, &ok(0.9, 1.0));
    }
    s.set_baseline(0, 0, &ok(0.8, 1.0));
    // Before a migration: x screened and on seed 0 of the last fidelity, y screened.
    let (hx, hy) = (x.canonical.to_string(), y.canonical.to_string());
    s.archive(hx.clone(), 0, 0, ok(0.85, 1.5));
    s.archive(hx.clone(), 1, 0, ok(0.90, 1.5));
    s.archive(hy.clone(), 0, 0, ok(0.70, 1.2));
    s.archive_candidate(x.clone());
    s.set_seeds(3);
    assert_eq!(s.top_up(), 2);
    let mut running = Vec::new();
    for k in [1, 2] {
        match s.next_job() {
            Next::Run(j) => {
                assert_eq!((j.level, j.seed_index, j.proposal), (1, k, ADOPTED));
                assert_eq!(j.candidate.canonical, x.canonical);
                running.push(j.id);
            }
            n => panic!("{n:?}"),
        }
    }
    // The search proposes x and y again (their screens from the archive) and promotes x, whose
    // seeds 1 and 2 are running: nothing to run, nothing evaluated twice.
    assert!(
        matches!(s.next_job(), Next::Wait),
        "a duplicate job was issued"
    );
    assert_eq!(s.issued(), 2);
    let before = told.lock().unwrap().clone();
    assert!(before.iter().all(|(w, _, _)| *w == "observe"), "{before:?}");
    for (id, a) in running.into_iter().zip([0.91, 0.92]) {
        s.complete(id, ok(a, 1.5)).unwrap();
    }
    let after = told.lock().unwrap().clone();
    let revised: Vec<_> = after.iter().filter(|(w, _, _)| *w == "revise").collect();
    assert_eq!(revised.len(), 1, "{after:?}");
    assert_eq!(
        revised[0].1, 0,
        "x, proposal 0, got its mean over three seeds"
    );
    let mean = ok(0.91, 1.5);
    let want = s.at_screen_scale(1, RewardConfig::default().reward(&mean, Some(0.9)));
    assert!(
        (revised[0].2 - want).abs() < 1e-12,
        "{} vs {want}",
        revised[0].2
    );
    assert!(matches!(s.next_job(), Next::Done(_)));
    assert_eq!(s.finished(), 2);
}
