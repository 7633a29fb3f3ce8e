//! Run-time compilation of generated CUDA C with NVRTC (no GPU needed): PTX for a virtual
//! architecture and a CUBIN for a real one.

use crate::error::{Error, Result};
use cudarc::nvrtc::{result, sys};
use std::ffi::{CStr, CString, c_char};

/// Virtual architecture of the PTX kas emits (Hopper; the driver JITs it for newer GPUs).
pub const PTX_ARCH: &str = "compute_90";
/// Real architecture of the CUBIN compiled to check device code generation.
pub const CUBIN_ARCH: &str = "sm_90";

/// Checks that the NVRTC library can be loaded, as a clear error rather than cudarc's panic.
pub fn available() -> Result<()> {
    // SAFETY: only probes whether the shared library can be opened.
    if unsafe { sys::is_culib_present() } {
        Ok(())
    } else {
        Err(Error::Missing(
            "NVRTC (libnvrtc.so.13) not found: run the README's set-up (scripts/env.sh installs it into $KAS_HOME/torch-2.11.0) or put its folder on LD_LIBRARY_PATH".into(),
        ))
    }
}

/// The NVRTC version, `(major, minor)`.
pub fn version() -> Result<(i32, i32)> {
    available()?;
    let (mut major, mut minor) = (0, 0);
    // SAFETY: plain out-parameters.
    unsafe { sys::nvrtcVersion(&mut major, &mut minor) }
        .result()
        .map_err(|e| Error::Driver(format!("nvrtcVersion: {e:?}")))?;
    Ok((major, minor))
}

/// A compiled program.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// PTX text for [`PTX_ARCH`].
    pub ptx: String,
    /// CUBIN for [`CUBIN_ARCH`], when asked for.
    pub cubin: Option<Vec<u8>>,
}

/// Compiles `src` (named `name` in errors) to PTX, and also to an sm_90 CUBIN if `cubin`.
pub fn compile(name: &str, src: &str, cubin: bool) -> Result<Compiled> {
    available()?;
    let ptx = compile_one(name, src, PTX_ARCH, Output::Ptx)?;
    let ptx = String::from_utf8_lossy(&ptx)
        .trim_end_matches('\0')
        .to_string();
    let cubin = if cubin {
        Some(compile_one(name, src, CUBIN_ARCH, Output::Cubin)?)
    } else {
        None
    };
    Ok(Compiled { ptx, cubin })
}

/// Compiles `src` straight to a CUBIN for the real architecture `arch` (`sm_90`): what a
/// device of that architecture loads without a JIT step.
pub fn compile_cubin(name: &str, src: &str, arch: &str) -> Result<Vec<u8>> {
    available()?;
    compile_one(name, src, arch, Output::Cubin)
}

enum Output {
    Ptx,
    Cubin,
}

fn compile_one(name: &str, src: &str, arch: &str, out: Output) -> Result<Vec<u8>> {
    let csrc = CString::new(src).map_err(|_| Error::Compile {
        name: name.into(),
        log: "source contains a NUL byte".into(),
    })?;
    let cname = CString::new(format!("{name}.cu")).unwrap_or_default();
    let prog = result::create_program(&csrc, Some(&cname))
        .map_err(|e| Error::Driver(format!("nvrtcCreateProgram: {e:?}")))?;
    let opts = [
        format!("--gpu-architecture={arch}"),
        "--std=c++17".to_string(),
    ];
    // SAFETY: `prog` was just created and is destroyed exactly once below.
    let compiled = unsafe { result::compile_program(prog, &opts) };
    let outcome = match compiled {
        Err(_) => {
            // SAFETY: as above.
            let log = unsafe { result::get_program_log(prog) }
                .map(|l| cstr_lossy(&l))
                .unwrap_or_default();
            Err(Error::Compile {
                name: name.into(),
                log: log.lines().take(8).collect::<Vec<_>>().join(" | "),
            })
        }
        Ok(()) => match out {
            // SAFETY: compiled program.
            Output::Ptx => unsafe { result::get_ptx(prog) }
                .map(|p| p.into_iter().map(|c| c as u8).collect())
                .map_err(|e| Error::Driver(format!("nvrtcGetPTX: {e:?}"))),
            // SAFETY: compiled program.
            Output::Cubin => unsafe { get_cubin(prog) },
        },
    };
    // SAFETY: created above, not destroyed yet.
    unsafe { result::destroy_program(prog) }
        .map_err(|e| Error::Driver(format!("nvrtcDestroyProgram: {e:?}")))?;
    outcome
}

/// # Safety
/// `prog` must be a compiled, live NVRTC program.
unsafe fn get_cubin(prog: sys::nvrtcProgram) -> Result<Vec<u8>> {
    let mut size = 0usize;
    // SAFETY: caller's contract; out-parameter.
    unsafe { sys::nvrtcGetCUBINSize(prog, &mut size) }
        .result()
        .map_err(|e| Error::Driver(format!("nvrtcGetCUBINSize: {e:?}")))?;
    let mut buf = vec![0 as c_char; size];
    // SAFETY: `buf` has the size NVRTC asked for.
    unsafe { sys::nvrtcGetCUBIN(prog, buf.as_mut_ptr()) }
        .result()
        .map_err(|e| Error::Driver(format!("nvrtcGetCUBIN: {e:?}")))?;
    Ok(buf.into_iter().map(|c| c as u8).collect())
}

fn cstr_lossy(bytes: &[c_char]) -> String {
    let b: Vec<u8> = bytes.iter().map(|&c| c as u8).collect();
    CStr::from_bytes_until_nul(&b)
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_else(|_| String::from_utf8_lossy(&b).into_owned())
}
