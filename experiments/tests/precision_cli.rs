//! `--precision` on the command line without a GPU: verification compiles the tensor-core
//! kernels of every operator at TF32 and bf16 with NVRTC and says so; timing at TF32 or bf16 on
//! the CPU is refused with one line, never run and labelled as such.

mod common;

use common::{kas, stderr, stdout};

#[test]
fn verify_compiles_tensor_core_kernels_at_each_precision() {
    for p in ["tf32", "bf16"] {
        let dir = std::env::temp_dir().join(format!("kas-verify-{p}-{}", std::process::id()));
        let o = kas(&[
            "verify",
            "--samples",
            "6",
            "--seed",
            "5",
            "--precision",
            p,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains(&format!("CUDA kernels at {p}")), "{out}");
        assert!(out.contains("heuristic tensor-core"), "{out}");
        assert_eq!(out.lines().last(), Some("6/6 equal"), "{out}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("verify.json")).unwrap())
                .unwrap();
        assert_eq!(report["precision"], p);
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn timing_at_tf32_or_bf16_on_the_cpu_is_one_line() {
    for p in ["tf32", "bf16"] {
        let o = kas(&[
            "bench",
            "conv2d",
            "--device",
            "cpu",
            "--precision",
            p,
            "--batch",
            "1",
            "--budget",
            "0.2",
        ]);
        assert_ne!(o.status.code(), Some(0));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("timing at {p} is not supported on the CPU")),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}
