//! kas's CUDA kernels in a model's slots: a [`SlotOverride`] that runs each slot holding the
//! operator through the kernels kas generated (and tuned) for the slot's binding at the model's
//! batch, instead of the tch plan.
//!
//! Every launch goes to libtorch's current CUDA stream on this thread (its native handle, from
//! the context shim), with the driver API (`cuLaunchKernel`) in the device's primary context,
//! the context libtorch's runtime uses (checked by [`check_primary_context`]). The kernels read
//! the slot's input and the tch plan's weight tensors where libtorch keeps them (their
//! `data_ptr`, made contiguous first) and write into tensors libtorch allocates on that stream:
//! one per kernel, the last one's first elements being the slot's output. Work on one stream
//! needs no other synchronisation, and a CUDA graph captured from that stream holds libtorch's
//! work and kas's launches alike.

use super::rel_frobenius;
use crate::error::{Error, Result};
use crate::gpu::{Gpu, drv, operand};
use crate::models::slot::{SlotInfo, SlotOverride, slot_binding};
use crate::nvrtc;
use crate::tch_plan::TchPlan;
use crate::timing::cuda::host_randn;
use crate::torch_context::{Tf32, current_stream_handle, set_tf32};
use crate::tune::{self, schedule_for};
use cudarc::driver::{CudaContext, CudaFunction, result, sys};
use cudarc::nvrtc::Ptx;
use kas_campaign::KernelMode;
use kas_codegen::cuda::{CudaProgram, generate, generate_precise};
use kas_codegen::{Precision, StageIr};
use kas_primitives::Operator;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use tch::{Kind, Tensor};

/// The kind of tensor kas's kernels read and write at precision `p`.
pub(crate) fn storage_kind(p: Precision) -> Kind {
    match p {
        Precision::Bf16 => Kind::BFloat16,
        Precision::F32 | Precision::Tf32 => Kind::Float,
    }
}

/// The compiled kernels of one distinct slot binding.
struct Program {
    prog: CudaProgram,
    functions: Vec<CudaFunction>,
    input_shape: Vec<i64>,
    output_shape: Vec<i64>,
    /// The slots it serves.
    slots: Vec<String>,
    /// Schedule and where it came from.
    label: String,
}

/// The worst slot seen while checking: its name and error.
type Worst = Option<(String, f64)>;

/// kas's kernels for every slot of a model at one batch size.
pub(crate) struct SlotKernels {
    ctx: Arc<CudaContext>,
    precision: Precision,
    programs: Vec<Program>,
    by_slot: HashMap<String, usize>,
    /// While checking: the tch plan runs too, on the same input, and the worst error is kept.
    check: RefCell<Option<Worst>>,
    /// The first launch error (a slot then runs its tch plan; the caller must look here).
    error: RefCell<Option<String>>,
}

/// Where this kernel set's compilation is, for progress lines.
pub(crate) type Progress<'a> = &'a mut dyn FnMut(&str);

