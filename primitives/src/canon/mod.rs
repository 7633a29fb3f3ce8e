//! Canonical form and canonical hash of complete operators (the second layer of
//! canonicalization in `DESIGN.md`).
//!
//! [`canonicalize`] takes an operator's index expressions ([`crate::Accesses`]), puts them into
//! an e-graph of the [`lang`] language with a range [`analysis`] under every binding, runs the
//! [`rules`] under explicit [`Limits`], extracts one normal form per expression
//! ([`normalize`]), applies the operator-level equivalences of [`absorb`] (a shift of a
//! reduction, a roll of a weight axis), and puts reductions, weights and weight axes in a
//! canonical [`order`]. The result is a [`CanonicalForm`], its [`CanonicalHash`] (128 bits of
//! BLAKE3 over the form's bytes), the [`Relayout`] of the weights it implies, and a
//! [`RunReport`] that says why the e-graph stopped. Every hash is reported with
//! [`rules::digest`].
//!
//! ```
//! use kas_primitives::{canon, library};
//! let a = canon::canonicalize(&(library::get("conv2d").unwrap().build)().unwrap()).unwrap();
//! let b = canon::canonicalize(&(library::get("shift-conv2d").unwrap().build)().unwrap()).unwrap();
//! assert_ne!(a.hash, b.hash);
//! assert!(a.report.saturated());
//! ```

pub mod absorb;
pub mod analysis;
pub mod census;
pub mod check;
pub mod form;
pub mod interval;
pub mod lang;
pub mod mutate;
pub mod normalize;
pub mod order;
pub mod relayout;
pub mod rules;

pub use form::{CanonicalForm, CanonicalHash};
pub use normalize::{LIMITS, Limits, RunReport};
pub use relayout::Relayout;

use crate::error::Result;
use crate::expr::Accesses;
use crate::operator::Operator;
use interval::Domains;

/// The canonicalizer's answer for one operator.
#[derive(Debug, Clone)]
pub struct Canonical {
    /// The canonical form.
    pub form: CanonicalForm,
    /// Its hash.
    pub hash: CanonicalHash,
    /// How the operator's weights map onto the form's weights.
    pub relayout: Relayout,
    /// What the e-graph run did and why it stopped.
    pub report: RunReport,
    /// Digest of the rule set that produced the form ([`rules::digest`]).
    pub rules: &'static str,
}

/// Canonicalizes a (valid) operator under the default [`LIMITS`].
pub fn canonicalize(op: &Operator) -> Result<Canonical> {
    canonicalize_with(op, &LIMITS)
}

/// Canonicalizes a (valid) operator under the given limits.
pub fn canonicalize_with(op: &Operator, limits: &Limits) -> Result<Canonical> {
    op.validate()?;
    let acc = Accesses::of(op);
    let domains = Domains {
        bindings: op.bindings.clone(),
        outs: acc.out_sizes.clone(),
        reds: acc.red_sizes.clone(),
    };
    let (mut normal, report) = normalize::normalize(&domains, &acc.tensors, &acc.guards, limits);
    let sizes: Vec<Vec<_>> = (0..op.tensor_count()).map(|t| op.tensor_shape(t)).collect();
    let rolls = absorb::absorb(&mut normal, &domains, &sizes);
    let weights = sizes[1..].to_vec();
    let shape = order::Shape {
        vars: &op.vars,
        outputs: op
            .outputs
            .iter()
            .map(|&d| (op.size(d), op.dim(d).unordered))
            .collect(),
        reds: acc.red_sizes.clone(),
        input: op
            .input
            .iter()
            .map(|&d| (op.size(d), op.dim(d).unordered))
            .collect(),
        weights,
    };
    let (form, relayout) = order::order(&normal, &shape, &rolls);
    Ok(Canonical {
        hash: form.hash(),
        form,
        relayout,
        report,
        rules: rules::digest(),
    })
}

#[cfg(test)]
mod tests;
