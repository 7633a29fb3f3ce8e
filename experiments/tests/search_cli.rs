//! `kas search`, `kas report` and `kas search-quality` end to end: summary lines (pinned by
//! docs/CLI.md), files written, one-line errors with exit 2.

mod common;
use common::{kas, one_line_error, root, stdout};

fn last_line(s: &str) -> &str {
    s.trim_end().lines().last().unwrap_or("")
}

#[test]
fn search_then_report_on_the_stand_in_campaign() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("c");
    let out_s = out.to_str().unwrap();
    let o = kas(&[
        "search",
        "--config",
        "experiments/configs/standin-small.ron",
        "--out",
        out_s,
        "--max-evals",
        "10",
        "--seed",
        "3",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = stdout(&o);
    assert!(
        last_line(&text)
            .starts_with("search stopped: max-evals; 10 evaluations in all; best reward 0."),
        "{text}"
    );
    assert!(text.contains("Pareto front"), "{text}");
    assert!(
        text.contains("within 1 point of the baseline's accuracy at the same fidelity: "),
        "{text}"
    );
    // Without a terminal, one log line per finished evaluation, naming it and its outcome.
    let log = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = log.lines().filter(|l| l.starts_with("search: ")).collect();
    assert_eq!(lines.len(), 10, "{log}");
    assert!(
        lines[9].starts_with("search: 10/10 evaluations, best "),
        "{log}"
    );
    assert!(
        lines.iter().all(
            |l| l.contains("; job ") && (l.contains(": accuracy ") || l.contains(": failed ("))
        ),
        "{log}"
    );
    for f in ["campaign.ron", "journal.jsonl", "report.md", "report.svg"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let svg = std::fs::read_to_string(out.join("report.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("Pareto front"),
        "{svg}"
    );
    // The seed given on the command line is stored in the campaign directory.
    let stored = std::fs::read_to_string(out.join("campaign.ron")).unwrap();
    assert!(stored.contains("seed: 3"), "{stored}");

    let o = kas(&["report", out_s, "--top", "2"]);
    assert_eq!(o.status.code(), Some(0));
    let r = stdout(&o);
    let last = last_line(&r);
    assert!(last.starts_with("report: 10 evaluations, "), "{last}");
    assert!(last.ends_with("report.svg"), "{last}");
    assert!(r.contains(" 2. ") && !r.contains(" 3. "), "{r}");
    assert!(
        r.contains("for o0 < N"),
        "pseudo-C of the best operators: {r}"
    );

    // Resuming a finished campaign with a larger budget continues it.
    let o = kas(&["search", "--resume", out_s, "--max-evals", "12"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        last_line(&stdout(&o)).starts_with("search stopped: max-evals; 12 evaluations in all"),
        "{}",
        stdout(&o)
    );
    // The seed is fixed once a campaign started: a usage error (exit 2).
    let o = kas(&["search", "--resume", out_s, "--seed", "4"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn search_errors_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.ron");
    let good = std::fs::read_to_string(root().join("experiments/configs/standin-small.ron"))
        .unwrap()
        .replace(
            "../specs/",
            &format!("{}/experiments/specs/", root().display()),
        );
    std::fs::write(
        &bad,
        good.replace("max_evals: 24", "max_evals: 24, max_hours: 2"),
    )
    .unwrap();
    let bad_s = bad.to_str().unwrap();
    one_line_error(
        &kas(&["search", "--config", bad_s]),
        "bad.ron:12:29: Unexpected field named `max_hours`",
    );
    std::fs::write(&bad, good.replace("promote_eta: 3", "promote_eta: 1")).unwrap();
    one_line_error(
        &kas(&["search", "--config", bad_s]),
        "promote_eta must be at least 2",
    );
    // The embedded default campaign needs Fashion-MNIST: checked before anything is written.
    let empty = tmp.path().join("no-data");
    let msg = format!(
        "dataset fashion-mnist not found in {}: run `kas data fetch fashion-mnist`",
        empty.display()
    );
    one_line_error(
        &kas(&["search", "--data-dir", empty.to_str().unwrap()]),
        &msg,
    );
    one_line_error(
        &kas(&["search", "--resume", tmp.path().to_str().unwrap()]),
        "is not a campaign directory",
    );
    one_line_error(
        &kas(&["report", tmp.path().to_str().unwrap()]),
        "is not a campaign directory",
    );
    one_line_error(
        &kas(&[
            "search",
            "--config",
            "experiments/configs/standin-small.ron",
            "--max-evals",
            "0",
        ]),
        "--max-evals must be at least 1",
    );
}

#[test]
fn search_quality_prints_one_row_per_algorithm() {
    let o = kas(&[
        "search-quality",
        "--spec",
        "experiments/specs/cnn-small.ron",
        "--seeds",
        "2",
        "--evals",
        "2,5",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let s = stdout(&o);
    for alg in ["mcts", "random", "beam"] {
        assert!(s.lines().any(|l| l.starts_with(alg)), "{s}");
    }
    assert!(last_line(&s).starts_with("pool: "), "{s}");
}
