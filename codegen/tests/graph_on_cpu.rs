//! Graph kernels' CUDA programs run on the CPU (the host emulation of CUDA) against the f64
//! interpreter: sampled kernels over odd sizes with the reference, heuristic and varied
//! schedules of their linear nodes, fusions counted, and a wrong fusion caught.

use kas_codegen::emulate::{run_many, run_on_cpu};
use kas_codegen::graph::{LinearSchedule, generate_graph, program_tensors};
use kas_graph::interp::{evaluate, random_weights};
use kas_graph::sample::{SampleConfig, Slot, sample_on};
use kas_graph::{GraphKernel, NodeOp, Unary, read_graph};
use kas_primitives::{Spec, Tensor};

/// A small image slot with odd sizes (one binding: each run compiles a C++ program).
const SPEC: &str = r#"(
    kind: "kas-spec",
    version: 1,
    name: "odd",
    input: "[N, C_in: unordered, H, H]",
    output: "[N, C_out: unordered, H, H]",
    variables: (primary: ["N", "C_in", "C_out", "H"], coefficient: ["k=3", "g=2"]),
    fixed: [(0, 0)],
    bindings: [(name: "a", values: {"N": 2, "C_in": 4, "C_out": 6, "H": 5})],
)"#;

fn f32_round(t: Tensor) -> Tensor {
    Tensor {
        data: t.data.iter().map(|&v| v as f32 as f64).collect(),
        shape: t.shape,
    }
}

/// The program's relative error against the interpreter on the same (f32) inputs.
fn error_of(
    g: &GraphKernel,
    sched: LinearSchedule,
    tag: &str,
) -> (f64, kas_codegen::graph::GraphProgram) {
    let b = &g.bindings[0];
    let x = f32_round(Tensor::random(&g.concrete(g.input(), b).unwrap(), 3));
    let w: Vec<Vec<Tensor>> = random_weights(g, b, 7)
        .unwrap()
        .into_iter()
        .map(|ws| ws.into_iter().map(f32_round).collect())
        .collect();
    let want = evaluate(g, b, &x, &w).unwrap();
    let gp = generate_graph(g, b, sched).unwrap();
    let dir = std::env::temp_dir().join(format!("kas-graph-cpu-{}-{tag}", std::process::id()));
    let got = run_on_cpu(&gp.program, &program_tensors(&x, &w), &dir).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(got.shape, want.shape);
    let e = got.rel_err(&want);
    (if e.is_nan() { f64::INFINITY } else { e }, gp)
}

#[test]
fn sampled_graph_programs_match_the_interpreter() {
    // All in one C++ program (run_many), each with one of the three schedules.
    let slot = Slot::from_spec(&Spec::read(SPEC, "odd.ron").unwrap()).unwrap();
    let r = sample_on(2, &slot, &SampleConfig::default(), 14, 21, "odd").unwrap();
    let gs: Vec<GraphKernel> = r.kernels.into_iter().map(|(g, _)| g).take(8).collect();
    assert!(gs.len() >= 6, "only {} kernels", gs.len());
    let (mut epi, mut pro) = (0, 0);
    let mut wants = Vec::new();
    let mut items = Vec::new();
    for (i, g) in gs.iter().enumerate() {
        let sched = match i % 3 {
            0 => LinearSchedule::Direct,
            1 => LinearSchedule::Heuristic,
            _ => LinearSchedule::Varied(i as u64),
        };
        let b = &g.bindings[0];
        let x = f32_round(Tensor::random(&g.concrete(g.input(), b).unwrap(), 3));
        let w: Vec<Vec<Tensor>> = random_weights(g, b, 7)
            .unwrap()
            .into_iter()
            .map(|ws| ws.into_iter().map(f32_round).collect())
            .collect();
        wants.push(evaluate(g, b, &x, &w).unwrap());
        let gp = generate_graph(g, b, sched).unwrap();
        epi += gp.epilogue_fused;
        pro += gp.prologue_fused;
        items.push((gp.program, program_tensors(&x, &w)));
    }
    let refs: Vec<_> = items.iter().map(|(p, t)| (p, &t[..])).collect();
    let dir = std::env::temp_dir().join(format!("kas-graph-cpu-{}-many", std::process::id()));
    let gots = run_many(&refs, &dir).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    for ((g, got), want) in gs.iter().zip(&gots).zip(&wants) {
        let e = got.rel_err(want);
        assert!(e < 1e-4, "{}: error {e:.2e}", g.name);
    }
    assert!(epi + pro > 0, "no element-wise node fused");
}

