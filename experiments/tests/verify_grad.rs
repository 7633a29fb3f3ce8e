//! `kas verify --grad` on the CPU: every operator's gradient with respect to each tensor is
//! checked (f64 adjoint identity and finite differences, stage IR, tch plan, CUDA kernels
//! compiled by NVRTC), the summary says how many, and verify.json names each tensor's outcome.

mod common;

use common::{kas, stderr, stdout};

#[test]
fn verify_grad_summary_and_report() {
    let dir = std::env::temp_dir().join(format!("kas-verify-grad-{}", std::process::id()));
    let o = kas(&[
        "verify",
        "--grad",
        "--samples",
        "23",
        "--seed",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.last(), Some(&"23/23 equal"), "{out}");
    // The 18 library operators (44 tensors, each with a gradient operator) and 5 random ones
    // (12 tensors, 2 without).
    let grad_line = lines[lines.len() - 2];
    assert!(grad_line.starts_with("gradients: "), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("verify.json")).unwrap()).unwrap();
    let g = &report["gradients"];
    assert_eq!(g["summary"], grad_line);
    let (checked, equal, none) = (
        g["checked"].as_u64().unwrap(),
        g["equal"].as_u64().unwrap(),
        g["without_operator"].as_u64().unwrap(),
    );
    assert_eq!(checked, equal);
    assert_eq!((checked, none), (54, 2), "{grad_line}");
    assert_eq!(
        grad_line,
        format!("gradients: {equal}/{checked} equal, {none} tensors without a gradient operator")
    );
    // conv2d: both tensors' gradients checked and equal.
    let conv = &report["results"][0];
    assert_eq!(conv["operator"], "conv2d");
    let recs = conv["gradients"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    assert!(recs.iter().all(|r| r["status"] == "equal"), "{recs:?}");
    // A tensor without a gradient operator names the primitive.
    let none_rec = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["gradients"].as_array().unwrap().iter())
        .find(|r| r["status"] == "none")
        .expect("a random operator's tensor without a gradient operator");
    let primitive = none_rec["primitive"].as_str().unwrap();
    assert!(
        ["Stride", "Unfold", "Share"].contains(&primitive),
        "{none_rec}"
    );
    assert!(
        none_rec["reason"]
            .as_str()
            .unwrap()
            .starts_with("no gradient for tensor"),
        "{none_rec}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn verify_grad_bad_input_is_one_line() {
    let dir = std::env::temp_dir().join(format!("kas-verify-grad-bad-{}", std::process::id()));
    let o = kas(&[
        "verify",
        "--grad",
        "--samples",
        "0",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_ne!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(err.contains("--samples must be at least 1"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!dir.exists());
}
