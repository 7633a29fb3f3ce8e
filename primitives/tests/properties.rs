//! Property tests over random builder programs ([`kas_primitives::random`]): building never
//! panics, valid operators evaluate to their declared shape, survive a RON round trip, are
//! linear in every tensor, plan no worse than the naive loop nest, and agree with an
//! independent evaluation of their derived index expressions.

use kas_primitives::random::{
    AxisSpec, BuilderCall, Program, RandomConfig, build_program, random_valid,
};
use kas_primitives::tensor::for_each_index;
use kas_primitives::{
    Accesses, Binding, Operator, Plan, Tensor, interp, read_operator, write_operator,
};
use proptest::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// 64 cases (about 2 s in a debug build); `PROPTEST_CASES` asks for more.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Runs `f`, turning a panic into an error message.
fn no_panic<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(e) => Err(format!(
            "panicked: {}",
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

/// Builds the program; a valid operator must validate and evaluate to its declared shape
/// under every binding. `Ok(None)` for a typed build error.
fn check_program(p: &Program) -> Result<Option<Operator>, String> {
    no_panic(|| {
        let Ok(op) = build_program(p) else {
            return Ok(None);
        };
        op.validate().map_err(|e| format!("validate: {e}"))?;
        for b in &op.bindings {
            let xs = interp::random_inputs(&op, b, 1, true).map_err(|e| e.to_string())?;
            let y = interp::interpret(&op, b, &xs).map_err(|e| format!("interpret: {e}"))?;
            let want = op.concrete(&op.outputs, b).map_err(|e| e.to_string())?;
            if y.shape != want {
                return Err(format!("output shape {:?}, declared {want:?}", y.shape));
            }
        }
        Ok(Some(op))
    })
}

const SIZES: &[&str] = &[
    "N",
    "C",
    "N*s",
    "C*k",
    "1",
    "k",
    "s",
    "N*C",
    "k^2",
    "u^120",
    "u^100*u^100",
    "N/s",
    "Q",
    "0",
];

fn size() -> impl Strategy<Value = String> {
    proptest::sample::select(SIZES).prop_map(str::to_string)
}

fn handle() -> impl Strategy<Value = usize> {
    0..10usize
}

fn step() -> impl Strategy<Value = BuilderCall> {
    let offset = prop_oneof![-9..=9i64, any::<i64>()];
    let axis = prop_oneof![
        handle().prop_map(AxisSpec::Share),
        size().prop_map(AxisSpec::Create)
    ];
    prop_oneof![
        (handle(), size()).prop_map(|(dim, block)| BuilderCall::Split { dim, block }),
        (handle(), handle()).prop_map(|(outer, inner)| BuilderCall::Merge { outer, inner }),
        (handle(), offset).prop_map(|(dim, offset)| BuilderCall::Shift { dim, offset }),
        (handle(), size()).prop_map(|(dim, stride)| BuilderCall::Stride { dim, stride }),
        (handle(), size()).prop_map(|(dim, window)| BuilderCall::Unfold { dim, window }),
        size().prop_map(|size| BuilderCall::Expand { size }),
        proptest::collection::vec(axis, 0..4).prop_map(BuilderCall::Contract),
        handle().prop_map(BuilderCall::Reduce),
    ]
}

/// Programs written by proptest directly, over a fixed small table (u = 1 allows huge
/// exponents with small values).
fn raw_program() -> impl Strategy<Value = Program> {
    (
        (1..=5u64, 1..=5u64, 1..=5u64, 1..=5u64),
        proptest::collection::vec(size(), 0..4),
        proptest::collection::vec(step(), 0..9),
        proptest::collection::vec(handle(), 0..3),
        proptest::collection::vec(handle(), 0..5),
    )
        .prop_map(
            |((n1, c1, n2, c2), input, steps, unordered, outputs)| Program {
                seed: 0,
                primary: vec!["N".into(), "C".into()],
                coefficient: vec!["k=3".into(), "s=2".into(), "u=1".into()],
                bindings: vec![
                    ("a".into(), vec![("N".into(), n1), ("C".into(), c1)]),
                    ("b".into(), vec![("N".into(), n2), ("C".into(), c2)]),
                ],
                input,
                steps,
                unordered,
                outputs,
            },
        )
}

/// Evaluates the operator from its derived index expressions and guards, with naive loops.
fn eval_accesses(op: &Operator, b: &Binding, xs: &[Tensor]) -> Tensor {
    let acc = Accesses::of(op);
    let dims = |s: &[kas_primitives::Size]| -> Vec<usize> {
        s.iter().map(|x| x.eval(b).unwrap() as usize).collect()
    };
    let (out_shape, red_shape) = (dims(&acc.out_sizes), dims(&acc.red_sizes));
    let mut y = Tensor::zeros(&out_shape);
    for_each_index(&out_shape, |o| {
        let o: Vec<i64> = o.iter().map(|&v| v as i64).collect();
        let mut sum = 0.0;
        for_each_index(&red_shape, |r| {
            let r: Vec<i64> = r.iter().map(|&v| v as i64).collect();
            let inside = acc.guards.iter().all(|g| {
                let v = g.expr.eval(b, &o, &r);
                v >= 0 && v < g.bound.eval(b).unwrap() as i64
            });
            if !inside {
                return;
            }
            let mut term = 1.0;
            for (t, idx) in acc.tensors.iter().enumerate() {
                let i: Vec<usize> = idx.iter().map(|e| e.eval(b, &o, &r) as usize).collect();
                term *= xs[t].get(&i);
            }
            sum += term;
        });
        let o: Vec<usize> = o.iter().map(|&v| v as usize).collect();
        *y.get_mut(&o) = sum;
    });
    y
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_programs_build_or_fail_typed(seed in any::<u64>()) {
        let p = kas_primitives::random::random_program(seed, &RandomConfig::default());
        let r = check_program(&p);
        prop_assert!(r.is_ok(), "{}\n{p}", r.unwrap_err());
    }

    #[test]
    fn raw_programs_build_or_fail_typed(p in raw_program()) {
        let r = check_program(&p);
        prop_assert!(r.is_ok(), "{}\n{p}", r.unwrap_err());
    }

    #[test]
    fn ron_round_trip(seed in any::<u64>()) {
        let (p, op) = random_valid(seed, &RandomConfig::default());
        let text = write_operator("random", "a random operator", &op)
            .map_err(|e| TestCaseError::fail(format!("write: {e}\n{p}")))?;
        let (name, back) = read_operator(&text, "<random>")
            .map_err(|e| TestCaseError::fail(format!("read: {e}\n{p}\n{text}")))?;
        prop_assert_eq!(name, "random");
        prop_assert!(back == op, "read back differs\n{}\n{}", p, text);
        prop_assert_eq!(back.structural_hash(), op.structural_hash());
        let again = write_operator("random", "a random operator", &back).unwrap();
        prop_assert!(again == text, "second write differs\n{}\n{}\n{}", p, text, again);
    }

    #[test]
    fn linear_in_each_tensor_and_planned_no_worse_than_naive(seed in any::<u64>()) {
        let (p, op) = random_valid(seed, &RandomConfig::default());
        for b in &op.bindings {
            let xs = interp::random_inputs(&op, b, seed, false).unwrap();
            let y = interp::interpret(&op, b, &xs).unwrap();
            for t in 0..xs.len() {
                let mut scaled = xs.clone();
                scaled[t].data.iter_mut().for_each(|v| *v *= 2.0);
                let y2 = interp::interpret(&op, b, &scaled).unwrap();
                let mut want = y.clone();
                want.data.iter_mut().for_each(|v| *v *= 2.0);
                prop_assert!(y2.rel_err(&want) <= 1e-12, "tensor {}\n{}", t, p);
            }
        }
        let plan = Plan::of(&op).map_err(|e| TestCaseError::fail(format!("{e}\n{p}")))?;
        prop_assert!(plan.total_flops() <= plan.total_naive_flops(), "{:#?}\n{}", plan, p);
        prop_assert_eq!(plan.flops.len(), op.bindings.len());
        for (i, b) in op.bindings.iter().enumerate() {
            let staged: u128 = plan.stages.iter().map(|s| s.flops[i]).sum();
            prop_assert_eq!(staged, plan.flops[i], "{}", p);
            let points: u128 = op
                .concrete(&op.outputs, b)
                .unwrap()
                .into_iter()
                .chain(op.concrete(&op.reductions(), b).unwrap())
                .map(|x| x as u128)
                .product();
            let mult = (op.tensor_count() as u128 - 1).max(1);
            prop_assert_eq!(plan.naive_flops[i], points * mult, "{}", p);
        }
        let mut last = plan.stages.last().unwrap().result_dims.clone();
        let mut outs = op.outputs.clone();
        last.sort();
        outs.sort();
        prop_assert_eq!(last, outs, "{}", p);
    }

    #[test]
    fn interpreter_agrees_with_index_expressions(seed in any::<u64>()) {
        let (p, op) = random_valid(seed, &RandomConfig::default());
        for b in &op.bindings {
            let xs = interp::random_inputs(&op, b, seed, false).unwrap();
            let y = interp::interpret(&op, b, &xs).unwrap();
            let z = eval_accesses(&op, b, &xs);
            let err = z.rel_err(&y);
            prop_assert!(
                err <= 1e-12,
                "err {} under {}\n{}\n{}",
                err,
                b.name,
                p,
                Accesses::of(&op).display(&op.vars)
            );
        }
    }
}
