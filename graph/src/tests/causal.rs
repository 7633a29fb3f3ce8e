use crate::causal::{SeqState, check_causal, leak_at};
use crate::format::{read_graph, write_graph};
use crate::interp::{evaluate, random_weights};
use crate::node::{BlendKind, FoldKind, NodeId, NodeOp};
use crate::sample::linear;
use crate::{GraphKernel, print};
use kas_primitives::{Spec, Tensor};

/// A small sequence slot `[N, T, H] → [N, T, H]`.
const SEQ_SPEC: &str = r#"(
    kind: "kas-spec",
    version: 1,
    name: "seq",
    input: "[N, T, H: unordered]",
    output: "[N, T, H: unordered]",
    variables: (primary: ["N", "T", "H"], coefficient: []),
    bindings: [
        (name: "a", values: {"N": 2, "T": 5, "H": 3}),
        (name: "b", values: {"N": 1, "T": 4, "H": 2}),
    ],
)"#;

fn seq_kernel() -> GraphKernel {
    let spec = Spec::read(SEQ_SPEC, "seq.ron").unwrap();
    let shape = spec.input.iter().map(|d| d.size).collect();
    GraphKernel::new("s", spec.vars.clone(), spec.bindings.clone(), shape).unwrap()
}

/// An FC on the hidden axis of node `x`.
fn fc_h(g: &mut GraphKernel, x: NodeId) -> NodeId {
    let shape = g.shape(x).to_vec();
    let op = linear::fc(&g.vars, &g.bindings, &shape, 2, shape[2]).unwrap();
    g.push(NodeOp::Linear(Box::new(op)), &[x]).unwrap()
}

/// Single-head attention; `causal` picks the causal or the plain softmax.
fn attention(causal: bool) -> GraphKernel {
    let mut g = seq_kernel();
    let x = g.input();
    let (q, k, v) = (fc_h(&mut g, x), fc_h(&mut g, x), fc_h(&mut g, x));
    let scores = NodeOp::Bmm {
        batch: 1,
        lhs_contract: vec![2],
        rhs_contract: vec![2],
        scaled: true,
    };
    let s = g.push(scores, &[q, k]).unwrap();
    let norm = if causal {
        NodeOp::CausalSoftmax { query: 1, key: 2 }
    } else {
        NodeOp::Softmax { axis: 2 }
    };
    let a = g.push(norm, &[s]).unwrap();
    let mix = NodeOp::Bmm {
        batch: 1,
        lhs_contract: vec![2],
        rhs_contract: vec![1],
        scaled: false,
    };
    let o = g.push(mix, &[a, v]).unwrap();
    fc_h(&mut g, o);
    g.validate().unwrap();
    g
}

/// A prefix-mean token mixer gated by a sigmoid of the input: `x · σ(W · prefix_mean(x))`.
fn prefix_gate() -> GraphKernel {
    let mut g = seq_kernel();
    let p = g
        .push(NodeOp::PrefixMean { axis: 1 }, &[g.input()])
        .unwrap();
    let w = fc_h(&mut g, p);
    let s = g.push(NodeOp::Unary(crate::Unary::Sigmoid), &[w]).unwrap();
    g.push(
        NodeOp::Blend {
            kind: BlendKind::Mul,
            map: vec![0, 1, 2],
        },
        &[s, g.input()],
    )
    .unwrap();
    g.validate().unwrap();
    g
}

/// A mean over the whole sequence added back to every position (reads the future).
fn global_mean() -> GraphKernel {
    let mut g = seq_kernel();
    let m = g
        .push(
            NodeOp::Fold {
                axes: vec![1],
                kind: FoldKind::Avg,
            },
            &[g.input()],
        )
        .unwrap();
    g.push(
        NodeOp::Blend {
            kind: BlendKind::Add,
            map: vec![0, 2],
        },
        &[m, g.input()],
    )
    .unwrap();
    g
}

