//! Switches of libtorch's global context that tch does not expose (tch-rs #916), through a
//! small C++ shim compiled against libtorch (`eval/shim/context.cpp`): TF32 in cuDNN
//! convolutions and cuBLAS matrix products, deterministic cuDNN algorithms, and bf16 as the
//! autocast dtype on CUDA (`docs/ARCHITECTURE.md`, "Precision").
//!
//! TF32 also needs `NVIDIA_TF32_OVERRIDE` unset (or not `0`): the override wins over these
//! switches inside the CUDA libraries ([`crate::precision`]).

use crate::error::{Error, Result};
use std::os::raw::c_int;

unsafe extern "C" {
    fn kas_ctx_set_tf32(conv: c_int, matmul: c_int) -> c_int;
    fn kas_ctx_tf32(conv: *mut c_int, matmul: *mut c_int) -> c_int;
    fn kas_ctx_set_deterministic(on: c_int) -> c_int;
    fn kas_ctx_deterministic(on: *mut c_int) -> c_int;
    fn kas_ctx_set_autocast_bf16() -> c_int;
    fn kas_ctx_autocast_enter(on: c_int, prev: *mut c_int) -> c_int;
    fn kas_ctx_autocast_exit(prev: c_int) -> c_int;
    fn kas_ctx_autocast_enabled(on: *mut c_int) -> c_int;
    fn kas_ctx_use_stream(device: c_int, pool: c_int, id: *mut std::os::raw::c_longlong) -> c_int;
    fn kas_ctx_current_stream(device: c_int, id: *mut std::os::raw::c_longlong) -> c_int;
    fn kas_ctx_current_stream_handle(device: c_int, handle: *mut *mut std::ffi::c_void) -> c_int;
}

fn check(rc: c_int, call: &'static str) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::TorchContext(call))
    }
}

/// Whether TF32 is allowed in cuDNN convolutions and in cuBLAS matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tf32 {
    /// cuDNN (`torch.backends.cudnn.allow_tf32`).
    pub conv: bool,
    /// cuBLAS (`torch.backends.cuda.matmul.allow_tf32`).
    pub matmul: bool,
}

/// Allows or forbids TF32 in cuDNN and cuBLAS for this process.
pub fn set_tf32(t: Tf32) -> Result<()> {
    // SAFETY: the shim takes two integers and catches every C++ exception.
    check(
        unsafe { kas_ctx_set_tf32(t.conv as c_int, t.matmul as c_int) },
        "setAllowTF32CuDNN / setAllowTF32CuBLAS",
    )
}

/// The TF32 switches in effect.
pub fn tf32() -> Result<Tf32> {
    let (mut conv, mut matmul) = (0, 0);
    // SAFETY: both pointers are to live integers; the shim catches every C++ exception.
    check(
        unsafe { kas_ctx_tf32(&mut conv, &mut matmul) },
        "allowTF32CuDNN / allowTF32CuBLAS",
    )?;
    Ok(Tf32 {
        conv: conv != 0,
        matmul: matmul != 0,
    })
}

/// Deterministic cuDNN algorithms (and benchmark mode off) when `on`; benchmark mode on and
/// determinism off otherwise. Training wants the first, timing the second.
pub fn set_deterministic(on: bool) -> Result<()> {
    // SAFETY: the shim takes an integer and catches every C++ exception.
    check(
        unsafe { kas_ctx_set_deterministic(on as c_int) },
        "setDeterministicCuDNN",
    )
}

/// Whether cuDNN is held to deterministic algorithms.
pub fn deterministic() -> Result<bool> {
    let mut on = 0;
    // SAFETY: the pointer is to a live integer; the shim catches every C++ exception.
    check(
        unsafe { kas_ctx_deterministic(&mut on) },
        "deterministicCuDNN",
    )?;
    Ok(on != 0)
}

/// Makes bf16 the dtype of CUDA autocast regions (`tch::autocast`), instead of f16.
pub fn set_autocast_bf16() -> Result<()> {
    // SAFETY: the shim takes nothing and catches every C++ exception.
    check(
        unsafe { kas_ctx_set_autocast_bf16() },
        "set_autocast_dtype(kCUDA, kBFloat16)",
    )
}

/// Runs `f` inside a CUDA autocast region (enabled when `on`), restoring the previous state
/// after it: what `tch::autocast` does, through libtorch's current API (tch's calls deprecated
/// functions that print a warning at every call).
pub fn autocast<T>(on: bool, f: impl FnOnce() -> T) -> Result<T> {
    let mut prev = 0;
    // SAFETY: the pointer is to a live integer; the shim catches every C++ exception.
    check(
        unsafe { kas_ctx_autocast_enter(on as c_int, &mut prev) },
        "set_autocast_enabled(kCUDA)",
    )?;
    let out = f();
    // SAFETY: the shim takes an integer and catches every C++ exception.
    check(
        unsafe { kas_ctx_autocast_exit(prev) },
        "set_autocast_enabled(kCUDA)",
    )?;
    Ok(out)
}

