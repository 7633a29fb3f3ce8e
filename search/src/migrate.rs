//! Migration of a journal written under an older canonicalization rule set: every operator it
//! evaluated is read back from its operator file (`operators/<old hash>.ron`), canonicalized
//! by this build's rules and stored under its new hash; the mapping goes into the journal as
//! one `migration` record. The journal's figures are then read under the new hashes (by
//! [`crate::history::History::canonical`]), and the resumed search takes them from the
//! scheduler's archive instead of evaluating them again. An operator whose file is missing or
//! unreadable, or which has no canonical form now, is listed as lost with the reason: its
//! figures stay in the journal under its old hash.

use crate::error::{Result, SearchError};
use crate::history::History;
use crate::journal::Record;
use crate::runner::OPERATORS_DIR;
use kas_primitives::canon::{self, rules};
use kas_primitives::{Operator, read_operator, write_operator};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The `migration` record that re-keys `history` (whose rule set is not this build's) in
/// campaign directory `dir`, with the operator file of every re-keyed operator written under
/// its new hash.
pub fn migration(dir: &Path, campaign: &str, history: &History) -> Result<Record> {
    let to = rules::digest().to_string();
    let old: BTreeSet<String> = (history.records.iter())
        .filter_map(|r| match r {
            Record::Job { canonical, .. } => Some(history.canonical(canonical).to_string()),
            _ => None,
        })
        .collect();
    let mut rekeyed = BTreeMap::new();
    let mut lost = BTreeMap::new();
    for h in old {
        match recanonicalize(dir, &h) {
            Ok((new, op)) => {
                let target = dir.join(OPERATORS_DIR).join(format!("{new}.ron"));
                if !target.exists() {
                    let description = format!(
                        "campaign `{campaign}`; canonical hash {new} (rules {to}), re-keyed from {h} (rules {})",
                        history.rules
                    );
                    let text = write_operator(&format!("op-{new}"), &description, &op)
                        .map_err(|e| SearchError::Spec(e.to_string()))?;
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

/// The canonical hash under this build's rules of the operator stored as `old`, with the
/// operator; or why there is none.
fn recanonicalize(dir: &Path, old: &str) -> std::result::Result<(String, Operator), String> {
    let path = dir.join(OPERATORS_DIR).join(format!("{old}.ron"));
    let text = kas_primitives::format::read_text(&path).map_err(|e| e.to_string())?;
    let (_, op) = read_operator(&text, &path.display().to_string()).map_err(|e| e.to_string())?;
    let c = canon::canonicalize(&op).map_err(|e| format!("no canonical form now: {e}"))?;
    Ok((c.hash.to_string(), op))
}
