//! Running generated kernels on a CUDA GPU through the driver API (cudarc).
//!
//! [`Gpu::open`] retains the device's *primary* context (the one libtorch's runtime API uses
//! too) and works on its legacy default stream (the null stream, which is also the stream
//! libtorch launches on unless told otherwise), so kas kernels and tch baselines in one
//! process are ordered on one stream and timed with the same events.

use crate::error::{Error, Result};
use crate::nvrtc;
use cudarc::driver::sys::{CUdevice_attribute, CUevent_flags, CUfunction_attribute};
use cudarc::driver::{
    CudaContext, CudaEvent, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::Ptx;
use kas_codegen::Precision;
use kas_codegen::cuda::CudaProgram;
use kas_codegen::precision::{bf16_bits, bf16_value};
use kas_primitives::Tensor;
use std::sync::Arc;

/// One CUDA device, its primary context and the legacy default stream.
pub struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    /// Device name.
    pub name: String,
    /// Compute capability.
    pub sm: (i32, i32),
}

/// Maps a cudarc error to [`Error::Driver`] naming the call.
pub(crate) fn drv<E: std::fmt::Debug>(what: &str) -> impl FnOnce(E) -> Error + '_ {
    move |e| Error::Driver(format!("{what}: {e:?}"))
}

/// Whether the CUDA driver library (`libcuda.so`) can be loaded (never panics).
pub fn driver_present() -> bool {
    // SAFETY: only probes whether the shared library can be opened.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

/// How many CUDA devices the driver sees: 0 without a driver, an [`Error::Driver`] when the
/// driver is there but fails (never panics).
pub fn device_count() -> Result<usize> {
    if !driver_present() {
        return Ok(0);
    }
    let n = CudaContext::device_count().map_err(drv("cuDeviceGetCount"))?;
    Ok(n.max(0) as usize)
}

/// Whether the CUDA driver library can be loaded and sees at least one device (never panics).
pub fn present() -> bool {
    device_count().is_ok_and(|n| n > 0)
}

impl Gpu {
    /// Opens device `ordinal`; a clear [`Error::Missing`] when there is no driver or no device.
    pub fn open(ordinal: usize) -> Result<Gpu> {
        // SAFETY: only probes whether the shared library can be opened.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(Error::Missing(
                "no CUDA driver (libcuda.so) on this machine: GPU checks need a GPU".into(),
            ));
        }
        let n = CudaContext::device_count().map_err(drv("cuDeviceGetCount"))?;
        if n as usize <= ordinal {
            return Err(Error::Missing(format!(
                "no CUDA device {ordinal} ({n} present)"
            )));
        }
        let ctx = CudaContext::new(ordinal).map_err(drv("cuCtxCreate"))?;
        let name = ctx.name().map_err(drv("cuDeviceGetName"))?;
        let sm = ctx
            .compute_capability()
            .map_err(drv("cuDeviceGetAttribute"))?;
        let stream = ctx.default_stream();
        Ok(Gpu {
            ctx,
            stream,
            name,
            sm,
        })
    }

    /// The (primary) context.
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The legacy default stream every kas launch goes to.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// A device attribute.
    pub fn attribute(&self, a: CUdevice_attribute) -> Result<i32> {
        self.ctx.attribute(a).map_err(drv("cuDeviceGetAttribute"))
    }

    /// Total device memory in bytes.
    pub fn total_memory(&self) -> Result<u64> {
        self.ctx
            .total_mem()
            .map(|m| m as u64)
            .map_err(drv("cuDeviceTotalMem"))
    }

    /// Compiles `prog` with NVRTC, runs its kernels on `tensors` (input, then weights; stored at
    /// the program's precision) and returns the output (as f64).
    pub fn run(&self, name: &str, prog: &CudaProgram, tensors: &[Tensor]) -> Result<Tensor> {
        let host: Vec<Vec<f32>> = tensors
            .iter()
            .map(|t| t.data.iter().map(|&x| x as f32).collect())
            .collect();
        let mut loaded = self.load(name, prog, &host)?;
        loaded.poison()?;
        loaded.launch()?;
        let out = loaded.output()?;
        let shape: Vec<usize> = prog.output_shape.iter().map(|&x| x as usize).collect();
        Ok(Tensor {
            shape,
            data: out.iter().map(|&x| x as f64).collect(),
        })
    }

    /// Compiles `prog` with NVRTC, loads its module and copies `tensors` (input, then weights,
    /// f32 row-major, stored at the program's precision: rounded to bf16 for a bf16 program) to
    /// the device: a program ready to be launched any number of times.
    pub fn load(&self, name: &str, prog: &CudaProgram, tensors: &[Vec<f32>]) -> Result<Loaded> {
        if tensors.len() != prog.tensor_shapes.len() {
            return Err(Error::Driver(format!(
                "`{name}` takes {} tensors, {} given",
                prog.tensor_shapes.len(),
                tensors.len()
            )));
        }
        for (i, (t, s)) in tensors.iter().zip(&prog.tensor_shapes).enumerate() {
            let want: u64 = s.iter().product();
            if t.len() as u64 != want {
                return Err(Error::Driver(format!(
                    "`{name}`: tensor {i} has {} elements, the kernel reads {want}",
                    t.len()
                )));
            }
        }
        let compiled = nvrtc::compile(name, &prog.source, false)?;
        self.load_module(name, prog, Ptx::from_src(compiled.ptx), tensors)
    }

    /// The real architecture of the device, `sm_90`.
    pub fn arch(&self) -> String {
        format!("sm_{}{}", self.sm.0, self.sm.1)
    }

    /// Like [`Gpu::load`] with the program already compiled (PTX or a CUBIN for [`Gpu::arch`]).
    pub fn load_module(
        &self,
        name: &str,
        prog: &CudaProgram,
        image: Ptx,
        tensors: &[Vec<f32>],
    ) -> Result<Loaded> {
        let functions = self.load_functions(name, prog, image)?;
        let mut inputs = Vec::with_capacity(tensors.len());
        for t in tensors {
            let bytes = to_device_bytes(t, prog.precision);
            inputs.push(
                self.stream
                    .clone_htod(&bytes)
                    .map_err(drv("cuMemcpyHtoD"))?,
            );
        }
        let mut stages = Vec::with_capacity(prog.kernels.len());
        for k in &prog.kernels {
            let elem = if k.out_bf16 { 2 } else { 4 };
            stages.push(
                self.stream
                    .alloc_zeros::<u8>(elem * k.out_elems.max(1) as usize)
                    .map_err(drv("cuMemAlloc"))?,
            );
        }
        let n = prog.output_shape.iter().product::<u64>() as usize;
        let out_bf16 = prog.kernels.last().is_some_and(|k| k.out_bf16);
        Ok(Loaded {
            out_bf16,
            stream: self.stream.clone(),
            prog: prog.clone(),
            functions,
            inputs,
            stages,
            output_elems: n,
        })
    }
}

