//! Migration of a journal written under an older canonicalization rule set: every operator it
//! evaluated is read back from its operator file (`operators/<old hash>.ron`), canonicalized
//! by this build's rules and stored under its new hash; the mapping goes into the journal as
//! one `migration` record. The journal's figures are then read under the new hashes (by
//! [`crate::history::History::canonical`]), and the resumed search takes them from the
//! scheduler's archive instead of evaluating them again. An operator whose file is missing or
//! unreadable, or which has no canonical form now, is listed as lost with the reason: its
//! figures stay in the journal under its old hash. A graph campaign's kernels are graph kernel
//! files, re-keyed by their canonical hash under this build's graph and operator rules.

use crate::error::{Result, SearchError};
use crate::history::History;
use crate::journal::Record;
use crate::kernel_file::{read_kernel, write_kernel};
use crate::runner::OPERATORS_DIR;
use kas_campaign::{Kernel, SearchSpace};
use kas_primitives::canon;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The `migration` record that re-keys `history` (whose rule set is not this build's) in
/// campaign directory `dir`, with the operator file of every re-keyed operator written under
/// its new hash; `space` is the campaign's.
pub fn migration(
    dir: &Path,
    campaign: &str,
    history: &History,
    space: &SearchSpace,
) -> Result<Record> {
    let to = space.rules_digest();
    let memo = kas_graph::canon::LinearHashes::new();
    let old: BTreeSet<String> = (history.records.iter())
        .filter_map(|r| match r {
            Record::Job { canonical, .. } => Some(history.canonical(canonical).to_string()),
            _ => None,
        })
        .collect();
    let mut rekeyed = BTreeMap::new();
    let mut lost = BTreeMap::new();
    for h in old {
        match recanonicalize(dir, &h, &memo) {
            Ok((new, kernel)) => {
                let target = dir.join(OPERATORS_DIR).join(format!("{new}.ron"));
                if !target.exists() {
                    let description = format!(
                        "campaign `{campaign}`; canonical hash {new} (rules {to}), re-keyed from {h} (rules {})",
                        history.rules
                    );
                    let name = match kernel {
                        Kernel::Operator(_) => format!("op-{new}"),
                        Kernel::Graph(_) => format!("graph-{new}"),
                    };
                    let text =
                        write_kernel(&name, &description, &kernel).map_err(SearchError::Spec)?;
                    crate::runner::write_atomic(&target, &text)?;
                }
                rekeyed.insert(h, new);
            }
            Err(why) => {
                lost.insert(h, why);
            }
        }
    }
    Ok(Record::Migration {
        from: history.rules.clone(),
        to,
        rekeyed,
        lost,
    })
}

/// The canonical hash under this build's rules of the kernel stored as `old`, with the
/// kernel; or why there is none.
fn recanonicalize(
    dir: &Path,
    old: &str,
    memo: &kas_graph::canon::LinearHashes,
) -> std::result::Result<(String, Kernel), String> {
    let path = dir.join(OPERATORS_DIR).join(format!("{old}.ron"));
    let kernel = read_kernel(&path)?;
    let new = match &kernel {
        Kernel::Operator(op) => canon::canonicalize(op)
            .map_err(|e| format!("no canonical form now: {e}"))?
            .hash
            .to_string(),
        Kernel::Graph(g) => kas_graph::canon::canonical_hash(g, memo).to_string(),
    };
    Ok((new, kernel))
}
