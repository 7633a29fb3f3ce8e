//! The TF32 switches take effect (GPU; skipped with a printed reason without one): with TF32 off
//! cuDNN's convolution and cuBLAS's matrix product agree with f64 to f32 precision; with TF32
//! on their error grows to TF32's (10-bit mantissa) — what a `--precision tf32` baseline runs.

use kas_eval::torch_context::{Tf32, set_tf32, tf32};
use tch::{Device, Kind, Tensor};

/// `‖a − b‖₂ / ‖b‖₂` of two tensors on the CPU (f64).
fn frobenius(a: &Tensor, b: &Tensor) -> f64 {
    let d = (a.to_kind(Kind::Double) - b).norm().double_value(&[]);
    d / b.norm().double_value(&[])
}

#[test]
fn tf32_switches_change_cudnn_and_cublas_errors() {
    if !kas_eval::gpu::present() || !tch::Cuda::is_available() {
        eprintln!("skipped: no CUDA GPU visible to libtorch");
        return;
    }
    // SAFETY: this file's only test, before it touches CUDA: the override must not forbid
    // TF32 (it wins over libtorch's switches inside the CUDA libraries).
    unsafe { std::env::remove_var("NVIDIA_TF32_OVERRIDE") };
    tch::manual_seed(7);
    let gpu = Device::Cuda(0);
    let a = Tensor::randn([512, 2048], (Kind::Float, Device::Cpu));
    let b = Tensor::randn([2048, 512], (Kind::Float, Device::Cpu));
    let mm = a.to_kind(Kind::Double).matmul(&b.to_kind(Kind::Double));
    let x = Tensor::randn([8, 256, 28, 28], (Kind::Float, Device::Cpu));
    let w = Tensor::randn([256, 256, 3, 3], (Kind::Float, Device::Cpu));
    let conv = |x: &Tensor, w: &Tensor| x.conv2d(w, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1);
    let cv = conv(&x.to_kind(Kind::Double), &w.to_kind(Kind::Double));
    let (ag, bg, xg, wg) = (a.to(gpu), b.to(gpu), x.to(gpu), w.to(gpu));
    let errors = |on: bool| {
        set_tf32(Tf32 {
            conv: on,
            matmul: on,
        })
        .unwrap();
        assert_eq!(
            tf32().unwrap(),
            Tf32 {
                conv: on,
                matmul: on
            }
        );
        let m = frobenius(&ag.matmul(&bg).to(Device::Cpu), &mm);
        let c = frobenius(&conv(&xg, &wg).to(Device::Cpu), &cv);
        (m, c)
    };
    let (m_off, c_off) = errors(false);
    let (m_on, c_on) = errors(true);
    eprintln!(
        "TF32 off: matmul err {m_off:.1e}, conv err {c_off:.1e}; TF32 on: matmul err {m_on:.1e}, conv err {c_on:.1e}"
    );
    assert!(m_off < 1e-5 && c_off < 1e-5, "{m_off:.1e} {c_off:.1e}");
    assert!(m_on > 1e-4 && c_on > 1e-4, "{m_on:.1e} {c_on:.1e}");
}