#[test]
fn causal_kernels_pass_both_checks_and_leaky_ones_fail_both() {
    for (g, causal) in [
        (attention(true), true),
        (prefix_gate(), true),
        (attention(false), false),
        (global_mean(), false),
    ] {
        let stat = check_causal(&g, 1);
        assert_eq!(stat.is_ok(), causal, "{}", print::pseudo_c(&g));
        for b in &g.bindings {
            let leak = leak_at(&g, b, 1, 7).unwrap();
            if causal {
                assert_eq!(leak, 0.0, "binding {}", b.name);
            } else {
                assert!(leak > 1e-6, "binding {}: leak {leak}", b.name);
            }
        }
    }
    let states = check_causal(&attention(true), 1).unwrap();
    assert!(states.contains(&SeqState::Pair(1, 2)));
    assert!(states.contains(&SeqState::Causal(1, 2)));
    let e = check_causal(&global_mean(), 1).unwrap_err().to_string();
    assert!(e.contains("fold over a position axis"), "{e}");
}

#[test]
fn causal_softmax_and_prefix_mean_match_hand_values() {
    let mut g = seq_kernel();
    let bad = g.push(NodeOp::CausalSoftmax { query: 1, key: 2 }, &[g.input()]);
    assert!(bad.unwrap_err().to_string().contains("differ in size"));
    let scores = NodeOp::Bmm {
        batch: 1,
        lhs_contract: vec![2],
        rhs_contract: vec![2],
        scaled: false,
    };
    let s = g.push(scores, &[g.input(), g.input()]).unwrap();
    let sm = g
        .push(NodeOp::CausalSoftmax { query: 1, key: 2 }, &[s])
        .unwrap();
    let pm = g
        .push(NodeOp::PrefixMean { axis: 1 }, &[g.input()])
        .unwrap();
    for b in &g.bindings {
        let x = Tensor::random(&g.concrete(g.input(), b).unwrap(), 3);
        let w = random_weights(&g, b, 0).unwrap();
        let vals = crate::interp::evaluate_all(&g, b, &x, &w).unwrap();
        let (z, y, p) = (&vals[s.index()], &vals[sm.index()], &vals[pm.index()]);
        let (n, h) = (x.shape[1], x.shape[2]);
        for i in 0..x.shape[0] {
            for q in 0..n {
                let den: f64 = (0..=q).map(|k| z.get(&[i, q, k]).exp()).sum();
                for k in 0..n {
                    let want = if k <= q {
                        z.get(&[i, q, k]).exp() / den
                    } else {
                        0.0
                    };
                    assert!((y.get(&[i, q, k]) - want).abs() < 1e-12);
                }
                for c in 0..h {
                    let sum: f64 = (0..=q).map(|t| x.get(&[i, t, c])).sum();
                    assert!((p.get(&[i, q, c]) - sum / (q + 1) as f64).abs() < 1e-12);
                }
            }
        }
    }
}

#[test]
fn causal_nodes_round_trip_and_need_version_2() {
    let g = attention(true);
    let text = write_graph(&g, "causal attention").unwrap();
    assert!(text.contains("CausalSoftmax") && text.contains("version: 2"));
    let back = read_graph(&text, "att.ron").unwrap();
    let b = &g.bindings[0];
    let x = Tensor::random(&g.concrete(g.input(), b).unwrap(), 4);
    let y1 = evaluate(&g, b, &x, &random_weights(&g, b, 1).unwrap()).unwrap();
    let y2 = evaluate(&back, b, &x, &random_weights(&back, b, 1).unwrap()).unwrap();
    assert_eq!(y1, y2);
    let old = text.replace("version: 2", "version: 1");
    let e = read_graph(&old, "old.ron").unwrap_err().to_string();
    assert!(e.contains("need version 2"), "{e}");
    let pm = write_graph(&prefix_gate(), "").unwrap();
    assert!(read_graph(&pm, "pm.ron").is_ok());
    let c = print::pseudo_c(&g);
    assert!(c.contains("causal_softmax("), "{c}");
    assert!(print::pseudo_c(&prefix_gate()).contains("prefix_mean("));
    assert!(print::dot(&g).contains("lightcyan"));
}

