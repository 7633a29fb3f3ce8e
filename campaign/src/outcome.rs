//! What an evaluation ends with: measured figures, or a failure with its kind. Failures are
//! recorded outcomes with reward 0, never errors.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Figures measured for one candidate (or the baseline) at one fidelity. Every figure is
/// optional: a fidelity may train without timing, or time without training.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Held-out accuracy in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Held-out loss (for language models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Time of the slot set with the candidate, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Speedup of the slot set over its original layers, measured side by side
    /// (original time / candidate time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speedup: Option<f64>,
    /// Other figures, by name (written in journals as their snake_case names).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<Figure, f64>,
}

/// The names of a [`Metrics`]' other figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// The original layers' summed time over the slot set, in milliseconds.
    BaselineLatencyMs,
    /// Seconds of training.
    TrainSeconds,
    /// Training steps run.
    TrainSteps,
    /// The training loss at the end.
    TrainLoss,
    /// Trainable parameters of the model.
    Params,
    /// Slots timed.
    TimedSlots,
    /// Wall seconds of the slot set's timing (worker start, compilation, validation, timing).
    TimingSeconds,
    /// Seconds of kernel generation, compilation and tuning, summed over the slots.
    CompileSeconds,
    /// 1 when the timed code was the tch plan on the CPU.
    TimedTchPlanCpu,
    /// 1 when the timed code was kas's CUDA kernels.
    TimedKasCudaKernels,
    /// Seconds of the evaluations of the trained model (the test images at the end).
    TestSeconds,
    /// 1 when the model trained at f32 (`docs/ARCHITECTURE.md`, "Precision").
    TrainedF32,
    /// 1 when the model trained at tf32.
    TrainedTf32,
    /// 1 when the model trained at bf16 (autocast, f32 master weights).
    TrainedBf16,
    /// Validation perplexity of a language model (`exp` of its validation loss).
    Perplexity,
}

impl Figure {
    /// The flag figure of a model trained at `precision` ([`Figure::TrainedF32`], …).
    pub fn trained_at(precision: kas_codegen::Precision) -> Figure {
        match precision {
            kas_codegen::Precision::F32 => Figure::TrainedF32,
            kas_codegen::Precision::Tf32 => Figure::TrainedTf32,
            kas_codegen::Precision::Bf16 => Figure::TrainedBf16,
        }
    }

    /// The figure's name, as written in journals.
    pub fn name(self) -> &'static str {
        match self {
            Figure::BaselineLatencyMs => "baseline_latency_ms",
            Figure::TrainSeconds => "train_seconds",
            Figure::TrainSteps => "train_steps",
            Figure::TrainLoss => "train_loss",
            Figure::Params => "params",
            Figure::TimedSlots => "timed_slots",
            Figure::TimingSeconds => "timing_seconds",
            Figure::CompileSeconds => "compile_seconds",
            Figure::TimedTchPlanCpu => "timed_tch_plan_cpu",
            Figure::TimedKasCudaKernels => "timed_kas_cuda_kernels",
            Figure::TestSeconds => "test_seconds",
            Figure::TrainedF32 => "trained_f32",
            Figure::TrainedTf32 => "trained_tf32",
            Figure::TrainedBf16 => "trained_bf16",
            Figure::Perplexity => "perplexity",
        }
    }
}

impl Metrics {
    /// The first non-finite figure, by name.
    pub fn non_finite(&self) -> Option<String> {
        let named = [
            ("accuracy", self.accuracy),
            ("loss", self.loss),
            ("latency_ms", self.latency_ms),
            ("speedup", self.speedup),
        ];
        named
            .iter()
            .filter_map(|(n, v)| v.map(|v| (n.to_string(), v)))
            .chain(self.extra.iter().map(|(n, v)| (n.name().to_string(), *v)))
            .find(|(_, v)| !v.is_finite())
            .map(|(n, _)| n)
    }
}

/// The `extra` figures that come from timing the slot set (they depend on the device), as
/// opposed to training (which depends on the seed and the precision only).
pub const TIMING_FIGURES: [Figure; 6] = [
    Figure::BaselineLatencyMs,
    Figure::TimedSlots,
    Figure::TimingSeconds,
    Figure::CompileSeconds,
    Figure::TimedTchPlanCpu,
    Figure::TimedKasCudaKernels,
];

