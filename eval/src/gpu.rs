//! Running generated kernels on a CUDA GPU through the driver API (cudarc).

use crate::error::{Error, Result};
use crate::nvrtc;
use cudarc::driver::{CudaContext, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::Ptx;
use kas_codegen::cuda::CudaProgram;
use kas_primitives::Tensor;
use std::sync::Arc;

/// One CUDA device, its context and its default stream.
pub struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    /// Device name.
    pub name: String,
    /// Compute capability.
    pub sm: (i32, i32),
}

fn drv<E: std::fmt::Debug>(what: &str) -> impl FnOnce(E) -> Error + '_ {
    move |e| Error::Driver(format!("{what}: {e:?}"))
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

    /// Compiles `prog` with NVRTC, runs its kernels on `tensors` (input, then weights; converted
    /// to f32) and returns the output (as f64).
    pub fn run(&self, name: &str, prog: &CudaProgram, tensors: &[Tensor]) -> Result<Tensor> {
        let compiled = nvrtc::compile(name, &prog.source, false)?;
        let module = self
            .ctx
            .load_module(Ptx::from_src(compiled.ptx))
            .map_err(drv("cuModuleLoadData"))?;
        let mut inputs: Vec<CudaSlice<f32>> = Vec::with_capacity(tensors.len());
        for t in tensors {
            let host: Vec<f32> = t.data.iter().map(|&x| x as f32).collect();
            inputs.push(self.stream.clone_htod(&host).map_err(drv("cuMemcpyHtoD"))?);
        }
        let mut stages: Vec<CudaSlice<f32>> = Vec::with_capacity(prog.kernels.len());
        for k in &prog.kernels {
            let f = module
                .load_function(&k.name)
                .map_err(drv("cuModuleGetFunction"))?;
            let mut out = self
                .stream
                .alloc_zeros::<f32>(k.out_elems.max(1) as usize)
                .map_err(drv("cuMemAlloc"))?;
            let cfg = LaunchConfig {
                grid_dim: (k.grid, 1, 1),
                block_dim: (k.block, 1, 1),
                shared_mem_bytes: k.shared_bytes,
            };
            let mut launch = self.stream.launch_builder(&f);
            for o in &k.operands {
                launch.arg(operand(o, &inputs, &stages)?);
            }
            launch.arg(&mut out);
            // SAFETY: the kernel's parameters are the operands' device pointers followed by the
            // output pointer, in the order `generate` declared them; every buffer has the size
            // the kernel indexes (checked by the generator's shapes).
            unsafe { launch.launch(cfg) }.map_err(drv("cuLaunchKernel"))?;
            stages.push(out);
        }
        let last = stages
            .last()
            .ok_or_else(|| Error::Driver("a program with no kernel".into()))?;
        let host = self.stream.clone_dtoh(last).map_err(drv("cuMemcpyDtoH"))?;
        let shape: Vec<usize> = prog.output_shape.iter().map(|&x| x as usize).collect();
        let n: usize = shape.iter().product();
        Ok(Tensor {
            shape,
            data: host[..n].iter().map(|&x| x as f64).collect(),
        })
    }
}

fn operand<'a>(
    name: &str,
    inputs: &'a [CudaSlice<f32>],
    stages: &'a [CudaSlice<f32>],
) -> Result<&'a CudaSlice<f32>> {
    let pick = |v: &'a [CudaSlice<f32>], i: Option<usize>| {
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
