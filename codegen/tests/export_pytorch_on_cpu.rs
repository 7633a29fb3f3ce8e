//! The PyTorch export's run-time batch, run on the CPU: `<name>_batched.cu` (every bucket
//! program, the slicing of the batch, weight-gradient accumulation, copies of misaligned
//! slices) compiled as C++ with the CUDA emulation of `tests/shim`, its C API `<name>_run`
//! called for the forward pass and the gradient with respect to every tensor at batch sizes
//! that take several slices, and compared with the reference interpreter (the gradient
//! operators of `kas_primitives::grad` interpreted in f64).

#[allow(dead_code)]
mod support;

use kas_codegen::Precision;
use kas_codegen::export::c_name;
use kas_codegen::export::pytorch::{TorchExport, pytorch_files};
use kas_primitives::grad::gradient;
use kas_primitives::interp::interpret;
use kas_primitives::{Binding, Operator, Tensor, library};
use std::fmt::Write as _;
use std::process::Command;

const SHIM: &str = include_str!("shim/tensor_core.hpp");

/// Stands in for `<cuda_runtime.h>` and launches kernels through the shim.
const RUNTIME: &str = r#"
#include <string>
typedef int cudaError_t;
enum { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorNotSupported = 801 };
typedef void *cudaStream_t;
static cudaError_t cudaGetLastError() { return cudaSuccess; }
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize };
template <class F> static cudaError_t cudaFuncSetAttribute(F, cudaFuncAttribute, int) { return cudaSuccess; }
static std::vector<std::string> kas_launched;
#define KAS_LAUNCH(k, g, b, sm, st, ...) (kas_launched.push_back(#k), kas_launch((g), (b), (sm), [&] { k(__VA_ARGS__); }))
"#;

/// `main`: reads shape, direction, batch, the forward tensors and the upstream gradient,
/// calls `<base>_run` and prints the result.
fn main_source(base: &str, bf16: bool) -> String {
    let (load, print) = if bf16 {
        ("kas_f32_to_bf16(x)", "kas_bf16_to_f32(o[i])")
    } else {
        ("x", "o[i]")
    };
    format!(
        r#"
static {base}_elem *read_tensor(FILE *f, long long count)
{{
    {base}_elem *p = ({base}_elem *)aligned_alloc(256, (size_t)((count * sizeof({base}_elem) + 255) / 256 * 256));
    for (long long i = 0; i < count; ++i) {{ float x; if (fscanf(f, "%f", &x) != 1) exit(4); p[i] = {load}; }}
    return p;
}}
static long long count(int shape, int t, long long n) {{ long long d[8]; int r = {base}_tensor_shape(shape, t, d); long long c = 1; for (int a = 0; a < r; ++a) c *= d[a]; return (t == 0 || t == {base}_tensor_count()) ? c * n : c; }}
int main(int argc, char **argv)
{{
    if (argc != 2) return 2;
    FILE *f = fopen(argv[1], "r");
    int shape, direction; long long n;
    if (fscanf(f, "%d %d %lld", &shape, &direction, &n) != 3) return 3;
    const int T = {base}_tensor_count();
    std::vector<const void *> ts;
    for (int t = 0; t < T; ++t) ts.push_back(read_tensor(f, count(shape, t, n)));
    const void *up = read_tensor(f, count(shape, T, n));
    const long long outs = count(shape, direction == 0 ? T : direction - 1, n);
    {base}_elem *o = ({base}_elem *)aligned_alloc(256, (size_t)((outs * sizeof({base}_elem) + 255) / 256 * 256));
    const size_t bytes = {base}_scratch_bytes(shape, direction, n);
    void *scratch = bytes ? aligned_alloc(256, bytes) : 0;
    if (bytes) memset(scratch, 0xff, bytes);
    if ({base}_run(shape, direction, n, ts.data(), up, o, scratch, 0) != cudaSuccess) return 5;
    for (long long i = 0; i < outs; ++i) printf("%.9g\n", {print});
    for (const auto &k : kas_launched) fprintf(stderr, "%s\n", k.c_str());
    return 0;
}}
"#
    )
}

