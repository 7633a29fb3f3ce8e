//! A campaign directory is locked while a `Campaign` lives; a new campaign is written only into
//! a new or empty directory; a resume needs a journal record; and one reader with one set of
//! checks serves resume and report: an outcome under another rule set or device, a duplicated
//! outcome, an outcome without its job, are refused by both; a job without an outcome is listed.

mod common;
use common::*;
use kas_campaign::CampaignFile;
use kas_search::journal::JOURNAL_FILE;
use kas_search::report::CampaignReport;
use kas_search::runner::CAMPAIGN_FILE;
use kas_search::{Campaign, Phase, SessionOptions};
use std::path::Path;
use std::sync::Mutex;

fn file(max_evals: u64) -> CampaignFile {
    let spec = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../experiments/specs/cnn-small.ron"
    );
    let text = format!(
        r#"(
        kind: "kas-campaign", version: 1, name: "test",
        model: (name: "cnn", spec: File("{spec}")),
        data: "fashion-mnist",
        search: Random,
        budget: (max_evals: {max_evals}),
        fidelities: [(name: "screen", train_steps: Some(10)), (name: "full", epochs: Some(1.0))],
        promote_eta: 3,
        seed: 11,
        devices: ["cpu"],
        evaluator: StandIn((fail_fraction: 0.3)),
    )"#
    );
    CampaignFile::parse(&text, "test.ron").unwrap()
}

/// A finished campaign of `n` evaluations in `dir`.
fn finished(dir: &Path, n: u64) {
    let c = Campaign::create(dir, &file(n), Path::new("/")).unwrap();
    c.run(&[standin(&c, 0.3)], SessionOptions::default(), &|_| {})
        .unwrap();
}

fn journal_lines(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(JOURNAL_FILE)).unwrap();
    text.lines().map(str::to_string).collect()
}

fn write_lines(dir: &Path, lines: &[String]) {
    std::fs::write(dir.join(JOURNAL_FILE), lines.join("\n") + "\n").unwrap();
}

/// The error of resuming and of reporting on `dir`, which must be the same one line.
fn both_refuse(dir: &Path) -> String {
    let resume = Campaign::open(dir).unwrap_err().to_string();
    let report = CampaignReport::load(dir).unwrap_err().to_string();
    assert_eq!(
        resume.replace("cannot resume ", "cannot report on "),
        report,
        "one reader, one set of checks"
    );
    assert_eq!(resume.lines().count(), 1, "{resume}");
    resume
}

#[test]
fn a_second_campaign_on_a_locked_directory_is_refused_until_the_first_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let first = Campaign::create(&dir, &file(3), Path::new("/")).unwrap();
    // Before the first session wrote a journal: a second creator is refused by the lock.
    let e = Campaign::create(&dir, &file(3), Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("is in use by another kas process")
            && e.contains(&format!("pid {}", std::process::id())),
        "{e}"
    );
    first
        .run(&[standin(&first, 0.3)], SessionOptions::default(), &|_| {})
        .unwrap();
    let e = Campaign::open(&dir).unwrap_err().to_string();
    assert!(e.contains("is in use by another kas process"), "{e}");
    drop(first);
    Campaign::open(&dir).expect("the lock goes with the campaign");
}

#[test]
fn a_new_campaign_goes_only_into_a_new_or_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("report.md"), "mine").unwrap();
    let e = Campaign::create(&other, &file(2), Path::new("/"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("is not empty and holds no campaign (it has report.md)"),
        "{e}"
    );
    let names: Vec<_> = std::fs::read_dir(&other).unwrap().collect();
    assert_eq!(names.len(), 1, "nothing written into it");
    assert_eq!(
        std::fs::read_to_string(other.join("report.md")).unwrap(),
        "mine"
    );
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    finished(&empty, 2);
    assert!(empty.join(JOURNAL_FILE).is_file());
}

#[test]
fn a_directory_without_a_journal_record_is_not_resumed_but_may_be_started_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    drop(Campaign::create(&dir, &file(2), Path::new("/")).unwrap());
    let e = Campaign::open(&dir).unwrap_err().to_string();
    assert!(e.contains("is not a campaign directory"), "{e}");
    // campaign.ron and no journal: a start killed between the two.
    finished(&dir, 2);
    std::fs::remove_file(dir.join(JOURNAL_FILE)).unwrap();
    let e = both_refuse(&dir);
    assert!(
        e.contains("the campaign never started") && e.contains("start it again with --out"),
        "{e}"
    );
    std::fs::write(dir.join(JOURNAL_FILE), "").unwrap();
    let e = both_refuse(&dir);
    assert!(e.contains("the campaign never started"), "{e}");
    finished(&dir, 2);
    assert_eq!(CampaignReport::load(&dir).unwrap().evaluations, 2);
}

/// A journal line with one field replaced.
fn edit(line: &str, field: &str, value: serde_json::Value) -> String {
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    v[field] = value;
    serde_json::to_string(&v).unwrap()
}

