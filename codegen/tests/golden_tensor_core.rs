//! Golden tests of the tensor-core emitter: the generated source of library operators under
//! fixed bindings, tensor-core tiles and precisions is compared byte for byte with the files
//! under `tests/golden_tc/`. A difference fails with the file and its first differing line;
//! run `KAS_BLESS=1 cargo test -p kas-codegen --test golden_tensor_core` to accept the new
//! text.

use kas_codegen::cuda::{contractions, generate_precise, precise_schedule};
use kas_codegen::schedule::{Schedule, StageSchedule};
use kas_codegen::tensor_core::Mma;
use kas_codegen::{Precision, StageIr};
use kas_primitives::{Binding, NamedBinding, library};
use std::path::PathBuf;

const BLESS_HINT: &str = "run `KAS_BLESS=1 cargo test -p kas-codegen --test golden_tensor_core` to accept the generated text";

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden_tc")
}

/// Checks (or, with `KAS_BLESS=1`, writes) the golden file `<name>.cu`.
fn check(name: &str, text: &str) {
    let path = golden_dir().join(format!("{name}.cu"));
    if std::env::var("KAS_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read golden file {} ({e}); {BLESS_HINT}",
            path.display()
        )
    });
    if want == text {
        return;
    }
    let line = want
        .lines()
        .zip(text.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(want.lines().count().min(text.lines().count()));
    panic!(
        "{} differs from the generated CUDA at line {}:\n  golden:    {}\n  generated: {}\n{BLESS_HINT}",
        path.display(),
        line + 1,
        want.lines().nth(line).unwrap_or("<end of file>"),
        text.lines().nth(line).unwrap_or("<end of file>"),
    );
}

fn lowered(op: &str, values: &[(&str, u64)]) -> (StageIr, Binding) {
    let op = (library::get(op).unwrap().build)().unwrap();
    let nb = NamedBinding {
        name: "golden".into(),
        values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    };
    let b = nb.resolve(&op.vars).unwrap();
    let ir = StageIr::lower_for(&op, std::slice::from_ref(&b)).unwrap();
    (ir, b)
}

/// Every contraction stage on tensor cores with tile `t`.
fn uniform(ir: &StageIr, b: &Binding, t: Mma) -> Schedule {
    Schedule {
        stages: contractions(ir, b)
            .unwrap()
            .iter()
            .map(|c| match c {
                Some(_) => StageSchedule::TensorCore(t),
                None => StageSchedule::Direct,
            })
            .collect(),
    }
}

const CONV2D: [(&str, u64); 5] = [("N", 2), ("C_in", 4), ("C_out", 8), ("H", 8), ("W", 8)];
const SYNO_OP2: [(&str, u64); 6] = [
    ("N", 2),
    ("C_in", 8),
    ("C_out", 8),
    ("H", 8),
    ("g", 2),
    ("s", 2),
];

/// The golden cases: file name, operator, binding, precision, schedule (`None`: the
/// precision's heuristic).
type GoldenCase = (
    &'static str,
    &'static str,
    &'static [(&'static str, u64)],
    Precision,
    Option<Mma>,
);

fn cases() -> Vec<GoldenCase> {
    let t = |bm, bn, bk, warps_m, warps_n, stages, split_k| Mma {
        bm,
        bn,
        bk,
        warps_m,
        warps_n,
        stages,
        split_k,
    };
    vec![
        (
            "conv2d-tf32-tc64x32x16",
            "conv2d",
            &CONV2D,
            Precision::Tf32,
            Some(t(64, 32, 16, 2, 1, 3, 1)),
        ),
        (
            "conv2d-bf16-tc32x16x32-s2",
            "conv2d",
            &CONV2D,
            Precision::Bf16,
            Some(t(32, 16, 32, 1, 1, 2, 2)),
        ),
        (
            "syno-op2-bf16-heuristic",
            "syno-op2",
            &SYNO_OP2,
            Precision::Bf16,
            None,
        ),
        (
            "syno-op2-tf32-heuristic",
            "syno-op2",
            &SYNO_OP2,
            Precision::Tf32,
            None,
        ),
    ]
}

#[test]
fn tensor_core_kernels_match_their_golden_files() {
    for (file, op, values, p, tile) in cases() {
        let (ir, b) = lowered(op, values);
        let sched = match tile {
            Some(t) => uniform(&ir, &b, t),
            None => precise_schedule(&ir, &b, p).unwrap(),
        };
        assert!(
            sched
                .stages
                .iter()
                .any(|s| matches!(s, StageSchedule::TensorCore(_))),
            "{file}: no tensor-core stage"
        );
        let prog = generate_precise(&ir, &b, "kas", &sched, p).unwrap();
        check(file, &prog.source);
    }
}

#[test]
fn every_golden_file_belongs_to_a_case() {
    let expected: Vec<&str> = cases().iter().map(|c| c.0).collect();
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        assert!(
            path.extension().is_some_and(|e| e == "cu") && expected.contains(&stem.as_str()),
            "stray golden file {} (no case generates it)",
            path.display()
        );
    }
}
