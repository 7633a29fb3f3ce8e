//! `kas search` and `kas report` with training seeds and a second device (issue 20): the
//! report gives mean ± sd over the last fidelity's seeds and the paired difference to the
//! baseline with its interval; resumed with the stand-in under another device key
//! (`KAS_STANDIN_DEVICE`), the campaign times its candidates again and the report says the
//! timing is the new device's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn kas(args: &[&str], device: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kas"));
    c.args(args)
        .current_dir(root())
        .env_remove("KAS_STANDIN_DEVICE");
    if let Some(d) = device {
        c.env("KAS_STANDIN_DEVICE", d);
    }
    c.output().unwrap()
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_report_gives_seed_statistics_and_the_timing_of_the_current_device() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("c");
    let out_s = out.to_str().unwrap();
    let cfg = "experiments/configs/standin-small.ron";
    let text = ok(&kas(
        &[
            "search",
            "--config",
            cfg,
            "--out",
            out_s,
            "--max-evals",
            "16",
        ],
        Some("gpu-a"),
    ));
    assert!(text.contains("timing from device gpu-a"), "{text}");
    assert!(
        text.contains("baseline full: ") && text.contains("(mean over 3 seeds; accuracy sd "),
        "{text}"
    );
    assert!(
        text.contains("3 seed(s), accuracy sd ") && text.contains("3 paired seeds)]"),
        "{text}"
    );
    assert!(
        text.contains("within 1 point of the baseline's accuracy at the same fidelity: ")
            && text.contains("means over all 3 seed(s)"),
        "{text}"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains(
            "| canonical hash | seeds | accuracy | vs baseline | 95 % interval | speedup |"
        ) && md.contains(" ± "),
        "{md}"
    );

    // Resumed on another device: the training figures stay, the candidates are timed again.
    let o = kas(
        &["search", "--resume", out_s, "--max-evals", "17"],
        Some("gpu-b"),
    );
    let text = ok(&o);
    let log = String::from_utf8_lossy(&o.stderr);
    let retimes = log.lines().filter(|l| l.starts_with("retime: ")).count();
    assert!(retimes >= 3, "{log}");
    assert!(
        text.contains(&format!("{retimes} candidates timed again on this device")),
        "{text}"
    );
    let report = ok(&kas(&["report", out_s], None));
    assert!(
        report.contains(&format!(
            "timing from device gpu-b (the last session's; training figures from any device); {retimes} candidates timed again on a new device (0 failed)"
        )),
        "{report}"
    );
    assert!(report.contains("speedups from device gpu-b"), "{report}");
    assert!(!report.contains("timed on earlier device"), "{report}");
}
