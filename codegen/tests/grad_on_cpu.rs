//! Gradient operators (`kas_primitives::grad`) lower, generate and run like any operator: for
//! conv2d, Syno's two operators and random operators, every gradient that has an operator is
//! lowered to the stage IR, generated as CUDA at f32, TF32 and bf16 with the schedules
//! `kas verify` uses (direct, the precision's heuristic, a varied one), compiled as C++ with
//! the CUDA emulation shim and compared with the reference interpreter.

#[allow(dead_code)] // not every helper is used here
mod support;

use kas_codegen::cuda::{generate_precise, precise_schedule, varied_precise_schedule};
use kas_codegen::schedule::Schedule;
use kas_codegen::{Precision, StageIr};
use kas_primitives::grad::gradients;
use kas_primitives::random::{RandomConfig, random_operator};
use kas_primitives::{Binding, NamedBinding, Operator, library};
use support::{Case, Checked, check};

const PRECISIONS: [Precision; 3] = [Precision::F32, Precision::Tf32, Precision::Bf16];

/// Generates `op` (a gradient operator) under `b` at `p` with schedule `which` (0 direct, 1
/// heuristic, 2 varied), to be checked against the interpreter on inputs from `seed`.
fn program(
    name: &str,
    op: &Operator,
    b: &Binding,
    p: Precision,
    which: usize,
    seed: u64,
) -> Checked {
    let ir = StageIr::lower_for(op, std::slice::from_ref(b)).unwrap();
    let sched = match which {
        0 => Schedule::direct(ir.stages.len()),
        1 => precise_schedule(&ir, b, p).unwrap(),
        _ => varied_precise_schedule(&ir, b, p, seed).unwrap(),
    };
    let prog = generate_precise(&ir, b, "kas", &sched, p).unwrap();
    Checked {
        case: Case {
            name: format!("{name}-{p}-{which}"),
            op: op.clone(),
            b: b.clone(),
            seed,
            p: prog,
        },
        tol: match p {
            Precision::F32 => 1e-4,
            p => p.tolerance(),
        },
        label: sched.label(),
    }
}

#[test]
fn library_gradient_kernels_on_cpu_match_the_interpreter() {
    let cases: [(&str, &[(&str, u64)]); 3] = [
        (
            "conv2d",
            &[("N", 1), ("C_in", 3), ("C_out", 5), ("H", 5), ("W", 4)],
        ),
        (
            "syno-op1",
            &[
                ("N", 1),
                ("C_in", 4),
                ("C_out", 4),
                ("H", 4),
                ("g", 2),
                ("s", 2),
            ],
        ),
        (
            "syno-op2",
            &[
                ("N", 1),
                ("C_in", 4),
                ("C_out", 4),
                ("H", 5),
                ("g", 2),
                ("s", 2),
            ],
        ),
    ];
    let mut checked = Vec::new();
    let mut programs = Vec::new();
    for (c, (name, values)) in cases.iter().enumerate() {
        let op = (library::get(name).unwrap().build)().unwrap();
        let b = NamedBinding {
            name: "grad".into(),
            values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
        .resolve(&op.vars)
        .unwrap();
        for g in gradients(&op).into_iter().flatten() {
            for (i, p) in PRECISIONS.into_iter().enumerate() {
                let tag = format!("{name}-grad{}", g.tensor);
                programs.push(program(&tag, &g.op, &b, p, (c + i) % 3, 5 + c as u64));
            }
            checked.push(format!("{name}/{}", g.tensor));
        }
    }
    let tensor_core = check(programs);
    assert!(
        tensor_core >= 2,
        "{tensor_core} gradient programs used the tensor cores"
    );
    // Every tensor of each: conv2d's two, the Syno operators' three.
    assert_eq!(checked.len(), 8, "{checked:?}");
}

#[test]
fn random_gradient_kernels_on_cpu_match_the_interpreter() {
    let cfg = RandomConfig::default();
    let mut programs = Vec::new();
    for seed in 0..6u64 {
        let op = random_operator(4000 + seed, &cfg);
        let b = &op.bindings[0];
        for g in gradients(&op).into_iter().flatten() {
            let p = PRECISIONS[(seed as usize + g.tensor) % 3];
            let tag = format!("random-{seed}-grad{}", g.tensor);
            programs.push(program(&tag, &g.op, b, p, (seed as usize) % 3, seed));
        }
    }
    let checked = programs.len();
    check(programs);
    assert!(checked >= 6, "only {checked} random gradients were checked");
}
