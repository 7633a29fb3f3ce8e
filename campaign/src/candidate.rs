//! What an evaluator is handed: a complete operator with its identity (canonical hash and the
//! digest of the canonicalization rules that produced it) and where the searcher found it.

use kas_primitives::Operator;
use kas_primitives::StructuralHash;
use kas_primitives::canon::CanonicalHash;

/// A complete operator found by a searcher.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The operator.
    pub op: Operator,
    /// Its canonical hash: the key under which it is evaluated at most once.
    pub canonical: CanonicalHash,
    /// Digest of the canonicalization rule set that produced `canonical`.
    pub rules: String,
    /// Its structural hash (the synthesis leaf's identity).
    pub structural: StructuralHash,
    /// Multiply-adds of its cheapest plan, summed over the spec's bindings.
    pub flops: f64,
    /// Child indices from the DAG's root to the leaf (`dag.children(node)[i]` at each step).
    pub path: Vec<u32>,
}
