//! Running generated CUDA on the CPU, shared by the tests that do: the generated source
//! compiled as C++ with `tests/shim/tensor_core.hpp` (a host emulation of the CUDA launch,
//! `cp.async`, `ldmatrix` and `mma.sync`), fed seeded inputs rounded to the program's storage,
//! and compared with the reference interpreter.

use kas_codegen::Precision;
use kas_codegen::cuda::CudaProgram;
use kas_primitives::interp::{interpret, random_inputs};
use kas_primitives::{Binding, Operator, Tensor};
use std::fmt::Write as _;
use std::process::Command;

/// The host emulation of CUDA the generated source is compiled with.
const SHIM: &str = include_str!("../shim/tensor_core.hpp");

/// The first C++ compiler found.
pub fn cxx() -> &'static str {
    for c in ["c++", "g++", "clang++"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c;
        }
    }
    panic!(
        "no C++ compiler (c++, g++ or clang++) found: one is needed to run the CUDA kernels on the CPU"
    );
}

/// The f32 `x` rounded to bf16 (to nearest even), as the harness stores it.
fn bf16(x: f32) -> f32 {
    Precision::Bf16.round(x)
}

/// `main`: reads the input and weights, runs every kernel with its launch, prints the output.
fn harness(p: &CudaProgram) -> String {
    let bf = p.precision == Precision::Bf16;
    let store = if bf { "kas_bf16" } else { "float" };
    let mut s = String::new();
    s.push_str("int main(int argc, char **argv) {\n  if (argc != 2) return 2;\n  FILE *f = fopen(argv[1], \"r\");\n  if (!f) return 2;\n  float x;\n");
    for (t, shape) in p.tensor_shapes.iter().enumerate() {
        let n: u64 = shape.iter().product();
        let name = if t == 0 {
            "in".to_string()
        } else {
            format!("w{t}")
        };
        let conv = if bf { "kas_f32_to_bf16(x)" } else { "x" };
        let _ = writeln!(s, "  std::vector<{store}> {name}({n});");
        let _ = writeln!(
            s,
            "  for (auto &v : {name}) {{ if (fscanf(f, \"%f\", &x) != 1) return 4; v = {conv}; }}"
        );
    }
    s.push_str("  fclose(f);\n");
    for (k, launch) in p.kernels.iter().enumerate() {
        let (ty, poison) = if launch.out_bf16 {
            ("kas_bf16", "kas_f32_to_bf16(1e30f)")
        } else {
            ("float", "1e30f")
        };
        let _ = writeln!(
            s,
            "  std::vector<{ty}> s{k}({}, {poison});",
            launch.out_elems
        );
        let args: Vec<String> = launch
            .operands
            .iter()
            .map(|o| format!("{o}.data()"))
            .chain(std::iter::once(format!("s{k}.data()")))
            .collect();
        let _ = writeln!(
            s,
            "  kas_launch({}, {}, {}, [&] {{ {}({}); }});",
            launch.grid,
            launch.block,
            launch.shared_bytes,
            launch.name,
            args.join(", ")
        );
    }
    let last = p.kernels.len() - 1;
    let out = if p.kernels[last].out_bf16 {
        "kas_bf16_to_f32(v)"
    } else {
        "v"
    };
    let _ = writeln!(
        s,
        "  for (auto v : s{last}) printf(\"%.9g\\n\", {out});\n  return 0;\n}}"
    );
    s
}

/// Compiles and runs `p` on the CPU (with the permuted fragment decoding when `wrong`) and
/// returns its relative Frobenius error against the interpreter on the same inputs (rounded
/// to the program's storage).
pub fn error_of(
    name: &str,
    op: &Operator,
    b: &Binding,
    seed: u64,
    p: &CudaProgram,
    wrong: bool,
) -> f64 {
    let wrong_flag = ["-DKAS_EMULATE_WRONG_A"];
    let flags: &[&str] = if wrong { &wrong_flag } else { &[] };
    let source = format!("{SHIM}{}{}", p.source, harness(p));
    let (xs, printed) = compile_and_run(name, &source, flags, op, b, seed);
    let store = |v: f64| match p.precision {
        Precision::Bf16 => bf16(v as f32) as f64,
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
    let got = Tensor {
        shape: want.shape.clone(),
        data: printed,
    };
    assert_eq!(got.data.len(), want.data.len(), "{name}: output size");
    got.rel_err(&want)
}

/// Compiles `source` (a generated program with its shim and `main`) as C++ with the extra
/// `flags`, runs it on `op`'s seeded inputs under `b` (written as f32 text, one value a
/// line) and returns those inputs and the values it printed. Panics with the compiler's or
/// the run's message.
pub fn compile_and_run(
    name: &str,
    source: &str,
    flags: &[&str],
    op: &Operator,
    b: &Binding,
    seed: u64,
) -> (Vec<Tensor>, Vec<f64>) {
    let dir = std::env::temp_dir().join(format!("kas-cuda-cpu-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("k.cpp");
    std::fs::write(&src, source).unwrap();
    let exe = dir.join("k");
    let out = Command::new(cxx())
        .args([
            "-O1",
            "-std=c++20",
            "-pthread",
            "-Wall",
            "-Wno-unused-variable",
            "-Wno-unknown-pragmas",
            "-Wno-unused-function",
        ])
        .args(flags)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: generated CUDA does not compile as C++:\n{}\n{source}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xs: Vec<Tensor> = random_inputs(op, b, seed, false).unwrap();
    let mut text = String::new();
    for x in &xs {
        for v in &x.data {
            let _ = writeln!(text, "{:.9e}", *v as f32);
        }
    }
    let data = dir.join("in.txt");
    std::fs::write(&data, text).unwrap();
    let run = Command::new(&exe).arg(&data).output().unwrap();
    assert!(
        run.status.success(),
        "{name}: kernel run failed: {:?}\n{}\n{source}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
    let printed = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    (xs, printed)
}