impl Metrics {
    /// The timing figures only: `latency_ms`, `speedup` and the [`TIMING_FIGURES`] extras.
    pub fn timing(&self) -> Metrics {
        Metrics {
            latency_ms: self.latency_ms,
            speedup: self.speedup,
            extra: (self.extra.iter())
                .filter(|(f, _)| TIMING_FIGURES.contains(f))
                .map(|(f, v)| (*f, *v))
                .collect(),
            ..Metrics::default()
        }
    }

    /// These figures with the timing figures replaced by `timing`'s (a timing on another
    /// device): training figures kept, every timing figure taken from `timing`.
    pub fn with_timing(&self, timing: &Metrics) -> Metrics {
        let mut m = self.clone();
        m.extra.retain(|f, _| !TIMING_FIGURES.contains(f));
        let t = timing.timing();
        m.latency_ms = t.latency_ms;
        m.speedup = t.speedup;
        m.extra.extend(t.extra);
        m
    }

    /// Whether a timing figure (speedup or latency) was measured.
    pub fn is_timed(&self) -> bool {
        self.speedup.is_some() || self.latency_ms.is_some()
    }
}

/// Why an evaluation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The operator cannot be lowered or placed in the model.
    Invalid,
    /// Training diverged (non-finite loss, or loss above a bound).
    Diverged,
    /// The evaluation ran past its time limit.
    Timeout,
    /// The kernel did not compile.
    Compile,
    /// The kernel disagreed with the reference.
    Mismatch,
    /// The evaluator crashed (a panic, a failed launch).
    Crashed,
    /// The worker was lost (its device or host failed, or the engine lost the task): not the
    /// candidate's fault. The runner records a `retire` record, stops that worker and runs the
    /// job again once on another worker; lost a second time, it is the job's outcome.
    Lost,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// The kind's name, as written in journals.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Invalid => "invalid",
            FailureKind::Diverged => "diverged",
            FailureKind::Timeout => "timeout",
            FailureKind::Compile => "compile",
            FailureKind::Mismatch => "mismatch",
            FailureKind::Crashed => "crashed",
            FailureKind::Lost => "lost",
            FailureKind::Other => "other",
        }
    }
}

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The candidate was measured.
    Ok(Metrics),
    /// The candidate failed.
    Failed {
        /// Why.
        kind: FailureKind,
        /// One line of detail.
        message: String,
    },
}

impl Outcome {
    /// A failure of `kind`.
    pub fn failed(kind: FailureKind, message: impl Into<String>) -> Outcome {
        Outcome::Failed {
            kind,
            message: message.into(),
        }
    }

    /// Whether it is a [`FailureKind::Lost`] failure (the worker was lost, not the candidate).
    pub fn is_lost(&self) -> bool {
        matches!(
            self,
            Outcome::Failed {
                kind: FailureKind::Lost,
                ..
            }
        )
    }

    /// The metrics, if measured.
    pub fn metrics(&self) -> Option<&Metrics> {
        match self {
            Outcome::Ok(m) => Some(m),
            Outcome::Failed { .. } => None,
        }
    }

