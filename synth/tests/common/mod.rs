//! Shared helpers of the synthesis tests.

#![allow(dead_code)]

use kas_primitives::Spec;
use kas_synth::{Config, Dag, Filters};

/// A spec read from `experiments/specs/` (bare name) or relative to this crate (with a `/`).
pub fn spec(name: &str) -> Spec {
    let dir = env!("CARGO_MANIFEST_DIR");
    let path = if name.contains('/') {
        format!("{dir}/{name}")
    } else {
        format!("{dir}/../experiments/specs/{name}")
    };
    let text = std::fs::read_to_string(&path).unwrap();
    Spec::read(&text, &path).unwrap()
}

/// The DAG of a spec under `experiments/specs/`.
pub fn dag(name: &str) -> Dag {
    Dag::new(Config::new(spec(name)).unwrap(), Filters::default())
}

/// The DAG of a spec after `edit` (e.g. a wider FLOPs window) with the given filters.
pub fn dag_with(name: &str, filters: Filters, edit: impl FnOnce(&mut Spec)) -> Dag {
    let mut s = spec(name);
    edit(&mut s);
    Dag::new(Config::new(s).unwrap(), filters)
}