/// The documented causal example: attention whose (squared) causal weights mix the values,
/// plus a prefix mean of the input, projected.
fn documented_example() -> GraphKernel {
    let mut g = seq_kernel();
    g.name = "causal-attention".into();
    let x = g.input();
    let (q, k, v) = (fc_h(&mut g, x), fc_h(&mut g, x), fc_h(&mut g, x));
    let scores = NodeOp::Bmm {
        batch: 1,
        lhs_contract: vec![2],
        rhs_contract: vec![2],
        scaled: true,
    };
    let s = g.push(scores, &[q, k]).unwrap();
    let a = g
        .push(NodeOp::CausalSoftmax { query: 1, key: 2 }, &[s])
        .unwrap();
    let a2 = g.push(NodeOp::Unary(crate::Unary::Sqr), &[a]).unwrap();
    let mix = NodeOp::Bmm {
        batch: 1,
        lhs_contract: vec![2],
        rhs_contract: vec![1],
        scaled: false,
    };
    let o = g.push(mix, &[a2, v]).unwrap();
    let p = g.push(NodeOp::PrefixMean { axis: 1 }, &[x]).unwrap();
    let add = NodeOp::Blend {
        kind: BlendKind::Add,
        map: vec![0, 1, 2],
    };
    let y = g.push(add, &[o, p]).unwrap();
    fc_h(&mut g, y);
    g.validate().unwrap();
    g
}

#[test]
fn the_documented_causal_example_is_this_kernel_and_causal() {
    let text = include_str!("../../testdata/causal-attention.ron");
    let want = write_graph(&documented_example(), "").unwrap();
    let body = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("//") && !l.trim_start().starts_with("description"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(text), body(&want));
    let g = read_graph(text, "causal-attention.ron").unwrap();
    check_causal(&g, 1).unwrap();
    for b in &g.bindings {
        assert_eq!(leak_at(&g, b, 1, 3).unwrap(), 0.0);
    }
}

#[test]
fn the_sampler_builds_only_causal_kernels_in_a_sequence_slot() {
    use crate::sample::{Layout, SampleConfig, Slot, sample_on};
    let slot = Slot::from_spec(&Spec::read(SEQ_SPEC, "seq.ron").unwrap()).unwrap();
    assert_eq!(slot.layout, Layout::Sequence);
    assert_eq!(slot.input_shape(), slot.output_shape());
    let cfg = SampleConfig::default();
    let r = sample_on(2, &slot, &cfg, 48, 5, "seq").unwrap();
    assert!(
        r.legal * 2 >= r.descents,
        "{} of {} legal",
        r.legal,
        r.descents
    );
    assert!(r.kernels.len() >= 12, "{} distinct", r.kernels.len());
    let mut kinds = std::collections::BTreeSet::new();
    for (g, _) in &r.kernels {
        check_causal(g, 1).unwrap();
        assert_eq!(g.shape(g.output), slot.output_shape().as_slice());
        let b = &g.bindings[1];
        assert_eq!(leak_at(g, b, 1, 2).unwrap(), 0.0, "{}", print::pseudo_c(g));
        kinds.extend(g.nodes.iter().map(|n| n.op.kind()));
    }
    for k in ["causal_softmax", "prefix_mean", "bmm", "linear"] {
        assert!(kinds.contains(k), "no {k} among {kinds:?}");
    }
    let one = sample_on(1, &slot, &cfg, 48, 5, "seq").unwrap();
    let names = |r: &crate::sample::SampleReport| -> Vec<_> {
        r.kernels
            .iter()
            .map(|(g, h)| (g.name.clone(), *h))
            .collect()
    };
    assert_eq!(names(&one), names(&r));
}
