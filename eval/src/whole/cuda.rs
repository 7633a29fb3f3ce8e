//! Whole-model timing on the GPU (see the parent module): per batch size, the two models
//! built alike, kas's kernels compiled for every slot, checked against the tch plan, then the
//! original model, the candidate with kas's kernels and the original with its slots skipped
//! captured as CUDA graphs and timed; or, with `train`, one training step of each, eagerly.

use super::graph::{Captured, EagerSampler, GraphSampler, capture, guarded, synchronize, timer};
use super::kernels::{SlotKernels, check_primary_context, storage_kind};
use super::pair::{Trainer, build, calibrate, input};
use super::skip::Skip;
use super::{ModelEvent, ModelRequest, ModelRow, ModelValidation, rel_frobenius};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::models::slot::{Fill, SlotOverride, with_override};
use crate::models::{HostModel, ModelKind};
use crate::timing::clock::WallClock;
use crate::timing::cuda::open_gpu;
use crate::timing::protocol::{Measurement, Sampler, measure};
use kas_codegen::Precision;
use kas_primitives::Operator;
use std::rc::Rc;
use tch::nn::ModuleT;
use tch::{Device, Tensor};

/// The bound on each slot's error against its tch plan: the bench's (`max|a − b| / max|b|` ≤
/// 1e-4 at f32 becomes the relative Frobenius error ≤ 1e-4; TF32 and bf16 their
/// [`Precision::tolerance`]).
pub(crate) fn slot_tolerance(p: Precision) -> f64 {
    match p {
        Precision::F32 => 1e-4,
        Precision::Tf32 | Precision::Bf16 => p.tolerance(),
    }
}

/// The model's output is held to this many times the slots' bound: every slot's error travels
/// through the layers after it.
pub(crate) const MODEL_TOLERANCE_FACTOR: f64 = 10.0;

struct Target {
    gpu: Gpu,
    key: String,
    l2: usize,
}

/// Runs `req` on GPU 0.
pub(super) fn run(
    req: &ModelRequest,
    op: &Operator,
    kind: ModelKind,
    emit: &mut dyn FnMut(&ModelEvent) -> Result<()>,
) -> Result<()> {
    let (gpu, fingerprint, l2) = open_gpu(req.precision)?;
    if req.train && req.precision == Precision::Bf16 {
        crate::torch_context::set_autocast_bf16()?;
    }
    let t = Target {
        key: fingerprint.device_key(),
        gpu,
        l2,
    };
    emit(&ModelEvent::Ready {
        fingerprint: Box::new(fingerprint),
    })?;
    for &batch in &req.batches {
        let row = if req.train {
            train_row(&t, req, op, kind, batch, emit)?
        } else {
            forward_row(&t, req, op, kind, batch, emit)?
        };
        emit(&ModelEvent::Row { row: Box::new(row) })?;
    }
    Ok(())
}

fn say(emit: &mut dyn FnMut(&ModelEvent) -> Result<()>, batch: i64, what: &str) -> Result<()> {
    emit(&ModelEvent::Progress {
        message: format!("batch {batch}: {what}"),
    })
}

/// The forward pass of `m` on `x` (no gradients), its slots through `o` when given.
fn forward(m: &HostModel, x: &Tensor, o: Option<&Rc<dyn SlotOverride>>) -> Tensor {
    tch::no_grad(|| match o {
        Some(o) => with_override(o.clone(), || m.forward_t(x, false)),
        None => m.forward_t(x, false),
    })
}

