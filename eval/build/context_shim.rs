// Compiles eval/shim/context.cpp (libtorch's TF32, determinism and autocast switches, which tch
// does not expose) and eval/shim/gather.cpp (a gather whose backward is a gather) against the libtorch that torch-sys links: its headers sit beside the
// library directory torch-sys passes on (`DEP_TCH_LIBTORCH_LIB`), or under `$LIBTORCH`.
fn compile_context_shim() {
    println!("cargo:rerun-if-changed=shim/context.cpp");
    println!("cargo:rerun-if-changed=shim/gather.cpp");
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB")
        .ok()
        .or_else(|| std::env::var("LIBTORCH").ok().map(|l| format!("{l}/lib")))
        .expect("torch-sys passes DEP_TCH_LIBTORCH_LIB (or set LIBTORCH)");
    let root = std::path::Path::new(&lib)
        .parent()
        .expect("libtorch's lib directory has a parent")
        .to_path_buf();
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .flag("-std=c++17")
        .include(root.join("include"))
        .include(root.join("include/torch/csrc/api/include"))
        .file("shim/context.cpp")
        .file("shim/gather.cpp")
        .compile("kas_context_shim");
}
