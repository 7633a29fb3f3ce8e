//! Golden tests of the CUDA emitters: the generated source of a few library operators under
//! fixed bindings and schedules (direct, heuristic, two varied seeds, flat) is compared byte
//! for byte with the files under `tests/golden/`. A difference fails with the file and its
//! first differing line; run
//! `KAS_BLESS=1 cargo test -p kas-codegen --test golden_cuda` to accept the new text.

use kas_codegen::StageIr;
use kas_codegen::cuda::{contractions, generate_scheduled, heuristic_schedule, varied_schedule};
use kas_codegen::schedule::{Schedule, StageSchedule};
use kas_primitives::{Binding, NamedBinding, library};
use std::path::{Path, PathBuf};

const BLESS_HINT: &str =
    "run `KAS_BLESS=1 cargo test -p kas-codegen --test golden_cuda` to accept the generated text";

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn blessing() -> bool {
    std::env::var("KAS_BLESS").is_ok_and(|v| v == "1")
}

/// Compares `text` with the golden file at `path` (never writes it).
fn compare(path: &Path, text: &str) -> Result<(), String> {
    let want = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read golden file {} ({e}); {BLESS_HINT}",
            path.display()
        )
    })?;
    if want == text {
        return Ok(());
    }
    let (mut w, mut g) = (want.lines(), text.lines());
    let mut line = 1;
    loop {
        match (w.next(), g.next()) {
            (Some(a), Some(b)) if a == b => line += 1,
            // Same lines: the line endings or the final newline differ.
            (None, None) => {
                return Err(format!(
                    "{} differs from the generated CUDA in its line endings; {BLESS_HINT}",
                    path.display()
                ));
            }
            (a, b) => {
                return Err(format!(
                    "{} differs from the generated CUDA at line {line}:\n  golden:    {}\n  generated: {}\n{BLESS_HINT}",
                    path.display(),
                    a.unwrap_or("<end of file>"),
                    b.unwrap_or("<end of file>"),
                ));
            }
        }
    }
}

/// Checks (or, with `KAS_BLESS=1`, writes) the golden file `<name>.cu`.
fn check(name: &str, text: &str) {
    let path = golden_dir().join(format!("{name}.cu"));
    if blessing() {
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    if let Err(msg) = compare(&path, text) {
        panic!("{msg}");
    }
}

/// An operator of the library under a binding given by its variables' values.
struct Case {
    /// Golden file prefix.
    tag: &'static str,
    /// Library name.
    op: &'static str,
    values: &'static [(&'static str, u64)],
    /// Whether to generate only the direct and heuristic schedules (large bindings).
    few: bool,
}

const CASES: [Case; 6] = [
    Case {
        tag: "conv2d",
        op: "conv2d",
        values: &[("N", 2), ("C_in", 4), ("C_out", 8), ("H", 8), ("W", 8)],
        few: false,
    },
    Case {
        tag: "linear",
        op: "linear",
        values: &[("N", 2), ("seq_len", 12), ("H_in", 16), ("H_out", 8)],
        few: false,
    },
    Case {
        tag: "syno-op1",
        op: "syno-op1",
        values: &[
            ("N", 2),
            ("C_in", 8),
            ("C_out", 8),
            ("H", 6),
            ("g", 2),
            ("s", 2),
        ],
        few: false,
    },
    Case {
        tag: "syno-op2",
        op: "syno-op2",
        values: &[
            ("N", 2),
            ("C_in", 8),
            ("C_out", 8),
            ("H", 8),
            ("g", 2),
            ("s", 2),
        ],
        few: false,
    },
    Case {
        tag: "shift-conv2d",
        op: "shift-conv2d",
        values: &[("N", 2), ("C_in", 4), ("C_out", 8), ("H", 7), ("W", 5)],
        few: false,
    },
    // 64-bit indices, and a reduction too long for address tables.
    Case {
        tag: "conv2d-big",
        op: "conv2d",
        values: &[
            ("N", 1),
            ("C_in", 16384),
            ("C_out", 64),
            ("H", 48),
            ("W", 48),
        ],
        few: true,
    },
];