/// Compiles the export's sources (the kernels of every shape, then the run-time) with the shim
/// into one executable.
fn build(name: &str, cu: &str, h: &str, base: &str, bf16: bool) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kas-torch-cpu-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let header = h.replace("#include <cuda_runtime.h>", "");
    let body = cu.replace(&format!("#include \"{base}_batched.h\""), "");
    let source = format!("{SHIM}{RUNTIME}{header}{body}{}", main_source(base, bf16));
    let src = dir.join("k.cpp");
    std::fs::write(&src, &source).unwrap();
    let exe = dir.join("k");
    let out = Command::new(support::cxx())
        .args(["-O1", "-std=c++20", "-pthread", "-w", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: the batched source does not compile as C++:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// `b` at batch `n`.
fn at_batch(op: &Operator, b: &Binding, n: u64) -> Binding {
    let mut pairs = b.pairs(&op.vars);
    pairs[0].1 = n;
    op.vars
        .bind(&b.name, pairs.iter().map(|(k, v)| (k.as_str(), *v)))
        .unwrap()
}

fn round(p: Precision, t: &Tensor) -> Tensor {
    Tensor {
        shape: t.shape.clone(),
        data: t.data.iter().map(|&v| p.round(v as f32) as f64).collect(),
    }
}

/// Runs direction `d` of shape `shape` at batch `n` and returns the printed values and the
/// kernels launched, in order.
fn run(
    exe: &std::path::Path,
    shape: usize,
    d: usize,
    n: u64,
    xs: &[Tensor],
    up: &Tensor,
) -> (Vec<f64>, Vec<String>) {
    let mut text = format!("{shape} {d} {n}\n");
    for t in xs.iter().chain([up]) {
        for v in &t.data {
            let _ = writeln!(text, "{:.9e}", *v as f32);
        }
    }
    let input = exe.with_file_name(format!("in-{shape}-{d}-{n}.txt"));
    std::fs::write(&input, text).unwrap();
    let out = Command::new(exe).arg(&input).output().unwrap();
    assert!(
        out.status.success(),
        "run failed: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let values = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let launched = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect();
    (values, launched)
}

/// Exports `name` for the shapes (bindings of the library operator) with `buckets` at
/// `precision`, runs every direction at each batch of `batches` and checks it; returns the
/// kernels each forward run launched.
fn check(
    name: &str,
    shapes: &[&str],
    buckets: &[u64],
    batches: &[u64],
    precision: Precision,
) -> Vec<Vec<String>> {
    let mut forward_launches = Vec::new();
    let op = (library::get(name).unwrap().build)().unwrap();
    let bindings: Vec<Binding> = shapes
        .iter()
        .map(|s| op.bindings.iter().find(|b| b.name == *s).unwrap().clone())
        .collect();
    let files = pytorch_files(&TorchExport {
        name,
        op: &op,
        shapes: &bindings,
        buckets,
        precision,
    })
    .unwrap();
    let base = c_name(name);
    let get = |f: &str| &files.iter().find(|x| x.name == f).unwrap().contents;
    let mut cu: String = (0..bindings.len())
        .map(|i| get(&format!("{base}_s{i}.cu")).as_str())
        .collect();
    cu.push_str(get(&format!("{base}_batched.cu")));
    let exe = build(
        &format!("{name}-{precision}"),
        &cu,
        get(&format!("{base}_batched.h")),
        &base,
        precision == Precision::Bf16,
    );
    let tol = match precision {
        Precision::F32 => 1e-5,
        p => p.tolerance(),
    };
    for (si, b) in bindings.iter().enumerate() {
        for &n in batches {
            let bn = at_batch(&op, b, n);
            let seed = 11 + n + 100 * si as u64;
            let xs: Vec<Tensor> = kas_primitives::interp::random_inputs(&op, &bn, seed, false)
                .unwrap()
                .iter()
                .map(|t| round(precision, t))
                .collect();
            let out_shape = op.concrete(&op.outputs, &bn).unwrap();
            let up = round(precision, &Tensor::random(&out_shape, seed + 1));
            let want = interpret(&op, &bn, &xs).unwrap();
            let (got, launched) = run(&exe, si, 0, n, &xs, &up);
            forward_launches.push(launched);
            let err = Tensor {
                shape: want.shape.clone(),
                data: got,
            }
            .rel_err(&want);
            assert!(
                err <= tol,
                "{name} {precision} shape {si} n={n} forward: error {err}"
            );
            for t in 0..op.tensor_count() {
                let g = gradient(&op, t).unwrap();
                let gb = kas_primitives::NamedBinding::from_binding(&bn, &op.vars)
                    .resolve(&g.op.vars)
                    .unwrap();
                let gin = g.inputs(&gb, &up, &xs).unwrap();
                let want = g
                    .expand(&gb, &interpret(&g.op, &gb, &gin).unwrap())
                    .unwrap();
                let (got, _) = run(&exe, si, 1 + t, n, &xs, &up);
                assert_eq!(got.len(), want.data.len(), "{name} gradient {t}: size");
                let err = Tensor {
                    shape: want.shape.clone(),
                    data: got,
                }
                .rel_err(&want);
                assert!(
                    err <= tol,
                    "{name} {precision} shape {si} n={n} gradient of tensor {t}: error {err}"
                );
            }
        }
    }
    std::fs::remove_dir_all(exe.parent().unwrap()).ok();
    forward_launches
}

#[test]
fn syno_op2_forward_and_gradients_at_run_time_batches_match_the_interpreter() {
    // Buckets 3 and 1: batch 4 = 3 + 1, batch 7 = 3 + 3 + 1. A sample of shape g3-s2-m2-h5
    // is 150 floats (600 bytes), so the slice after 3 samples starts off a 16-byte boundary
    // and is copied; the weight gradients sum over the slices.
    let launches = check(
        "syno-op2",
        &["g3-s2-m2-h5", "g3-s1-m3-h4"],
        &[3],
        &[4, 7],
        Precision::F32,
    );
    // Shape g3-s2-m2-h5 at batch 4: the bucket-3 program, then the bucket-1 program on a
    // copy of the misaligned last input sample (its output, 300 floats a sample, is aligned
    // and written in place).
    let names: Vec<&str> = launches[0].iter().map(|s| s.as_str()).collect();
    let n3 = names.iter().position(|k| k.contains("_n3")).unwrap();
    let n1 = names.iter().position(|k| k.contains("_n1")).unwrap();
    let copies: Vec<usize> = (names.iter().enumerate())
        .filter(|(_, k)| **k == "syno_op2_copy")
        .map(|(i, _)| i)
        .collect();
    assert!(
        n3 < n1 && copies.len() == 1 && n3 < copies[0] && copies[0] < n1,
        "{names:?}"
    );
}

#[test]
fn conv2d_at_bf16_runs_at_a_batch_of_several_slices() {
    let launches = check("conv2d", &["odd-5x7"], &[2], &[5], Precision::Bf16);
    assert!(launches[0].iter().filter(|k| k.contains("_n2")).count() >= 2);
}
