//! An export bundle builds outside kas: nvcc (from PyPI, installed by the README's set-up and
//! named by `KAS_NVCC`) compiles the `.cu` for sm_90 and links a small C host program that
//! includes the `.h` and calls every entry point. A missing nvcc fails the test.

use kas_codegen::Precision;
use kas_codegen::export::{bundle, bundle_with, c_name};
use kas_primitives::library;
use std::path::PathBuf;
use std::process::Command;

fn nvcc() -> PathBuf {
    let p = std::env::var("KAS_NVCC").unwrap_or_else(|_| {
        panic!("KAS_NVCC is not set: run the tests through scripts/test, which installs nvcc 13.0")
    });
    let p = PathBuf::from(p);
    assert!(p.exists(), "KAS_NVCC={} does not exist", p.display());
    p
}

#[test]
fn bundles_compile_with_nvcc_and_link_a_host_program() {
    let nvcc = nvcc();
    let cu13 = nvcc.parent().unwrap().parent().unwrap().to_path_buf();
    let cases = [
        ("conv2d", Precision::F32),
        ("syno-op2", Precision::F32),
        ("separable-conv2d", Precision::F32),
        ("syno-op2", Precision::Tf32),
        ("conv2d", Precision::Bf16),
        ("syno-op2", Precision::Bf16),
    ];
    for (name, precision) in cases {
        let op = (library::get(name).unwrap().build)().unwrap();
        let files = match precision {
            Precision::F32 => bundle(name, &op, &op.bindings).unwrap(),
            p => bundle_with(name, &op, &op.bindings, p, &|_, _| None).unwrap(),
        };
        let dir = std::env::temp_dir().join(format!(
            "kas-export-{}-{name}-{precision}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for f in &files {
            std::fs::write(dir.join(&f.name), &f.contents).unwrap();
        }
        let base = c_name(name);
        // A host program in plain C that calls each binding's entry point.
        let mut main = format!("#include \"{base}.h\"\n#include <stdio.h>\nint main(void) {{\n");
        for b in &op.bindings {
            let prefix = format!("{base}_{}", c_name(&b.name));
            let mut args = vec!["0".to_string(); op.tensor_count() + 2];
            args.push("0".into());
            main.push_str(&format!(
                "    printf(\"%zu\\n\", {prefix}_workspace_bytes());\n    if (0) {prefix}({});\n",
                args.join(", ")
            ));
        }
        main.push_str("    return 0;\n}\n");
        std::fs::write(dir.join("main.c"), main).unwrap();
        let out = Command::new(&nvcc)
            .current_dir(&dir)
            .args(["-arch=sm_90", "-O2", "-Xcompiler", "-Wall"])
            .arg(format!("-L{}", cu13.join("lib").display()))
            .args([&format!("{base}.cu"), "main.c", "-o", "host"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: nvcc failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(dir.join("host").exists());
        let launch: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("launch.json")).unwrap())
                .unwrap();
        assert_eq!(
            launch["bindings"].as_array().unwrap().len(),
            op.bindings.len()
        );
        assert_eq!(launch["precision"], precision.label());
        let h = std::fs::read_to_string(dir.join(format!("{base}.h"))).unwrap();
        assert_eq!(
            h.contains("const kas_bf16 *in"),
            precision == Precision::Bf16,
            "{name} {precision}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
