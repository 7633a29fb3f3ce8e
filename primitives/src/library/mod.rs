//! A library of well-known operators written with the [`Builder`], each paired
//! with an independent hand-written implementation ([`direct`]) and checked against the
//! reference interpreter ([`check()`]).
//!
//! Every [`Entry`] builds its operator over its own [`VarTable`] with at least
//! two small test bindings at odd sizes (stored in [`Operator::bindings`]).
//! The direct implementations read only the operator's variable values, never its graph, so a
//! match between the two is evidence that both the builder's operator and the interpreter mean
//! what the formula in [`Entry::summary`] says.

pub mod check;
mod convs;
pub mod direct;
mod direct_linear;
mod direct_syno;
mod direct_syno_convs;
mod linear_ops;
mod syno_convs;
mod syno_ops;

use crate::builder::Builder;
use crate::error::Result;
use crate::graph::DimId;
use crate::operator::Operator;
use crate::size::{Binding, VarTable};
use crate::tensor::Tensor;

pub use check::{CheckReport, check, check_all};

/// One operator of the library.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Kebab-case name, unique in the library (e.g. `"conv2d"`).
    pub name: &'static str,
    /// One line with the index formula.
    pub summary: &'static str,
    /// Builds the operator with its variable table and test bindings.
    pub build: fn() -> Result<Operator>,
    /// Independent implementation: `(operator, binding, [input, weights…]) → output`.
    pub direct: fn(&Operator, &Binding, &[Tensor]) -> Tensor,
}

static ENTRIES: &[Entry] = &[
    Entry {
        name: "conv2d",
        summary: "Y[n,o,h,w] = Σ_{c,a,b} X[n,c,⟨h+a−k/2⟩,⟨w+b−k/2⟩]·W[o,c,a,b]",
        build: convs::conv2d,
        direct: direct::conv2d,
    },
    Entry {
        name: "grouped-conv2d",
        summary: "Y[n,γ·C_out/g+o,h,w] = Σ_{c,a,b} X[n,γ·C_in/g+c,⟨h+a−k/2⟩,⟨w+b−k/2⟩]·W[γ,o,c,a,b]",
        build: convs::grouped_conv2d,
        direct: direct::grouped_conv2d,
    },
    Entry {
        name: "depthwise-conv2d",
        summary: "Y[n,c,h,w] = Σ_{a,b} X[n,c,⟨h+a−k/2⟩,⟨w+b−k/2⟩]·W[c,a,b]",
        build: convs::depthwise_conv2d,
        direct: direct::depthwise_conv2d,
    },
    Entry {
        name: "pointwise-conv2d",
        summary: "Y[n,o,h,w] = Σ_c X[n,c,h,w]·W[o,c]",
        build: convs::pointwise_conv2d,
        direct: direct::pointwise_conv2d,
    },
    Entry {
        name: "linear",
        summary: "Y[n,l,o] = Σ_i X[n,l,i]·W[o,i]",
        build: convs::linear,
        direct: direct::linear,
    },
    Entry {
        name: "dilated-conv2d",
        summary: "Y[n,o,h,w] = Σ_{c,a,b} X[n,c,⟨h+s·(a−k/2)⟩,⟨w+s·(b−k/2)⟩]·W[o,c,a,b] (Split(s)→Unfold→Merge)",
        build: convs::dilated_conv2d,
        direct: direct::dilated_conv2d,
    },
    Entry {
        name: "separable-conv2d",
        summary: "Y[n,o,h,w] = Σ_{c,m,a,b} X[n,c,⟨h+a−k/2⟩,⟨w+b−k/2⟩]·A[m,c,a]·B[o,m,b]",
        build: convs::separable_conv2d,
        direct: direct::separable_conv2d,
    },
    Entry {
        name: "shift-conv2d",
        summary: "Y[n,o,h,w] = Σ_c X[n,c,(h+1) mod H,(w−1) mod W]·W[o,c]",
        build: convs::shift_conv2d,
        direct: direct::shift_conv2d,
    },
    Entry {
        name: "syno-op1",
        summary: "Y[n,o,h,w] = Σ_{γ,c,a,b,μ} X[n,γ·C_in/g+c,⟨h+a−1⟩,⟨w+b−1⟩]·A[γ,a,b,o,μ]·B[γ·C_in/g+c,b,μ], μ < C_out/(g·s)",
        build: syno_ops::syno_op1,
        direct: direct_syno::syno_op1,
    },
    Entry {
        name: "syno-op2",
        summary: "Y[n,o,h,w] = Σ_{γ,c,a,b,μ} X[n,γ·C_in/g+c,σ(⟨h+a−1⟩),⟨w+b−1⟩]·A[γ,a,o,μ]·B[γ·C_in/g+c,b,μ], σ(x) = (x+1) mod H",
        build: syno_ops::syno_op2,
        direct: direct_syno::syno_op2,
    },
    Entry {
        name: "syno-transposed-conv1d",
        summary: "Y[n,o,h,w] = Σ_{c,b,t} X[n,c,σ(w),⟨u_t(h)+b−1⟩]·B[c,b,o]·A[o,t], u_t(h) = ((s·h+t+1) mod s·H) div s (h, then σ(h)), σ(x) = (x+1) mod H",
        build: syno_convs::syno_transposed_conv1d,
        direct: direct_syno_convs::syno_transposed_conv1d,
    },
    Entry {
        name: "gpt2-qkv-tied",
        summary: "Y[n,l,α·k·G+β·G+γ] = Σ_{j<H_in/k} X[n,l,β·H_in/k+j]·W[α,j,γ], G = H_in/(k⁴t), α < k³t², β < k",
        build: syno_ops::gpt2_qkv_tied,
        direct: direct_syno::gpt2_qkv_tied,
    },
    Entry {
        name: "low-rank-linear",
        summary: "Y[n,l,o] = Σ_{i,m} X[n,l,i]·A[m,i]·B[o,m], m < H_in/g",
        build: linear_ops::low_rank_linear,
        direct: direct_linear::low_rank_linear,
    },
    Entry {
        name: "block-diagonal-linear",
        summary: "Y[n,l,γ·H_out/g+o] = Σ_i X[n,l,γ·H_in/g+i]·W[γ,o,i], γ < g",
        build: linear_ops::block_diagonal_linear,
        direct: direct_linear::block_diagonal_linear,
    },
    Entry {
        name: "kronecker-linear",
        summary: "Y[n,l,a·H_out/g+β] = Σ_{c,d} X[n,l,c·H_in/g+d]·A[a,c]·B[β,d], a, c < g",
        build: linear_ops::kronecker_linear,
        direct: direct_linear::kronecker_linear,
    },
    Entry {
        name: "monarch-linear",
        summary: "Y[n,l,j·g+o] = Σ_{γ,i} X[n,l,γ·H_in/g+i]·R[γ,j,i]·L[j,o,γ], γ, o < g, j < H_out/g",
        build: linear_ops::monarch_linear,
        direct: direct_linear::monarch_linear,
    },
    Entry {
        name: "syno-kronecker-conv",
        summary: "Y[n,o,h,w] = Σ_{ρ,c,a,b} X[n,ρ·C_in/(g·s)+c,⟨h+a−1⟩,⟨w+b−1⟩]·A[c,a,b,⌊o/(C_out/g)⌋]·B[ρ,b,o mod (C_out/g)], ρ < g·s",
        build: syno_convs::syno_kronecker_conv,
        direct: direct_syno_convs::syno_kronecker_conv,
    },
    Entry {
        name: "syno-channel-window-conv",
        summary: "Y[n,o,h,w] = Σ_{ρ,a,c,b} X[n,ρ·C_in/s+⟨γ+a−1⟩_g·C_in/(g·s)+c,h,⟨w+b−1⟩]·W[γ,a,c,b,o mod (C_out/g)], γ = ⌊o/(C_out/g)⌋",
        build: syno_convs::syno_channel_window_conv,
        direct: direct_syno_convs::syno_channel_window_conv,
    },
];

