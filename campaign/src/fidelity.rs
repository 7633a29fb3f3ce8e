//! The fidelities of a campaign: how long a candidate is trained and how often it is timed,
//! cheapest (the screen every candidate gets) first.

use serde::{Deserialize, Serialize};

/// One fidelity of evaluation. Which fields an evaluator reads is its business; the report
/// names the fidelity of every figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fidelity {
    /// Name shown in reports (`screen`, `full`).
    pub name: String,
    /// Training steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_steps: Option<u64>,
    /// Training epochs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<f64>,
    /// Timing repeats of the slot set (0 or absent: no timing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing_repeats: Option<u32>,
    /// Position in the campaign's list (0 = the screen); set when the campaign is loaded.
    #[serde(skip)]
    pub level: usize,
}

impl Fidelity {
    /// A fidelity with a name only.
    pub fn named(name: &str, level: usize) -> Fidelity {
        Fidelity {
            name: name.to_string(),
            train_steps: None,
            epochs: None,
            timing_repeats: None,
            level,
        }
    }
}
