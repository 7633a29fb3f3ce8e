//! Clocks: the wall clock for real runs and a manual one that tests advance by hand.

use std::cell::Cell;
use std::time::Instant;

/// A monotonic clock in seconds from an arbitrary origin.
pub trait Clock {
    /// Seconds since the clock's origin.
    fn now(&self) -> f64;
}

impl<T: Clock + ?Sized> Clock for &T {
    fn now(&self) -> f64 {
        (**self).now()
    }
}

/// The process's monotonic wall clock.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    origin: Instant,
}

impl WallClock {
    /// A clock starting now.
    pub fn new() -> WallClock {
        WallClock {
            origin: Instant::now(),
        }
    }
}

impl Default for WallClock {
    fn default() -> Self {
        WallClock::new()
    }
}

impl Clock for WallClock {
    fn now(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }
}

/// A clock that moves only when told to (for testing the protocol's logic).
#[derive(Debug, Default)]
pub struct ManualClock {
    t: Cell<f64>,
}

impl ManualClock {
    /// A clock at 0.
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves the clock forward by `dt` seconds.
    pub fn advance(&self, dt: f64) {
        self.t.set(self.t.get() + dt);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> f64 {
        self.t.get()
    }
}
