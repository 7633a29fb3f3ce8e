//! Exclusive timing on a device that several evaluations share (a campaign's
//! `evaluations_per_device`): while one evaluation times its slot set, no other times, and every
//! training on the device holds at its next step (its queued work finished), so that the
//! figures are those of the device alone, as with one evaluation per device. Trainings run side
//! by side; a timing waits for the steps in flight, never for whole trainings. A timing
//! worker holds the device only while it measures (one turn per binding, [`crate::timing::Turns`]):
//! it starts, compiles and validates while the trainings run. Trainings also share the memory
//! the campaign allows the device's tch plans ([`DeviceGate::memory`]): one waits, rather than
//! being refused, while the others' reservations leave too little.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// The gate of one device (see the module docs).
#[derive(Debug, Default)]
pub struct DeviceGate {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// A timing holds the device.
    timing: bool,
    /// Timings waiting for it (trainings hold while any waits).
    waiting: usize,
    /// Trainings between two holds (running steps).
    training: usize,
    /// Bytes of device memory reserved by trainings ([`DeviceGate::memory`]).
    reserved: f64,
}

impl State {
    fn timing_wanted(&self) -> bool {
        self.timing || self.waiting > 0
    }
}

impl DeviceGate {
    /// A gate with nothing running.
    pub fn new() -> DeviceGate {
        DeviceGate::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, g: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed.wait(g).unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until no other timing holds the device and every training is held, then holds
    /// the device until the guard is dropped.
    pub fn timing(&self) -> TimingGuard<'_> {
        self.take_turn();
        TimingGuard { gate: self }
    }

    fn take_turn(&self) {
        let mut g = self.lock();
        g.waiting += 1;
        while g.timing || g.training > 0 {
            g = self.wait(g);
        }
        g.waiting -= 1;
        g.timing = true;
    }

    fn end_turn(&self) {
        self.lock().timing = false;
        self.changed.notify_all();
    }

    /// Reserves `bytes` of the device's memory for a training, out of `limit` shared by the
    /// evaluations of the device: waits while other reservations leave too little (never
    /// when none is held, so one larger than `limit` alone goes through: the caller refuses
    /// those first). The reservation ends when the hold is dropped.
    pub fn memory(&self, bytes: f64, limit: f64) -> MemoryHold<'_> {
        let mut g = self.lock();
        while g.reserved > 0.0 && g.reserved + bytes > limit {
            g = self.wait(g);
        }
        g.reserved += bytes;
        MemoryHold { gate: self, bytes }
    }

    /// Starts a training on the device (waiting for a timing that holds or wants it);
    /// [`TrainingPass::between_steps`] lets timings in, dropping the pass ends the training.
    pub fn training(&self) -> TrainingPass<'_> {
        let mut g = self.lock();
        while g.timing_wanted() {
            g = self.wait(g);
        }
        g.training += 1;
        TrainingPass {
            gate: self,
            paused_s: 0.0,
        }
    }
}

/// A timing's hold on the device.
#[derive(Debug)]
pub struct TimingGuard<'a> {
    gate: &'a DeviceGate,
}

impl Drop for TimingGuard<'_> {
    fn drop(&mut self) {
        self.gate.end_turn();
    }
}

/// The timing worker's turns on the device are the gate's timings.
impl crate::timing::Turns for DeviceGate {
    fn begin(&self) {
        self.take_turn();
    }

    fn end(&self) {
        self.end_turn();
    }
}

/// A training's reservation of device memory ([`DeviceGate::memory`]).
#[derive(Debug)]
pub struct MemoryHold<'a> {
    gate: &'a DeviceGate,
    bytes: f64,
}

impl Drop for MemoryHold<'_> {
    fn drop(&mut self) {
        let mut g = self.gate.lock();
        g.reserved = (g.reserved - self.bytes).max(0.0);
        drop(g);
        self.gate.changed.notify_all();
    }
}

/// A training's place on the device.
#[derive(Debug)]
pub struct TrainingPass<'a> {
    gate: &'a DeviceGate,
    /// Seconds this training was held for timings.
    pub paused_s: f64,
}

impl TrainingPass<'_> {
    /// Between two steps: when a timing holds or wants the device, runs `finish` (waiting for
    /// the training's queued device work) and holds until the timings are done.
    pub fn between_steps(&mut self, finish: impl FnOnce()) {
        if !self.gate.lock().timing_wanted() {
            return;
        }
        finish();
        let start = Instant::now();
        let mut g = self.gate.lock();
        g.training -= 1;
        self.gate.changed.notify_all();
        while g.timing_wanted() {
            g = self.gate.wait(g);
        }
        g.training += 1;
        drop(g);
        self.paused_s += start.elapsed().as_secs_f64();
    }
}

