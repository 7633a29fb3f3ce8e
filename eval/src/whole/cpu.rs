//! Whole-model timing on the CPU: the candidate's slots run the tch plan; the original model
//! libtorch's CPU kernels; wall clock, the last-level cache flushed before every run.

use super::pair::{Trainer, build, input};
use super::skip::Skip;
use super::{ModelEvent, ModelRequest, ModelRow};
use crate::error::Result;
use crate::fingerprint::Fingerprint;
use crate::models::slot::{Fill, SlotOverride, with_override};
use crate::models::{HostModel, ModelKind};
use crate::timing::clock::WallClock;
use crate::timing::protocol::{ClockSampler, Measurement, Protocol, measure};
use kas_primitives::Operator;
use std::rc::Rc;
use tch::nn::ModuleT;
use tch::{Device, Kind};

/// What the CPU rows say about how they were timed.
const EXECUTION: &str = "CPU, wall clock (the tch plan in the candidate's slots)";

/// Runs `req` on the CPU.
pub(super) fn run(
    req: &ModelRequest,
    op: &Operator,
    kind: ModelKind,
    emit: &mut dyn FnMut(&ModelEvent) -> Result<()>,
) -> Result<()> {
    emit(&ModelEvent::Ready {
        fingerprint: Box::new(Fingerprint::cpu(req.precision.label())),
    })?;
    for &batch in &req.batches {
        emit(&ModelEvent::Progress {
            message: format!("batch {batch}: timing on the CPU"),
        })?;
        let row = if req.train {
            train_row(req, op, kind, batch)?
        } else {
            forward_row(req, op, kind, batch)?
        };
        emit(&ModelEvent::Row { row: Box::new(row) })?;
    }
    Ok(())
}

/// Wall-clock measurement of `work`, or the reason it failed.
fn time(
    p: &Protocol,
    work: impl FnMut() -> std::result::Result<(), String>,
) -> Result<Measurement, String> {
    let clock = WallClock::new();
    let mut s = ClockSampler::new(WallClock::new(), crate::timing::cpu::flush_bytes(), work);
    measure(p, &mut s, &clock).map_err(|e| e.to_string())
}

fn forward_row(req: &ModelRequest, op: &Operator, kind: ModelKind, batch: i64) -> Result<ModelRow> {
    let (cpu, f32) = (Device::Cpu, Kind::Float);
    let original = build(kind, batch, Fill::Original, cpu, f32, req.seed)?;
    let candidate = build(kind, batch, Fill::Operator(op), cpu, f32, req.seed)?;
    let x = input(kind, batch, cpu, f32, req.seed);
    let mut row = ModelRow::new(batch, EXECUTION);
    let forward = |m: &HostModel, o: Option<Rc<dyn SlotOverride>>| {
        tch::no_grad(|| match &o {
            Some(o) => drop(with_override(o.clone(), || m.forward_t(&x, false))),
            None => drop(m.forward_t(&x, false)),
        });
        Ok(())
    };
    let skip: Rc<dyn SlotOverride> = Rc::new(Skip::default());
    let runs = [
        time(&req.protocol, || forward(&original.model, None)).map(|m| row.original = Some(m)),
        time(&req.protocol, || forward(&candidate.model, None)).map(|m| row.kas = Some(m)),
        time(&req.protocol, || {
            forward(&original.model, Some(skip.clone()))
        })
        .map(|m| row.rest = Some(m)),
    ];
    row.failure = runs.into_iter().find_map(|r| r.err());
    Ok(row)
}

fn train_row(req: &ModelRequest, op: &Operator, kind: ModelKind, batch: i64) -> Result<ModelRow> {
    let (cpu, p, seed) = (Device::Cpu, req.precision, req.seed);
    let mut original = Trainer::new(kind, batch, Fill::Original, cpu, p, seed)?;
    let mut candidate = Trainer::new(kind, batch, Fill::Operator(op), cpu, p, seed)?;
    let mut row = ModelRow::new(batch, EXECUTION);
    let step = |t: &mut Trainer| t.step().map_err(|e| e.to_string());
    let runs = [
        time(&req.protocol, || step(&mut original)).map(|m| row.original = Some(m)),
        time(&req.protocol, || step(&mut candidate)).map(|m| row.kas = Some(m)),
    ];
    row.failure = runs.into_iter().find_map(|r| r.err());
    Ok(row)
}
