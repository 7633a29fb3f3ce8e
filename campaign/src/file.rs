//! Campaign files (RON, kind `kas-campaign`, versions 1 and 2; `docs/FORMAT.md`): the model and
//! its slot spec, the dataset, the space searched (version 2), the search algorithm and its
//! constants, budgets, fidelities, the reward, the seed, the evaluation devices and the
//! evaluator.

use crate::error::{CampaignError, Result};
use crate::fidelity::Fidelity;
use crate::reward::RewardConfig;
use crate::search_config::Algorithm;
use crate::space::SearchSpace;
use kas_codegen::Precision;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `kind` of campaign files.
pub const CAMPAIGN_KIND: &str = "kas-campaign";
/// The newest `version` of campaign files this build reads (version 1 files, which have no
/// `space` field, are read as they are).
pub const CAMPAIGN_VERSION: u32 = 2;
/// The first version with the `space` field.
pub const SPACE_VERSION: u32 = 2;

/// Where the slot spec comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub enum SpecSource {
    /// Generated from the host model's slots by the evaluator's crate (`kas spec --model`);
    /// the binary replaces it by the generated `Text` before the campaign is stored.
    #[default]
    FromModel,
    /// A `kas-spec` file, relative to the campaign file's directory.
    File(String),
    /// The spec's text itself.
    Text(String),
}

/// The host model and its slot spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Model name, as the evaluator knows it (`cnn`, `resnet18`, `gpt`).
    pub name: String,
    /// The slot spec searched over (default: generated from the model).
    #[serde(default)]
    pub spec: SpecSource,
    /// Channels of the model's first stage, when not the model's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u64>,
    /// Input image height and width, when not the model's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<u64>,
    /// GPT: transformer blocks, when not the model's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<u64>,
    /// GPT: attention heads (dividing the width), when not the model's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heads: Option<u64>,
    /// GPT: context length (the slots' `seq_len`), when not the model's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<u64>,
    /// GPT: which projections of every block are slots (`qkv`, `proj`, `mlp-up`, `mlp-down`
    /// or `all`), when not the default `qkv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<String>,
}

/// Budgets of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignBudget {
    /// Most evaluations in all (every fidelity counts), over every session.
    pub max_evals: u64,
    /// Wall-time limit of one session, in minutes.
    #[serde(default)]
    pub minutes: Option<f64>,
}

/// Which evaluator the campaign uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub enum EvaluatorKind {
    /// Training through libtorch and timing on the device (`kas-eval`).
    #[default]
    Tch,
    /// The deterministic stand-in of `kas-search` (for tests).
    StandIn(#[serde(default)] StandInConfig),
}

/// Which kas kernels a GPU times (the CPU times the tch plan either way): the `kernels` field
/// of a campaign file, and `kas bench --kernels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum KernelMode {
    /// Tiled kernels tuned per binding on the device (cached by canonical hash): the fastest,
    /// at a few seconds of tuning per new slot binding.
    #[default]
    Tuned,
    /// Tiled kernels with a schedule chosen without timing: no tuning cost.
    Heuristic,
    /// The reference kernels: one thread per result element.
    Reference,
}

impl std::str::FromStr for KernelMode {
    type Err = String;

    /// `reference`, `heuristic` or `tuned` (the labels, as `kas bench --kernels` takes them).
    fn from_str(s: &str) -> std::result::Result<KernelMode, String> {
        [
            KernelMode::Reference,
            KernelMode::Heuristic,
            KernelMode::Tuned,
        ]
        .into_iter()
        .find(|k| k.label() == s)
        .ok_or_else(|| format!("unknown kernels `{s}` (reference, heuristic or tuned)"))
    }
}

impl KernelMode {
    /// `reference`, `heuristic` or `tuned`.
    pub fn label(&self) -> &'static str {
        match self {
            KernelMode::Reference => "reference",
            KernelMode::Heuristic => "heuristic",
            KernelMode::Tuned => "tuned",
        }
    }
}

/// Settings of the stand-in evaluator (the `StandIn(...)` evaluator of a campaign file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StandInConfig {
    /// Milliseconds each evaluation sleeps.
    pub sleep_ms: u64,
    /// Fraction of candidates that fail, in [0, 1].
    pub fail_fraction: f64,
}

impl Default for StandInConfig {
    fn default() -> StandInConfig {
        StandInConfig {
            sleep_ms: 0,
            fail_fraction: 0.0,
        }
    }
}

