use super::{fc, kernel, slot};
use crate::interp::{evaluate, evaluate_all, random_weights};
use crate::node::{BlendKind, FoldKind, NodeOp, Unary};
use crate::sample::linear;
use kas_primitives::Tensor;

#[test]
fn relu_of_conv_matches_a_direct_convolution() {
    let s = slot();
    let mut g = kernel(&s);
    let op = linear::conv(
        &s.vars,
        &s.bindings,
        g.shape(g.input()),
        s.c_out,
        s.k.unwrap(),
    )
    .unwrap();
    let c = g.push(NodeOp::Linear(Box::new(op)), &[g.input()]).unwrap();
    g.push(NodeOp::Unary(Unary::Relu), &[c]).unwrap();
    g.validate().unwrap();
    for b in &s.bindings {
        let x = Tensor::random(&g.concrete(g.input(), b).unwrap(), 3);
        let w = random_weights(&g, b, 9).unwrap();
        let got = evaluate(&g, b, &x, &w).unwrap();
        let (n, ci, h) = (x.shape[0], x.shape[1], x.shape[2]);
        let co = got.shape[1];
        let wt = &w[1][0];
        assert_eq!(wt.shape, vec![co, ci, 3, 3]);
        let mut want = Tensor::zeros(&[n, co, h, h]);
        for i in 0..n {
            for o in 0..co {
                for y in 0..h {
                    for z in 0..h {
                        let mut acc = 0.0;
                        for c in 0..ci {
                            for a in 0..3 {
                                for bb in 0..3 {
                                    let (yy, zz) =
                                        (y as i64 + a as i64 - 1, z as i64 + bb as i64 - 1);
                                    if yy < 0 || zz < 0 || yy >= h as i64 || zz >= h as i64 {
                                        continue;
                                    }
                                    acc += x.get(&[i, c, yy as usize, zz as usize])
                                        * wt.get(&[o, c, a, bb]);
                                }
                            }
                        }
                        *want.get_mut(&[i, o, y, z]) = acc.max(0.0);
                    }
                }
            }
        }
        assert!(got.rel_err(&want) < 1e-12, "binding {}", b.name);
        assert!(got.data.iter().any(|&v| v > 0.0) && got.data.contains(&0.0));
    }
}

#[test]
fn hand_computed_fc_neg_relu() {
    // x = [1, −2] (C_in = 2, everything else 1), W = [[1, 2], [3, 4]]: W·x = [−3, −5],
    // relu(W·x) = [0, 0], relu(−W·x) = [3, 5].
    let s = slot();
    let b = s
        .vars
        .bind("hand", [("N", 1), ("C_in", 2), ("C_out", 2), ("H", 1)])
        .unwrap();
    let mut g =
        crate::GraphKernel::new("h", s.vars.clone(), vec![b.clone()], s.input_shape()).unwrap();
    let f = fc(&mut g, &s, crate::NodeId(0), 1, s.c_out);
    let r = g.push(NodeOp::Unary(Unary::Relu), &[f]).unwrap();
    let n = g.push(NodeOp::Unary(Unary::Neg), &[f]).unwrap();
    let rn = g.push(NodeOp::Unary(Unary::Relu), &[n]).unwrap();
    g.push(
        NodeOp::Blend {
            kind: BlendKind::Sub,
            map: vec![0, 1, 2, 3],
        },
        &[rn, r],
    )
    .unwrap();
    let x = Tensor {
        shape: vec![1, 2, 1, 1],
        data: vec![1.0, -2.0],
    };
    let mut w = vec![Vec::new(); g.nodes.len()];
    w[1] = vec![Tensor {
        shape: vec![2, 2],
        data: vec![1.0, 2.0, 3.0, 4.0],
    }];
    let v = evaluate_all(&g, &b, &x, &w).unwrap();
    assert_eq!(v[f.index()].data, vec![-3.0, -5.0]);
    assert_eq!(v[r.index()].data, vec![0.0, 0.0]);
    assert_eq!(v[rn.index()].data, vec![3.0, 5.0]);
    assert_eq!(v[g.output.index()].data, vec![3.0, 5.0]);
}

