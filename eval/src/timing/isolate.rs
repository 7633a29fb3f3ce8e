//! Running a [`TimingRequest`] in worker processes, so that a kernel that faults (and poisons
//! its CUDA context), hangs, or kills its process fails only its own binding.
//!
//! The parent writes the request as JSON to the worker's standard input and reads [`Event`]s,
//! one JSON object per line, from its standard output. Each phase of each binding has a
//! wall-clock limit; a worker that exceeds it is killed, its binding gets a `timeout` failure,
//! and a fresh worker carries on with the next binding. A worker that dies records a `crash`
//! for the binding it was working on (with the last line it wrote to standard error). A
//! worker that fails before its first binding (no GPU, bad request) fails the whole run.

use super::request::{BindingResult, Event, Failure, Phase, TimingRequest, TimingResult};
use crate::error::{Result, WorkerError, WorkerStop};
use kas_campaign::FailureKind;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Wall-clock limits of a worker's phases (seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerLimits {
    /// Starting (loading libtorch and CUDA, opening the device), and between bindings.
    pub start_s: f64,
    /// Compiling one binding's candidate.
    pub compile_s: f64,
    /// Validating, or timing one thing (warm-up and repeats).
    pub run_s: f64,
}

impl WorkerLimits {
    /// The limits derived from a request: 120 s to start, its compile time-out plus 10 s to
    /// compile, and its protocol's budget plus one run time-out per warm-up run and per
    /// sample beyond the budget (at most [`super::protocol::MIN_SAMPLES_UNDER_BUDGET`]),
    /// plus 5 s, per timing or validation phase.
    pub fn of(req: &TimingRequest) -> WorkerLimits {
        let p = &req.protocol;
        let runs = (p.warmup + super::protocol::MIN_SAMPLES_UNDER_BUDGET) as f64;
        WorkerLimits {
            start_s: 120.0,
            compile_s: req.compile_timeout_s + 10.0,
            run_s: p.budget_s + runs * p.run_timeout_s + 5.0,
        }
    }

    fn of_phase(&self, p: Phase) -> f64 {
        match p {
            Phase::Start => self.start_s,
            Phase::Compile => self.compile_s,
            Phase::Validate | Phase::TimeKas | Phase::TimeBaseline => self.run_s,
        }
    }
}

/// The other users of a device a worker times on (see [`TimingRequest::turns`]): a worker's
/// timing phases run between [`Turns::begin`] and [`Turns::end`].
pub trait Turns {
    /// Returns when the device is this run's alone (blocking while others use it).
    fn begin(&self);
    /// Gives the device back.
    fn end(&self);
}

/// A line of the worker's standard output: an event, or anything else (a library printing to
/// standard output), which joins the standard-error tail for failure reasons.
enum Line {
    Event(Box<Event>),
    Other(String),
}

/// Lines of standard error kept for failure reasons.
const STDERR_LINES: usize = 20;

/// Runs `req` in worker processes made by `worker` (a command that reads a request on
/// standard input and writes events on standard output, such as `kas internal
/// time-candidate`), calling `progress` after each binding. Every binding gets a result; an
/// error means the worker could not start (before any binding).
pub fn run_isolated(
    req: &TimingRequest,
    worker: &dyn Fn() -> Command,
    limits: WorkerLimits,
    progress: &mut dyn FnMut(usize, &BindingResult),
) -> Result<TimingResult> {
    run_isolated_in_turns(req, worker, limits, None, progress)
}

