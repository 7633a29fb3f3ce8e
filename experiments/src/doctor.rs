//! `kas doctor`: what this machine has of what kas needs (libtorch, the CUDA driver, GPUs,
//! NVRTC, nvcc, datasets, `$KAS_HOME`), each with the command that fixes it. The probes are
//! `kas_eval`'s (`fingerprint`, `gpu`, `nvrtc`, `data`); this file only judges and prints.

use crate::Verdict;
use crate::cli::DoctorArgs;
use crate::table::table;
use kas_eval::data::paths::kas_home;
use kas_eval::data::{DatasetName, DatasetStatus, data_dir, dataset_status};
use kas_eval::fingerprint::{
    CpuInfo, Fingerprint, Settings, Software, driver_api_version, driver_version,
};
use kas_eval::gpu::{self, Gpu};
use serde::Serialize;
use std::path::Path;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    /// Present and usable.
    Ok,
    /// Absent or odd, but the default CPU campaign does not need it.
    Warn,
    /// Absent, and the default CPU campaign needs it.
    Missing,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Missing => "missing",
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
struct Check {
    check: String,
    status: Status,
    detail: String,
    /// The command (or step) that fixes it; empty when nothing needs fixing.
    fix: String,
}

fn row(check: &str, status: Status, detail: String, fix: &str) -> Check {
    Check {
        check: check.into(),
        status,
        detail,
        fix: if status == Status::Ok {
            String::new()
        } else {
            fix.into()
        },
    }
}

const SETUP: &str = "source scripts/env.sh";