    /// The outcome of several evaluations of one candidate (one per training seed): the first
    /// failure if any failed, else every figure averaged over the outcomes that measured it
    /// (`None` for an empty slice).
    pub fn mean(outcomes: &[Outcome]) -> Option<Outcome> {
        if let Some(f) = outcomes.iter().find(|o| o.metrics().is_none()) {
            return Some(f.clone());
        }
        let all: Vec<&Metrics> = outcomes.iter().filter_map(Outcome::metrics).collect();
        if all.is_empty() {
            return None;
        }
        let avg = |get: &dyn Fn(&Metrics) -> Option<f64>| {
            let v: Vec<f64> = all.iter().filter_map(|m| get(m)).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let mut m = Metrics {
            accuracy: avg(&|m| m.accuracy),
            loss: avg(&|m| m.loss),
            latency_ms: avg(&|m| m.latency_ms),
            speedup: avg(&|m| m.speedup),
            extra: BTreeMap::new(),
        };
        let names: std::collections::BTreeSet<Figure> =
            all.iter().flat_map(|m| m.extra.keys().copied()).collect();
        for f in names {
            if let Some(v) = avg(&|m| m.extra.get(&f).copied()) {
                m.extra.insert(f, v);
            }
        }
        Some(Outcome::Ok(m))
    }

    /// The outcome with non-finite figures turned into an `invalid` failure (journals hold
    /// finite numbers only).
    pub fn sanitized(self) -> Outcome {
        match &self {
            Outcome::Ok(m) => match m.non_finite() {
                Some(name) => Outcome::failed(FailureKind::Invalid, format!("non-finite {name}")),
                None => self,
            },
            Outcome::Failed { .. } => self,
        }
    }
}

/// The first line of a message, also where the line break is escaped (a libtorch error inside
/// a debug-printed `Result` carries its whole backtrace as `\\n`-separated frames), at most 400
/// characters.
pub fn first_line(msg: &str) -> String {
    let end = [msg.find('\n'), msg.find("\\n")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(msg.len());
    let line = &msg[..end];
    match line.char_indices().nth(400) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_through_json() {
        let mut m = Metrics {
            accuracy: Some(0.8125),
            speedup: Some(1.0 / 3.0),
            ..Metrics::default()
        };
        m.extra.insert(Figure::Params, 1234.0);
        for o in [
            Outcome::Ok(m),
            Outcome::failed(FailureKind::Timeout, "ran 600 s"),
        ] {
            let j = serde_json::to_string(&o).unwrap();
            assert_eq!(serde_json::from_str::<Outcome>(&j).unwrap(), o);
        }
    }

    #[test]
    fn the_mean_of_seeds_averages_figures_and_keeps_a_failure() {
        let ok = |acc: f64, speedup: f64| {
            let mut m = Metrics {
                accuracy: Some(acc),
                speedup: Some(speedup),
                ..Metrics::default()
            };
            m.extra.insert(Figure::TrainSeconds, acc * 10.0);
            Outcome::Ok(m)
        };
        let m = Outcome::mean(&[ok(0.5, 1.0), ok(0.7, 3.0)]).unwrap();
        let m = m.metrics().unwrap();
        assert!((m.accuracy.unwrap() - 0.6).abs() < 1e-12);
        assert!((m.speedup.unwrap() - 2.0).abs() < 1e-12);
        assert!((m.extra[&Figure::TrainSeconds] - 6.0).abs() < 1e-12);
        assert_eq!(m.loss, None);
        let f = Outcome::failed(FailureKind::Diverged, "nan");
        assert_eq!(Outcome::mean(&[ok(0.5, 1.0), f.clone()]), Some(f));
        assert_eq!(Outcome::mean(&[]), None);
    }

    #[test]
    fn timing_figures_are_replaced_and_training_figures_kept() {
        let mut a = Metrics {
            accuracy: Some(0.9),
            speedup: Some(1.5),
            latency_ms: Some(2.0),
            ..Metrics::default()
        };
        a.extra.insert(Figure::TrainSeconds, 30.0);
        a.extra.insert(Figure::TimedTchPlanCpu, 1.0);
        let mut t = Metrics {
            speedup: Some(2.5),
            ..Metrics::default()
        };
        t.extra.insert(Figure::TimedKasCudaKernels, 1.0);
        let m = a.with_timing(&t);
        assert_eq!(
            (m.accuracy, m.speedup, m.latency_ms),
            (Some(0.9), Some(2.5), None)
        );
        assert_eq!(m.extra.get(&Figure::TrainSeconds), Some(&30.0));
        assert_eq!(m.extra.get(&Figure::TimedTchPlanCpu), None);
        assert_eq!(m.extra.get(&Figure::TimedKasCudaKernels), Some(&1.0));
        assert_eq!(a.timing().accuracy, None);
        assert!(a.is_timed() && !Metrics::default().is_timed());
    }

    #[test]
    fn non_finite_figures_become_failures() {
        let o = Outcome::Ok(Metrics {
            loss: Some(f64::NAN),
            ..Metrics::default()
        });
        match o.sanitized() {
            Outcome::Failed { kind, message } => {
                assert_eq!(kind, FailureKind::Invalid);
                assert!(message.contains("loss"), "{message}");
            }
            o => panic!("expected a failure, got {o:?}"),
        }
    }
}
