//! The precision rule of every command that trains or times: f32 means f32.
//!
//! On an NVIDIA GPU, cuBLAS and cuDNN run f32 contractions on TF32 tensor cores unless told
//! not to, and tch has no switch for it. A comparison of kas's f32 kernels with libtorch's, or
//! a training run called f32, would then mix precisions (`docs/ARCHITECTURE.md`,
//! "Precision"). [`f32_means_f32`] turns TF32 off for the process and for the worker
//! processes it starts, unless the user chose otherwise.

/// The environment variable the CUDA libraries read.
pub const TF32_OVERRIDE: &str = "NVIDIA_TF32_OVERRIDE";

/// Sets `NVIDIA_TF32_OVERRIDE=0` unless the user set it (then the user's value stands and is
/// recorded in the device fingerprint). Call it first thing in a command that trains or
/// times, before any other thread or CUDA context exists; worker processes inherit it.
pub fn f32_means_f32() {
    if std::env::var_os(TF32_OVERRIDE).is_none() {
        // SAFETY: called on the main thread at the start of a command, before any other
        // thread or CUDA context exists (the function's contract).
        unsafe { std::env::set_var(TF32_OVERRIDE, "0") };
    }
}

/// The environment rule of precision `p`, for a command that times or trains at `p`:
/// [`f32_means_f32`] at f32 and bf16 (nothing runs TF32), nothing at TF32 (the timing target
/// turns libtorch's TF32 switches on, and refuses if the user's `NVIDIA_TF32_OVERRIDE=0`
/// forbids TF32). Same contract as [`f32_means_f32`]: first thing, before any thread or CUDA
/// context exists.
pub fn precision_rule(p: kas_codegen::Precision) {
    if p != kas_codegen::Precision::Tf32 {
        f32_means_f32();
    }
}

/// Refuses TF32 while `NVIDIA_TF32_OVERRIDE=0` forbids it in cuDNN and cuBLAS: a command
/// checks it before it measures anything, so that the refusal is one line, not every
/// measurement's failure.
pub fn check_allowed(p: kas_codegen::Precision) -> crate::Result<()> {
    if p == kas_codegen::Precision::Tf32 && tf32_override().as_deref() == Some("0") {
        return Err(crate::error::ConfigError::Tf32Overridden.into());
    }
    Ok(())
}

/// The value of `NVIDIA_TF32_OVERRIDE` in effect, if any.
pub fn tf32_override() -> Option<String> {
    std::env::var(TF32_OVERRIDE).ok()
}
