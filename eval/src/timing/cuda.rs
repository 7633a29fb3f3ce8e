//! The CUDA target: kas's generated kernels through cudarc and the baseline through libtorch
//! (cuDNN / cuBLAS), in one process, timed with CUDA events on one stream.
//!
//! Stream discipline. [`Gpu::open`] retains the device's primary context, the context
//! libtorch's runtime-API calls use as well, and cudarc's `default_stream()` is the null stream
//! of the driver API, i.e. the legacy default stream (cudarc calls the non-`_ptsz` entry
//! points). libtorch launches on its current stream, which is the default stream (handle
//! null, the legacy default stream: PyTorch is not built with per-thread default streams)
//! unless a caller changes it, and kas never does. So events recorded on cudarc's default
//! stream bracket libtorch's kernels exactly as they bracket kas's, and the legacy stream's
//! implicit synchronisation with other blocking streams would cover any helper stream too.
//!
//! Before each run an L2 flush writes a device buffer twice the size of the L2 cache
//! (`cuMemsetD8Async` on the same stream, outside the events), so every run starts with cold
//! caches, as a layer inside a network would.

use super::baseline::Baseline;
use super::cpu::rounded_inputs;
use super::protocol::Sampler;
use super::request::{Fault, Precision};
use super::roofline::Peak;
use super::worker::TimingTarget;
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::gpu::{EventTimer, Gpu, Loaded, drv};
use crate::nvrtc;
use crate::tch_plan::run_f32;
use crate::tune::{self, Provenance, schedule_for};
use cudarc::driver::{LaunchConfig, PushKernelArg};
use cudarc::nvrtc::Ptx;
use kas_campaign::KernelMode;
use kas_codegen::StageIr;
use kas_codegen::cuda::{generate, generate_scheduled};
use kas_codegen::schedule::{Schedule, StageSchedule};
use kas_primitives::{Binding, Operator};
use tch::{Device, Kind};

/// Times on the first CUDA GPU.
pub struct CudaTarget {
    gpu: Gpu,
    fingerprint: Fingerprint,
    peak: Option<Peak>,
    l2_bytes: usize,
    mode: KernelMode,
    /// The stage IR and schedule of the last compiled binding (validation reuses them).
    last: Option<(StageIr, Schedule, String)>,
}

impl CudaTarget {
    /// Opens GPU 0, checks that libtorch sees it too, and turns cuDNN's benchmark mode on.
    /// `NVIDIA_TF32_OVERRIDE` must already be set (before any CUDA call) by the caller.
    pub fn open(precision: Precision) -> Result<CudaTarget> {
        CudaTarget::open_with(precision, KernelMode::default())
    }

    /// Like [`CudaTarget::open`], timing the kernels `mode` asks for.
    pub fn open_with(precision: Precision, mode: KernelMode) -> Result<CudaTarget> {
        let gpu = Gpu::open(0)?;
        if !tch::Cuda::is_available() {
            return Err(Error::Missing(
                "libtorch sees no CUDA device although the driver does: this kas was built without TORCH_RPATH (see docs/ARCHITECTURE.md, Building for a GPU)".into(),
            ));
        }
        tch::Cuda::cudnn_set_benchmark(true);
        let fingerprint = Fingerprint::cuda(&gpu, precision.label(), true)?;
        let info = fingerprint
            .gpu
            .clone()
            .ok_or_else(|| Error::Driver("no GPU in a CUDA fingerprint".into()))?;
        Ok(CudaTarget {
            peak: Peak::of_gpu(&info),
            l2_bytes: info.l2_bytes.max(1 << 20) as usize,
            gpu,
            fingerprint,
            mode,
            last: None,
        })
    }

    /// A timer whose flush writes twice the L2 size.
    fn timer(&self) -> Result<EventTimer> {
        EventTimer::new(&self.gpu, 2 * self.l2_bytes)
    }

    /// Compiles one kernel of `src` and launches it with one thread on a zeroed word.
    fn launch_one(&self, src: &str, kernel: &str) -> Result<()> {
        let ptx = nvrtc::compile(kernel, src, false)?.ptx;
        let module = self
            .gpu
            .context()
            .load_module(Ptx::from_src(ptx))
            .map_err(drv("cuModuleLoadData"))?;
        let f = module
            .load_function(kernel)
            .map_err(drv("cuModuleGetFunction"))?;
        let stream = self.gpu.stream();
        let buf = stream.alloc_zeros::<i32>(1).map_err(drv("cuMemAlloc"))?;
        let mut launch = stream.launch_builder(&f);
        launch.arg(&buf);
        // SAFETY: both injected kernels take one pointer; the fault is the point.
        unsafe { launch.launch(LaunchConfig::for_num_elems(1)) }.map_err(drv("cuLaunchKernel"))?;
        stream.synchronize().map_err(drv("cuStreamSynchronize"))
    }
}

/// Events around one launch of every kernel of a loaded program.
struct KernelSampler {
    loaded: Loaded,
    timer: EventTimer,
}

impl Sampler for KernelSampler {
    fn prepare(&mut self) -> Result<(), String> {
        self.timer.flush()
    }

    fn sample(&mut self) -> Result<f64, String> {
        let loaded = &self.loaded;
        self.timer
            .time(|| loaded.launch().map_err(|e| e.to_string()))
    }
}

/// Events around one run of the baseline through libtorch (same stream).
struct TorchSampler {
    kind: Baseline,
    x: tch::Tensor,
    w: tch::Tensor,
    timer: EventTimer,
}

