//! The printed C compiles with the system C compiler, and running it on random tensors gives
//! what the reference interpreter gives. A sanitized build checks that no tensor is read out
//! of range, and that removing the zero-padding guards would be caught.

mod common;

use kas_primitives::interp::random_inputs;
use kas_primitives::print::loop_nest_c;
use kas_primitives::{Binding, Operator, Tensor, interpret};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `cc`, else `gcc`; fails the test when neither runs.
fn compiler() -> &'static str {
    for cc in ["cc", "gcc"] {
        if Command::new(cc)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return cc;
        }
    }
    panic!("no C compiler found: neither `cc` nor `gcc` runs; install one to test the printed C");
}

/// A fresh, unique scratch folder under the system temp dir.
fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "kas-print-{}-{tag}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A `main` that reads every tensor from the file named by `argv[1]` (whitespace-separated
/// numbers, tensor after tensor), calls the operator with the binding's values and prints the
/// output, one number per line.
fn harness(op: &Operator, name: &str, b: &Binding) -> String {
    let counts: Vec<usize> = (0..op.tensor_count())
        .map(|t| op.concrete(op.tensor_axes(t), b).unwrap().iter().product())
        .collect();
    let out_count: usize = op.concrete(&op.outputs, b).unwrap().iter().product();
    let args: Vec<String> = b
        .pairs(&op.vars)
        .iter()
        .map(|(_, v)| format!("{v}L"))
        .collect();
    let mut s = String::from(
        "\n#include <stdio.h>\n#include <stdlib.h>\n\n\
         static double *read_tensor(FILE *f, long n)\n{\n\
         \x20   double *p = malloc((size_t)n * sizeof *p);\n\
         \x20   if (!p) exit(3);\n\
         \x20   for (long i = 0; i < n; i++)\n\
         \x20       if (fscanf(f, \"%lf\", &p[i]) != 1) exit(4);\n\
         \x20   return p;\n}\n\n\
         int main(int argc, char **argv)\n{\n\
         \x20   if (argc != 2) return 2;\n\
         \x20   FILE *f = fopen(argv[1], \"r\");\n\
         \x20   if (!f) return 2;\n",
    );
    for (t, n) in counts.iter().enumerate() {
        let _ = writeln!(s, "    double *t{t} = read_tensor(f, {n}L);");
    }
    let _ = writeln!(s, "    fclose(f);");
    let _ = writeln!(
        s,
        "    double *out = malloc({out_count} * sizeof *out);\n    if (!out) return 3;\n    \
         for (long i = 0; i < {out_count}; i++) out[i] = 1e300;"
    );
    let tensors: Vec<String> = (0..counts.len()).map(|t| format!("t{t}")).collect();
    let _ = writeln!(
        s,
        "    {name}({}, {}, out);",
        args.join(", "),
        tensors.join(", ")
    );
    let _ = writeln!(
        s,
        "    for (long i = 0; i < {out_count}; i++) printf(\"%.17g\\n\", out[i]);"
    );
    for t in &tensors {
        let _ = writeln!(s, "    free({t});");
    }
    s.push_str("    free(out);\n    return 0;\n}\n");
    s
}

