//! The generated CUDA C, compiled as C++ for the CPU with the host emulation of CUDA
//! (`kas_codegen::emulate`: a block's threads in turn for the direct kernels, concurrently with
//! barriers for the tiled ones), equals the reference interpreter. This checks
//! the kernels' semantics in CI without a GPU; the GPU run (`kas verify --device cuda`) checks
//! the same source through NVRTC on the device.

use kas_codegen::StageIr;
use kas_codegen::cuda::{
    CudaProgram, generate, generate_scheduled, heuristic_schedule, varied_schedule,
};
use kas_codegen::schedule::{Schedule, StageSchedule};
use kas_primitives::random::{RandomConfig, random_operator};
use kas_primitives::{Binding, Operator, library};

#[allow(dead_code)]
mod support;

use kas_codegen::emulate::{Emulation, Threads};
use support::{Case, errors_with};

/// The program of `op`'s reference kernels under `b`, as a case seeded with `seed`.
fn reference_case(name: &str, op: &Operator, b: &Binding, seed: u64) -> Case {
    let ir = StageIr::lower(op).unwrap();
    let p = generate(&ir, b).unwrap();
    case(name, op, b, seed, p)
}

fn case(name: &str, op: &Operator, b: &Binding, seed: u64, p: CudaProgram) -> Case {
    Case {
        name: name.to_string(),
        op: op.clone(),
        b: b.clone(),
        seed,
        p,
    }
}

/// Runs the cases on the CPU in one C++ program (the threads of a block concurrently when
/// `threaded`, else in turn) and checks each against the interpreter.
fn check(cases: &[Case], threaded: bool) {
    let how = Emulation {
        threads: if threaded {
            Threads::Concurrent
        } else {
            Threads::InTurn
        },
        flags: &[],
    };
    for (c, err) in cases.iter().zip(errors_with(cases, how)) {
        assert!(
            err <= 1e-4,
            "{} under {}: err {err}\n{}",
            c.name,
            c.b.name,
            c.p.source
        );
    }
}

#[test]
fn library_kernels_on_cpu_match_the_interpreter() {
    let mut cases = Vec::new();
    for e in library::entries() {
        let op = (e.build)().unwrap();
        for (i, b) in op.bindings.iter().enumerate() {
            cases.push(reference_case(
                &format!("{}-{i}", e.name),
                &op,
                b,
                5 + i as u64,
            ));
        }
    }
    check(&cases, false);
}

#[test]
fn random_kernels_on_cpu_match_the_interpreter() {
    let cfg = RandomConfig::default();
    let cases: Vec<Case> = (0..40)
        .map(|seed| {
            let op = random_operator(1000 + seed, &cfg);
            reference_case(&format!("random-{seed}"), &op, &op.bindings[0], seed)
        })
        .collect();
    check(&cases, false);
}

/// `each` for every stage that is a contraction, the direct kernel for the others.
fn uniform(ir: &StageIr, b: &Binding, each: StageSchedule) -> Schedule {
    Schedule {
        stages: kas_codegen::cuda::contractions(ir, b)
            .unwrap()
            .iter()
            .map(|c| match c {
                Some(_) => each,
                None => StageSchedule::Direct,
            })
            .collect(),
    }
}

#[test]
fn tiled_library_kernels_on_cpu_match_the_interpreter() {
    let mut tiled = 0;
    let mut cases = Vec::new();
    for e in library::entries() {
        let op = (e.build)().unwrap();
        let ir = StageIr::lower(&op).unwrap();
        for (i, b) in op.bindings.iter().enumerate() {
            // Every contraction as the flat kernel: intermediates in the tiled layout.
            let flat = uniform(&ir, b, StageSchedule::Flat);
            for (j, sched) in [
                heuristic_schedule(&ir, b).unwrap(),
                varied_schedule(&ir, b, 11 + i as u64).unwrap(),
                flat,
            ]
            .into_iter()
            .enumerate()
            {
                tiled += non_direct(&sched);
                let p = generate_scheduled(&ir, b, "kas", &sched).unwrap();
                let name = format!("{}-{i}-{j}", e.name);
                cases.push(case(&name, &op, b, 5 + i as u64, p));
            }
        }
    }
    check(&cases, true);
    assert!(tiled > 20, "only {tiled} tiled stages were exercised");
}