/// The SE gate with element-wise tails: ReLU and tanh fused into the epilogue of the 1x1
/// projection (a kas kernel), sigmoid and sin into a fold's, a square into a softmax's, a
/// negation of a node read twice fused into the prologue of the blend reading it, GeLU into
/// the blend's epilogue.
fn hand_built() -> GraphKernel {
    let mut g = read_graph(include_str!("../../graph/testdata/se-gate.ron"), "se").unwrap();
    let p = g.output;
    let r = g.push(NodeOp::Unary(Unary::Relu), &[p]).unwrap();
    let t = g.push(NodeOp::Unary(Unary::Tanh), &[r]).unwrap();
    let m = g
        .push(
            NodeOp::Fold {
                axes: vec![2, 3],
                kind: kas_graph::FoldKind::Max,
            },
            &[t],
        )
        .unwrap();
    let s = g.push(NodeOp::Unary(Unary::Sigmoid), &[m]).unwrap();
    let e = g.push(NodeOp::Unary(Unary::Sin), &[s]).unwrap();
    let sm = g.push(NodeOp::Softmax { axis: 1 }, &[e]).unwrap();
    let q = g.push(NodeOp::Unary(Unary::Sqr), &[sm]).unwrap();
    let mm = g
        .push(
            NodeOp::Bmm {
                batch: 1,
                lhs_contract: vec![1],
                rhs_contract: vec![1],
                scaled: true,
            },
            &[q, t],
        )
        .unwrap();
    let neg = g.push(NodeOp::Unary(Unary::Neg), &[mm]).unwrap();
    let bl = g
        .push(
            NodeOp::Blend {
                kind: kas_graph::BlendKind::Max,
                map: vec![0, 1, 2],
            },
            &[mm, neg],
        )
        .unwrap();
    g.push(NodeOp::Unary(Unary::Gelu), &[bl]).unwrap();
    g.validate().unwrap();
    g
}

#[test]
fn every_fusion_and_node_kind_matches() {
    let g = hand_built();
    let (e, gp) = error_of(&g, LinearSchedule::Heuristic, "hand");
    assert!(e < 1e-4, "error {e:.2e}\n{}", gp.program.source);
    // The SE gate's own sigmoid is fused into the squeeze's epilogue too.
    let counts = (gp.epilogue_fused, gp.prologue_fused);
    assert_eq!(counts, (7, 1));
    assert_eq!(gp.elementwise_kernels, 0);
    assert!(gp.program.source.contains("kas_n"));
}

#[test]
fn a_wrong_epilogue_is_caught() {
    // The same program with the fused ReLU's function replaced by the identity must disagree:
    // the comparison sees what the epilogue does.
    let g = hand_built();
    let b = &g.bindings[0];
    let mut gp = generate_graph(&g, b, LinearSchedule::Direct).unwrap();
    let before = gp.program.source.clone();
    gp.program.source = before.replace(
        "float kas_g_relu(float x) { return fmaxf(x, 0.0f); }",
        "float kas_g_relu(float x) { return x; }",
    );
    assert_ne!(before, gp.program.source);
    let x = f32_round(Tensor::random(&g.concrete(g.input(), b).unwrap(), 3));
    let w = random_weights(&g, b, 7).unwrap();
    let w: Vec<Vec<Tensor>> = w
        .into_iter()
        .map(|ws| ws.into_iter().map(f32_round).collect())
        .collect();
    let want = evaluate(&g, b, &x, &w).unwrap();
    let dir = std::env::temp_dir().join(format!("kas-graph-cpu-{}-wrong", std::process::id()));
    let got = run_on_cpu(&gp.program, &program_tensors(&x, &w), &dir).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(got.rel_err(&want) > 1e-3);
}

#[test]
fn causal_nodes_match_with_and_without_an_epilogue() {
    // The documented causal attention (its squared causal softmax fused into the causal
    // softmax's epilogue, so the masked zeros go through it too), then a prefix mean along the
    // sequence with a sigmoid in its epilogue.
    let text = include_str!("../../graph/testdata/causal-attention.ron");
    let mut g = read_graph(text, "causal-attention.ron").unwrap();
    let p = g.push(NodeOp::PrefixMean { axis: 1 }, &[g.output]).unwrap();
    g.push(NodeOp::Unary(Unary::Sigmoid), &[p]).unwrap();
    g.bindings.truncate(1);
    let (e, gp) = error_of(&g, LinearSchedule::Heuristic, "causal");
    assert!(e < 1e-4, "error {e:.2e}\n{}", gp.program.source);
    assert_eq!(gp.epilogue_fused, 2);
    assert_eq!(gp.elementwise_kernels, 0);
}