/// Compiles `source` with `flags`; `Err` with the compiler's message if it fails.
fn compile(dir: &Path, source: &str, flags: &[&str]) -> Result<PathBuf, String> {
    let src = dir.join("op.c");
    let exe = dir.join("op");
    std::fs::write(&src, source).unwrap();
    let out = Command::new(compiler())
        .args([
            "-std=c99",
            "-pedantic",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-O1",
        ])
        .args(flags)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("running the C compiler");
    if out.status.success() {
        Ok(exe)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Runs the program on `inputs`; `Err` with its stderr if it fails.
fn run(dir: &Path, exe: &Path, inputs: &[Tensor], shape: &[usize]) -> Result<Tensor, String> {
    let data = dir.join("inputs.txt");
    let mut text = String::new();
    for x in inputs {
        for v in &x.data {
            let _ = writeln!(text, "{v:e}");
        }
    }
    std::fs::write(&data, text).unwrap();
    let out = Command::new(exe)
        .arg(&data)
        // Wide heap redzones, so that a read far before or after a tensor is still caught.
        .env(
            "ASAN_OPTIONS",
            "redzone=256:max_redzone=2048:detect_leaks=0",
        )
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
        .output()
        .expect("running the compiled operator");
    if !out.status.success() {
        return Err(format!(
            "exit {:?}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let data: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().expect("a number per line"))
        .collect();
    assert_eq!(data.len(), shape.iter().product::<usize>(), "output size");
    Ok(Tensor {
        shape: shape.to_vec(),
        data,
    })
}

/// Prints, compiles and runs `op` under each of its bindings and compares with `interpret`.
fn check(name: &str, op: &Operator, flags: &[&str], ints: bool) {
    for (i, b) in op.bindings.iter().enumerate() {
        let dir = scratch(name);
        let source = loop_nest_c(op, name) + &harness(op, name, b);
        let exe = compile(&dir, &source, flags)
            .unwrap_or_else(|e| panic!("{name}: the printed C does not compile:\n{e}\n{source}"));
        let inputs = random_inputs(op, b, 17 + i as u64, ints).unwrap();
        let want = interpret(op, b, &inputs).unwrap();
        let got = run(&dir, &exe, &inputs, &want.shape)
            .unwrap_or_else(|e| panic!("{name} under `{}`: the program failed: {e}", b.name));
        let err = got.rel_err(&want);
        assert!(
            err <= 1e-12,
            "{name} under `{}`: rel err {err:e} against the interpreter",
            b.name
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn printed_c_of_every_library_operator_matches_the_interpreter() {
    for e in kas_primitives::library::entries() {
        let op = (e.build)().unwrap();
        let name = format!("kas_{}", e.name.replace('-', "_"));
        check(&name, &op, &[], false);
    }
}

#[test]
fn printed_c_matches_the_interpreter() {
    for (name, op) in common::all() {
        check(name, &op, &[], false);
        check(name, &op, &[], true);
    }
}

const SANITIZE: &[&str] = &[
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-g",
];

/// Whether this compiler can build and run a sanitized program.
fn sanitizers_work() -> bool {
    let dir = scratch("probe");
    let ok = compile(&dir, "int main(void) { return 0; }\n", SANITIZE)
        .ok()
        .is_some_and(|exe| Command::new(exe).status().is_ok_and(|s| s.success()));
    std::fs::remove_dir_all(&dir).ok();
    ok
}

#[test]
fn printed_c_reads_in_range() {
    compiler();
    if !sanitizers_work() {
        eprintln!("skipping: `{}` cannot build with {SANITIZE:?}", compiler());
        return;
    }
    for (name, op) in common::all() {
        check(name, &op, SANITIZE, false);
    }
    // Without its guards, the convolution reads outside `in`, and the sanitizer says so: the
    // check above would catch a missing guard.
    let op = common::conv3x3();
    let b = &op.bindings[0];
    let printed = loop_nest_c(&op, "conv3x3");
    let unguarded = printed.replace("if (0 <= ", "if (1 || 0 <= ");
    assert_ne!(printed, unguarded, "the conv has guards to remove");
    let dir = scratch("unguarded");
    let flags = [SANITIZE, &["-Wno-parentheses"]].concat();
    let exe = compile(&dir, &(unguarded + &harness(&op, "conv3x3", b)), &flags).unwrap();
    let inputs = random_inputs(&op, b, 1, false).unwrap();
    let shape = op.concrete(&op.outputs, b).unwrap();
    let e = run(&dir, &exe, &inputs, &shape).expect_err("an unguarded read must be caught");
    assert!(
        e.contains("AddressSanitizer") || e.contains("runtime error"),
        "unexpected failure: {e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
