//! The tch plan equals the reference interpreter (f64 on the CPU) on the library and on 1,000
//! random operators, and its autograd gradients are exact: by multilinearity, for any tensor
//! `t` and direction `v`, `<∂L/∂T_t, v> = <c, F(…, v in place of T_t, …)>` where `L = <c, F>`,
//! and the right side is computed by the interpreter alone.

use kas_eval::models::slot::{SlotInfo, SlotShape, slot_binding};
use kas_eval::tch_plan::TchPlan;
use kas_primitives::interp::{interpret, random_inputs};
use kas_primitives::random::{RandomConfig, random_operator};
use kas_primitives::{Binding, Operator, Tensor, library};
use tch::nn::{OptimizerConfig, VarStore};
use tch::{Device, Kind};

fn to_tch(t: &Tensor) -> tch::Tensor {
    let shape: Vec<i64> = t.shape.iter().map(|&x| x as i64).collect();
    tch::Tensor::from_slice(&t.data).reshape(&shape[..])
}

fn from_tch(t: &tch::Tensor) -> Tensor {
    let shape: Vec<usize> = t.size().iter().map(|&x| x as usize).collect();
    let flat = t.to_kind(Kind::Double).contiguous().view(-1);
    Tensor {
        shape,
        data: Vec::<f64>::try_from(&flat).unwrap(),
    }
}

fn dot(a: &Tensor, b: &Tensor) -> f64 {
    a.data.iter().zip(&b.data).map(|(x, y)| x * y).sum()
}

/// Builds the plan in f64 with the interpreter's random weights; returns the forward error and
/// the worst relative gradient error.
fn check(name: &str, op: &Operator, b: &Binding, seed: u64, grads: bool) -> (f64, f64) {
    let xs = random_inputs(op, b, seed, false).unwrap();
    let vs = VarStore::new(Device::Cpu);
    let mut plan = TchPlan::new(op, b, &vs.root()).unwrap_or_else(|e| panic!("{name}: {e}"));
    plan.weights = xs[1..]
        .iter()
        .map(|w| to_tch(w).set_requires_grad(grads))
        .collect();
    let x = to_tch(&xs[0]).set_requires_grad(grads);
    let y = plan.apply(&x);
    let want = interpret(op, b, &xs).unwrap();
    let got = from_tch(&y);
    assert_eq!(got.shape, want.shape, "{name}");
    let ferr = got.rel_err(&want);
    if !grads {
        return (ferr, 0.0);
    }
    let c = Tensor::random(&want.shape, seed ^ 0xc0);
    (y * to_tch(&c)).sum(Kind::Double).backward();
    let mut gerr = 0.0f64;
    for t in 0..op.tensor_count() {
        let g = if t == 0 {
            x.grad()
        } else {
            plan.weights[t - 1].grad()
        };
        let g = from_tch(&g);
        let v = Tensor::random(&xs[t].shape, seed ^ (0x51 + t as u64));
        let mut swapped = xs.clone();
        swapped[t] = v.clone();
        let want = dot(&c, &interpret(op, b, &swapped).unwrap());
        let got = dot(&g, &v);
        gerr = gerr.max((got - want).abs() / (want.abs() + 1e-6));
    }
    (ferr, gerr)
}

#[test]
fn library_forward_and_gradients_are_exact() {
    for e in library::entries() {
        let op = (e.build)().unwrap();
        for (i, b) in op.bindings.iter().enumerate() {
            let (f, g) = check(e.name, &op, b, 11 + i as u64, true);
            assert!(
                f < 1e-12 && g < 1e-9,
                "{} under {}: forward {f:e}, gradient {g:e}",
                e.name,
                b.name
            );
        }
    }
}

#[test]
fn random_forward_matches_on_1000_operators_and_gradients_on_200() {
    let cfg = RandomConfig::default();
    for seed in 0..1000u64 {
        let op = random_operator(20_000 + seed, &cfg);
        let b = &op.bindings[(seed % 2) as usize];
        let (f, g) = check(&format!("random-{seed}"), &op, b, seed, seed < 200);
        assert!(
            f < 1e-12 && g < 1e-9,
            "random seed {seed}: forward {f:e}, gradient {g:e}"
        );
    }
}

