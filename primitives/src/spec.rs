//! The slot spec file (`docs/FORMAT.md`, kind `kas-spec`, version 1): what synthesis must fill.
//!
//! A spec names the slot's symbolic input and output shapes (with channel-like `unordered`
//! axes), the input/output axis pairs passed through untouched (the batch), the variables
//! with their values and occurrence limits, one named binding per placeholder, and the
//! budgets of synthesis.

use crate::error::{Error, Result};
use crate::format::{check_kind, parse_ron};
use crate::size::{Binding, NamedBinding, Size, VarTable};
use serde::{Deserialize, Serialize};

/// Type tag of spec files.
pub const SPEC_KIND: &str = "kas-spec";
/// Current version of the spec file format.
pub const SPEC_VERSION: u32 = 1;

/// A spec file as read from / written to RON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// Type tag: `"kas-spec"`.
    pub kind: String,
    /// Format version: 1.
    pub version: u32,
    /// Name of the slot spec.
    pub name: String,
    /// Name of the binding set the bindings form (for instance `resnet18-syno`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub binding_set: String,
    /// Free-form description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Input shape, e.g. `"[N, C_in: unordered, H, H]"`.
    pub input: String,
    /// Output shape, e.g. `"[N, C_out: unordered, H, H]"`.
    pub output: String,
    /// Variables with values and occurrence limits.
    pub variables: VarTable,
    /// `(input axis, output axis)` pairs passed through untouched (the batch).
    #[serde(default)]
    pub fixed: Vec<(usize, usize)>,
    /// One binding per placeholder.
    pub bindings: Vec<NamedBinding>,
    /// Budgets of synthesis.
    #[serde(default)]
    pub budgets: Budgets,
}

/// Budgets and switches of synthesis (names follow Syno's options where they exist; defaults
/// are Syno's ResNet-18 search settings: `docs/ARCHITECTURE.md`, "Syno's settings").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Budgets {
    /// Most primitive steps on any path (search depth).
    pub depth: u32,
    /// Most primitives on one chain from output to input.
    pub max_chain_length: u32,
    /// Most tensors (input + weights).
    pub max_tensors: u32,
    /// Most reductions.
    pub max_reductions: u32,
    /// Most Merge steps.
    pub max_merges: u32,
    /// Most Split steps.
    pub max_splits: u32,
    /// Most Shift steps.
    pub max_shifts: u32,
    /// Most Stride steps.
    pub max_strides: u32,
    /// Most Unfold steps.
    pub max_unfolds: u32,
    /// Multiply-adds per batch, summed over bindings: `[min, max]`.
    pub flops: (f64, f64),
    /// Weight parameters, summed over bindings: `[min, max]`.
    pub params: (f64, f64),
    /// Bound on Π reduction domains / Π input sizes.
    pub max_rdom_size_multiplier: f64,
    /// Bound on the product of reductions reached without any weight.
    pub max_pooling_factor: f64,
    /// Bound on the largest intermediate of the cheapest plan, relative to the larger of the
    /// input and the output, under every binding ([`crate::Plan::intermediate_ratio`]).
    pub max_intermediate_multiplier: f64,
    /// Bound on the largest operand the plan gathers, relative to the larger of the input and
    /// the output, under every binding ([`crate::Plan::gather_ratio`]).
    pub max_gather_multiplier: f64,
    /// Smallest ratio of an Unfold's dim to its window.
    pub min_unfold_ratio: f64,
    /// Largest Unfold window.
    pub max_unfold_kernel: u64,
    /// Largest dim a Stride may produce from.
    pub max_strided_dim: u64,
    /// Bound on the product of sizes a contraction creates (outer-product axes).
    pub max_expansion_merge_multiplier: u64,
    /// Bound on repeat multipliers of Expand under Merge (1 disables repeat).
    pub max_expansion_repeat_multiplier: u64,
    /// Sizes allowed for a reduction shared between two weights (low rank): `[min, max]`,
    /// bounding the size's largest value over the bindings (as Syno bounds its upper estimate).
    pub weight_sharing_size: (u64, u64),
    /// Smallest weight, in elements.
    pub min_single_weight_params: u64,
    /// Most distinct variables in one size.
    pub max_variables_in_size: u32,
    /// Most Σ|exponent| in one size.
    pub max_variable_powers_in_size: u32,
    /// Exponent range enumerated per variable.
    pub max_enumerations_per_var: u32,
    /// Most finalizations kept per node.
    pub max_finalizations: u32,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            depth: 12,
            max_chain_length: 6,
            max_tensors: 3,
            max_reductions: 5,
            max_merges: 1,
            max_splits: 3,
            max_shifts: 2,
            max_strides: 0,
            max_unfolds: 4,
            flops: (0.0, f64::MAX),
            params: (0.0, f64::MAX),
            max_rdom_size_multiplier: 4.0,
            max_pooling_factor: 8.0,
            max_intermediate_multiplier: f64::MAX,
            max_gather_multiplier: f64::MAX,
            min_unfold_ratio: 2.3,
            max_unfold_kernel: 30,
            max_strided_dim: 30,
            max_expansion_merge_multiplier: 2048,
            max_expansion_repeat_multiplier: 1,
            weight_sharing_size: (8, 8),
            min_single_weight_params: 100,
            max_variables_in_size: 3,
            max_variable_powers_in_size: 16,
            max_enumerations_per_var: 5,
            max_finalizations: 2,
        }
    }
}

