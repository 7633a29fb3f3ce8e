//! Links libtorch for this crate's tests (see ../eval/build/tch_link.rs).
include!("../eval/build/tch_link.rs");

fn main() {
    link_libtorch();
}
