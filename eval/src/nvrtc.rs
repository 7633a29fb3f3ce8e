//! Run-time compilation of generated CUDA C with NVRTC (no GPU needed): PTX for a virtual
//! architecture and a CUBIN for a real one.
//!
//! Every output is kept in a content-addressed cache on disk ([`NvrtcCache`], by default
//! `$KAS_HOME/nvrtc/`): the key is a BLAKE3 hash of the source text, the architecture, the
//! output kind, the compiler options and NVRTC's version, so a kernel compiled once (by a
//! campaign's earlier evaluation, the tuner, a test run, an earlier campaign) is read back
//! instead of compiled again, and any change to what goes into NVRTC is a new key.
//! Compilation errors are not kept. An entry carries the hash of its contents, so a damaged
//! one is compiled again and rewritten; entries are written to a temporary file and renamed.
//! The cache never makes a compilation fail: when its folder cannot be read or written, NVRTC
//! compiles as without it. `KAS_NVRTC_CACHE=off` turns it off.

use crate::error::{Error, Result};
use cudarc::nvrtc::{result, sys};
use std::ffi::{CStr, CString, c_char};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Compiles `src` (named `name` in errors) to PTX, and also to an sm_90 CUBIN if `cubin`,
/// through the default [`NvrtcCache`].
pub fn compile(name: &str, src: &str, cubin: bool) -> Result<Compiled> {
    NvrtcCache::standard().compile(name, src, cubin)
}

/// Compiles `src` straight to a CUBIN for the real architecture `arch` (`sm_90`): what a
/// device of that architecture loads without a JIT step (through the default [`NvrtcCache`]).
pub fn compile_cubin(name: &str, src: &str, arch: &str) -> Result<Vec<u8>> {
    NvrtcCache::standard().compile_cubin(name, src, arch)
}

/// What NVRTC is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// PTX text.
    Ptx,
    /// A CUBIN (ELF) for a real architecture.
    Cubin,
}

impl Output {
    fn label(self) -> &'static str {
        match self {
            Output::Ptx => "ptx",
            Output::Cubin => "cubin",
        }
    }
}

/// The options kas passes NVRTC for `arch`.
fn options(arch: &str) -> [String; 2] {
    [
        format!("--gpu-architecture={arch}"),
        "--std=c++17".to_string(),
    ]
}

/// Version of the cache's key and entry layout.
const CACHE_FORMAT: &str = "kas-nvrtc-cache 1";
/// Variable that turns the default cache off (`off`, `0` or `false`).
pub const CACHE_VAR: &str = "KAS_NVRTC_CACHE";
/// Entries the default cache keeps at most; when a process opens it over this, the least
/// recently used quarter is removed.
pub const CACHE_MAX_ENTRIES: usize = 20_000;

/// NVRTC's compiled outputs on disk, by content (see the module docs).
#[derive(Debug, Clone)]
pub struct NvrtcCache {
    dir: Option<PathBuf>,
}

impl NvrtcCache {
    /// A cache in `dir` (created when first written).
    pub fn at(dir: impl Into<PathBuf>) -> NvrtcCache {
        NvrtcCache {
            dir: Some(dir.into()),
        }
    }

    /// No cache: every call compiles.
    pub fn off() -> NvrtcCache {
        NvrtcCache { dir: None }
    }

