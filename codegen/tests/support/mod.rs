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
    let xs: Vec<Tensor> = random_inputs(op, b, seed, false).unwrap();
    let dir = std::env::temp_dir().join(format!("kas-cuda-cpu-{}-{name}", std::process::id()));
    let got = run_many_with(&[(p, &xs)], &dir, how)
        .unwrap_or_else(|e| panic!("{name}: {e}\n{}", p.source))
        .remove(0);
    std::fs::remove_dir_all(&dir).ok();
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
    let want = interpret(op, b, &xs).unwrap();
    assert_eq!(got.data.len(), want.data.len(), "{name}: output size");
    let got = Tensor {
        shape: want.shape.clone(),
        data: got.data,
    };
    got.rel_err(&want)
}