#[test]
fn gathers_of_the_library_and_of_random_operators_have_gathers_as_backward() {
    // Deterministic backward passes (eval::gather): every gather of the library's operators and
    // of 200 random operators (a map whose reads are far from even would fall back).
    // Some of them are strided windows (views: `tch_plan/window.rs`; 77 of the random
    // operators' 209 gathers, 28 of them before cyclic shifts were), which the exactness tests
    // above then cover too.
    fn plan(op: &Operator, b: &Binding) -> (usize, usize, usize) {
        let vs = VarStore::new(Device::Cpu);
        let plan = TchPlan::new(op, b, &vs.root()).unwrap();
        let (n, det) = plan.gathers();
        (n, det, plan.window_gathers())
    }
    for e in library::entries() {
        let op = (e.build)().unwrap();
        let (n, det, _) = plan(&op, &op.bindings[0]);
        assert_eq!(det, n, "{}", e.name);
    }
    // A convolution's window, and Syno's Operator 1's two windows (its second stage's a
    // window over a stage result).
    // Operator 2's H window is shifted cyclically after its zero padding.
    for (name, windows) in [
        ("conv2d", 1),
        ("syno-op1", 2),
        ("syno-op2", 2),
        ("syno-kronecker-conv", 1),
    ] {
        let op = (library::get(name).unwrap().build)().unwrap();
        let (n, _, w) = plan(&op, &op.bindings[0]);
        assert_eq!((n, w), (windows, windows), "{name}");
    }
    let cfg = RandomConfig::default();
    let (mut n, mut det, mut windows) = (0, 0, 0);
    for seed in 0..200u64 {
        let op = random_operator(20_000 + seed, &cfg);
        let (a, d, w) = plan(&op, &op.bindings[0]);
        n += a;
        det += d;
        windows += w;
    }
    assert!(n > 50 && det == n, "{det} of {n} gathers");
    assert!(windows >= 60, "{windows} of {n} gathers are windows");
    eprintln!(
        "random operators: {det} of {n} gathers with a deterministic backward, {windows} windows"
    );
}

#[test]
fn f32_plan_trains_its_weights() {
    // The plan is a Module over VarStore variables: an optimiser moves them.
    let op = (library::get("syno-op2").unwrap().build)().unwrap();
    let b = &op.bindings[0];
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let plan = TchPlan::new(&op, b, &vs.root()).unwrap();
    assert_eq!(vs.trainable_variables().len(), 2);
    let x = tch::Tensor::randn(&plan.input_shape[..], (Kind::Float, Device::Cpu));
    let target = tch::Tensor::randn(&plan.output_shape[..], (Kind::Float, Device::Cpu));
    let mut opt = tch::nn::Sgd::default().build(&vs, 0.05).unwrap();
    let loss0 = f64::try_from((plan.apply(&x) - &target).square().mean(Kind::Float)).unwrap();
    for _ in 0..50 {
        let loss = (plan.apply(&x) - &target).square().mean(Kind::Float);
        opt.backward_step(&loss);
    }
    let loss1 = f64::try_from((plan.apply(&x) - &target).square().mean(Kind::Float)).unwrap();
    assert!(loss1 < loss0 * 0.9, "loss {loss0} -> {loss1}");
}

/// Applies `plan` to `x` and to `x2` separately and to both joined along input axis `a`: the
/// joined output must be the two outputs joined along one output axis (or their sum, where the
/// axis is summed away).
fn check_flexible_axis(name: &str, plan: &TchPlan, x: &tch::Tensor, x2: &tch::Tensor, a: usize) {
    let y1 = plan.apply(x);
    let y2 = plan.apply(x2);
    let y = plan.apply(&tch::Tensor::cat(&[x, x2], a as i64));
    let (s, s1) = (y.size(), y1.size());
    let grown: Vec<usize> = (0..s.len()).filter(|&j| s[j] != s1[j]).collect();
    let want = match grown[..] {
        [] => &y1 + &y2,
        [j] => tch::Tensor::cat(&[&y1, &y2], j as i64),
        _ => panic!("{name}: axis {a} grew several output axes: {s:?} vs {s1:?}"),
    };
    let err = f64::try_from((&y - &want).abs().max()).unwrap()
        / (f64::try_from(want.abs().max()).unwrap() + 1e-6);
    assert!(err < 1e-12, "{name}: axis {a}: error {err:e}");
}

#[test]
fn flexible_axes_take_any_size() {
    // The batch axis of every library operator is flexible; random operators exercise the
    // detection on their own axes.
    let (mut flexible, mut batch_axes) = (0usize, 0usize);
    let ops = library::entries()
        .iter()
        .map(|e| (e.name.to_string(), (e.build)().unwrap()))
        .chain((0..200u64).map(|s| {
            (
                format!("random-{s}"),
                random_operator(40_000 + s, &RandomConfig::default()),
            )
        }));
    for (name, op) in ops {
        let b = &op.bindings[0];
        let xs = random_inputs(&op, b, 5, false).unwrap();
        let vs = VarStore::new(Device::Cpu);
        let mut plan = TchPlan::new(&op, b, &vs.root()).unwrap();
        plan.weights = xs[1..].iter().map(to_tch).collect();
        let x = to_tch(&xs[0]);
        let x2 = to_tch(&Tensor::random(&xs[0].shape, 99));
        let n = op.dim_by_name("n");
        if let Some(a) = op.input.iter().position(|d| Some(*d) == n) {
            batch_axes += 1;
            assert!(
                plan.flexible_input_axes()[a],
                "{name}: batch axis not flexible"
            );
        }
        for (a, &f) in plan.flexible_input_axes().iter().enumerate() {
            if f {
                flexible += 1;
                check_flexible_axis(&name, &plan, &x, &x2, a);
            }
        }
    }
    assert!(batch_axes >= 5, "only {batch_axes} library batch axes");
    assert!(flexible > batch_axes, "only {flexible} flexible axes");
}