    /// `$KAS_HOME/nvrtc`, or [`NvrtcCache::off`] when `KAS_NVRTC_CACHE` is `off`, `0` or
    /// `false`. Trimmed to [`CACHE_MAX_ENTRIES`] once per process.
    pub fn standard() -> &'static NvrtcCache {
        static STANDARD: OnceLock<NvrtcCache> = OnceLock::new();
        STANDARD.get_or_init(|| {
            let off =
                std::env::var(CACHE_VAR).is_ok_and(|v| matches!(v.trim(), "off" | "0" | "false"));
            if off {
                return NvrtcCache::off();
            }
            let cache = NvrtcCache::at(crate::data::paths::kas_home().join("nvrtc"));
            cache.trim(CACHE_MAX_ENTRIES);
            cache
        })
    }

    /// The folder, unless the cache is off.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// [`compile`] through this cache.
    pub fn compile(&self, name: &str, src: &str, cubin: bool) -> Result<Compiled> {
        available()?;
        let ptx = self.compile_one(name, src, PTX_ARCH, Output::Ptx)?;
        let ptx = String::from_utf8_lossy(&ptx)
            .trim_end_matches('\0')
            .to_string();
        let cubin = if cubin {
            Some(self.compile_one(name, src, CUBIN_ARCH, Output::Cubin)?)
        } else {
            None
        };
        Ok(Compiled { ptx, cubin })
    }

    /// [`compile_cubin`] through this cache.
    pub fn compile_cubin(&self, name: &str, src: &str, arch: &str) -> Result<Vec<u8>> {
        available()?;
        self.compile_one(name, src, arch, Output::Cubin)
    }

    /// The file of `src`'s `out` for `arch` (whether or not it exists yet), unless the cache
    /// is off.
    pub fn entry(&self, src: &str, arch: &str, out: Output) -> Result<Option<PathBuf>> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let key = cache_key(src, arch, out, cached_version()?);
        Ok(Some(dir.join(format!("{key}.{}", out.label()))))
    }

    fn compile_one(&self, name: &str, src: &str, arch: &str, out: Output) -> Result<Vec<u8>> {
        let entry = self.entry(src, arch, out)?;
        if let Some(bytes) = entry.as_deref().and_then(read_entry) {
            return Ok(bytes);
        }
        let bytes = compile_one(name, src, arch, out)?;
        if let Some(path) = &entry {
            // A cache that cannot be written is no cache: the compiled output stands.
            let _ = write_entry(path, &bytes);
        }
        Ok(bytes)
    }

    /// Removes the least recently used quarter of the entries when there are more than `max`.
    fn trim(&self, max: usize) {
        let Some(dir) = &self.dir else { return };
        let Ok(list) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = list
            .flatten()
            .filter_map(|e| {
                let m = e.metadata().ok().filter(|m| m.is_file())?;
                Some((m.modified().ok()?, e.path()))
            })
            .collect();
        if entries.len() <= max {
            return;
        }
        entries.sort();
        let remove = entries.len() - max * 3 / 4;
        for (_, p) in entries.into_iter().take(remove) {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The NVRTC version, read once.
fn cached_version() -> Result<(i32, i32)> {
    static VERSION: OnceLock<(i32, i32)> = OnceLock::new();
    if let Some(v) = VERSION.get() {
        return Ok(*v);
    }
    let v = version()?;
    Ok(*VERSION.get_or_init(|| v))
}

/// The cache key of compiling `src` to `out` for `arch` with NVRTC `version` and kas's options
/// (hex BLAKE3). The program's name is not part of it: it only names the source in errors and
/// debug information, which kas does not ask for.
pub fn cache_key(src: &str, arch: &str, out: Output, version: (i32, i32)) -> String {
    let mut h = blake3::Hasher::new();
    for part in [
        CACHE_FORMAT,
        &format!("nvrtc {}.{}", version.0, version.1),
        arch,
        out.label(),
        &options(arch).join(" "),
    ] {
        h.update(part.as_bytes());
        h.update(b"\0");
    }
    h.update(src.as_bytes());
    h.finalize().to_hex().to_string()
}

/// An entry's bytes: the BLAKE3 hash of the payload (32 bytes), then the payload.
fn read_entry(path: &Path) -> Option<Vec<u8>> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() < 32 {
        return None;
    }
    let (sum, payload) = bytes.split_at(32);
    if blake3::hash(payload).as_bytes() != sum {
        return None;
    }
    // Recently used entries survive a trim.
    if let Ok(f) = std::fs::File::options().append(true).open(path) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
    Some(payload.to_vec())
}

fn write_entry(path: &Path, payload: &[u8]) -> std::io::Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let mut bytes = Vec::with_capacity(32 + payload.len());
    bytes.extend_from_slice(blake3::hash(payload).as_bytes());
    bytes.extend_from_slice(payload);
    let written = std::fs::write(&tmp, &bytes).and_then(|_| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn compile_one(name: &str, src: &str, arch: &str, out: Output) -> Result<Vec<u8>> {
    let csrc = CString::new(src).map_err(|_| Error::Compile {
        name: name.into(),
        log: "source contains a NUL byte".into(),
    })?;
    let cname = CString::new(format!("{name}.cu")).unwrap_or_default();
    let prog = result::create_program(&csrc, Some(&cname))
        .map_err(|e| Error::Driver(format!("nvrtcCreateProgram: {e:?}")))?;
    let opts = options(arch);
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
