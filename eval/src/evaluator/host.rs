//! A campaign's host model, built once: the checks a campaign passes before anything is
//! written (model, dataset, devices, slot spec), the slot spec generated from the model or
//! checked against it, and one [`TchEvaluator`] per worker (`evaluations_per_device` per
//! device) sharing the model's slots.

use super::config::{TchEvaluatorConfig, dataset, model_config};
use super::gate::DeviceGate;
use super::{TchEvaluator, parse_device};
use crate::data::{DatasetName, check_text_context, data_dir, dataset_dir, load_images, load_text};
use crate::error::{Error, Result};
use crate::models::slot::Fill;
use crate::models::{HostModel, ModelConfig};
use crate::spec_gen::{builtin_template_for, model_spec, spec_text};
use crate::train::TrainConfig;
use kas_campaign::{CampaignFile, SpecSource};
use kas_primitives::format::parse_ron;
use kas_primitives::{Spec, SpecFile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The host model of a campaign with its original layers at the recipe's batch, and the
/// dataset it trains on.
#[derive(Debug)]
pub struct CampaignHost {
    /// The model's sizes.
    pub config: ModelConfig,
    /// The dataset.
    pub data: DatasetName,
    /// The model, built once.
    pub model: HostModel,
    /// The campaign's name (for messages).
    campaign: String,
}

impl CampaignHost {
    /// Reads the campaign's model and dataset and builds the model once. Errors: an unknown
    /// model, dataset or slot family, sizes that do not make a model, a pair the evaluator
    /// does not train (image classifiers on images, the GPT on text), a language model's
    /// campaign whose reward target is not a loss.
    pub fn new(file: &CampaignFile) -> Result<CampaignHost> {
        let config = model_config(file)?;
        let data = dataset(file)?;
        if config.kind().is_language() == data.is_image() {
            return Err(Error::NotImageClassifier {
                model: config.kind(),
                data,
            });
        }
        if config.kind().is_language() && !file.reward.target.lower_is_better() {
            return Err(Error::LossTargetNeeded {
                model: config.kind(),
            });
        }
        let batch = TrainConfig::recipe(config.kind(), tch::Device::Cpu).batch;
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let model = HostModel::new(config, batch, Fill::Original, &vs.root())?;
        Ok(CampaignHost {
            config,
            data,
            model,
            campaign: file.name.clone(),
        })
    }

    /// Checks that the dataset is in the data directory (`data_root` or the default) and
    /// loads (the evaluators' loader, [`load_images`]: every file read and its IDX headers
    /// and sizes checked; a corpus with [`load_text`], long enough for the model's context),
    /// and that every device of `file` is there.
    pub fn check(&self, file: &CampaignFile, data_root: Option<&Path>) -> Result<()> {
        let dir = data_dir(data_root);
        if !dataset_dir(self.data, &dir).is_dir() {
            return Err(Error::DatasetMissing {
                name: self.data.to_string(),
                dir,
            });
        }
        if self.data.is_image() {
            load_images(self.data, &dir)?;
        } else if let ModelConfig::Gpt(g) = self.config {
            let set = load_text(self.data, &dir)?;
            check_text_context(&set.train, g.context)?;
            check_text_context(&set.val, g.context)?;
        }
        for d in &file.devices {
            if let tch::Device::Cuda(k) = parse_device(d)? {
                let visible = if crate::tch_plan::cuda_available() {
                    tch::Cuda::device_count()
                } else {
                    0
                };
                if k as i64 >= visible {
                    return Err(Error::DeviceUnavailable {
                        device: d.clone(),
                        visible,
                    });
                }
            }
        }
        Ok(())
    }

    /// `file` with its slot spec generated from the model (`FromModel`) or checked against
    /// the model's slots (a spec file, relative to `base`, or text): every slot of the model
    /// must have a binding with the slot's sizes.
    pub fn resolve_spec(&self, mut file: CampaignFile, base: &Path) -> Result<CampaignFile> {
        let kind = self.config.kind();
        let (template_path, template_text) = builtin_template_for(&self.config);
        let template: SpecFile = parse_ron(template_text, template_path)?;
        let generated = model_spec(&self.model, &template)?;
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
                let pairs: BTreeMap<String, u64> = b.pairs(&spec.vars).into_iter().collect();
                slot.values.iter().all(|(k, v)| pairs.get(k) == Some(v))
            });
            if !fits {
                return Err(Error::SpecMismatch {
                    campaign: self.campaign.clone(),
                    spec: spec.name.clone(),
                    model: kind,
                    slot: slot.name.clone(),
                    sizes: slot
                        .values
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        Ok(file)
    }

    /// One evaluator per worker of `file` (`evaluations_per_device` per device; each loads the
    /// dataset once), with the settings of [`TchEvaluatorConfig::from_campaign`]; the
    /// evaluators of one device share its [`DeviceGate`]. `worker` is the `kas` executable
    /// that times in worker processes.
    pub fn evaluators(
        &self,
        file: &CampaignFile,
        data_root: Option<&Path>,
        worker: &Path,
    ) -> Result<Vec<TchEvaluator>> {
        let mut gates: BTreeMap<String, Arc<DeviceGate>> = BTreeMap::new();
        file.worker_devices()
            .iter()
            .map(|d| {
                let gate = gates.entry(d.clone()).or_default().clone();
                let cfg = TchEvaluatorConfig::from_campaign(
                    file,
                    d,
                    data_root,
                    Some(PathBuf::from(worker)),
                )?;
                TchEvaluator::with_slots(&cfg, self.model.slots.clone())
                    .map(|e| e.with_gate(gate))
                    .map_err(|e| Error::OnDevice {
                        device: d.clone(),
                        source: Box::new(e),
                    })
            })
            .collect()
    }
}