/// [`run_isolated`] on a shared device: with [`TimingRequest::turns`], each binding's timing
/// waits for `turns` (`None`: the turn is given at once); compiling and validating do not.
/// A phase's time limit starts when its turn is given.
pub fn run_isolated_in_turns(
    req: &TimingRequest,
    worker: &dyn Fn() -> Command,
    limits: WorkerLimits,
    turns: Option<&dyn Turns>,
    progress: &mut dyn FnMut(usize, &BindingResult),
) -> Result<TimingResult> {
    let n = req.bindings.len();
    let mut results: Vec<Option<BindingResult>> = vec![None; n];
    let mut ready = None;
    let mut next = 0;
    while next < n {
        let mut sub = req.clone();
        sub.bindings = req.bindings[next..].to_vec();
        sub.inject = req.inject.filter(|j| j.binding >= next).map(|mut j| {
            j.binding -= next;
            j
        });
        let offset = next;
        let outcome = run_worker(&sub, worker, limits, turns, &mut |e| match e {
            Event::Ready { fingerprint, peak } => {
                ready.get_or_insert(((**fingerprint).clone(), peak.clone()));
            }
            Event::Done { binding, result } => {
                let i = offset + *binding;
                if i < n {
                    progress(i, result);
                    results[i] = Some((**result).clone());
                }
            }
            Event::Phase { .. } | Event::Turn { .. } => {}
        });
        // A worker that cannot start fails the run if none ever started (no GPU, bad
        // request); after a fault, a fresh worker that cannot start fails the next binding.
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) if ready.is_none() => return Err(e),
            Err(e) => Some((
                0,
                Failure {
                    phase: Phase::Start,
                    kind: FailureKind::Crashed,
                    reason: e.to_string(),
                },
            )),
        };
        if let Some((binding, failure)) = outcome {
            let i = offset + binding;
            if i < n && results[i].is_none() {
                let nb = &req.bindings[i];
                let mut r = BindingResult::new(&nb.name, nb.values.clone());
                r.failure = Some(failure);
                progress(i, &r);
                results[i] = Some(r);
            }
        }
        let first_missing = results.iter().position(Option::is_none).unwrap_or(n);
        if first_missing == next {
            return Err(WorkerError::NoProgress {
                binding: req.bindings[next].name.clone(),
            }
            .into());
        }
        next = first_missing;
    }
    let (fingerprint, peak) = ready.ok_or(WorkerError::NoneStarted)?;
    Ok(TimingResult {
        name: req.name.clone(),
        fingerprint,
        peak,
        bindings: results.into_iter().flatten().collect(),
    })
}

