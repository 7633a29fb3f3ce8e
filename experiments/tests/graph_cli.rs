//! `kas graph sample | show` end to end: statistics, determinism across thread counts, the
//! printers, one-line errors.

mod common;
use common::{kas, one_line_error, spec, stderr, stdout};

/// The kernel files `kas graph sample --out` wrote, sorted.
fn files(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn graph_sample_is_legal_and_the_same_for_every_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    let s = spec("resnet18-conv.ron");
    let run = |threads: &str, out: &std::path::Path| {
        let o = kas(&[
            "graph",
            "sample",
            "--spec",
            &s,
            "--count",
            "40",
            "--seed",
            "3",
            "--threads",
            threads,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stdout(&o)
    };
    let text = run("1", &one);
    run("2", &two);
    let first = text.lines().next().unwrap();
    assert!(first.contains("40 descents"), "{first}");
    let legal: usize = first
        .split(" descents, ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no legal count in `{first}`"));
    assert!(legal >= 20, "{first}");
    let (a, b) = (files(&one), files(&two));
    assert!(!a.is_empty());
    assert_eq!(a, b);
    // Every written kernel reads back and prints.
    let path = one.join(&a[0].0);
    let o = kas(&["graph", "show", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let c = stdout(&o);
    assert!(c.contains("double input[N][C_in][H][H];"), "{c}");
    assert!(
        c.trim_end().lines().last().unwrap().starts_with("return n"),
        "{c}"
    );
    let o = kas(&["graph", "show", path.to_str().unwrap(), "--dot"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("digraph {"));
}

#[test]
fn graph_commands_refuse_bad_input_on_one_line() {
    let s = spec("resnet18-conv.ron");
    one_line_error(
        &kas(&["graph", "sample", "--spec", "/no/such.ron", "--count", "3"]),
        "/no/such.ron",
    );
    one_line_error(
        &kas(&[
            "graph",
            "sample",
            "--spec",
            &spec("gpt-linear.ron"),
            "--count",
            "3",
        ]),
        "image slots",
    );
    one_line_error(
        &kas(&["graph", "sample", "--spec", &s, "--count", "0"]),
        "--count",
    );
    one_line_error(
        &kas(&[
            "graph", "sample", "--spec", &s, "--count", "3", "--flops", "1:0",
        ]),
        "--flops",
    );
    one_line_error(
        &kas(&[
            "graph",
            "sample",
            "--spec",
            &s,
            "--count",
            "3",
            "--threads",
            "100000",
        ]),
        "at most 1024",
    );
    one_line_error(&kas(&["graph", "show", &s]), "kas-graph");
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.ron");
    std::fs::write(&bad, "(kind: \"kas-graph\", version: 1, name: \"x\")").unwrap();
    one_line_error(&kas(&["graph", "show", bad.to_str().unwrap()]), "bad.ron");
}
