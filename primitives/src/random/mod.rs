//! Seeded random builder programs, for property tests of everything that consumes operators.
//!
//! A [`Program`] is a plain-data list of [`Builder`] calls (so a failing case can be printed and
//! replayed); [`random_program`] draws one from a seed, [`build_program`] replays it, and
//! [`random_operator`] keeps drawing (deterministically) until a program builds.
//!
//! ```
//! use kas_primitives::random::{RandomConfig, build_program, random_operator, random_program};
//! let cfg = RandomConfig::default();
//! let p = random_program(7, &cfg);
//! // Either a valid operator or a typed error, never a panic.
//! if let Ok(op) = build_program(&p) {
//!     op.validate().unwrap();
//! }
//! let op = random_operator(7, &cfg);
//! assert!((1..=3).contains(&op.weights.len()));
//! ```
//!
//! All randomness comes from `Xoshiro256PlusPlus::seed_from_u64(seed)`: the same seed and
//! configuration give the same program on every platform.

mod generate;

pub use generate::random_program;

use crate::builder::{Axis, Builder};
use crate::error::{Error, Result};
use crate::graph::DimId;
use crate::operator::Operator;
use crate::size::VarTable;
use std::fmt;

/// Knobs of the generator. The defaults keep every operator small enough for the reference
/// interpreter (at most [`RandomConfig::max_points`] loop iterations per binding).
#[derive(Debug, Clone, PartialEq)]
pub struct RandomConfig {
    /// Most steps before the final output declaration (a forced contraction may add one).
    pub max_steps: usize,
    /// Most weights a generated program attaches on purpose (1..=3).
    pub max_weights: usize,
    /// Largest concrete value of a size the generator picks itself (input axes, created and
    /// expanded axes, windows) under any binding.
    pub max_dim: u64,
    /// Largest number of interpreter loop iterations (output points × reduction points) under
    /// any binding; steps that would exceed it are not chosen.
    pub max_points: u64,
    /// Chance that a step the builder rejects is kept (ending the program there), and that the
    /// output list is deliberately wrong (a dim dropped or repeated).
    pub p_illegal: f64,
    /// Chance of each extra Created axis in a contraction.
    pub p_create: f64,
    /// Chance that a step picks a dim outside the frontier (usually already consumed).
    pub p_reuse: f64,
    /// Chance that a step is a contraction (while fewer than `max_weights` weights exist).
    pub p_contract: f64,
    /// Chance that a step is a Reduce.
    pub p_reduce: f64,
}

impl Default for RandomConfig {
    fn default() -> Self {
        RandomConfig {
            max_steps: 10,
            max_weights: 3,
            max_dim: 15,
            max_points: 50_000,
            p_illegal: 0.15,
            p_create: 0.35,
            p_reuse: 0.03,
            p_contract: 0.2,
            p_reduce: 0.2,
        }
    }
}

/// A value of the program: an index into the list of dims produced so far (the input axes in
/// order, then the dims each step returns, in order).
pub type Handle = usize;

/// One axis of a weight in [`BuilderCall::Contract`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AxisSpec {
    /// Shares the data dim.
    Share(Handle),
    /// Created by the weight, of this size.
    Create(String),
}

/// One builder call. Sizes are texts, parsed against the program's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuilderCall {
    /// [`Builder::split`]: returns `(outer, inner)`.
    Split {
        /// Dim split.
        dim: Handle,
        /// Inner block size.
        block: String,
    },
    /// [`Builder::merge`]: returns the merged dim.
    Merge {
        /// Slow part.
        outer: Handle,
        /// Fast part.
        inner: Handle,
    },
    /// [`Builder::shift`]: returns the shifted dim.
    Shift {
        /// Dim shifted.
        dim: Handle,
        /// Offset (any sign).
        offset: i64,
    },
    /// [`Builder::stride`]: returns the strided dim.
    Stride {
        /// Dim strided.
        dim: Handle,
        /// Stride size.
        stride: String,
    },
    /// [`Builder::unfold`]: returns `(main, window)`.
    Unfold {
        /// Dim windowed.
        dim: Handle,
        /// Window size.
        window: String,
    },
    /// [`Builder::expand`]: returns the broadcast dim.
    Expand {
        /// Its size.
        size: String,
    },
    /// [`Builder::contract`]: returns one shared dim per axis.
    Contract(Vec<AxisSpec>),
    /// [`Builder::reduce`]: returns nothing.
    Reduce(Handle),
}

