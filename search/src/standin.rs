//! A deterministic stand-in evaluator: its figures are a fixed function of the candidate's
//! canonical hash, its FLOPs, the fidelity, the campaign seed, the training seed and the
//! device key. It lets the search, the journal and the workers be tested (and a campaign be
//! replayed exactly) without libtorch or a GPU.
//!
//! With `u` the candidate's position in the spec's FLOPs window on a log scale (0 at the
//! bottom, 1 at the top), `h1, h2, h3` uniform numbers in [0, 1) drawn from
//! BLAKE3(campaign seed, canonical hash), `s` one drawn from BLAKE3(training seed, canonical
//! hash) and `d` one drawn from BLAKE3(device key, canonical hash):
//!
//! * accuracy = 0.6 + 0.3·√u + 0.1·(h1 − ½) + 0.02·level + 0.01·(s − ½) (more compute, more
//!   accuracy; longer fidelities a little more; a little noise from the training seed),
//! * speedup = 2^(2·(½ − u) + 0.5·(h2 − ½) + 0.4·(d − ½)) (less compute, faster; the device
//!   term is 0 on the default device key `stand-in`),
//! * a failure (kind by `h1`) when `h3 < fail_fraction`.
//!
//! The baseline has accuracy 0.85 + 0.02·level + 0.01·(s − ½) (`s` drawn for hash 0) and
//! speedup 1. Timing alone ([`Evaluator::time`]) gives the speedup above, or the candidate's
//! failure. An optional sleep makes the evaluation take time (to test workers and killing
//! mid-evaluation).

use kas_campaign::{Candidate, Evaluator, FailureKind, Fidelity, Metrics, Outcome, StandInConfig};
use std::time::Duration;

/// The stand-in evaluator.
#[derive(Debug, Clone)]
pub struct StandIn {
    /// Settings.
    pub cfg: StandInConfig,
    /// Seed of the figures.
    pub seed: u64,
    /// The spec's FLOPs window (low, high).
    pub flops_window: (f64, f64),
    /// The device key it reports.
    pub device: String,
}

/// Three uniform numbers in [0, 1) from BLAKE3 of the seed and a canonical hash.
pub fn uniforms(seed: u64, canonical: u128) -> [f64; 3] {
    let mut h = blake3::Hasher::new();
    h.update(b"kas stand-in evaluator v1");
    h.update(&seed.to_le_bytes());
    h.update(&canonical.to_le_bytes());
    let bytes = h.finalize();
    let b = bytes.as_bytes();
    let u = |i: usize| {
        let w = u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().expect("8 bytes"));
        (w >> 11) as f64 / (1u64 << 53) as f64
    };
    [u(0), u(1), u(2)]
}

/// A uniform number in [0, 1) from BLAKE3 of a domain tag, a word and a canonical hash.
fn uniform(tag: &[u8], word: &[u8], canonical: u128) -> f64 {
    let mut h = blake3::Hasher::new();
    h.update(tag);
    h.update(word);
    h.update(&canonical.to_le_bytes());
    let b = h.finalize();
    let w = u64::from_le_bytes(b.as_bytes()[..8].try_into().expect("8 bytes"));
    (w >> 11) as f64 / (1u64 << 53) as f64
}

/// The default device key of the stand-in.
pub const STANDIN_DEVICE: &str = "stand-in";

impl StandIn {
    /// A stand-in over a spec's FLOPs window.
    pub fn new(cfg: StandInConfig, seed: u64, flops_window: (f64, f64)) -> StandIn {
        StandIn {
            cfg,
            seed,
            flops_window,
            device: STANDIN_DEVICE.to_string(),
        }
    }

    /// Position of `flops` in the window on a log scale, clamped to [0, 1].
    fn position(&self, flops: f64) -> f64 {
        let (lo, hi) = (self.flops_window.0.max(1.0), self.flops_window.1.max(2.0));
        if hi <= lo {
            return 0.5;
        }
        ((flops.max(1.0).ln() - lo.ln()) / (hi.ln() - lo.ln())).clamp(0.0, 1.0)
    }

    /// The stand-in figures of an operator with `canonical` hash and `flops`, trained from the
    /// campaign seed (seed index 0).
    pub fn outcome(&self, canonical: u128, flops: f64, level: usize) -> Outcome {
        self.outcome_with_seed(canonical, flops, level, self.seed)
    }

