//! The canonical form of an operator, its byte encoding and its 128-bit hash.

use super::lang::Atom;
use crate::expr::{Expr, Iter};
use crate::size::{Size, VarTable};
use std::fmt;

/// Version tag at the start of every encoding; bump it when the encoding changes.
const ENCODING: &[u8] = b"kas-canonical-form/2";

/// A complete operator in canonical form: what it computes, with reduction iterators, weights
/// and weight axes in a canonical order and every index expression in normal form.
///
/// It is a full description of the function family (the semantics contract applied to these
/// expressions gives the operator's output, after the weight re-layout returned alongside)
/// under every valid binding of the variables: it is symbolic, and neither the bindings an
/// operator lists nor the declared values of its coefficients enter it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalForm {
    /// Variables (names and kinds only: no declared value, no occurrence limit).
    pub vars: VarTable,
    /// Output axes in order: size and whether channel-like.
    pub outputs: Vec<(Size, bool)>,
    /// Reduction domains, in canonical iterator order (`r0, r1, …`).
    pub reductions: Vec<Size>,
    /// Input axes in order: size, channel-like, index.
    pub input: Vec<(Size, bool, Expr)>,
    /// Weights in canonical order, each axis in canonical order: size and index.
    pub weights: Vec<Vec<(Size, Expr)>>,
    /// Zero-padding guards `0 ≤ e < b`, sorted, without duplicates.
    pub guards: Vec<(Expr, Expr)>,
}

/// A 128-bit canonical hash, printed as 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CanonicalHash(pub u128);

impl fmt::Display for CanonicalHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Appends the encoding of a size.
pub fn put_size(out: &mut Vec<u8>, s: Size) {
    for &e in s
        .primary_exponents()
        .iter()
        .chain(s.coefficient_exponents())
    {
        out.push(e as u8);
    }
}

fn put_u64(out: &mut Vec<u8>, x: u64) {
    out.extend_from_slice(&x.to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Appends the prefix encoding of an expression (self-delimiting, so concatenations compare
/// like the sequences they encode).
pub fn put_expr(out: &mut Vec<u8>, e: &Expr) {
    let two = |tag: u8, a: &Expr, b: &Expr, out: &mut Vec<u8>| {
        out.push(tag);
        put_expr(out, a);
        put_expr(out, b);
    };
    match e {
        Expr::Add(a, b) => two(1, a, b, out),
        Expr::Sub(a, b) => two(2, a, b, out),
        Expr::Mul(a, b) => two(3, a, b, out),
        Expr::Div(a, b) => two(4, a, b, out),
        Expr::Mod(a, b) => two(5, a, b, out),
        Expr::Const(c) => {
            out.push(7);
            put_u64(out, (*c as u64) ^ (1 << 63));
        }
        Expr::Iter(Iter::Out(i)) => {
            out.push(8);
            put_u64(out, *i as u64);
        }
        Expr::Iter(Iter::Red(i)) => {
            out.push(9);
            put_u64(out, *i as u64);
        }
        Expr::Size(s) => {
            out.push(10);
            put_size(out, *s);
        }
    }
}

impl CanonicalForm {
    /// The byte encoding the hash is taken of.
    pub fn bytes(&self) -> Vec<u8> {
        let mut o = Vec::with_capacity(256);
        o.extend_from_slice(ENCODING);
        put_u64(&mut o, self.vars.primary.len() as u64);
        for v in &self.vars.primary {
            put_str(&mut o, &v.name);
        }
        put_u64(&mut o, self.vars.coefficient.len() as u64);
        for v in &self.vars.coefficient {
            put_str(&mut o, &v.name);
        }
        put_u64(&mut o, self.outputs.len() as u64);
        for &(s, u) in &self.outputs {
            put_size(&mut o, s);
            o.push(u as u8);
        }
        put_u64(&mut o, self.reductions.len() as u64);
        for &s in &self.reductions {
            put_size(&mut o, s);
        }
        put_u64(&mut o, self.input.len() as u64);
        for (s, u, e) in &self.input {
            put_size(&mut o, *s);
            o.push(*u as u8);
            put_expr(&mut o, e);
        }
        put_u64(&mut o, self.weights.len() as u64);
        for w in &self.weights {
            put_u64(&mut o, w.len() as u64);
            for (s, e) in w {
                put_size(&mut o, *s);
                put_expr(&mut o, e);
            }
        }
        put_u64(&mut o, self.guards.len() as u64);
        for (e, b) in &self.guards {
            put_expr(&mut o, e);
            put_expr(&mut o, b);
        }
        o
    }

    /// BLAKE3 of [`CanonicalForm::bytes`], first 128 bits.
    pub fn hash(&self) -> CanonicalHash {
        let h = blake3::hash(&self.bytes());
        let mut b = [0u8; 16];
        b.copy_from_slice(&h.as_bytes()[..16]);
        CanonicalHash(u128::from_be_bytes(b))
    }

    /// Text for people: output shape (`*` marks channel-like axes), reductions, one line per
    /// tensor, then the guards.
    pub fn display(&self) -> String {
        let size = |s: Size| s.display(&self.vars);
        let ex = |e: &Expr| e.display(&self.vars);
        let mut s = String::new();
        let outs: Vec<String> = self
            .outputs
            .iter()
            .map(|&(z, u)| format!("{}{}", size(z), if u { "*" } else { "" }))
            .collect();
        s.push_str(&format!("out[{}]\n", outs.join(", ")));
        let reds: Vec<String> = self
            .reductions
            .iter()
            .enumerate()
            .map(|(i, &z)| format!("r{i}: {}", size(z)))
            .collect();
        s.push_str(&format!("sum {}\n", reds.join(", ")));
        let ins: Vec<String> = self.input.iter().map(|(_, _, e)| ex(e)).collect();
        s.push_str(&format!("in[{}]\n", ins.join(", ")));
        for (j, w) in self.weights.iter().enumerate() {
            let ax: Vec<String> = w.iter().map(|(_, e)| ex(e)).collect();
            s.push_str(&format!("w{j}[{}]\n", ax.join(", ")));
        }
        for (e, b) in &self.guards {
            s.push_str(&format!("guard 0 <= {} < {}\n", ex(e), ex(b)));
        }
        s
    }
}

/// A size as an opaque token (for rename-invariant signatures).
pub fn size_token(s: Size) -> String {
    Atom::Size(s).to_string()
}