/// Stages of `s` not computed by the reference kernel.
fn non_direct(s: &Schedule) -> usize {
    s.stages
        .iter()
        .filter(|s| **s != StageSchedule::Direct)
        .count()
}

#[test]
fn tiled_random_kernels_on_cpu_match_the_interpreter() {
    let cfg = RandomConfig::default();
    let mut tiled = 0;
    let mut cases = Vec::new();
    for seed in 0..30 {
        let op = random_operator(2000 + seed, &cfg);
        let ir = StageIr::lower(&op).unwrap();
        let b = &op.bindings[0];
        let sched = varied_schedule(&ir, b, 12 + seed).unwrap();
        tiled += non_direct(&sched);
        let p = generate_scheduled(&ir, b, "kas", &sched).unwrap();
        cases.push(case(&format!("tiled-random-{seed}"), &op, b, seed, p));
    }
    check(&cases, true);
    assert!(tiled > 10, "only {tiled} tiled stages were exercised");
}

#[test]
fn vectorized_tiled_kernels_on_cpu_match_the_interpreter() {
    use kas_codegen::schedule::Tile;
    use kas_primitives::NamedBinding;
    let cases: [(&str, &[(&str, u64)]); 4] = [
        (
            "linear",
            &[("N", 2), ("seq_len", 12), ("H_in", 16), ("H_out", 8)],
        ),
        (
            "conv2d",
            &[("N", 2), ("C_in", 4), ("C_out", 8), ("H", 8), ("W", 8)],
        ),
        (
            "syno-op2",
            &[
                ("N", 2),
                ("C_in", 8),
                ("C_out", 8),
                ("H", 8),
                ("g", 2),
                ("s", 2),
            ],
        ),
        (
            "syno-op1",
            &[
                ("N", 2),
                ("C_in", 8),
                ("C_out", 8),
                ("H", 6),
                ("g", 2),
                ("s", 2),
            ],
        ),
    ];
    let tiles = [
        Tile {
            bm: 16,
            bn: 16,
            bk: 8,
            tm: 1,
            tn: 1,
            split_k: 1,
            min_blocks: 1,
        },
        Tile {
            bm: 32,
            bn: 8,
            bk: 8,
            tm: 1,
            tn: 1,
            split_k: 2,
            min_blocks: 1,
        },
        Tile {
            bm: 64,
            bn: 32,
            bk: 8,
            tm: 4,
            tn: 2,
            split_k: 1,
            min_blocks: 2,
        },
    ];
    let mut programs = Vec::new();
    let mut vectorized = 0;
    let mut narrow = 0;
    let mut stores = 0;
    for (name, values) in cases {
        let op = (library::get(name).unwrap().build)().unwrap();
        let nb = NamedBinding {
            name: "quad".into(),
            values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        };
        let b = nb.resolve(&op.vars).unwrap();
        let ir = StageIr::lower_for(&op, std::slice::from_ref(&b)).unwrap();
        for (i, t) in tiles.iter().enumerate() {
            let sched = uniform(&ir, &b, StageSchedule::Tiled(*t));
            let p = generate_scheduled(&ir, &b, "kas", &sched).unwrap();
            vectorized += p.source.matches("float4 v = ").count();
            narrow += p.source.matches("float2 v = ").count();
            stores += p.source.matches("reinterpret_cast<float4 *>(out").count()
                + p.source.matches("reinterpret_cast<float2 *>(out").count();
            programs.push(case(&format!("vec-{name}-{i}"), &op, &b, 3 + i as u64, p));
        }
    }
    check(&programs, true);
    assert!(
        vectorized >= 9,
        "only {vectorized} vectorized loads were exercised"
    );
    assert!(
        stores >= 2,
        "only {stores} vectorized stores were exercised"
    );
    assert!(narrow >= 1, "no float2 load was exercised");
}
