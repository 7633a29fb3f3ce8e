use super::slot;
use crate::interp::{evaluate, random_weights};
use crate::sample::{SampleConfig, sample};
use kas_primitives::Tensor;

fn run(threads: usize, n: usize, seed: u64) -> crate::sample::SampleReport {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| sample(&slot(), &SampleConfig::default(), n, seed, "t").unwrap())
}

#[test]
fn sampling_is_deterministic_across_thread_counts() {
    let a = run(1, 40, 7);
    let b = run(2, 40, 7);
    assert_eq!(a.legal, b.legal);
    assert_eq!(a.failures, b.failures);
    let ha: Vec<_> = a.kernels.iter().map(|k| k.1).collect();
    let hb: Vec<_> = b.kernels.iter().map(|k| k.1).collect();
    assert_eq!(ha, hb);
    let texts = |r: &crate::sample::SampleReport| -> Vec<String> {
        r.kernels
            .iter()
            .map(|(g, _)| crate::write_graph(g, "").unwrap())
            .collect()
    };
    assert_eq!(texts(&a), texts(&b));
    let c = run(2, 40, 8);
    assert_ne!(ha, c.kernels.iter().map(|k| k.1).collect::<Vec<_>>());
}

#[test]
fn most_descents_reach_a_legal_kernel_that_evaluates() {
    let r = run(2, 60, 1);
    assert_mostly_legal(&r);
    assert!(
        r.kernels.len() * 2 >= r.legal,
        "only {} distinct of {}",
        r.kernels.len(),
        r.legal
    );
    let s = slot();
    let mut kinds = std::collections::BTreeSet::new();
    for (g, _) in &r.kernels {
        g.validate().unwrap();
        assert_eq!(g.shape(g.output), &s.output_shape()[..]);
        assert!(g.linear_count() >= 1);
        for n in &g.nodes {
            kinds.insert(n.op.kind());
        }
        let b = &g.bindings[1];
        let x = Tensor::random(&g.concrete(g.input(), b).unwrap(), 2);
        let y = evaluate(g, b, &x, &random_weights(g, b, 1).unwrap()).unwrap();
        assert_eq!(y.shape, g.concrete(g.output, b).unwrap());
    }
    for k in ["linear", "fold", "softmax", "blend", "bmm"] {
        assert!(
            kinds.contains(k),
            "no {k} node in {} kernels",
            r.kernels.len()
        );
    }
}

#[test]
fn tight_windows_are_met_by_construction() {
    // A window no kernel of one FC reaches: the descents must lift their cost with weighted
    // moves and stay under the ceilings while doing so.
    let s = slot();
    let cfg = SampleConfig {
        flops_ratio: (0.3, 0.6),
        params_ratio: (0.3, 0.6),
        ..SampleConfig::default()
    };
    let r = crate::sample::sample_on(2, &s, &cfg, 60, 4, "t").unwrap();
    assert_mostly_legal(&r);
    for (g, _) in &r.kernels {
        let c = crate::cost::kernel_cost(g);
        let (f, p) = (c.flops / s.reference.flops, c.params / s.reference.params);
        assert!((0.3..=0.6).contains(&f), "flops ratio {f}");
        assert!((0.3..=0.6).contains(&p), "params ratio {p}");
        assert!(g.nodes.len() - 1 <= cfg.max_nodes);
    }
    // Without the lift, fewer descents reach the floors.
    let plain = SampleConfig {
        lift_attempts: 0,
        ..cfg
    };
    let q = crate::sample::sample_on(2, &s, &plain, 60, 4, "t").unwrap();
    assert!(
        q.legal < r.legal,
        "{} without lifting, {} with",
        q.legal,
        r.legal
    );
}

/// Whether a linear node of `g` on a 4-axis value changes its `H` or `W` axis (a convolution
/// unfolds it, a shift or an FC along it replaces it): the kernel mixes neighbouring positions.
fn mixes_positions(g: &crate::GraphKernel) -> bool {
    g.nodes.iter().any(|n| match &n.op {
        crate::NodeOp::Linear(op) => {
            op.input.len() == 4 && op.input[2..].iter().any(|d| !op.outputs.contains(d))
        }
        _ => false,
    })
}

#[test]
fn spatial_mixing_puts_a_spatial_node_in_every_kernel() {
    let s = slot();
    let cfg = SampleConfig {
        spatial_mixing: true,
        ..SampleConfig::default()
    };
    let r = crate::sample::sample_on(2, &s, &cfg, 80, 9, "t").unwrap();
    assert_mostly_legal(&r);
    assert!(!r.kernels.is_empty());
    for (g, _) in &r.kernels {
        assert!(mixes_positions(g), "no spatial node in\n{g:?}");
    }
    // Without the option some kernels mix positions only globally (or not at all), so the
    // check above has something to catch.
    let plain = crate::sample::sample_on(2, &s, &SampleConfig::default(), 80, 9, "t").unwrap();
    assert!(
        plain.kernels.iter().any(|(g, _)| !mixes_positions(g)),
        "every default kernel mixes positions"
    );
}

/// At least half of the run's descents reached a legal kernel (the sampler's target).
fn assert_mostly_legal(r: &crate::sample::SampleReport) {
    assert!(
        2 * r.legal >= r.descents,
        "legal {} of {}: {:?}",
        r.legal,
        r.descents,
        r.failures
    );
}
