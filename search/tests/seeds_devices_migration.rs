//! Issue 20, with the stand-in evaluator: the last fidelity trains every promoted candidate and
//! the baseline on each seed and the report gives their statistics; promoted results reach
//! the searcher; a campaign resumed on another device keeps its training figures and times its
//! candidates again; an old journal (one seed) is topped up with the missing seeds; a journal
//! of an older rule set is re-keyed by a migration and its figures are not evaluated again.

use kas_campaign::seeds::training_seed;
use kas_campaign::{CampaignFile, Evaluator, Metrics, Outcome, RewardConfig, StandInConfig};
use kas_primitives::canon::rules;
use kas_search::history::campaign_digest;
use kas_search::journal::{self, JOURNAL_FILE, Record};
use kas_search::proposal::{Proposal, ProposalId};
use kas_search::report::CampaignReport;
use kas_search::runner::{CAMPAIGN_FILE, OPERATORS_DIR};
use kas_search::scheduler::{Next, Scheduler};
use kas_search::space::SpaceStats;
use kas_search::{Campaign, RandomSearch, Searcher, SessionOptions, Space, StandIn};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

fn file(max_evals: u64, seeds: Option<u32>, algorithm: &str) -> CampaignFile {
    let spec = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../experiments/specs/cnn-small.ron"
    );
    let seeds = seeds.map_or(String::new(), |n| format!("seeds: {n},"));
    let text = format!(
        r#"(
        kind: "kas-campaign", version: 1, name: "issue20",
        model: (name: "cnn", spec: File("{spec}")),
        data: "fashion-mnist",
        search: {algorithm},
        budget: (max_evals: {max_evals}),
        fidelities: [(name: "screen", train_steps: Some(10), timing_repeats: Some(3)),
                     (name: "full", epochs: Some(1.0), timing_repeats: Some(5))],
        promote_eta: 2,
        seed: 21,
        {seeds}
        devices: ["cpu"],
        evaluator: StandIn(()),
    )"#
    );
    CampaignFile::parse(&text, "issue20.ron").unwrap()
}

fn on(c: &Campaign, device: &str) -> Arc<dyn Evaluator> {
    Arc::new(StandIn {
        device: device.into(),
        ..StandIn::new(StandInConfig::default(), c.file.seed, c.flops_window())
    })
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

#[test]
fn the_last_fidelity_trains_each_promoted_candidate_and_the_baseline_on_every_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let c = Campaign::create(tmp.path(), &file(24, Some(3), "Mcts(())"), Path::new("/")).unwrap();
    c.run(&[on(&c, "stand-in")], SessionOptions::default(), &|_| {})
        .unwrap();
    let recs = records(tmp.path());
    let baselines: BTreeSet<(usize, u32)> = (recs.iter())
        .filter_map(|r| match r {
            Record::Baseline {
                fidelity,
                seed_index,
                ..
            } => Some((*fidelity, *seed_index)),
            _ => None,
        })
        .collect();
    assert_eq!(baselines, BTreeSet::from([(0, 0), (1, 0), (1, 1), (1, 2)]));
    let js = jobs(&recs);
    assert!(
        js.iter().all(|(_, f, k)| *f == 1 || *k == 0),
        "one seed at the screen"
    );
    let mut full: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for (h, f, k) in &js {
        if *f == 1 {
            full.entry(h).or_default().push(*k);
        }
    }
    assert!(full.len() >= 2, "{js:?}");
    // Seeds of one candidate are issued one after the other; the budget may cut the last.
    let complete: Vec<&&str> = (full.iter())
        .filter(|(_, ks)| **ks == [0, 1, 2])
        .map(|(h, _)| h)
        .collect();
    assert!(complete.len() + 1 >= full.len(), "{full:?}");
    // Each seed trains from its own training seed: the stand-in's accuracy differs.
    let r = CampaignReport::load(tmp.path()).unwrap();
    let row = (r.results.iter())
        .find(|e| e.fidelity == 1 && e.seeds.len() == 3)
        .expect("a candidate with three seeds");
    let acc = row.seed_accuracies();
    assert_eq!(acc.len(), 3);
    assert!(acc[&0] != acc[&1] && acc[&1] != acc[&2], "{acc:?}");
    let s = row.accuracy_sample().unwrap();
    assert!(
        (s.mean - row.accuracy().unwrap()).abs() < 1e-12,
        "the row shows the mean"
    );
    assert!(s.sd.unwrap() > 0.0 && s.half_width.unwrap() > s.sd.unwrap());
    let b = r.baseline_sample(1).unwrap();
    assert_eq!(b.n, 3);
    let d = r.paired(row).unwrap();
    assert_eq!(d.n, 3);
    let by_hand: f64 = (0..3u32)
        .map(|k| {
            acc[&k]
                - r.baseline_seeds[&1][&k]
                    .metrics()
                    .unwrap()
                    .accuracy
                    .unwrap()
        })
        .sum::<f64>()
        / 3.0;
    assert!((d.mean - by_hand).abs() < 1e-12);
    // Screen rows compare with the screen baseline only.
    let screen = r.results.iter().find(|e| e.fidelity == 0).unwrap();
    assert_eq!(r.baseline_accuracy_for(screen), r.baseline_accuracy(0));
    // The row's reward is the reward of its mean against the mean baseline.
    let base = r.baseline_accuracy(1);
    assert_eq!(row.reward, r.file.reward.reward(&row.outcome, base));
}

