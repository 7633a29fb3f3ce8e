//! The device fingerprint recorded with every measurement: what ran it (GPU or CPU), with
//! which software, under which precision settings, and a short stable key for caches and
//! journals.

use crate::error::Result;
use crate::gpu::Gpu;
use cudarc::driver::sys::CUdevice_attribute as A;
use serde::{Deserialize, Serialize};

/// kas's version (the workspace version).
pub const KAS_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit kas was built from (`git rev-parse --short=12 HEAD` at build time, the
/// `KAS_GIT_HASH` variable of the build if set, or `unknown`).
pub const KAS_GIT_HASH: &str = env!("KAS_GIT_HASH");

/// Everything that identifies where and how a measurement ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// `"cuda"` or `"cpu"`: which device ran the timed work.
    pub device: String,
    /// The GPU, when the device is `cuda`.
    pub gpu: Option<GpuInfo>,
    /// The host CPU (always recorded; it ran the work when the device is `cpu`).
    pub cpu: CpuInfo,
    /// Library and kas versions.
    pub software: Software,
    /// Settings that change the numbers.
    pub settings: Settings,
}

/// A CUDA device as the driver describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// Device name (e.g. `NVIDIA H100 80GB HBM3`).
    pub name: String,
    /// Compute capability (`major`, `minor`).
    pub sm: (i32, i32),
    /// Streaming multiprocessors.
    pub sm_count: u32,
    /// Global memory in bytes.
    pub memory_bytes: u64,
    /// L2 cache in bytes.
    pub l2_bytes: u64,
    /// Peak SM clock in kHz (0 if the driver does not report it).
    pub clock_khz: u32,
    /// Peak memory clock in kHz (0 if the driver does not report it).
    pub memory_clock_khz: u32,
    /// Memory bus width in bits (0 if the driver does not report it).
    pub bus_width_bits: u32,
    /// The kernel driver's version (`/proc/driver/nvidia/version`), or `unknown`.
    pub driver: String,
    /// The CUDA version the driver API supports (`cuDriverGetVersion`, e.g. `13.0`).
    pub cuda_driver_api: String,
}

/// The host CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuInfo {
    /// Model name from `/proc/cpuinfo`, or `unknown`.
    pub model: String,
    /// Logical cores available to this process.
    pub logical_cores: usize,
    /// libtorch's intra-op threads.
    pub torch_threads: i64,
}

/// Versions of kas and of the libraries that ran the work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Software {
    /// kas's version.
    pub kas_version: String,
    /// kas's git commit.
    pub kas_git: String,
    /// libtorch's version (from the `version.py` or `build-version` file next to the loaded
    /// `libtorch_cpu.so`), or `unknown (…)`.
    pub libtorch: String,
    /// NVRTC's version, when NVRTC loads.
    pub nvrtc: Option<String>,
    /// The CUDA runtime libtorch was built with, when libtorch has CUDA.
    pub cuda_runtime: Option<String>,
    /// cuDNN's version as libtorch reports it, when libtorch has cuDNN.
    pub cudnn: Option<String>,
}

/// Settings that change the measured numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Arithmetic precision of the timed work (`f32`).
    pub precision: String,
    /// The value of `NVIDIA_TF32_OVERRIDE` in this process (`0` keeps cuDNN and cuBLAS in
    /// true f32), `None` when unset.
    pub nvidia_tf32_override: Option<String>,
    /// Whether cuDNN's benchmark mode (algorithm search per shape) was on.
    pub cudnn_benchmark: bool,
    /// libtorch's TF32 switches when probed (`cuDNN TF32 on, cuBLAS TF32 off`); absent in
    /// fingerprints written before they were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libtorch_tf32: Option<String>,
}

impl Fingerprint {
    /// The fingerprint of CPU work in this process.
    pub fn cpu(precision: &str) -> Fingerprint {
        Fingerprint {
            device: "cpu".into(),
            gpu: None,
            cpu: CpuInfo::probe(),
            software: Software::probe(false),
            settings: Settings::probe(precision, false),
        }
    }

