//! The canonical form of graph kernels: exact simplification rules applied to a fixpoint
//! ([`rules`], as versioned data), dead nodes dropped, then a hash that orders the operands of
//! commutative blends and names each linear node by its operator's canonical hash
//! ([`hash`]). Two kernels with one canonical hash compute the same function; the sampler
//! counts them once.

pub mod hash;
pub mod rules;
pub mod simplify;

pub use hash::{GraphHash, LinearHashes, canonical_hash};
pub use rules::{PairRule, Rhs};
pub use simplify::simplify;
