//! Running a generated [`CudaProgram`] on the CPU: its source compiled as C++ with the host
//! emulation of CUDA (`tests/shim/tensor_core.hpp`: one OS thread per CUDA thread of a block,
//! blocks in turn, shared memory, barriers and the tensor-core instructions emulated), fed the
//! given tensors as f32 text and stored at the program's precision (bf16 programs read and
//! write bf16 buffers). Slow (a compiler run per batch of programs and a thread per CUDA
//! thread), meant for small bindings: it lets `kas graph verify` check the CUDA path where
//! there is no GPU, and it is the harness of the code generator's CPU tests.

use crate::cuda::CudaProgram;
use crate::error::{Error, Result};
use crate::precision::Precision;
use kas_primitives::Tensor;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// How the emulation runs the threads of a block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Threads {
    /// One OS thread per CUDA thread, with block barriers and warp collectives: any kernel.
    #[default]
    Concurrent,
    /// The threads of a block one after another on one OS thread: much faster, and right only
    /// for kernels without barriers, shared memory or warp collectives (kas's direct kernels).
    InTurn,
}

/// How programs are built and run on the CPU.
#[derive(Clone, Copy, Debug, Default)]
pub struct Emulation<'a> {
    /// How a block's threads run.
    pub threads: Threads,
    /// Extra C++ compiler flags, e.g. `-DKAS_EMULATE_WRONG_A` (the shim's permuted fragment
    /// decoding, which a tensor-core kernel must then fail with).
    pub flags: &'a [&'a str],
}

/// The host emulation of CUDA.
const SHIM: &str = include_str!("../tests/shim/tensor_core.hpp");

/// The first C++ compiler found (`c++`, `g++`, `clang++`), or why there is none.
pub fn cxx() -> Result<&'static str> {
    for c in ["c++", "g++", "clang++"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Ok(c);
        }
    }
    Err(Error::Emulation(
        "no C++ compiler (c++, g++ or clang++) found: running CUDA on the CPU needs one".into(),
    ))
}

/// A function `run(FILE *)` in namespace `kas_p<i>` that reads `p`'s tensors (f32 text, stored
/// at the program's precision), runs every kernel with its launch and prints `#<i>` then the
/// output, one value a line.
fn harness(p: &CudaProgram, i: usize, threads: Threads) -> String {
    let bf = p.precision == Precision::Bf16;
    let (store, conv) = if bf {
        ("kas_bf16", "kas_f32_to_bf16(x)")
    } else {
        ("float", "x")
    };
    let mut s = String::new();
    let _ = writeln!(s, "static int run(FILE *f) {{\n  float x;");
    for (t, shape) in p.tensor_shapes.iter().enumerate() {
        let n: u64 = shape.iter().product();
        let name = if t == 0 {
            "in".to_string()
        } else {
            format!("w{t}")
        };
        let _ = writeln!(s, "  std::vector<{store}> {name}({n});");
        let _ = writeln!(
            s,
            "  for (auto &v : {name}) {{ if (fscanf(f, \"%f\", &x) != 1) return 4; v = {conv}; }}"
        );
    }
    for (k, launch) in p.kernels.iter().enumerate() {
        // Poisoned, so that an element no kernel writes shows as a mismatch.
        let (ty, poison) = if launch.out_bf16 {
            ("kas_bf16", "kas_f32_to_bf16(NAN)")
        } else {
            ("float", "NAN")
        };
        let _ = writeln!(
            s,
            "  std::vector<{ty}> s{k}({}, {poison});",
            launch.out_elems.max(1)
        );
        let args: Vec<String> = launch
            .operands
            .iter()
            .map(|o| format!("{o}.data()"))
            .chain(std::iter::once(format!("s{k}.data()")))
            .collect();
        let call = format!("[&] {{ {}({}); }}", launch.name, args.join(", "));
        let _ = match threads {
            Threads::Concurrent => writeln!(
                s,
                "  kas_launch({}, {}, {}, {call});",
                launch.grid, launch.block, launch.shared_bytes
            ),
            Threads::InTurn => writeln!(
                s,
                "  kas_launch_in_turn({}, {}, {call});",
                launch.grid, launch.block
            ),
        };
    }
    let last = p.kernels.len().saturating_sub(1);
    let value = if p.kernels.last().is_some_and(|l| l.out_bf16) {
        "kas_bf16_to_f32(v)"
    } else {
        "v"
    };
    let n: u64 = p.output_shape.iter().product();
    let _ = writeln!(
        s,
        "  printf(\"#{i}\\n\");\n  for (size_t i = 0; i < {n}; ++i) {{ auto v = s{last}[i]; printf(\"%.9g\\n\", {value}); }}\n  return 0;\n}}"
    );
    s
}