/// One axis of a slot shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShapeDim {
    /// Its size.
    pub size: Size,
    /// Channel-like.
    pub unordered: bool,
}

/// Parses a shape such as `[N, C_in: unordered, H, H]` or `[N, seq, t*H_in]`.
pub fn parse_shape(text: &str, vars: &VarTable) -> Result<Vec<ShapeDim>> {
    let bad = |reason: &str| Error::SizeSyntax {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    let t = text.trim();
    let inner = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| bad("a shape is written `[A, B: unordered, …]`"))?;
    if inner.trim().is_empty() {
        return Err(bad("a shape needs at least one axis"));
    }
    inner
        .split(',')
        .map(|part| {
            let (s, attr) = match part.split_once(':') {
                Some((s, a)) => (s.trim(), Some(a.trim())),
                None => (part.trim(), None),
            };
            let unordered = match attr {
                None => false,
                Some("unordered") => true,
                Some(other) => return Err(bad(&format!("unknown attribute `{other}`"))),
            };
            Ok(ShapeDim {
                size: Size::parse(s, vars)?,
                unordered,
            })
        })
        .collect()
}

/// Prints a shape in the form [`parse_shape`] reads.
pub fn display_shape(shape: &[ShapeDim], vars: &VarTable) -> String {
    let parts: Vec<String> = shape
        .iter()
        .map(|d| {
            if d.unordered {
                format!("{}: unordered", d.size.display(vars))
            } else {
                d.size.display(vars)
            }
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// A checked slot spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Name of the spec.
    pub name: String,
    /// Name of its binding set.
    pub binding_set: String,
    /// Variables.
    pub vars: VarTable,
    /// Input shape.
    pub input: Vec<ShapeDim>,
    /// Output shape.
    pub output: Vec<ShapeDim>,
    /// Fixed `(input axis, output axis)` pairs.
    pub fixed: Vec<(usize, usize)>,
    /// Bindings, one per placeholder.
    pub bindings: Vec<Binding>,
    /// Budgets.
    pub budgets: Budgets,
}

impl Spec {
    /// Reads and checks a spec file.
    pub fn read(text: &str, path: &str) -> Result<Spec> {
        check_kind(text, path, SPEC_KIND, SPEC_VERSION)?;
        let file: SpecFile = parse_ron(text, path)?;
        file.check().map_err(|e| Error::Format {
            path: path.to_string(),
            message: e.to_string(),
        })
    }
}

impl SpecFile {
    /// Resolves sizes and bindings and checks every rule: shapes parse, every size is legal
    /// under every binding, fixed pairs name existing axes of equal size, at least one
    /// binding.
    pub fn check(&self) -> Result<Spec> {
        let vars = self.variables.clone();
        vars.validate()?;
        let input = parse_shape(&self.input, &vars)?;
        let output = parse_shape(&self.output, &vars)?;
        if self.bindings.is_empty() {
            return Err(Error::InvalidOperator(
                "a spec needs at least one binding".into(),
            ));
        }
        let bindings = self
            .bindings
            .iter()
            .map(|b| b.resolve(&vars))
            .collect::<Result<Vec<_>>>()?;
        let mut names = std::collections::BTreeSet::new();
        for b in &bindings {
            if !names.insert(b.name.as_str()) {
                return Err(Error::Binding {
                    binding: b.name.clone(),
                    reason: "name used twice".into(),
                });
            }
        }
        for d in input.iter().chain(&output) {
            d.size.check_legal(&vars, &bindings)?;
        }
        for &(i, o) in &self.fixed {
            let (Some(a), Some(b)) = (input.get(i), output.get(o)) else {
                return Err(Error::InvalidOperator(format!(
                    "fixed pair ({i}, {o}) names an axis that does not exist"
                )));
            };
            if a.size != b.size {
                return Err(Error::SizeMismatch {
                    context: format!("fixed pair ({i}, {o})"),
                    left: a.size.display(&vars),
                    right: b.size.display(&vars),
                });
            }
        }
        let (lo, hi) = self.budgets.flops;
        if lo.is_nan() || hi.is_nan() || lo > hi {
            return Err(Error::InvalidOperator(format!(
                "FLOPs window [{lo}, {hi}] is empty"
            )));
        }
        Ok(Spec {
            name: self.name.clone(),
            binding_set: self.binding_set.clone(),
            vars,
            input,
            output,
            fixed: self.fixed.clone(),
            bindings,
            budgets: self.budgets.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse() {
        let v = VarTable::from_specs(&["N", "C_in", "H_in"], &["t=3"]).unwrap();
        let s = parse_shape("[N, C_in: unordered, t*H_in]", &v).unwrap();
        assert_eq!(s.len(), 3);
        assert!(s[1].unordered && !s[0].unordered);
        assert_eq!(display_shape(&s, &v), "[N, C_in: unordered, H_in*t]");
        assert!(parse_shape("N, C_in", &v).is_err());
        assert!(parse_shape("[N: ordered]", &v).is_err());
        assert!(parse_shape("[]", &v).is_err());
        assert!(parse_shape("[Q]", &v).is_err());
    }
}
