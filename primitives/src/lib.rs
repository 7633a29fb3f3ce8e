//! # kas-primitives
//!
//! The foundation of kas: symbolic sizes ([`size`]), dimensions and the eight primitives
//! ([`graph`]), complete operators ([`Operator`]) written with a top-down [`Builder`], their
//! derived index expressions ([`expr`]), the reference interpreter ([`interp`]) that every
//! backend is checked against, the tensor type it works on ([`tensor`]), and printers of
//! operators as C, Graphviz and pseudo-code ([`print`](mod@print)).
//!
//! The semantics contract (`docs/ARCHITECTURE.md`, "Semantics"): an operator with outputs `O`,
//! reduction iterators `R` and tensors `T_0` (input), `T_1..T_k` (weights, `k ≤ 3`) computes
//!
//! ```text
//! out[o] = Σ_{r ∈ R} Π_t T_t[ idx_t(o, r) ]
//! ```
//!
//! where a term is zero whenever an Unfold index falls outside its range.

pub mod builder;
pub mod canon;
pub mod error;
pub mod expr;
pub mod format;
pub mod grad;
pub mod graph;
pub mod hash;
pub mod interp;
pub mod library;
pub mod operator;
pub mod plan;
pub mod print;
pub mod random;
pub mod relayout;
pub mod size;
pub mod spec;
pub mod tensor;

pub use builder::{AsSize, Axis, Builder};
pub use error::{Error, Result};
pub use expr::{Accesses, Expr, Guard, Iter};
pub use format::{OperatorFile, read_operator, write_operator};
pub use graph::{Dim, DimId, Op, Sink, Source};
pub use hash::StructuralHash;
pub use interp::interpret;
pub use operator::Operator;
pub use plan::{CostSummary, Plan, summary};
pub use size::{Binding, NamedBinding, Size, Var, VarKind, VarTable};
pub use spec::{Budgets, Spec, SpecFile};
pub use tensor::Tensor;