impl SlotKernels {
    /// Generates, tunes (as `mode` says, through the tuning cache) and compiles kas's kernels
    /// for every slot of `slots` bound at batch `batch`; slots with the same binding share one
    /// program.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn compile(
        gpu: &Gpu,
        device_key: &str,
        op: &Operator,
        slots: &[SlotInfo],
        batch: i64,
        precision: Precision,
        mode: KernelMode,
        seed: u64,
        progress: Progress<'_>,
    ) -> Result<SlotKernels> {
        let mut programs: Vec<Program> = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        let mut by_slot = HashMap::new();
        for info in slots {
            let b = slot_binding(op, info, batch)?;
            let key = format!("{:?}", b.pairs(&op.vars));
            if let Some(i) = keys.iter().position(|k| *k == key) {
                programs[i].slots.push(info.name.clone());
                by_slot.insert(info.name.clone(), i);
                continue;
            }
            progress(&format!(
                "kernels for {} (distinct slot binding {})",
                info.name,
                programs.len() + 1
            ));
            let ir = StageIr::lower_for(op, std::slice::from_ref(&b))?;
            let reference = generate(&ir, &b)?;
            let host = crate::seeded::seeded(seed, || {
                reference
                    .tensor_shapes
                    .iter()
                    .map(|s| host_randn(s, precision))
                    .collect::<Result<Vec<_>>>()
            })?;
            let (schedule, provenance) = schedule_for(
                gpu,
                op,
                &ir,
                &b,
                &host,
                device_key,
                mode,
                precision,
                &tune::cache::default_path(),
            )?;
            let prog = generate_precise(&ir, &b, "kas", &schedule, precision)?;
            let name = format!("kas_slot{}", programs.len());
            let ptx = nvrtc::compile(&name, &prog.source, false)?.ptx;
            let functions = gpu.load_functions(&name, &prog, Ptx::from_src(ptx))?;
            let (input_shape, output_shape) = (
                info.shape.input_shape(batch),
                info.shape.output_shape(batch),
            );
            let as_i64 = |s: &[u64]| s.iter().map(|&x| x as i64).collect::<Vec<_>>();
            if prog.tensor_shapes.first().map(|s| as_i64(s)) != Some(input_shape.clone())
                || as_i64(&prog.output_shape) != output_shape
            {
                return Err(Error::Driver(format!(
                    "slot {}: the kernels map {:?} → {:?}, the slot {input_shape:?} → {output_shape:?}",
                    info.name,
                    prog.tensor_shapes.first(),
                    prog.output_shape
                )));
            }
            by_slot.insert(info.name.clone(), programs.len());
            keys.push(key);
            programs.push(Program {
                label: format!("{} ({})", schedule.label(), provenance.label()),
                prog,
                functions,
                input_shape,
                output_shape,
                slots: vec![info.name.clone()],
            });
        }
        Ok(SlotKernels {
            ctx: gpu.context().clone(),
            precision,
            programs,
            by_slot,
            check: RefCell::new(None),
            error: RefCell::new(None),
        })
    }

    /// One line per distinct slot binding: its slots and its kernels' schedule.
    pub(crate) fn describe(&self) -> Vec<String> {
        self.programs
            .iter()
            .map(|p| format!("{}: {}", p.slots.join(", "), p.label))
            .collect()
    }

    /// Starts checking: every slot also runs its tch plan on the same input.
    pub(crate) fn start_check(&self) {
        *self.check.borrow_mut() = Some(None);
    }

    /// Stops checking: the slot whose kernels differed most from its tch plan, and the
    /// relative Frobenius error.
    pub(crate) fn end_check(&self) -> Worst {
        self.check.borrow_mut().take().flatten()
    }

    /// The first launch error since the last call, if any.
    pub(crate) fn take_error(&self) -> Option<String> {
        self.error.borrow_mut().take()
    }

    /// Launches the kernels of slot `info` on `x` with `plan`'s weights.
    fn launch(&self, info: &SlotInfo, plan: &TchPlan, x: &Tensor) -> Result<Tensor> {
        let fail = |what: String| Error::Driver(format!("slot {}: {what}", info.name));
        let p = self
            .by_slot
            .get(&info.name)
            .map(|&i| &self.programs[i])
            .ok_or_else(|| fail("no kernels were compiled for it".into()))?;
        let dtype = storage_kind(self.precision);
        if x.size() != p.input_shape || x.kind() != dtype {
            return Err(fail(format!(
                "input {:?} {:?}, the kernels take {:?} {dtype:?}",
                x.size(),
                x.kind(),
                p.input_shape
            )));
        }
        let x = x.contiguous();
        let weights: Vec<Tensor> = plan.weights.iter().map(|w| w.contiguous()).collect();
        for (w, shape) in weights.iter().zip(&p.prog.tensor_shapes[1..]) {
            let n: u64 = shape.iter().product();
            if w.kind() != dtype || w.numel() as u64 != n {
                return Err(fail(format!(
                    "a weight of {:?} {:?}, the kernels read {shape:?} {dtype:?}",
                    w.size(),
                    w.kind()
                )));
            }
        }
        if weights.len() + 1 != p.prog.tensor_shapes.len() {
            return Err(fail(
                "the tch plan and the kernels take different weights".into(),
            ));
        }
        let device = x.device();
        let buffers: Vec<Tensor> = p
            .prog
            .kernels
            .iter()
            .map(|k| {
                let kind = if k.out_bf16 {
                    Kind::BFloat16
                } else {
                    Kind::Float
                };
                Tensor::empty([k.out_elems.max(1) as i64], (kind, device))
            })
            .collect();
        let ptr = |t: &Tensor| t.data_ptr() as u64;
        let inputs: Vec<u64> = std::iter::once(&x).chain(&weights).map(ptr).collect();
        let stages: Vec<u64> = buffers.iter().map(ptr).collect();
        let ordinal = match device {
            tch::Device::Cuda(i) => i,
            _ => return Err(fail("the input is not on a CUDA device".into())),
        };
        let stream = current_stream_handle(ordinal)? as sys::CUstream;
        self.ctx.bind_to_thread().map_err(drv("cuCtxSetCurrent"))?;
        for (i, (k, f)) in p.prog.kernels.iter().zip(&p.functions).enumerate() {
            let mut args = k
                .operands
                .iter()
                .map(|o| operand(o, &inputs, &stages[..i]).copied())
                .collect::<Result<Vec<u64>>>()?;
            args.push(stages[i]);
            let mut params: Vec<*mut std::ffi::c_void> = args
                .iter_mut()
                .map(|a| a as *mut u64 as *mut std::ffi::c_void)
                .collect();
            // SAFETY: the kernel's parameters are its operands' device pointers followed by its
            // output's, in the order `generate_precise` declared them (`params` points at
            // `args`, alive across the call); every tensor holds the elements the kernel
            // indexes (shapes and kinds checked above, buffers sized by the program), and all
            // of them live on libtorch's current stream, where the launch goes.
            unsafe {
                result::launch_kernel(
                    f.cu_function(),
                    (k.grid, 1, 1),
                    (k.block, 1, 1),
                    k.shared_bytes,
                    stream,
                    &mut params,
                )
            }
            .map_err(drv("cuLaunchKernel"))?;
        }
        let n: i64 = p.output_shape.iter().product();
        let last = buffers.last().ok_or_else(|| fail("no kernel".into()))?;
        let out = last.narrow(0, 0, n).view(&p.output_shape[..]);
        Ok(if out.kind() == dtype {
            out
        } else {
            out.to_kind(dtype)
        })
    }

    /// While checking: the tch plan's output on `x` (f32 products at TF32, as the bench's
    /// reference) against `y`.
    fn compare(&self, info: &SlotInfo, plan: &TchPlan, x: &Tensor, y: &Tensor) -> Result<()> {
        let tf32 = self.precision == Precision::Tf32;
        if tf32 {
            set_tf32(Tf32 {
                conv: false,
                matmul: false,
            })?;
        }
        let want = plan.apply(x);
        if tf32 {
            set_tf32(Tf32 {
                conv: true,
                matmul: true,
            })?;
        }
        let err = rel_frobenius(y, &want);
        if let Some(worst) = self.check.borrow_mut().as_mut() {
            let worse = match worst {
                Some((_, e)) => err.is_nan() || err > *e,
                None => true,
            };
            if worse {
                *worst = Some((info.name.clone(), err));
            }
        }
        Ok(())
    }
}