#[test]
fn outcomes_under_other_keys_are_refused_by_resume_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    finished(&dir, 4);
    let lines = journal_lines(&dir);
    let at = lines
        .iter()
        .position(|l| l.contains(r#""type":"outcome""#))
        .unwrap();
    for (field, value, needle) in [
        (
            "rules",
            serde_json::json!("0123456789abcdef"),
            "under rule set 0123456789abcdef, the journal's is",
        ),
        (
            "device",
            serde_json::json!("cuda:0 H200"),
            "measured on device cuda:0 H200, the journal's devices are [stand-in]",
        ),
        (
            "seed",
            serde_json::json!(12),
            "with seed 12, the journal's is 11",
        ),
        (
            "fidelity",
            serde_json::json!(1),
            "at fidelity 1 seed index 0, the job was",
        ),
    ] {
        let mut edited = lines.clone();
        edited[at] = edit(&lines[at], field, value);
        write_lines(&dir, &edited);
        let e = both_refuse(&dir);
        assert!(
            e.contains(&format!("journal.jsonl:{}: the outcome of job ", at + 1))
                && e.contains(needle),
            "{field}: {e}"
        );
    }
}

#[test]
fn a_duplicated_outcome_is_an_error_and_a_missing_one_is_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    finished(&dir, 4);
    let lines = journal_lines(&dir);
    let outcomes: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains(r#""type":"outcome""#))
        .collect();
    let mut doubled = lines.clone();
    doubled.insert(outcomes[1] + 1, lines[outcomes[1]].clone());
    write_lines(&dir, &doubled);
    let e = both_refuse(&dir);
    assert!(
        e.contains(&format!(
            "journal.jsonl:{}: a second outcome of job 1",
            outcomes[1] + 2
        )),
        "{e}"
    );
    // An outcome whose job record is gone.
    let mut orphan = lines.clone();
    let job1 = (0..lines.len())
        .find(|&i| lines[i].contains(r#""type":"job","job":1,"#))
        .unwrap();
    orphan.remove(job1);
    write_lines(&dir, &orphan);
    let e = both_refuse(&dir);
    assert!(
        e.contains("the outcome of job 1, which has no job record before it"),
        "{e}"
    );
    // The last outcome lost: reported as unfinished, not silently dropped; resume re-runs it.
    let mut lost = lines.clone();
    lost.remove(*outcomes.last().unwrap());
    write_lines(&dir, &lost);
    let r = CampaignReport::load(&dir).unwrap();
    assert_eq!(r.evaluations, 3);
    assert_eq!(r.unfinished.len(), 1);
    assert_eq!(r.unfinished[0].job, 3);
    let c = Campaign::open(&dir).unwrap();
    let s = c
        .run(&[standin(&c, 0.3)], SessionOptions::default(), &|_| {})
        .unwrap();
    assert_eq!((s.rerun, s.finished), (vec![3], 4));
    drop(c);
    let r = CampaignReport::load(&dir).unwrap();
    assert!(r.unfinished.is_empty());
    assert_eq!(r.evaluations, 4);
}

#[test]
fn a_report_on_an_edited_campaign_file_is_refused_as_a_resume_is() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    finished(&dir, 2);
    let path = dir.join(CAMPAIGN_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("max_evals: 2", "max_evals: 3")).unwrap();
    let resume = Campaign::open(&dir).unwrap_err().to_string();
    let report = CampaignReport::load(&dir).unwrap_err().to_string();
    assert!(resume.starts_with("cannot resume "), "{resume}");
    assert!(report.starts_with("cannot report on "), "{report}");
    for e in [resume, report] {
        assert!(
            e.contains("campaign.ron changed since the campaign started"),
            "{e}"
        );
    }
}

#[test]
fn progress_names_each_baseline_when_it_starts_and_ends_before_the_search() {
    let tmp = tempfile::tempdir().unwrap();
    let c = Campaign::create(&tmp.path().join("c"), &file(2), Path::new("/")).unwrap();
    let phases = Mutex::new(Vec::new());
    c.run(&[standin(&c, 0.3)], SessionOptions::default(), &|p| {
        phases.lock().unwrap().push(match &p.phase {
            Phase::Baseline {
                fidelity,
                seed_index,
                outcome,
            } => {
                format!("baseline {fidelity}.{seed_index} {}", outcome.is_some())
            }
            Phase::Search => format!("search {}", p.finished),
            Phase::Retime { .. } => "retime".into(),
        });
    })
    .unwrap();
    assert_eq!(
        *phases.lock().unwrap(),
        [
            "baseline 0.0 false",
            "baseline 0.0 true",
            "baseline 1.0 false",
            "baseline 1.0 true",
            "baseline 1.1 false",
            "baseline 1.1 true",
            "baseline 1.2 false",
            "baseline 1.2 true",
            "search 0",
            "search 1",
            "search 2"
        ]
    );
}