/// A campaign file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignFile {
    /// Always `kas-campaign`.
    pub kind: String,
    /// 1 or 2 (2: may have a `space`).
    pub version: u32,
    /// Campaign name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The host model and the slot spec.
    pub model: ModelSection,
    /// The dataset (`fashion-mnist`, `mnist`, `shakespeare`, …).
    pub data: String,
    /// Train on the first this many training images only (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_subset: Option<u64>,
    /// Measure accuracy on the first this many test images only (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_subset: Option<u64>,
    /// What is searched (version 2; default: operators).
    #[serde(default, skip_serializing_if = "is_operators")]
    pub space: SearchSpace,
    /// The search algorithm (default MCTS with its default constants).
    #[serde(default)]
    pub search: Algorithm,
    /// Budgets.
    pub budget: CampaignBudget,
    /// Fidelities, cheapest (the screen every candidate gets) first.
    pub fidelities: Vec<Fidelity>,
    /// The best `1/promote_eta` of each fidelity's results go to the next.
    #[serde(default = "default_eta")]
    pub promote_eta: u32,
    /// A result whose measured speedup is below this is never promoted to the next fidelity
    /// (0 promotes whatever the speed; default [`DEFAULT_PROMOTE_MIN_SPEEDUP`]).
    #[serde(default = "default_promote_min_speedup")]
    pub promote_min_speedup: f64,
    /// A candidate whose measured slot-set speedup is below this is timed but not trained (a
    /// `timeout` failure): in a campaign after kernels faster than the original layers, 1.0
    /// spends no training on the slower ones. `None` (the default): the evaluator's floor
    /// (`kas_eval::evaluator::config::SLOWDOWN_LIMIT`, only pathological kernels skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_min_speedup: Option<f64>,
    /// The reward.
    #[serde(default)]
    pub reward: RewardConfig,
    /// Seed of the search (and of the evaluator's training).
    #[serde(default)]
    pub seed: u64,
    /// Training seeds of every evaluation at the last fidelity, the baseline's included
    /// (`crate::seeds`; 1 to `MAX_SEEDS`, default 3).
    #[serde(default = "default_seeds")]
    pub seeds: u32,
    /// Evaluation devices (`cpu`, `cuda:0`, `cuda:1`, …), each with
    /// `evaluations_per_device` workers.
    pub devices: Vec<String>,
    /// Evaluations run at once on each device, one worker (and evaluator) each: 1 to
    /// [`MAX_EVALUATIONS_PER_DEVICE`], default 1. Several fill a GPU that one small model's
    /// training leaves mostly idle; the evaluator keeps timing exclusive on its device.
    #[serde(
        default = "default_evaluations_per_device",
        skip_serializing_if = "is_one"
    )]
    pub evaluations_per_device: u32,
    /// The evaluator.
    #[serde(default)]
    pub evaluator: EvaluatorKind,
    /// Which kernels a GPU evaluator times.
    #[serde(default)]
    pub kernels: KernelMode,
    /// Arithmetic precision (`docs/ARCHITECTURE.md`, "Precision"; written `f32`, `tf32`,
    /// `bf16`): the Tch evaluator trains the model, candidates and baseline alike, at it. f32
    /// (the default) on any device; tf32 and bf16 on CUDA devices only.
    #[serde(default, skip_serializing_if = "is_f32")]
    pub precision: Precision,
}

fn is_operators(s: &SearchSpace) -> bool {
    *s == SearchSpace::Operators
}

fn is_f32(p: &Precision) -> bool {
    *p == Precision::F32
}

fn default_eta() -> u32 {
    4
}

fn default_evaluations_per_device() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// The default promotion floor on the measured speedup: a candidate at less than half the
/// original layers' speed cannot become faster than them at a later fidelity (it times the same
/// kernels, only with more repeats), and on a CPU it also trains that much slower.
pub const DEFAULT_PROMOTE_MIN_SPEEDUP: f64 = 0.5;

fn default_promote_min_speedup() -> f64 {
    DEFAULT_PROMOTE_MIN_SPEEDUP
}

fn default_seeds() -> u32 {
    crate::seeds::DEFAULT_SEEDS
}