    /// The fingerprint of work on `gpu` in this process; `cudnn_benchmark` as set by the
    /// caller (see [`crate::timing::cuda`]).
    pub fn cuda(gpu: &Gpu, precision: &str, cudnn_benchmark: bool) -> Result<Fingerprint> {
        Ok(Fingerprint {
            device: "cuda".into(),
            gpu: Some(GpuInfo::probe(gpu)?),
            cpu: CpuInfo::probe(),
            software: Software::probe(true),
            settings: Settings::probe(precision, cudnn_benchmark),
        })
    }

    /// A short key that is stable for the same hardware and software: a readable slug of the
    /// device and the first 8 hex digits of a BLAKE3 hash of the identifying fields (GPU: name,
    /// SM version and count, memory, driver, CUDA, cuDNN, NVRTC and libtorch versions; CPU:
    /// model, cores, torch threads and libtorch). Settings (TF32, cuDNN benchmark) are not part
    /// of the key: they are recorded with each measurement.
    pub fn device_key(&self) -> String {
        let s = &self.software;
        let common = format!(
            "libtorch={}|nvrtc={:?}|cudart={:?}|cudnn={:?}",
            s.libtorch, s.nvrtc, s.cuda_runtime, s.cudnn
        );
        match &self.gpu {
            Some(g) => {
                let ident = format!(
                    "gpu|{}|{}.{}|{}|{}|{}|{}|{common}",
                    g.name, g.sm.0, g.sm.1, g.sm_count, g.memory_bytes, g.driver, g.cuda_driver_api
                );
                format!(
                    "{}-sm{}{}-{}",
                    slug(&g.name),
                    g.sm.0,
                    g.sm.1,
                    short_hash(&ident)
                )
            }
            None => {
                let c = &self.cpu;
                let ident = format!(
                    "cpu|{}|{}|{}|{common}",
                    c.model, c.logical_cores, c.torch_threads
                );
                format!(
                    "cpu-{}-{}c-{}",
                    slug(&c.model),
                    c.logical_cores,
                    short_hash(&ident)
                )
            }
        }
    }

    /// One line for people: device, versions and settings.
    pub fn summary(&self) -> String {
        let s = &self.software;
        let set = &self.settings;
        let dev = match &self.gpu {
            Some(g) => format!(
                "{} (sm_{}{}, {} SMs, {:.0} GiB, L2 {} MiB), driver {}, CUDA {} (driver API), runtime {}, cuDNN {}",
                g.name,
                g.sm.0,
                g.sm.1,
                g.sm_count,
                g.memory_bytes as f64 / (1u64 << 30) as f64,
                g.l2_bytes >> 20,
                g.driver,
                g.cuda_driver_api,
                s.cuda_runtime.as_deref().unwrap_or("none"),
                s.cudnn.as_deref().unwrap_or("none"),
            ),
            None => format!(
                "CPU {} ({} logical cores, {} torch threads)",
                self.cpu.model, self.cpu.logical_cores, self.cpu.torch_threads
            ),
        };
        format!(
            "{dev}; libtorch {}, NVRTC {}, kas {} ({}); {} with NVIDIA_TF32_OVERRIDE={}, {}, cuDNN benchmark {}; key {}",
            s.libtorch,
            s.nvrtc.as_deref().unwrap_or("none"),
            s.kas_version,
            s.kas_git,
            set.precision,
            set.nvidia_tf32_override.as_deref().unwrap_or("unset"),
            set.libtorch_tf32
                .as_deref()
                .unwrap_or("libtorch TF32 switches not recorded"),
            if set.cudnn_benchmark { "on" } else { "off" },
            self.device_key()
        )
    }
}

