//! What an evaluator is handed: a kernel (a complete operator, or a graph kernel of a graph
//! campaign) with its identity (canonical hash and the digest of the canonicalization rules
//! that produced it) and where the searcher found it.

use kas_graph::GraphKernel;
use kas_primitives::Operator;
use kas_primitives::StructuralHash;
use kas_primitives::canon::CanonicalHash;

/// The kernel of a candidate.
#[derive(Debug, Clone)]
pub enum Kernel {
    /// A complete operator (a campaign over operators).
    Operator(Operator),
    /// A graph kernel (a campaign over a graph space).
    Graph(GraphKernel),
}

impl Kernel {
    /// The operator, if the kernel is one.
    pub fn operator(&self) -> Option<&Operator> {
        match self {
            Kernel::Operator(op) => Some(op),
            Kernel::Graph(_) => None,
        }
    }

    /// The graph kernel, if the kernel is one.
    pub fn graph(&self) -> Option<&GraphKernel> {
        match self {
            Kernel::Graph(g) => Some(g),
            Kernel::Operator(_) => None,
        }
    }
}

/// A kernel found by a searcher.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The kernel.
    pub kernel: Kernel,
    /// Its canonical hash: the key under which it is evaluated at most once (a graph kernel's
    /// `kas_graph::canon::GraphHash`, as the same 128 bits).
    pub canonical: CanonicalHash,
    /// Digest of the canonicalization rule set that produced `canonical`
    /// ([`crate::SearchSpace::rules_digest`]).
    pub rules: String,
    /// Its structural hash (the synthesis leaf's identity; a graph kernel's canonical hash).
    pub structural: StructuralHash,
    /// Multiply-adds of its cheapest plan (a graph kernel: of its nodes), summed over the
    /// spec's bindings.
    pub flops: f64,
    /// Child indices from the DAG's root to the leaf (a graph kernel: its descent's index).
    pub path: Vec<u32>,
}
