//! The Tch evaluator in `kas search`: checks a campaign against the model and the data before
//! anything is written, generates or checks its slot spec, and builds one
//! [`TchEvaluator`] per device.

use anyhow::{Context, bail};
use kas_eval::data::{DatasetName, data_dir, dataset_dir};
use kas_eval::evaluator::{TchEvaluator, TchEvaluatorConfig, parse_device};
use kas_eval::models::slot::Fill;
use kas_eval::models::{HostModel, ModelConfig, ModelKind};
use kas_eval::spec_gen::{model_spec, spec_text};
use kas_eval::train::TrainConfig;
use kas_eval::tune::KernelMode;
use kas_primitives::format::parse_ron;
use kas_primitives::{Spec, SpecFile};
use kas_search::{CampaignFile, Evaluator, Kernels, SpecSource};
use std::path::Path;
use std::sync::Arc;

/// Seconds of wall time each timing measurement may take.
const TIMING_BUDGET_S: f64 = 2.0;
/// Candidates whose slot set is more than this many times slower than the original layers
/// are not trained (a `timeout` failure): on a CPU their training would take as much longer.
/// On the CPU, training may take as many times the baseline's too.
const SLOWDOWN_LIMIT: f64 = 25.0;
/// On a GPU, a candidate's training (its tch plan) may take at most this many times the
/// baseline's (cuDNN) at the same fidelity, plus a grace: the timed kernels are kas's, which
/// say nothing of the tch plan's speed, so training has its own bound.
const GPU_TRAIN_SLOWDOWN_LIMIT: f64 = 4.0;
/// Seconds added to every candidate's training-time limit (allocations, warm-up).
const TRAIN_GRACE_S: f64 = 10.0;
/// On a GPU, a candidate whose tch plan would create more than this fraction of the device's
/// memory in tensors over the slot set is not evaluated (it would run out of memory in
/// training, or crawl).
const MAX_MEMORY_FRACTION: f64 = 0.4;

/// The campaign's model with its size overrides.
pub fn model_config(file: &CampaignFile) -> anyhow::Result<ModelConfig> {
    let kind: ModelKind = file
        .model
        .name
        .parse()
        .with_context(|| format!("campaign `{}`", file.name))?;
    let mut m = kind.default_config();
    let to_i64 = |v: u64| i64::try_from(v).context("size out of range");
    match &mut m {
        ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) => {
            if let Some(w) = file.model.width {
                v.width = to_i64(w)?;
            }
            if let Some(s) = file.model.image {
                v.image = to_i64(s)?;
            }
        }
        ModelConfig::Gpt(g) => {
            if let Some(w) = file.model.width {
                g.width = to_i64(w)?;
            }
            if file.model.image.is_some() {
                bail!("campaign `{}`: gpt has no image size", file.name);
            }
        }
    }
    Ok(m)
}

/// Checks what the Tch evaluator needs (model, dataset, devices) before anything is written.
pub fn check(file: &CampaignFile, data_root: Option<&Path>) -> anyhow::Result<()> {
    let model = model_config(file)?;
    let data: DatasetName = file
        .data
        .parse()
        .with_context(|| format!("campaign `{}`", file.name))?;
    if model.kind().is_language() || !data.is_image() {
        bail!(
            "campaign `{}`: the Tch evaluator trains image classifiers (resnet18 or cnn on fashion-mnist or mnist), not {} on {data}",
            file.name,
            model.kind()
        );
    }
    let dir = data_dir(data_root);
    if !dataset_dir(data, &dir).is_dir() {
        bail!(
            "dataset {data} not found in {}: run `kas data fetch {data}`",
            dir.display()
        );
    }
    for d in &file.devices {
        if let tch::Device::Cuda(k) = parse_device(d)? {
            let n = if kas_eval::tch_plan::cuda_available() {
                tch::Cuda::device_count()
            } else {
                0
            };
            if k as i64 >= n {
                bail!(
                    "campaign `{}`: device {d} is not available ({n} CUDA devices visible to libtorch)",
                    file.name
                );
            }
        }
    }
    // Builds the model once: sizes that do not make a model fail here.
    slots_model(file)?;
    Ok(())
}