    /// The stand-in figures of an operator trained from `training_seed`.
    pub fn outcome_with_seed(
        &self,
        canonical: u128,
        flops: f64,
        level: usize,
        training_seed: u64,
    ) -> Outcome {
        let [h1, h2, h3] = uniforms(self.seed, canonical);
        if h3 < self.cfg.fail_fraction {
            let kinds = [
                FailureKind::Invalid,
                FailureKind::Diverged,
                FailureKind::Timeout,
                FailureKind::Compile,
            ];
            let kind = kinds[((h1 * kinds.len() as f64) as usize).min(kinds.len() - 1)];
            return Outcome::failed(kind, "stand-in failure");
        }
        let u = self.position(flops);
        let s = uniform(
            b"kas stand-in seed v1",
            &training_seed.to_le_bytes(),
            canonical,
        );
        Outcome::Ok(Metrics {
            accuracy: Some(
                0.6 + 0.3 * u.sqrt() + 0.1 * (h1 - 0.5) + 0.02 * level as f64 + 0.01 * (s - 0.5),
            ),
            speedup: Some(
                (2.0 * (0.5 - u) + 0.5 * (h2 - 0.5) + self.device_term(canonical)).exp2(),
            ),
            ..Metrics::default()
        })
    }

    /// The device's term in the exponent of the speedup: 0 on [`STANDIN_DEVICE`].
    fn device_term(&self, canonical: u128) -> f64 {
        if self.device == STANDIN_DEVICE {
            return 0.0;
        }
        0.4 * (uniform(b"kas stand-in device v1", self.device.as_bytes(), canonical) - 0.5)
    }

    fn pause(&self) {
        if self.cfg.sleep_ms > 0 {
            std::thread::sleep(Duration::from_millis(self.cfg.sleep_ms));
        }
    }
}

impl Evaluator for StandIn {
    fn device_key(&self) -> String {
        self.device.clone()
    }

    fn evaluate(&self, candidate: &Candidate, fidelity: &Fidelity, seed: u64) -> Outcome {
        self.pause();
        self.outcome_with_seed(candidate.canonical.0, candidate.flops, fidelity.level, seed)
    }

    fn baseline(&self, fidelity: &Fidelity, seed: u64) -> Outcome {
        self.pause();
        let s = uniform(b"kas stand-in seed v1", &seed.to_le_bytes(), 0);
        Outcome::Ok(Metrics {
            accuracy: Some(0.85 + 0.02 * fidelity.level as f64 + 0.01 * (s - 0.5)),
            speedup: Some(1.0),
            ..Metrics::default()
        })
    }

    fn time(&self, candidate: &Candidate, fidelity: &Fidelity) -> Outcome {
        self.pause();
        match self.outcome(candidate.canonical.0, candidate.flops, fidelity.level) {
            Outcome::Ok(m) => Outcome::Ok(m.timing()),
            failed => failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_a_fixed_function_of_hash_and_seed() {
        let s = StandIn::new(StandInConfig::default(), 7, (100.0, 1e7));
        assert_eq!(s.outcome(42, 1e4, 0), s.outcome(42, 1e4, 0));
        assert_ne!(s.outcome(42, 1e4, 0), s.outcome(43, 1e4, 0));
        let other = StandIn::new(StandInConfig::default(), 8, (100.0, 1e7));
        assert_ne!(s.outcome(42, 1e4, 0), other.outcome(42, 1e4, 0));
        for x in uniforms(1, 2) {
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[test]
    fn training_seeds_move_accuracy_and_devices_move_speedup_only() {
        let s = StandIn::new(StandInConfig::default(), 7, (100.0, 1e7));
        let (a, b) = (
            s.outcome_with_seed(42, 1e4, 1, 7),
            s.outcome_with_seed(42, 1e4, 1, 8),
        );
        let (a, b) = (a.metrics().unwrap(), b.metrics().unwrap());
        assert_ne!(a.accuracy, b.accuracy);
        assert_eq!(a.speedup, b.speedup);
        assert!((a.accuracy.unwrap() - b.accuracy.unwrap()).abs() < 0.01);
        let other = StandIn {
            device: "stand-in-b".into(),
            ..s.clone()
        };
        let c = other.outcome_with_seed(42, 1e4, 1, 7);
        let c = c.metrics().unwrap();
        assert_eq!(
            c.accuracy, a.accuracy,
            "training figures do not depend on the device"
        );
        assert_ne!(c.speedup, a.speedup);
        let f = Fidelity::named("full", 1);
        assert_ne!(s.baseline(&f, 7), s.baseline(&f, 8));
    }

    #[test]
    fn cheaper_operators_are_faster() {
        let s = StandIn::new(StandInConfig::default(), 0, (100.0, 1e7));
        let speed = |f: f64| s.outcome(5, f, 0).metrics().unwrap().speedup.unwrap();
        assert!(speed(1e3) > speed(1e6));
    }

    #[test]
    fn fail_fraction_fails_about_that_fraction() {
        let cfg = StandInConfig {
            fail_fraction: 0.25,
            ..StandInConfig::default()
        };
        let s = StandIn::new(cfg, 3, (100.0, 1e7));
        let failed = (0..2000u128)
            .filter(|&h| matches!(s.outcome(h, 1e4, 0), Outcome::Failed { .. }))
            .count();
        assert!((400..600).contains(&failed), "{failed} of 2000 failed");
    }
}
