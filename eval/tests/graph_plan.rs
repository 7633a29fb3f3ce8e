//! The tch path of graph kernels against the f64 interpreter: sampled kernels over odd sizes,
//! every node kind, gradients that reach every weight.

use kas_eval::graph_plan::{GraphPlan, run_graph};
use kas_graph::interp::{evaluate, random_weights};
use kas_graph::sample::{SampleConfig, Slot, sample_on};
use kas_graph::{GraphKernel, NodeOp, read_graph};
use kas_primitives::{Spec, Tensor};
use tch::nn::VarStore;
use tch::{Device, Kind};

/// An image slot with odd sizes.
const SPEC: &str = r#"(
    kind: "kas-spec",
    version: 1,
    name: "odd",
    input: "[N, C_in: unordered, H, H]",
    output: "[N, C_out: unordered, H, H]",
    variables: (primary: ["N", "C_in", "C_out", "H"], coefficient: ["k=3", "g=2"]),
    fixed: [(0, 0)],
    bindings: [
        (name: "a", values: {"N": 2, "C_in": 4, "C_out": 6, "H": 5}),
        (name: "b", values: {"N": 3, "C_in": 6, "C_out": 2, "H": 3}),
    ],
)"#;

fn sampled(count: usize, seed: u64) -> Vec<GraphKernel> {
    let slot = Slot::from_spec(&Spec::read(SPEC, "odd.ron").unwrap()).unwrap();
    let r = sample_on(2, &slot, &SampleConfig::default(), count, seed, "odd").unwrap();
    r.kernels.into_iter().map(|(g, _)| g).collect()
}

/// The tch path's relative error against the interpreter, worst over bindings.
fn worst_error(g: &GraphKernel, kind: Kind) -> f64 {
    let mut worst = 0f64;
    for (i, b) in g.bindings.iter().enumerate() {
        let x = Tensor::random(&g.concrete(g.input(), b).unwrap(), 5 + i as u64);
        let w = random_weights(g, b, 11 + i as u64).unwrap();
        let want = evaluate(g, b, &x, &w).unwrap();
        let got = run_graph(g, b, &x, &w, Device::Cpu, kind).unwrap();
        assert_eq!(got.shape, want.shape, "{}", g.name);
        let e = got.rel_err(&want);
        worst = if e.is_nan() {
            f64::INFINITY
        } else {
            worst.max(e)
        };
    }
    worst
}

#[test]
fn sampled_kernels_match_the_interpreter_in_f64_and_f32() {
    let gs = sampled(40, 3);
    assert!(gs.len() >= 20, "only {} kernels", gs.len());
    let mut kinds = std::collections::BTreeSet::new();
    for g in &gs {
        for n in &g.nodes {
            kinds.insert(n.op.kind());
        }
        let e64 = worst_error(g, Kind::Double);
        assert!(e64 < 1e-9, "{}: f64 error {e64:.2e}", g.name);
        let e32 = worst_error(g, Kind::Float);
        assert!(e32 < 1e-4, "{}: f32 error {e32:.2e}", g.name);
    }
    for k in ["linear", "fold", "softmax", "blend", "bmm"] {
        assert!(kinds.contains(k), "no {k} node among {} kernels", gs.len());
    }
}

#[test]
fn every_node_kind_matches_on_a_hand_built_kernel() {
    // The SE gate of the format's example, then every element-wise function and a scaled
    // matrix product of the result with itself, softmax and a max fold: each node kind once.
    let text = include_str!("../../graph/testdata/se-gate.ron");
    let mut g = read_graph(text, "se-gate.ron").unwrap();
    let mut last = g.output;
    for u in kas_graph::Unary::ALL {
        last = g.push(NodeOp::Unary(u), &[last]).unwrap();
        // Keep magnitudes tame between functions (exp, sqr).
        last = g
            .push(NodeOp::Unary(kas_graph::Unary::Tanh), &[last])
            .unwrap();
    }
    let mm = g
        .push(
            NodeOp::Bmm {
                batch: 1,
                lhs_contract: vec![2, 3],
                rhs_contract: vec![2, 3],
                scaled: true,
            },
            &[last, last],
        )
        .unwrap();
    let sm = g.push(NodeOp::Softmax { axis: 2 }, &[mm]).unwrap();
    let mx = g
        .push(
            NodeOp::Fold {
                axes: vec![2],
                kind: kas_graph::FoldKind::Max,
            },
            &[sm],
        )
        .unwrap();
    for kind in kas_graph::BlendKind::ALL {
        g.push(
            NodeOp::Blend {
                kind,
                map: vec![0, 1],
            },
            &[mx, last],
        )
        .unwrap();
    }
    // Only the last blend is live: make each one feed the next.
    let n = g.nodes.len();
    for k in n - 4..n {
        g.nodes[k].inputs[1] = kas_graph::NodeId(k as u32 - 1);
    }
    g.validate().unwrap();
    assert!(worst_error(&g, Kind::Double) < 1e-9);
    assert!(worst_error(&g, Kind::Float) < 1e-4);
}

