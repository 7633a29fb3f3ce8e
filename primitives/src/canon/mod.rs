//! Canonical form and canonical hash of complete operators (the second layer of
//! canonicalization in `docs/ARCHITECTURE.md`, "Canonicalization").
//!
//! [`canonicalize`] takes an operator's index expressions ([`crate::Accesses`]), puts them into
//! an e-graph of the [`lang`] language with a symbolic range [`analysis`] (true under every
//! valid binding of the variables, [`bounds`]; the bindings an operator lists play no part, so
//! the form identifies the operator, not the file), runs the
//! [`rules`] under explicit [`CanonLimits`] (counts of e-nodes and iterations, never wall
//! time), extracts one normal form per expression
//! ([`normalize`]), applies the operator-level equivalences of [`absorb`] (a shift of a
//! reduction, a roll of a weight axis), and puts reductions, weights and weight axes in a
//! canonical [`order`], after choosing the channel order of [`unordered`] axes. The result is
//! a [`CanonicalForm`], its [`CanonicalHash`] (128 bits of BLAKE3 over the form's bytes), the
//! [`Relayout`] of the weights and channels it implies, and a [`RunReport`] of the e-graph
//! run. A run that stops at a limit before saturating gives no canonical form: it is the
//! error [`crate::Error::Unsaturated`], never a hash. Every hash is reported with
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
pub mod bounds;
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
pub mod unordered;

pub use form::{CanonicalForm, CanonicalHash};
pub use normalize::{CanonLimits, CanonStop, LIMITS, RunReport};
pub use relayout::Relayout;

use crate::error::{Error, Result};
use crate::expr::Accesses;
use crate::operator::Operator;
use bounds::Domains;

/// The canonicalizer's answer for one operator.
#[derive(Debug, Clone)]
pub struct Canonical {
    /// The canonical form.
    pub form: CanonicalForm,
    /// Its hash.
    pub hash: CanonicalHash,
    /// How the operator's weights map onto the form's weights.
    pub relayout: Relayout,
    /// What the e-graph run did (it saturated: other runs give no `Canonical`).
    pub report: RunReport,
    /// Digest of the rule set that produced the form ([`rules::digest`]).
    pub rules: &'static str,
}

/// Canonicalizes a (valid) operator under the default [`LIMITS`].
pub fn canonicalize(op: &Operator) -> Result<Canonical> {
    canonicalize_with(op, &LIMITS)
}

/// Canonicalizes a (valid) operator under the given limits.
///
/// When unordered axes are built by bijective views ([`unordered`]), every choice of their
/// channel order is canonicalized and the smallest form wins; its channel permutations are
/// part of the returned [`Relayout`].
///
/// The answer is a pure function of the operator and `limits`. If any e-graph run stops at a
/// limit before saturating, the operator has no canonical form under these limits and the
/// answer is [`crate::Error::Unsaturated`] (callers count it as a failure
/// to canonicalize; they never use a form from an unsaturated run).
pub fn canonicalize_with(op: &Operator, limits: &CanonLimits) -> Result<Canonical> {
    op.validate()?;
    let mut best: Option<(Vec<u8>, Canonical)> = None;
    for (cand, maps) in unordered::candidates(op) {
        let mut c = canonical_of(&cand, op, limits);
        if !c.report.saturated() {
            return Err(Error::Unsaturated {
                stop: c.report.stop,
                iterations: c.report.iterations,
                nodes: c.report.nodes,
            });
        }
        c.relayout.channels = maps;
        let bytes = c.form.bytes();
        if best.as_ref().is_none_or(|b| bytes < b.0) {
            best = Some((bytes, c));
        }
    }
    Ok(best.expect("at least one candidate").1)
}

/// The canonical form of `op`, an operator with the input and output axes (sizes and
/// channel-like flags) of `axes`.
fn canonical_of(op: &Operator, axes: &Operator, limits: &CanonLimits) -> Canonical {
    let acc = Accesses::of(op);
    // Symbolic: the operator's listed bindings never enter the form (`RULES.md`).
    let mut legal: Vec<_> = op.dims.iter().map(|d| d.size).collect();
    legal.sort();
    legal.dedup();
    let domains = Domains {
        outs: acc.out_sizes.clone(),
        reds: acc.red_sizes.clone(),
        legal,
    };
    let (mut normal, report) = normalize::normalize(&domains, &acc.tensors, &acc.guards, limits);
    let sizes: Vec<Vec<_>> = (0..op.tensor_count()).map(|t| op.tensor_shape(t)).collect();
    let rolls = absorb::absorb(&mut normal, &domains, &sizes);
    let weights = sizes[1..].to_vec();
    let flags = |ds: &[crate::graph::DimId]| -> Vec<_> {
        ds.iter()
            .map(|&d| (axes.size(d), axes.dim(d).unordered))
            .collect()
    };
    // The form names the variables; their declared values and occurrence limits are facts of
    // a file or a search space, not of the operator.
    let vars = crate::size::VarTable {
        primary: op.vars.primary.iter().map(bare).collect(),
        coefficient: op.vars.coefficient.iter().map(bare).collect(),
    };
    let shape = order::Shape {
        vars: &vars,
        outputs: flags(&axes.outputs),
        reds: acc.red_sizes.clone(),
        input: flags(&axes.input),
        weights,
    };
    let (form, relayout) = order::order(&normal, &shape, &rolls);
    Canonical {
        hash: form.hash(),
        form,
        relayout,
        report,
        rules: rules::digest(),
    }
}

/// A variable with its name only.
fn bare(v: &crate::size::Var) -> crate::size::Var {
    crate::size::Var {
        name: v.name.clone(),
        value: None,
        max_occurrences: None,
    }
}

#[cfg(test)]
mod tests;

/// Appends a dim (no links yet: the caller wires it and revalidates) named `base`, primed until
/// the name is unique; shared by the rewrites that build operator variants.
pub(crate) fn push_dim(op: &mut Operator, size: crate::size::Size, base: String) -> crate::DimId {
    let id = crate::DimId(op.dims.len() as u32);
    let mut name = base;
    while op.dims.iter().any(|d| d.name == name) {
        name.push('\'');
    }
    op.dims.push(crate::Dim {
        size,
        name,
        source: crate::Source::Op(0),
        sink: None,
        unordered: false,
    });
    id
}
