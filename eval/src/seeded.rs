//! libtorch's global random generator, seeded and drawn from by one thread at a time.
//!
//! Weight initialisation and random test tensors come from libtorch's process-wide generator.
//! Two threads that seed it and draw from it at once (two evaluators of one campaign, tests run
//! in parallel) interleave their draws, and the same seed stops meaning the same weights.
//! [`seeded`] holds a process-wide lock from the seeding until the draws are done, so a run's
//! initial weights are a function of its seed alone. (Data order and augmentation do not use
//! this generator: they come from host-side streams of the seed, `data::batches`.)
//!
//! The lock helps only if every draw in the process takes it: one unlocked `Tensor::randn` in
//! a sibling thread (a test building its data while another trains) shifts the other's draws.

use std::sync::{Mutex, PoisonError};

static GENERATOR: Mutex<()> = Mutex::new(());

/// Runs `draw` with libtorch's global generator seeded with `seed` and no other thread seeding
/// or drawing through this function meanwhile. Keep `draw` to the random draws (building a
/// model, drawing inputs): the lock serialises it across threads.
pub fn seeded<T>(seed: u64, draw: impl FnOnce() -> T) -> T {
    let _only = GENERATOR.lock().unwrap_or_else(PoisonError::into_inner);
    tch::manual_seed(seed as i64);
    draw()
}
