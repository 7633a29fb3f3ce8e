//! Links libtorch for the `kas` binary and its tests (see ../eval/build/tch_link.rs).
include!("../eval/build/tch_link.rs");

fn main() {
    link_libtorch();
}