impl CampaignFile {
    /// Parses and checks a campaign file's text (named `path` in errors, which carry the line
    /// and column of syntax errors).
    pub fn parse(text: &str, path: &str) -> Result<CampaignFile> {
        // The kind and version first: another kind of file is named as such.
        kas_primitives::format::check_kind(text, path, CAMPAIGN_KIND, CAMPAIGN_VERSION)?;
        let mut c: CampaignFile = ron::from_str(text).map_err(|e| CampaignError::File {
            path: format!("{path}:{}:{}", e.span.start.line, e.span.start.col),
            message: e.code.to_string(),
        })?;
        for (i, f) in c.fidelities.iter_mut().enumerate() {
            f.level = i;
        }
        c.validate().map_err(|message| CampaignError::File {
            path: path.to_string(),
            message,
        })?;
        Ok(c)
    }

    /// Reads a campaign file.
    pub fn read(path: &Path) -> Result<CampaignFile> {
        let text = kas_primitives::format::read_text(path)?;
        CampaignFile::parse(&text, &path.display().to_string())
    }

    /// Checks every field; the message names the bad one.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.kind != CAMPAIGN_KIND {
            return Err(format!(
                "kind must be \"{CAMPAIGN_KIND}\", got \"{}\"",
                self.kind
            ));
        }
        if !(1..=CAMPAIGN_VERSION).contains(&self.version) {
            return Err(format!(
                "unsupported version {} (this build reads versions 1 to {CAMPAIGN_VERSION})",
                self.version
            ));
        }
        self.validate_space()?;
        if self.name.trim().is_empty() {
            return Err("name must not be empty".into());
        }
        self.validate_model()?;
        if self.data.trim().is_empty() {
            return Err("data must name a dataset".into());
        }
        within("train_subset", self.train_subset, MAX_SUBSET)?;
        within("test_subset", self.test_subset, MAX_SUBSET)?;
        within("budget.max_evals", Some(self.budget.max_evals), MAX_EVALS)?;
        if let Some(m) = self.budget.minutes
            && !(m.is_finite() && m > 0.0)
        {
            return Err(format!("budget.minutes must be positive, got {m}"));
        }
        self.validate_fidelities()?;
        if self.promote_eta < 2 {
            return Err(format!(
                "promote_eta must be at least 2, got {}",
                self.promote_eta
            ));
        }
        if !(self.promote_min_speedup.is_finite() && self.promote_min_speedup >= 0.0) {
            return Err(format!(
                "promote_min_speedup must be finite and at least 0, got {}",
                self.promote_min_speedup
            ));
        }
        if let Some(v) = self.train_min_speedup
            && !(v.is_finite() && v >= 0.0)
        {
            return Err(format!(
                "train_min_speedup must be finite and at least 0, got {v}"
            ));
        }
        within(
            "seeds",
            Some(u64::from(self.seeds)),
            u64::from(crate::seeds::MAX_SEEDS),
        )?;
        if self.devices.is_empty() {
            return Err("devices must list at least one device".into());
        }
        if let Some(d) = self.devices.iter().find(|d| !valid_device(d)) {
            return Err(format!(
                "unknown device \"{d}\" (use \"cpu\", \"cuda:N\" or \"{ALL_GPUS}\")"
            ));
        }
        if self.precision != Precision::F32
            && self.evaluator == EvaluatorKind::Tch
            && let Some(d) = self.devices.iter().find(|d| !d.starts_with("cuda:"))
        {
            return Err(format!(
                "precision: {p} needs CUDA devices, but device \"{d}\" trains at f32 only (use precision: f32)",
                p = self.precision
            ));
        }
        within(
            "evaluations_per_device",
            Some(u64::from(self.evaluations_per_device)),
            u64::from(MAX_EVALUATIONS_PER_DEVICE),
        )?;
        if let EvaluatorKind::StandIn(s) = &self.evaluator {
            if !(0.0..=1.0).contains(&s.fail_fraction) {
                return Err(format!(
                    "evaluator: fail_fraction must lie in [0, 1], got {}",
                    s.fail_fraction
                ));
            }
            if s.sleep_ms > MAX_SLEEP_MS {
                return Err(format!(
                    "evaluator: sleep_ms must be at most {MAX_SLEEP_MS}, got {}",
                    s.sleep_ms
                ));
            }
        }
        self.search.validate()?;
        self.reward.validate()
    }

    /// Checks the `space`: only version 2 files have one; a graph space takes the random
    /// search (the only graph searcher) and sane sampler budgets.
    fn validate_space(&self) -> std::result::Result<(), String> {
        let SearchSpace::Graph(g) = &self.space else {
            return Ok(());
        };
        if self.version < SPACE_VERSION {
            return Err(format!(
                "space: Graph(...) needs `version: {SPACE_VERSION}` (this file says version {})",
                self.version
            ));
        }
        if self.search != Algorithm::Random {
            return Err(format!(
                "space: Graph(...) is searched by `search: Random` only (got {}): the graph sampler's descents are independent draws",
                self.search.name()
            ));
        }
        g.validate()
    }

    /// Checks the `model` section: a name, a spec file name, sizes within bounds.
    fn validate_model(&self) -> std::result::Result<(), String> {
        if self.model.name.trim().is_empty() {
            return Err("model.name must name a model (cnn, resnet18, gpt)".into());
        }
        if let SpecSource::File(f) = &self.model.spec
            && f.trim().is_empty()
        {
            return Err("model.spec: File(\"\") names no file".into());
        }
        within("model.width", self.model.width, MAX_WIDTH)?;
        within("model.image", self.model.image, MAX_IMAGE)?;
        within("model.layers", self.model.layers, MAX_LAYERS)?;
        within("model.heads", self.model.heads, MAX_WIDTH)?;
        within("model.context", self.model.context, MAX_CONTEXT)
    }

    /// Checks the fidelities: at least one, named uniquely, each with one training budget
    /// within bounds and sane timing repeats.
    fn validate_fidelities(&self) -> std::result::Result<(), String> {
        if self.fidelities.is_empty() {
            return Err("fidelities must list at least one fidelity (the screen)".into());
        }
        for (i, f) in self.fidelities.iter().enumerate() {
            let at = format!("fidelities[{i}]");
            if f.name.trim().is_empty() {
                return Err(format!("{at}.name must not be empty"));
            }
            if self.fidelities[..i].iter().any(|g| g.name == f.name) {
                return Err(format!("{at}.name: `{}` names two fidelities", f.name));
            }
            let at = format!("{at} (`{}`)", f.name);
            match (f.train_steps, f.epochs) {
                (Some(_), Some(_)) => {
                    return Err(format!("{at}: give train_steps or epochs, not both"));
                }
                (None, None) => {
                    return Err(format!("{at}: give train_steps or epochs"));
                }
                (Some(s), None) => within(&format!("{at}.train_steps"), Some(s), MAX_TRAIN_STEPS)?,
                (None, Some(e)) => {
                    if !(e.is_finite() && e > 0.0 && e <= MAX_EPOCHS) {
                        return Err(format!(
                            "{at}.epochs must be positive and at most {MAX_EPOCHS}, got {e}"
                        ));
                    }
                }
            }
            if let Some(n) = f.timing_repeats
                && n > MAX_TIMING_REPEATS
            {
                return Err(format!(
                    "{at}.timing_repeats must be at most {MAX_TIMING_REPEATS}, got {n}"
                ));
            }
        }
        Ok(())
    }

    /// The slot spec's text (a `File` is read relative to `base`, the campaign file's
    /// directory).
    pub fn spec_text(&self, base: &Path) -> Result<String> {
        match &self.model.spec {
            SpecSource::FromModel => Err(CampaignError::Unresolved {
                campaign: self.name.clone(),
                model: self.model.name.clone(),
            }),
            SpecSource::Text(t) => Ok(t.clone()),
            SpecSource::File(f) => Ok(kas_primitives::format::read_text(&base.join(f))?),
        }
    }

    /// The file with the spec embedded as text (what a campaign directory stores).
    pub fn embedded(&self, base: &Path) -> Result<CampaignFile> {
        let mut c = self.clone();
        c.model.spec = SpecSource::Text(self.spec_text(base)?);
        Ok(c)
    }

    /// The file as RON text.
    pub fn to_text(&self) -> String {
        let cfg = ron::ser::PrettyConfig::new()
            .indentor("    ")
            .struct_names(false);
        ron::ser::to_string_pretty(self, cfg).expect("campaign files always serialize")
    }
}

