//! The canonical hash of a graph kernel: BLAKE3 over a byte encoding of the simplified DAG
//! from its output, in which each node is its kind, parameters, symbolic shape and the hashes
//! of its inputs (sorted for commutative element-wise blends), and each linear node is its
//! operator's canonical hash ([`kas_primitives::canon::canonicalize`]). Node names and the
//! order in which independent nodes were written do not matter.

use super::simplify::simplify;
use crate::kernel::GraphKernel;
use crate::node::{NodeOp, Unary};
use kas_primitives::{Operator, Size, StructuralHash};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// Version tag mixed into the encoding.
const ENCODING: &[u8] = b"kas-graph-hash/1";

/// A 128-bit canonical hash of a graph kernel, printed as 32 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GraphHash(pub u128);

impl fmt::Display for GraphHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A memo of linear nodes' hashes by structural hash (canonicalizing an operator runs an
/// e-graph; kernels of one sampling run share many operators). Thread-safe; its content is a
/// pure function of the operators, so sharing it changes no answer.
#[derive(Debug, Default)]
pub struct LinearHashes(Mutex<HashMap<StructuralHash, [u8; 17]>>);

impl LinearHashes {
    /// An empty memo.
    pub fn new() -> Self {
        Self::default()
    }

    /// The operator's canonical hash (tag 1), or its structural hash (tag 0) when it has no
    /// canonical form under the default limits.
    fn get(&self, op: &Operator) -> [u8; 17] {
        let key = op.structural_hash();
        if let Some(v) = self.0.lock().expect("memo lock").get(&key) {
            return *v;
        }
        let mut v = [0u8; 17];
        match kas_primitives::canon::canonicalize(op) {
            Ok(c) => {
                v[0] = 1;
                v[1..].copy_from_slice(&c.hash.0.to_be_bytes());
            }
            Err(_) => v[1..].copy_from_slice(&key.0.to_be_bytes()),
        }
        self.0.lock().expect("memo lock").insert(key, v);
        v
    }
}

fn put_size(out: &mut Vec<u8>, s: Size) {
    for &x in s
        .primary_exponents()
        .iter()
        .chain(s.coefficient_exponents())
    {
        out.push(x as u8);
    }
}

fn put_list(out: &mut Vec<u8>, v: &[usize]) {
    out.extend_from_slice(&(v.len() as u64).to_le_bytes());
    for &x in v {
        out.extend_from_slice(&(x as u64).to_le_bytes());
    }
}

/// The canonical hash of `g` (after [`simplify`]).
pub fn canonical_hash(g: &GraphKernel, memo: &LinearHashes) -> GraphHash {
    let g = simplify(g);
    let mut hashes: Vec<[u8; 32]> = Vec::with_capacity(g.nodes.len());
    for n in &g.nodes {
        let mut b = Vec::new();
        b.extend_from_slice(ENCODING);
        for &s in &n.shape {
            put_size(&mut b, s);
        }
        b.push(b'|');
        let mut inputs: Vec<[u8; 32]> = n.inputs.iter().map(|i| hashes[i.index()]).collect();
        match &n.op {
            NodeOp::Input => b.push(b'I'),
            NodeOp::Linear(op) => {
                b.push(b'L');
                b.extend_from_slice(&memo.get(op));
            }
            NodeOp::Unary(u) => {
                b.push(b'U');
                b.push(Unary::ALL.iter().position(|x| x == u).expect("listed") as u8);
            }
            NodeOp::Fold { axes, kind } => {
                b.push(b'F');
                b.push(*kind as u8);
                put_list(&mut b, axes);
            }
            NodeOp::Softmax { axis } => {
                b.push(b'S');
                put_list(&mut b, &[*axis]);
            }
            NodeOp::CausalSoftmax { query, key } => {
                b.push(b'C');
                put_list(&mut b, &[*query, *key]);
            }
            NodeOp::PrefixMean { axis } => {
                b.push(b'P');
                put_list(&mut b, &[*axis]);
            }
            NodeOp::Blend { kind, map } => {
                b.push(b'B');
                b.push(*kind as u8);
                put_list(&mut b, map);
                let elementwise = map.len() == n.shape.len();
                if kind.commutative() && elementwise {
                    inputs.sort();
                }
            }
            NodeOp::Bmm {
                batch,
                lhs_contract,
                rhs_contract,
                scaled,
            } => {
                b.push(b'M');
                b.push(*scaled as u8);
                put_list(&mut b, &[*batch]);
                put_list(&mut b, lhs_contract);
                put_list(&mut b, rhs_contract);
            }
        }
        for h in &inputs {
            b.extend_from_slice(h);
        }
        hashes.push(*blake3::hash(&b).as_bytes());
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&hashes[g.output.index()][..16]);
    GraphHash(u128::from_be_bytes(out))
}
