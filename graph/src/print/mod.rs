//! Printers of graph kernels: pseudo-C with each linear node's loop nest ([`pseudo_c`]) and
//! Graphviz of the node DAG ([`dot`]).

mod dot;
mod text;

pub use dot::dot;
pub use text::{node_label, pseudo_c};