#[test]
fn softmax_rows_sum_to_one_and_match_hand_values() {
    let s = slot();
    let mut g = kernel(&s);
    g.push(NodeOp::Softmax { axis: 1 }, &[g.input()]).unwrap();
    let b = &s.bindings[0];
    let x = Tensor::random(&g.concrete(g.input(), b).unwrap(), 5);
    let y = evaluate(&g, b, &x, &random_weights(&g, b, 0).unwrap()).unwrap();
    let (n, c, h) = (x.shape[0], x.shape[1], x.shape[2]);
    for i in 0..n {
        for a in 0..h {
            for z in 0..h {
                let sum: f64 = (0..c).map(|k| y.get(&[i, k, a, z])).sum();
                assert!((sum - 1.0).abs() < 1e-12);
                let den: f64 = (0..c).map(|k| x.get(&[i, k, a, z]).exp()).sum();
                let want = x.get(&[i, 0, a, z]).exp() / den;
                assert!((y.get(&[i, 0, a, z]) - want).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn bmm_matches_a_naive_matrix_product() {
    let s = slot();
    let mut g = kernel(&s);
    let f = fc(&mut g, &s, crate::NodeId(0), 1, s.c_out);
    let m = g
        .push(
            NodeOp::Bmm {
                batch: 1,
                lhs_contract: vec![2, 3],
                rhs_contract: vec![2, 3],
                scaled: false,
            },
            &[g.input(), f],
        )
        .unwrap();
    let back = g
        .push(
            NodeOp::Bmm {
                batch: 1,
                lhs_contract: vec![2],
                rhs_contract: vec![1],
                scaled: false,
            },
            &[m, f],
        )
        .unwrap();
    let scaled = g
        .push(
            NodeOp::Bmm {
                batch: 1,
                lhs_contract: vec![2, 3],
                rhs_contract: vec![2, 3],
                scaled: true,
            },
            &[g.input(), f],
        )
        .unwrap();
    assert_eq!(g.shape(m), &[s.n, s.c_in, s.c_out]);
    assert_eq!(g.shape(back), &[s.n, s.c_in, s.h, s.h]);
    for b in &s.bindings {
        let x = Tensor::random(&g.concrete(g.input(), b).unwrap(), 1);
        let v = evaluate_all(&g, b, &x, &random_weights(&g, b, 2).unwrap()).unwrap();
        let (a, fv) = (&v[0], &v[f.index()]);
        let hh = (a.shape[2] * a.shape[3]) as f64;
        for (u, w) in v[m.index()].data.iter().zip(&v[scaled.index()].data) {
            assert!((u / hh.sqrt() - w).abs() < 1e-12 * (1.0 + w.abs()));
        }
        let (n, ci, h) = (a.shape[0], a.shape[1], a.shape[2]);
        let co = fv.shape[1];
        for i in 0..n {
            for p in 0..ci {
                for q in 0..co {
                    let mut acc = 0.0;
                    for y in 0..h {
                        for z in 0..h {
                            acc += a.get(&[i, p, y, z]) * fv.get(&[i, q, y, z]);
                        }
                    }
                    assert!((v[m.index()].get(&[i, p, q]) - acc).abs() < 1e-9);
                }
                for y in 0..h {
                    let mut acc = 0.0;
                    for q in 0..co {
                        acc += v[m.index()].get(&[i, p, q]) * fv.get(&[i, q, y, 0]);
                    }
                    assert!((v[back.index()].get(&[i, p, y, 0]) - acc).abs() < 1e-9);
                }
            }
        }
    }
}

#[test]
fn fold_and_broadcast_blend_gate_channels() {
    // Squeeze-and-excitation: y = x · sigmoid(mean_{h,w} x), and a max fold.
    let s = slot();
    let mut g = kernel(&s);
    let p = g
        .push(
            NodeOp::Fold {
                axes: vec![2, 3],
                kind: FoldKind::Avg,
            },
            &[g.input()],
        )
        .unwrap();
    let q = g.push(NodeOp::Unary(Unary::Sigmoid), &[p]).unwrap();
    let y = g
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
            NodeOp::Fold {
                axes: vec![3],
                kind: FoldKind::Max,
            },
            &[y],
        )
        .unwrap();
    let b = &s.bindings[1];
    let x = Tensor::random(&g.concrete(g.input(), b).unwrap(), 4);
    let v = evaluate_all(&g, b, &x, &random_weights(&g, b, 0).unwrap()).unwrap();
    let (n, c, h) = (x.shape[0], x.shape[1], x.shape[2]);
    for i in 0..n {
        for k in 0..c {
            let mean: f64 = (0..h * h)
                .map(|t| x.get(&[i, k, t / h, t % h]))
                .sum::<f64>()
                / (h * h) as f64;
            assert!((v[p.index()].get(&[i, k]) - mean).abs() < 1e-12);
            let gate = 1.0 / (1.0 + (-mean).exp());
            for a in 0..h {
                let mut mx = f64::NEG_INFINITY;
                for z in 0..h {
                    let want = x.get(&[i, k, a, z]) * gate;
                    assert!((v[y.index()].get(&[i, k, a, z]) - want).abs() < 1e-12);
                    mx = mx.max(want);
                }
                assert!((v[m.index()].get(&[i, k, a]) - mx).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn bad_shapes_are_refused() {
    let s = slot();
    let mut g = kernel(&s);
    let f = fc(&mut g, &s, crate::NodeId(0), 1, s.c_out);
    // C_out ≠ C_in: an element-wise blend of the two is illegal.
    assert!(
        g.push(
            NodeOp::Blend {
                kind: BlendKind::Add,
                map: vec![0, 1, 2, 3]
            },
            &[f, g.input()]
        )
        .is_err()
    );
    assert!(
        g.push(
            NodeOp::Fold {
                axes: vec![0, 1, 2, 3],
                kind: FoldKind::Avg
            },
            &[f]
        )
        .is_err()
    );
    assert!(g.push(NodeOp::Softmax { axis: 4 }, &[f]).is_err());
    let b = &s.bindings[0];
    let x = Tensor::zeros(&[1, 1, 1, 1]);
    assert!(evaluate(&g, b, &x, &random_weights(&g, b, 0).unwrap()).is_err());
}

/// `kernel`'s output under binding `j` on the f32-rounded seeded data `kas graph verify` draws
/// for its kernel number `i` (seed 0), and its f32 sensitivity there.
fn sensitivity_of(g: &crate::GraphKernel, i: u64, j: usize) -> (f64, f64) {
    let r32 = |t: Tensor| Tensor {
        data: t.data.iter().map(|&v| v as f32 as f64).collect(),
        shape: t.shape,
    };
    let b = &g.bindings[j];
    let s = 64 * i + 2 * j as u64;
    let x = r32(Tensor::random(&g.concrete(g.input(), b).unwrap(), s));
    let w: Vec<Vec<Tensor>> = random_weights(g, b, s + 1)
        .unwrap()
        .into_iter()
        .map(|ws| ws.into_iter().map(r32).collect())
        .collect();
    let want = evaluate(g, b, &x, &w).unwrap();
    let scale = want.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let sens = crate::interp::f32_sensitivity(g, b, &x, &w, &want, 3, 7).unwrap();
    (scale, sens)
}

#[test]
fn a_cancelling_kernel_is_as_sensitive_as_f32_rounding_and_a_plain_one_is_not() {
    // cnn-small-267 of a 1,000-kernel verify: under binding `a` its outputs are at most
    // 1.4e-4, and data one f32 rounding away move them by about 1e-4 relative; the SE gate
    // moves by about the rounding itself.
    let bad = crate::read_graph(include_str!("../../testdata/cancelling.ron"), "c").unwrap();
    let (scale, sens) = sensitivity_of(&bad, 261, 0);
    assert!(scale < 2e-4, "max |out| {scale:.2e}");
    assert!(sens > 1e-5, "sensitivity {sens:.2e}");
    let (_, other) = sensitivity_of(&bad, 261, 1);
    assert!(other < 1e-5, "binding b is well conditioned: {other:.2e}");
    let se = crate::read_graph(include_str!("../../testdata/se-gate.ron"), "se").unwrap();
    let (_, plain) = sensitivity_of(&se, 0, 0);
    assert!(plain < 1e-6, "sensitivity {plain:.2e}");
    // Same seed, same figure.
    assert_eq!(sensitivity_of(&bad, 261, 0).1, sens);
}