/// What a searcher was told: `observe` or `revise`, proposal, reward.
type Told = Vec<(&'static str, ProposalId, f64)>;

/// Records what a searcher is told.
struct Recorder {
    inner: RandomSearch,
    log: Arc<Mutex<Told>>,
}

impl Searcher for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    fn propose(&mut self) -> Option<Proposal> {
        self.inner.propose()
    }
    fn observe(&mut self, id: ProposalId, reward: f64) {
        self.log.lock().unwrap().push(("observe", id, reward));
        self.inner.observe(id, reward);
    }
    fn revise(&mut self, id: ProposalId, reward: f64) {
        self.log.lock().unwrap().push(("revise", id, reward));
        self.inner.revise(id, reward);
    }
    fn stats(&self) -> SpaceStats {
        self.inner.stats()
    }
}

#[test]
fn promoted_results_reach_the_searcher_as_the_mean_over_seeds_at_the_screens_scale() {
    let tmp = tempfile::tempdir().unwrap();
    let c = Campaign::create(tmp.path(), &file(10, Some(3), "Random"), Path::new("/")).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let searcher = Recorder {
        inner: RandomSearch::new(Space::new(c.dag.clone(), Default::default()), 5),
        log: log.clone(),
    };
    let reward = RewardConfig::default();
    let fids = c.file.fidelities.clone();
    let mut s = Scheduler::new(Box::new(searcher), fids.clone(), 2, reward, 16);
    s.set_seeds(3);
    let standin = StandIn::new(StandInConfig::default(), 21, c.flops_window());
    let acc = |a: f64| {
        Outcome::Ok(Metrics {
            accuracy: Some(a),
            speedup: Some(1.0),
            ..Metrics::default()
        })
    };
    s.set_baseline(0, 0, &acc(0.80));
    for (k, a) in [0.88, 0.90, 0.92].into_iter().enumerate() {
        s.set_baseline(1, k as u32, &acc(a));
    }
    let mut full: BTreeMap<ProposalId, Vec<Outcome>> = BTreeMap::new();
    while let Next::Run(j) = s.next_job() {
        let o = standin.evaluate(
            &j.candidate,
            &fids[j.level],
            training_seed(21, j.seed_index),
        );
        if j.level == 1 {
            full.entry(j.proposal).or_default().push(o.clone());
        }
        s.complete(j.id, o).unwrap();
    }
    let log = log.lock().unwrap().clone();
    let revised: Vec<&(&str, ProposalId, f64)> =
        log.iter().filter(|(w, _, _)| *w == "revise").collect();
    let done: Vec<(&ProposalId, &Vec<Outcome>)> =
        full.iter().filter(|(_, os)| os.len() == 3).collect();
    assert!(!done.is_empty(), "{log:?}");
    assert_eq!(
        revised.len(),
        done.len(),
        "one revision per candidate with all its seeds"
    );
    // The baseline's own reward is 0.80 at the screen and 0.90 at the last fidelity
    // (balanced reward): a promoted result comes back shifted by 0.10.
    for (p, os) in done {
        let mean = Outcome::mean(os).unwrap();
        let r = reward.reward(&mean, Some(0.90));
        let want = if r > 0.0 { (r - 0.10).max(0.0) } else { 0.0 };
        let got = revised.iter().find(|(_, q, _)| q == p).unwrap().2;
        assert!((got - want).abs() < 1e-12, "proposal {p}: {got} vs {want}");
        assert!((s.at_screen_scale(1, r) - want).abs() < 1e-12);
    }
    // Every proposal was observed once, before any revision of it.
    for (_, p, _) in &revised {
        let first = log.iter().position(|(_, q, _)| q == p).unwrap();
        assert_eq!(log[first].0, "observe");
    }
}

