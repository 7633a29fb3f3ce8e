//! Running generated CUDA on the CPU against the reference interpreter, shared by the tests
//! that do: the program runs through `kas_codegen::emulate` (the host emulation of CUDA in
//! `tests/shim/tensor_core.hpp`) on seeded inputs, and the interpreter sees the same inputs
//! rounded to the program's storage.

use kas_codegen::Precision;
use kas_codegen::cuda::CudaProgram;
use kas_codegen::emulate::{Emulation, Threads, run_many_with};
use kas_primitives::interp::{interpret, random_inputs};
use kas_primitives::{Binding, Operator, Tensor};

/// The first C++ compiler found.
#[allow(dead_code)] // not every test binary compiles C++ of its own
pub fn cxx() -> &'static str {
    kas_codegen::emulate::cxx().unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `p` on the CPU with one OS thread per CUDA thread (with the permuted fragment decoding
/// when `wrong`) and returns its relative Frobenius error against the interpreter.
pub fn error_of(
    name: &str,
    op: &Operator,
    b: &Binding,
    seed: u64,
    p: &CudaProgram,
    wrong: bool,
) -> f64 {
    let flags: &[&str] = if wrong {
        &["-DKAS_EMULATE_WRONG_A"]
    } else {
        &[]
    };
    let how = Emulation {
        threads: Threads::Concurrent,
        flags,
    };
    error_with(name, op, b, seed, p, how)
}

/// One program to check on the CPU: its name, operator, binding and the seed of its inputs.
pub struct Case {
    /// Named in failures.
    pub name: String,
    /// The operator the program computes.
    pub op: Operator,
    /// The binding it was generated for.
    pub b: Binding,
    /// Seed of the inputs.
    pub seed: u64,
    /// The program.
    pub p: CudaProgram,
}

/// Runs `p` on the CPU as `how` says, on `op`'s inputs drawn with `seed` under `b`, and returns
/// its relative Frobenius error against the interpreter on the same inputs rounded to the
/// program's storage. Panics with the compiler's or the run's message.
pub fn error_with(
    name: &str,
    op: &Operator,
    b: &Binding,
    seed: u64,
    p: &CudaProgram,
    how: Emulation<'_>,
) -> f64 {
    let case = Case {
        name: name.to_string(),
        op: op.clone(),
        b: b.clone(),
        seed,
        p: p.clone(),
    };
    errors_with(std::slice::from_ref(&case), how)[0]
}

/// [`error_with`] for many programs built and run as one C++ program (the compiler's start-up
/// and the shim's headers, most of the time of one, paid once); when the batch fails, each
/// program runs alone so that the panic names the one that fails.
pub fn errors_with(cases: &[Case], how: Emulation<'_>) -> Vec<f64> {
    let inputs: Vec<Vec<Tensor>> = (cases.iter())
        .map(|c| random_inputs(&c.op, &c.b, c.seed, false).unwrap())
        .collect();
    let name = cases.first().map_or("none", |c| c.name.as_str());
    let dir = std::env::temp_dir().join(format!("kas-cuda-cpu-{}-{name}", std::process::id()));
    let items: Vec<(&CudaProgram, &[Tensor])> = (cases.iter().zip(&inputs))
        .map(|(c, xs)| (&c.p, xs.as_slice()))
        .collect();
    let outputs = match run_many_with(&items, &dir, how) {
        Ok(outputs) => outputs,
        Err(batch) => {
            for (item, c) in items.iter().zip(cases) {
                if let Err(e) = run_many_with(std::slice::from_ref(item), &dir, how) {
                    panic!("{}: {e}\n{}", c.name, c.p.source);
                }
            }
            panic!("the batch from {name} failed, each of its programs alone runs: {batch}");
        }
    };
    std::fs::remove_dir_all(&dir).ok();
    (cases.iter().zip(inputs).zip(outputs))
        .map(|((c, xs), got)| compare(c, &xs, got))
        .collect()
}

/// The relative Frobenius error of `got` against the interpreter on `xs` rounded to the
/// program's storage.
fn compare(c: &Case, xs: &[Tensor], got: Tensor) -> f64 {
    let (name, p) = (&c.name, &c.p);
    let store = |v: f64| match p.precision {
        Precision::Bf16 => Precision::Bf16.round(v as f32) as f64,
        _ => v as f32 as f64,
    };
    let xs: Vec<Tensor> = xs
        .iter()
        .map(|x| Tensor {
            shape: x.shape.clone(),
            data: x.data.iter().map(|v| store(*v)).collect(),
        })
        .collect();
    let want = interpret(&c.op, &c.b, &xs).unwrap();
    assert_eq!(got.data.len(), want.data.len(), "{name}: output size");
    let got = Tensor {
        shape: want.shape.clone(),
        data: got.data,
    };
    got.rel_err(&want)
}

/// A program to check with its tolerance and its schedule's label (named in failures).
pub struct Checked {
    /// The program and what it computes.
    pub case: Case,
    /// The largest relative error allowed.
    pub tol: f64,
    /// Its schedule, in words.
    pub label: String,
}

/// Runs the programs on the CPU as one C++ program (a block's threads concurrently) and
/// checks each against the interpreter within its tolerance; returns how many ran a stage on
/// the tensor cores.
pub fn check(programs: Vec<Checked>) -> usize {
    let how = Emulation {
        threads: Threads::Concurrent,
        flags: &[],
    };
    let (cases, rest): (Vec<Case>, Vec<(f64, String)>) = (programs.into_iter())
        .map(|c| (c.case, (c.tol, c.label)))
        .unzip();
    for ((c, (tol, label)), err) in cases.iter().zip(&rest).zip(errors_with(&cases, how)) {
        assert!(err <= *tol, "{} ({label}): error {err}", c.name);
    }
    (cases.iter())
        .filter(|c| c.p.source.contains("KAS_TENSOR_CORE"))
        .count()
}
