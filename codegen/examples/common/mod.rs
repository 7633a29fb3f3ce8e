//! What the development examples share: a library operator lowered under a binding given on
//! the command line as `NAME=VALUE,…`.

use kas_codegen::StageIr;
use kas_primitives::{Binding, NamedBinding};

/// The library operator `name` under the binding `values` (`NAME=VALUE,…`), lowered for it.
/// Panics with the reason on a bad name or binding (these are development aids).
pub fn lowered(name: &str, values: &str) -> (StageIr, Binding) {
    let op = (kas_primitives::library::get(name)
        .unwrap_or_else(|| panic!("no library operator `{name}`"))
        .build)()
    .unwrap();
    let nb = NamedBinding {
        name: "b".into(),
        values: values
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').expect("NAME=VALUE");
                (k.to_string(), v.parse().expect("a number"))
            })
            .collect(),
    };
    let b = nb.resolve(&op.vars).unwrap();
    let ir = StageIr::lower_for(&op, std::slice::from_ref(&b)).unwrap();
    (ir, b)
}
