//! Links libtorch for this crate's tests (see build/tch_link.rs) and embeds the git commit
//! kas is built from (see build/git_hash.rs) and compiles the libtorch context shim (see
//! build/context_shim.rs).
include!("build/tch_link.rs");
include!("build/git_hash.rs");
include!("build/context_shim.rs");

fn main() {
    link_libtorch();
    embed_git_hash();
    compile_context_shim();
}