/// Largest `train_subset` and `test_subset`: 2^31 samples.
pub const MAX_SUBSET: u64 = 1 << 31;
/// Largest `model.width`: 2^16 channels (the evaluator refuses a model whose parameters
/// exceed its own bound, which most widths this large do).
pub const MAX_WIDTH: u64 = 1 << 16;
/// Largest `model.image` side.
pub const MAX_IMAGE: u64 = 1024;
/// Largest `model.layers` (GPT blocks) a campaign may ask for.
pub const MAX_LAYERS: u64 = 256;
/// Largest `model.context` (GPT context length) a campaign may ask for.
pub const MAX_CONTEXT: u64 = 1 << 16;
/// Largest `budget.max_evals`.
pub const MAX_EVALS: u64 = 1 << 31;
/// Largest `train_steps` of a fidelity.
pub const MAX_TRAIN_STEPS: u64 = 1 << 31;
/// Largest `epochs` of a fidelity.
pub const MAX_EPOCHS: f64 = 1e4;
/// Largest `timing_repeats` of a fidelity (0 means no timing).
pub const MAX_TIMING_REPEATS: u32 = 10_000;
/// Largest `sleep_ms` of the stand-in evaluator (one hour).
pub const MAX_SLEEP_MS: u64 = 3_600_000;