#[test]
fn gradients_reach_every_weight_and_are_finite() {
    // Including √|x| after a ReLU, whose plain gradient at 0 is infinite.
    for g in sampled(12, 9).iter().take(8) {
        let b = &g.bindings[0];
        let vs = VarStore::new(Device::Cpu);
        let plan = kas_eval::seeded::seeded(1, || GraphPlan::new(g, b, &vs.root())).unwrap();
        let shape: Vec<i64> = plan.input_shape.clone();
        let x = kas_eval::seeded::seeded(2, || {
            tch::Tensor::randn(&shape[..], (Kind::Float, Device::Cpu))
        });
        let y = plan.apply(&x);
        assert_eq!(y.size(), plan.output_shape);
        (y.square().mean(Kind::Float)).backward();
        let ws = plan.weights();
        assert_eq!(ws.len(), vs.trainable_variables().len(), "{}", g.name);
        for w in ws {
            let gr = w.grad();
            assert!(gr.defined(), "{}: a weight without gradient", g.name);
            let finite = gr.isfinite().all().int64_value(&[]) == 1;
            assert!(finite, "{}: non-finite gradient", g.name);
        }
    }
    let mut g = read_graph(include_str!("../../graph/testdata/se-gate.ron"), "s").unwrap();
    let r = g
        .push(NodeOp::Unary(kas_graph::Unary::Relu), &[g.output])
        .unwrap();
    g.push(NodeOp::Unary(kas_graph::Unary::Sqrt), &[r]).unwrap();
    let b = &g.bindings[0];
    let vs = VarStore::new(Device::Cpu);
    let plan = kas_eval::seeded::seeded(1, || GraphPlan::new(&g, b, &vs.root())).unwrap();
    let x = kas_eval::seeded::seeded(2, || {
        tch::Tensor::randn(&plan.input_shape[..], (Kind::Float, Device::Cpu))
    });
    let y = plan.apply(&x);
    assert!(
        y.eq(0.0).any().int64_value(&[]) == 1,
        "some outputs are exactly 0"
    );
    y.sum(Kind::Float).backward();
    for w in plan.weights() {
        assert!(w.grad().isfinite().all().int64_value(&[]) == 1);
    }
}

#[test]
fn the_batch_axis_may_change_size() {
    let g = read_graph(include_str!("../../graph/testdata/se-gate.ron"), "s").unwrap();
    let b = &g.bindings[0];
    let vs = VarStore::new(Device::Cpu);
    let plan = kas_eval::seeded::seeded(1, || GraphPlan::new(&g, b, &vs.root())).unwrap();
    assert!(plan.batch_flexible());
    let mut shape = plan.input_shape.clone();
    shape[0] = 5;
    let y = plan.apply(&tch::Tensor::ones(&shape[..], (Kind::Float, Device::Cpu)));
    assert_eq!(y.size()[0], 5);
}

