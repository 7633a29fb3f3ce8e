use super::{fc, kernel, slot};
use crate::GraphKernel;
use crate::canon::rules::{IDEMPOTENT, RULES, Rhs};
use crate::canon::{LinearHashes, canonical_hash, simplify};
use crate::interp::{evaluate, random_weights};
use crate::node::{BlendKind, NodeOp};
use kas_primitives::Tensor;

/// `max |a − b|` of two kernels' outputs on one random input and shared weights.
fn same_function(a: &GraphKernel, b: &GraphKernel) -> bool {
    a.bindings.iter().all(|bd| {
        let x = Tensor::random(&a.concrete(a.input(), bd).unwrap(), 17);
        let wa = random_weights(a, bd, 5).unwrap();
        let ya = evaluate(a, bd, &x, &wa).unwrap();
        let wb = random_weights(b, bd, 5).unwrap();
        let yb = evaluate(b, bd, &x, &wb).unwrap();
        ya.rel_err(&yb) < 1e-12
    })
}

#[test]
fn every_rule_simplifies_to_the_same_function_and_hash() {
    let s = slot();
    let memo = LinearHashes::new();
    for r in RULES {
        let mut g = kernel(&s);
        let f = fc(&mut g, &s, crate::NodeId(0), 1, s.c_out);
        let i = g.push(NodeOp::Unary(r.inner), &[f]).unwrap();
        let o = g.push(NodeOp::Unary(r.outer), &[i]).unwrap();
        let mut h = kernel(&s);
        let f2 = fc(&mut h, &s, crate::NodeId(0), 1, s.c_out);
        if let Rhs::Apply(u) = r.rhs {
            h.push(NodeOp::Unary(u), &[f2]).unwrap();
        }
        assert!(same_function(&g, &h), "rule {}", r.name);
        let simple = simplify(&g);
        assert_eq!(
            simple.nodes.len(),
            h.nodes.len(),
            "rule {} did not fire",
            r.name
        );
        assert!(same_function(&simple, &g));
        assert_eq!(
            canonical_hash(&g, &memo),
            canonical_hash(&h, &memo),
            "rule {}",
            r.name
        );
        assert_eq!(o.index(), g.nodes.len() - 1);
    }
}

#[test]
fn idempotent_blends_of_a_node_with_itself_simplify() {
    let s = slot();
    let memo = LinearHashes::new();
    let mut h = kernel(&s);
    fc(&mut h, &s, crate::NodeId(0), 1, s.c_out);
    for &kind in IDEMPOTENT {
        let mut g = kernel(&s);
        let f = fc(&mut g, &s, crate::NodeId(0), 1, s.c_out);
        g.push(
            NodeOp::Blend {
                kind,
                map: vec![0, 1, 2, 3],
            },
            &[f, f],
        )
        .unwrap();
        assert!(same_function(&g, &h));
        assert_eq!(canonical_hash(&g, &memo), canonical_hash(&h, &memo));
    }
    let mut g = kernel(&s);
    let f = fc(&mut g, &s, crate::NodeId(0), 1, s.c_out);
    g.push(
        NodeOp::Blend {
            kind: BlendKind::Add,
            map: vec![0, 1, 2, 3],
        },
        &[f, f],
    )
    .unwrap();
    assert_ne!(canonical_hash(&g, &memo), canonical_hash(&h, &memo));
}

#[test]
fn commutative_blends_are_ordered_and_names_do_not_matter() {
    let s = slot();
    let memo = LinearHashes::new();
    let build = |kind: BlendKind, swap: bool, rename: bool| {
        let mut g = kernel(&s);
        let a = fc(&mut g, &s, crate::NodeId(0), 1, s.c_in);
        let b = g
            .push(NodeOp::Unary(crate::Unary::Tanh), &[g.input()])
            .unwrap();
        let (l, r) = if swap { (b, a) } else { (a, b) };
        let m = g
            .push(
                NodeOp::Blend {
                    kind,
                    map: vec![0, 1, 2, 3],
                },
                &[l, r],
            )
            .unwrap();
        fc(&mut g, &s, m, 1, s.c_out);
        if rename {
            for (k, n) in g.nodes.iter_mut().enumerate().skip(1) {
                n.name = format!("renamed{k}");
            }
        }
        g
    };
    for kind in BlendKind::ALL {
        let a = canonical_hash(&build(kind, false, false), &memo);
        let b = canonical_hash(&build(kind, true, false), &memo);
        assert_eq!(a == b, kind.commutative(), "{kind:?}");
        assert_eq!(a, canonical_hash(&build(kind, false, true), &memo));
    }
    let add = canonical_hash(&build(BlendKind::Add, false, false), &memo);
    let mul = canonical_hash(&build(BlendKind::Mul, false, false), &memo);
    assert_ne!(add, mul);
}

#[test]
fn linear_nodes_hash_by_their_operators_canonical_hash() {
    // Two FCs written in different step orders are one operator up to canonical form; an FC
    // to another width is not.
    let s = slot();
    let memo = LinearHashes::new();
    let mut a = kernel(&s);
    fc(&mut a, &s, crate::NodeId(0), 1, s.c_out);
    let mut b = a.clone();
    if let NodeOp::Linear(op) = &mut b.nodes[1].op {
        for d in &mut op.dims {
            d.name = format!("x_{}", d.name);
        }
    }
    assert_eq!(canonical_hash(&a, &memo), canonical_hash(&b, &memo));
    let mut c = kernel(&s);
    let f = fc(&mut c, &s, crate::NodeId(0), 1, s.c_in);
    fc(&mut c, &s, f, 1, s.c_out);
    assert_ne!(canonical_hash(&a, &memo), canonical_hash(&c, &memo));
}
