//! The pruning bounds are admissible: on thousands of random leaves, every ancestor's shape
//! distance is at most the steps the leaf actually took from it, the FLOPs lower bound is at
//! most the leaf's FLOPs and the upper bound (after the reduction stage) at least, and the
//! relaxed feasibility test accepts every ancestor.

mod common;

use kas_synth::{Feasibility, descend, flops_lower_bound, flops_upper_bound, shape_distance};

#[test]
fn bounds_hold_on_every_ancestor_of_random_leaves() {
    let dag = common::dag("cnn-small.ron");
    let fresh = Feasibility::default();
    let mut leaves = 0;
    for i in 0..2000u64 {
        let d = descend(&dag, 11, i, i);
        let Some(leaf) = d.leaf else { continue };
        leaves += 1;
        assert!(flops_lower_bound(&dag.cfg) <= leaf.flops);
        for node in &d.path {
            let st = &node.state;
            let remaining = (leaf.depth - st.depth) as u32;
            let dist = shape_distance(&dag.cfg, st).expect("an ancestor of a leaf is finishable");
            assert!(
                dist <= remaining,
                "distance {dist} > {remaining} remaining steps"
            );
            assert!(
                fresh.feasible(&dag.cfg, st),
                "relaxation rejects an ancestor of a leaf"
            );
            if !st.reducing {
                let ub = flops_upper_bound(&dag.cfg, st);
                assert!(
                    ub >= leaf.flops,
                    "upper bound {ub} < {}: {:?}",
                    leaf.flops,
                    kas_primitives::Plan::with_bindings(&leaf.op, dag.cfg.bindings())
                        .map(|p| (p.total_flops(), p.total_naive_flops()))
                );
            }
        }
        assert_eq!(d.path.last().unwrap().state.depth, leaf.depth);
    }
    assert!(
        leaves >= 1500,
        "only {leaves} of 2000 descents reached a leaf"
    );
}