fn kill(child: &mut Child) {
    // Errors mean it has already exited.
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs one worker until it exits or is killed. `Ok(Some((binding, failure)))` when it died
/// or hung inside a binding; `Err` when it failed before starting any binding.
fn run_worker(
    req: &TimingRequest,
    worker: &dyn Fn() -> Command,
    limits: WorkerLimits,
    turns: Option<&dyn Turns>,
    on_event: &mut dyn FnMut(&Event),
) -> Result<Option<(usize, Failure)>> {
    // One line (serde_json writes no newline inside); with turns, the pipe stays open for
    // the answers.
    let text = serde_json::to_string(req).map_err(WorkerError::Request)? + "\n";
    let mut child = worker()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(WorkerError::Spawn)?;
    let (stdin, stdout, stderr) =
        match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
            (Some(i), Some(o), Some(e)) => (i, o, e),
            _ => {
                kill(&mut child);
                return Err(WorkerError::Pipes.into());
            }
        };
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let tail2 = tail.clone();
    let err_thread = std::thread::spawn(move || collect_stderr(stderr, &tail2));
    let (tx, rx) = channel();
    let out_thread = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let msg = match serde_json::from_str::<Event>(&line) {
                Ok(e) => Line::Event(Box::new(e)),
                Err(_) => Line::Other(line),
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    });
    let mut stdin = stdin;
    let wrote = stdin.write_all(text.as_bytes()).and_then(|_| stdin.flush());
    let mut stdin = req.turns.then_some(stdin);
    let mut current: Option<(usize, Phase)> = None;
    let mut deadline = Instant::now() + secs(limits.start_s);
    let mut started = false;
    let mut timed_out = None;
    let mut holding = false;
    loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Line::Event(e)) => {
                let phase = match &*e {
                    Event::Ready { .. } => {
                        started = true;
                        current = None;
                        Phase::Start
                    }
                    Event::Phase { binding, phase } => {
                        current = Some((*binding, *phase));
                        *phase
                    }
                    Event::Turn { binding } => {
                        if let Some(t) = turns.filter(|_| !holding) {
                            t.begin();
                            holding = true;
                        }
                        // A worker that has gone is noticed by the reader.
                        if let Some(i) = stdin.as_mut() {
                            let _ = i.write_all(b"\n").and_then(|_| i.flush());
                        }
                        current = Some((*binding, Phase::TimeKas));
                        Phase::TimeKas
                    }
                    Event::Done { .. } => {
                        if let Some(t) = turns.filter(|_| holding) {
                            t.end();
                            holding = false;
                        }
                        current = None;
                        Phase::Start
                    }
                };
                deadline = Instant::now() + secs(limits.of_phase(phase));
                on_event(&e);
            }
            Ok(Line::Other(l)) => push_tail(&tail, l),
            Err(RecvTimeoutError::Timeout) => {
                kill(&mut child);
                let phase = current.map_or(Phase::Start, |c| c.1);
                timed_out = Some(WorkerStop::Hung {
                    limit_s: limits.of_phase(phase),
                    phase,
                });
                break;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    if let Some(t) = turns.filter(|_| holding) {
        t.end();
    }
    drop(stdin);
    let status = child.wait().map_err(WorkerError::Wait)?;
    let _ = out_thread.join();
    let _ = err_thread.join();
    let stop = match timed_out {
        Some(stop) => Some(stop),
        None => exit_failure(current, status, &tail, wrote),
    };
    let Some(stop) = stop else {
        return Ok(None);
    };
    match current {
        Some((b, phase)) => Ok(Some((b, binding_failure(&stop, phase)))),
        // Between bindings: charge the first binding without a result (the caller ignores
        // this when it has one and starts a fresh worker on the rest).
        None if started => Ok(Some((0, binding_failure(&stop, Phase::Start)))),
        None => Err(WorkerError::Stopped(stop).into()),
    }
}

/// The failure of the binding a worker stopped in: a hang is a time-out, an exit a crash.
fn binding_failure(stop: &WorkerStop, phase: Phase) -> Failure {
    let kind = match stop {
        WorkerStop::Hung { .. } => FailureKind::Timeout,
        WorkerStop::Said { .. } | WorkerStop::Unread { .. } | WorkerStop::Exited { .. } => {
            FailureKind::Crashed
        }
    };
    Failure {
        phase,
        kind,
        reason: stop.to_string(),
    }
}

/// The failure a worker's exit means, `None` for a clean exit between bindings.
fn exit_failure(
    current: Option<(usize, Phase)>,
    status: std::process::ExitStatus,
    tail: &Mutex<VecDeque<String>>,
    wrote: std::io::Result<()>,
) -> Option<WorkerStop> {
    if status.success() && current.is_none() {
        return None;
    }
    let last = tail
        .lock()
        .ok()
        .and_then(|t| t.iter().rev().find(|l| !l.trim().is_empty()).cloned())
        .unwrap_or_default();
    Some(if !last.is_empty() {
        WorkerStop::Said {
            status,
            stderr: last.trim().to_string(),
        }
    } else {
        match wrote {
            Err(source) => WorkerStop::Unread { status, source },
            Ok(()) => WorkerStop::Exited { status },
        }
    })
}

fn collect_stderr(stderr: impl Read, tail: &Mutex<VecDeque<String>>) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        push_tail(tail, line);
    }
}

fn push_tail(tail: &Mutex<VecDeque<String>>, line: String) {
    if let Ok(mut t) = tail.lock() {
        if t.len() == STDERR_LINES {
            t.pop_front();
        }
        t.push_back(line);
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 1e7))
}
