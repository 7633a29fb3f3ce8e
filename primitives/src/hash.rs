//! The stable structural hash: 128 bits of BLAKE3 over a canonical byte encoding of the DAG.
//!
//! Structural identity ignores dim names, bindings, the operator's name and the order in which
//! independent steps were written; it covers the variables (names, kinds, coefficient values),
//! every dim's size and `unordered` flag, every primitive with its parameters, the tensors and
//! their axis order, the output order and the order of reductions. The encoding walks the DAG
//! from the output axes, then the reductions, toward the tensors, numbering dims and steps as
//! it first meets them. It never depends on `std::hash`, pointer values or the platform.
//! (Equivalence modulo rewriting is the canonicalizer's job, not this hash's.)

use crate::graph::{DimId, Op, Source};
use crate::operator::Operator;
use std::fmt;

/// Version tag mixed into the encoding; bump it only with a migration note in `FORMAT.md`.
const ENCODING: &[u8] = b"kas-structural-hash/1";

/// A 128-bit structural hash, printed as 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StructuralHash(pub u128);

impl fmt::Display for StructuralHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl Operator {
    /// The structural hash of the operator.
    pub fn structural_hash(&self) -> StructuralHash {
        let bytes = structural_bytes(self);
        let h = blake3::hash(&bytes);
        let mut b = [0u8; 16];
        b.copy_from_slice(&h.as_bytes()[..16]);
        StructuralHash(u128::from_be_bytes(b))
    }
}

/// The canonical byte encoding behind [`Operator::structural_hash`].
pub fn structural_bytes(op: &Operator) -> Vec<u8> {
    let mut e = Encoder {
        op,
        out: Vec::new(),
        dim_ids: vec![None; op.dims.len()],
        op_ids: vec![None; op.ops.len()],
        next_dim: 0,
        next_op: 0,
    };
    e.bytes(ENCODING);
    e.u64(op.vars.primary.len() as u64);
    for v in &op.vars.primary {
        e.str(&v.name);
    }
    e.u64(op.vars.coefficient.len() as u64);
    for v in &op.vars.coefficient {
        e.str(&v.name);
        e.u64(v.value.unwrap_or(0));
    }
    e.u64(op.tensor_count() as u64);
    for t in 0..op.tensor_count() {
        e.u64(op.tensor_axes(t).len() as u64);
    }
    e.u64(op.outputs.len() as u64);
    for &d in &op.outputs {
        e.dim(d);
    }
    let reds = op.reductions();
    e.u64(reds.len() as u64);
    for d in reds {
        e.dim(d);
    }
    e.out
}

struct Encoder<'a> {
    op: &'a Operator,
    out: Vec<u8>,
    dim_ids: Vec<Option<u64>>,
    op_ids: Vec<Option<u64>>,
    next_dim: u64,
    next_op: u64,
}

impl Encoder<'_> {
    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.out.extend_from_slice(b);
    }

    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    fn tag(&mut self, t: u8) {
        self.out.push(t);
    }

    /// Encodes a dim: a back-reference if seen, else its size, flag and source (recursively).
    fn dim(&mut self, d: DimId) {
        if let Some(id) = self.dim_ids[d.index()] {
            self.tag(b'R');
            self.u64(id);
            return;
        }
        let id = self.next_dim;
        self.next_dim += 1;
        self.dim_ids[d.index()] = Some(id);
        let dim = &self.op.dims[d.index()];
        self.tag(b'D');
        for &x in dim
            .size
            .primary_exponents()
            .iter()
            .chain(dim.size.coefficient_exponents())
        {
            self.out.push(x as u8);
        }
        self.tag(dim.unordered as u8);
        match dim.source {
            Source::Input(a) => {
                self.tag(b'I');
                self.u64(a as u64);
            }
            Source::Weight { weight, axis } => {
                self.tag(b'W');
                self.u64(weight as u64);
                self.u64(axis as u64);
            }
            Source::Op(k) => {
                let port = self.op.ops[k]
                    .outputs()
                    .iter()
                    .position(|&x| x == d)
                    .expect("source op produces the dim") as u64;
                self.step(k);
                self.tag(b'P');
                self.u64(port);
            }
        }
    }

    /// Encodes a step: a back-reference if seen, else its kind, parameters and inputs.
    fn step(&mut self, k: usize) {
        if let Some(id) = self.op_ids[k] {
            self.tag(b'r');
            self.u64(id);
            return;
        }
        self.op_ids[k] = Some(self.next_op);
        self.next_op += 1;
        let op = &self.op.ops[k];
        self.tag(b'S');
        self.str(op.kind());
        match *op {
            Op::Shift { offset, .. } => self.u64(offset as u64),
            Op::Stride { stride, .. } => {
                for &x in stride
                    .primary_exponents()
                    .iter()
                    .chain(stride.coefficient_exponents())
                {
                    self.out.push(x as u8);
                }
            }
            _ => {}
        }
        for d in op.inputs() {
            self.dim(d);
        }
    }
}