impl Sampler for TorchSampler {
    fn prepare(&mut self) -> Result<(), String> {
        self.timer.flush()
    }

    fn sample(&mut self) -> Result<f64, String> {
        let (kind, x, w) = (self.kind, &self.x, &self.w);
        self.timer.time(|| {
            drop(tch::no_grad(|| kind.run(x, w)));
            Ok(())
        })
    }
}

/// Seeded f32 values of a shape (drawn by libtorch on the CPU: fast for large tensors).
fn host_randn(shape: &[u64]) -> Result<Vec<f32>> {
    let s: Vec<i64> = shape.iter().map(|&x| x as i64).collect();
    let t = tch::Tensor::randn(&s[..], (Kind::Float, Device::Cpu)).view(-1);
    Ok(Vec::<f32>::try_from(&t)?)
}

impl TimingTarget for CudaTarget {
    fn fingerprint(&self) -> Fingerprint {
        self.fingerprint.clone()
    }

    fn peak(&self) -> Option<Peak> {
        self.peak.clone()
    }

    fn compile(
        &mut self,
        name: &str,
        op: &Operator,
        b: &Binding,
        seed: u64,
    ) -> Result<Box<dyn Sampler>> {
        self.last = None;
        let ir = StageIr::lower_for(op, std::slice::from_ref(b))?;
        let reference = generate(&ir, b)?;
        let host = crate::seeded::seeded(seed, || {
            reference
                .tensor_shapes
                .iter()
                .map(|s| host_randn(s))
                .collect::<Result<Vec<_>>>()
        })?;
        let (schedule, provenance) = schedule_for(
            &self.gpu,
            op,
            &ir,
            b,
            &host,
            &self.fingerprint.device_key(),
            self.mode,
            &tune::cache::default_path(),
        )?;
        let prog = generate_scheduled(&ir, b, "kas", &schedule)?;
        let loaded = self.gpu.load(name, &prog, &host)?;
        // A schedule not validated by a tuning just now is checked against the reference
        // kernels at this binding before it is timed.
        if matches!(provenance, Provenance::Cached | Provenance::Heuristic) {
            let r = self.gpu.load("kas-reference", &reference, &host)?;
            r.launch()?;
            loaded.launch()?;
            let err = tune::tuner::rel_err(&loaded.output()?, &r.output()?);
            if err.is_nan() || err > 1e-4 {
                return Err(Error::Driver(format!(
                    "the {} kernels ({}) differ from the reference kernels: err {err:.2e}",
                    self.mode.label(),
                    schedule.label()
                )));
            }
        }
        let how = match &provenance {
            Provenance::Reference => "reference".to_string(),
            Provenance::Heuristic => "heuristic".to_string(),
            Provenance::Cached => "tuned, cached".to_string(),
            Provenance::Tuned(e) => format!(
                "tuned now: {} candidates, {} rejected",
                e.candidates, e.rejected
            ),
        };
        self.last = Some((
            ir,
            schedule.clone(),
            format!("{} ({how})", schedule.label()),
        ));
        Ok(Box::new(KernelSampler {
            loaded,
            timer: self.timer()?,
        }))
    }

    fn validate(
        &mut self,
        name: &str,
        op: &Operator,
        b: &Binding,
        seed: u64,
    ) -> Result<(f64, String)> {
        let xs = rounded_inputs(op, b, seed)?;
        let want = run_f32(op, b, &xs, Device::Cuda(0))?;
        // The reference kernels, and the timed kernels' schedule at this batch.
        let ir = StageIr::lower_for(op, std::slice::from_ref(b))?;
        let mut err = self.gpu.run(name, &generate(&ir, b)?, &xs)?.rel_err(&want);
        let mut what = "the tch plan on the GPU (f32) vs kas's reference kernels".to_string();
        if let Some((ir, schedule, _)) = &self.last
            && schedule.stages.iter().any(|s| *s != StageSchedule::Direct)
        {
            let p = generate_scheduled(ir, b, "kas", schedule)?;
            let e = self.gpu.run(name, &p, &xs)?.rel_err(&want);
            err = if e.is_nan() { e } else { err.max(e) };
            what.push_str(&format!(" and schedule {}", schedule.label()));
        }
        Ok((err, what))
    }

    fn baseline(
        &mut self,
        kind: Baseline,
        input: &[usize],
        output: &[usize],
        seed: u64,
    ) -> Result<Box<dyn Sampler>> {
        let (x, w) = crate::seeded::seeded(seed, || kind.tensors(input, output, Device::Cuda(0)));
        Ok(Box::new(TorchSampler {
            kind,
            x,
            w,
            timer: self.timer()?,
        }))
    }

    fn inject(&mut self, fault: Fault) -> Result<()> {
        match fault {
            Fault::Hang => self.launch_one(
                "extern \"C\" __global__ void kas_spin(volatile int* f) { while (f[0] == 0) { } }",
                "kas_spin",
            ),
            Fault::DeviceFault => self.launch_one(
                "extern \"C\" __global__ void kas_fault(int* p) { p[(1ll << 40) + threadIdx.x] = 1; }",
                "kas_fault",
            ),
            Fault::Crash => super::cpu::crash(),
        }
    }

    fn healthy(&mut self) -> bool {
        self.gpu.context().synchronize().is_ok()
    }

    fn kernels(&self) -> Option<String> {
        self.last.as_ref().map(|l| l.2.clone())
    }
}
