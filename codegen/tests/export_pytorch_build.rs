//! The PyTorch export builds and its Python imports, outside kas:
//!
//! - nvcc (`KAS_NVCC`, the pip nvcc scripts/env.sh installs) compiles `<name>_batched.cu` for
//!   sm_90 at f32 and bf16;
//! - the C++ compiler checks `<name>_torch.cpp` against libtorch's headers (`$LIBTORCH/include`)
//!   and the CUDA headers next to nvcc;
//! - plain `python3` byte-compiles both Python files and evaluates the formula module's
//!   `reference_loops` (no PyTorch), which must match the reference interpreter;
//! - where a Python with PyTorch exists (`KAS_TORCH_PYTHON`, else
//!   `$KAS_HOME/torch-2.11.0/bin/python`), the module imports without building the extension,
//!   an `Operator` has the documented weights, and `reference` matches the interpreter.
//!
//! A missing tool skips its part with the reason printed.

use kas_codegen::Precision;
use kas_codegen::export::pytorch::{TorchExport, pytorch_files};
use kas_codegen::export::{BundleFile, c_name};
use kas_primitives::interp::{interpret, random_inputs};
use kas_primitives::{Binding, Operator, library};
use std::path::{Path, PathBuf};
use std::process::Command;

fn export(
    name: &str,
    shapes: &[&str],
    precision: Precision,
    dir: &Path,
) -> (Operator, Vec<Binding>) {
    let op = (library::get(name).unwrap().build)().unwrap();
    let bindings: Vec<Binding> = shapes
        .iter()
        .map(|s| op.bindings.iter().find(|b| b.name == *s).unwrap().clone())
        .collect();
    let files: Vec<BundleFile> = pytorch_files(&TorchExport {
        name,
        op: &op,
        shapes: &bindings,
        buckets: &[4],
        precision,
    })
    .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    for f in &files {
        std::fs::write(dir.join(&f.name), &f.contents).unwrap();
    }
    (op, bindings)
}

fn temp(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kas-torch-build-{}-{tag}", std::process::id()))
}

fn nvcc() -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var_os("KAS_NVCC")?);
    p.exists().then_some(p)
}