/// A complete builder program: variables, bindings, input axes, steps and outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The seed it was drawn from (0 for hand-written programs).
    pub seed: u64,
    /// Primary variable specs (`"N"`).
    pub primary: Vec<String>,
    /// Coefficient variable specs (`"k=3"`).
    pub coefficient: Vec<String>,
    /// Bindings: a name and `variable → value` pairs.
    pub bindings: Vec<(String, Vec<(String, u64)>)>,
    /// Sizes of the input axes (handles `0..input.len()`).
    pub input: Vec<String>,
    /// Steps, in order.
    pub steps: Vec<BuilderCall>,
    /// Dims marked unordered just before [`Builder::finish`].
    pub unordered: Vec<Handle>,
    /// Output dims, in order.
    pub outputs: Vec<Handle>,
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "program (seed {}):", self.seed)?;
        writeln!(
            f,
            "  vars primary {:?} coefficient {:?}",
            self.primary, self.coefficient
        )?;
        for (name, values) in &self.bindings {
            writeln!(f, "  binding {name}: {values:?}")?;
        }
        let mut next = self.input.len();
        let mut fresh = |n: usize| {
            let v: Vec<String> = (next..next + n).map(|i| format!("%{i}")).collect();
            next += n;
            v.join(", ")
        };
        let ins: Vec<String> = (0..self.input.len()).map(|i| format!("%{i}")).collect();
        writeln!(f, "  {} = input {:?}", ins.join(", "), self.input)?;
        for s in &self.steps {
            match s {
                BuilderCall::Split { dim, block } => {
                    writeln!(f, "  {} = split %{dim} by {block}", fresh(2))?
                }
                BuilderCall::Merge { outer, inner } => {
                    writeln!(f, "  {} = merge %{outer}, %{inner}", fresh(1))?
                }
                BuilderCall::Shift { dim, offset } => {
                    writeln!(f, "  {} = shift %{dim} by {offset}", fresh(1))?
                }
                BuilderCall::Stride { dim, stride } => {
                    writeln!(f, "  {} = stride %{dim} by {stride}", fresh(1))?
                }
                BuilderCall::Unfold { dim, window } => {
                    writeln!(f, "  {} = unfold %{dim} window {window}", fresh(2))?
                }
                BuilderCall::Expand { size } => writeln!(f, "  {} = expand {size}", fresh(1))?,
                BuilderCall::Contract(axes) => {
                    let a: Vec<String> = axes
                        .iter()
                        .map(|a| match a {
                            AxisSpec::Share(h) => format!("share %{h}"),
                            AxisSpec::Create(s) => format!("create {s}"),
                        })
                        .collect();
                    writeln!(f, "  {} = contract [{}]", fresh(axes.len()), a.join(", "))?
                }
                BuilderCall::Reduce(h) => writeln!(f, "  reduce %{h}")?,
            }
        }
        writeln!(f, "  unordered {:?}", self.unordered)?;
        write!(f, "  output {:?}", self.outputs)
    }
}

fn handle(h: &[DimId], i: Handle) -> Result<DimId> {
    h.get(i)
        .copied()
        .ok_or_else(|| Error::UnknownDim(format!("%{i}")))
}

