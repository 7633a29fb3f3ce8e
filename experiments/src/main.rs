//! The `kas` command line.

fn main() {}
