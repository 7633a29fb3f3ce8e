//! The timing API's request and result: what to time (an operator, its bindings, where, how)
//! and, per binding, what came out (validation error, kas's and the baseline's statistics, or
//! the reason it failed). Both are serde types: the isolated runner sends the request to a
//! worker process as JSON and reads results back as JSON lines ([`Event`]).

use super::baseline::Baseline;
use super::protocol::{Measurement, Protocol};
use super::roofline::{Peak, Work};
use crate::fingerprint::Fingerprint;
use kas_campaign::FailureKind;
use kas_primitives::NamedBinding;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the timed work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// The CPU: the operator's tch plan and the baseline through libtorch, wall clock.
    Cpu,
    /// The first CUDA GPU: kas's generated kernels (cudarc) and the baseline through libtorch
    /// (cuDNN / cuBLAS), CUDA events on the legacy default stream.
    Cuda,
}

/// Arithmetic precision of the timed work: one type for the workspace, codegen's.
pub use kas_codegen::Precision;

/// A deliberate failure, to test that a faulting or hanging candidate fails alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Never return (a spinning kernel on the GPU, a sleeping loop on the CPU).
    Hang,
    /// End the worker process at once (exit status 134, as an abort).
    Crash,
    /// An illegal memory access in a kernel (GPU only; poisons the CUDA context).
    DeviceFault,
}

/// Where to inject a [`Fault`]: when timing kas's candidate for binding `binding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inject {
    /// Index of the binding in the request.
    pub binding: usize,
    /// What to do.
    pub fault: Fault,
}

/// How a convolution slot's input and output lie in memory, on both sides of a comparison:
/// kas's operator is timed with its tensors in this order (channels-last: the operator with
/// its input and output axes, and its 4-axis weights, in the order N, H, W, C) and the
/// baseline runs cuDNN on tensors laid out the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `[N, C, H, W]`, row-major (the operators' own order).
    #[default]
    Nchw,
    /// Channels-last: `[N, H, W, C]` in memory.
    Nhwc,
}

impl Layout {
    /// `nchw` or `nhwc`.
    pub fn label(&self) -> &'static str {
        match self {
            Layout::Nchw => "nchw",
            Layout::Nhwc => "nhwc",
        }
    }

    /// The axis order of a 4-axis tensor in this layout (axis `i` of the stored tensor is axis
    /// `order[i]` of the `[N, C, H, W]` one).
    pub fn order(&self) -> [usize; 4] {
        match self {
            Layout::Nchw => [0, 1, 2, 3],
            Layout::Nhwc => [0, 2, 3, 1],
        }
    }

    /// The `[N, C, H, W]` shape of a tensor stored with `shape` in this layout (other ranks
    /// unchanged).
    pub fn logical(&self, shape: &[usize]) -> Vec<usize> {
        match (self, shape) {
            (Layout::Nhwc, &[n, h, w, c]) => vec![n, c, h, w],
            _ => shape.to_vec(),
        }
    }
}

/// What to time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimingRequest {
    /// A name for the operator (reports, kernel names).
    pub name: String,
    /// The operator as a `kas-operator` file (RON text), or with `graph` a graph kernel as a
    /// `kas-graph` file.
    pub operator: String,
    /// Whether `operator` holds a graph kernel ([`super::graph`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub graph: bool,
    /// The bindings to time (batch included); omitted variables take their declared value.
    pub bindings: Vec<NamedBinding>,
    /// Where to run.
    pub backend: Backend,
    /// Precision.
    pub precision: Precision,
    /// Which kas kernels to time (GPU).
    #[serde(default)]
    pub kernels: kas_campaign::KernelMode,
    /// The timing protocol (applied to kas's candidate and to the baseline alike).
    pub protocol: Protocol,
    /// The baseline to time side by side, if any.
    pub baseline: Option<Baseline>,
    /// Validate the candidate before timing it.
    pub validate: bool,
    /// Batch (`N`) used for validation (capped by the binding's own `N`).
    pub validation_batch: u64,
    /// Largest accepted `err(a, ref) = max|a − ref| / (max|ref| + 1e-6)`.
    pub tolerance: f64,
    /// Compiling (code generation and NVRTC, or building the tch plan) longer than this fails
    /// the binding (seconds).
    pub compile_timeout_s: f64,
    /// Seed of inputs and weights.
    pub seed: u64,
    /// A deliberate failure (tests of the isolation).
    pub inject: Option<Inject>,
    /// The device is shared: before timing each binding the worker asks for a turn
    /// ([`Event::Turn`]) and waits for a line on its standard input; the parent answers when
    /// nothing else uses the device (see [`super::isolate::Turns`]). Compiling and validating
    /// run without a turn. Ignored in this process ([`super::run_collect`]).
    #[serde(default)]
    pub turns: bool,
    /// How the operator's and the baseline's convolution tensors lie in memory (the operator
    /// in the request is already in this order; the baseline follows it).
    #[serde(default)]
    pub layout: Layout,
}