/// Applies one step to a builder, appending the dims it returns to `h`.
fn apply(b: &mut Builder, h: &mut Vec<DimId>, step: &BuilderCall) -> Result<()> {
    match step {
        BuilderCall::Split { dim, block } => {
            let (o, i) = b.split(handle(h, *dim)?, block.as_str())?;
            h.extend([o, i]);
        }
        BuilderCall::Merge { outer, inner } => {
            let m = b.merge(handle(h, *outer)?, handle(h, *inner)?)?;
            h.push(m);
        }
        BuilderCall::Shift { dim, offset } => h.push(b.shift(handle(h, *dim)?, *offset)?),
        BuilderCall::Stride { dim, stride } => h.push(b.stride(handle(h, *dim)?, stride.as_str())?),
        BuilderCall::Unfold { dim, window } => {
            let (m, w) = b.unfold(handle(h, *dim)?, window.as_str())?;
            h.extend([m, w]);
        }
        BuilderCall::Expand { size } => h.push(b.expand(size.as_str())?),
        BuilderCall::Contract(axes) => {
            let spec = axes
                .iter()
                .map(|a| match a {
                    AxisSpec::Share(i) => Ok(Axis::Share(handle(h, *i)?)),
                    AxisSpec::Create(s) => Ok(Axis::Create(s.clone())),
                })
                .collect::<Result<Vec<_>>>()?;
            let shared = b.contract(&spec)?;
            h.extend(shared);
        }
        BuilderCall::Reduce(i) => b.reduce(handle(h, *i)?)?,
    }
    Ok(())
}

/// Starts a builder with the program's variables and bindings and declares its input.
fn start(p: &Program) -> Result<(Builder, Vec<DimId>)> {
    let vars = VarTable::from_specs(&p.primary, &p.coefficient)?;
    let bindings = p
        .bindings
        .iter()
        .map(|(name, values)| vars.bind(name, values.iter().map(|(k, v)| (k.as_str(), *v))))
        .collect::<Result<Vec<_>>>()?;
    let mut b = Builder::new(vars, bindings)?;
    let h = b.input(p.input.iter().map(String::as_str))?;
    Ok((b, h))
}

/// Replays a program through the [`Builder`]: the operator, or the first typed error.
pub fn build_program(p: &Program) -> Result<Operator> {
    let (mut b, mut h) = start(p)?;
    for step in &p.steps {
        apply(&mut b, &mut h, step)?;
    }
    for &u in &p.unordered {
        b.set_unordered(handle(&h, u)?)?;
    }
    let outs = p
        .outputs
        .iter()
        .map(|&i| handle(&h, i))
        .collect::<Result<Vec<_>>>()?;
    b.finish(&outs)
}

/// Most programs [`random_valid`] draws before giving up.
pub const MAX_ATTEMPTS: u64 = 10_000;

/// The seed of attempt `i` of [`random_valid`] from `seed` (SplitMix64 of the pair).
fn derived_seed(seed: u64, i: u64) -> u64 {
    if i == 0 {
        return seed;
    }
    let mut z = seed
        .wrapping_add(i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The first program drawn from seeds derived from `seed` (starting with `seed` itself) that
/// builds, with its operator. Deterministic.
///
/// # Panics
///
/// If [`MAX_ATTEMPTS`] programs in a row fail to build (only with a configuration that can
/// hardly produce a legal program, such as `p_illegal = 1`).
pub fn random_valid(seed: u64, cfg: &RandomConfig) -> (Program, Operator) {
    for i in 0..MAX_ATTEMPTS {
        let p = random_program(derived_seed(seed, i), cfg);
        if let Ok(op) = build_program(&p) {
            return (p, op);
        }
    }
    panic!("no valid program in {MAX_ATTEMPTS} attempts from seed {seed} with {cfg:?}");
}

/// A valid random operator: [`random_valid`] without the program.
///
/// # Panics
///
/// As [`random_valid`].
pub fn random_operator(seed: u64, cfg: &RandomConfig) -> Operator {
    random_valid(seed, cfg).1
}

#[cfg(test)]
mod tests;