#[test]
fn batched_kernels_compile_with_nvcc() {
    let Some(nvcc) = nvcc() else {
        println!("skipped: KAS_NVCC is not set or missing (scripts/env.sh installs nvcc)");
        return;
    };
    for precision in [Precision::F32, Precision::Bf16] {
        let dir = temp(&format!("nvcc-{precision}"));
        export("syno-op2", &["g3-s2-m2-h5"], precision, &dir);
        for file in ["syno_op2_s0.cu", "syno_op2_batched.cu"] {
            let out = Command::new(&nvcc)
                .current_dir(&dir)
                .args(["-arch=sm_90", "-O2", "-c", file, "-o"])
                .arg(format!("{file}.o"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "nvcc failed on {file} at {precision}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn torch_binding_compiles_against_libtorch_headers() {
    let Some(torch) = std::env::var_os("LIBTORCH").map(PathBuf::from) else {
        println!("skipped: LIBTORCH is not set (scripts/env.sh sets it)");
        return;
    };
    let include = torch.join("include");
    let Some(cuda) = nvcc().and_then(|n| Some(n.parent()?.parent()?.join("include"))) else {
        println!("skipped: no CUDA headers (KAS_NVCC is not set)");
        return;
    };
    if !include.join("torch/library.h").exists() {
        println!("skipped: no libtorch headers in {}", include.display());
        return;
    }
    let dir = temp("cpp");
    export("syno-op2", &["g3-s2-m2-h5"], Precision::Bf16, &dir);
    let out = Command::new("c++")
        .current_dir(&dir)
        .args(["-std=c++17", "-fsyntax-only", "-w"])
        .arg(format!("-I{}", include.display()))
        .arg(format!(
            "-I{}",
            include.join("torch/csrc/api/include").display()
        ))
        .arg(format!("-I{}", cuda.display()))
        .args(["-I.", "syno_op2_torch.cpp"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the torch binding does not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Writes the inputs of `op` under `b` (batch `n`) and the interpreter's output as Python
/// literals, and a script that evaluates `code` (reading `tensors`, `shape`, `batch`) and
/// prints the largest relative difference to the interpreter's output.
fn compare_script(op: &Operator, b: &Binding, shape: &str, n: u64, code: &str) -> String {
    let mut pairs = b.pairs(&op.vars);
    pairs[0].1 = n;
    let bn = op
        .vars
        .bind(&b.name, pairs.iter().map(|(k, v)| (k.as_str(), *v)))
        .unwrap();
    let xs = random_inputs(op, &bn, 5, false).unwrap();
    let want = interpret(op, &bn, &xs).unwrap();
    let list = |d: &[f64]| {
        let v: Vec<String> = d.iter().map(|x| format!("{x:e}")).collect();
        format!("[{}]", v.join(", "))
    };
    let tensors: Vec<String> = xs.iter().map(|x| list(&x.data)).collect();
    format!(
        "import sys\nsys.path.insert(0, '.')\ntensors = [{}]\nwant = {}\nshape = {shape:?}\nbatch = {n}\n{code}\n\
         den = max(1e-30, max(abs(w) for w in want))\nprint(max(abs(g - w) for g, w in zip(got, want)) / den, len(got) == len(want))\n",
        tensors.join(", "),
        list(&want.data)
    )
}

fn run_python(python: &str, dir: &Path, script: &str) -> String {
    std::fs::write(dir.join("check.py"), script).unwrap();
    let out = Command::new(python)
        .current_dir(dir)
        .arg("check.py")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{python} check.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn assert_close(line: &str, what: &str) {
    let (err, same) = line.split_once(' ').unwrap();
    let err: f64 = err.parse().unwrap();
    assert_eq!(same, "True", "{what}: output size");
    assert!(err < 1e-9, "{what}: relative difference {err}");
}

#[test]
fn formula_module_matches_the_interpreter_in_plain_python() {
    let dir = temp("formula");
    for (name, shape) in [("syno-op2", "g3-s2-m2-h5"), ("conv2d", "odd-5x7")] {
        let (op, bindings) = export(name, &[shape], Precision::F32, &dir);
        let base = c_name(name);
        let compiled = Command::new("python3")
            .current_dir(&dir)
            .args([
                "-m",
                "py_compile",
                &format!("{base}.py"),
                &format!("{base}_formula.py"),
            ])
            .output()
            .expect("python3 runs");
        assert!(
            compiled.status.success(),
            "{}",
            String::from_utf8_lossy(&compiled.stderr)
        );
        let code =
            format!("import {base}_formula as f\ngot = f.reference_loops(shape, batch, tensors)");
        let line = run_python(
            "python3",
            &dir,
            &compare_script(&op, &bindings[0], shape, 2, &code),
        );
        assert_close(&line, name);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn python_module_imports_and_its_reference_matches_where_torch_is_installed() {
    let python = std::env::var("KAS_TORCH_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("KAS_HOME").unwrap_or_default();
        format!("{home}/torch-2.11.0/bin/python")
    });
    let probe = Command::new(&python).args(["-c", "import torch"]).output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            let why = String::from_utf8_lossy(&o.stderr);
            println!(
                "skipped: {python} cannot import torch ({}); set KAS_TORCH_PYTHON to a Python with PyTorch",
                why.lines().last().unwrap_or("")
            );
            return;
        }
        Err(e) => {
            println!("skipped: cannot run {python}: {e}");
            return;
        }
    }
    let dir = temp("module");
    let (op, bindings) = export("syno-op2", &["g3-s2-m2-h5"], Precision::F32, &dir);
    let code = "import torch, syno_op2 as m\n\
        layer = m.Operator(shape, dtype=torch.float64)\n\
        assert [list(w.shape) for w in layer.weights()] == m.SHAPES[shape]['weights']\n\
        b = m.SHAPES[shape]['init_bound']\n\
        assert all(float(w.abs().max()) <= b for w in layer.weights())\n\
        ts = [torch.tensor(t, dtype=torch.float64) for t in tensors]\n\
        ts[0] = ts[0].reshape([batch] + m.SHAPES[shape]['input'][1:])\n\
        ts[1:] = [t.reshape(s) for t, s in zip(ts[1:], m.SHAPES[shape]['weights'])]\n\
        got = m.reference(shape, *ts).flatten().tolist()";
    let line = run_python(
        &python,
        &dir,
        &compare_script(&op, &bindings[0], "g3-s2-m2-h5", 3, code),
    );
    assert_close(&line, "reference");
    std::fs::remove_dir_all(&dir).ok();
}