impl SlotOverride for SlotKernels {
    fn forward(&self, info: &SlotInfo, plan: Option<&TchPlan>, x: &Tensor) -> Option<Tensor> {
        let plan = plan?;
        let y = match self.launch(info, plan, x) {
            Ok(y) => y,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e.to_string());
                return None;
            }
        };
        if self.check.borrow().is_some()
            && let Err(e) = self.compare(info, plan, x, &y)
        {
            self.error.borrow_mut().get_or_insert(e.to_string());
        }
        Some(y)
    }
}

/// Checks that libtorch's CUDA work on this thread runs in `gpu`'s context, the device's
/// primary one: kas's launches and libtorch's tensors must share a context for device pointers
/// to mean the same memory. With no context current on the thread, a libtorch operation makes
/// the CUDA runtime bind the one it uses; that must be `gpu`'s, and primary.
pub(crate) fn check_primary_context(gpu: &Gpu) -> Result<()> {
    // SAFETY: unbinding (null) is always allowed; the runtime binds its context again below.
    unsafe { result::ctx::set_current(std::ptr::null_mut()) }.map_err(drv("cuCtxSetCurrent"))?;
    let probe = Tensor::ones([1], (Kind::Float, tch::Device::Cuda(0))).sum(Kind::Float);
    tch::Cuda::synchronize(0);
    drop(probe);
    let current = result::ctx::get_current().map_err(drv("cuCtxGetCurrent"))?;
    let ours = gpu.context();
    match current {
        Some(c) if c == ours.cu_ctx() && ours.is_primary() => Ok(()),
        _ => Err(Error::Driver(
            "libtorch's CUDA context is not the device's primary context that kas's kernels run in"
                .into(),
        )),
    }
}
