//! Whole-model timing in this process (`kas_eval::whole`): on the GPU, ResNet-18 with kas's
//! kernels in its 16 slots checked against the tch plan and timed as CUDA graphs (skipped with
//! a printed reason without a GPU); on the CPU, a request that does not fit is refused before
//! anything runs.

use kas_eval::timing::{Backend, Precision, Protocol};
use kas_eval::whole::{ModelEvent, ModelRequest, ModelRow, run_model_in_process};
use kas_primitives::write_operator;

fn request(op: &str, model: &str, backend: Backend, precision: Precision) -> ModelRequest {
    let o = (kas_primitives::library::get(op).unwrap().build)().unwrap();
    ModelRequest {
        name: op.into(),
        operator: write_operator(op, "test", &o).unwrap(),
        model: model.into(),
        batches: vec![2],
        backend,
        precision,
        kernels: kas_campaign::KernelMode::Heuristic,
        train: false,
        protocol: Protocol {
            budget_s: 1.0,
            ..Protocol::default()
        }
        .with_repeats(5),
        seed: 0,
    }
}

fn rows(req: &ModelRequest) -> kas_eval::Result<Vec<ModelRow>> {
    let mut rows = Vec::new();
    run_model_in_process(req, &mut |e| {
        if let ModelEvent::Row { row } = e {
            rows.push((**row).clone());
        }
        Ok(())
    })?;
    Ok(rows)
}

#[test]
fn an_operator_that_does_not_fit_is_refused_before_timing() {
    let req = request("linear", "resnet18", Backend::Cpu, Precision::F32);
    let e = rows(&req).unwrap_err().to_string();
    assert!(e.contains("seq_len"), "{e}");
    let mut req = request("conv2d", "cnn", Backend::Cpu, Precision::Bf16);
    req.batches = vec![1];
    assert!(rows(&req).unwrap_err().to_string().contains("bf16"));
}

#[test]
fn resnet18_with_kas_kernels_in_every_slot_on_a_gpu() {
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
    for (op, p) in [("conv2d", Precision::F32), ("syno-op2", Precision::Bf16)] {
        let r = &rows(&request(op, "resnet18", Backend::Cuda, p)).unwrap()[0];
        assert!(r.failure.is_none(), "{op} {p}: {:?}", r.failure);
        let v = r.validation.as_ref().unwrap();
        assert!(
            v.slot_err <= v.slot_tolerance && v.model_err <= v.model_tolerance,
            "{v:?}"
        );
        assert!(r.execution.starts_with("CUDA graphs"), "{}", r.execution);
        assert!(v.graph_err.unwrap() <= v.slot_tolerance, "{v:?}");
        assert!(r.speedup().unwrap() > 0.0 && r.slot_share().unwrap() > 0.0);
        assert!(!r.kernels.is_empty());
    }
}