/// Compiles `p` as C++ in `dir` (created; left in place) and runs it on `tensors` (input, then
/// weights; rounded to f32, then to the program's storage); returns the output.
pub fn run_on_cpu(p: &CudaProgram, tensors: &[Tensor], dir: &Path) -> Result<Tensor> {
    let mut out = run_many(&[(p, tensors)], dir)?;
    Ok(out.remove(0))
}

/// Like [`run_on_cpu`] for several programs at once: one C++ translation unit (each program
/// in a namespace of its own, its kernels' C linkage dropped) and one run, so that the
/// compiler's start-up is paid once. A program that fails fails the batch.
pub fn run_many(items: &[(&CudaProgram, &[Tensor])], dir: &Path) -> Result<Vec<Tensor>> {
    run_many_with(items, dir, Emulation::default())
}

/// [`run_many`] built and run as `how` says.
pub fn run_many_with(
    items: &[(&CudaProgram, &[Tensor])],
    dir: &Path,
    how: Emulation<'_>,
) -> Result<Vec<Tensor>> {
    let fail = |what: String| Error::Emulation(what);
    for (p, tensors) in items {
        if p.kernels.is_empty() || tensors.len() != p.tensor_shapes.len() {
            return Err(fail(format!(
                "a program of {} kernels taking {} tensors, {} given",
                p.kernels.len(),
                p.tensor_shapes.len(),
                tensors.len()
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    let src = dir.join("k.cpp");
    let exe = dir.join("k");
    let mut source = String::from(SHIM);
    for (i, (p, _)) in items.iter().enumerate() {
        let _ = writeln!(source, "namespace kas_p{i} {{");
        source.push_str(&p.source.replace("extern \"C\" ", ""));
        source.push_str(&harness(p, i, how.threads));
        let _ = writeln!(source, "}} // namespace kas_p{i}");
    }
    source.push_str("int main(int argc, char **argv) {\n  if (argc != 2) return 2;\n  FILE *f = fopen(argv[1], \"r\");\n  if (!f) return 2;\n");
    for i in 0..items.len() {
        let _ = writeln!(source, "  if (int r = kas_p{i}::run(f)) return r;");
    }
    source.push_str("  fclose(f);\n  return 0;\n}\n");
    std::fs::write(&src, source).map_err(|e| fail(format!("{}: {e}", src.display())))?;
    let out = Command::new(cxx()?)
        .args(["-O1", "-std=c++20", "-pthread", "-w"])
        .args(how.flags)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .output()
        .map_err(|e| fail(format!("cannot run the C++ compiler: {e}")))?;
    if !out.status.success() {
        let log = String::from_utf8_lossy(&out.stderr);
        let first: Vec<&str> = log.lines().take(6).collect();
        return Err(fail(format!(
            "the generated CUDA does not compile as C++ ({}): {}",
            src.display(),
            first.join(" | ")
        )));
    }
    let mut text = String::new();
    for (_, tensors) in items {
        for t in *tensors {
            for v in &t.data {
                let _ = writeln!(text, "{:.9e}", *v as f32);
            }
        }
    }
    let data = dir.join("in.txt");
    std::fs::write(&data, text).map_err(|e| fail(format!("{}: {e}", data.display())))?;
    let run = Command::new(&exe)
        .arg(&data)
        .output()
        .map_err(|e| fail(format!("cannot run {}: {e}", exe.display())))?;
    if !run.status.success() {
        return Err(fail(format!(
            "the emulated program failed ({:?}): {}",
            run.status,
            String::from_utf8_lossy(&run.stderr).trim()
        )));
    }
    let printed = String::from_utf8_lossy(&run.stdout);
    let mut outputs: Vec<Vec<f64>> = Vec::with_capacity(items.len());
    for line in printed.lines() {
        if line.starts_with('#') {
            outputs.push(Vec::new());
        } else if let Some(o) = outputs.last_mut() {
            o.push(line.trim().parse::<f64>().unwrap_or(f64::NAN));
        }
    }
    if outputs.len() != items.len() {
        return Err(fail(format!(
            "{} of {} emulated programs printed an output",
            outputs.len(),
            items.len()
        )));
    }
    items
        .iter()
        .zip(outputs)
        .map(|((p, _), data)| {
            let shape: Vec<usize> = p.output_shape.iter().map(|&x| x as usize).collect();
            let n = shape.iter().product::<usize>();
            if data.len() != n {
                return Err(fail(format!(
                    "an emulated program printed {} values, its output has {n}",
                    data.len()
                )));
            }
            Ok(Tensor { shape, data })
        })
        .collect()
}