/// Runs `kas doctor`.
pub fn run(a: DoctorArgs) -> anyhow::Result<Verdict> {
    let dir = data_dir(a.data_dir.as_deref());
    let home = kas_home();
    let software = Software::probe(true);
    let mut checks = vec![libtorch(&software)];
    let (driver, count) = cuda_driver();
    checks.push(driver);
    checks.push(gpus(count, &software));
    checks.push(nvrtc(&software));
    checks.push(nvcc());
    for name in DatasetName::ALL {
        checks.push(dataset(name, &dir, a.data_dir.is_some()));
    }
    checks.push(home_check(&home));
    checks.push(tf32());

    let count_of = |s| checks.iter().filter(|c| c.status == s).count();
    let (ok, warn, missing) = (
        count_of(Status::Ok),
        count_of(Status::Warn),
        count_of(Status::Missing),
    );
    let plural = if warn == 1 { "" } else { "s" };
    let summary = format!("doctor: {ok} ok, {warn} warning{plural}, {missing} missing");
    let needed: Vec<String> = checks
        .iter()
        .filter(|c| c.status == Status::Missing)
        .map(|c| format!("{} (`{}`)", c.check, c.fix))
        .collect();
    if a.json {
        let doc = serde_json::json!({
            "data_dir": dir,
            "kas_home": home,
            "checks": checks,
            "ready": needed.is_empty(),
            "summary": summary,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let rows = checks
            .iter()
            .map(|c| {
                vec![
                    c.check.clone(),
                    c.status.word().into(),
                    c.detail.clone(),
                    c.fix.clone(),
                ]
            })
            .collect();
        println!("{}", table(&["check", "status", "detail", "fix"], rows));
        if !needed.is_empty() {
            println!("the default CPU campaign needs: {}", needed.join(", "));
        }
        println!("{summary}");
    }
    Ok(if needed.is_empty() {
        Verdict::Success
    } else {
        Verdict::Failure
    })
}

/// libtorch is linked into `kas`, so it is loaded when this runs; its version comes from the
/// files next to the loaded library.
fn libtorch(s: &Software) -> Check {
    let threads = CpuInfo::probe().torch_threads;
    let cuda = match (&s.cuda_runtime, &s.cudnn) {
        (Some(rt), Some(dnn)) => format!("CUDA runtime {rt}, cuDNN {dnn}"),
        (Some(rt), None) => format!("CUDA runtime {rt}, no cuDNN"),
        _ => "sees no GPU".into(),
    };
    let detail = format!("{}; {threads} CPU threads; {cuda}", s.libtorch);
    let status = if s.libtorch.starts_with("unknown") {
        Status::Warn
    } else {
        Status::Ok
    };
    row("libtorch", status, detail, SETUP)
}

/// The driver library and its versions; also returns how many devices it sees.
fn cuda_driver() -> (Check, usize) {
    if !gpu::driver_present() {
        let c = row(
            "CUDA driver",
            Status::Warn,
            "libcuda.so not found (CPU-only machine)".into(),
            "install the NVIDIA driver (GPU machines only)",
        );
        return (c, 0);
    }
    let api = driver_api_version().unwrap_or_else(|| "unknown".into());
    let base = format!("driver {}, CUDA {api} (driver API)", driver_version());
    match gpu::device_count() {
        Ok(n) => (row("CUDA driver", Status::Ok, base, ""), n),
        Err(e) => (
            row(
                "CUDA driver",
                Status::Warn,
                format!("{base}; {e}"),
                "check `nvidia-smi`",
            ),
            0,
        ),
    }
}

fn gpus(count: usize, s: &Software) -> Check {
    if count == 0 {
        return row(
            "GPUs",
            Status::Warn,
            "none: GPU commands (bench, verify --device cuda, cuda campaigns) need one".into(),
            "run those on a machine with an NVIDIA GPU",
        );
    }
    let mut names = Vec::new();
    for i in 0..count {
        let info = Gpu::open(i)
            .map_err(anyhow::Error::from)
            .and_then(|g| Ok(Fingerprint::cuda(&g, "f32", false)?));
        names.push(match info.map(|f| f.gpu) {
            Ok(Some(g)) => format!(
                "{i}: {} (sm_{}{}, {} SMs, {:.0} GiB)",
                g.name,
                g.sm.0,
                g.sm.1,
                g.sm_count,
                g.memory_bytes as f64 / (1u64 << 30) as f64
            ),
            Ok(None) => format!("{i}: unknown"),
            Err(e) => format!("{i}: {}", crate::one_line(&e)),
        });
    }
    let mut detail = format!("{count}: {}", names.join("; "));
    let status = if s.cuda_runtime.is_none() {
        detail.push_str("; but libtorch sees none (a CPU-only libtorch?)");
        Status::Warn
    } else {
        Status::Ok
    };
    row("GPUs", status, detail, SETUP)
}

fn nvrtc(s: &Software) -> Check {
    match (&s.nvrtc, kas_eval::nvrtc::available()) {
        (Some(v), _) => row("NVRTC", Status::Ok, v.clone(), ""),
        (None, Err(e)) => row("NVRTC", Status::Warn, e.to_string(), SETUP),
        (None, Ok(())) => row(
            "NVRTC",
            Status::Warn,
            "loads, but nvrtcVersion failed".into(),
            SETUP,
        ),
    }
}

/// nvcc (`KAS_NVCC`) compiles export bundles in the export tests; optional for everything else.
fn nvcc() -> Check {
    let Some(path) = std::env::var_os("KAS_NVCC").filter(|p| !p.is_empty()) else {
        return row(
            "nvcc",
            Status::Warn,
            "KAS_NVCC unset: export bundles are not compiled with nvcc".into(),
            SETUP,
        );
    };
    let shown = Path::new(&path).display().to_string();
    match std::process::Command::new(&path).arg("--version").output() {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let release = text
                .lines()
                .find(|l| l.contains("release"))
                .map_or("version unknown", str::trim);
            row("nvcc", Status::Ok, format!("{release} ({shown})"), "")
        }
        Ok(o) => row(
            "nvcc",
            Status::Warn,
            format!("KAS_NVCC={shown} --version failed ({})", o.status),
            SETUP,
        ),
        Err(e) => row(
            "nvcc",
            Status::Warn,
            format!("KAS_NVCC={shown}: {e}"),
            SETUP,
        ),
    }
}

/// Fashion-MNIST is what the default campaign trains on; the others are optional.
fn dataset(name: DatasetName, dir: &Path, explicit_dir: bool) -> Check {
    let needed = name == DatasetName::FashionMnist;
    let absent = if needed {
        Status::Missing
    } else {
        Status::Warn
    };
    let fix = if explicit_dir {
        format!("kas data fetch {name} --data-dir {}", dir.display())
    } else {
        format!("kas data fetch {name}")
    };
    let (status, detail) = match dataset_status(name, dir) {
        DatasetStatus::Verified { bytes } => (
            Status::Ok,
            format!(
                "verified, {:.1} MB in {}",
                bytes as f64 / 1e6,
                dir.display()
            ),
        ),
        DatasetStatus::Missing => (absent, format!("not in {}", dir.display())),
        DatasetStatus::Corrupt { reason } => (absent, format!("corrupt: {reason}")),
    };
    row(&name.to_string(), status, detail, &fix)
}

/// `$KAS_HOME` holds libtorch, NVRTC, nvcc and the datasets: it must exist and be writable.
fn home_check(home: &Path) -> Check {
    let fix = "export KAS_HOME=<a writable folder>, then source scripts/env.sh";
    let shown = home.display();
    if !home.is_dir() {
        return row(
            "KAS_HOME",
            Status::Warn,
            format!("{shown} does not exist"),
            SETUP,
        );
    }
    let probe = home.join(format!(".kas-doctor-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe);
    match written {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            row("KAS_HOME", Status::Ok, format!("{shown}, writable"), fix)
        }
        Err(e) => row(
            "KAS_HOME",
            Status::Warn,
            format!("{shown} is not writable: {e}"),
            fix,
        ),
    }
}

/// `NVIDIA_TF32_OVERRIDE`: unset or `0` keeps cuDNN and cuBLAS baselines in true f32 (kas sets
/// `0` itself when unset); any other value lets them use TF32 and flatters the baselines.
fn tf32() -> Check {
    let value = Settings::probe("f32", false).nvidia_tf32_override;
    match value.as_deref() {
        None => row(
            "NVIDIA_TF32_OVERRIDE",
            Status::Ok,
            "unset (GPU commands set 0: true f32)".into(),
            "",
        ),
        Some("0") => row(
            "NVIDIA_TF32_OVERRIDE",
            Status::Ok,
            "0 (true f32)".into(),
            "",
        ),
        Some(v) => row(
            "NVIDIA_TF32_OVERRIDE",
            Status::Warn,
            format!("{v}: cuDNN / cuBLAS may use TF32, so f32 baselines are not true f32"),
            "unset NVIDIA_TF32_OVERRIDE",
        ),
    }
}
