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
//! Precision. At f32 both sides run f32 with TF32 off (`NVIDIA_TF32_OVERRIDE=0` and libtorch's
//! switches off); at TF32 kas's tensor-core kernels multiply TF32 and cuDNN / cuBLAS may too
//! (libtorch's switches on, the override must not forbid it); at bf16 kas's kernels read and
//! write bf16 and the baseline runs on bf16 tensors (channels-last for convolutions). Inputs
//! are drawn once as f32 and rounded to the storage precision, so both sides and the f32
//! reference see the same values.
//!
//! Before each run an L2 flush writes a device buffer twice the size of the L2 cache
//! (`cuMemsetD8Async` on the same stream, outside the events), so every run starts with cold
//! caches, as a layer inside a network would.

use super::baseline::Baseline;
use super::cpu::rounded_inputs;
use super::protocol::Sampler;
use super::request::{Fault, Layout, Precision};
use super::roofline::Peak;
use super::worker::TimingTarget;
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::gpu::{EventTimer, Gpu, Loaded, drv};
use crate::nvrtc;
use crate::tch_plan::run_f32;
use crate::torch_context::{Tf32, set_tf32};
use crate::tune::tuner::{frobenius_err, precision_err};
use crate::tune::{self, Provenance, schedule_for};
use cudarc::driver::{LaunchConfig, PushKernelArg};
use cudarc::nvrtc::Ptx;
use kas_campaign::KernelMode;
use kas_codegen::StageIr;
use kas_codegen::cuda::{CudaProgram, generate, generate_precise};
use kas_codegen::graph::{
    LinearSchedule, generate_graph, generate_graph_scheduled, program_tensors,
};
use kas_codegen::schedule::{Schedule, StageSchedule};
use kas_graph::{GraphKernel, NodeOp};
use kas_primitives::{Binding, Operator};
use tch::{Device, Kind};

/// Times on the first CUDA GPU.
pub struct CudaTarget {
    gpu: Gpu,
    fingerprint: Fingerprint,
    peak: Option<Peak>,
    l2_bytes: usize,
    mode: KernelMode,
    precision: Precision,
    /// How the baseline's convolution tensors lie in memory.
    layout: Layout,
    /// The stage IR and schedule of the last compiled binding (validation reuses them).
    last: Option<(StageIr, Schedule, String)>,
    /// The tuned linear-node schedules of the last compiled graph binding (validation, at a
    /// small batch, checks the program those schedules make rather than tuning again).
    last_graph: Option<Vec<Option<Schedule>>>,
}

impl CudaTarget {
    /// Opens GPU 0, checks that libtorch sees it too, and turns cuDNN's benchmark mode on.
    /// `NVIDIA_TF32_OVERRIDE` must already be set (before any CUDA call) by the caller.
    pub fn open(precision: Precision) -> Result<CudaTarget> {
        CudaTarget::open_with(precision, KernelMode::default())
    }

    /// Like [`CudaTarget::open`], timing the kernels `mode` asks for. TF32 is allowed in
    /// cuDNN and cuBLAS exactly when `precision` is TF32 (an error if `NVIDIA_TF32_OVERRIDE=0`
    /// forbids it).
    pub fn open_with(precision: Precision, mode: KernelMode) -> Result<CudaTarget> {
        let (gpu, fingerprint, l2_bytes) = open_gpu(precision)?;
        let info = fingerprint
            .gpu
            .clone()
            .ok_or_else(|| Error::Driver("no GPU in a CUDA fingerprint".into()))?;
        Ok(CudaTarget {
            peak: Peak::of_gpu(&info).map(|p| p.at(precision)),
            precision,
            l2_bytes,
            gpu,
            fingerprint,
            mode,
            layout: Layout::Nchw,
            last: None,
            last_graph: None,
        })
    }

    /// This target with the baseline's convolution tensors laid out as `layout` says (kas's
    /// operator comes in that order already).
    pub fn with_layout(mut self, layout: Layout) -> CudaTarget {
        self.layout = layout;
        self
    }

    /// A timer whose flush writes twice the L2 size.
    fn timer(&self) -> Result<EventTimer> {
        EventTimer::new(&self.gpu, 2 * self.l2_bytes)
    }

    /// The schedule of a graph kernel's linear nodes for a kernel mode other than tuned: the
    /// reference kernels, or the heuristic tiled ones (tuned: see [`CudaTarget::graph_program`]).
    /// Graph kernels are generated at f32 only.
    fn graph_schedule(&self) -> Result<LinearSchedule> {
        if self.precision != Precision::F32 {
            return Err(Error::Config(crate::error::ConfigError::GraphPrecision(
                self.precision,
            )));
        }
        Ok(match self.mode {
            KernelMode::Reference => LinearSchedule::Direct,
            KernelMode::Heuristic | KernelMode::Tuned => LinearSchedule::Heuristic,
        })
    }

