//! Every sampled operator is valid: it passes the builder's checks, its FLOPs lie in the
//! window, and the reference interpreter runs it with the declared shapes.

mod common;

use kas_primitives::interp::{interpret, random_inputs};
use kas_primitives::{Plan, VarKind};
use kas_synth::{RunOptions, sample};

#[test]
fn a_thousand_samples_from_cnn_small_are_valid() {
    let dag = common::dag("cnn-small.ron");
    let opts = RunOptions {
        count: Some(1000),
        threads: 2,
        ..RunOptions::default()
    };
    let (leaves, report) = sample(&dag, &opts).unwrap();
    assert_eq!(leaves.len(), 1000, "stopped early: {:?}", report.stop);
    let spec = &dag.cfg.spec;
    let (lo, hi) = spec.budgets.flops;
    let small = &spec.bindings[0];
    let mut hashes = std::collections::HashSet::new();
    for leaf in &leaves {
        let op = &leaf.op;
        op.validate().unwrap();
        assert!(hashes.insert(op.structural_hash()), "duplicate operator");
        assert_eq!(op.structural_hash(), leaf.hash);
        let flops = Plan::with_bindings(op, &spec.bindings)
            .unwrap()
            .total_flops() as f64;
        assert!(
            flops >= lo && flops <= hi,
            "FLOPs {flops} outside [{lo}, {hi}]"
        );
        assert!(op.weights.len() < spec.budgets.max_tensors as usize);
        // Declared shapes: the spec's input and output.
        let input: Vec<_> = spec.input.iter().map(|d| d.size).collect();
        let output: Vec<_> = spec.output.iter().map(|d| d.size).collect();
        assert_eq!(op.tensor_shape(0), input);
        assert_eq!(op.output_shape(), output);
        let tensors = random_inputs(op, small, 7, true).unwrap();
        let out = interpret(op, small, &tensors).unwrap();
        let expect: Vec<usize> = output
            .iter()
            .map(|s| s.eval(small).unwrap() as usize)
            .collect();
        assert_eq!(out.shape, expect);
    }
    // The variables of the spec are kept as they are.
    assert_eq!(leaves[0].op.vars, spec.vars);
    assert!(spec.vars.lookup("C_in") == Some((VarKind::Primary, 1)));
}
