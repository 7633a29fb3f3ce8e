//! Completeness: known operators are found in the DAG by replaying a path to them, step by
//! step through the children the generator offers and the relaxed feasibility test accepts
//! (Syno's `convert_to_path` idea), and the operator at the end of the path matches a
//! hand-built one (same tensors' shapes, same steps, same FLOPs).
//!
//! Covered: conv2d, pointwise, grouped (cnn-small), depthwise and dilated (specs of their own
//! under `tests/specs/`: equal channels; even H, a dilation variable, two Merges), GPT-2 tied
//! QKV (gpt-qkv with the size enumeration widened, see its test), depthwise-separable (a spec
//! of its own: two weights holding C_in, a channel multiplier), and Syno's Operator 1 and
//! Operator 2 in resnet18-conv's own DAG (the spec and budgets of the experiment unchanged).

mod common;

use kas_primitives::{Axis, Builder, Operator, Plan, Size};
use kas_synth::{Child, Dag, Node, StepKind, StepType};
use std::sync::Arc;

/// The child of `node` of type `t` whose state satisfies `pred`.
fn follow(dag: &Dag, node: &Arc<Node>, t: StepType, pred: impl Fn(&Node) -> bool) -> Arc<Node> {
    dag.children(node)
        .iter()
        .find_map(|(ty, c)| match c {
            Child::Node(n) if *ty == t && pred(n) && dag.feasible(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap_or_else(|| {
            let vars = &dag.cfg.spec.vars;
            let f: Vec<String> = node
                .state
                .dims
                .iter()
                .map(|d| format!("{}:{}:{}", d.size.display(vars), d.weights, d.height))
                .collect();
            let kids: Vec<String> = dag
                .children(node)
                .iter()
                .map(|(t, c)| match c {
                    Child::Node(n) => format!(
                        "{t:?}{:?}",
                        n.state
                            .dims
                            .iter()
                            .map(|d| d.size.display(vars))
                            .collect::<Vec<_>>()
                    ),
                    Child::Leaf(_) => format!("{t:?}"),
                })
                .collect();
            panic!(
                "no {t:?} child as required at depth {} frontier {f:?} children {kids:?} dist {:?}",
                node.state.depth,
                kas_synth::shape_distance(&dag.cfg, &node.state)
            )
        })
}

fn size(dag: &Dag, s: &str) -> Size {
    dag.cfg.spec.vars.size(s).unwrap()
}

/// Adds the reductions (a multiset: in candidate order) and ends the reduction stage.
fn reductions(dag: &Dag, node: &Arc<Node>, sizes: &[&str]) -> Arc<Node> {
    let mut zs: Vec<Size> = sizes.iter().map(|s| size(dag, s)).collect();
    zs.sort_by_key(|z| dag.cfg.candidates.iter().position(|c| c == z).unwrap());
    let mut n = node.clone();
    for z in zs {
        n = follow(dag, &n, StepType::Reduce, |x| {
            x.state.reductions.last() == Some(&z)
        });
    }
    follow(dag, &n, StepType::EndReductions, |_| true)
}

/// Kinds of steps, sorted, and tensor shapes, sorted per tensor.
fn signature(op: &Operator) -> (Vec<&'static str>, Vec<Vec<Size>>) {
    let mut kinds: Vec<_> = op.ops.iter().map(|o| o.kind()).collect();
    kinds.sort();
    let mut shapes: Vec<Vec<Size>> = (0..op.tensor_count())
        .map(|t| {
            let mut s = op.tensor_shape(t);
            s.sort();
            s
        })
        .collect();
    shapes[1..].sort();
    (kinds, shapes)
}

/// Finds a leaf below `node` matching `expected` and checks it.
fn assert_leaf_matches(dag: &Dag, node: &Arc<Node>, expected: &Operator) {
    let want = signature(expected);
    let flops = Plan::with_bindings(expected, dag.cfg.bindings())
        .unwrap()
        .total_flops() as f64;
    let found = dag.children(node).iter().any(|(t, c)| match c {
        Child::Leaf(l) if *t == StepType::Finalize => signature(&l.op) == want && l.flops == flops,
        _ => false,
    });
    assert!(found, "no finalization matches the hand-built operator");
}

fn builder(dag: &Dag) -> Builder {
    let spec = &dag.cfg.spec;
    Builder::new(spec.vars.clone(), spec.bindings.clone()).unwrap()
}

#[test]
fn conv2d_is_reachable() {
    let dag = common::dag("cnn-small.ron");
    let root = dag.root().clone();
    let n = reductions(&dag, &root, &["C_in", "k_1", "k_1"]);
    let c_out = size(&dag, "C_out");
    // One weight: creates C_out, shares C_in, k, k.
    let n = follow(&dag, &n, StepType::Contract, |x| {
        x.state.dims.len() == 5
            && !x.state.dims.iter().any(|d| d.size == c_out)
            && x.state
                .dims
                .iter()
                .all(|d| (d.weights != 0) == d.only_reduce())
    });
    let n = follow(&dag, &n, StepType::Unfold, |_| true);
    let n = follow(&dag, &n, StepType::Unfold, |_| true);
    let mut b = builder(&dag);
    let x = b.input(["N", "C_in", "H", "H"]).unwrap();
    let (h, kh) = b.unfold(x[2], "k_1").unwrap();
    let (w, kw) = b.unfold(x[3], "k_1").unwrap();
    let s = b
        .contract(&[
            Axis::Create("C_out".into()),
            Axis::Share(x[1]),
            Axis::Share(kh),
            Axis::Share(kw),
        ])
        .unwrap();
    for &d in &s[1..] {
        b.reduce(d).unwrap();
    }
    let conv = b.finish(&[x[0], s[0], h, w]).unwrap();
    assert_leaf_matches(&dag, &n, &conv);
}

#[test]
fn pointwise_is_reachable() {
    let dag = common::dag("cnn-small.ron");
    let root = dag.root().clone();
    let n = reductions(&dag, &root, &["C_in"]);
    let c_out = size(&dag, "C_out");
    let n = follow(&dag, &n, StepType::Contract, |x| {
        !x.state.dims.iter().any(|d| d.size == c_out)
    });
    let mut b = builder(&dag);
    let x = b.input(["N", "C_in", "H", "H"]).unwrap();
    let s = b
        .contract(&[Axis::Create("C_out".into()), Axis::Share(x[1])])
        .unwrap();
    b.reduce(s[1]).unwrap();
    let op = b.finish(&[x[0], s[0], x[2], x[3]]).unwrap();
    assert_leaf_matches(&dag, &n, &op);
}

#[test]
fn grouped_conv_is_reachable() {
    // Y[n, γ·C_out/g + o, h, w] = Σ_{c,b} X[n, γ·C_in/g + c, h, ⟨w+b−k/2⟩]·W[γ·C_in/g + c, o, b]
    // (a 1×k grouped conv; the weight's (γ, c) axes form one C_in axis). Bottom-up: Merge
    // C_out into (g, C_out/g), Split g with the reduction C_in/g into C_in, one weight sharing
    // C_in and k and creating C_out/g, then the Unfold.
    let dag = common::dag("cnn-small.ron");
    let root = dag.root().clone();
    let n = reductions(&dag, &root, &["C_in/g", "k_1"]);
    let g = size(&dag, "g");
    let n = follow(&dag, &n, StepType::Merge, |x| {
        x.state.dims.iter().any(|d| d.size == g)
    });
    let c_in = size(&dag, "C_in");
    let n = follow(&dag, &n, StepType::Split, |x| {
        x.state.dims.iter().any(|d| d.size == c_in)
    });
    let c_out_g = size(&dag, "C_out/g");
    let n = follow(&dag, &n, StepType::Contract, |x| {
        !x.state.dims.iter().any(|d| d.size == c_out_g)
            && x.state
                .dims
                .iter()
                .all(|d| (d.weights != 0) == (d.size != size(&dag, "H")))
    });
    let n = follow(&dag, &n, StepType::Unfold, |_| true);
    let mut b = builder(&dag);
    let x = b.input(["N", "C_in", "H", "H"]).unwrap();
    let (w, kw) = b.unfold(x[3], "k_1").unwrap();
    let s = b
        .contract(&[
            Axis::Share(x[1]),
            Axis::Create("C_out/g".into()),
            Axis::Share(kw),
        ])
        .unwrap();
    let (grp, c) = b.split(s[0], "C_in/g").unwrap();
    let o = b.merge(grp, s[1]).unwrap();
    b.reduce(c).unwrap();
    b.reduce(s[2]).unwrap();
    let op = b.finish(&[x[0], o, x[2], w]).unwrap();
    assert_leaf_matches(&dag, &n, &op);
}

/// The DAG of a spec of `synth/tests/specs/`.
fn test_dag(name: &str) -> Dag {
    common::dag_with(
        &format!("tests/specs/{name}"),
        kas_synth::Filters::default(),
        |_| {},
    )
}

#[test]
fn depthwise_conv_is_reachable() {
    // Output channels equal input channels (a spec of its own): one weight sharing C, k, k.
    let dag = test_dag("depthwise-small.ron");
    let root = dag.root().clone();
    let n = reductions(&dag, &root, &["k_1", "k_1"]);
    let h = size(&dag, "H");
    let n = follow(&dag, &n, StepType::Contract, |x| {
        x.state.dims.len() == 5
            && x.state
                .dims
                .iter()
                .all(|d| (d.weights != 0) == (d.size != h))
    });
    let n = follow(&dag, &n, StepType::Unfold, |_| true);
    let n = follow(&dag, &n, StepType::Unfold, |_| true);
    let mut b = builder(&dag);
    let x = b.input(["N", "C_in", "H", "H"]).unwrap();
    let (ho, kh) = b.unfold(x[2], "k_1").unwrap();
    let (wo, kw) = b.unfold(x[3], "k_1").unwrap();
    let s = b
        .contract(&[Axis::Share(x[1]), Axis::Share(kh), Axis::Share(kw)])
        .unwrap();
    b.reduce(s[1]).unwrap();
    b.reduce(s[2]).unwrap();
    let op = b.finish(&[x[0], s[0], ho, wo]).unwrap();
    assert_leaf_matches(&dag, &n, &op);
}

#[test]
fn dilated_conv_is_reachable() {
    // Per spatial axis, bottom-up: Merge H into (H/s, s), Unfold the H/s piece with a k
    // window, Split the two back into H (the library's Split(s) → Unfold → Merge read from
    // the output). Both Merges come before the weight (after it, views must touch the
    // weight's dims), the Unfolds after it (their windows pass through the weight). A spec of
    // its own: even H, a dilation variable and two Merges.
    let dag = test_dag("dilated-small.ron");
    let root = dag.root().clone();
    let n = reductions(&dag, &root, &["C_in", "k_1", "k_1"]);
    let h = size(&dag, "H");
    let hs = size(&dag, "H/s");
    let count = |x: &Node, z: Size| x.state.dims.iter().filter(|d| d.size == z).count();
    let n = follow(&dag, &n, StepType::Merge, |x| count(x, hs) == 1);
    let n = follow(&dag, &n, StepType::Merge, |x| count(x, hs) == 2);
    let c_out = size(&dag, "C_out");
    let mut n = follow(&dag, &n, StepType::Contract, |x| {
        !x.state.dims.iter().any(|d| d.size == c_out)
            && x.state
                .dims
                .iter()
                .all(|d| (d.weights != 0) == d.only_reduce())
    });
    for axis in 0..2 {
        let k = size(&dag, "k_1");
        n = follow(&dag, &n, StepType::Unfold, |x| count(x, k) == 1 - axis);
        n = follow(&dag, &n, StepType::Split, |x| count(x, h) == axis + 1);
    }
    let mut b = builder(&dag);
    let x = b.input(["N", "C_in", "H", "H"]).unwrap();
    let mut outs = Vec::new();
    let mut taps = Vec::new();
    for d in [x[2], x[3]] {
        let (q, r) = b.split(d, "s").unwrap();
        let (q2, k) = b.unfold(q, "k_1").unwrap();
        outs.push(b.merge(q2, r).unwrap());
        taps.push(k);
    }
    let s = b
        .contract(&[
            Axis::Create("C_out".into()),
            Axis::Share(x[1]),
            Axis::Share(taps[0]),
            Axis::Share(taps[1]),
        ])
        .unwrap();
    for &d in &s[1..] {
        b.reduce(d).unwrap();
    }
    let op = b.finish(&[x[0], s[0], outs[0], outs[1]]).unwrap();
    assert_leaf_matches(&dag, &n, &op);
}

#[test]
fn gpt2_qkv_tied_is_reachable() {
    // Y[n,l,α·k·G+β·G+γ] = Σ_j X[n,l,β·H_in/k+j]·W[α,j,γ], G = H_in/(k⁴t). Bottom-up: Merge
    // the output into (α, k·G), Merge k·G into (β, G) (the bracketing the exact
    // merge_chain_outer rule keeps), one weight creating α and G and sharing the reduction j,
    // then Split β with j into H_in. The spec cannot name the Merge block G = H_in/(k⁴t):
    // its `max_enumerations_per_var` (5) allows coefficient exponents −2..2 and k's allowance
    // (3) caps |exponent| at 3; the test widens them to 9 and 4.
    let dag = common::dag_with("gpt-qkv.ron", kas_synth::Filters::default(), |s| {
        s.budgets.max_enumerations_per_var = 9;
        let k = s.vars.coefficient.iter_mut().find(|v| v.name == "k_1");
        k.unwrap().max_occurrences = Some(4);
    });
    let root = dag.root().clone();
    let n = reductions(&dag, &root, &["H_in/k_1"]);
    let ab = size(&dag, "k_1^3*t^2");
    let g = size(&dag, "H_in/(k_1^4*t)");
    let k = size(&dag, "k_1");
    // A Merge's above port 0 is the group (outer piece), port 1 the block.
    let piece = |x: &Node, z: Size, port: u8| {
        x.state
            .dims
            .iter()
            .any(|d| d.size == z && d.step().is_some_and(|(_, p)| p == port))
    };
    let n = follow(&dag, &n, StepType::Merge, |x| piece(x, ab, 0));
    let n = follow(&dag, &n, StepType::Merge, |x| {
        piece(x, ab, 0) && piece(x, k, 0) && piece(x, g, 1)
    });
    let n = follow(&dag, &n, StepType::Contract, |x| x.state.dims.len() == 2);
    let n = follow(&dag, &n, StepType::Split, |_| true);
    let mut b = builder(&dag);
    let x = b.input(["N", "seq_len", "H_in"]).unwrap();
    let (beta, j) = b.split(x[2], "H_in/k_1").unwrap();
    let s = b
        .contract(&[
            Axis::Create("k_1^3*t^2".into()),
            Axis::Share(j),
            Axis::Create("H_in/(k_1^4*t)".into()),
        ])
        .unwrap();
    b.reduce(s[1]).unwrap();
    let ab = b.merge(s[0], beta).unwrap();
    let o = b.merge(ab, s[2]).unwrap();
    let op = b.finish(&[x[0], x[1], o]).unwrap();
    assert_leaf_matches(&dag, &n, &op);
}

/// Sizes of the frontier dims of `x` that weight `w` (0-based) reaches, sorted.
fn weighted(x: &Node, w: u8) -> Vec<Size> {
    let mut v: Vec<Size> = x
        .state
        .dims
        .iter()
        .filter(|d| d.weights & (1 << w) != 0)
        .map(|d| d.size)
        .collect();
    v.sort();
    v
}

fn sorted(dag: &Dag, names: &[&str]) -> Vec<Size> {
    let mut v: Vec<Size> = names.iter().map(|s| size(dag, s)).collect();
    v.sort();
    v
}

#[test]
fn syno_operator_2_is_reachable() {
    // Y[n,o,h,w] = Σ_{γ,c,a,b,μ} X[n, γ·C_in/g + c, σ(⟨h+a−1⟩), ⟨w+b−1⟩]·A[γ,a,o,μ]·B[γ·C_in/g + c, b, μ]
    // with μ < C_out/(g·s) (docs/ARCHITECTURE.md, "Syno's operators"), in resnet18-conv's own
    // DAG. Bottom-up: the five reductions; A creates C_out and shares γ, a, μ; the H Unfold
    // takes a as its window, then the Shift; Split γ with c into C_in; B shares C_in and b and
    // takes μ as its weight-sharing (low-rank) axis: μ is 1..8 across the bindings, its largest
    // value 8 lies in the spec's weight_sharing_size [8, 8]; the W Unfold takes b.
    let dag = common::dag("resnet18-conv.ron");
    let root = dag.root().clone();
    let mu = "C_out/(g*s)";
    let n = reductions(&dag, &root, &["g", "C_in/g", "k_1", "k_1", mu]);
    let c_out = size(&dag, "C_out");
    let a_axes = sorted(&dag, &["g", "k_1", mu]);
    let n = follow(&dag, &n, StepType::Contract, |x| {
        !x.state.dims.iter().any(|d| d.size == c_out) && weighted(x, 0) == a_axes
    });
    let h_axes = sorted(&dag, &["g", "H", mu]);
    let n = follow(&dag, &n, StepType::Unfold, |x| weighted(x, 0) == h_axes);
    let n = follow(&dag, &n, StepType::Shift, |x| {
        x.state
            .dims
            .iter()
            .any(|d| d.weights != 0 && d.step().is_some_and(|(s, _)| s.kind == StepKind::Shift))
    });
    let c_in = size(&dag, "C_in");
    let n = follow(&dag, &n, StepType::Split, |x| {
        x.state.dims.iter().any(|d| d.size == c_in)
    });
    let b_axes = sorted(&dag, &["C_in", "k_1"]);
    let mu_size = size(&dag, mu);
    let n = follow(&dag, &n, StepType::Contract, |x| {
        weighted(x, 1) == b_axes && !x.state.dims.iter().any(|d| d.size == mu_size)
    });
    let n = follow(&dag, &n, StepType::Unfold, |_| true);
    let mut b = builder(&dag);
    let x = b.input(["N", "C_in", "H", "H"]).unwrap();
    let sh = b.shift(x[2], 1).unwrap();
    let (h, ka) = b.unfold(sh, "k_1").unwrap();
    let (w, kb) = b.unfold(x[3], "k_1").unwrap();
    let s1 = b
        .contract(&[Axis::Share(x[1]), Axis::Share(kb), Axis::Create(mu.into())])
        .unwrap();
    b.reduce(s1[1]).unwrap();
    let (grp, c) = b.split(s1[0], "C_in/g").unwrap();
    b.reduce(c).unwrap();
    let s2 = b
        .contract(&[
            Axis::Share(grp),
            Axis::Share(ka),
            Axis::Create("C_out".into()),
            Axis::Share(s1[2]),
        ])
        .unwrap();
    for &d in &[s2[0], s2[1], s2[3]] {
        b.reduce(d).unwrap();
    }
    let op = b.finish(&[x[0], s2[2], h, w]).unwrap();
    assert_leaf_matches(&dag, &n, &op);
}

#[test]
fn syno_operator_1_is_reachable() {
    // Y[n,o,h,w] = Σ_{γ,c,a,b,μ} X[n, γ·C_in/g + c, ⟨h+a−1⟩, ⟨w+b−1⟩]·A[γ,a,b,o,μ]·B[γ·C_in/g + c, b, μ]
    // (docs/ARCHITECTURE.md, "Syno's operators"), in resnet18-conv's own DAG. As Operator 2
    // without the Shift, but A (five axes: `generate::MAX_WEIGHT_AXES`) also shares the W tap
    // b, which B shares again.
    let dag = common::dag("resnet18-conv.ron");
    let root = dag.root().clone();
    let mu = "C_out/(g*s)";
    let n = reductions(&dag, &root, &["g", "C_in/g", "k_1", "k_1", mu]);
    let c_out = size(&dag, "C_out");
    let a_axes = sorted(&dag, &["g", "k_1", "k_1", mu]);
    let n = follow(&dag, &n, StepType::Contract, |x| {
        !x.state.dims.iter().any(|d| d.size == c_out) && weighted(x, 0) == a_axes
    });
    let h_axes = sorted(&dag, &["g", "H", "k_1", mu]);
    let n = follow(&dag, &n, StepType::Unfold, |x| weighted(x, 0) == h_axes);
    let c_in = size(&dag, "C_in");
    let n = follow(&dag, &n, StepType::Split, |x| {
        x.state.dims.iter().any(|d| d.size == c_in)
    });
    let b_axes = sorted(&dag, &["C_in", "k_1"]);
    let mu_size = size(&dag, mu);
    let n = follow(&dag, &n, StepType::Contract, |x| {
        weighted(x, 1) == b_axes && !x.state.dims.iter().any(|d| d.size == mu_size)
    });
    let n = follow(&dag, &n, StepType::Unfold, |_| true);
    let mut b = builder(&dag);
    let x = b.input(["N", "C_in", "H", "H"]).unwrap();
    let (h, ka) = b.unfold(x[2], "k_1").unwrap();
    let (w, kb) = b.unfold(x[3], "k_1").unwrap();
    let s1 = b
        .contract(&[Axis::Share(x[1]), Axis::Share(kb), Axis::Create(mu.into())])
        .unwrap();
    let (grp, c) = b.split(s1[0], "C_in/g").unwrap();
    b.reduce(c).unwrap();
    let s2 = b
        .contract(&[
            Axis::Share(grp),
            Axis::Share(ka),
            Axis::Share(s1[1]),
            Axis::Create("C_out".into()),
            Axis::Share(s1[2]),
        ])
        .unwrap();
    for &d in &[s2[0], s2[1], s2[2], s2[4]] {
        b.reduce(d).unwrap();
    }
    let op = b.finish(&[x[0], s2[3], h, w]).unwrap();
    assert_leaf_matches(&dag, &n, &op);
}

#[test]
fn separable_conv_is_reachable() {
    // Depthwise k×k with channel multiplier g, then pointwise:
    // Y[n,o,h,w] = Σ_{c,μ,a,b} X[n,c,⟨h+a−1⟩,⟨w+b−1⟩]·D[c,a,b,μ]·P[c,μ,o]. Bottom-up: P creates
    // C_out and shares the reductions C_in and μ; D shares C_in and both taps and takes μ as its
    // weight-sharing axis (so D looks like a matmul, as Syno requires); then the Unfolds. A spec
    // of its own: both weights hold a C_in axis (three C_in occurrences with the reduction) and
    // there are four reductions.
    let dag = test_dag("separable-small.ron");
    let root = dag.root().clone();
    let n = reductions(&dag, &root, &["C_in", "k_1", "k_1", "g"]);
    let c_out = size(&dag, "C_out");
    let p_axes = sorted(&dag, &["C_in", "g"]);
    let n = follow(&dag, &n, StepType::Contract, |x| {
        !x.state.dims.iter().any(|d| d.size == c_out) && weighted(x, 0) == p_axes
    });
    let d_axes = sorted(&dag, &["C_in", "k_1", "k_1"]);
    let g = size(&dag, "g");
    let n = follow(&dag, &n, StepType::Contract, |x| {
        weighted(x, 1) == d_axes && !x.state.dims.iter().any(|d| d.size == g)
    });
    let n = follow(&dag, &n, StepType::Unfold, |_| true);
    let n = follow(&dag, &n, StepType::Unfold, |_| true);
    let mut b = builder(&dag);
    let x = b.input(["N", "C_in", "H", "H"]).unwrap();
    let (h, ka) = b.unfold(x[2], "k_1").unwrap();
    let (w, kb) = b.unfold(x[3], "k_1").unwrap();
    let s1 = b
        .contract(&[
            Axis::Share(x[1]),
            Axis::Share(ka),
            Axis::Share(kb),
            Axis::Create("g".into()),
        ])
        .unwrap();
    b.reduce(s1[1]).unwrap();
    b.reduce(s1[2]).unwrap();
    let s2 = b
        .contract(&[
            Axis::Share(s1[0]),
            Axis::Share(s1[3]),
            Axis::Create("C_out".into()),
        ])
        .unwrap();
    b.reduce(s2[0]).unwrap();
    b.reduce(s2[1]).unwrap();
    let op = b.finish(&[x[0], s2[2], h, w]).unwrap();
    assert_leaf_matches(&dag, &n, &op);
}
