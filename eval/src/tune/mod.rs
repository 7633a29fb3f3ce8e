//! Per-binding kernel tuning ([`tuner`]) and the cache of its winners ([`cache`]).

pub mod cache;
pub mod tuner;

pub use cache::{TuneCache, TuneEntry, TuneKey};
pub use tuner::{TuneOptions, tune};

use crate::error::Result;
use crate::gpu::Gpu;
use kas_campaign::KernelMode;
use kas_codegen::cuda::precise_schedule;
use kas_codegen::schedule::Schedule;
use kas_codegen::{Precision, StageIr};
use kas_primitives::{Binding, Operator};
use std::path::Path;

/// Where a schedule came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Provenance {
    /// The reference kernels were asked for.
    Reference,
    /// Chosen without timing.
    Heuristic,
    /// Found in the cache.
    Cached,
    /// Tuned now (and cached).
    Tuned(Box<TuneEntry>),
}

impl Provenance {
    /// `reference`, `heuristic`, `tuned, cached` or `tuned now: C candidates, R rejected`
    /// (`, P stopped early` when the tuning pruned slow candidates).
    pub fn label(&self) -> String {
        match self {
            Provenance::Reference => "reference".to_string(),
            Provenance::Heuristic => "heuristic".to_string(),
            Provenance::Cached => "tuned, cached".to_string(),
            Provenance::Tuned(e) if e.pruned > 0 => format!(
                "tuned now: {} candidates, {} rejected, {} stopped early",
                e.candidates, e.rejected, e.pruned
            ),
            Provenance::Tuned(e) => format!(
                "tuned now: {} candidates, {} rejected",
                e.candidates, e.rejected
            ),
        }
    }
}

/// The schedule `mode` asks for at precision `p`: for [`KernelMode::Tuned`], the cache's entry
/// for this operator, binding, device and precision, or a fresh tuning that is then added to the cache at
/// `cache_path` (re-read just before writing, so concurrent workers lose little).
#[allow(clippy::too_many_arguments)]
pub fn schedule_for(
    gpu: &Gpu,
    op: &Operator,
    ir: &StageIr,
    b: &Binding,
    host: &[Vec<f32>],
    device_key: &str,
    mode: KernelMode,
    p: Precision,
    cache_path: &Path,
) -> Result<(Schedule, Provenance)> {
    match mode {
        KernelMode::Reference => Ok((Schedule::direct(ir.stages.len()), Provenance::Reference)),
        KernelMode::Heuristic => Ok((precise_schedule(ir, b, p)?, Provenance::Heuristic)),
        KernelMode::Tuned => {
            let key = TuneKey::new(op, ir, b, device_key, p)?;
            if let Some(e) = TuneCache::load(cache_path)?.get(&key)
                && e.schedule.stages.len() == ir.stages.len()
            {
                return Ok((e.schedule.clone(), Provenance::Cached));
            }
            let entry = tune(gpu, ir, b, host, &TuneOptions::at(p))?;
            let mut cache = TuneCache::load(cache_path)?;
            cache.insert(key, entry.clone());
            cache.save(cache_path)?;
            Ok((entry.schedule.clone(), Provenance::Tuned(Box::new(entry))))
        }
    }
}