/// The model with its original layers at the recipe's batch.
fn slots_model(file: &CampaignFile) -> anyhow::Result<HostModel> {
    let model = model_config(file)?;
    let batch = TrainConfig::recipe(model.kind(), tch::Device::Cpu).batch;
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    HostModel::new(model, batch, Fill::Original, &vs.root())
        .with_context(|| format!("campaign `{}`: model {}", file.name, model.kind()))
}

/// The campaign with its slot spec generated from the model (`FromModel`) or checked against
/// the model's slots (a spec file or text): every slot of the model must have a binding with
/// the slot's sizes.
pub fn resolve_spec(mut file: CampaignFile, base: &Path) -> anyhow::Result<CampaignFile> {
    let model = slots_model(&file)?;
    let kind = model.kind();
    let (template_path, template_text) = crate::spec::builtin_template(kind);
    let generated = {
        let template: SpecFile = parse_ron(template_text, template_path)?;
        model_spec(&model, &template)?
    };
    if file.model.spec == SpecSource::FromModel {
        let text = spec_text(&generated, &format!("kas search (campaign {})", file.name));
        Spec::read(&text, "generated spec")?;
        file.model.spec = SpecSource::Text(text);
        return Ok(file);
    }
    let text = file.spec_text(base)?;
    let spec = Spec::read(&text, &format!("campaign `{}` spec", file.name))?;
    for slot in &generated.bindings {
        let fits = spec.bindings.iter().any(|b| {
            let pairs: std::collections::BTreeMap<String, u64> =
                b.pairs(&spec.vars).into_iter().collect();
            slot.values.iter().all(|(k, v)| pairs.get(k) == Some(v))
        });
        if !fits {
            let sizes: Vec<String> = slot
                .values
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            bail!(
                "campaign `{}`: spec `{}` does not fit model {kind}: slot `{}` ({}) has no binding with its sizes; drop `spec` to generate it from the model (`kas spec --model {kind}`)",
                file.name,
                spec.name,
                slot.name,
                sizes.join(", ")
            );
        }
    }
    Ok(file)
}

/// One evaluator per device of the campaign (each loads the dataset once).
pub fn evaluators(
    file: &CampaignFile,
    data_root: Option<&Path>,
) -> anyhow::Result<Vec<Arc<dyn Evaluator>>> {
    let model = model_config(file)?;
    let data: DatasetName = file.data.parse()?;
    let exe = std::env::current_exe().context("cannot locate the kas executable")?;
    let to_i64 = |v: Option<u64>| v.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    file.devices
        .iter()
        .map(|d| {
            let cfg = TchEvaluatorConfig {
                model,
                data,
                data_dir: data_dir(data_root),
                train_subset: to_i64(file.train_subset),
                test_subset: to_i64(file.test_subset),
                device: d.clone(),
                seed: file.seed,
                // GPU kernels are timed in worker processes (a faulting kernel fails its
                // candidate, not the campaign); the CPU's tch plan in this process.
                worker: (d != "cpu").then(|| exe.clone()),
                timing_budget_s: TIMING_BUDGET_S,
                min_speedup: 1.0 / SLOWDOWN_LIMIT,
                train_slowdown_limit: if d == "cpu" {
                    SLOWDOWN_LIMIT
                } else {
                    GPU_TRAIN_SLOWDOWN_LIMIT
                },
                train_grace_s: TRAIN_GRACE_S,
                max_memory_fraction: MAX_MEMORY_FRACTION,
                kernels: match file.kernels {
                    Kernels::Tuned => KernelMode::Tuned,
                    Kernels::Heuristic => KernelMode::Heuristic,
                    Kernels::Reference => KernelMode::Reference,
                },
            };
            let ev = TchEvaluator::new(&cfg).with_context(|| format!("device {d}"))?;
            Ok(Arc::new(ev) as Arc<dyn Evaluator>)
        })
        .collect()
}