/// (canonical, fidelity, seed index) → accuracy of every outcome.
fn accuracies(recs: &[Record]) -> BTreeMap<(String, usize, u32), Option<f64>> {
    (recs.iter())
        .filter_map(|r| match r {
            Record::Outcome {
                canonical,
                fidelity,
                seed_index,
                outcome,
                ..
            } => Some((
                (canonical.clone(), *fidelity, *seed_index),
                outcome.metrics().and_then(|m| m.accuracy),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn a_campaign_resumed_on_another_device_keeps_training_figures_and_times_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let c = Campaign::create(dir, &file(24, Some(2), "Mcts(())"), Path::new("/")).unwrap();
    c.run(&[on(&c, "gpu-a")], budget(10), &|_| {}).unwrap();
    drop(c);
    let before = records(dir);
    let timed_on_a: BTreeSet<String> = (before.iter())
        .filter_map(|r| match r {
            Record::Outcome {
                canonical, outcome, ..
            } if outcome.metrics().is_some_and(|m| m.speedup.is_some()) => Some(canonical.clone()),
            _ => None,
        })
        .collect();
    assert!(timed_on_a.len() >= 3);

    let c = Campaign::open(dir).unwrap();
    let retimes = Mutex::new(0);
    let s = c
        .run(&[on(&c, "gpu-b")], budget(14), &|p| {
            if let kas_search::Phase::Retime { .. } = p.phase {
                *retimes.lock().unwrap() += 1;
            }
        })
        .unwrap();
    assert_eq!((s.finished, s.retimed), (14, timed_on_a.len()));
    assert_eq!(*retimes.lock().unwrap(), timed_on_a.len());
    drop(c);
    let after = records(dir);
    assert_eq!(
        after[..before.len()],
        before[..],
        "the journal is appended to"
    );
    let new = &after[before.len()..];
    match &new[0] {
        Record::Session {
            devices: Some(d), ..
        } => assert_eq!(d, &["gpu-b".to_string()]),
        r => panic!("{r:?}"),
    }
    assert!(
        !new.iter().any(|r| matches!(r, Record::Baseline { .. })),
        "the baselines' training figures are kept"
    );
    let retimed: BTreeSet<String> = (new.iter())
        .filter_map(|r| match r {
            Record::Retime {
                canonical,
                device,
                outcome,
                ..
            } => {
                assert_eq!(device, "gpu-b");
                let m = outcome.metrics().unwrap();
                assert!(m.speedup.is_some() && m.accuracy.is_none(), "timing only");
                Some(canonical.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(retimed, timed_on_a);
    // Training figures are kept: the first session's outcomes are all still there, unchanged.
    let (acc_a, acc_all) = (accuracies(&before), accuracies(&after));
    for (k, a) in &acc_a {
        assert_eq!(acc_all.get(k), Some(a));
    }
    // The report shows timing from device B, the accuracy from the training on A.
    let r = CampaignReport::load(dir).unwrap();
    assert_eq!(r.devices, ["gpu-b"]);
    assert_eq!(r.retimes, (timed_on_a.len(), 0));
    let retime_speedup = |h: &str| {
        new.iter().rev().find_map(|r| match r {
            Record::Retime {
                canonical, outcome, ..
            } if canonical == h => outcome.metrics().unwrap().speedup,
            Record::Outcome {
                canonical,
                outcome,
                device,
                ..
            } if canonical == h && device == "gpu-b" => outcome.metrics()?.speedup,
            _ => None,
        })
    };
    for e in r.measured() {
        assert_eq!(e.timing_device.as_deref(), Some("gpu-b"), "{}", e.canonical);
        assert!(e.timing_current);
        assert_eq!(e.speedup(), retime_speedup(&e.canonical), "{}", e.canonical);
    }
    // Resumed on B again: nothing left to time again.
    let c = Campaign::open(dir).unwrap();
    let s = c.run(&[on(&c, "gpu-b")], budget(15), &|_| {}).unwrap();
    assert_eq!(s.retimed, 0);
}

/// A journal line with its fields edited by `f`.
fn edit(line: &str, f: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    f(v.as_object_mut().unwrap());
    serde_json::to_string(&v).unwrap()
}

fn rewrite_journal(dir: &Path, f: impl Fn(&mut serde_json::Map<String, serde_json::Value>)) {
    let text = std::fs::read_to_string(dir.join(JOURNAL_FILE)).unwrap();
    let lines: Vec<String> = text.lines().map(|l| edit(l, &f)).collect();
    std::fs::write(dir.join(JOURNAL_FILE), lines.join("\n") + "\n").unwrap();
}

#[test]
fn an_old_journal_of_one_seed_is_read_and_topped_up_to_the_campaigns_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let c = Campaign::create(dir, &file(12, Some(1), "Mcts(())"), Path::new("/")).unwrap();
    c.run(&[on(&c, "stand-in")], SessionOptions::default(), &|_| {})
        .unwrap();
    drop(c);
    // What an older build wrote: no `seeds` in campaign.ron (so it now means the default, 3),
    // no seed index, no session devices or seeds.
    let path = dir.join(CAMPAIGN_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("seeds: 1,"), "{text}");
    let text = text.replace("seeds: 1,", "");
    std::fs::write(&path, &text).unwrap();
    let digest = campaign_digest(&text);
    rewrite_journal(dir, |o| {
        for k in ["seed_index", "devices", "seeds"] {
            if o["type"] != "header" {
                o.remove(k);
            }
        }
        if o["type"] == "header" {
            o.insert("campaign_digest".into(), digest.clone().into());
        }
    });
    let old = records(dir);
    let at_full: Vec<String> = (jobs(&old).into_iter())
        .filter(|(_, f, _)| *f == 1)
        .map(|(h, _, _)| h)
        .collect();
    assert!(!at_full.is_empty());
    let r = CampaignReport::load(dir).unwrap();
    assert_eq!(r.evaluations, 12, "an old journal reads");

    let c = Campaign::open(dir).unwrap();
    assert_eq!(c.file.seeds, 3);
    let budget_left = 12 + 2 * at_full.len() as u64;
    let s = c
        .run(&[on(&c, "stand-in")], budget(budget_left), &|_| {})
        .unwrap();
    assert_eq!(s.finished, budget_left);
    drop(c);
    let new = &records(dir)[old.len()..];
    let new_jobs = jobs(new);
    // The missing seeds of every candidate already at the last fidelity come first, best
    // first: faster than the original layers within a point of the baseline's accuracy, fastest
    // first, then by reward (the report before the resume has the figures it was ranked on).
    let row = |h: &String| {
        (r.results.iter())
            .find(|e| &e.canonical == h && e.fidelity == 1)
            .unwrap()
    };
    let rank = |h: &String| {
        let e = row(h);
        let (s, a) = (e.speedup().unwrap(), e.accuracy().unwrap());
        if s > 1.0 && a >= r.baseline_accuracy_for(e).unwrap() - 0.01 {
            (0, -s)
        } else {
            (1, -e.reward)
        }
    };
    let mut ranked = at_full.clone();
    ranked.sort_by(|a, b| {
        let (x, y) = (rank(a), rank(b));
        x.0.cmp(&y.0).then(x.1.total_cmp(&y.1))
    });
    let want: Vec<(String, usize, u32)> = (ranked.iter())
        .flat_map(|h| [(h.clone(), 1, 1), (h.clone(), 1, 2)])
        .collect();
    assert_eq!(new_jobs, want);
    let new_baselines: Vec<(usize, u32)> = (new.iter())
        .filter_map(|r| match r {
            Record::Baseline {
                fidelity,
                seed_index,
                ..
            } => Some((*fidelity, *seed_index)),
            _ => None,
        })
        .collect();
    assert_eq!(new_baselines, [(1, 1), (1, 2)]);
    let r = CampaignReport::load(dir).unwrap();
    for h in &at_full {
        let row = (r.results.iter())
            .find(|e| &e.canonical == h && e.fidelity == 1)
            .unwrap();
        assert_eq!(row.seeds.len(), 3);
        assert_eq!(r.paired(row).unwrap().n, 3);
    }
    // And the journal replays: a further resume goes on from there.
    let c = Campaign::open(dir).unwrap();
    let s = c
        .run(&[on(&c, "stand-in")], budget(budget_left + 2), &|_| {})
        .unwrap();
    assert_eq!(s.finished_now, 2);
}

/// A fake old canonical hash for `h`.
fn fake(h: &str) -> String {
    format!(
        "{:032x}",
        u128::from_str_radix(h, 16).unwrap() ^ 0x5a5a_0000_ffff_1234
    )
}

#[test]
fn a_journal_of_an_older_rule_set_is_re_keyed_and_not_evaluated_again() {
    const OLD_RULES: &str = "0123456789abcdef0123456789abcdef";
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let c = Campaign::create(dir, &file(10, Some(2), "Random"), Path::new("/")).unwrap();
    c.run(&[on(&c, "stand-in")], SessionOptions::default(), &|_| {})
        .unwrap();
    drop(c);
    let original = records(dir);
    let evaluated = accuracies(&original);
    // Make it an older build's journal: another rule-set digest, other canonical hashes, the
    // operator files under those hashes. One operator file is lost.
    let hashes: BTreeSet<String> = jobs(&original).into_iter().map(|(h, _, _)| h).collect();
    rewrite_journal(dir, |o| {
        if o.contains_key("rules") {
            o.insert("rules".into(), OLD_RULES.into());
        }
        if let Some(h) = o
            .get("canonical")
            .and_then(|v| v.as_str())
            .map(str::to_string)
        {
            o.insert("canonical".into(), fake(&h).into());
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
    let lost = hashes.iter().next().unwrap().clone();
    std::fs::remove_file(ops.join(format!("{}.ron", fake(&lost)))).unwrap();

    let c = Campaign::open(dir).unwrap();
    let s = c.run(&[on(&c, "stand-in")], budget(16), &|_| {}).unwrap();
    assert_eq!(s.migrated, Some((hashes.len() - 1, 1)));
    assert_eq!(s.finished, 16);
    drop(c);
    let after = records(dir);
    let new = &after[original.len()..];
    match &new[0] {
        Record::Migration {
            from,
            to,
            rekeyed,
            lost: gone,
        } => {
            assert_eq!((from.as_str(), to.as_str()), (OLD_RULES, rules::digest()));
            for h in &hashes {
                if *h != lost {
                    assert_eq!(rekeyed.get(&fake(h)), Some(h), "re-keyed by its operator");
                }
            }
            assert!(
                gone[&fake(&lost)].contains(&format!("{}.ron", fake(&lost))),
                "{gone:?}"
            );
        }
        r => panic!("{r:?}"),
    }
    // Nothing evaluated before is evaluated again (except the lost operator, whose figures
    // could not be matched), and nothing new is evaluated twice.
    let again: Vec<(String, usize, u32)> = (jobs(new).into_iter())
        .filter(|k| evaluated.contains_key(k) && k.0 != lost)
        .collect();
    assert!(again.is_empty(), "evaluated again: {again:?}");
    let new_jobs = jobs(new);
    assert_eq!(
        new_jobs.iter().collect::<BTreeSet<_>>().len(),
        new_jobs.len()
    );
    assert!(new_jobs.len() >= 6, "{new_jobs:?}");
    // The report shows the old figures under the new hashes.
    let r = CampaignReport::load(dir).unwrap();
    assert_eq!(r.evaluations, 16);
    assert_eq!(r.migrations.len(), 1);
    for ((h, f, k), a) in &evaluated {
        let h = if *h == lost { fake(h) } else { h.clone() };
        let row = (r.results.iter())
            .find(|e| e.canonical == h && e.fidelity == *f)
            .unwrap_or_else(|| panic!("{h} at {f}"));
        assert_eq!(row.seeds[k].metrics().and_then(|m| m.accuracy), *a);
        assert!(r.operator_path(&h).exists() || h == fake(&lost));
    }
    // The migrated journal replays (the archive answers the same proposals again).
    let c = Campaign::open(dir).unwrap();
    let s = c.run(&[on(&c, "stand-in")], budget(18), &|_| {}).unwrap();
    assert_eq!((s.finished_now, s.migrated), (2, None));
}

/// A stand-in that records which seeds were asked to time the candidate.
struct TimingLog {
    inner: StandIn,
    timed: Mutex<Vec<(u64, bool)>>,
}

impl Evaluator for TimingLog {
    fn device_key(&self) -> String {
        self.inner.device_key()
    }
    fn evaluate(
        &self,
        candidate: &kas_campaign::Candidate,
        fidelity: &kas_campaign::Fidelity,
        seed: u64,
    ) -> Outcome {
        let timed = fidelity.timing_repeats.is_some_and(|n| n > 0);
        self.timed.lock().unwrap().push((seed, timed));
        self.inner.evaluate(candidate, fidelity, seed)
    }
    fn baseline(&self, fidelity: &kas_campaign::Fidelity, seed: u64) -> Outcome {
        self.inner.baseline(fidelity, seed)
    }
    fn time(
        &self,
        candidate: &kas_campaign::Candidate,
        fidelity: &kas_campaign::Fidelity,
    ) -> Outcome {
        self.inner.time(candidate, fidelity)
    }
}

#[test]
fn only_the_first_seed_times_a_candidate() {
    let tmp = tempfile::tempdir().unwrap();
    let f = file(16, Some(3), "Random");
    let c = Campaign::create(&tmp.path().join("c"), &f, Path::new(".")).unwrap();
    let log = Arc::new(TimingLog {
        inner: StandIn::new(StandInConfig::default(), c.file.seed, c.flops_window()),
        timed: Mutex::new(Vec::new()),
    });
    c.run(&[log.clone() as Arc<dyn Evaluator>], budget(16), &|_| {})
        .unwrap();
    let timed = log.timed.lock().unwrap().clone();
    let first = training_seed(f.seed, 0);
    assert!(
        timed.iter().any(|&(s, _)| s != first),
        "no later seed ran: {timed:?}"
    );
    for (seed, t) in timed {
        assert_eq!(t, seed == first, "seed {seed} timed: {t}");
    }
}
