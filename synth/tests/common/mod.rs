//! Shared helpers of the synthesis tests.

use kas_synth::{Config, Dag, Filters};

/// The DAG of a spec under `experiments/specs/`.
pub fn dag(name: &str) -> Dag {
    let path = format!("{}/../experiments/specs/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let spec = kas_primitives::Spec::read(&text, &path).unwrap();
    Dag::new(Config::new(spec).unwrap(), Filters::default())
}
