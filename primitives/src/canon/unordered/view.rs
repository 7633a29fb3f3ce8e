//! Channel views and channel permutations of unordered axes.

use crate::size::{Binding, Size, VarTable};

/// How a channel index is built from the indices of the tree's leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// Leaf `i`'s index.
    Leaf(usize),
    /// `(v + by) mod |v|`.
    Roll {
        /// The rolled view.
        of: Box<View>,
        /// The offset.
        by: i128,
    },
    /// `outer·|inner| + inner` (mixed radix).
    Mix {
        /// Slow-varying part.
        outer: Box<View>,
        /// Fast-varying part.
        inner: Box<View>,
    },
    /// `v div block` (the outer piece of a Split of `v`).
    Hi {
        /// The split view.
        of: Box<View>,
        /// The inner piece's size.
        block: Size,
    },
    /// `v mod block` (the inner piece of a Split of `v`).
    Lo {
        /// The split view.
        of: Box<View>,
        /// The inner piece's size.
        block: Size,
    },
}

impl View {
    /// Value and extent for concrete leaf indices `l` of extents `sizes` under binding `b`
    /// (`None` where a block size is not legal under it).
    pub(super) fn eval(&self, l: &[usize], sizes: &[usize], b: &Binding) -> Option<(i128, i128)> {
        Some(match self {
            View::Leaf(i) => (l[*i] as i128, sizes[*i] as i128),
            View::Roll { of, by } => {
                let (v, n) = of.eval(l, sizes, b)?;
                ((v + by).rem_euclid(n), n)
            }
            View::Mix { outer, inner } => {
                let (vo, no) = outer.eval(l, sizes, b)?;
                let (vi, ni) = inner.eval(l, sizes, b)?;
                (vo * ni + vi, no * ni)
            }
            View::Hi { of, block } => {
                let (v, n) = of.eval(l, sizes, b)?;
                let k = block.eval(b)? as i128;
                (v.div_euclid(k), n / k)
            }
            View::Lo { of, block } => {
                let (v, _) = of.eval(l, sizes, b)?;
                let k = block.eval(b)? as i128;
                (v.rem_euclid(k), k)
            }
        })
    }

    /// Text for people: `l0`, `(v + c)`, `[outer, inner]`, `v div B`, `v mod B`.
    pub fn show(&self, vars: &VarTable) -> String {
        match self {
            View::Leaf(i) => format!("l{i}"),
            View::Roll { of, by } => format!("({} + {by})", of.show(vars)),
            View::Mix { outer, inner } => format!("[{}, {}]", outer.show(vars), inner.show(vars)),
            View::Hi { of, block } => format!("{} div {}", of.show(vars), block.display(vars)),
            View::Lo { of, block } => format!("{} mod {}", of.show(vars), block.display(vars)),
        }
    }

    /// Replaces every `Leaf(from)` by `to`.
    pub(super) fn subst(&mut self, from: usize, to: &View) {
        match self {
            View::Leaf(i) if *i == from => *self = to.clone(),
            View::Leaf(_) => {}
            View::Roll { of, .. } | View::Hi { of, .. } | View::Lo { of, .. } => of.subst(from, to),
            View::Mix { outer, inner } => {
                outer.subst(from, to);
                inner.subst(from, to);
            }
        }
    }

    /// Renames every leaf `i` to `f(i)`.
    pub(super) fn rename(&mut self, f: &dyn Fn(usize) -> usize) {
        match self {
            View::Leaf(i) => *i = f(*i),
            View::Roll { of, .. } | View::Hi { of, .. } | View::Lo { of, .. } => of.rename(f),
            View::Mix { outer, inner } => {
                outer.rename(f);
                inner.rename(f);
            }
        }
    }

    /// The leaves in order of first appearance.
    pub(super) fn leaves(&self, out: &mut Vec<usize>) {
        match self {
            View::Leaf(i) => {
                if !out.contains(i) {
                    out.push(*i)
                }
            }
            View::Roll { of, .. } | View::Hi { of, .. } | View::Lo { of, .. } => of.leaves(out),
            View::Mix { outer, inner } => {
                outer.leaves(out);
                inner.leaves(out);
            }
        }
    }

    /// The Shift-free chain of leaves in `order` (first slowest).
    pub(super) fn chain(order: &[usize]) -> View {
        let mut v = View::Leaf(order[0]);
        for &i in &order[1..] {
            v = View::Mix {
                outer: Box::new(v),
                inner: Box::new(View::Leaf(i)),
            };
        }
        v
    }
}

/// Which side of the operator an unordered axis is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// An axis of the input tensor.
    Input,
    /// An output axis.
    Output,
}

/// The channel permutation of one unordered axis: the operator reads (input) or writes
/// (output) channel `op(l)` where the canonical form reads or writes channel `canon(l)`, for
/// every tuple `l` of leaf indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMap {
    /// Input or output axis.
    pub side: Side,
    /// Its position among the input axes or the output axes.
    pub axis: usize,
    /// Sizes of the leaves.
    pub leaves: Vec<Size>,
    /// The operator's view.
    pub op: View,
    /// The canonical view.
    pub canon: View,
}

impl ChannelMap {
    /// `p` with `p[canonical channel] = operator channel` under a binding (`None` if a leaf
    /// size is not legal under it).
    pub fn permutation(&self, b: &Binding) -> Option<Vec<usize>> {
        let sizes: Vec<usize> = self
            .leaves
            .iter()
            .map(|s| s.eval(b).map(|v| v as usize))
            .collect::<Option<_>>()?;
        let mut p = vec![0; sizes.iter().product()];
        let mut ok = true;
        crate::tensor::for_each_index(&sizes, |l| {
            match (self.canon.eval(l, &sizes, b), self.op.eval(l, &sizes, b)) {
                (Some((c, _)), Some((o, _))) => p[c as usize] = o as usize,
                _ => ok = false,
            }
        });
        ok.then_some(p)
    }

    /// Whether the operator's view is the canonical one.
    pub fn is_identity(&self) -> bool {
        self.op == self.canon
    }

    /// One line for people, e.g. `output 1: [l1, l0] -> [l0, l1] (l0: g, l1: C_out/g)`:
    /// the operator's channel index and the canonical one, over the leaves (`[a, b]` is
    /// `a·|b| + b`).
    pub fn describe(&self, vars: &VarTable) -> String {
        let side = match self.side {
            Side::Input => "input",
            Side::Output => "output",
        };
        let leaves: Vec<String> = self
            .leaves
            .iter()
            .enumerate()
            .map(|(i, s)| format!("l{i}: {}", s.display(vars)))
            .collect();
        format!(
            "{side} {}: {} -> {} ({})",
            self.axis,
            self.op.show(vars),
            self.canon.show(vars),
            leaves.join(", ")
        )
    }
}
