//! `kas bench --device cpu` end to end on tiny shapes: the worker process, the protocol, the
//! baseline, bench.json, and the isolation of hanging and crashing candidates.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `kas bench conv2d --device cpu` over the two tiny bindings of `cnn-small` with a short
/// protocol, plus `extra`; returns the output and the parsed bench.json (if written).
fn bench(tag: &str, extra: &[&str]) -> (Output, Option<Value>) {
    let dir = std::env::temp_dir().join(format!("kas-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut args = vec![
        "bench",
        "conv2d",
        "--device",
        "cpu",
        "--spec",
        "experiments/specs/cnn-small.ron",
        "--repeats",
        "5",
        "--budget",
        "0.5",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = Command::new(env!("CARGO_BIN_EXE_kas"))
        .args(&args)
        .current_dir(root())
        .output()
        .expect("kas runs");
    let json = std::fs::read_to_string(dir.join("bench.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    (o, json)
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn cpu_bench_measures_both_sides_through_the_worker() {
    let (o, json) = bench("ok", &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("kas bench conv2d: spec cnn-small, f32; CPU"),
        "{out}"
    );
    assert!(out.contains("geomean speedup "), "{out}");
    assert!(out.contains("device: CPU "), "{out}");
    let j = json.expect("bench.json");
    assert_eq!(j["baseline"], "conv3x3");
    assert_eq!(j["result"]["fingerprint"]["device"], "cpu");
    assert!(j["device_key"].as_str().unwrap().starts_with("cpu-"));
    let bs = j["result"]["bindings"].as_array().unwrap();
    assert_eq!(bs.len(), 2);
    for b in bs {
        assert!(b["failure"].is_null(), "{b}");
        let n = b["kas"]["stats"]["n"].as_u64().unwrap();
        assert!((3..=5).contains(&n), "{b}");
        assert!(b["kas"]["stats"]["median"].as_f64().unwrap() > 0.0);
        assert!(b["baseline"]["stats"]["median"].as_f64().unwrap() > 0.0);
        assert!(b["validation"]["err"].as_f64().unwrap() <= 1e-4);
        // W is not in the spec: it comes from the slot's shape.
        assert_eq!(b["values"]["W"], b["values"]["H"]);
    }
    assert_eq!(bs[1]["values"]["N"], 2);
    assert_eq!(j["summary"]["compared"], 2);
    assert!(j["summary"]["geomean_speedup"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_hanging_candidate_times_out_and_the_next_binding_is_measured() {
    let (o, json) = bench(
        "hang",
        &["--inject", "hang@0", "--run-timeout", "0.2", "--json"],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let j = json.expect("bench.json");
    let bs = j["result"]["bindings"].as_array().unwrap();
    assert_eq!(bs[0]["failure"]["kind"], "timeout", "{out}");
    assert_eq!(bs[0]["failure"]["phase"], "time-kas");
    assert!(bs[0]["kas"].is_null());
    assert!(bs[1]["failure"].is_null(), "{}", bs[1]);
    assert!(bs[1]["kas"]["stats"]["median"].as_f64().unwrap() > 0.0);
    assert_eq!(j["summary"]["failed"], 1);
}

#[test]
fn a_crashing_candidate_is_recorded_and_the_run_carries_on() {
    let (o, json) = bench("crash", &["--inject", "crash@0"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAILED (time-kas, crashed)"), "{out}");
    assert!(out.contains("1 of 2 bindings failed"), "{out}");
    let j = json.expect("bench.json");
    let bs = j["result"]["bindings"].as_array().unwrap();
    assert_eq!(bs[0]["failure"]["kind"], "crashed");
    assert!(
        bs[0]["failure"]["reason"]
            .as_str()
            .unwrap()
            .contains("the worker exited"),
        "{}",
        bs[0]
    );
    assert!(bs[1]["failure"].is_null(), "{}", bs[1]);
}

#[test]
fn the_worker_reads_a_request_and_writes_events() {
    // A malformed request is a one-line error with exit 2 and no event.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kas"))
        .args(["internal", "time-candidate"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"{\"not\": \"a request\"}").unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.starts_with("error: the request is not a timing request"),
        "{e}"
    );
}

/// `kas bench GRAPH.ron`: a graph campaign's kernel file, timed under its own (distinct)
/// bindings at batch 1 on the CPU, each validated against the graph interpreter first; the
/// operator-only options are refused in one line.
#[test]
fn a_graph_kernel_file_is_timed_under_its_own_bindings() {
    let file = "experiments/campaigns/canvas-resnet18-fmnist64-run1/operators/fb619c595b6a22cf2b80f210d7e8c602.ron";
    let dir = std::env::temp_dir().join(format!("kas-bench-graph-{}", std::process::id()));
    let run = |extra: &[&str]| {
        let mut args = vec![
            "bench",
            file,
            "--device",
            "cpu",
            "--batch",
            "1",
            "--repeats",
            "3",
            "--budget",
            "0.5",
            "--out",
        ];
        args.push(dir.to_str().unwrap());
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_kas"))
            .args(&args)
            .current_dir(root())
            .output()
            .expect("kas runs")
    };
    let o = run(&[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("kas bench graph-fb619c595b6a22cf2b80f210d7e8c602"),
        "{out}"
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).unwrap()).unwrap();
    let results = json["result"]["bindings"].as_array().expect("bindings");
    // 16 slots, 7 distinct shapes (the first conv of each later stage changes C or H).
    assert_eq!(results.len(), 7, "{json}");
    assert_eq!(json["summary"]["failed"], 0, "{json}");
    for r in results {
        assert!(r["validation"]["err"].as_f64().unwrap() < 1e-4, "{r}");
    }
    let refused = run(&["--set", "resnet18"]);
    let msg = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{msg}");
    assert!(msg.contains("own bindings"), "{msg}");
    let _ = std::fs::remove_dir_all(&dir);
}
