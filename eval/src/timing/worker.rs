//! Running a [`TimingRequest`] in this process: for each binding, compile the candidate,
//! validate it against the reference at a small batch, time it, then time the baseline; every
//! step is announced as an [`Event`] so that a parent watching a worker process knows where a
//! hang or a crash happened (see [`super::isolate`]).

use super::baseline::Baseline;
use super::clock::WallClock;
use super::graph::Subject;
use super::protocol::{MeasureError, Sampler, measure};
use super::request::{
    Backend, BindingResult, Event, Failure, Fault, Phase, TimingRequest, TimingResult, Validation,
};
use super::roofline::Peak;
use crate::error::{ConfigError, Result, WorkerError};
use crate::fingerprint::Fingerprint;
use kas_campaign::FailureKind;
use kas_graph::GraphKernel;
use kas_primitives::format::read_operator;
use kas_primitives::{Binding, NamedBinding, Operator};
use std::collections::BTreeMap;

/// A device that can run the steps of a binding's evaluation.
pub trait TimingTarget {
    /// Where the work runs.
    fn fingerprint(&self) -> Fingerprint;
    /// Its peak figures, when known.
    fn peak(&self) -> Option<Peak>;
    /// Generates and compiles `op` under `b` with seeded inputs: a sampler timing one run.
    fn compile(
        &mut self,
        name: &str,
        op: &Operator,
        b: &Binding,
        seed: u64,
    ) -> Result<Box<dyn Sampler>>;
    /// `err(candidate, reference)` under `b` (a small batch) and what the reference was.
    fn validate(
        &mut self,
        name: &str,
        op: &Operator,
        b: &Binding,
        seed: u64,
    ) -> Result<(f64, String)>;
    /// Generates and compiles graph kernel `g` under `b` with seeded input and weights: a
    /// sampler timing one run.
    fn compile_graph(
        &mut self,
        name: &str,
        g: &GraphKernel,
        b: &Binding,
        seed: u64,
    ) -> Result<Box<dyn Sampler>>;
    /// `err(graph kernel, f64 interpreter)` of `g` under `b` (a small batch) and what was
    /// compared.
    fn validate_graph(
        &mut self,
        name: &str,
        g: &GraphKernel,
        b: &Binding,
        seed: u64,
    ) -> Result<(f64, String)>;
    /// A sampler timing one run of the baseline at these shapes.
    fn baseline(
        &mut self,
        kind: Baseline,
        input: &[usize],
        output: &[usize],
        seed: u64,
    ) -> Result<Box<dyn Sampler>>;
    /// Performs a deliberate failure (tests of the isolation).
    fn inject(&mut self, fault: Fault) -> Result<()>;
    /// Whether the device can still be used after a failure (a CUDA fault poisons the context).
    fn healthy(&mut self) -> bool;
    /// The kernels the last [`TimingTarget::compile`] built (schedule and provenance), if it says.
    fn kernels(&self) -> Option<String> {
        None
    }
}

/// Opens the request's backend.
pub fn open_target(req: &TimingRequest) -> Result<Box<dyn TimingTarget>> {
    // Never label an f32 measurement with another precision: the CPU times f32 only.
    if req.precision != kas_codegen::Precision::F32 && req.backend == Backend::Cpu {
        return Err(crate::error::Error::Config(ConfigError::PrecisionNotTimed(
            req.precision,
        )));
    }
    Ok(match req.backend {
        Backend::Cpu => Box::new(super::cpu::CpuTarget::new(req.precision)),
        Backend::Cuda => Box::new(
            super::cuda::CudaTarget::open_with(req.precision, req.kernels)?.with_layout(req.layout),
        ),
    })
}

/// Runs `req` in this process, passing every [`Event`] to `emit` as it happens. Stops early
/// (with an error) only when the device is unusable after a failure or `emit` fails.
pub fn run_in_process(
    req: &TimingRequest,
    emit: &mut dyn FnMut(&Event) -> Result<()>,
) -> Result<()> {
    run_in_turns(req, emit, &mut || Ok(()))
}