impl TimingRequest {
    /// A request with the defaults: f32, [`Protocol::default`], validation at batch 2 with
    /// tolerance 1e-4 (`docs/ARCHITECTURE.md`, "Tolerance"), 300 s compile time-out, seed 0, no
    /// baseline.
    pub fn new(
        name: &str,
        operator: String,
        bindings: Vec<NamedBinding>,
        backend: Backend,
    ) -> TimingRequest {
        TimingRequest {
            name: name.into(),
            operator,
            graph: false,
            bindings,
            backend,
            precision: Precision::F32,
            kernels: kas_campaign::KernelMode::default(),
            protocol: Protocol::default(),
            baseline: None,
            validate: true,
            validation_batch: 2,
            tolerance: 1e-4,
            compile_timeout_s: 300.0,
            seed: 0,
            inject: None,
            turns: false,
            layout: Layout::Nchw,
        }
    }
}

impl TimingRequest {
    /// Times at precision `p`, validating with its tolerance: at f32 the request's
    /// `max|a − ref| / max|ref|` ≤ 1e-4; at TF32 and bf16 the relative Frobenius error against
    /// the f32 reference ≤ [`Precision::tolerance`].
    pub fn set_precision(&mut self, p: Precision) {
        self.precision = p;
        if p != Precision::F32 {
            self.tolerance = p.tolerance();
        }
    }
}

/// The step of a binding's evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Starting the worker (loading libraries, opening the device).
    Start,
    /// Generating and compiling the candidate.
    Compile,
    /// Comparing its output with the reference.
    Validate,
    /// Timing the candidate.
    TimeKas,
    /// Timing the baseline.
    TimeBaseline,
}

impl Phase {
    /// A short label.
    pub fn label(&self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::Compile => "compile",
            Phase::Validate => "validate",
            Phase::TimeKas => "time-kas",
            Phase::TimeBaseline => "time-baseline",
        }
    }
}

/// Why a binding has no (complete) result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// During which step.
    pub phase: Phase,
    /// What kind of failure (the campaign's kinds: `compile`, `mismatch`, `timeout`,
    /// `crashed` when the worker died, `other` for any other error).
    pub kind: FailureKind,
    /// One line.
    pub reason: String,
}

/// The validation of one binding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// The batch it ran at.
    pub batch: u64,
    /// `err(candidate, reference)`.
    pub err: f64,
    /// The tolerance it was held to.
    pub tolerance: f64,
    /// What the reference was.
    pub reference: String,
}

/// Everything measured for one binding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BindingResult {
    /// The binding's name.
    pub binding: String,
    /// Every variable's value.
    pub values: BTreeMap<String, u64>,
    /// The operator's work (planner FLOPs, minimum bytes).
    pub work: Option<Work>,
    /// The baseline and its work, when one was timed.
    pub baseline_kind: Option<Baseline>,
    /// The baseline's work.
    pub baseline_work: Option<Work>,
    /// Seconds spent compiling the candidate (tuning included).
    pub compile_s: Option<f64>,
    /// The kernels timed: their schedule and where it came from (GPU).
    #[serde(default)]
    pub kernels: Option<String>,
    /// The validation, when it ran.
    pub validation: Option<Validation>,
    /// kas's candidate (seconds).
    pub kas: Option<Measurement>,
    /// The baseline (seconds).
    pub baseline: Option<Measurement>,
    /// The first failure, if any (what was measured before it is kept).
    pub failure: Option<Failure>,
}

impl BindingResult {
    /// An empty result for a binding.
    pub fn new(binding: &str, values: BTreeMap<String, u64>) -> BindingResult {
        BindingResult {
            binding: binding.into(),
            values,
            work: None,
            baseline_kind: None,
            baseline_work: None,
            compile_s: None,
            kernels: None,
            validation: None,
            kas: None,
            baseline: None,
            failure: None,
        }
    }

    /// `baseline median / kas median`, when both were measured.
    pub fn speedup(&self) -> Option<f64> {
        let (k, b) = (self.kas.as_ref()?, self.baseline.as_ref()?);
        (k.stats.median > 0.0).then(|| b.stats.median / k.stats.median)
    }

    /// `roofline time / kas median` under `peak`.
    pub fn roofline_fraction(&self, peak: &Peak) -> Option<f64> {
        let (k, w) = (self.kas.as_ref()?, self.work.as_ref()?);
        (k.stats.median > 0.0).then(|| w.roofline_s(peak) / k.stats.median)
    }
}

/// Everything measured for a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimingResult {
    /// The operator's name.
    pub name: String,
    /// Where it ran.
    pub fingerprint: Fingerprint,
    /// The device's peak figures, when known.
    pub peak: Option<Peak>,
    /// One result per binding of the request, in order.
    pub bindings: Vec<BindingResult>,
}

/// One line of a worker's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// The worker is up: where it runs.
    Ready {
        /// The fingerprint.
        fingerprint: Box<Fingerprint>,
        /// Peak figures.
        peak: Option<Peak>,
    },
    /// Binding `binding` (index in the request) entered `phase`.
    Phase {
        /// Index of the binding.
        binding: usize,
        /// The step.
        phase: Phase,
    },
    /// Binding `binding` is compiled and validated and waits for its turn on the device (a
    /// request with [`TimingRequest::turns`]): the parent answers with a line on the worker's
    /// standard input; the turn lasts until the binding is [`Event::Done`].
    Turn {
        /// Index of the binding.
        binding: usize,
    },
    /// Binding `binding` is done.
    Done {
        /// Index of the binding.
        binding: usize,
        /// Its result.
        result: Box<BindingResult>,
    },
}
