//! `kas spec --model M`: the spec of a host model's slots, generated from the model.

use crate::Verdict;
use crate::cli::SpecArgs;
use anyhow::Context;
use kas_eval::models::slot::Fill;
use kas_eval::models::{HostModel, ModelConfig, ModelKind};
use kas_eval::spec_gen::{builtin_template_for, model_spec, spec_text};
use kas_eval::train::TrainConfig;
use kas_primitives::format::parse_ron;
use kas_primitives::{Spec, SpecFile};
use std::collections::BTreeSet;

/// Runs `kas spec`.
pub fn run(a: SpecArgs) -> anyhow::Result<Verdict> {
    let kind: ModelKind = a.model.parse()?;
    let mut config = kind.default_config();
    let gpt_sizes = [a.width, a.layers, a.heads, a.context];
    if a.slots.is_some() || gpt_sizes.iter().any(Option::is_some) {
        let ModelConfig::Gpt(g) = &mut config else {
            if a.slots.is_some() {
                return Err(kas_eval::error::ConfigError::NoSlotFamilies { model: kind }.into());
            }
            anyhow::bail!("--width, --layers, --heads and --context apply to gpt, not {kind}");
        };
        if let Some(f) = &a.slots {
            g.slots = f.parse()?;
        }
        for (field, v) in [
            (&mut g.width, a.width),
            (&mut g.layers, a.layers),
            (&mut g.heads, a.heads),
            (&mut g.context, a.context),
        ] {
            if let Some(v) = v {
                if v < 1 {
                    anyhow::bail!("GPT sizes must be at least 1 (got {v})");
                }
                *field = v;
            }
        }
        if g.width % g.heads != 0 {
            anyhow::bail!(
                "the width {} is not a multiple of {} heads",
                g.width,
                g.heads
            );
        }
    }
    let (path, text) = match &a.template {
        Some(p) => (
            p.display().to_string(),
            kas_primitives::format::read_text(p)?,
        ),
        None => {
            let (p, t) = builtin_template_for(&config);
            (p.to_string(), t.to_string())
        }
    };
    Spec::read(&text, &path)?;
    let template: SpecFile = parse_ron(&text, &path)?;
    let batch = a
        .batch
        .unwrap_or_else(|| TrainConfig::recipe(kind, tch::Device::Cpu).batch);
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let model = HostModel::new(config, batch, Fill::Original, &vs.root())?;
    let file = model_spec(&model, &template)?;
    let mut slots = a
        .slots
        .as_ref()
        .map_or(String::new(), |s| format!(" --slots {s}"));
    for (flag, v) in [
        ("width", a.width),
        ("layers", a.layers),
        ("heads", a.heads),
        ("context", a.context),
    ] {
        if let Some(v) = v {
            slots.push_str(&format!(" --{flag} {v}"));
        }
    }
    let command = format!("kas spec --model {kind}{slots} --batch {batch}");
    let out = spec_text(&file, &command);
    // The written spec must read back.
    Spec::read(&out, "generated spec")?;
    match &a.out {
        None => print!("{out}"),
        Some(p) => {
            std::fs::write(p, &out).with_context(|| format!("writing {}", p.display()))?;
            let distinct: BTreeSet<_> = file.bindings.iter().map(|b| &b.values).collect();
            let (lo, hi) = file.budgets.flops;
            let params = if file.budgets.params.1 < f64::MAX {
                let (a, b) = file.budgets.params;
                format!(", parameter window [{a:.4e}, {b:.4e}]")
            } else {
                String::new()
            };
            println!(
                "spec {}: {} slots, {} distinct shapes, FLOPs window [{lo:.4e}, {hi:.4e}]{params} -> {}",
                file.name,
                file.bindings.len(),
                distinct.len(),
                p.display()
            );
        }
    }
    Ok(Verdict::Success)
}
