//! The one error type of the crate.

use thiserror::Error;

/// Everything that can go wrong when sizes, operators, specs or files are built or read.
///
/// Every variant renders as one line naming the problem, so that the command line can print it
/// as is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A size or variable expression could not be parsed.
    #[error("cannot parse size `{text}`: {reason}")]
    SizeSyntax {
        /// The text that was parsed.
        text: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A variable spec (`"C_in: 2"`, `"k_1=3: 2"`) could not be parsed.
    #[error("cannot parse variable spec `{text}`: {reason}")]
    VarSpecSyntax {
        /// The text that was parsed.
        text: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A name was used that the variable table does not declare.
    #[error("unknown variable `{0}`")]
    UnknownVariable(String),
    /// A variable was declared twice, or too many were declared.
    #[error("bad variable table: {0}")]
    VarTable(String),
    /// A binding does not give a usable value to every variable.
    #[error("binding `{binding}`: {reason}")]
    Binding {
        /// Name of the binding.
        binding: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A size is not an integer ≥ 1 under some binding, or has a primary variable in a
    /// denominator.
    #[error("illegal size {size}: {reason}")]
    IllegalSize {
        /// The size, printed symbolically.
        size: String,
        /// Why it is illegal (names the binding where applicable).
        reason: String,
    },
    /// Two sizes that must be equal are not.
    #[error("size mismatch in {context}: {left} vs {right}")]
    SizeMismatch {
        /// Which step or check found the mismatch.
        context: String,
        /// One size.
        left: String,
        /// The other size.
        right: String,
    },
    /// An Unfold window is even under some binding.
    #[error("Unfold window {window} is not odd under binding `{binding}` (value {value})")]
    EvenWindow {
        /// The window size, printed symbolically.
        window: String,
        /// The binding where it is even.
        binding: String,
        /// Its value there.
        value: u64,
    },
    /// A dimension was consumed by two steps.
    #[error("dimension `{0}` is used twice")]
    DimUsedTwice(String),
    /// A dimension was produced but never consumed nor returned as an output.
    #[error("dimension `{0}` is never used")]
    DimUnused(String),
    /// A dimension name or id does not exist.
    #[error("unknown dimension `{0}`")]
    UnknownDim(String),
    /// A dimension name was defined twice.
    #[error("dimension name `{0}` is defined twice")]
    DuplicateDimName(String),
    /// A step was applied to a dimension it may not touch (for instance a view on a weight
    /// axis).
    #[error("illegal step: {0}")]
    IllegalStep(String),
    /// The operator as a whole violates a structural rule (number of weights, empty output, …).
    #[error("invalid operator: {0}")]
    InvalidOperator(String),
    /// A tensor given to the interpreter has the wrong shape.
    #[error("tensor {tensor} has shape {got:?}, expected {expected:?}")]
    TensorShape {
        /// Which tensor (0 = input, 1.. = weights).
        tensor: usize,
        /// The shape given.
        got: Vec<usize>,
        /// The shape expected under the binding.
        expected: Vec<usize>,
    },
    /// A RON file could not be parsed or does not match the format.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// File name (or `<string>`).
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A file has the wrong type tag or an unsupported format version.
    #[error("{path}: {message}")]
    Format {
        /// File name (or `<string>`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read (missing, a directory, not UTF-8, …).
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// A file larger than [`crate::format::MAX_FILE_BYTES`] (or endless, like `/dev/zero`).
    #[error("{path} is larger than {max} bytes, the most kas reads from one file: not a kas file")]
    FileTooLarge {
        /// The file.
        path: String,
        /// The limit.
        max: u64,
    },
    /// The gradient of an operator with respect to one of its tensors has no form in the
    /// algebra: a step on the way has no adjoint among the primitives.
    #[error("no gradient for tensor {tensor}: {primitive}: {reason}")]
    NoGradient {
        /// The tensor differentiated (0 = input, 1.. = weights).
        tensor: usize,
        /// The primitive whose adjoint is missing.
        primitive: &'static str,
        /// Why.
        reason: String,
    },
    /// An evaluation would be too large to run.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The canonicalizer's e-graph did not saturate within its limits, so the operator has no
    /// canonical form (a form extracted from a partly explored e-graph is sound but may differ
    /// between equal operators).
    #[error(
        "no canonical form: the e-graph did not saturate ({stop}: {iterations} iterations, {nodes} e-nodes)"
    )]
    Unsaturated {
        /// Which limit stopped the run.
        stop: crate::canon::CanonStop,
        /// Iterations run.
        iterations: usize,
        /// E-nodes at the end.
        nodes: usize,
    },
}

/// Result with the crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