#[test]
fn given_schedules_are_the_ones_the_linear_nodes_run() {
    // Each linear node's schedule given by hand (as the tuner gives them) is the program the
    // schedule mode would make with the same choices; a node without one runs the heuristic
    // schedule; a schedule of the wrong length is refused; and the program stays exact.
    use kas_codegen::StageIr;
    use kas_codegen::cuda::varied_schedule;
    use kas_codegen::graph::generate_graph_scheduled;
    use kas_codegen::schedule::Schedule;
    let g = hand_built();
    let b = &g.bindings[0];
    let seed: u64 = 5;
    let linear: Vec<usize> = (0..g.nodes.len())
        .filter(|&k| matches!(g.nodes[k].op, NodeOp::Linear(_)))
        .collect();
    assert!(
        linear.len() >= 2,
        "the hand-built kernel has several linear nodes"
    );
    let ir = |k: usize| match &g.nodes[k].op {
        NodeOp::Linear(op) => StageIr::lower_for(op, std::slice::from_ref(b)).unwrap(),
        _ => unreachable!(),
    };
    let mut given: Vec<Option<Schedule>> = vec![None; g.nodes.len()];
    for &k in &linear {
        // The seed LinearSchedule::Varied gives node k.
        let s = seed.wrapping_add(0x9e37_79b9 * k as u64);
        given[k] = Some(varied_schedule(&ir(k), b, s).unwrap());
    }
    let varied = generate_graph(&g, b, LinearSchedule::Varied(seed)).unwrap();
    let scheduled = generate_graph_scheduled(&g, b, &given).unwrap();
    assert_eq!(scheduled.program.source, varied.program.source);
    let heuristic = generate_graph(&g, b, LinearSchedule::Heuristic).unwrap();
    let none = generate_graph_scheduled(&g, b, &[]).unwrap();
    assert_eq!(none.program.source, heuristic.program.source);
    // Exact: the given schedules' program against the interpreter on the CPU emulation.
    let x = f32_round(Tensor::random(&g.concrete(g.input(), b).unwrap(), 3));
    let w: Vec<Vec<Tensor>> = random_weights(&g, b, 7)
        .unwrap()
        .into_iter()
        .map(|ws| ws.into_iter().map(f32_round).collect())
        .collect();
    let want = evaluate(&g, b, &x, &w).unwrap();
    let dir = std::env::temp_dir().join(format!("kas-graph-cpu-{}-given", std::process::id()));
    let got = run_on_cpu(&scheduled.program, &program_tensors(&x, &w), &dir).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let e = got.rel_err(&want);
    assert!(e < 1e-4, "error {e:.2e}");
    let k = linear[0];
    let mut wrong = given.clone();
    wrong[k] = Some(Schedule::direct(ir(k).stages.len() + 1));
    assert!(generate_graph_scheduled(&g, b, &wrong).is_err());
}

#[test]
fn long_folds_run_one_block_per_result_and_match() {
    // At H = 24 both folds of the hand-built kernel (the SE mean and the max) reduce 576
    // elements: one block per result, a tree in shared memory; still exact, epilogues and
    // prologues included.
    let mut g = hand_built();
    let Some((kas_primitives::VarKind::Primary, h)) = g.vars.lookup("H") else {
        panic!("H is a primary variable");
    };
    g.bindings[0].primary[h] = 24;
    let (e, gp) = error_of(&g, LinearSchedule::Heuristic, "blocks");
    assert!(e < 1e-4, "error {e:.2e}\n{}", gp.program.source);
    assert_eq!(
        gp.program.source.matches("__shared__ float red[").count(),
        2
    );
    let folds: Vec<_> = gp
        .program
        .kernels
        .iter()
        .filter(|k| {
            let body = gp.program.source.split(&format!("void {}(", k.name)).nth(1);
            body.is_some_and(|b| b.split("extern").next().unwrap().contains("red["))
        })
        .collect();
    assert_eq!(folds.len(), 2);
    for k in folds {
        assert_eq!(
            u64::from(k.grid),
            k.out_elems,
            "one block per result: {}",
            k.name
        );
    }
}

#[test]
fn large_products_run_tiled_and_match() {
    // Channel-by-channel products over H·W = 81 positions at C = 40 (M = N = 40, K = 81) run
    // tiled through shared memory; sampled kernels holding one agree with the interpreter.
    const BIG: &str = r#"(
        kind: "kas-spec",
        version: 1,
        name: "big",
        input: "[N, C_in: unordered, H, H]",
        output: "[N, C_out: unordered, H, H]",
        variables: (primary: ["N", "C_in", "C_out", "H"], coefficient: ["k=3", "g=2"]),
        fixed: [(0, 0)],
        bindings: [(name: "a", values: {"N": 2, "C_in": 40, "C_out": 40, "H": 9})],
    )"#;
    let slot = Slot::from_spec(&Spec::read(BIG, "big.ron").unwrap()).unwrap();
    let r = sample_on(2, &slot, &SampleConfig::default(), 120, 3, "big").unwrap();
    let tiled: Vec<GraphKernel> = r
        .kernels
        .into_iter()
        .map(|(g, _)| g)
        .filter(|g| {
            generate_graph(g, &g.bindings[0], LinearSchedule::Heuristic)
                .unwrap()
                .program
                .source
                .contains("__shared__ float ta[")
        })
        .take(3)
        .collect();
    assert!(!tiled.is_empty(), "no sampled kernel has a tiled product");
    for (i, g) in tiled.iter().enumerate() {
        let (e, gp) = error_of(g, LinearSchedule::Heuristic, &format!("tiled{i}"));
        assert!(e < 1e-4, "error {e:.2e}\n{}", gp.program.source);
    }
}
