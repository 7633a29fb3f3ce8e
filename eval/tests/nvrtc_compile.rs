//! Every generated CUDA kernel compiles with NVRTC to PTX and to an sm_90 CUBIN, with no GPU.
//! NVRTC must be installed (the README's set-up does it): its absence fails this test.

use kas_codegen::StageIr;
use kas_codegen::cuda::generate;
use kas_eval::nvrtc;
use kas_primitives::library;
use kas_primitives::random::{RandomConfig, random_operator};

#[test]
fn nvrtc_is_installed() {
    let (major, minor) = nvrtc::version().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        major, 13,
        "NVRTC {major}.{minor}: kas pins CUDA 13.0 (driver 580)"
    );
}

#[test]
fn library_and_1000_random_operators_compile_to_ptx_and_cubin() {
    let cfg = RandomConfig::default();
    let mut ops: Vec<(String, kas_primitives::Operator)> = library::entries()
        .iter()
        .map(|e| (e.name.to_string(), (e.build)().unwrap()))
        .collect();
    for seed in 0..1000 {
        ops.push((format!("random-{seed}"), random_operator(7000 + seed, &cfg)));
    }
    let mut kernels = 0;
    for (name, op) in &ops {
        let ir = StageIr::lower(op).unwrap();
        let b = &op.bindings[0];
        let p = generate(&ir, b).unwrap();
        let c =
            nvrtc::compile(name, &p.source, true).unwrap_or_else(|e| panic!("{e}\n{}", p.source));
        for k in &p.kernels {
            assert!(
                c.ptx.contains(&format!(".entry {}", k.name)),
                "{name}: {} missing from PTX",
                k.name
            );
        }
        let cubin = c.cubin.unwrap();
        assert_eq!(&cubin[..4], b"\x7fELF", "{name}: a CUBIN is an ELF image");
        kernels += p.kernels.len();
    }
    assert!(kernels >= ops.len());
}