/// Whether CUDA autocast is enabled on this thread.
pub fn autocast_enabled() -> Result<bool> {
    let mut on = 0;
    // SAFETY: the pointer is to a live integer; the shim catches every C++ exception.
    check(
        unsafe { kas_ctx_autocast_enabled(&mut on) },
        "is_autocast_enabled(kCUDA)",
    )?;
    Ok(on != 0)
}

/// This thread's work on CUDA device `device` on one of libtorch's pool streams until the
/// guard is dropped (then the default stream again), so that the trainings of several
/// evaluations sharing a GPU from one process (each on its own thread) overlap on the device
/// instead of queueing on its default stream. The device is synchronized first (work queued
/// before, such as the dataset's preparation, is finished: pool streams do not wait for the
/// default stream) and again when the guard drops (unless the thread is unwinding from a
/// panic). Errors without a CUDA backend.
pub fn pool_stream(device: usize) -> Result<PoolStream> {
    let d = c_int::try_from(device).map_err(|_| Error::TorchContext("getStreamFromGlobalPool"))?;
    if !tch::Cuda::is_available() || device >= tch::Cuda::device_count().max(0) as usize {
        return Err(Error::TorchContext(
            "getStreamFromGlobalPool: no such CUDA device",
        ));
    }
    tch::Cuda::synchronize(device as i64);
    let mut id = 0;
    // SAFETY: the pointer is to a live integer; the shim catches every C++ exception.
    check(
        unsafe { kas_ctx_use_stream(d, 1, &mut id) },
        "getStreamFromGlobalPool(kCUDA)",
    )?;
    Ok(PoolStream { device: d, id })
}

/// The id of this thread's current CUDA stream on `device` (0: the default stream).
pub fn current_stream(device: usize) -> Result<i64> {
    let d = c_int::try_from(device).map_err(|_| Error::TorchContext("getStream"))?;
    let mut id = 0;
    // SAFETY: the pointer is to a live integer; the shim catches every C++ exception.
    check(
        unsafe { kas_ctx_current_stream(d, &mut id) },
        "getStream(kCUDA)",
    )?;
    Ok(id)
}

/// The native handle of this thread's current CUDA stream on `device` (a `CUstream`; null for
/// the legacy default stream): kas's kernels launched on it are ordered with libtorch's work
/// on this thread. Errors without a CUDA backend.
pub fn current_stream_handle(device: usize) -> Result<*mut std::ffi::c_void> {
    let d = c_int::try_from(device).map_err(|_| Error::TorchContext("getStream"))?;
    let mut handle = std::ptr::null_mut();
    // SAFETY: the pointer is to a live pointer; the shim catches every C++ exception.
    check(
        unsafe { kas_ctx_current_stream_handle(d, &mut handle) },
        "getStream(kCUDA).native_handle()",
    )?;
    Ok(handle)
}

/// A thread's pool stream ([`pool_stream`]).
#[derive(Debug)]
pub struct PoolStream {
    device: c_int,
    /// The stream's id (libtorch's `c10::Stream::id`).
    pub id: i64,
}

impl Drop for PoolStream {
    fn drop(&mut self) {
        // Not while unwinding: a CUDA error would make the synchronize panic again (an abort).
        if !std::thread::panicking() {
            tch::Cuda::synchronize(i64::from(self.device));
        }
        let mut id = 0;
        // SAFETY: the pointer is to a live integer; the shim catches every C++ exception. A
        // failure leaves the pool stream current, which is still correct, only not shared.
        let _ = unsafe { kas_ctx_use_stream(self.device, 0, &mut id) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_read_back_what_was_set() {
        for conv in [false, true] {
            for matmul in [false, true] {
                set_tf32(Tf32 { conv, matmul }).unwrap();
                assert_eq!(tf32().unwrap(), Tf32 { conv, matmul });
            }
        }
        for on in [true, false] {
            set_deterministic(on).unwrap();
            assert_eq!(deterministic().unwrap(), on);
        }
        set_autocast_bf16().unwrap();
    }

    #[test]
    fn autocast_regions_nest_and_restore() {
        assert!(!autocast_enabled().unwrap());
        let inner = autocast(true, || {
            let nested = autocast(false, || autocast_enabled().unwrap()).unwrap();
            (autocast_enabled().unwrap(), nested)
        })
        .unwrap();
        assert_eq!(inner, (true, false));
        assert!(!autocast_enabled().unwrap());
    }

    #[test]
    fn a_pool_stream_needs_a_cuda_device() {
        if tch::Cuda::is_available() {
            eprintln!("skipped: a GPU is here (eval/tests/pool_streams.rs checks the streams)");
            return;
        }
        let e = pool_stream(0).unwrap_err();
        assert!(e.to_string().contains("no such CUDA device"), "{e}");
    }
}
