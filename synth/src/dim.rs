//! Dimensions of a partial operator, shared between search nodes.
//!
//! Synthesis runs bottom-up: it starts from the output iterators and reductions and applies
//! primitives toward the input. Each frontier dimension is a [`DimNode`] that remembers the
//! [`AppliedStep`] below it, so a finished frontier still holds its whole primitive DAG
//! (replayed into an [`kas_primitives::Operator`] by [`crate::replay`]). Keys are stable
//! structural hashes of a dimension's history: the same steps applied in any order give the
//! same keys.

use crate::mix::{mix, size_key};
use kas_primitives::Size;
use std::sync::Arc;

/// What kind of primitive an [`AppliedStep`] is (read bottom-up: `below` dims become the
/// `above` ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// Data-flow Split: below `[outer, inner]`, above one dim of their product.
    Split,
    /// Data-flow Merge: below `[d]`, above `[outer (N/B), inner (B)]`.
    Merge,
    /// Cyclic shift by one: below `[d]`, above one dim of the same size.
    Shift,
    /// Data-flow Unfold: below `[main, window]`, above one dim of main's size.
    Unfold,
    /// Attaches weight `weight`: below the chosen dims; axis `i` is Created (the data side is
    /// Expanded, no above dim) when `created[i]`, otherwise Shared (above port `i` is the data
    /// side).
    Contract {
        /// Weight index in synthesis order (0 = nearest the output).
        weight: u8,
        /// Per below dim: created by the weight rather than shared with the data.
        created: Vec<bool>,
    },
}

/// One primitive applied during synthesis, bottom-up (a node of a partial operator's primitive
/// DAG; not a builder call nor a step of an operator file).
#[derive(Debug)]
pub struct AppliedStep {
    /// Which primitive.
    pub kind: StepKind,
    /// The dims it consumed (nearer the output).
    pub below: Vec<Arc<DimNode>>,
    /// Structural key.
    pub key: u64,
}

/// Where a dimension comes from, looking down toward the output.
#[derive(Debug, Clone)]
pub enum Origin {
    /// Output axis at this position of the spec's output shape.
    Output(u8),
    /// A reduction (index in creation order).
    Reduce(u8),
    /// Above port `port` of a step.
    Step(Arc<AppliedStep>, u8),
}

/// A dimension of a partial operator.
#[derive(Debug, Clone)]
pub struct DimNode {
    /// Structural key of the dimension's history.
    pub key: u64,
    /// Its size.
    pub size: Size,
    /// What is below it.
    pub origin: Origin,
    /// Longest primitive chain below it.
    pub height: u8,
    /// Bit `w` set when a path below it passes through weight `w`.
    pub weights: u8,
    /// Some reduction lies below it.
    pub has_reduce: bool,
    /// Some output iterator lies below it.
    pub has_output: bool,
    /// Bit `r` set when reduction `r` reaches it without passing through any weight.
    pub bare: u8,
    /// Channel-like (derived from an unordered output axis through order-free steps).
    pub unordered: bool,
}

const TAG_OUTPUT: u64 = 1;
const TAG_REDUCE: u64 = 2;

impl DimNode {
    /// The output iterator at spec position `index`.
    pub(crate) fn output(index: u8, size: Size, unordered: bool) -> Arc<DimNode> {
        Arc::new(DimNode {
            key: mix(mix(TAG_OUTPUT, index as u64), size_key(size)),
            size,
            origin: Origin::Output(index),
            height: 0,
            weights: 0,
            has_reduce: false,
            has_output: true,
            bare: 0,
            unordered,
        })
    }

    /// Reduction number `index` of domain `size`, the `multiplicity`-th of that domain.
    pub(crate) fn reduce(index: u8, multiplicity: u8, size: Size) -> Arc<DimNode> {
        Arc::new(DimNode {
            key: mix(mix(TAG_REDUCE, multiplicity as u64), size_key(size)),
            size,
            origin: Origin::Reduce(index),
            height: 0,
            weights: 0,
            has_reduce: true,
            has_output: false,
            bare: 1 << index,
            unordered: false,
        })
    }

    /// Whether it is directly a reduction (no step between).
    pub(crate) fn is_bare_reduce(&self) -> bool {
        matches!(self.origin, Origin::Reduce(_))
    }

    /// Whether every iterator below it is a reduction.
    pub fn only_reduce(&self) -> bool {
        self.has_reduce && !self.has_output
    }

    /// The step directly below it and the port, if any.
    pub fn step(&self) -> Option<(&AppliedStep, u8)> {
        match &self.origin {
            Origin::Step(s, p) => Some((s, *p)),
            _ => None,
        }
    }
}

impl AppliedStep {
    /// Creates a step over `below` and returns it with its above dims (sizes given per port;
    /// `None` for a port without a dim, i.e. a Created contraction axis).
    pub(crate) fn apply(
        kind: StepKind,
        below: Vec<Arc<DimNode>>,
        above_sizes: &[Option<Size>],
    ) -> (Arc<AppliedStep>, Vec<Arc<DimNode>>) {
        let tag = match &kind {
            StepKind::Split => 11,
            StepKind::Merge => 12,
            StepKind::Shift => 13,
            StepKind::Unfold => 14,
            StepKind::Contract { weight, created } => {
                let mut t = mix(15, *weight as u64);
                for &c in created {
                    t = mix(t, c as u64);
                }
                t
            }
        };
        let mut key = tag;
        for d in &below {
            key = mix(key, d.key);
        }
        for s in above_sizes.iter().flatten() {
            key = mix(key, size_key(*s));
        }
        let height = below.iter().map(|d| d.height).max().unwrap_or(0) + 1;
        let mut weights = below.iter().fold(0, |a, d| a | d.weights);
        let has_reduce = below.iter().any(|d| d.has_reduce);
        let has_output = below.iter().any(|d| d.has_output);
        let mut bare = below.iter().fold(0, |a, d| a | d.bare);
        let unordered = match &kind {
            StepKind::Merge => below[0].unordered,
            StepKind::Split => below.iter().all(|d| d.unordered),
            _ => false,
        };
        if let StepKind::Contract { weight, .. } = &kind {
            weights |= 1 << weight;
            bare = 0;
        }
        let step = Arc::new(AppliedStep { kind, below, key });
        let mut above = Vec::new();
        for (port, s) in above_sizes.iter().enumerate() {
            let Some(size) = *s else { continue };
            let (h, w, b, u, hr, ho) = match &step.kind {
                StepKind::Contract { weight, .. } => {
                    let d = &step.below[port];
                    (
                        d.height + 1,
                        d.weights | (1 << weight),
                        0,
                        d.unordered,
                        d.has_reduce,
                        d.has_output,
                    )
                }
                _ => (height, weights, bare, unordered, has_reduce, has_output),
            };
            above.push(Arc::new(DimNode {
                key: mix(step.key, port as u64),
                size,
                origin: Origin::Step(step.clone(), port as u8),
                height: h,
                weights: w,
                has_reduce: hr,
                has_output: ho,
                bare: b,
                unordered: u,
            }));
        }
        (step, above)
    }
}