/// [`run_in_process`] in turns: with [`TimingRequest::turns`], before timing each binding it
/// emits [`Event::Turn`] and calls `wait_turn`, which returns when the device is this
/// worker's (the worker reads a line from its parent). Errors of `wait_turn` stop the run.
pub fn run_in_turns(
    req: &TimingRequest,
    emit: &mut dyn FnMut(&Event) -> Result<()>,
    wait_turn: &mut dyn FnMut() -> Result<()>,
) -> Result<()> {
    let parsed: (Option<Operator>, Option<GraphKernel>) = if req.graph {
        (None, Some(kas_graph::read_graph(&req.operator, &req.name)?))
    } else {
        (Some(read_operator(&req.operator, &req.name)?.1), None)
    };
    let subject = match &parsed {
        (Some(op), _) => Subject::Operator(op),
        (_, Some(g)) => Subject::Graph(g),
        _ => unreachable!("one of the two is parsed"),
    };
    let mut target = open_target(req)?;
    emit(&Event::Ready {
        fingerprint: Box::new(target.fingerprint()),
        peak: target.peak(),
    })?;
    for (i, nb) in req.bindings.iter().enumerate() {
        let mut phase_err = None;
        let result = {
            let mut phase = |p: Phase| {
                let turn = (req.turns && p == Phase::TimeKas)
                    .then(|| emit(&Event::Turn { binding: i }).and_then(|_| wait_turn()));
                if let Some(Err(e)) = turn {
                    phase_err.get_or_insert(e);
                }
                if let Err(e) = emit(&Event::Phase {
                    binding: i,
                    phase: p,
                }) {
                    phase_err.get_or_insert(e);
                }
            };
            run_binding(req, i, subject, nb, target.as_mut(), &mut phase)
        };
        if let Some(e) = phase_err {
            return Err(e);
        }
        let failed = result.failure.is_some();
        emit(&Event::Done {
            binding: i,
            result: Box::new(result),
        })?;
        if failed && !target.healthy() {
            return Err(WorkerError::DeviceUnusable {
                binding: nb.name.clone(),
            }
            .into());
        }
    }
    Ok(())
}

/// Runs `req` in this process and collects its result (no isolation: a faulting kernel can
/// take the caller down; see [`super::isolate::run_isolated`]).
pub fn run_collect(req: &TimingRequest) -> Result<TimingResult> {
    let mut out = TimingResult {
        name: req.name.clone(),
        fingerprint: Fingerprint::cpu(req.precision.label()),
        peak: None,
        bindings: Vec::new(),
    };
    run_in_process(req, &mut |e| {
        match e {
            Event::Ready { fingerprint, peak } => {
                out.fingerprint = (**fingerprint).clone();
                out.peak = peak.clone();
            }
            Event::Done { result, .. } => out.bindings.push((**result).clone()),
            Event::Phase { .. } | Event::Turn { .. } => {}
        }
        Ok(())
    })?;
    Ok(out)
}

fn fail(r: &mut BindingResult, phase: Phase, kind: FailureKind, reason: String) {
    r.failure = Some(Failure {
        phase,
        kind,
        reason: reason.lines().next().unwrap_or("").to_string(),
    });
}

fn measure_failure(e: MeasureError) -> (FailureKind, String) {
    let kind = match e {
        MeasureError::Timeout { .. } => FailureKind::Timeout,
        MeasureError::Failed { .. } => FailureKind::Other,
    };
    (kind, e.to_string())
}

/// The binding `b` with its batch variable `N` (if the operator has one) capped at `batch`.
pub fn small_batch(op: &Operator, b: &Binding, batch: u64) -> Binding {
    Subject::Operator(op).small_batch(b, batch)
}

