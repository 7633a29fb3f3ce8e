//! `kas reproduce`: the list, an unknown name, and the `--quick` version of each experiment
//! (table and plot with kas's column beside the paper's, resumable from the journal).

mod common;
use common::{kas, stderr, stdout};

/// Runs `kas reproduce NAME --quick --out DIR` and checks the table, the plot and the journal.
fn quick(name: &str, dir: &std::path::Path, paper_value: &str) -> String {
    let out = dir.to_str().unwrap();
    let o = kas(&["reproduce", name, "--quick", "--out", out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let last = stdout(&o).lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with(&format!("reproduced {name}: ")), "{last}");
    let table = std::fs::read_to_string(dir.join("table.md")).unwrap();
    assert!(
        table.contains("| figure | kas | paper | paper's source | note |"),
        "{table}"
    );
    assert!(
        table.contains(paper_value),
        "no paper figure {paper_value}: {table}"
    );
    assert!(table.contains("Seeds: 0."), "{table}");
    assert!(table.contains("Device: CPU "), "{table}");
    assert!(table.contains("kas 0."), "{table}");
    let svg = std::fs::read_to_string(dir.join("plot.svg")).unwrap();
    let texts: Vec<&str> = (svg.split("<text").skip(1))
        .filter_map(|t| Some(t[t.find('>')? + 1..t.find("</text>")?].trim()))
        .collect();
    for series in ["kas", "paper"] {
        assert!(texts.contains(&series), "no legend `{series}` in {texts:?}");
    }
    // Both series drawn: kas's and the paper's point for the figures they share, and legend.
    assert!(svg.matches("<circle").count() >= 4, "{svg}");
    table
}

#[test]
fn list_and_unknown_names() {
    let o = kas(&["reproduce", "list"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.contains("syno-sampler"), "{text}");
    assert!(text.contains("syno-layers"), "{text}");
    let o = kas(&["reproduce", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: unknown experiment `nope` (known: syno-sampler, syno-layers, syno-accuracy, host-baselines, syno-e2e, canvas)"),
        "{err}"
    );
    assert!(text.ends_with("6 experiments\n"), "{text}");
    // With --out ROOT: what the journals of ROOT/NAME hold, and the sum.
    let root = tempfile::tempdir().unwrap();
    let canvas = root.path().join("canvas");
    std::fs::create_dir_all(&canvas).unwrap();
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reproduced/canvas");
    std::fs::copy(
        committed.join("journal.jsonl"),
        canvas.join("journal.jsonl"),
    )
    .unwrap();
    let o = kas(&["reproduce", "list", "--out", root.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let row = |name: &str| {
        let line = (text.lines())
            .find(|l| l.starts_with("│ ") && l.contains(name))
            .unwrap_or_default();
        line.split_whitespace()
            .filter(|w| *w != "│")
            .collect::<Vec<_>>()
    };
    assert_eq!(row("canvas  "), ["canvas", "-", "3", "7"], "{text}");
    assert_eq!(
        row("syno-layers  "),
        ["syno-layers", "-", "-", "-"],
        "{text}"
    );
    assert_eq!(
        row("in all"),
        ["in", "all", "3", "7", "(0.1", "min)"],
        "{text}"
    );
    assert!(
        text.contains("\nall            every experiment above"),
        "{text}"
    );
    let o = kas(&["reproduce", "list", "--out", "/nonexistent/kas"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).trim(), "error: /nonexistent/kas is not a folder");
    for (args, want) in [
        (
            &["canvas", "--quick", "--minutes=-1"][..],
            "error: --minutes must be 0 or a positive number, not -1",
        ),
        (
            &["syno-layers", "--quick", "--precision", "tf32"][..],
            "error: --precision applies to syno-accuracy, host-baselines, syno-e2e, not `syno-layers`",
        ),
        (
            &["syno-accuracy", "--quick", "--precision", "tf32"][..],
            "error: --quick trains on the CPU, at f32 only (not --precision tf32)",
        ),
        (
            &["syno-e2e", "--quick", "--precision", "bf16"][..],
            "error: --quick times on the CPU, at f32 only (not --precision bf16)",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut all = vec!["reproduce"];
        all.extend(args);
        all.extend(["--out", dir.path().to_str().unwrap()]);
        let o = kas(&all);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(stderr(&o).trim(), want);
    }
}

/// Copies the directory tree `from` into `to`.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Runs `kas reproduce NAME --out DIR --minutes 0` (render only) and returns its table.
fn render(name: &str, dir: &std::path::Path) -> String {
    let out = dir.to_str().unwrap();
    let o = kas(&["reproduce", name, "--out", out, "--minutes", "0"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::read_to_string(dir.join("table.md")).unwrap()
}

/// `--minutes 0` measures nothing and renders what is journaled, on any machine: the committed
/// H200 run of `canvas` (sampler journal and campaign) gives back its table, with the campaign's
/// kernel faster than the convolutions and within 1 point beside the baseline over 3 seeds.
#[test]
fn minutes_zero_renders_the_committed_canvas_run() {
    let root = tempfile::tempdir().unwrap();
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reproduced/canvas");
    copy_tree(&committed, root.path());
    let table = render("canvas", root.path());
    assert!(
        table.contains("| sampler success rate | 100 % | 1.60 % |"),
        "{table}"
    );
    assert!(
        table.contains("| campaign kernels faster than the conv, within 1 point | 1 |"),
        "{table}"
    );
    assert!(
        table.contains(
            "| `6fc0f50fec64dcfba5e85448c7bb865f` | 1.231 x | 89.05 ± 0.36 (3) | -0.79 |"
        ),
        "{table}"
    );
    assert!(
        table.contains("baseline at the last fidelity: 89.84 ± 1.84 (3) %"),
        "{table}"
    );
    assert!(
        table.contains("campaign timing on nvidia-h200-sm90-"),
        "{table}"
    );
    // Its campaign has made its 20 evaluations: no chunk is pending or run.
    assert!(!table.contains("Pending"), "{table}");
    assert!(
        table.contains("Measured: 3 journaled measurement(s), 7 s (0.1 min)"),
        "{table}"
    );
    // Nothing was measured: the journals are as committed.
    for f in ["journal.jsonl", "campaign/journal.jsonl"] {
        assert_eq!(
            std::fs::read(root.path().join(f)).unwrap(),
            std::fs::read(committed.join(f)).unwrap(),
            "{f}"
        );
    }
}

/// Every journal under `root`, by path, as bytes.
fn journals(root: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(journals(&p));
        } else if p.file_name().is_some_and(|n| n == "journal.jsonl") {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

/// `kas reproduce all --quick`, the suite on the CPU in chunks: a first chunk whose minutes
/// are spent at once (every table rendered, every measurement pending), then the rest, then a
/// rerun that measures nothing; with the tables of the runs that train or time on the CPU
/// checked (host-baselines, syno-accuracy, syno-e2e, canvas). `--redo` is refused, and
/// failing experiments are named in one line after the others have run.
#[test]
fn all_quick_runs_the_suite_in_chunks() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().to_str().unwrap();
    let o = kas(&[
        "reproduce",
        "all",
        "--quick",
        "--out",
        out,
        "--minutes",
        "1e-7",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("measurement(s) pending: rerun with --out"),
        "{text}"
    );
    assert!(
        text.ends_with(&format!("measurement(s) pending (syno-sampler 1, syno-layers 3, syno-accuracy 6, host-baselines 5, syno-e2e 3, canvas 2): rerun with --out {out} to go on\n")),
        "{text}"
    );
    let table = std::fs::read_to_string(root.path().join("host-baselines/table.md")).unwrap();
    assert!(table.contains("Pending (--minutes ran out"), "{table}");
    let o = kas(&["reproduce", "all", "--quick", "--out", out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("reproduced all 6 experiments into {out} in "))
            && last.ends_with(" s: nothing pending"),
        "{last}"
    );
    assert!(!text.contains("pending: rerun"), "{text}");
    assert!(text.contains("│ the suite (default precisions) "), "{text}");
    for name in [
        "syno-sampler",
        "syno-layers",
        "syno-accuracy",
        "host-baselines",
        "syno-e2e",
        "canvas",
    ] {
        let table = std::fs::read_to_string(root.path().join(name).join("table.md")).unwrap();
        assert!(
            table.contains(&format!("`kas reproduce {name} --quick`")),
            "{table}"
        );
        assert!(!table.contains("Pending"), "{table}");
    }
    let before = journals(root.path());
    assert_eq!(
        before.len(),
        7,
        "six experiments' journals and the campaign's"
    );
    let o = kas(&["reproduce", "all", "--quick", "--out", out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(journals(root.path()), before, "a rerun measures nothing");

    let dir = root.path().join("host-baselines");
    let table = quick("host-baselines", &dir, "70.84 %");
    assert!(!table.contains("Pending"), "{table}");
    for model in [
        "resnet18",
        "resnet34",
        "resnext29",
        "densenet121",
        "efficientnet-v2-s",
    ] {
        assert!(
            table.contains(&format!("| {model} baseline accuracy | ")),
            "{table}"
        );
        assert!(table.contains(&format!("| {model} | ")), "{table}");
    }
    assert!(
        table.contains("synthetic: the accuracies mean nothing"),
        "{table}"
    );

    let table = quick(
        "syno-accuracy",
        &root.path().join("syno-accuracy"),
        "78.83 %",
    );
    let svg = std::fs::read_to_string(root.path().join("syno-accuracy/accuracy-macs.svg")).unwrap();
    // Six fills of kas's, six figures of the paper's, two legend markers.
    assert_eq!(svg.matches("<circle").count(), 14, "{svg}");
    for (op, label) in [
        ("syno-op1", "Operator 1"),
        ("syno-op2", "Operator 2"),
        ("syno-transposed-conv1d", "transposed 1-D conv"),
        ("syno-kronecker-conv", "Kronecker conv"),
        ("syno-channel-window-conv", "channel-window conv"),
    ] {
        assert!(table.contains(&format!("| {op} | 0 | ")), "{table}");
        assert!(
            table.contains(&format!("| {label} whole-model MACs / conv model | 0.")),
            "{table}"
        );
    }

    let table = quick("syno-e2e", &root.path().join("syno-e2e"), "2.02 x");
    assert!(table.contains("| resnet18 speedup, batch 1 | "), "{table}");
    for op in ["syno-op1", "syno-transposed-conv1d"] {
        assert!(
            table.contains(&format!("| resnet18 | {op} | Syno's: CIFAR-100 ")),
            "{table}"
        );
    }
    assert!(!table.contains("| syno-op2 |"), "{table}");
    assert!(
        table.contains(
            "| resnet18 | conv2d | kas's own kernels for the original layers | 1.000x | "
        ),
        "{table}"
    );
    assert!(
        table.contains("| resnet18 speedup vs the faster original, batch 1 | "),
        "{table}"
    );
    assert!(
        table.contains("\nWhy the speedups against the faster original are smaller"),
        "{table}"
    );
    assert!(
        table.contains("the time of kas's kernels for the original layers (conv2d), which run "),
        "{table}"
    );

    let table = quick("canvas", &root.path().join("canvas"), "1.60 %");
    assert!(table.contains("| campaign evaluations | 2 |"), "{table}");
    assert!(root.path().join("canvas/campaign/campaign.ron").exists());
    // The sampler's run and the campaign's one chunk are journaled with their time; the
    // campaign has made its evaluations, so a rerun runs no further chunk.
    assert!(
        table.contains("Measured: 2 journaled measurement(s), "),
        "{table}"
    );
    let journal = root.path().join("canvas/journal.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.contains("\"key\":\"campaign-chunk-0\""), "{text}");

    let o = kas(&["reproduce", "all", "--quick", "--out", out, "--redo", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        "error: --redo names one experiment's measurements: give it with that experiment's name"
    );
    let other = tempfile::tempdir().unwrap();
    let o = kas(&[
        "reproduce",
        "all",
        "--quick",
        "--out",
        other.path().to_str().unwrap(),
        "--data-dir",
        "/nonexistent/kas",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.ends_with("error: 3 of 6 experiments failed (their errors above): syno-accuracy (exit 2), host-baselines (exit 2), canvas (exit 2)\n"),
        "{err}"
    );
    assert!(
        std::fs::read_to_string(other.path().join("syno-e2e/table.md")).is_ok(),
        "the experiments after a failed one run"
    );
}

#[test]
fn syno_sampler_quick_writes_both_columns_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let table = quick("syno-sampler", dir.path(), "0.240 /s");
    assert!(table.contains("0.490 %"), "{table}");
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 1, "{journal}");
    // A rerun into the same folder measures nothing again and writes the same table.
    let o = kas(&[
        "reproduce",
        "syno-sampler",
        "--quick",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("done in an earlier run"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("table.md")).unwrap(),
        table
    );
    // Another experiment into this folder is refused.
    let o = kas(&[
        "reproduce",
        "syno-layers",
        "--quick",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("holds a run of `syno-sampler` --quick"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn syno_layers_quick_times_both_operators_on_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let table = quick("syno-layers", dir.path(), "2.82 x");
    assert!(
        table.contains("| Operator 1 geomean speedup, f32 |"),
        "{table}"
    );
    assert!(
        table.contains("| Operator 2 geomean speedup, f32 |"),
        "{table}"
    );
    // The same compiler rule: kas's own conv timed on the same shapes, and each operator
    // against the faster of it and the baseline.
    assert!(
        table.contains("| kas's conv geomean speedup, f32 | "),
        "{table}"
    );
    assert!(
        table.contains("| Operator 1 geomean speedup vs the faster conv, f32 | "),
        "{table}"
    );
    // Why, from the timings and the plans: each operator's MACs and time against kas's conv.
    assert!(
        table.contains("\nWhy the speedups against the faster conv are smaller"),
        "{table}"
    );
    assert!(
        table.contains("- Operator 2 at f32: 0.17x the conv's MACs; its kernels take "),
        "{table}"
    );
    for shape in ["64-64-56/4", "128-128-28/4", "256-256-14/4"] {
        for op in ["conv2d", "syno-op2"] {
            assert!(
                table.contains(&format!("| {op} | f32 | {shape} |")),
                "{table}"
            );
        }
    }
    // `--redo` measures Operator 2 again (one more journal line), not Operator 1; a prefix
    // that matches nothing, or with `--minutes 0`, is one line and exit 2.
    let out = dir.path().to_str().unwrap();
    let o = kas(&[
        "reproduce",
        "syno-layers",
        "--quick",
        "--out",
        out,
        "--redo",
        "syno-op2",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("syno-op2-f32: journaled, measured again (--redo)"),
        "{err}"
    );
    assert!(
        err.contains("syno-op1-f32: done in an earlier run"),
        "{err}"
    );
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 4, "{journal}");
    for (args, want) in [
        (
            vec!["--redo", "nope"],
            "error: --redo nope: no journaled measurement's key starts with it (journaled: conv2d-f32, syno-op1-f32, syno-op2-f32)",
        ),
        (
            vec!["--redo", "syno", "--minutes", "0"],
            "error: --redo measures again and --minutes 0 measures nothing: use one of them",
        ),
    ] {
        let mut all = vec!["reproduce", "syno-layers", "--quick", "--out", out];
        all.extend(args);
        let o = kas(&all);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(stderr(&o).trim(), want);
    }
}

#[test]
fn syno_layers_without_a_gpu_is_one_line_with_exit_2() {
    if kas_eval::gpu::present() {
        return; // the full experiment would run: not a test for a GPU machine
    }
    let dir = tempfile::tempdir().unwrap();
    let o = kas(&[
        "reproduce",
        "syno-layers",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: no CUDA GPU: syno-layers times"),
        "{err}"
    );
}

#[test]
fn the_gpu_experiments_without_a_gpu_are_one_line_with_exit_2() {
    if kas_eval::gpu::present() {
        return; // the full experiments would run: not a test for a GPU machine
    }
    for name in ["syno-accuracy", "host-baselines", "syno-e2e", "canvas"] {
        let dir = tempfile::tempdir().unwrap();
        let o = kas(&["reproduce", name, "--out", dir.path().to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("error: no CUDA GPU: {name} ")),
            "{err}"
        );
    }
}

/// `--minutes 0` on the GPU experiments renders without a GPU: the committed H200 journal of
/// `syno-accuracy`, its f32 runs only, gives its f32 accuracies back at `--precision f32` (nothing trained); at
/// its default precision, TF32, none of its f32 runs stands in, and the TF32 table is written
/// beside the f32 one, which stays as it was; `host-baselines` at f32 beside it adopts its
/// ResNet-18 run rather than training it again (at TF32 it does not: another precision);
/// `syno-layers` with nothing journaled writes a table whose every measurement is pending.
#[test]
fn minutes_zero_renders_gpu_experiments_without_measuring() {
    let root = tempfile::tempdir().unwrap();
    let committed =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reproduced/syno-accuracy");
    let dir = root.path().join("syno-accuracy");
    std::fs::create_dir_all(&dir).unwrap();
    // The f32 runs only (the TF32 ones are its default precision's: left out, they are pending).
    let f32_runs: String = std::fs::read_to_string(committed.join("journal.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.contains("-tf32\","))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("journal.jsonl"), &f32_runs).unwrap();
    let out = dir.to_str().unwrap();
    let at = |name: &str, out: &str, precision: Option<&str>| {
        let mut args = vec!["reproduce", name, "--out", out, "--minutes", "0"];
        args.extend(precision.map(|p| ["--precision", p]).into_iter().flatten());
        let o = kas(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    };
    at("syno-accuracy", out, Some("f32"));
    let table = std::fs::read_to_string(dir.join("table.md")).unwrap();
    assert!(table.contains("| conv2d | 0 | 89.26 |"), "{table}");
    assert!(
        table.contains("`kas reproduce syno-accuracy --precision f32`"),
        "{table}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("journal.jsonl")).unwrap(),
        f32_runs
    );
    let f32_table = std::fs::read(dir.join("table.md")).unwrap();
    at("syno-accuracy", out, None);
    let tf32 = std::fs::read_to_string(dir.join("table-tf32.md")).unwrap();
    assert!(
        tf32.contains("Pending (--minutes ran out; a rerun into the same --out measures them): conv2d-seed-0-tf32,"),
        "{tf32}"
    );
    assert!(!tf32.contains("| conv2d | 0 |"), "{tf32}");
    assert!(tf32.contains("`kas reproduce syno-accuracy`;"), "{tf32}");
    assert!(
        tf32.contains("Measured: 0 journaled measurement(s)"),
        "the f32 runs are not this table's: {tf32}"
    );
    assert!(
        tf32.contains("Fashion-MNIST at 64x64, kas train's recipe (SGD, cosine), tf32"),
        "{tf32}"
    );
    assert!(
        tf32.contains("| syno-op1 | f32 | 3 | 89.12 ± 0.73 | +0.87 | 125.2 |"),
        "the f32 runs beside the TF32 ones: {tf32}"
    );
    assert!(dir.join("accuracy-macs-tf32.svg").exists());
    assert_eq!(std::fs::read(dir.join("table.md")).unwrap(), f32_table);

    let hosts = root.path().join("host-baselines");
    let out = hosts.to_str().unwrap();
    at("host-baselines", out, Some("f32"));
    let table = std::fs::read_to_string(hosts.join("table.md")).unwrap();
    assert!(table.contains("| resnet18 | 89.26 | "), "{table}");
    assert!(
        table.contains("adopted from its journal rather than trained again (its seconds count there): resnet18 from syno-accuracy/conv2d-seed-0."),
        "{table}"
    );
    assert!(
        table.contains("Pending (--minutes ran out; a rerun into the same --out measures them): resnet34-seed-0, "),
        "{table}"
    );
    let journal = std::fs::read_to_string(hosts.join("journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 1, "{journal}");
    assert!(
        journal.contains("\"key\":\"resnet18-seed-0\",\"seconds\":0.0,")
            && journal.contains("\"adopted\":\"syno-accuracy/conv2d-seed-0\""),
        "{journal}"
    );
    at("host-baselines", out, None);
    let tf32 = std::fs::read_to_string(hosts.join("table-tf32.md")).unwrap();
    assert!(
        tf32.contains("measures them): resnet18-seed-0-tf32, "),
        "{tf32}"
    );
    assert!(
        tf32.contains("| resnet18 | f32 | 89.26 | 65.2 |"),
        "the f32 run beside: {tf32}"
    );
    let o = kas(&["reproduce", "list", "--out", root.path().to_str().unwrap()]);
    let text = stdout(&o);
    let rows: Vec<Vec<&str>> = (text.lines())
        .filter(|l| l.starts_with("│ host-baselines ") || l.starts_with("│ the suite"))
        .map(|l| l.split_whitespace().filter(|w| *w != "│").collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["host-baselines", "tf32", "(default)", "0", "0"],
            vec!["host-baselines", "f32", "1", "0"],
            vec![
                "the",
                "suite",
                "(default",
                "precisions)",
                "0",
                "0",
                "(0.0",
                "min)"
            ],
        ],
        "{text}"
    );

    let dir = root.path().join("syno-layers");
    let table = render("syno-layers", &dir);
    assert!(table.contains("Pending (--minutes ran out"), "{table}");
    assert!(
        table.contains("GPU: kas's tuned CUDA kernels vs cuDNN"),
        "{table}"
    );
}