/// Every operator of the library.
pub fn entries() -> &'static [Entry] {
    ENTRIES
}

/// The operator of this name, if any.
pub fn get(name: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.name == name)
}

/// A builder over `vars` with named test bindings `(name, [(variable, value)…])`.
fn builder(vars: VarTable, bindings: &[(&str, &[(&str, u64)])]) -> Result<Builder> {
    let bs = bindings
        .iter()
        .map(|(name, values)| vars.bind(name, values.iter().copied()))
        .collect::<Result<Vec<_>>>()?;
    Builder::new(vars, bs)
}

/// Renames several dims at once.
fn names(b: &mut Builder, pairs: &[(DimId, &str)]) -> Result<()> {
    for &(d, name) in pairs {
        b.rename(d, name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_has_unique_names() {
        assert!(entries().len() >= 11);
        let mut seen = std::collections::HashSet::new();
        for e in entries() {
            assert!(seen.insert(e.name), "duplicate name {}", e.name);
            assert!(
                e.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{} is not kebab-case",
                e.name
            );
            assert!(std::ptr::eq(get(e.name).unwrap(), e));
        }
        assert!(get("no-such-operator").is_none());
    }

    #[test]
    fn every_entry_builds_and_validates() {
        for e in entries() {
            let op = (e.build)().unwrap_or_else(|err| panic!("{}: {err}", e.name));
            op.validate().unwrap();
            assert!(op.bindings.len() >= 2, "{}: fewer than 2 bindings", e.name);
            let mut seen = std::collections::HashSet::new();
            for b in &op.bindings {
                assert!(seen.insert(b.name.clone()), "{}: duplicate binding", e.name);
                assert!(!b.name.is_empty());
            }
        }
    }

    #[test]
    fn output_shapes_agree_with_direct() {
        for e in entries() {
            let op = (e.build)().unwrap();
            for b in &op.bindings {
                let inputs = crate::interp::random_inputs(&op, b, 7, false).unwrap();
                let got = (e.direct)(&op, b, &inputs);
                let expected = op.concrete(&op.outputs, b).unwrap();
                assert_eq!(got.shape, expected, "{} under {}", e.name, b.name);
            }
        }
    }

    #[test]
    fn bindings_are_not_all_powers_of_two() {
        for e in entries() {
            let op = (e.build)().unwrap();
            let odd = op.bindings.iter().any(|b| {
                b.pairs(&op.vars)
                    .iter()
                    .any(|(_, v)| *v > 1 && !v.is_power_of_two())
            });
            assert!(odd, "{}: only powers of two", e.name);
        }
    }
}
