//! The contraction planner on the library: staged FLOPs of known operators.

use kas_primitives::{Binding, Operator, Plan, library};

fn build(name: &str) -> Operator {
    (library::get(name).unwrap().build)().unwrap()
}

fn resnet_binding(op: &Operator, c_in: u64, c_out: u64, h: u64) -> Binding {
    op.vars
        .bind(
            "resnet",
            [
                ("N", 1),
                ("C_in", c_in),
                ("C_out", c_out),
                ("H", h),
                ("W", h),
            ]
            .into_iter()
            .filter(|(k, _)| op.vars.lookup(k).is_some()),
        )
        .unwrap()
}

fn flops(op: &Operator, b: &Binding) -> (u128, Plan) {
    let plan = Plan::with_bindings(op, std::slice::from_ref(b)).unwrap();
    (plan.total_flops(), plan)
}

#[test]
fn syno_operator_2_costs_about_a_sixth_of_a_convolution() {
    let conv = build("conv2d");
    let op2 = build("syno-op2");
    let bc = resnet_binding(&conv, 64, 64, 56);
    let b2 = resnet_binding(&op2, 64, 64, 56);
    let (fc, _) = flops(&conv, &bc);
    let (f2, plan) = flops(&op2, &b2);
    assert_eq!(fc, 56 * 56 * 64 * 64 * 9);
    let ratio = f2 as f64 / fc as f64;
    // ≈ 0.17× at C_in = C_out = 64 (g = 32, s = 2, so m = 1): docs/ARCHITECTURE.md, "Syno's
    // operators".
    assert!(
        (0.15..0.19).contains(&ratio),
        "ratio {ratio}, plan {plan:#?}"
    );
    assert_eq!(plan.stages.len(), 2);
    // Counted on the naive single loop nest it would look about twice as costly as the conv.
    let naive = plan.total_naive_flops() as f64 / fc as f64;
    assert!(naive > 0.6, "naive ratio {naive}");
}

#[test]
fn syno_operator_1_matches_its_published_cost() {
    let op1 = build("syno-op1");
    let b = resnet_binding(&op1, 64, 64, 56);
    let (f1, plan) = flops(&op1, &b);
    // Per output pixel: k²·C_o²/s + C_i·k·m with m = C_o/(g·s) = 1.
    let per_pixel = 9 * 64 * 64 / 2 + 64 * 3;
    assert_eq!(f1, 56 * 56 * per_pixel, "{plan:#?}");
}

#[test]
fn every_plan_is_no_worse_than_the_naive_loop_nest() {
    for e in library::entries() {
        let op = (e.build)().unwrap();
        let plan = Plan::of(&op).unwrap();
        for (f, n) in plan.flops.iter().zip(&plan.naive_flops) {
            assert!(f <= n, "{}: {f} > {n}", e.name);
        }
        // The last stage covers every tensor and yields the output axes.
        let last = plan.stages.last().unwrap();
        assert_eq!(
            last.tensors.count_ones() as usize,
            op.tensor_count(),
            "{}",
            e.name
        );
        assert_eq!(last.result_dims.len(), op.outputs.len(), "{}", e.name);
    }
}

#[test]
fn separable_convolution_is_planned_in_two_stages() {
    let op = build("separable-conv2d");
    let plan = Plan::of(&op).unwrap();
    assert_eq!(plan.stages.len(), 2, "{plan:#?}");
    assert!(plan.total_flops() < plan.total_naive_flops());
}

#[test]
fn intermediates_and_gathers_are_measured_against_the_input_and_output() {
    // conv2d: one stage, no intermediate; the input is gathered over (h, a, w, b) beside its
    // plain N and C_in: 9 H W C_in per image against max(C_in, C_out) H W.
    let conv = build("conv2d");
    for (c_in, c_out) in [(64, 64), (64, 128), (128, 64)] {
        let b = resnet_binding(&conv, c_in, c_out, 14);
        let (_, plan) = flops(&conv, &b);
        let bs = std::slice::from_ref(&b);
        assert_eq!(plan.intermediate_ratio(&conv, bs), 0.0);
        let want = 9.0 * c_in as f64 / c_in.max(c_out) as f64;
        assert!(
            (plan.gather_ratio(&conv, bs) - want).abs() < 1e-9,
            "{c_in} {c_out}"
        );
    }
    // A linear layer reads everything plainly.
    let linear = build("linear");
    let (_, plan) = flops(&linear, &linear.bindings[0]);
    assert_eq!(
        plan.gather_ratio(&linear, std::slice::from_ref(&linear.bindings[0])),
        0.0
    );
    // syno-op1's first stage holds [N, H, W, k, C_out/(s·g), g]: k/s times the output
    // (1.5 at its first binding, k = 3, s = 2).
    let op1 = build("syno-op1");
    let (_, plan) = flops(&op1, &op1.bindings[0]);
    let r = plan.intermediate_ratio(&op1, std::slice::from_ref(&op1.bindings[0]));
    assert_eq!(r, 1.5);
}
