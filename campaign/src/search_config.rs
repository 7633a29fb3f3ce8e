//! The searchers' constants as campaign files write them (the `search` field): the algorithm
//! and, per algorithm, its constants with their defaults and checks. The searchers themselves
//! live in `kas-search`.

use serde::{Deserialize, Serialize};

/// The search algorithm of a campaign and its constants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Algorithm {
    /// Monte-Carlo tree search over the synthesis DAG.
    Mcts(#[serde(default)] MctsConfig),
    /// Independent random descents.
    Random,
    /// Beam-style best-first search over prefixes.
    Beam(#[serde(default)] BeamConfig),
}

impl Default for Algorithm {
    fn default() -> Algorithm {
        Algorithm::Mcts(MctsConfig::default())
    }
}

impl Algorithm {
    /// The algorithm's name.
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::Mcts(_) => "mcts",
            Algorithm::Random => "random",
            Algorithm::Beam(_) => "beam",
        }
    }

    /// Checks the constants; the message names the bad one.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Algorithm::Mcts(c) => c.validate(),
            Algorithm::Random => Ok(()),
            Algorithm::Beam(c) => c.validate(),
        }
    }
}

/// The constants of MCTS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MctsConfig {
    /// Exploration weight `c` of UCB1-tuned.
    pub exploration: f64,
    /// Cap of the variance term of UCB1-tuned (0.25 is the bound for rewards in [0, 1]).
    pub variance_cap: f64,
    /// Progressive widening: a node may choose among `max(1, ⌊k · visits^alpha⌋)` children.
    pub widening_k: f64,
    /// Progressive widening exponent.
    pub widening_alpha: f64,
    /// Weight of a node's best reward against its mean in its value, in [0, 1].
    pub max_weight: f64,
    /// Most selection iterations of one `propose` call before the search counts as stuck.
    pub max_iterations: u32,
}

impl Default for MctsConfig {
    fn default() -> MctsConfig {
        MctsConfig {
            exploration: 0.25,
            variance_cap: 0.25,
            widening_k: 1.0,
            widening_alpha: 0.8,
            max_weight: 0.0,
            max_iterations: 10_000,
        }
    }
}

impl MctsConfig {
    /// Checks the constants.
    pub fn validate(&self) -> Result<(), String> {
        let pos = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("mcts.{name} must be positive and finite, got {v}"))
            }
        };
        pos("exploration", self.exploration)?;
        pos("variance_cap", self.variance_cap)?;
        pos("widening_k", self.widening_k)?;
        if !(self.widening_alpha.is_finite() && (0.0..=1.0).contains(&self.widening_alpha)) {
            return Err(format!(
                "mcts.widening_alpha must lie in [0, 1], got {}",
                self.widening_alpha
            ));
        }
        if !(0.0..=1.0).contains(&self.max_weight) {
            return Err(format!(
                "mcts.max_weight must lie in [0, 1], got {}",
                self.max_weight
            ));
        }
        if self.max_iterations == 0 {
            return Err("mcts.max_iterations must be at least 1".into());
        }
        Ok(())
    }
}

/// The constants of beam search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BeamConfig {
    /// Most prefixes kept.
    pub width: usize,
    /// Weight of uniform noise in a prefix's priority, in [0, 1].
    pub noise: f64,
    /// Score of a prefix before anything below it was observed.
    pub prior: f64,
}

impl Default for BeamConfig {
    fn default() -> BeamConfig {
        BeamConfig {
            width: 64,
            noise: 0.3,
            prior: 0.5,
        }
    }
}

impl BeamConfig {
    /// Checks the constants.
    pub fn validate(&self) -> Result<(), String> {
        if self.width == 0 {
            return Err("beam.width must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.noise) {
            return Err(format!("beam.noise must lie in [0, 1], got {}", self.noise));
        }
        if !self.prior.is_finite() {
            return Err("beam.prior must be finite".into());
        }
        Ok(())
    }
}
