//! The PyTorch side of `kas export`: the layer shapes (`--shape`, or the operator's bindings
//! one per distinct shape), the campaign's best operator (`--best`) and its saved weights.

use anyhow::{Context, bail};
use kas_codegen::export::pytorch::{batch_variable, gradients_without_kernels};
use kas_primitives::format::{read_operator_file, read_text};
use kas_primitives::{Binding, Operator};
use kas_search::report::CampaignReport;
use std::path::{Path, PathBuf};

/// Folder of a campaign where the trained slot weights of its full-fidelity evaluations are
/// saved, one `<canonical hash>.safetensors` per operator (docs/FORMAT.md).
pub const WEIGHTS_DIR: &str = "weights";

/// The best operator of the campaign in `dir` (the first of `kas report`): its name, the
/// operator, and the file of its trained weights where the campaign saved one.
pub fn best(dir: &Path) -> anyhow::Result<(String, Operator, Option<PathBuf>)> {
    if !dir.join("campaign.ron").exists() {
        bail!(
            "{} is not a campaign directory (no campaign.ron): `--best` exports a campaign's best operator",
            dir.display()
        );
    }
    let report = CampaignReport::load(dir)?;
    let Some(row) = report.measured().next() else {
        bail!(
            "campaign {} has no measured operator yet: nothing to export",
            dir.display()
        );
    };
    let path = report.operator_path(&row.canonical);
    let text = read_text(&path)?;
    let (file, op) = read_operator_file(&text, &path.display().to_string())
        .with_context(|| format!("cannot read the best operator {}", path.display()))?;
    let weights = dir
        .join(WEIGHTS_DIR)
        .join(format!("{}.safetensors", row.canonical));
    Ok((file.name, op, weights.exists().then_some(weights)))
}

/// Prints, for each tensor of `op` without a gradient operator, that its gradient comes from
/// the formula in the Python module (slow), with the reason.
pub fn note_missing_gradients(op: &Operator) -> anyhow::Result<()> {
    for (t, why) in gradients_without_kernels(op)? {
        println!(
            "gradient of tensor {t}: no kernels ({why}); the Python module computes it from the formula, far more slowly"
        );
    }
    Ok(())
}

/// The PyTorch shapes: each `--shape NAME:VAR=V,…` (the batch set to 1 where left out), or,
/// without any, the operator's bindings with the batch left out, one per distinct shape
/// (named after its first binding).
pub fn shapes(op: &Operator, given: &[String]) -> anyhow::Result<Vec<Binding>> {
    let batch = batch_variable(op)?;
    let batch_name = op.vars.primary[batch].name.clone();
    if given.is_empty() {
        let mut out: Vec<Binding> = Vec::new();
        for b in &op.bindings {
            let mut one = b.clone();
            one.primary[batch] = 1;
            if !out
                .iter()
                .any(|x| x.primary == one.primary && x.coeff == one.coeff)
            {
                out.push(one);
            }
        }
        if out.is_empty() {
            bail!("the operator has no binding: give the shapes with --shape NAME:VAR=V,…");
        }
        return Ok(out);
    }
    given
        .iter()
        .map(|text| {
            let (name, values) = text.split_once(':').with_context(|| {
                format!(
                    "--shape {text:?}: expected NAME:VAR=V,VAR=V,… (e.g. l1:C_in=64,C_out=64,H=32)"
                )
            })?;
            let mut pairs: Vec<(String, u64)> = Vec::new();
            for kv in values.split(',').filter(|s| !s.trim().is_empty()) {
                let (k, v) = kv
                    .split_once('=')
                    .with_context(|| format!("--shape {text:?}: `{kv}` is not VAR=V"))?;
                let v: u64 = v.trim().parse().with_context(|| {
                    format!("--shape {text:?}: `{v}` is not a positive integer")
                })?;
                pairs.push((k.trim().to_string(), v));
            }
            if !pairs.iter().any(|(k, _)| *k == batch_name) {
                pairs.push((batch_name.clone(), 1));
            }
            if name.trim().is_empty() {
                bail!("--shape {text:?}: the shape needs a name before `:`");
            }
            let b = op
                .vars
                .bind(name.trim(), pairs.iter().map(|(k, v)| (k.as_str(), *v)))
                .with_context(|| format!("--shape {text:?}"))?;
            let mut bound = op.clone();
            bound.bindings = vec![b.clone()];
            bound
                .validate()
                .with_context(|| format!("--shape {text:?}: not a legal shape of the operator"))?;
            Ok(b)
        })
        .collect()
}