impl Gpu {
    /// Loads the module of `prog` (PTX or a CUBIN for [`Gpu::arch`]) and its kernels, in
    /// launch order, each allowed the dynamic shared memory it asks for.
    pub fn load_functions(
        &self,
        name: &str,
        prog: &CudaProgram,
        image: Ptx,
    ) -> Result<Vec<CudaFunction>> {
        if prog.kernels.is_empty() {
            return Err(Error::Driver(format!("`{name}`: a program with no kernel")));
        }
        let module = self
            .ctx
            .load_module(image)
            .map_err(drv("cuModuleLoadData"))?;
        let mut functions = Vec::with_capacity(prog.kernels.len());
        for k in &prog.kernels {
            let f = module
                .load_function(&k.name)
                .map_err(drv("cuModuleGetFunction"))?;
            if k.shared_bytes > kas_codegen::cuda::DEFAULT_SHARED_BYTES {
                f.set_attribute(
                    CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    k.shared_bytes as i32,
                )
                .map_err(drv("cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)"))?;
            }
            functions.push(f);
        }
        Ok(functions)
    }
}

/// The bytes of `t` as a buffer of precision `p` holds them (f32, or bf16 rounded to nearest
/// even), little-endian.
pub fn to_device_bytes(t: &[f32], p: Precision) -> Vec<u8> {
    match p {
        Precision::Bf16 => t.iter().flat_map(|&x| bf16_bits(x).to_le_bytes()).collect(),
        Precision::F32 | Precision::Tf32 => t.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

/// The values of a device buffer's bytes (bf16 when `bf16`, else f32), as f32.
pub fn from_device_bytes(b: &[u8], bf16: bool) -> Vec<f32> {
    if bf16 {
        b.chunks_exact(2)
            .map(|c| bf16_value(u16::from_le_bytes([c[0], c[1]])))
            .collect()
    } else {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }
}

/// A compiled program with its device buffers, ready to launch (see [`Gpu::load`]). Buffers
/// are bytes: f32 or bf16 elements as the program's precision and each kernel say.
pub struct Loaded {
    stream: Arc<CudaStream>,
    prog: CudaProgram,
    functions: Vec<CudaFunction>,
    inputs: Vec<CudaSlice<u8>>,
    stages: Vec<CudaSlice<u8>>,
    output_elems: usize,
    out_bf16: bool,
}

impl Loaded {
    /// Launches every kernel of the program in order on the stream (asynchronous).
    pub fn launch(&self) -> Result<()> {
        self.launch_kernels(0..self.prog.kernels.len())
    }

    /// The program.
    pub fn program(&self) -> &CudaProgram {
        &self.prog
    }

    /// Launches kernels `range` of the program in order (asynchronous); the earlier kernels'
    /// results must be in place (from an earlier [`Loaded::launch`]).
    pub fn launch_kernels(&self, range: std::ops::Range<usize>) -> Result<()> {
        for (i, (k, f)) in self
            .prog
            .kernels
            .iter()
            .zip(&self.functions)
            .enumerate()
            .skip(range.start)
            .take(range.len())
        {
            let cfg = LaunchConfig {
                grid_dim: (k.grid, 1, 1),
                block_dim: (k.block, 1, 1),
                shared_mem_bytes: k.shared_bytes,
            };
            let (done, rest) = self.stages.split_at(i);
            let out = &rest[0];
            let mut launch = self.stream.launch_builder(f);
            for o in &k.operands {
                launch.arg(operand(o, &self.inputs, done)?);
            }
            launch.arg(out);
            // SAFETY: the kernel's parameters are the operands' device pointers followed by the
            // output pointer, in the order `generate` declared them; every buffer has the size
            // the kernel indexes (checked against the program's shapes in `Gpu::load`).
            unsafe { launch.launch(cfg) }.map_err(drv("cuLaunchKernel"))?;
        }
        Ok(())
    }

    /// Copies the output back (synchronising the stream), as f32 (a bf16 output widened).
    pub fn output(&self) -> Result<Vec<f32>> {
        let last = self
            .stages
            .last()
            .ok_or_else(|| Error::Driver("a program with no kernel".into()))?;
        let bytes = self.stream.clone_dtoh(last).map_err(drv("cuMemcpyDtoH"))?;
        let mut host = from_device_bytes(&bytes, self.out_bf16);
        host.truncate(self.output_elems);
        Ok(host)
    }

    /// Fills every stage's result buffer with NaN (all bits set, a NaN in f32 and in bf16), so
    /// that an element the kernels fail to write shows in the next [`Loaded::output`].
    pub fn poison(&mut self) -> Result<()> {
        for b in &mut self.stages {
            let nan = vec![0xffu8; b.len()];
            self.stream
                .memcpy_htod(&nan, b)
                .map_err(drv("cuMemcpyHtoD"))?;
        }
        Ok(())
    }
}

/// The buffer a kernel's operand names: `in` (the input), `wK` (weight K, the K-th of
/// `inputs`) or `sK` (the result of kernel K, among `stages`).
pub(crate) fn operand<'a, T>(name: &str, inputs: &'a [T], stages: &'a [T]) -> Result<&'a T> {
    let pick = |v: &'a [T], i: Option<usize>| {
        i.and_then(|i| v.get(i))
            .ok_or_else(|| Error::Driver(format!("unknown operand `{name}`")))
    };
    match name {
        "in" => pick(inputs, Some(0)),
        _ if name.starts_with('w') => pick(inputs, name[1..].parse().ok()),
        _ if name.starts_with('s') => pick(stages, name[1..].parse().ok()),
        _ => Err(Error::Driver(format!("unknown operand `{name}`"))),
    }
}

/// CUDA events around work on the stream every kas launch goes to, and a cache flush (a memset
/// of a device buffer, outside the events) for before each timed run.
pub struct EventTimer {
    stream: Arc<CudaStream>,
    flush: CudaSlice<u8>,
    start: CudaEvent,
    end: CudaEvent,
}

impl EventTimer {
    /// A timer on `gpu`'s stream whose flush writes `flush_bytes` (twice the L2 size flushes
    /// it).
    pub fn new(gpu: &Gpu, flush_bytes: usize) -> Result<EventTimer> {
        let flags = Some(CUevent_flags::CU_EVENT_DEFAULT);
        Ok(EventTimer {
            stream: gpu.stream.clone(),
            flush: gpu
                .stream
                .alloc_zeros::<u8>(flush_bytes.max(1))
                .map_err(drv("cuMemAlloc"))?,
            start: gpu.ctx.new_event(flags).map_err(drv("cuEventCreate"))?,
            end: gpu.ctx.new_event(flags).map_err(drv("cuEventCreate"))?,
        })
    }

    /// Overwrites the flush buffer on the stream.
    pub fn flush(&mut self) -> Result<(), String> {
        self.stream
            .memset_zeros(&mut self.flush)
            .map_err(|e| format!("L2 flush: {e:?}"))
    }

    /// Seconds between events recorded before and after `work` enqueues its GPU work
    /// (synchronising on the second).
    pub fn time(&mut self, work: impl FnOnce() -> Result<(), String>) -> Result<f64, String> {
        self.start
            .record(&self.stream)
            .map_err(|e| format!("cuEventRecord: {e:?}"))?;
        work()?;
        self.end
            .record(&self.stream)
            .map_err(|e| format!("cuEventRecord: {e:?}"))?;
        let ms = self
            .start
            .elapsed_ms(&self.end)
            .map_err(|e| format!("GPU work failed: {e:?}"))?;
        Ok(ms as f64 * 1e-3)
    }
}
