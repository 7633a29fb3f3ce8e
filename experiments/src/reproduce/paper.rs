//! The papers' published figures, stored as data in `experiments/reproduce/paper/*.ron`
//! (embedded in the binary), each with its source.

use anyhow::{Context, bail};
use serde::Deserialize;

/// One published figure.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// Key the experiment looks it up by.
    pub key: String,
    /// The value.
    pub value: f64,
    /// Its unit (`/s`, `%`, `x`).
    pub unit: String,
    /// Where it comes from: paper, table or figure, and how it was obtained.
    pub source: String,
}

/// The figures of one experiment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperFigures {
    /// The experiment's name.
    pub experiment: String,
    /// The figures.
    pub figures: Vec<Figure>,
}

impl PaperFigures {
    /// The figures of `experiment` from the RON `text`.
    pub fn parse(text: &str, experiment: &str) -> anyhow::Result<PaperFigures> {
        let p: PaperFigures = ron::from_str(text)
            .with_context(|| format!("the paper figures of `{experiment}` do not parse"))?;
        if p.experiment != experiment {
            bail!(
                "the paper figures of `{experiment}` name experiment `{}`",
                p.experiment
            );
        }
        Ok(p)
    }

    /// The figure `key`.
    pub fn get(&self, key: &str) -> anyhow::Result<&Figure> {
        self.figures
            .iter()
            .find(|f| f.key == key)
            .with_context(|| format!("no paper figure `{key}` for `{}`", self.experiment))
    }
}
