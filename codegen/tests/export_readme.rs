//! Every export bundle carries a README.md that names its entry points, states the tensor
//! layouts (shapes and row-major strides), the stream and workspace contract, and the nvcc
//! commands; the commands it gives for nvcc from PyPI build a host program (with the nvcc the
//! README's set-up installs, named by `KAS_NVCC`).

use kas_codegen::export::{BundleFile, bundle, c_name};
use kas_primitives::library;
use std::path::PathBuf;
use std::process::Command;

fn bundle_of(name: &str) -> (kas_primitives::Operator, Vec<BundleFile>) {
    let op = (library::get(name).unwrap().build)().unwrap();
    let files = bundle(name, &op, &op.bindings).unwrap();
    (op, files)
}

fn file<'a>(files: &'a [BundleFile], name: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no {name} in the bundle"))
        .contents
}

#[test]
fn readme_names_entry_points_layouts_streams_workspace_and_flags() {
    for name in ["conv2d", "syno-op2", "separable-conv2d"] {
        let (op, files) = bundle_of(name);
        let readme = file(&files, "README.md");
        let launch: serde_json::Value = serde_json::from_str(file(&files, "launch.json")).unwrap();
        let base = c_name(name);
        for b in launch["bindings"].as_array().unwrap() {
            let entry = b["entry_point"].as_str().unwrap();
            let bytes = b["workspace_bytes"].as_u64().unwrap();
            assert!(
                readme.contains(&format!(
                    "### `{entry}` (binding `{}`)",
                    b["binding"].as_str().unwrap()
                )),
                "{name}: {entry} missing"
            );
            assert!(
                readme.contains(&format!("Workspace: {bytes} bytes")),
                "{name} {entry}"
            );
            // Row-major strides of every tensor, from launch.json's shapes.
            let shapes = b["input_shapes"]
                .as_array()
                .unwrap()
                .iter()
                .chain([&b["output_shape"]]);
            for (t, shape) in shapes.enumerate() {
                let dims: Vec<u64> = shape
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap())
                    .collect();
                let strides: Vec<u64> = (0..dims.len())
                    .map(|i| dims[i + 1..].iter().product())
                    .collect();
                let label = if t == op.tensor_count() {
                    "out".to_string()
                } else if t == 0 {
                    "in".to_string()
                } else {
                    format!("w{t}")
                };
                let row = format!("| `{label}` | {dims:?} | {strides:?} |");
                assert!(
                    readme.contains(&row),
                    "{name} {entry}: no row {row}\n{readme}"
                );
            }
        }
        for needle in [
            "row-major",
            "asynchronous",
            "`stream`",
            "cudaStreamSynchronize",
            "may be `NULL` exactly when",
            "cudaGetLastError",
            "cannot find -lcudart_static",
            "-L\"$CU13/lib\"",
            "-l:libcudart.so.13",
            &format!("cudaError_t {base}_<binding>(const float *in"),
            &format!("{base}.loops.c"),
            "```text\nout = 0\n",
        ] {
            assert!(
                readme.contains(needle),
                "{name}: README lacks {needle:?}\n{readme}"
            );
        }
    }
}

/// The README says `workspace` may be NULL when its size is 0: then the entry point never
/// forms a pointer into it (no intermediate), as the generated code shows.
#[test]
fn workspace_null_claim_matches_the_generated_entry_points() {
    for name in ["conv2d", "syno-op2", "separable-conv2d"] {
        let (_, files) = bundle_of(name);
        let cu = file(&files, &format!("{}.cu", c_name(name)));
        let launch: serde_json::Value = serde_json::from_str(file(&files, "launch.json")).unwrap();
        for b in launch["bindings"].as_array().unwrap() {
            let entry = b["entry_point"].as_str().unwrap();
            let start = cu.find(&format!("cudaError_t {entry}(")).unwrap();
            let body = &cu[start..start + cu[start..].find("\n}").unwrap()];
            let uses_ws = body.contains(" *s0 = (");
            assert_eq!(
                uses_ws,
                b["workspace_bytes"].as_u64().unwrap() > 0,
                "{entry}:\n{body}"
            );
        }
    }
}

fn nvcc() -> PathBuf {
    let p = std::env::var("KAS_NVCC").unwrap_or_else(|_| {
        panic!("KAS_NVCC is not set: run the tests through scripts/test, which installs nvcc 13.0")
    });
    let p = PathBuf::from(p);
    assert!(p.exists(), "KAS_NVCC={} does not exist", p.display());
    p
}

/// The README's two commands for nvcc from PyPI (static and shared cudart) build a C host
/// program that calls the entry points.
#[test]
fn readme_pypi_nvcc_commands_build_a_host_program() {
    let nvcc = nvcc();
    let cu13 = nvcc.parent().unwrap().parent().unwrap().to_path_buf();
    let name = "separable-conv2d";
    let (op, files) = bundle_of(name);
    let dir = std::env::temp_dir().join(format!("kas-export-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in &files {
        std::fs::write(dir.join(&f.name), &f.contents).unwrap();
    }
    let base = c_name(name);
    let mut main = format!("#include \"{base}.h\"\n#include <stdio.h>\nint main(void) {{\n");
    for b in &op.bindings {
        let prefix = format!("{base}_{}", c_name(&b.name));
        let args = vec!["0"; op.tensor_count() + 3].join(", ");
        main.push_str(&format!(
            "    printf(\"%zu\\n\", {prefix}_workspace_bytes());\n    if (0) {prefix}({args});\n"
        ));
    }
    main.push_str("    return 0;\n}\n");
    std::fs::write(dir.join("main.c"), main).unwrap();
    let readme = file(&files, "README.md");
    // The commands of the PyPI block: lines from `nvcc … -L"$CU13/lib"` to the end of the
    // command (continuation lines joined), comments dropped.
    let mut commands: Vec<String> = Vec::new();
    let mut open: Option<String> = None;
    for line in readme.lines() {
        let text = line.split(" # ").next().unwrap().trim_end();
        if let Some(cmd) = open.as_mut() {
            cmd.push(' ');
            cmd.push_str(text.trim_end_matches('\\').trim());
            if !text.ends_with('\\') {
                commands.push(open.take().unwrap());
            }
        } else if text.starts_with("nvcc ") && text.contains("$CU13") {
            if text.ends_with('\\') {
                open = Some(text.trim_end_matches('\\').trim().to_string());
            } else {
                commands.push(text.to_string());
            }
        }
    }
    assert_eq!(commands.len(), 2, "{commands:?}");
    for cmd in &commands {
        let o = Command::new("bash")
            .current_dir(&dir)
            .arg("-c")
            .arg(format!("set -e; rm -f main; {cmd}; ./main"))
            .env("CU13", &cu13)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    nvcc.parent().unwrap().display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{cmd}:\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).lines().count(),
            op.bindings.len(),
            "{cmd}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
