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
}
