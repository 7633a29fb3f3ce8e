//! A timing worker on a shared device measures only in its turns (`TimingRequest::turns`): it
//! compiles and validates, announces `turn`, and waits for a line on its standard input before
//! measuring; the parent gives the turn through `kas_eval::timing::Turns` and the phase's time
//! limit starts only then. Checked on the CPU backend with the real `kas internal
//! time-candidate` worker.

use kas_eval::bench::sets;
use kas_eval::timing::{
    Backend, Baseline, Protocol, TimingRequest, Turns, WorkerLimits, run_isolated_in_turns,
};
use kas_primitives::{library, write_operator};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

/// conv2d at two tiny bindings (H = 6 and 5), CPU, a short protocol.
fn request() -> TimingRequest {
    let op = (library::get("conv2d").unwrap().build)().unwrap();
    let slot = |name: &str, h: u64| sets::SlotBinding {
        name: name.into(),
        values: [("N", 2), ("C_in", 8), ("C_out", 8), ("H", h), ("W", h)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        input: vec![2, 8, h as usize, h as usize],
        output: vec![2, 8, h as usize, h as usize],
    };
    let bs = sets::map_onto(&op, &[slot("a", 6), slot("b", 5)]).unwrap();
    let mut req = TimingRequest::new(
        "conv2d",
        write_operator("conv2d", "test", &op).unwrap(),
        sets::named_bindings(&op, &bs),
        Backend::Cpu,
    );
    req.protocol = Protocol {
        budget_s: 0.2,
        ..Protocol::default()
    }
    .with_repeats(3);
    req.baseline = Some(Baseline::Conv3x3);
    req
}

fn worker() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kas"));
    c.args(["internal", "time-candidate"])
        .env("OMP_NUM_THREADS", "1");
    c
}

/// Records the turns it gives, each after a wait (another evaluation measuring).
struct SlowTurns {
    wait: Duration,
    log: Mutex<Vec<&'static str>>,
}

impl Turns for SlowTurns {
    fn begin(&self) {
        std::thread::sleep(self.wait);
        self.log.lock().unwrap().push("begin");
    }

    fn end(&self) {
        self.log.lock().unwrap().push("end");
    }
}

#[test]
fn the_worker_measures_only_after_its_turn_is_given() {
    let mut req = request();
    req.turns = true;
    let mut child = worker()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", serde_json::to_string(&req).unwrap()).unwrap();
    stdin.flush().unwrap();
    let (tx, rx) = channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            if tx.send(v).is_err() {
                break;
            }
        }
    });
    let next = || rx.recv_timeout(Duration::from_secs(60)).expect("an event");
    for binding in 0..2 {
        // Compile and validate run before the turn is asked for.
        let mut phases = Vec::new();
        let turn = loop {
            let e = next();
            if let Some(t) = e.get("turn") {
                break t.clone();
            }
            if let Some(p) = e.get("phase") {
                phases.push(p["phase"].as_str().unwrap().to_string());
            }
        };
        assert_eq!(turn["binding"], binding);
        assert_eq!(phases, ["compile", "validate"], "binding {binding}");
        // Nothing is measured until the line comes.
        assert!(
            rx.recv_timeout(Duration::from_millis(700)).is_err(),
            "the worker went on without its turn"
        );
        writeln!(stdin).unwrap();
        stdin.flush().unwrap();
        let e = next();
        assert_eq!(e["phase"]["phase"], "time-kas", "{e}");
        let done = loop {
            let e = next();
            if let Some(d) = e.get("done") {
                break d.clone();
            }
        };
        assert!(done["result"]["failure"].is_null(), "{done}");
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    reader.join().unwrap();
}

#[test]
fn a_worker_waiting_for_its_turn_is_not_timed_out() {
    let mut req = request();
    req.turns = true;
    let turns = SlowTurns {
        wait: Duration::from_millis(2500),
        log: Mutex::new(Vec::new()),
    };
    // Each phase may go 1.5 s without progress; the turns take 2.5 s to come.
    let limits = WorkerLimits {
        start_s: 120.0,
        compile_s: 60.0,
        run_s: 1.5,
    };
    let start = Instant::now();
    let r = run_isolated_in_turns(&req, &worker, limits, Some(&turns), &mut |_, _| {}).unwrap();
    assert!(start.elapsed() >= Duration::from_secs(5));
    assert_eq!(r.bindings.len(), 2);
    for b in &r.bindings {
        assert!(b.failure.is_none(), "{}: {:?}", b.binding, b.failure);
        assert!(b.kas.is_some() && b.baseline.is_some());
    }
    assert_eq!(
        *turns.log.lock().unwrap(),
        ["begin", "end", "begin", "end"],
        "one turn per binding, given back before the next"
    );

    // Without `turns` in the request the worker never asks.
    let plain = SlowTurns {
        wait: Duration::ZERO,
        log: Mutex::new(Vec::new()),
    };
    let r = run_isolated_in_turns(
        &request(),
        &worker,
        WorkerLimits::of(&req),
        Some(&plain),
        &mut |_, _| {},
    )
    .unwrap();
    assert!(r.bindings.iter().all(|b| b.failure.is_none()));
    assert!(plain.log.lock().unwrap().is_empty());
}