#[test]
fn sampled_kernels_fill_every_slot_of_a_host_model_and_train() {
    use kas_eval::models::slot::Fill;
    use kas_eval::models::{HostModel, ModelConfig, VisionConfig};
    use tch::nn::{ModuleT, OptimizerConfig};
    let text = include_str!("../../experiments/specs/cnn-small.ron");
    let slot = Slot::from_spec(&Spec::read(text, "cnn-small.ron").unwrap()).unwrap();
    let r = sample_on(2, &slot, &SampleConfig::default(), 12, 4, "c").unwrap();
    let cfg = ModelConfig::Cnn(VisionConfig {
        width: 4,
        image: 16,
        channels: 3,
        classes: 5,
    });
    let mut built = 0;
    for (g, _) in r.kernels.iter().take(4) {
        let vs = VarStore::new(Device::Cpu);
        let m = match HostModel::new(cfg, 4, Fill::Graph(g), &vs.root()) {
            Ok(m) => m,
            // A kernel may not fit every slot (its sizes under the slot's values): a one-line
            // refusal naming the slot.
            Err(e) => {
                assert!(!e.to_string().contains('\n'), "{e}");
                continue;
            }
        };
        built += 1;
        let mut opt = tch::nn::Sgd::default().build(&vs, 0.01).unwrap();
        // A batch other than the slot's.
        let x = tch::Tensor::randn([3, 3, 16, 16], (Kind::Float, Device::Cpu));
        let y = m.forward_t(&x, true);
        assert_eq!(y.size(), [3, 5]);
        let loss = y.log_softmax(-1, Kind::Float).mean(Kind::Float);
        opt.backward_step(&loss);
        // Every graph weight took part in the step.
        let grads = vs.trainable_variables();
        assert!(grads.iter().all(|w| w.grad().defined()), "{}", g.name);
        assert_eq!(m.forward_t(&x, false).size(), [3, 5]);
    }
    assert!(built >= 2, "only {built} kernels fit the model");
}

#[test]
fn a_kernel_that_mixes_samples_is_refused_by_a_slot() {
    use kas_eval::models::slot::Fill;
    use kas_eval::models::{HostModel, ModelConfig, VisionConfig};
    let cfg = ModelConfig::Cnn(VisionConfig {
        width: 4,
        image: 16,
        channels: 3,
        classes: 5,
    });
    let mut g = read_graph(include_str!("../../graph/testdata/se-gate.ron"), "s").unwrap();
    let vs = VarStore::new(Device::Cpu);
    assert!(HostModel::new(cfg, 4, Fill::Graph(&g), &vs.root()).is_ok());
    g.push(NodeOp::Softmax { axis: 0 }, &[g.output]).unwrap();
    let vs = VarStore::new(Device::Cpu);
    let e = HostModel::new(cfg, 4, Fill::Graph(&g), &vs.root()).unwrap_err();
    assert!(e.to_string().contains("batch axis"), "{e}");
}

#[test]
fn causal_nodes_match_and_pass_gradients() {
    let text = include_str!("../../graph/testdata/causal-attention.ron");
    let mut g = read_graph(text, "causal-attention.ron").unwrap();
    let out = g.output;
    // A causal softmax whose key axis comes before its query axis, and a prefix mean.
    let s = g.nodes.iter().position(|n| n.op.kind() == "bmm").unwrap();
    let swapped = g
        .push(
            NodeOp::CausalSoftmax { query: 2, key: 1 },
            &[kas_graph::NodeId(s as u32)],
        )
        .unwrap();
    let p = g.push(NodeOp::PrefixMean { axis: 1 }, &[out]).unwrap();
    let mix = NodeOp::Bmm {
        batch: 1,
        lhs_contract: vec![1],
        rhs_contract: vec![1],
        scaled: false,
    };
    g.push(mix, &[swapped, p]).unwrap();
    g.validate().unwrap();
    assert!(worst_error(&g, Kind::Double) < 1e-9);
    assert!(worst_error(&g, Kind::Float) < 1e-4);
    // The masked entries (−∞ before the softmax) leave every gradient finite and nonzero.
    let b = &g.bindings[0];
    let vs = VarStore::new(Device::Cpu);
    let plan = kas_eval::seeded::seeded(1, || GraphPlan::new(&g, b, &vs.root())).unwrap();
    let x = kas_eval::seeded::seeded(2, || {
        tch::Tensor::randn(&plan.input_shape[..], (Kind::Float, Device::Cpu))
    });
    plan.apply(&x).square().mean(Kind::Float).backward();
    assert_eq!(plan.weights().len(), 4);
    for w in plan.weights() {
        let gr = w.grad();
        assert!(gr.isfinite().all().int64_value(&[]) == 1);
        assert!(gr.abs().sum(Kind::Float).double_value(&[]) > 0.0);
    }
}