#[test]
fn created_elements_count_gathers_and_stage_results() {
    use kas_codegen::StageIr;
    use kas_eval::tch_plan::created_elements;
    // conv2d at odd-5x7 (N 2, C_in 3, C_out 5, H 5, W 7, k 3): the input is gathered over
    // (c, h, a, w, b) beside its plain N; the weight is read plainly; one result.
    let op = (library::get("conv2d").unwrap().build)().unwrap();
    let b = &op.bindings[0];
    let ir = StageIr::lower_for(&op, std::slice::from_ref(b)).unwrap();
    let gathered = 2.0 * (3.0 * 5.0 * 3.0 * 7.0 * 3.0);
    assert_eq!(
        created_elements(&ir, b).unwrap(),
        gathered + 2.0 * 5.0 * 5.0 * 7.0
    );
    // A linear layer gathers nothing.
    let op = (library::get("linear").unwrap().build)().unwrap();
    let b = &op.bindings[0];
    let ir = StageIr::lower_for(&op, std::slice::from_ref(b)).unwrap();
    let out: f64 = op
        .concrete(&op.outputs, b)
        .unwrap()
        .iter()
        .map(|&x| x as f64)
        .product();
    assert_eq!(created_elements(&ir, b).unwrap(), out);
}

#[test]
fn splits_and_merges_turn_structured_linear_layers_into_views() {
    use kas_codegen::StageIr;
    use kas_eval::tch_plan::created_elements;
    // Block-diagonal, Kronecker and Monarch layers index their input as `γ·(I/g) + i` and
    // their weights by `o div c` / `o mod c` of a whole output iterator: after the split of
    // that iterator every axis is a merge of letters, so nothing is gathered and the plan
    // creates only its stage results (before: the input gathered over `O × I/g` positions
    // per row for the block-diagonal layer). Exactness is the random tests' job above.
    for name in [
        "block-diagonal-linear",
        "kronecker-linear",
        "monarch-linear",
    ] {
        let op = (library::get(name).unwrap().build)().unwrap();
        for b in &op.bindings {
            let vs = VarStore::new(Device::Cpu);
            let plan = TchPlan::new(&op, b, &vs.root()).unwrap();
            assert_eq!(plan.gathers(), (0, 0), "{name} under {}", b.name);
            let ir = StageIr::lower_for(&op, std::slice::from_ref(b)).unwrap();
            let results: f64 = ir
                .stages
                .iter()
                .map(|st| {
                    op.concrete(&st.result_dims, b)
                        .unwrap()
                        .iter()
                        .map(|&x| x as f64)
                        .product::<f64>()
                })
                .sum();
            assert_eq!(created_elements(&ir, b).unwrap(), results, "{name}");
        }
    }
    // A grouped convolution gathers only its window, its channel axis `γ·(C/g) + c` a view.
    let op = (library::get("grouped-conv2d").unwrap().build)().unwrap();
    let vs = VarStore::new(Device::Cpu);
    let plan = TchPlan::new(&op, &op.bindings[0], &vs.root()).unwrap();
    assert_eq!(plan.gathers(), (1, 1));
}

#[test]
fn campaign_operators_with_cyclic_shifts_gather_windows_exactly() {
    // Operators a ResNet-18 campaign found (experiments/campaigns/resnet18-fmnist64): their
    // input is read at `(w + 1) mod H` and `(h + 1) mod H + a − 1`, one gather of two axes that
    // is a roll and a rolled window; the third reads through nested modulos (an index map).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../experiments/campaigns/resnet18-fmnist64/operators");
    for (hash, windows) in [
        ("7e0a4c2724b443ba8355b55fa6bc6fb0", 1),
        ("97832188e51ddce451073e644e3ae365", 1),
        ("ca313e5283f398c905928fba4f2cfd40", 0),
    ] {
        let path = dir.join(format!("{hash}.ron"));
        let text = std::fs::read_to_string(&path).unwrap();
        let (_, op) = kas_primitives::format::read_operator(&text, hash).unwrap();
        // Small slots (the campaign's are ResNet-18's, too large for the f64 interpreter).
        let small = [(4, 6), (6, 5)].map(|(c, h)| {
            let slot = SlotInfo {
                name: format!("c{c}-h{h}"),
                shape: SlotShape::Conv {
                    c_in: c,
                    c_out: c,
                    h,
                },
            };
            slot_binding(&op, &slot, 2).unwrap()
        });
        for (i, b) in small.iter().enumerate() {
            let vs = VarStore::new(Device::Cpu);
            let plan = TchPlan::new(&op, b, &vs.root()).unwrap();
            assert_eq!(plan.window_gathers(), windows, "{hash} under {}", b.name);
            let (f, g) = check(hash, &op, b, 5 + i as u64, true);
            assert!(
                f < 1e-12 && g < 1e-9,
                "{hash} under {}: forward {f:e}, gradient {g:e}",
                b.name
            );
        }
    }
}
