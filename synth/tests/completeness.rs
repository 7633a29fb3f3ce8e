//! Completeness: known operators are found in the DAG by replaying a path to them, step by
//! step through the children the generator offers and the relaxed feasibility test accepts
//! (Syno's `convert_to_path` idea), and the operator at the end of the path matches a
//! hand-built one (same tensors' shapes, same steps, same FLOPs).

mod common;

use kas_primitives::{Axis, Builder, Operator, Plan, Size};
use kas_synth::Dag;
use kas_synth::dag::{Child, Node};
use kas_synth::generate::StepType;
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
                kas_synth::distance::shape_distance(&dag.cfg, &node.state)
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