    /// Random tensors of `shapes` drawn from `seed` (libtorch's generator), rounded to the
    /// target's storage precision.
    fn seeded_host(&self, shapes: &[Vec<u64>], seed: u64) -> Result<Vec<Vec<f32>>> {
        crate::seeded::seeded(seed, || {
            shapes
                .iter()
                .map(|s| host_randn(s, self.precision))
                .collect::<Result<Vec<_>>>()
        })
    }

    /// The CUDA program of graph kernel `g` under `b` for the target's kernel mode, and what
    /// its linear nodes run. Tuned: each linear node's schedule is the tuning cache's entry
    /// for the node's operator at this binding, or a fresh tuning of it (timed as an operator
    /// on its own seeded inputs, then cached), so a node the graph sampler draws again (an FC
    /// or convolution over the same sizes) is tuned once; element-wise nodes are fused into
    /// the tuned kernels as into the heuristic ones.
    fn graph_program(
        &mut self,
        g: &GraphKernel,
        b: &Binding,
        seed: u64,
    ) -> Result<(CudaProgram, String)> {
        let sched = self.graph_schedule()?;
        if self.mode != KernelMode::Tuned {
            let label = match sched {
                LinearSchedule::Direct => "reference",
                _ => "heuristic tiled",
            };
            return Ok((generate_graph(g, b, sched)?.program, label.to_string()));
        }
        let mut schedules = vec![None; g.nodes.len()];
        let (mut now, mut cached) = (0, 0);
        for (k, node) in g.nodes.iter().enumerate() {
            let NodeOp::Linear(op) = &node.op else {
                continue;
            };
            let ir = StageIr::lower_for(op, std::slice::from_ref(b))?;
            let reference = generate(&ir, b)?;
            let host = self.seeded_host(&reference.tensor_shapes, seed.wrapping_add(k as u64))?;
            let (schedule, provenance) = schedule_for(
                &self.gpu,
                op,
                &ir,
                b,
                &host,
                &self.fingerprint.device_key(),
                KernelMode::Tuned,
                self.precision,
                &tune::cache::default_path(),
            )?;
            match provenance {
                Provenance::Cached => cached += 1,
                _ => now += 1,
            }
            schedules[k] = Some(schedule);
        }
        let program = generate_graph_scheduled(g, b, &schedules)?.program;
        self.last_graph = Some(schedules);
        Ok((program, format!("tuned, {now} now and {cached} cached")))
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

/// Opens GPU 0 for timing at `precision`: checks that libtorch sees it too, turns cuDNN's
/// benchmark mode on and allows TF32 in cuDNN and cuBLAS exactly at TF32 (an error if
/// `NVIDIA_TF32_OVERRIDE=0` forbids it). Returns the device, its fingerprint and the size of its
/// L2 cache in bytes (at least 1 MiB).
pub(crate) fn open_gpu(precision: Precision) -> Result<(Gpu, Fingerprint, usize)> {
    let tf32 = precision == Precision::Tf32;
    crate::precision::check_allowed(precision)?;
    let gpu = Gpu::open(0)?;
    if !tch::Cuda::is_available() {
        return Err(Error::Missing(
            "libtorch sees no CUDA device although the driver does: this kas was built without TORCH_RPATH (see docs/ARCHITECTURE.md, Building for a GPU)".into(),
        ));
    }
    crate::torch_context::set_deterministic(false)?;
    set_tf32(Tf32 {
        conv: tf32,
        matmul: tf32,
    })?;
    let fingerprint = Fingerprint::cuda(&gpu, precision.label(), true)?;
    let l2 = fingerprint.gpu.as_ref().map_or(0, |g| g.l2_bytes);
    Ok((gpu, fingerprint, l2.max(1 << 20) as usize))
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

/// Seeded f32 values of a shape (drawn by libtorch on the CPU: fast for large tensors),
/// rounded to the storage of precision `p`.
pub(crate) fn host_randn(shape: &[u64], p: Precision) -> Result<Vec<f32>> {
    let s: Vec<i64> = shape.iter().map(|&x| x as i64).collect();
    let t = tch::Tensor::randn(&s[..], (Kind::Float, Device::Cpu)).view(-1);
    let mut v = Vec::<f32>::try_from(&t)?;
    v.iter_mut().for_each(|x| *x = p.round(*x));
    Ok(v)
}

/// `ts` with every value rounded to the storage of precision `p`.
fn rounded_to(mut ts: Vec<kas_primitives::Tensor>, p: Precision) -> Vec<kas_primitives::Tensor> {
    for t in &mut ts {
        t.data
            .iter_mut()
            .for_each(|x| *x = p.round(*x as f32) as f64);
    }
    ts
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
        let host = self.seeded_host(&reference.tensor_shapes, seed)?;
        let (schedule, provenance) = schedule_for(
            &self.gpu,
            op,
            &ir,
            b,
            &host,
            &self.fingerprint.device_key(),
            self.mode,
            self.precision,
            &tune::cache::default_path(),
        )?;
        let prog = generate_precise(&ir, b, "kas", &schedule, self.precision)?;
        let mut loaded = self.gpu.load(name, &prog, &host)?;
        // A schedule not validated by a tuning just now is checked against the (f32)
        // reference kernels at this binding before it is timed, its output poisoned first.
        if matches!(provenance, Provenance::Cached | Provenance::Heuristic) {
            let r = self.gpu.load("kas-reference", &reference, &host)?;
            r.launch()?;
            loaded.poison()?;
            loaded.launch()?;
            let (err, ok) = precision_err(self.precision, &loaded.output()?, &r.output()?);
            if !ok {
                return Err(Error::Driver(format!(
                    "the {} kernels ({}, {}) differ from the reference kernels: err {err:.2e}",
                    self.mode.label(),
                    schedule.label(),
                    self.precision
                )));
            }
        }
        self.last = Some((
            ir,
            schedule.clone(),
            format!("{} ({})", schedule.label(), provenance.label()),
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
        let p = self.precision;
        let xs = rounded_to(rounded_inputs(op, b, seed)?, p);
        // The reference is f32 whatever the precision timed: TF32 off for its einsums.
        let tf32 = p == Precision::Tf32;
        set_tf32(Tf32 {
            conv: false,
            matmul: false,
        })?;
        let want = run_f32(op, b, &xs, Device::Cuda(0));
        set_tf32(Tf32 {
            conv: tf32,
            matmul: tf32,
        })?;
        let want = want?;
        // At f32 the reference kernels, and at every precision the timed kernels' schedule at
        // this batch (outputs poisoned before each run).
        let ir = StageIr::lower_for(op, std::slice::from_ref(b))?;
        let mut err = 0.0f64;
        let mut what = "the tch plan on the GPU (f32, TF32 off)".to_string();
        if p == Precision::F32 {
            err = self.gpu.run(name, &generate(&ir, b)?, &xs)?.rel_err(&want);
            what.push_str(" vs kas's reference kernels");
        }
        let timed = self.last.as_ref().filter(|(_, s, _)| {
            p != Precision::F32 || s.stages.iter().any(|s| *s != StageSchedule::Direct)
        });
        if let Some((ir, schedule, _)) = timed {
            let prog = generate_precise(ir, b, "kas", schedule, p)?;
            let got = self.gpu.run(name, &prog, &xs)?;
            let e = match p {
                Precision::F32 => got.rel_err(&want),
                _ => frobenius_err(&got.data, &want.data),
            };
            err = if e.is_nan() { e } else { err.max(e) };
            what.push_str(&format!(" vs schedule {} at {p}", schedule.label()));
        }
        Ok((err, what))
    }

    fn compile_graph(
        &mut self,
        name: &str,
        g: &GraphKernel,
        b: &Binding,
        seed: u64,
    ) -> Result<Box<dyn Sampler>> {
        self.last = None;
        self.last_graph = None;
        let (prog, _) = self.graph_program(g, b, seed)?;
        let host = self.seeded_host(&prog.tensor_shapes, seed)?;
        let loaded = self.gpu.load(name, &prog, &host)?;
        Ok(Box::new(KernelSampler {
            loaded,
            timer: self.timer()?,
        }))
    }

    fn validate_graph(
        &mut self,
        name: &str,
        g: &GraphKernel,
        b: &Binding,
        seed: u64,
    ) -> Result<(f64, String)> {
        let (x, w, want) = super::graph::graph_case(g, b, seed)?;
        let (prog, label) = match (self.mode, self.last_graph.take()) {
            // The schedules tuned for the timed binding, at the validation's small batch.
            (KernelMode::Tuned, Some(schedules)) => (
                generate_graph_scheduled(g, b, &schedules)?.program,
                "tuned at the timed binding".to_string(),
            ),
            _ => self.graph_program(g, b, seed)?,
        };
        let got = self.gpu.run(name, &prog, &program_tensors(&x, &w))?;
        Ok((
            got.rel_err(&want),
            format!(
                "the graph interpreter in f64 vs the graph's CUDA program (linear nodes {label}; f32)"
            ),
        ))
    }

    fn baseline(
        &mut self,
        kind: Baseline,
        input: &[usize],
        output: &[usize],
        seed: u64,
    ) -> Result<Box<dyn Sampler>> {
        let p = self.precision;
        let cl = self.layout == Layout::Nhwc;
        let (x, w) = crate::seeded::seeded(seed, || {
            kind.tensors_at(input, output, Device::Cuda(0), p, cl)
        });
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