impl GpuInfo {
    fn probe(gpu: &Gpu) -> Result<GpuInfo> {
        let attr = |a| gpu.attribute(a).map(|v| v.max(0) as u32);
        let cuda_driver_api = driver_api_version().unwrap_or_else(|| "unknown".into());
        Ok(GpuInfo {
            name: gpu.name.clone(),
            sm: gpu.sm,
            sm_count: attr(A::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?,
            memory_bytes: gpu.total_memory()?,
            l2_bytes: attr(A::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)? as u64,
            clock_khz: attr(A::CU_DEVICE_ATTRIBUTE_CLOCK_RATE).unwrap_or(0),
            memory_clock_khz: attr(A::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE).unwrap_or(0),
            bus_width_bits: attr(A::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH).unwrap_or(0),
            driver: driver_version(),
            cuda_driver_api,
        })
    }
}

impl CpuInfo {
    /// The CPU this process runs on.
    pub fn probe() -> CpuInfo {
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        CpuInfo {
            model,
            logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            torch_threads: tch::get_num_threads() as i64,
        }
    }
}

impl Software {
    /// Versions as this process sees them; `cuda` asks libtorch for its CUDA runtime and
    /// cuDNN versions (only meaningful when libtorch sees a GPU).
    pub fn probe(cuda: bool) -> Software {
        let torch_cuda = cuda && tch::Cuda::is_available();
        Software {
            kas_version: KAS_VERSION.into(),
            kas_git: KAS_GIT_HASH.into(),
            libtorch: libtorch_version(),
            nvrtc: crate::nvrtc::version()
                .ok()
                .map(|(a, b)| format!("{a}.{b}")),
            cuda_runtime: (torch_cuda && tch::utils::has_cudart())
                .then(|| cuda_version(tch::utils::version_cudart())),
            cudnn: (torch_cuda && tch::Cuda::cudnn_is_available())
                .then(|| cudnn_version(tch::utils::version_cudnn())),
        }
    }
}

impl Settings {
    /// The settings of this process.
    pub fn probe(precision: &str, cudnn_benchmark: bool) -> Settings {
        Settings {
            precision: precision.into(),
            nvidia_tf32_override: std::env::var("NVIDIA_TF32_OVERRIDE").ok(),
            cudnn_benchmark,
            libtorch_tf32: crate::torch_context::tf32().ok().map(|t| {
                let on = |b: bool| if b { "on" } else { "off" };
                format!("cuDNN TF32 {}, cuBLAS TF32 {}", on(t.conv), on(t.matmul))
            }),
        }
    }
}

/// `13000` → `13.0` (CUDA's `1000·major + 10·minor`).
pub fn cuda_version(v: i64) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}

/// cuDNN's integer version: `91300` → `9.13.0` (cuDNN 9: `10000·major + 100·minor + patch`),
/// `8902` → `8.9.2` (cuDNN 8: `1000·major + 100·minor + patch`).
pub fn cudnn_version(v: i64) -> String {
    if v >= 90000 {
        format!("{}.{}.{}", v / 10000, (v % 10000) / 100, v % 100)
    } else {
        format!("{}.{}.{}", v / 1000, (v % 1000) / 100, v % 100)
    }
}

/// Lower-case alphanumerics with single dashes: `NVIDIA H100 80GB HBM3` → `nvidia-h100-80gb-hbm3`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "unknown".into()
    } else {
        out
    }
}

fn short_hash(s: &str) -> String {
    blake3::hash(s.as_bytes()).to_hex()[..8].to_string()
}

/// The CUDA version the driver API supports (`cuDriverGetVersion`, e.g. `13.0`); `None`
/// without a driver library or when the call fails (never panics).
pub fn driver_api_version() -> Option<String> {
    if !crate::gpu::driver_present() {
        return None;
    }
    let mut api = 0i32;
    // SAFETY: plain out-parameter; the driver library loads (checked above).
    let ok = unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut api) };
    (ok == cudarc::driver::sys::CUresult::CUDA_SUCCESS).then(|| cuda_version(api as i64))
}

