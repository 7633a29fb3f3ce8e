//! The training loss, accumulated on the device and read back once per check window, and
//! divergence detection on it.

use tch::{Kind, Tensor};

/// Accumulates losses; [`LossMonitor::flush`] reads their mean and judges it.
#[derive(Debug)]
pub(crate) struct LossMonitor {
    window: Option<Tensor>,
    window_len: usize,
    /// Sum and count since the last [`LossMonitor::take_interval`].
    interval: (f64, usize),
    first: Option<f64>,
    explode: f64,
}

impl LossMonitor {
    pub(crate) fn new(explode: f64) -> LossMonitor {
        LossMonitor {
            window: None,
            window_len: 0,
            interval: (0.0, 0),
            first: None,
            explode,
        }
    }

    /// Adds one step's loss (no device sync, except on the very first step, whose loss is the
    /// reference for explosions).
    pub(crate) fn add(&mut self, loss: &Tensor) {
        let l = loss.detach().to_kind(Kind::Double);
        if self.first.is_none() {
            self.first = f64::try_from(&l).ok();
        }
        self.window = Some(match self.window.take() {
            Some(w) => w + l,
            None => l,
        });
        self.window_len += 1;
    }

    /// Whether steps were added since the last flush.
    pub(crate) fn pending(&self) -> bool {
        self.window_len > 0
    }

    /// The window's mean loss, or why the run diverged: a non-finite mean, or one above
    /// `explode` times the first step's loss.
    pub(crate) fn flush(&mut self) -> Result<f64, String> {
        let Some(w) = self.window.take() else {
            return Err("no training step was taken".into());
        };
        let n = std::mem::take(&mut self.window_len);
        let mean = f64::try_from(w).map_err(|e| e.to_string())? / n as f64;
        if !mean.is_finite() {
            return Err(format!("training loss became {mean}"));
        }
        if let Some(first) = self.first
            && mean > self.explode * first.abs()
        {
            return Err(format!(
                "training loss exploded to {mean:.4} (first step: {first:.4}, limit {}x)",
                self.explode
            ));
        }
        self.interval.0 += mean * n as f64;
        self.interval.1 += n;
        Ok(mean)
    }

    /// Mean loss of the flushed windows since the previous call (NaN if none).
    pub(crate) fn take_interval(&mut self) -> f64 {
        let (s, n) = std::mem::take(&mut self.interval);
        if n == 0 { f64::NAN } else { s / n as f64 }
    }
}
