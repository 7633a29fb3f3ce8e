//! What a campaign searches over (the `space` field of a campaign file, version 2): operators
//! synthesized from primitives (the default, and the only space of version-1 files), or
//! Canvas-style graph kernels drawn by the graph sampler (`docs/ARCHITECTURE.md`, "Graph
//! kernels"), with the sampler's budgets.

use kas_graph::sample::SampleConfig;
use serde::{Deserialize, Serialize};

/// The space of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub enum SearchSpace {
    /// Operators synthesized from the slot spec (`kas-synth`).
    #[default]
    Operators,
    /// Graph kernels sampled for the slot (`kas-graph`), with the sampler's budgets.
    Graph(#[serde(default)] GraphSpace),
}

/// The graph sampler's budgets of a campaign (each defaults to the sampler's own default,
/// [`SampleConfig::default`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GraphSpace {
    /// Moves drawn per descent: `(min, max)`.
    pub moves: (u32, u32),
    /// Most open values at any time.
    pub max_width: usize,
    /// Most nodes (the input not counted).
    pub max_nodes: usize,
    /// FLOPs window as ratios of the replaced layer's: `(min, max)`.
    pub flops_ratio: (f64, f64),
    /// Parameter window as ratios of the replaced layer's: `(min, max)`.
    pub params_ratio: (f64, f64),
    /// Largest intermediate, relative to the larger of the slot's input and output.
    pub max_intermediate: f64,
    /// Image slots: every kernel mixes neighbouring positions (Canvas's receptive-field
    /// floor; [`SampleConfig::spatial_mixing`]).
    pub spatial_mixing: bool,
}

impl Default for GraphSpace {
    fn default() -> GraphSpace {
        let d = SampleConfig::default();
        GraphSpace {
            moves: d.moves,
            max_width: d.max_width,
            max_nodes: d.max_nodes,
            flops_ratio: d.flops_ratio,
            params_ratio: d.params_ratio,
            max_intermediate: d.max_intermediate,
            spatial_mixing: d.spatial_mixing,
        }
    }
}

/// Most moves of a descent a campaign may ask for.
pub const MAX_MOVES: u32 = 64;
/// Most nodes of a graph kernel a campaign may ask for.
pub const MAX_NODES: usize = 256;

impl GraphSpace {
    /// The sampler's configuration.
    pub fn sample_config(&self) -> SampleConfig {
        SampleConfig {
            moves: self.moves,
            max_width: self.max_width,
            max_nodes: self.max_nodes,
            flops_ratio: self.flops_ratio,
            params_ratio: self.params_ratio,
            max_intermediate: self.max_intermediate,
            spatial_mixing: self.spatial_mixing,
            ..SampleConfig::default()
        }
    }

    /// Checks the budgets; the message names the bad field.
    pub fn validate(&self) -> Result<(), String> {
        if self.moves.1 > MAX_MOVES {
            return Err(format!(
                "space: moves must be at most {MAX_MOVES}, got {}",
                self.moves.1
            ));
        }
        if self.max_nodes > MAX_NODES {
            return Err(format!(
                "space: max_nodes must be at most {MAX_NODES}, got {}",
                self.max_nodes
            ));
        }
        if !(self.max_intermediate.is_finite() && self.max_intermediate > 0.0) {
            return Err(format!(
                "space: max_intermediate must be positive, got {}",
                self.max_intermediate
            ));
        }
        self.sample_config()
            .check()
            .map_err(|e| format!("space: {e}"))
    }
}

impl SearchSpace {
    /// `operators` or `graph`.
    pub fn label(&self) -> &'static str {
        match self {
            SearchSpace::Operators => "operators",
            SearchSpace::Graph(_) => "graph",
        }
    }

    /// The digest a journal keys canonical hashes by in this space: the operator
    /// canonicalization rule set's for operators; for graph kernels, one digest of both rule
    /// sets (a graph kernel's hash holds its linear nodes' operator hashes), with a `graph-`
    /// prefix.
    pub fn rules_digest(&self) -> String {
        let ops = kas_primitives::canon::rules::digest();
        match self {
            SearchSpace::Operators => ops.to_string(),
            SearchSpace::Graph(_) => {
                let mut h = blake3::Hasher::new();
                h.update(b"kas-graph-space/1");
                h.update(ops.as_bytes());
                h.update(kas_graph::canon::rules::digest().as_bytes());
                let hex = h.finalize().to_hex();
                format!("graph-{}", &hex.as_str()[..32])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_digests_differ_from_operator_digests_and_defaults_are_the_samplers() {
        let g = SearchSpace::Graph(GraphSpace::default());
        assert!(g.rules_digest().starts_with("graph-"));
        assert_ne!(g.rules_digest(), SearchSpace::Operators.rules_digest());
        assert_eq!(
            GraphSpace::default().sample_config(),
            SampleConfig::default()
        );
        let bad = GraphSpace {
            flops_ratio: (0.5, 0.1),
            ..GraphSpace::default()
        };
        assert!(bad.validate().unwrap_err().starts_with("space: "));
        let big = GraphSpace {
            max_nodes: 100_000,
            ..GraphSpace::default()
        };
        assert!(big.validate().unwrap_err().contains("max_nodes"));
    }
}
