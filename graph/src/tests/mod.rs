//! Tests of the graph level: format, interpreter, canonical form, sampler.

mod canon;
mod causal;
mod format;
mod interp;
mod print;
mod sample;

use crate::kernel::GraphKernel;
use crate::sample::{Slot, linear};
use kas_primitives::{Size, Spec};

/// A small image slot with odd sizes: `[N, C_in, H, H] → [N, C_out, H, H]`, `k = 3`, `g = 2`.
pub(crate) const SMALL_SPEC: &str = r#"(
    kind: "kas-spec",
    version: 1,
    name: "small",
    input: "[N, C_in: unordered, H, H]",
    output: "[N, C_out: unordered, H, H]",
    variables: (primary: ["N", "C_in", "C_out", "H"], coefficient: ["k=3", "g=2"]),
    fixed: [(0, 0)],
    bindings: [
        (name: "a", values: {"N": 2, "C_in": 4, "C_out": 6, "H": 5}),
        (name: "b", values: {"N": 1, "C_in": 6, "C_out": 4, "H": 3}),
    ],
)"#;

/// The slot of [`SMALL_SPEC`].
pub(crate) fn slot() -> Slot {
    Slot::from_spec(&Spec::read(SMALL_SPEC, "small.ron").unwrap()).unwrap()
}

/// An empty kernel over the small slot.
pub(crate) fn kernel(s: &Slot) -> GraphKernel {
    GraphKernel::new("t", s.vars.clone(), s.bindings.clone(), s.input_shape()).unwrap()
}

/// An FC node on axis `axis` of `x` to `out`.
pub(crate) fn fc(
    g: &mut GraphKernel,
    s: &Slot,
    x: crate::NodeId,
    axis: usize,
    out: Size,
) -> crate::NodeId {
    let op = linear::fc(&s.vars, &s.bindings, g.shape(x), axis, out).unwrap();
    g.push(crate::NodeOp::Linear(Box::new(op)), &[x]).unwrap()
}
