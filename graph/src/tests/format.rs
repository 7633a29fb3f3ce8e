use super::{fc, kernel, slot};
use crate::GraphKernel;
use crate::format::{read_graph, write_graph};
use crate::interp::{evaluate, random_weights};
use crate::node::{BlendKind, FoldKind, NodeOp, Unary};
use crate::sample::linear;
use kas_primitives::Tensor;

/// A kernel with every kind of node.
pub(crate) fn every_kind() -> GraphKernel {
    let s = slot();
    let mut g = kernel(&s);
    let op = linear::conv(
        &s.vars,
        &s.bindings,
        g.shape(g.input()),
        s.c_in,
        s.k.unwrap(),
    )
    .unwrap();
    let c = g.push(NodeOp::Linear(Box::new(op)), &[g.input()]).unwrap();
    let r = g.push(NodeOp::Unary(Unary::Gelu), &[c]).unwrap();
    let p = g
        .push(
            NodeOp::Fold {
                axes: vec![2, 3],
                kind: FoldKind::Max,
            },
            &[r],
        )
        .unwrap();
    let q = g.push(NodeOp::Softmax { axis: 1 }, &[p]).unwrap();
    let e = g
        .push(
            NodeOp::Blend {
                kind: BlendKind::Mul,
                map: vec![0, 1],
            },
            &[q, g.input()],
        )
        .unwrap();
    let m = g
        .push(
            NodeOp::Bmm {
                batch: 1,
                lhs_contract: vec![2, 3],
                rhs_contract: vec![2, 3],
                scaled: false,
            },
            &[e, r],
        )
        .unwrap();
    let back = g
        .push(
            NodeOp::Bmm {
                batch: 1,
                lhs_contract: vec![2],
                rhs_contract: vec![1],
                scaled: true,
            },
            &[m, c],
        )
        .unwrap();
    let sum = g
        .push(
            NodeOp::Blend {
                kind: BlendKind::Add,
                map: vec![0, 1, 2, 3],
            },
            &[back, e],
        )
        .unwrap();
    fc(&mut g, &s, sum, 1, s.c_out);
    g.validate().unwrap();
    g
}

#[test]
fn graph_files_round_trip() {
    let g = every_kind();
    let text = write_graph(&g, "every node kind").unwrap();
    let back = read_graph(&text, "every.ron").unwrap();
    assert_eq!(write_graph(&back, "every node kind").unwrap(), text);
    assert_eq!(back.nodes.len(), g.nodes.len());
    for (a, b) in back.nodes.iter().zip(&g.nodes) {
        assert_eq!(
            (&a.name, &a.inputs, &a.shape),
            (&b.name, &b.inputs, &b.shape)
        );
    }
    for b in &g.bindings {
        let x = Tensor::random(&g.concrete(g.input(), b).unwrap(), 8);
        let w = random_weights(&g, b, 3).unwrap();
        let y1 = evaluate(&g, b, &x, &w).unwrap();
        let y2 = evaluate(&back, b, &x, &random_weights(&back, b, 3).unwrap()).unwrap();
        assert_eq!(y1, y2);
    }
}

#[test]
fn bad_graph_files_are_refused_with_a_reason() {
    let text = write_graph(&every_kind(), "").unwrap();
    let cases = [
        (text.replace("\"kas-graph\"", "\"kas-spec\""), "slot spec"),
        (text.replace("version: 2", "version: 9"), "version 9"),
        (
            text.replacen("inputs: [\"n1\"]", "inputs: [\"nowhere\"]", 1),
            "nowhere",
        ),
        (text.replace("axis: 1", "axis: 7"), "softmax axis 7"),
        (
            text.replace("output: \"n9\"", "output: \"n2\""),
            "does not feed the output",
        ),
    ];
    for (bad, want) in cases {
        assert_ne!(bad, text, "the edit for `{want}` changed nothing");
        let e = read_graph(&bad, "bad.ron").unwrap_err().to_string();
        assert!(e.contains(want), "`{e}` does not mention `{want}`");
    }
}

#[test]
fn the_documented_example_reads_and_computes_its_formula() {
    // docs/FORMAT.md shows this file.
    let text = include_str!("../../testdata/se-gate.ron");
    let g = read_graph(text, "se-gate.ron").unwrap();
    let b = &g.bindings[0];
    let x = Tensor::random(&g.concrete(g.input(), b).unwrap(), 6);
    let w = random_weights(&g, b, 2).unwrap();
    let v = crate::interp::evaluate_all(&g, b, &x, &w).unwrap();
    let (n, c, h) = (x.shape[0], x.shape[1], x.shape[2]);
    let co = v[6].shape[1];
    let (dw, sq, pr) = (&w[1][0], &w[3][0], &w[6][0]);
    for i in 0..n {
        // d = depthwise(x), m = mean_hw(d), s = sigmoid(S·m)
        let mut d = vec![0.0; c * h * h];
        for k in 0..c {
            for y in 0..h {
                for z in 0..h {
                    let mut acc = 0.0;
                    for a in 0..3 {
                        for e in 0..3 {
                            let (yy, zz) = (y + a, z + e);
                            if (1..=h).contains(&yy) && (1..=h).contains(&zz) {
                                acc += x.get(&[i, k, yy - 1, zz - 1]) * dw.get(&[k, a, e]);
                            }
                        }
                    }
                    d[(k * h + y) * h + z] = acc;
                }
            }
        }
        let m: Vec<f64> = (0..c)
            .map(|k| d[k * h * h..(k + 1) * h * h].iter().sum::<f64>() / (h * h) as f64)
            .collect();
        let s: Vec<f64> = (0..c)
            .map(|o| {
                let t: f64 = (0..c).map(|k| m[k] * sq.get(&[o, k])).sum();
                1.0 / (1.0 + (-t).exp())
            })
            .collect();
        for o in 0..co {
            for y in 0..h {
                for z in 0..h {
                    let want: f64 = (0..c)
                        .map(|k| d[(k * h + y) * h + z] * s[k] * pr.get(&[o, k]))
                        .sum();
                    let got = v[6].get(&[i, o, y, z]);
                    assert!(
                        (got - want).abs() < 1e-12 * (1.0 + want.abs()),
                        "{got} vs {want}"
                    );
                }
            }
        }
    }
    assert_eq!(g.output.index(), 6);
}