fn lowered(case: &Case) -> (StageIr, Binding) {
    let op = (library::get(case.op)
        .unwrap_or_else(|| panic!("no library operator {}", case.op))
        .build)()
    .unwrap();
    let nb = NamedBinding {
        name: "golden".into(),
        values: case
            .values
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
    };
    let b = nb.resolve(&op.vars).unwrap();
    let ir = StageIr::lower_for(&op, std::slice::from_ref(&b)).unwrap();
    (ir, b)
}

/// The schedules a case is generated under, with their file suffixes.
fn schedules(case: &Case, ir: &StageIr, b: &Binding) -> Vec<(&'static str, Schedule)> {
    let mut out = vec![
        ("direct", Schedule::direct(ir.stages.len())),
        ("heuristic", heuristic_schedule(ir, b).unwrap()),
    ];
    if case.few {
        return out;
    }
    out.push(("varied1", varied_schedule(ir, b, 1).unwrap()));
    out.push(("varied2", varied_schedule(ir, b, 2).unwrap()));
    let flat = Schedule {
        stages: contractions(ir, b)
            .unwrap()
            .iter()
            .map(|c| match c {
                Some(_) => StageSchedule::Flat,
                None => StageSchedule::Direct,
            })
            .collect(),
    };
    out.push(("flat", flat));
    out
}

fn file_names(case: &Case) -> Vec<String> {
    let (ir, b) = lowered(case);
    schedules(case, &ir, &b)
        .into_iter()
        .map(|(s, _)| format!("{}-{s}", case.tag))
        .collect()
}

fn check_case(tag: &str) {
    let case = CASES.iter().find(|c| c.tag == tag).unwrap();
    let (ir, b) = lowered(case);
    for (suffix, sched) in schedules(case, &ir, &b) {
        let p = generate_scheduled(&ir, &b, "kas", &sched).unwrap();
        check(&format!("{tag}-{suffix}"), &p.source);
    }
}

#[test]
fn conv2d() {
    check_case("conv2d");
}

#[test]
fn linear() {
    check_case("linear");
}

#[test]
fn syno_op1() {
    check_case("syno-op1");
}

#[test]
fn syno_op2() {
    check_case("syno-op2");
}

#[test]
fn shift_conv2d() {
    check_case("shift-conv2d");
}

#[test]
fn conv2d_big() {
    check_case("conv2d-big");
}

#[test]
fn every_golden_file_belongs_to_a_case() {
    let expected: Vec<String> = CASES.iter().flat_map(file_names).collect();
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        assert!(
            path.extension().is_some_and(|e| e == "cu") && expected.contains(&stem),
            "stray golden file {} (no case generates it)",
            path.display()
        );
    }
}

#[test]
fn a_missing_golden_file_fails_without_being_created() {
    let path = golden_dir().join("no-such-case.cu");
    let err = compare(&path, "// text\n").unwrap_err();
    assert!(
        err.contains("no-such-case.cu") && err.contains("KAS_BLESS=1"),
        "{err}"
    );
    assert!(!path.exists());
}

#[test]
fn a_difference_names_the_file_and_its_first_differing_line() {
    let dir = std::env::temp_dir().join(format!("kas-golden-cuda-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("k.cu");
    std::fs::write(&path, "a\nb\nc\n").unwrap();
    assert!(compare(&path, "a\nb\nc\n").is_ok());
    let err = compare(&path, "a\nB\nc\n").unwrap_err();
    assert!(err.contains("k.cu") && err.contains("line 2"), "{err}");
    assert!(
        err.contains("golden:    b") && err.contains("generated: B"),
        "{err}"
    );
    let err = compare(&path, "a\nb\n").unwrap_err();
    assert!(
        err.contains("line 3") && err.contains("<end of file>"),
        "{err}"
    );
    let err = compare(&path, "a\nb\nc").unwrap_err();
    assert!(err.contains("line endings"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