/// An optional count that, when given, must lie in `1..=max`.
fn within(field: &str, v: Option<u64>, max: u64) -> std::result::Result<(), String> {
    match v {
        Some(0) => Err(format!("{field} must be at least 1")),
        Some(n) if n > max => Err(format!("{field} must be at most {max}, got {n}")),
        _ => Ok(()),
    }
}

impl CampaignFile {
    /// The device of every worker: each of `devices`, `evaluations_per_device` times in a row.
    pub fn worker_devices(&self) -> Vec<String> {
        self.devices
            .iter()
            .flat_map(|d| std::iter::repeat_n(d.clone(), self.evaluations_per_device as usize))
            .collect()
    }
}

/// The device that stands for every visible GPU: `cuda:0` … `cuda:N-1`, expanded when a
/// session starts ([`CampaignFile::expand_devices`]).
pub const ALL_GPUS: &str = "cuda:*";

impl CampaignFile {
    /// Replaces [`ALL_GPUS`] in `devices` by `cuda:0` … `cuda:{gpus-1}` (a device listed twice
    /// is kept once, in its first place); an error when it is listed and no GPU is visible.
    pub fn expand_devices(&mut self, gpus: usize) -> Result<()> {
        if !self.devices.iter().any(|d| d == ALL_GPUS) {
            return Ok(());
        }
        if gpus == 0 {
            return Err(CampaignError::File {
                path: format!("campaign `{}`", self.name),
                message: format!("devices lists \"{ALL_GPUS}\", but no CUDA device is visible"),
            });
        }
        let mut out: Vec<String> = Vec::new();
        for d in &self.devices {
            let expanded: Vec<String> = if d == ALL_GPUS {
                (0..gpus).map(|i| format!("cuda:{i}")).collect()
            } else {
                vec![d.clone()]
            };
            for e in expanded {
                if !out.contains(&e) {
                    out.push(e);
                }
            }
        }
        self.devices = out;
        Ok(())
    }
}

/// Most evaluations at once on one device.
pub const MAX_EVALUATIONS_PER_DEVICE: u32 = 16;