fn forward_row(
    t: &Target,
    req: &ModelRequest,
    op: &Operator,
    kind: ModelKind,
    batch: i64,
    emit: &mut dyn FnMut(&ModelEvent) -> Result<()>,
) -> Result<ModelRow> {
    let (p, cuda) = (req.precision, Device::Cuda(0));
    let dtype = storage_kind(p);
    say(emit, batch, "building the models")?;
    let original = build(kind, batch, Fill::Original, cuda, dtype, req.seed)?;
    let candidate = build(kind, batch, Fill::Operator(op), cuda, dtype, req.seed)?;
    // Validation compares values: the norms get a trained model's statistics first.
    calibrate(&original, kind, cuda, dtype, req.seed);
    calibrate(&candidate, kind, cuda, dtype, req.seed);
    let x = input(kind, batch, cuda, dtype, req.seed);
    check_primary_context(&t.gpu)?;
    let mut row = ModelRow::new(batch, "");
    let t0 = std::time::Instant::now();
    let compiled = SlotKernels::compile(
        &t.gpu,
        &t.key,
        op,
        &candidate.model.slots,
        batch,
        p,
        req.kernels,
        req.seed,
        &mut |m| {
            let _ = say(emit, batch, m);
        },
    );
    row.compile_s = Some(t0.elapsed().as_secs_f64());
    let kernels = match compiled {
        Ok(k) => Rc::new(k),
        Err(e) => {
            row.failure = Some(format!("compiling kas's kernels: {e}"));
            return Ok(row);
        }
    };
    row.kernels = kernels.describe();
    say(emit, batch, "checking kas's kernels against the tch plan")?;
    let kas: Rc<dyn SlotOverride> = kernels.clone();
    let (validation, eager) = validate(&kernels, &kas, &candidate.model, &x, p)?;
    let bad = |e: f64, tol: f64| e.is_nan() || e > tol;
    if let Some(e) = kernels.take_error() {
        row.failure = Some(e);
    } else if bad(validation.slot_err, validation.slot_tolerance) {
        row.failure = Some(format!(
            "slot {}: kas's kernels differ from the tch plan: err {:.2e} > {:.0e}",
            validation.worst_slot, validation.slot_err, validation.slot_tolerance
        ));
    } else if bad(validation.model_err, validation.model_tolerance) {
        row.failure = Some(format!(
            "the model's output with kas's kernels differs from the tch plan's: err {:.2e} > {:.0e}",
            validation.model_err, validation.model_tolerance
        ));
    }
    row.validation = Some(validation);
    if row.failure.is_some() {
        return Ok(row);
    }
    say(emit, batch, "capturing CUDA graphs")?;
    let skip: Rc<dyn SlotOverride> = Rc::new(Skip::default());
    let errors = || kernels.take_error();
    let none = || None;
    let graphs = (|| {
        let o = capture(&t.gpu, || forward(&original.model, &x, None), &none)?;
        let k = capture(
            &t.gpu,
            || forward(&candidate.model, &x, Some(&kas)),
            &errors,
        )?;
        let r = capture(&t.gpu, || forward(&original.model, &x, Some(&skip)), &none)?;
        Ok::<_, String>([o, k, r])
    })();
    let runs = match graphs {
        Ok(g) => {
            let err = replay_err(t, &g[1], &eager)?;
            if let Some(v) = row.validation.as_mut() {
                v.graph_err = Some(err);
            }
            if bad(err, slot_tolerance(p)) {
                row.failure = Some(format!(
                    "the replayed CUDA graph's output differs from the eager run's: err {err:.2e}"
                ));
                return Ok(row);
            }
            row.execution = "CUDA graphs, both sides".into();
            say(emit, batch, "timing the graphs")?;
            let timed = |c: &Captured| -> Result<std::result::Result<Measurement, String>> {
                let mut s = GraphSampler {
                    graph: c,
                    timer: timer(&t.gpu, t.l2)?,
                };
                Ok(time(req, &mut s))
            };
            [timed(&g[0])?, timed(&g[1])?, timed(&g[2])?]
        }
        Err(reason) => {
            synchronize(&t.gpu)?;
            row.execution =
                format!("eager launches, both sides (CUDA graph capture failed: {reason})");
            say(emit, batch, "timing eager launches")?;
            let timed = |o: Option<&Rc<dyn SlotOverride>>,
                         m: &HostModel,
                         errors: &dyn Fn() -> Option<String>|
             -> Result<std::result::Result<Measurement, String>> {
                let mut s = EagerSampler {
                    work: || {
                        drop(forward(m, &x, o));
                        Ok(())
                    },
                    timer: timer(&t.gpu, t.l2)?,
                    errors,
                };
                Ok(time(req, &mut s))
            };
            [
                timed(None, &original.model, &none)?,
                timed(Some(&kas), &candidate.model, &errors)?,
                timed(Some(&skip), &original.model, &none)?,
            ]
        }
    };
    let [o, k, r] = runs;
    let mut failures = Vec::new();
    let mut keep = |m: std::result::Result<Measurement, String>, what: &str| match m {
        Ok(m) => Some(m),
        Err(e) => {
            failures.push(format!("{what}: {e}"));
            None
        }
    };
    row.original = keep(o, "original");
    row.kas = keep(k, "kas");
    row.rest = keep(r, "slots skipped");
    row.failure = failures.into_iter().next();
    Ok(row)
}