impl Drop for TrainingPass<'_> {
    fn drop(&mut self) {
        self.gate.lock().training -= 1;
        self.gate.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    /// Trainings step while timings run; no step may run while a timing holds the device, and
    /// timings never overlap.
    #[test]
    fn timings_are_exclusive_and_trainings_hold_between_steps() {
        let gate = Arc::new(DeviceGate::new());
        let timing_now = Arc::new(AtomicBool::new(false));
        let steps_in_flight = Arc::new(AtomicUsize::new(0));
        let violations = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let timings_done = Arc::new(AtomicUsize::new(0));
        let mut threads = Vec::new();
        for _ in 0..3 {
            let (gate, timing_now, steps, bad, fin, done) = (
                gate.clone(),
                timing_now.clone(),
                steps_in_flight.clone(),
                violations.clone(),
                finished.clone(),
                timings_done.clone(),
            );
            threads.push(std::thread::spawn(move || {
                let mut pass = gate.training();
                // Step until both timers are done (they must get in between steps).
                while done.load(Ordering::SeqCst) < 2 {
                    steps.fetch_add(1, Ordering::SeqCst);
                    if timing_now.load(Ordering::SeqCst) {
                        bad.fetch_add(1, Ordering::SeqCst);
                    }
                    std::thread::sleep(Duration::from_micros(300));
                    steps.fetch_sub(1, Ordering::SeqCst);
                    pass.between_steps(|| {
                        fin.fetch_add(1, Ordering::SeqCst);
                    });
                }
            }));
        }
        for _ in 0..2 {
            let (gate, timing_now, steps, bad, done) = (
                gate.clone(),
                timing_now.clone(),
                steps_in_flight.clone(),
                violations.clone(),
                timings_done.clone(),
            );
            threads.push(std::thread::spawn(move || {
                for _ in 0..5 {
                    let _hold = gate.timing();
                    if timing_now.swap(true, Ordering::SeqCst) || steps.load(Ordering::SeqCst) > 0 {
                        bad.fetch_add(1, Ordering::SeqCst);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                    timing_now.store(false, Ordering::SeqCst);
                }
                done.fetch_add(1, Ordering::SeqCst);
            }));
        }
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(violations.load(Ordering::SeqCst), 0);
        assert!(
            finished.load(Ordering::SeqCst) > 0,
            "trainings finished their device work before holding"
        );
        let g = gate.lock();
        assert_eq!((g.timing, g.waiting, g.training), (false, 0, 0));
    }

    #[test]
    fn a_training_alone_never_holds_and_a_pass_counts_its_pause() {
        let gate = DeviceGate::new();
        let mut pass = gate.training();
        pass.between_steps(|| panic!("no timing wants the device"));
        assert_eq!(pass.paused_s, 0.0);
        drop(pass);
        // A timing while nothing trains does not wait.
        drop(gate.timing());
        let gate = Arc::new(DeviceGate::new());
        let mut pass = gate.training();
        let g2 = gate.clone();
        let timer = std::thread::spawn(move || {
            let _hold = g2.timing();
            std::thread::sleep(Duration::from_millis(50));
        });
        while gate.lock().waiting == 0 {
            std::thread::yield_now();
        }
        pass.between_steps(|| {});
        timer.join().unwrap();
        assert!(pass.paused_s >= 0.04, "{}", pass.paused_s);
    }

    #[test]
    fn trainings_wait_for_memory_the_others_hold_and_a_large_one_alone_goes_through() {
        let gate = Arc::new(DeviceGate::new());
        let first = gate.memory(6.0, 10.0);
        // 6 + 3 fits; 6 + 3 + 3 does not: the third waits for a release.
        let second = gate.memory(3.0, 10.0);
        let g2 = gate.clone();
        let got = Arc::new(AtomicBool::new(false));
        let got2 = got.clone();
        let waiter = std::thread::spawn(move || {
            let _m = g2.memory(3.0, 10.0);
            got2.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            !got.load(Ordering::SeqCst),
            "9 + 3 bytes of a 10-byte limit"
        );
        drop(first);
        waiter.join().unwrap();
        assert!(got.load(Ordering::SeqCst));
        drop(second);
        assert_eq!(gate.lock().reserved, 0.0);
        // Larger than the limit, with nothing else held: not refused here, not waiting forever.
        drop(gate.memory(25.0, 10.0));
        assert_eq!(gate.lock().reserved, 0.0);
    }

    #[test]
    fn a_turn_is_a_timing() {
        use crate::timing::Turns;
        let gate = Arc::new(DeviceGate::new());
        let mut pass = gate.training();
        let g2 = gate.clone();
        let timer = std::thread::spawn(move || {
            g2.begin();
            let holding = {
                let g = g2.lock();
                g.timing && g.training == 0
            };
            g2.end();
            holding
        });
        while gate.lock().waiting == 0 {
            std::thread::yield_now();
        }
        pass.between_steps(|| {});
        assert!(timer.join().unwrap(), "the turn held the device alone");
        assert!(!gate.lock().timing);
    }
}
