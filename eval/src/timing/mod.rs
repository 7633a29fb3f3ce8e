//! Timing operators against their baselines (`docs/ARCHITECTURE.md`, "Evaluation").
//!
//! A [`TimingRequest`] names an operator, bindings, a backend ([`Backend::Cpu`] or
//! [`Backend::Cuda`]), a [`Protocol`] and a [`Baseline`]; the result has, per binding, the
//! validation error, kas's and the baseline's [`SampleStats`] or the reason the binding failed.
//! [`run_isolated`] runs the request in worker processes (a faulting or hanging kernel fails
//! its binding, not the caller); [`run_in_process`] / [`run_collect`] run it here (the worker's
//! side). The protocol's logic is generic over a [`Sampler`] and a [`Clock`], and tested with
//! a [`ManualClock`]. A request may carry a graph kernel instead of an operator ([`graph`]).

pub mod baseline;
pub mod clock;
pub mod cpu;
pub mod cuda;
pub mod graph;
pub mod isolate;
pub mod protocol;
pub mod request;
pub mod roofline;
pub mod stats;
pub mod worker;

pub use baseline::Baseline;
pub use clock::{Clock, ManualClock, WallClock};
pub use isolate::{Turns, WorkerLimits, run_isolated, run_isolated_in_turns};
pub use protocol::{Measurement, Protocol, Sampler, Stop, measure};
pub use request::{
    Backend, BindingResult, Event, Failure, Fault, Inject, Layout, Phase, Precision, TimingRequest,
    TimingResult, Validation,
};
pub use roofline::{Peak, Work};
pub use stats::{SampleStats, geomean};
pub use worker::{run_collect, run_in_process, run_in_turns};
