//! `kas verify --grad`: each operator's gradient with respect to every tensor, checked in f64
//! against the interpreter (adjoint identity, finite differences), then through the same
//! backends as the forward operator (`docs/ARCHITECTURE.md`, "Gradients").

use crate::verify::verify_one;
use kas_codegen::Precision;
use kas_eval::gpu::Gpu;
use kas_primitives::grad::{check_all_bindings, gradients};
use kas_primitives::{Error, Operator, write_operator};
use serde_json::{Value, json};
use std::path::Path;

/// Counts over every gradient checked.
#[derive(Debug, Default)]
pub(crate) struct GradTally {
    /// Gradient operators built and checked.
    pub checked: usize,
    /// Of those, the ones every check accepted.
    pub equal: usize,
    /// Tensors whose gradient has no operator in the algebra.
    pub missing: usize,
}

impl GradTally {
    /// The summary line.
    pub fn line(&self) -> String {
        format!(
            "gradients: {}/{} equal, {} tensors without a gradient operator",
            self.equal, self.checked, self.missing
        )
    }
}

/// Where and how the gradients are checked.
pub(crate) struct GradContext<'a> {
    /// The GPU the backends run on (`None`: the CPU, kernels compiled only).
    pub gpu: Option<&'a Gpu>,
    /// Precision of the CUDA kernels.
    pub precision: Precision,
    /// Seed of the random tensors.
    pub seed: u64,
    /// Where failing gradient operators are saved.
    pub out: &'a Path,
}

/// What checking one operator's gradients found.
pub(crate) struct GradOutcome {
    /// One JSON record per tensor.
    pub records: Vec<Value>,
    /// The first failure, naming the tensor.
    pub failure: Option<String>,
}

/// Checks the gradient of `op` with respect to every tensor; a failing gradient operator is
/// saved as `{name}-grad{t}.ron` under `out`. `by_model` counts kernel results that only the
/// precision's storage model explains, as for the forward operator.
pub(crate) fn verify_gradients(
    name: &str,
    op: &Operator,
    cx: &GradContext<'_>,
    checks: &mut usize,
    tally: &mut GradTally,
    by_model: &mut usize,
) -> anyhow::Result<GradOutcome> {
    let (gpu, precision, seed) = (cx.gpu, cx.precision, cx.seed);
    let mut records = Vec::new();
    let mut failure = None;
    for (t, g) in gradients(op).into_iter().enumerate() {
        let g = match g {
            Ok(g) => g,
            Err(e @ Error::NoGradient { primitive, .. }) => {
                tally.missing += 1;
                records.push(json!({"tensor": t, "status": "none", "primitive": primitive, "reason": e.to_string()}));
                continue;
            }
            Err(e) => {
                let reason = format!("gradient of tensor {t}: {e}");
                tally.checked += 1;
                records.push(json!({"tensor": t, "status": "mismatch", "reason": reason}));
                failure.get_or_insert(reason);
                continue;
            }
        };
        tally.checked += 1;
        let gname = format!("{name}-grad{t}");
        let outcome = match check_all_bindings(op, &g, seed.wrapping_add(7 * t as u64)) {
            Err(e) => Err(format!("f64 check: {e}")),
            Ok(Err(why)) => Err(format!("f64 check {why}")),
            Ok(Ok(())) => verify_one(&gname, &g.op, gpu, precision, seed, checks, by_model),
        };
        match outcome {
            Ok(()) => {
                tally.equal += 1;
                records.push(json!({"tensor": t, "status": "equal"}));
            }
            Err(why) => {
                let reason = format!("gradient of tensor {t}: {why}");
                let path = cx.out.join(format!("{gname}.ron"));
                std::fs::write(&path, write_operator(&gname, &reason, &g.op)?)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                records.push(json!({"tensor": t, "status": "mismatch", "reason": reason}));
                failure.get_or_insert(reason);
            }
        }
    }
    Ok(GradOutcome { records, failure })
}
