//! Running a [`ModelRequest`] in a worker process (`kas internal time-model`), so that a
//! kernel that faults or hangs ends the worker, not the caller: the parent writes the request
//! as one JSON line on the worker's standard input and reads [`ModelEvent`]s, one JSON object
//! per line, from its standard output. A worker silent for longer than the idle limit is
//! killed; one that exits early is reported with the last line of its standard error.

use super::{ModelEvent, ModelRequest, ModelResult};
use crate::error::{ModelBenchError, Result, WorkerError};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

/// Runs `req` in a worker made by `worker` (a command reading a request on standard input and
/// writing events on standard output), passing each event to `progress`. `idle_s`: the longest
/// the worker may go without writing an event (compiling and tuning one slot's kernels, or one
/// measurement, must fit).
pub fn run_model_isolated(
    req: &ModelRequest,
    worker: &dyn Fn() -> Command,
    idle_s: f64,
    progress: &mut dyn FnMut(&ModelEvent),
) -> Result<ModelResult> {
    let line = serde_json::to_string(req).map_err(WorkerError::Request)?;
    let mut child = worker()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(WorkerError::Spawn)?;
    let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(WorkerError::Pipes.into());
    };
    // A worker that dies before reading shows up below, with its standard error.
    let _ = writeln!(stdin, "{line}").and_then(|_| stdin.flush());
    drop(stdin);
    let err_tail = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut fingerprint = None;
    let mut rows = Vec::new();
    let mut stray = Vec::new();
    let limit = Duration::from_secs_f64(idle_s.max(1.0));
    loop {
        match rx.recv_timeout(limit) {
            Ok(l) => match serde_json::from_str::<ModelEvent>(&l) {
                Ok(e) => {
                    progress(&e);
                    match e {
                        ModelEvent::Ready { fingerprint: f } => fingerprint = Some(*f),
                        ModelEvent::Row { row } => rows.push(*row),
                        ModelEvent::Progress { .. } => {}
                    }
                }
                Err(_) => stray.push(l),
            },
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ModelBenchError::Hung {
                    limit_s: idle_s,
                    rows: rows.len(),
                }
                .into());
            }
        }
    }
    let status = child.wait().map_err(WorkerError::Wait)?;
    let text = err_tail.join().unwrap_or_default();
    let said = text
        .lines()
        .chain(stray.iter().map(String::as_str))
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("error: ").to_string());
    match fingerprint {
        Some(fingerprint) if status.success() && rows.len() == req.batches.len() => {
            Ok(ModelResult { fingerprint, rows })
        }
        _ => Err(ModelBenchError::Exited {
            status: status.to_string(),
            said: said.unwrap_or_else(|| "no message".into()),
        }
        .into()),
    }
}