/// The NVIDIA kernel module's version, from `/proc/driver/nvidia/version`, or `unknown`.
pub fn driver_version() -> String {
    std::fs::read_to_string("/proc/driver/nvidia/version")
        .ok()
        .and_then(|t| parse_driver_version(&t))
        .unwrap_or_else(|| "unknown".into())
}

/// The first dotted number after `Kernel Module` in `/proc/driver/nvidia/version`'s text.
pub fn parse_driver_version(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.contains("Kernel Module"))?;
    let rest = &line[line.find("Kernel Module")? + "Kernel Module".len()..];
    rest.split_whitespace()
        .find(|w| w.contains('.') && w.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .map(str::to_string)
}

/// libtorch's version from the files next to the `libtorch_cpu.so` this process loaded.
fn libtorch_version() -> String {
    let Some(lib) = loaded_library_dir("libtorch_cpu.so") else {
        return "unknown (libtorch_cpu.so not mapped)".into();
    };
    let root = lib.parent().unwrap_or(&lib);
    if let Ok(t) = std::fs::read_to_string(root.join("version.py"))
        && let Some(v) = parse_version_py(&t)
    {
        return v;
    }
    if let Ok(t) = std::fs::read_to_string(root.join("build-version")) {
        return t.trim().to_string();
    }
    format!("unknown (libtorch at {})", lib.display())
}

/// `__version__ = '2.11.0+cu130'` → `2.11.0+cu130`.
pub fn parse_version_py(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.starts_with("__version__"))?;
    let v = line.split_once('=')?.1.trim();
    Some(v.trim_matches(|c| c == '\'' || c == '"').to_string())
}

/// The folder of a shared library mapped into this process (from `/proc/self/maps`).
fn loaded_library_dir(file: &str) -> Option<std::path::PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let path = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.ends_with(file))?;
    std::path::Path::new(path).parent().map(|p| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(cuda_version(13000), "13.0");
        assert_eq!(cuda_version(12080), "12.8");
        assert_eq!(cudnn_version(91300), "9.13.0");
        assert_eq!(cudnn_version(8902), "8.9.2");
        let proc = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build  (dvs-builder@U16-I3-B03-4-3)  Sun Jul 27 06:54:38 UTC 2025\nGCC version:  gcc version 12.2.0\n";
        assert_eq!(parse_driver_version(proc).as_deref(), Some("580.65.06"));
        assert_eq!(parse_driver_version("nothing here"), None);
        let py = "from typing import Optional\n__version__ = '2.11.0+cu130'\ncuda: Optional[str] = '13.0'\n";
        assert_eq!(parse_version_py(py).as_deref(), Some("2.11.0+cu130"));
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("NVIDIA H100 80GB HBM3"), "nvidia-h100-80gb-hbm3");
        assert_eq!(slug("  AMD EPYC (tm)  "), "amd-epyc-tm");
        assert_eq!(slug("()"), "unknown");
    }

    #[test]
    fn cpu_fingerprint_reads_this_process() {
        let f = Fingerprint::cpu("f32");
        assert_eq!(f.device, "cpu");
        assert!(f.cpu.logical_cores >= 1);
        assert!(f.cpu.torch_threads >= 1);
        // The tests link the pip wheel's libtorch, whose version.py sits next to lib/.
        assert!(
            f.software.libtorch.starts_with("2.11"),
            "{}",
            f.software.libtorch
        );
        let k = f.device_key();
        assert!(k.starts_with("cpu-"), "{k}");
        assert_eq!(k, Fingerprint::cpu("f32").device_key(), "stable key");
        let mut other = f.clone();
        other.cpu.logical_cores += 1;
        assert_ne!(other.device_key(), k);
        let mut settings = f.clone();
        settings.settings.cudnn_benchmark = !settings.settings.cudnn_benchmark;
        assert_eq!(settings.device_key(), k, "settings are not part of the key");
        let json = serde_json::to_string(&f).unwrap();
        let back: Fingerprint = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
    }
}
