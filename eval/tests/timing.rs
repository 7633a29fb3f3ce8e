//! The timing API in-process: the CPU target for real on tiny shapes (validation, the
//! protocol, the baseline), and the CUDA target when a GPU is present (skipped with a reason
//! otherwise).

use kas_eval::bench::{BenchSummary, sets};
use kas_eval::timing::{Backend, Baseline, Protocol, TimingRequest, run_collect};
use kas_primitives::{library, write_operator};

fn request(name: &str, backend: Backend, batch: u64) -> TimingRequest {
    let op = (library::get(name).unwrap().build)().unwrap();
    let slots = vec![sets::SlotBinding {
        name: "tiny".into(),
        values: [
            ("N", batch),
            ("C_in", 64),
            ("C_out", 64),
            ("H", 6),
            ("W", 6),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        input: vec![batch as usize, 64, 6, 6],
        output: vec![batch as usize, 64, 6, 6],
    }];
    let bs = sets::map_onto(&op, &slots).unwrap();
    let mut req = TimingRequest::new(
        name,
        write_operator(name, "test", &op).unwrap(),
        sets::named_bindings(&op, &bs),
        backend,
    );
    req.protocol = Protocol {
        budget_s: 0.5,
        ..Protocol::default()
    }
    .with_repeats(5);
    req.baseline = Some(Baseline::Conv3x3);
    req
}

#[test]
fn cpu_target_validates_and_times_syno_op2_and_conv() {
    for name in ["syno-op2", "conv2d"] {
        let r = run_collect(&request(name, Backend::Cpu, 3)).unwrap();
        assert_eq!(r.fingerprint.device, "cpu");
        assert_eq!(r.bindings.len(), 1);
        let b = &r.bindings[0];
        assert!(b.failure.is_none(), "{name}: {:?}", b.failure);
        let v = b.validation.as_ref().unwrap();
        assert_eq!(v.batch, 2, "validation at batch min(N, 2)");
        assert!(v.err <= 1e-4, "{name}: err {}", v.err);
        assert!(b.kas.as_ref().unwrap().stats.n >= 3);
        assert!(b.baseline.as_ref().unwrap().stats.median > 0.0);
        assert!(b.work.unwrap().flops > 0);
        let s = BenchSummary::of(&r);
        assert_eq!((s.compared, s.failed), (1, 0));
    }
}

#[test]
fn a_baseline_that_does_not_fit_fails_the_binding_not_the_run() {
    let mut req = request("conv2d", Backend::Cpu, 1);
    req.baseline = Some(Baseline::Matmul);
    // [1, 64, 6, 6] → [1, 32, 6, 6]: the channels change, which a matmul over the last axis
    // cannot express.
    req.bindings[0].values.insert("C_out".into(), 32);
    let r = run_collect(&req).unwrap();
    let f = r.bindings[0].failure.as_ref().expect("a failure");
    assert!(f.reason.contains("does not fit"), "{}", f.reason);
}

#[test]
fn cuda_target_when_a_gpu_is_present() {
    if !kas_eval::gpu::present() {
        eprintln!("skipped: no CUDA driver or device on this machine");
        return;
    }
    if !tch::Cuda::is_available() {
        eprintln!("skipped: libtorch sees no GPU (built without TORCH_RPATH)");
        return;
    }
    // SAFETY: set before this test touches CUDA; the value only makes f32 mean f32.
    unsafe { std::env::set_var("NVIDIA_TF32_OVERRIDE", "0") };
    let r = run_collect(&request("conv2d", Backend::Cuda, 2)).unwrap();
    let b = &r.bindings[0];
    assert!(b.failure.is_none(), "{:?}", b.failure);
    assert!(b.validation.as_ref().unwrap().err <= 1e-4);
    assert!(r.fingerprint.gpu.is_some());
    assert!(b.kas.as_ref().unwrap().stats.median > 0.0);
    assert!(b.baseline.as_ref().unwrap().stats.median > 0.0);
}

#[test]
fn a_precision_the_cpu_does_not_run_is_refused_not_mislabelled() {
    for precision in [kas_codegen::Precision::Tf32, kas_codegen::Precision::Bf16] {
        let mut req = request("conv2d", Backend::Cpu, 2);
        req.precision = precision;
        let e = run_collect(&req).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "timing at {precision} is not supported on the CPU"
            )),
            "{e}"
        );
    }
}