/// Times `s` under the request's protocol (wall clock for the budget).
fn time(req: &ModelRequest, s: &mut dyn Sampler) -> std::result::Result<Measurement, String> {
    measure(&req.protocol, s, &WallClock::new()).map_err(|e| e.to_string())
}

/// The candidate's output with kas's kernels against its output with the tch plan, both
/// eager, every slot compared with its plan on the same input; the kernels' output is returned.
fn validate(
    kernels: &SlotKernels,
    kas: &Rc<dyn SlotOverride>,
    model: &HostModel,
    x: &Tensor,
    p: Precision,
) -> Result<(ModelValidation, Tensor)> {
    let want = guarded(|| forward(model, x, None)).map_err(crate::error::Error::Driver)?;
    kernels.start_check();
    let got = guarded(|| forward(model, x, Some(kas)));
    let worst = kernels.end_check();
    let got = got.map_err(crate::error::Error::Driver)?;
    let (worst_slot, slot_err) = worst.unwrap_or_else(|| ("-".into(), f64::NAN));
    let tol = slot_tolerance(p);
    Ok((
        ModelValidation {
            worst_slot,
            slot_err,
            slot_tolerance: tol,
            model_err: rel_frobenius(&got, &want),
            model_tolerance: tol * MODEL_TOLERANCE_FACTOR,
            graph_err: None,
        },
        got,
    ))
}

/// One replay of the candidate's graph; its output's error against the eager run's.
fn replay_err(t: &Target, g: &Captured, eager: &Tensor) -> Result<f64> {
    g.launch()?;
    synchronize(&t.gpu)?;
    Ok(rel_frobenius(&g.out, eager))
}

fn train_row(
    t: &Target,
    req: &ModelRequest,
    op: &Operator,
    kind: ModelKind,
    batch: i64,
    emit: &mut dyn FnMut(&ModelEvent) -> Result<()>,
) -> Result<ModelRow> {
    let (p, cuda, seed) = (req.precision, Device::Cuda(0), req.seed);
    say(emit, batch, "building the models and their optimisers")?;
    let mut original = Trainer::new(kind, batch, Fill::Original, cuda, p, seed)?;
    let mut candidate = Trainer::new(kind, batch, Fill::Operator(op), cuda, p, seed)?;
    let mut row = ModelRow::new(
        batch,
        "eager training steps, both sides (the tch plan in the candidate's slots)",
    );
    say(emit, batch, "timing training steps")?;
    let none = || None;
    let timed = |tr: &mut Trainer| -> Result<std::result::Result<Measurement, String>> {
        let mut s = EagerSampler {
            work: || tr.step().map_err(|e| e.to_string()),
            timer: timer(&t.gpu, t.l2)?,
            errors: &none,
        };
        Ok(time(req, &mut s))
    };
    let o = timed(&mut original)?;
    let k = timed(&mut candidate)?;
    let mut failures = Vec::new();
    match o {
        Ok(m) => row.original = Some(m),
        Err(e) => failures.push(format!("original: {e}")),
    }
    match k {
        Ok(m) => row.kas = Some(m),
        Err(e) => failures.push(format!("kas: {e}")),
    }
    row.failure = failures.into_iter().next();
    Ok(row)
}
