//! Re-timing on a new device. Training figures depend on the training seed and the campaign's
//! precision, not on the device; timing figures depend on the device. When a campaign is
//! resumed with evaluators whose device keys differ from those its candidates were timed on,
//! every candidate with a measured timing and none from a current device is timed again
//! (without training) at the highest fidelity its timing was measured at, and journaled as a
//! `retime` record; a failed retime is journaled too, and not tried again on that device.
//! Reports take each candidate's timing from the current devices ([`crate::report`]).

use crate::history::History;
use crate::journal::Record;
use crate::runner::OPERATORS_DIR;
use kas_campaign::Candidate;
use kas_primitives::StructuralHash;
use kas_primitives::canon::CanonicalHash;
use std::collections::BTreeMap;
use std::path::Path;

/// A candidate to time again.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    /// Canonical hash (under the journal's current rule set).
    pub canonical: String,
    /// The fidelity whose timing repeats to use.
    pub level: usize,
    /// Structural hash, FLOPs and path, as its last job record gives them.
    pub structural: String,
    /// Multiply-adds over the spec's bindings.
    pub flops: f64,
    /// Child indices from the DAG's root.
    pub path: Vec<u32>,
}

/// What the journal says of one candidate's timing.
#[derive(Default)]
struct Seen {
    order: usize,
    timed_now: bool,
    level: Option<usize>,
    job: Option<(String, f64, Vec<u32>)>,
}

/// The candidates of `history` to time again on `devices` (the current session's keys), in
/// the order they were first evaluated.
pub fn due(history: &History, devices: &[String]) -> Vec<Due> {
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    for r in &history.records {
        match r {
            Record::Job {
                canonical,
                structural,
                flops,
                path,
                ..
            } => {
                let s = entry(&mut seen, history.canonical(canonical));
                s.job = Some((structural.clone(), *flops, path.clone()));
            }
            Record::Outcome {
                canonical,
                fidelity,
                device,
                outcome,
                ..
            } => {
                let s = entry(&mut seen, history.canonical(canonical));
                if outcome.metrics().is_some_and(|m| m.is_timed()) {
                    s.level = s.level.max(Some(*fidelity));
                    s.timed_now |= devices.contains(device);
                }
            }
            Record::Retime {
                canonical, device, ..
            } => {
                let s = entry(&mut seen, history.canonical(canonical));
                s.timed_now |= devices.contains(device);
            }
            _ => {}
        }
    }
    let mut out: Vec<(usize, Due)> = seen
        .into_iter()
        .filter_map(|(canonical, s)| {
            let (structural, flops, path) = s.job?;
            (!s.timed_now).then_some(())?;
            Some((
                s.order,
                Due {
                    canonical,
                    level: s.level?,
                    structural,
                    flops,
                    path,
                },
            ))
        })
        .collect();
    out.sort_by_key(|(order, _)| *order);
    out.into_iter().map(|(_, d)| d).collect()
}

/// The entry of canonical hash `h`, numbered in order of first appearance.
fn entry<'a>(seen: &'a mut BTreeMap<String, Seen>, h: &str) -> &'a mut Seen {
    let order = seen.len();
    seen.entry(h.to_string()).or_insert_with(|| Seen {
        order,
        ..Seen::default()
    })
}

/// The candidate of `due` with its kernel (operator or graph kernel) read from the campaign
/// directory `dir`; or why not.
pub fn candidate(dir: &Path, due: &Due, rules: &str) -> Result<Candidate, String> {
    let path = dir
        .join(OPERATORS_DIR)
        .join(format!("{}.ron", due.canonical));
    let kernel = crate::kernel_file::read_kernel(&path)?;
    let hex = |h: &str| u128::from_str_radix(h, 16).map_err(|e| format!("hash {h}: {e}"));
    Ok(Candidate {
        kernel,
        canonical: CanonicalHash(hex(&due.canonical)?),
        rules: rules.to_string(),
        structural: StructuralHash(hex(&due.structural)?),
        flops: due.flops,
        path: due.path.clone(),
    })
}
