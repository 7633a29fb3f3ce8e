//! Printers of operators: compilable C ([`loop_nest_c`]), Graphviz of the primitive DAG
//! ([`dot`]) and compact pseudo-code for terminals ([`loops_text`]).

mod c;
mod c_expr;
mod dot;
mod names;
mod text;

pub use c::loop_nest_c;
pub use dot::dot;
pub use text::loops_text;
