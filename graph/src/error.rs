//! The error type of graph kernels.

/// Everything that can go wrong with a graph kernel.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// An error of the operator level (sizes, operators, files).
    #[error(transparent)]
    Primitives(#[from] kas_primitives::Error),
    /// A node breaks a rule (arity, shapes, axes).
    #[error("node `{node}`: {reason}")]
    InvalidNode {
        /// Name of the node.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// The graph as a whole breaks a rule (order, dead nodes, names).
    #[error("graph kernel: {0}")]
    InvalidGraph(String),
    /// A graph file that does not describe a graph kernel.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A tensor handed to the interpreter has the wrong shape.
    #[error("{what} has shape {got:?}, expected {expected:?}")]
    TensorShape {
        /// Which tensor.
        what: String,
        /// Its shape.
        got: Vec<usize>,
        /// The shape the kernel needs.
        expected: Vec<usize>,
    },
    /// A computation too large for the reference interpreter.
    #[error("too large for the reference interpreter: {0}")]
    TooLarge(String),
    /// A slot or sampler setting the sampler cannot work with.
    #[error("graph sampler: {0}")]
    Sampler(String),
}

/// Result with [`GraphError`].
pub type Result<T> = std::result::Result<T, GraphError>;
