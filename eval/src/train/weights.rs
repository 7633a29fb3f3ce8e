//! The trained weights of the operators in a host model's slots, as a safetensors file
//! (`docs/FORMAT.md`, "Trained weights"): one f32 tensor `<slot>.w<t>` per weight `w<t>` of the
//! operator in slot `<slot>` (the slot's path in the model, e.g. `layer1.0.conv1`), in the
//! operator's shape under the slot's binding. `kas export DIR --best` puts the file of the
//! campaign's best operator in its bundle.

use crate::error::{Error, Result};
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use std::collections::HashMap;
use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Kind};

/// Where a slot's operator keeps its weights in the model's variables: `<slot>.op.w<t>`.
const OPERATOR_PATH: &str = ".op.";

/// One saved weight: its name `<slot>.w<t>`, shape and f32 values.
pub type SlotWeight = (String, Vec<usize>, Vec<f32>);

/// The slot-operator variables of `vs`, sorted by name.
pub fn slot_weights(vs: &VarStore) -> Result<Vec<SlotWeight>> {
    let mut out = Vec::new();
    for (name, t) in vs.variables() {
        let Some((slot, w)) = name.rsplit_once(OPERATOR_PATH) else {
            continue;
        };
        if !w.starts_with('w') || !w[1..].chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let t = t
            .detach()
            .to_device(Device::Cpu)
            .to_kind(Kind::Float)
            .contiguous();
        let shape: Vec<usize> = t.size().iter().map(|&x| x as usize).collect();
        let values = Vec::<f32>::try_from(t.flatten(0, -1))?;
        out.push((format!("{slot}.{w}"), shape, values));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Writes the slot-operator weights of `vs` to `path` (through a temporary file, renamed
/// into place); returns how many tensors. Nothing is written when the model has none.
pub fn save_slot_weights(vs: &VarStore, path: &Path) -> Result<usize> {
    let weights = slot_weights(vs)?;
    if weights.is_empty() {
        return Ok(0);
    }
    let io = |source: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes: Vec<Vec<u8>> = (weights.iter())
        .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views = weights
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| {
            TensorView::new(Dtype::F32, shape.clone(), b)
                .map(|v| (name.clone(), v))
                .map_err(|e| io(std::io::Error::other(e.to_string())))
        })
        .collect::<Result<Vec<_>>>()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("safetensors.tmp");
    let metadata = HashMap::from([("written_by".to_string(), "kas".to_string())]);
    safetensors::serialize_to_file(views, &Some(metadata), &tmp)
        .map_err(|e| io(std::io::Error::other(e.to_string())))?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(weights.len())
}
