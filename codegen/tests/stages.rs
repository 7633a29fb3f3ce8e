//! The stage IR computes what the reference interpreter computes, on the library and on random
//! operators; its FLOPs never exceed the naive loop nest's.

use kas_codegen::StageIr;
use kas_codegen::stage_eval::run_stages;
use kas_primitives::interp::{interpret, random_inputs};
use kas_primitives::random::{RandomConfig, random_operator};
use kas_primitives::{Operator, Plan, library};

fn check(name: &str, op: &Operator) {
    let ir = StageIr::lower(op).unwrap_or_else(|e| panic!("{name}: {e}"));
    let plan = Plan::of(op).unwrap();
    assert_eq!(ir.flops(), plan.flops, "{name}");
    // One plan serves every binding: it minimises the sum, so the sum never exceeds the naive
    // loop nest's (a single binding may).
    let (f, n) = (plan.total_flops(), plan.total_naive_flops());
    assert!(f <= n, "{name}: staged {f} > naive {n}");
    for (i, b) in op.bindings.iter().enumerate() {
        let xs = random_inputs(op, b, 100 + i as u64, false).unwrap();
        let want = interpret(op, b, &xs).unwrap();
        let got = run_stages(&ir, b, &xs).unwrap();
        assert_eq!(got.shape, want.shape, "{name}");
        let err = got.rel_err(&want);
        assert!(
            err < 1e-12,
            "{name} under {}: err {err}\n{}",
            b.name,
            ir.display()
        );
    }
}

#[test]
fn library_operators_lower_exactly() {
    for e in library::entries() {
        check(e.name, &(e.build)().unwrap());
    }
}

#[test]
fn random_operators_lower_exactly() {
    let cfg = RandomConfig::default();
    for seed in 0..1000 {
        let op = random_operator(seed, &cfg);
        check(&format!("random seed {seed}"), &op);
    }
}

#[test]
fn syno_operator_2_is_two_stages_with_the_h_window_kept_folded() {
    let op = (library::get("syno-op2").unwrap().build)().unwrap();
    let ir = StageIr::lower(&op).unwrap();
    assert_eq!(ir.stages.len(), 2, "{}", ir.display());
    // The first stage (input × B) needs no H window: its only guard is the W window's.
    assert_eq!(ir.stages[0].guards.len(), 1, "{}", ir.display());
    assert_eq!(ir.stages[1].guards.len(), 1, "{}", ir.display());
}

#[test]
fn a_strided_broadcast_is_applied_by_one_stage_only() {
    // Found by `kas verify --device cuda` on the H100 (random-359): an Expand → Stride chain
    // shared with a later weight was applied in two sibling stages, so the last stage could not
    // reach the strided dim.
    let op = random_operator(359, &RandomConfig::default());
    check("random-359", &op);
}
