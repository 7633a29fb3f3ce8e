//! The slot families of the GPT: which dense projections of every transformer block are slots
//! (`kas spec --model gpt --slots …`, a campaign's `model.slots`). A candidate operator fills
//! every slot of the chosen families in all blocks; the other projections keep their original
//! linear layers (with bias).

use crate::error::{ConfigError, Error, Result};
use std::fmt;
use std::str::FromStr;

/// One family of GPT projections, or all four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GptSlots {
    /// The fused QKV projection `C → 3C` (the default; Syno's GPT-2 placeholder).
    #[default]
    Qkv,
    /// The attention output projection `C → C`.
    Proj,
    /// The MLP's up projection `C → 4C`.
    MlpUp,
    /// The MLP's down projection `4C → C`.
    MlpDown,
    /// All four: four slots per block.
    All,
    /// The token-mixing sublayer: the whole causal attention (QKV projection, attention,
    /// output projection), `[N, T, C] → [N, T, C]`, one slot per block (graph campaigns fill it
    /// with causal graph kernels; not one of the four projections, so `all` excludes it).
    Mix,
}

impl GptSlots {
    /// Every choice, in order.
    pub const ALL: [GptSlots; 6] = [
        GptSlots::Qkv,
        GptSlots::Proj,
        GptSlots::MlpUp,
        GptSlots::MlpDown,
        GptSlots::All,
        GptSlots::Mix,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            GptSlots::Qkv => "qkv",
            GptSlots::Proj => "proj",
            GptSlots::MlpUp => "mlp-up",
            GptSlots::MlpDown => "mlp-down",
            GptSlots::All => "all",
            GptSlots::Mix => "mix",
        }
    }

    /// Whether the projection of family `f` (one of the four) is a slot.
    pub fn holds(self, f: GptSlots) -> bool {
        (self == GptSlots::All && f != GptSlots::Mix) || self == f
    }
}

impl fmt::Display for GptSlots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for GptSlots {
    type Err = Error;
    fn from_str(s: &str) -> Result<GptSlots> {
        GptSlots::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| ConfigError::UnknownSlotFamily { name: s.into() }.into())
    }
}
