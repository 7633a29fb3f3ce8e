//! Writes a standalone CUDA program (kernels + a timing `main`) for a library operator under a
//! binding `NAME=VALUE,…` and a schedule (JSON, or `heuristic`): a development aid for
//! experiments with nvcc on the GPU machine.
use kas_codegen::cuda::{generate_scheduled, heuristic_schedule};
use kas_codegen::schedule::Schedule;
use std::fmt::Write as _;

mod common;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().expect("operator");
    let vals = args.next().expect("binding");
    let sched = args.next().unwrap_or_else(|| "heuristic".into());
    let (ir, b) = common::lowered(&name, &vals);
    let s: Schedule = if sched == "heuristic" {
        heuristic_schedule(&ir, &b).unwrap()
    } else {
        serde_json::from_str(&sched).unwrap()
    };
    let p = generate_scheduled(&ir, &b, "kas", &s).unwrap();
    let mut m = String::new();
    m.push_str(
        "#include <cstdio>\n#include <vector>\n#include <algorithm>\n#include <cuda_runtime.h>\n",
    );
    m.push_str(&p.source);
    m.push_str("int main() {\n  std::vector<float*> bufs;\n");
    for (t, shape) in p.tensor_shapes.iter().enumerate() {
        let n: u64 = shape.iter().product();
        let nm = if t == 0 {
            "in".to_string()
        } else {
            format!("w{t}")
        };
        let _ = writeln!(
            m,
            "  float *{nm}; cudaMalloc(&{nm}, {n} * 4); {{ std::vector<float> h({n}); for (size_t i = 0; i < h.size(); ++i) h[i] = (float)((i * 2654435761u) % 1000) / 1000.f - 0.5f; cudaMemcpy({nm}, h.data(), {n} * 4, cudaMemcpyHostToDevice); }}"
        );
    }
    for (k, l) in p.kernels.iter().enumerate() {
        let _ = writeln!(
            m,
            "  float *s{k}; cudaMalloc(&s{k}, {} * 4);",
            l.out_elems.max(1)
        );
    }
    let nk = p.kernels.len();
    let _ = writeln!(
        m,
        "  char *flush; cudaMalloc(&flush, 200 << 20);\n  cudaEvent_t ev[{}]; for (auto &e : ev) cudaEventCreate(&e);",
        nk + 1
    );
    let _ = writeln!(
        m,
        "  std::vector<float> ts[{nk}];\n  for (int run = 0; run < 21; ++run) {{"
    );
    for (k, l) in p.kernels.iter().enumerate() {
        let mut args = l.operands.clone();
        args.push(format!("s{k}"));
        let _ = writeln!(
            m,
            "    cudaMemset(flush, run, 200 << 20);\n    cudaEventRecord(ev[{k}]);"
        );
        let _ = writeln!(
            m,
            "    {}<<<{}, {}>>>({});",
            l.name,
            l.grid,
            l.block,
            args.join(", ")
        );
        let _ = writeln!(
            m,
            "    cudaEventRecord(ev[{n}]);\n    {{ cudaEventSynchronize(ev[{n}]); float ms; cudaEventElapsedTime(&ms, ev[{k}], ev[{n}]); if (run) ts[{k}].push_back(ms); }}",
            n = k + 1
        );
    }
    m.push_str("  }\n  cudaError_t err = cudaGetLastError();\n");
    let _ = writeln!(m, "  printf(\"%s:\", \"{}\");", s.label());
    m.push_str("  for (auto &t : ts) { std::sort(t.begin(), t.end()); printf(\" %.1f us\", t[t.size() / 2] * 1e3); }\n");
    m.push_str("  printf(\" (%s)\\n\", cudaGetErrorString(err));\n  return 0;\n}\n");
    print!("{m}");
}