fn valid_device(d: &str) -> bool {
    d == "cpu"
        || d == ALL_GPUS
        || d.strip_prefix("cuda:")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"(
        kind: "kas-campaign",
        version: 1,
        name: "t",
        model: (name: "cnn", spec: File("../specs/cnn-small.ron")),
        data: "fashion-mnist",
        search: Mcts((exploration: 2.0)),
        budget: (max_evals: 10, minutes: Some(1.5)),
        fidelities: [(name: "screen", train_steps: Some(50)), (name: "full", epochs: Some(1.0))],
        reward: (form: Constrained(delta: 0.01)),
        seed: 4,
        devices: ["cpu", "cpu"],
        evaluator: StandIn((sleep_ms: 5)),
    )"#;

    #[test]
    fn a_good_file_parses_and_round_trips() {
        let c = CampaignFile::parse(GOOD, "c.ron").unwrap();
        assert_eq!(c.fidelities[1].level, 1);
        assert_eq!(c.promote_eta, 4);
        match &c.search {
            Algorithm::Mcts(m) => assert_eq!(m.exploration, 2.0),
            a => panic!("{a:?}"),
        }
        let again = CampaignFile::parse(&c.to_text(), "again.ron").unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn kernels_default_to_tuned_and_parse() {
        assert_eq!(
            CampaignFile::parse(GOOD, "c.ron").unwrap().kernels,
            KernelMode::Tuned
        );
        let text = GOOD.replace("seed: 4", "seed: 4, kernels: Heuristic");
        assert_eq!(
            CampaignFile::parse(&text, "c.ron").unwrap().kernels,
            KernelMode::Heuristic
        );
        let bad = GOOD.replace("seed: 4", "seed: 4, kernels: Fastest");
        assert!(CampaignFile::parse(&bad, "c.ron").is_err());
    }

    #[test]
    fn the_spec_defaults_to_the_models_and_sizes_are_checked() {
        let text = GOOD.replace(
            r#"model: (name: "cnn", spec: File("../specs/cnn-small.ron")),"#,
            r#"model: (name: "cnn", width: Some(8)), train_subset: Some(100),"#,
        );
        let c = CampaignFile::parse(&text, "c.ron").unwrap();
        assert_eq!(c.model.spec, SpecSource::FromModel);
        assert_eq!((c.model.width, c.train_subset), (Some(8), Some(100)));
        assert!(
            c.spec_text(Path::new(".")).is_err(),
            "must be resolved first"
        );
        let again = CampaignFile::parse(&c.to_text(), "again.ron").unwrap();
        assert_eq!(again, c);
        let zero = text.replace("width: Some(8)", "width: Some(0)");
        let e = CampaignFile::parse(&zero, "c.ron").unwrap_err().to_string();
        assert_eq!(e, "c.ron: model.width must be at least 1");
    }

    #[test]
    fn errors_name_the_place() {
        let unknown = GOOD.replace("seed: 4", "sed: 4");
        let e = CampaignFile::parse(&unknown, "c.ron")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.ron:11:"), "{e}");
        assert!(e.contains("sed"), "{e}");
        let bad = GOOD.replace("max_evals: 10", "max_evals: -3");
        let e = CampaignFile::parse(&bad, "c.ron").unwrap_err().to_string();
        assert!(e.starts_with("c.ron:8:"), "{e}");
        let zero = GOOD.replace("max_evals: 10", "max_evals: 0");
        let e = CampaignFile::parse(&zero, "c.ron").unwrap_err().to_string();
        assert_eq!(e, "c.ron: budget.max_evals must be at least 1");
        let dev = GOOD.replace("\"cpu\", \"cpu\"", "\"gpu0\"");
        let e = CampaignFile::parse(&dev, "c.ron").unwrap_err().to_string();
        assert!(e.contains("unknown device \"gpu0\""), "{e}");
        let kind = GOOD.replace("kas-campaign", "kas-spec");
        assert!(CampaignFile::parse(&kind, "c.ron").is_err());
    }
    #[test]
    fn all_gpus_expands_to_every_visible_gpu_once() {
        let text = GOOD.replace("\"cpu\", \"cpu\"", "\"cuda:1\", \"cuda:*\"");
        let mut c = CampaignFile::parse(&text, "c.ron").unwrap();
        let none = c.clone().expand_devices(0).unwrap_err().to_string();
        assert!(none.contains("no CUDA device is visible"), "{none}");
        c.expand_devices(3).unwrap();
        assert_eq!(c.devices, ["cuda:1", "cuda:0", "cuda:2"]);
        let mut cpu = CampaignFile::parse(GOOD, "c.ron").unwrap();
        cpu.expand_devices(0).unwrap();
        assert_eq!(cpu.devices, ["cpu", "cpu"]);
    }
    #[test]
    fn a_graph_space_needs_version_2_and_random_search() {
        let v1 = GOOD.replace("search: Mcts((exploration: 2.0)),", "search: Random,");
        assert_eq!(
            CampaignFile::parse(&v1, "c.ron").unwrap().space,
            SearchSpace::Operators
        );
        let graph = v1.replace(
            "search: Random,",
            "space: Graph((max_nodes: 12)), search: Random,",
        );
        let e = CampaignFile::parse(&graph, "c.ron")
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs `version: 2`"), "{e}");
        let v2 = graph.replace("version: 1", "version: 2");
        let c = CampaignFile::parse(&v2, "c.ron").unwrap();
        match &c.space {
            SearchSpace::Graph(g) => assert_eq!(g.max_nodes, 12),
            s => panic!("{s:?}"),
        }
        assert_eq!(CampaignFile::parse(&c.to_text(), "again.ron").unwrap(), c);
        let mcts = v2.replace("search: Random,", "search: Mcts(()),");
        let e = CampaignFile::parse(&mcts, "c.ron").unwrap_err().to_string();
        assert!(e.contains("search: Random"), "{e}");
        let v3 = GOOD.replace("version: 1", "version: 3");
        assert!(CampaignFile::parse(&v3, "c.ron").is_err());
        // A version-1 file is written back without a `space`, byte for byte what it parsed.
        let c1 = CampaignFile::parse(GOOD, "c.ron").unwrap();
        assert!(!c1.to_text().contains("space"));
    }
}
