//! The spec of a host model's slots (`kas spec --model`), generated from the model: one
//! binding per slot, named by the slot's path, with the slot's sizes; variables and budgets
//! from a template spec of the same family; a FLOPs window scaled to the model's own
//! multiply-adds the way Syno's relates to its baseline.

use crate::error::{ConfigError, Result};
use crate::models::{GptSlots, HostModel, ModelConfig, ModelKind};
use kas_primitives::format::to_ron;
use kas_primitives::{NamedBinding, SpecFile};

/// The FLOPs window of a model's slots: the operator's multiply-adds per batch, summed over
/// every slot, may range over `(r·F − F_other)·N` for `r` in `ratios` (Syno's rule,
/// `docs/ARCHITECTURE.md` "Syno's settings"), where `F` is the whole model's multiply-adds
/// per sample with its original layers, `F_other` those outside the slots and `N` the batch.
/// A negative lower bound becomes 0. So at the upper ratio 0.9 a model with an operator in
/// every slot costs at most 90 % of the original model.
pub fn flops_window(model: &HostModel, ratios: (f64, f64)) -> Result<(f64, f64)> {
    let n = model.batch as f64;
    let (f, other) = (model.macs.total(), model.macs.other);
    let lo = ((ratios.0 * f - other) * n).max(0.0);
    let hi = (ratios.1 * f - other) * n;
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return Err(ConfigError::EmptyFlopsWindow {
            model: model.kind(),
            ratios,
            macs: f,
            outside: other,
        }
        .into());
    }
    Ok((lo, hi))
}

/// The spec of `model`'s slots: shapes from its slot kind, one binding per slot (at the
/// model's batch), variables and budgets from `template` (the family's spec in
/// `experiments/specs/`) except the FLOPs window, which [`flops_window`] scales to this model
/// with the family's ratios. The result passes [`SpecFile::check`].
pub fn model_spec(model: &HostModel, template: &SpecFile) -> Result<SpecFile> {
    let first = model.slots.first().ok_or(ConfigError::ModelWithoutSlots {
        model: model.kind(),
    })?;
    let sig = first.shape.signature();
    if let Some(s) = model.slots.iter().find(|s| s.shape.signature() != sig) {
        return Err(ConfigError::MixedSlots {
            slot: s.name.clone(),
            first: first.name.clone(),
        }
        .into());
    }
    let bindings = model
        .slots
        .iter()
        .map(|s| NamedBinding {
            name: s.name.clone(),
            values: s
                .shape
                .spec_values(model.batch)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        })
        .collect();
    let ratios = model.kind().flops_ratios();
    let window = flops_window(model, ratios)?;
    let mut budgets = template.budgets.clone();
    budgets.flops = window;
    if let Some(p) = params_window(model) {
        budgets.params = p;
        // Syno's GPT-2 floor on a weight's size (1e5 for 1.8e6-weight projections) scaled to
        // this model's smallest slot, so that small GPTs keep their operators.
        let smallest = model
            .slots
            .iter()
            .map(|s| s.shape.params())
            .fold(f64::MAX, f64::min);
        let scaled = (smallest / MIN_WEIGHT_FRACTION).floor().max(1.0) as u64;
        budgets.min_single_weight_params = budgets.min_single_weight_params.min(scaled);
    }
    let binding_set = model.config.binding_set();
    let file = SpecFile {
        kind: kas_primitives::spec::SPEC_KIND.to_string(),
        version: kas_primitives::spec::SPEC_VERSION,
        name: binding_set.clone(),
        binding_set,
        description: format!(
            "slots of kas's {} at batch {} ({} slots); variables and budgets from spec `{}`; \
             FLOPs window (r*F - F_other)*N for r in [{}, {}], F = {:.4e} MACs per sample \
             ({:.4e} outside the slots)",
            model.kind(),
            model.batch,
            model.slots.len(),
            template.name,
            ratios.0,
            ratios.1,
            model.macs.total(),
            model.macs.other
        ),
        input: sig.input.to_string(),
        output: sig.output.to_string(),
        variables: template.variables.clone(),
        fixed: sig.fixed.to_vec(),
        bindings,
        budgets,
    };
    file.check()?;
    Ok(file)
}

/// A GPT weight must have at least the smallest slot's weights over this many parameters
/// (or the template's floor, if lower): Syno's GPT-2 spec asks for 1e5 of a 1.77e6-weight
/// projection, about a 1/16th.
pub const MIN_WEIGHT_FRACTION: f64 = 16.0;

/// The parameter window of a GPT's slots: an operator's weights, summed over every slot, may
/// range up to the original layers' (a structured replacement of a dense projection is never
/// larger than it). Image models keep the template's (no window).
pub fn params_window(model: &HostModel) -> Option<(f64, f64)> {
    if !model.kind().is_language() {
        return None;
    }
    let dense: f64 = model.slots.iter().map(|s| s.shape.params()).sum();
    Some((0.0, dense))
}

/// The spec as file text, with a comment saying where it came from.
pub fn spec_text(file: &SpecFile, command: &str) -> String {
    format!(
        "// Generated by `{command}`: do not edit by hand.\n{}\n",
        to_ron(file)
    )
}

/// The slot-spec template of `config` ([`builtin_template`]): for a GPT whose slots are not
/// the QKV projections alone, `experiments/specs/gpt-linear.ron` (its slots are
/// `[N, seq_len, H_in] → [N, seq_len, H_out]`).
pub fn builtin_template_for(config: &ModelConfig) -> (&'static str, &'static str) {
    match config {
        ModelConfig::Gpt(g) if g.slots == GptSlots::Mix => (
            "experiments/specs/gpt-mix.ron",
            include_str!("../../experiments/specs/gpt-mix.ron"),
        ),
        ModelConfig::Gpt(g) if g.slots != GptSlots::Qkv => (
            "experiments/specs/gpt-linear.ron",
            include_str!("../../experiments/specs/gpt-linear.ron"),
        ),
        _ => builtin_template(config.kind()),
    }
}

/// The family's slot-spec template in `experiments/specs/` (where the variables and the
/// synthesis budgets come from), as (path, text): compiled into the binary.
pub fn builtin_template(kind: ModelKind) -> (&'static str, &'static str) {
    match kind {
        // The other CIFAR-style classifiers' slots are 3×3 convolutions too: ResNet-18's
        // variables and budgets.
        ModelKind::ResNet18
        | ModelKind::ResNet34
        | ModelKind::DenseNet121
        | ModelKind::EfficientNetV2S
        | ModelKind::ResNeXt29 => (
            "experiments/specs/resnet18-conv.ron",
            include_str!("../../experiments/specs/resnet18-conv.ron"),
        ),
        ModelKind::Cnn => (
            "experiments/specs/cnn-small.ron",
            include_str!("../../experiments/specs/cnn-small.ron"),
        ),
        ModelKind::Gpt => (
            "experiments/specs/gpt-qkv.ron",
            include_str!("../../experiments/specs/gpt-qkv.ron"),
        ),
    }
}
