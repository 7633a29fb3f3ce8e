// Link arguments for every crate whose binaries or tests link libtorch through tch (included by
// their build.rs; written once). See docs/ARCHITECTURE.md, "Building for a GPU":
// 1. tch's own link arguments are not inherited: without an rpath the binaries cannot find
//    libtorch_cpu.so at run time.
// 2. For GPU builds (`TORCH_RPATH` set to the GPU machine's torch/lib), `--as-needed` would
//    drop libtorch_cuda.so (nothing references it directly), leaving CUDA "not available":
//    keep `-ltorch` in DT_NEEDED with `--no-as-needed`.
fn link_libtorch() {
    println!("cargo:rerun-if-env-changed=TORCH_RPATH");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let gpu = std::env::var("TORCH_RPATH").ok().filter(|s| !s.is_empty());
    let dir = gpu
        .clone()
        .or_else(|| std::env::var("DEP_TCH_LIBTORCH_LIB").ok())
        .or_else(|| std::env::var("LIBTORCH").ok().map(|l| format!("{l}/lib")));
    if let Some(d) = dir {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{d}");
    }
    if gpu.is_some() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
}
