//! The one error type of the crate.

use thiserror::Error;

/// What can go wrong when lowering an operator.
#[derive(Debug, Error)]
pub enum Error {
    /// The operator or its plan is invalid.
    #[error(transparent)]
    Primitives(#[from] kas_primitives::Error),
    /// Running a program on the CPU ([`crate::emulate`]) failed: no C++ compiler, a source
    /// that does not compile as C++, a run that crashed.
    #[error("CUDA on the CPU: {0}")]
    Emulation(String),
    /// A graph kernel cannot be lowered (its shapes under a binding, see [`crate::graph`]).
    #[error(transparent)]
    Graph(#[from] kas_graph::GraphError),
    /// A stage could not be lowered (an internal inconsistency, reported rather than panicking).
    #[error("cannot lower stage {stage}: {reason}")]
    Lowering {
        /// Stage index.
        stage: usize,
        /// What went wrong.
        reason: String,
    },
    /// A stage or tensor has more elements (or a stage more iterations) under a binding than
    /// kas generates code for ([`crate::cuda::MAX_ELEMENTS`]): refused before any work
    /// proportional to the sizes.
    #[error(
        "too large to generate under binding `{binding}`: {what} has {elements} elements, more than the 2^48 kas generates code for"
    )]
    TooLarge {
        /// The binding.
        binding: String,
        /// Which tensor or stage (`input`, `weight 1`, `stage 2 result`, …).
        what: String,
        /// Its element count (saturated at `u128::MAX`).
        elements: u128,
    },
    /// A stage cannot be computed as its schedule asks at the program's precision; the schedule
    /// chooser falls back to another schedule.
    #[error("stage {stage} cannot run as {schedule} at {precision}: {reason}")]
    Refused {
        /// Stage index.
        stage: usize,
        /// The schedule's label.
        schedule: String,
        /// The program's precision.
        precision: crate::precision::Precision,
        /// Why.
        reason: Refusal,
    },
    /// The operator cannot be exported for PyTorch ([`crate::export::pytorch`]).
    #[error("cannot export for PyTorch: {reason}")]
    Export {
        /// Why.
        reason: String,
    },
}

/// Why a stage's schedule is refused ([`Error::Refused`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Refusal {
    /// Tensor cores asked for at f32 (f32 means f32).
    #[error("tensor cores need tf32 or bf16 precision")]
    F32TensorCores,
    /// Tensor cores or a tiled kernel asked for a stage that is not a two-operand contraction
    /// with separable guards.
    #[error("the stage is not a two-operand contraction with separable guards")]
    NotAContraction,
    /// A tile shape the generator does not accept at this precision.
    #[error("the tile is not one the generator accepts at this precision")]
    Shape,
    /// The SIMT tiled kernel at bf16 storage (its loads are f32 vectors).
    #[error("the tiled SIMT kernel reads f32 buffers only; use tensor-core, flat or direct")]
    TiledStorage,
}

/// Result with the crate's [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
