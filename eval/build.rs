//! Links libtorch for this crate's tests (see build/tch_link.rs).
include!("build/tch_link.rs");

fn main() {
    link_libtorch();
}
