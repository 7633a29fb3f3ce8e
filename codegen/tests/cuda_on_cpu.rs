//! The generated CUDA C, compiled as C++ for the CPU with a small shim that emulates the CUDA
//! launch (every block and thread run in turn), equals the reference interpreter. This checks
//! the kernels' semantics in CI without a GPU; the GPU run (`kas verify --device cuda`) checks
//! the same source through NVRTC on the device.

use kas_codegen::StageIr;
use kas_codegen::cuda::{
    CudaProgram, generate, generate_scheduled, heuristic_schedule, varied_schedule,
};
use kas_codegen::schedule::{Schedule, StageSchedule};
use kas_primitives::interp::interpret;
use kas_primitives::random::{RandomConfig, random_operator};
use kas_primitives::{Binding, Operator, Tensor, library};
use std::fmt::Write as _;

#[allow(dead_code)]
mod support;

use support::compile_and_run;

const SHIM: &str = r#"
#include <cstdio>
#include <cstdlib>
#include <vector>
struct kas_dim3 { unsigned x; };
static kas_dim3 blockIdx, blockDim, gridDim, threadIdx;
#define __global__
"#;

/// Emulates a launch with one OS thread per CUDA thread of a block (blocks in turn), shared
/// memory as function statics and `__syncthreads` as a barrier: enough for the tiled kernels.
const THREADED_SHIM: &str = r#"
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>
struct kas_dim3 { unsigned x; };
static kas_dim3 blockIdx, blockDim, gridDim;
static thread_local kas_dim3 threadIdx;
static std::barrier<> *kas_bar;
#define __global__
#define __device__
#define __ldg(p) (*(p))
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(x) __attribute__((aligned(x)))
#define __syncthreads() kas_bar->arrive_and_wait()
struct alignas(16) float4 { float x, y, z, w; };
static float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
struct alignas(8) float2 { float x, y; };
static float2 make_float2(float a, float b) { return {a, b}; }
"#;

fn harness(p: &CudaProgram, threaded: bool) -> String {
    let mut s = String::new();
    s.push_str("int main(int argc, char **argv) {\n  if (argc != 2) return 2;\n  FILE *f = fopen(argv[1], \"r\");\n  if (!f) return 2;\n");
    for (t, shape) in p.tensor_shapes.iter().enumerate() {
        let n: u64 = shape.iter().product();
        let name = if t == 0 {
            "in".to_string()
        } else {
            format!("w{t}")
        };
        let _ = writeln!(s, "  std::vector<float> {name}({n});");
        let _ = writeln!(
            s,
            "  for (auto &x : {name}) if (fscanf(f, \"%f\", &x) != 1) return 4;"
        );
    }
    s.push_str("  fclose(f);\n");
    let last = p.kernels.len() - 1;
    for (k, launch) in p.kernels.iter().enumerate() {
        let _ = writeln!(s, "  std::vector<float> s{k}({}, 1e30f);", launch.out_elems);
        let args: Vec<String> = launch
            .operands
            .iter()
            .map(|o| format!("{o}.data()"))
            .chain(std::iter::once(format!("s{k}.data()")))
            .collect();
        if threaded {
            let _ = writeln!(
                s,
                "  gridDim.x = {}; blockDim.x = {};\n  for (unsigned b = 0; b < gridDim.x; ++b) {{ blockIdx.x = b; std::barrier<> bar(blockDim.x); kas_bar = &bar; std::vector<std::thread> ts; for (unsigned t = 0; t < blockDim.x; ++t) ts.emplace_back([&, t] {{ threadIdx.x = t; {}({}); }}); for (auto &th : ts) th.join(); }}",
                launch.grid,
                launch.block,
                launch.name,
                args.join(", ")
            );
        } else {
            let _ = writeln!(
                s,
                "  gridDim.x = {}; blockDim.x = {};\n  for (unsigned b = 0; b < gridDim.x; ++b) for (unsigned t = 0; t < blockDim.x; ++t) {{ blockIdx.x = b; threadIdx.x = t; {}({}); }}",
                launch.grid,
                launch.block,
                launch.name,
                args.join(", ")
            );
        }
    }
    let _ = writeln!(
        s,
        "  for (float x : s{last}) printf(\"%.9g\\n\", x);\n  return 0;\n}}"
    );
    s
}

fn run_on_cpu(name: &str, op: &Operator, b: &Binding, seed: u64) {
    let ir = StageIr::lower(op).unwrap();
    let p = generate(&ir, b).unwrap();
    run_program(name, op, b, seed, &p, false);
}

fn run_program(name: &str, op: &Operator, b: &Binding, seed: u64, p: &CudaProgram, threaded: bool) {
    let shim = if threaded { THREADED_SHIM } else { SHIM };
    let source = format!("{shim}{}{}", p.source, harness(p, threaded));
    let (xs, got) = compile_and_run(name, &source, &[], op, b, seed);
    // The interpreter sees the same f32-rounded inputs.
    let xs32: Vec<Tensor> = xs
        .iter()
        .map(|x| Tensor {
            shape: x.shape.clone(),
            data: x.data.iter().map(|v| *v as f32 as f64).collect(),
        })
        .collect();
    let want = interpret(op, b, &xs32).unwrap();
    let got = Tensor {
        shape: want.shape.clone(),
        data: got,
    };
    let err = got.rel_err(&want);
    assert!(
        err <= 1e-4,
        "{name} under {}: err {err}\n{}",
        b.name,
        p.source
    );
}

#[test]
fn library_kernels_on_cpu_match_the_interpreter() {
    for e in library::entries() {
        let op = (e.build)().unwrap();
        for (i, b) in op.bindings.iter().enumerate() {
            run_on_cpu(e.name, &op, b, 5 + i as u64);
        }
    }
}

#[test]
fn random_kernels_on_cpu_match_the_interpreter() {
    let cfg = RandomConfig::default();
    for seed in 0..40 {
        let op = random_operator(1000 + seed, &cfg);
        run_on_cpu(&format!("random-{seed}"), &op, &op.bindings[0], seed);
    }
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
                run_program(
                    &format!("{}-{i}-{j}", e.name),
                    &op,
                    b,
                    5 + i as u64,
                    &p,
                    true,
                );
            }
        }
    }
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
    for seed in 0..30 {
        let op = random_operator(2000 + seed, &cfg);
        let ir = StageIr::lower(&op).unwrap();
        let b = &op.bindings[0];
        let sched = varied_schedule(&ir, b, 12 + seed).unwrap();
        tiled += non_direct(&sched);
        let p = generate_scheduled(&ir, b, "kas", &sched).unwrap();
        run_program(&format!("tiled-random-{seed}"), &op, b, seed, &p, true);
    }
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
            run_program(&format!("vec-{name}-{i}"), &op, &b, 3 + i as u64, &p, true);
        }
    }
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