/// Evaluates one binding; every failure is recorded in the result, never returned.
fn run_binding(
    req: &TimingRequest,
    index: usize,
    subject: Subject<'_>,
    nb: &NamedBinding,
    target: &mut dyn TimingTarget,
    phase: &mut dyn FnMut(Phase),
) -> BindingResult {
    let vars = subject.vars();
    let mut r = BindingResult::new(&nb.name, nb.values.clone());
    phase(Phase::Compile);
    let b = match nb.resolve(vars) {
        Ok(b) => b,
        Err(e) => {
            fail(&mut r, Phase::Compile, FailureKind::Compile, e.to_string());
            return r;
        }
    };
    r.values = b.pairs(vars).into_iter().collect::<BTreeMap<_, _>>();
    let shapes = || -> Result<_> {
        let work = subject.work(&b)?.map(|w| w.at(req.precision));
        Ok((subject.shapes(&b)?, work))
    };
    let (input, output) = match shapes() {
        Ok(((i, o), w)) => {
            r.work = w;
            (i, o)
        }
        Err(e) => {
            fail(&mut r, Phase::Compile, FailureKind::Compile, e.to_string());
            return r;
        }
    };
    // The baseline takes the convolution's `[N, C, H, W]` shapes and lays its tensors out as
    // the request says.
    let (input, output) = (req.layout.logical(&input), req.layout.logical(&output));
    if let Some(kind) = req.baseline {
        if let Err(e) = kind.check(&input, &output) {
            fail(&mut r, Phase::Compile, FailureKind::Compile, e);
            return r;
        }
        r.baseline_kind = Some(kind);
        r.baseline_work = Some(kind.work(&input, &output).at(req.precision));
    }
    let clock = WallClock::new();
    let t0 = std::time::Instant::now();
    let compiled = subject.compile(target, &req.name, &b, req.seed);
    let compile_s = t0.elapsed().as_secs_f64();
    r.compile_s = Some(compile_s);
    r.kernels = target.kernels();
    let mut sampler = match compiled {
        Ok(s) => s,
        Err(e) => {
            fail(&mut r, Phase::Compile, FailureKind::Compile, e.to_string());
            return r;
        }
    };
    if compile_s > req.compile_timeout_s {
        let reason = format!(
            "compiling took {compile_s:.1} s, over the {} s compile time-out",
            req.compile_timeout_s
        );
        fail(&mut r, Phase::Compile, FailureKind::Timeout, reason);
        return r;
    }
    if req.validate {
        phase(Phase::Validate);
        let vb = subject.small_batch(&b, req.validation_batch);
        let batch = vars.lookup("N").map_or(1, |(k, i)| vb.value(k, i));
        match subject.validate(target, &req.name, &vb, req.seed ^ 0x5eed) {
            Ok((err, reference)) => {
                r.validation = Some(Validation {
                    batch,
                    err,
                    tolerance: req.tolerance,
                    reference,
                });
                if err.is_nan() || err > req.tolerance {
                    let reason = format!(
                        "output differs from the reference: err {err:.2e} > {:.0e} at batch {batch}",
                        req.tolerance
                    );
                    fail(&mut r, Phase::Validate, FailureKind::Mismatch, reason);
                    return r;
                }
            }
            Err(e) => {
                fail(&mut r, Phase::Validate, FailureKind::Other, e.to_string());
                return r;
            }
        }
    }
    phase(Phase::TimeKas);
    if let Some(j) = req.inject.filter(|j| j.binding == index)
        && let Err(e) = target.inject(j.fault)
    {
        fail(&mut r, Phase::TimeKas, FailureKind::Other, e.to_string());
        return r;
    }
    match measure(&req.protocol, sampler.as_mut(), &clock) {
        Ok(m) => r.kas = Some(m),
        Err(e) => {
            let (kind, reason) = measure_failure(e);
            fail(&mut r, Phase::TimeKas, kind, reason);
            return r;
        }
    }
    drop(sampler);
    if let Some(kind) = req.baseline {
        phase(Phase::TimeBaseline);
        let timed = target
            .baseline(kind, &input, &output, req.seed)
            .map_err(|e| (FailureKind::Other, e.to_string()))
            .and_then(|mut s| measure(&req.protocol, s.as_mut(), &clock).map_err(measure_failure));
        match timed {
            Ok(m) => r.baseline = Some(m),
            Err((kind, reason)) => fail(&mut r, Phase::TimeBaseline, kind, reason),
        }
    }
    r
}
