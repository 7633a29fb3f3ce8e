//! Tensor-core kernels run on the CPU and equal the reference interpreter within their
//! precision's tolerance (relative Frobenius error: TF32 2e-3, bf16 2e-2). The generated CUDA
//! is compiled as C++ with `tests/shim/tensor_core.hpp`, a host emulation of `cp.async`
//! (deferred until its `wait_group`), `ldmatrix` and `mma.sync` decoding every lane's fragment
//! registers with the PTX ISA's layouts and rounding operands as the hardware does; so the
//! kernels' index math, shared-memory layout, pipeline and fragment mapping are checked
//! without a GPU. A deliberately permuted fragment decoding must make them fail.

use kas_codegen::cuda::{contractions, generate_precise};
use kas_codegen::schedule::{Schedule, StageSchedule};
use kas_codegen::tensor_core::{Mma, candidates};
use kas_codegen::{Precision, StageIr};
use kas_primitives::random::{RandomConfig, random_operator};
use kas_primitives::{Binding, NamedBinding, Operator, library};

mod support;

use support::{Case, Checked, check, error_of};

/// `each` for every contraction stage, the direct kernel for the others.
fn uniform(ir: &StageIr, b: &Binding, each: StageSchedule) -> Schedule {
    Schedule {
        stages: contractions(ir, b)
            .unwrap()
            .iter()
            .map(|c| match c {
                Some(_) => each,
                None => StageSchedule::Direct,
            })
            .collect(),
    }
}

fn library_case(name: &str, values: &[(&str, u64)]) -> (Operator, Binding, StageIr) {
    let op = (library::get(name).unwrap().build)().unwrap();
    let nb = NamedBinding {
        name: "tc".into(),
        values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    };
    let b = nb.resolve(&op.vars).unwrap();
    let ir = StageIr::lower_for(&op, std::slice::from_ref(&b)).unwrap();
    (op, b, ir)
}

/// Library operators under odd bindings (nothing divides a tile) and vectorizable ones.
const CASES: [(&str, &[(&str, u64)]); 6] = [
    (
        "conv2d",
        &[("N", 1), ("C_in", 3), ("C_out", 5), ("H", 7), ("W", 5)],
    ),
    (
        "conv2d",
        &[("N", 2), ("C_in", 8), ("C_out", 16), ("H", 4), ("W", 8)],
    ),
    (
        "linear",
        &[("N", 1), ("seq_len", 9), ("H_in", 40), ("H_out", 24)],
    ),
    (
        "shift-conv2d",
        &[("N", 1), ("C_in", 5), ("C_out", 6), ("H", 7), ("W", 5)],
    ),
    (
        "syno-op1",
        &[
            ("N", 1),
            ("C_in", 8),
            ("C_out", 8),
            ("H", 6),
            ("g", 2),
            ("s", 2),
        ],
    ),
    (
        "syno-op2",
        &[
            ("N", 1),
            ("C_in", 8),
            ("C_out", 8),
            ("H", 5),
            ("g", 2),
            ("s", 2),
        ],
    ),
];

fn tile(bm: u32, bn: u32, bk: u32, warps: (u32, u32), stages: u32, split_k: u32) -> Mma {
    Mma {
        bm,
        bn,
        bk,
        warps_m: warps.0,
        warps_n: warps.1,
        stages,
        split_k,
    }
}

#[test]
fn tensor_core_library_kernels_match_the_interpreter() {
    let mut paths = String::new();
    let mut programs = Vec::new();
    for p in [Precision::Tf32, Precision::Bf16] {
        let k = p.mma_k();
        let tiles = [
            tile(32, 16, k, (1, 1), 2, 1),
            tile(64, 32, 2 * k, (2, 2), 3, 2),
            tile(16, 32, 4 * k, (1, 2), 4, 1),
        ];
        for (c, (name, values)) in CASES.iter().enumerate() {
            let (op, b, ir) = library_case(name, values);
            let t = tiles[c % tiles.len()];
            let prog = generate_precise(
                &ir,
                &b,
                "kas",
                &uniform(&ir, &b, StageSchedule::TensorCore(t)),
                p,
            )
            .unwrap();
            paths.push_str(&prog.source);
            programs.push(Checked {
                case: Case {
                    name: format!("{p}-{name}-{c}"),
                    op,
                    b,
                    seed: 7 + c as u64,
                    p: prog,
                },
                tol: p.tolerance(),
                label: t.label(),
            });
        }
    }
    check(programs);
    // Every fragment path and every kind of load slot was exercised.
    for path in [
        "kas_ldsm_x4(",
        "kas_ldsm_x4_trans(",
        "kas_ldsm_x2(",
        "kas_ldsm_x2_trans(",
        "= kas_tf32(*(",
        "kas_cp_async4(",
        "kas_cp_async16(",
        "*(As",
        "_sum(",
        "kas_pack_bf16x2(",
    ] {
        assert!(paths.contains(path), "no kernel used {path}");
    }
}

#[test]
fn tensor_core_random_kernels_match_the_interpreter() {
    let cfg = RandomConfig::default();
    let mut stages = 0;
    let mut programs = Vec::new();
    for seed in 0..12u64 {
        let op = random_operator(3000 + seed, &cfg);
        let ir = StageIr::lower(&op).unwrap();
        let b = &op.bindings[0];
        let p = if seed % 2 == 0 {
            Precision::Tf32
        } else {
            Precision::Bf16
        };
        let conts = contractions(&ir, b).unwrap();
        let sched = Schedule {
            stages: conts
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let Some(c) = c else {
                        return StageSchedule::Direct;
                    };
                    // Few enough blocks to emulate in a moment.
                    let cands: Vec<Mma> = candidates(c, p)
                        .into_iter()
                        .filter(|t| t.blocks(c) <= 256)
                        .collect();
                    if cands.is_empty() {
                        return StageSchedule::Direct;
                    }
                    stages += 1;
                    let pick = (seed as usize * 7 + i * 13) % cands.len();
                    StageSchedule::TensorCore(cands[pick])
                })
                .collect(),
        };
        let prog = generate_precise(&ir, b, "kas", &sched, p).unwrap();
        programs.push(Checked {
            case: Case {
                name: format!("random-{seed}-{p}"),
                op: op.clone(),
                b: b.clone(),
                seed,
                p: prog,
            },
            tol: p.tolerance(),
            label: sched.label(),
        });
    }
    check(programs);
    assert!(
        stages >= 6,
        "only {stages} tensor-core stages were exercised"
    );
}

#[test]
fn a_permuted_fragment_mapping_is_caught() {
    let (op, b, ir) = library_case("conv2d", CASES[1].1);
    for p in [Precision::Tf32, Precision::Bf16] {
        let t = tile(32, 16, 2 * p.mma_k(), (1, 1), 2, 1);
        let prog = generate_precise(
            &ir,
            &b,
            "kas",
            &uniform(&ir, &b, StageSchedule::TensorCore(t)),
            p,
        )
        .unwrap();
        let right = error_of(&format!("right-{p}"), &op, &b, 3, &prog, false);
        let wrong = error_of(&format!("wrong-{p}"), &op, &b, 3, &prog, true);
        assert!(right <= p.tolerance(), "{p}: {right}");
        assert!(
            wrong > 0.1,
            "{p}: a permuted A fragment went unnoticed (error {wrong})"
        );
    }
}

/// conv2d with its input, weight and output channels-last (N, H, W, C; weights O, kh, kw, I):
/// the stage sums the channels innermost and both sides load runs of consecutive channels
/// (`red_order`, `runs_of`), padding guards included; checked against the interpreter.
#[test]
fn channels_last_conv_loads_runs_of_channels_and_matches_the_interpreter() {
    use kas_primitives::relayout::TensorRef;
    let nhwc = [0, 2, 3, 1];
    for (p, t) in [
        (Precision::Bf16, tile(32, 16, 32, (1, 1), 3, 1)),
        (Precision::Tf32, tile(32, 16, 16, (1, 1), 2, 2)),
    ] {
        let (op, b, _) = library_case(
            "conv2d",
            &[("N", 2), ("C_in", 16), ("C_out", 16), ("H", 5), ("W", 4)],
        );
        let cl = op
            .with_axis_order(TensorRef::Tensor(0), &nhwc)
            .and_then(|o| o.with_axis_order(TensorRef::Tensor(1), &nhwc))
            .and_then(|o| o.with_axis_order(TensorRef::Output, &nhwc))
            .unwrap();
        let ir = StageIr::lower_for(&cl, std::slice::from_ref(&b)).unwrap();
        let prog = generate_precise(
            &ir,
            &b,
            "kas",
            &uniform(&ir, &b, StageSchedule::TensorCore(t)),
            p,
        )
        .unwrap();
        // Both sides by 16-byte copies: 8 bf16 or 4 f32 channels at a time.
        let copies = prog.source.matches("kas_cp_async16(").count();
        assert!(copies >= 2, "{p}: {copies} 16-byte copies\n{}", prog.source);
        let err = error_of(&format!("cl-{p}"), &cl, &b, 5, &prog, false);
        assert!(
            err <= p.tolerance(),
            "channels-last conv2d at {p}: error {err}"
        );
    }
}

#[test]
fn bf16_direct_and_flat_kernels_match_the_interpreter() {
    for (c, (name, values)) in CASES.iter().enumerate().take(3) {
        let (op, b, ir) = library_case(name, values);
        let each = if c == 1 {
            StageSchedule::Flat
        } else {
            StageSchedule::Direct
        };
        let prog =
            generate_precise(&ir, &b, "kas", &uniform(&ir, &b, each), Precision::Bf16).unwrap();
        assert!(
            prog.source.contains("kas_bf16_to_f32(") && prog.kernels.iter().all(|k| k.out_bf16)
        );
        let err = error_of(&format!("bf16-direct-{c}"), &op, &b, 11, &prog, false);
        assert!(err <= Precision::Bf16.tolerance(), "{name}: error {err}");
    }
}

#[test]
fn schedules_a_precision_cannot_run_are_refused_with_their_reason() {
    use kas_codegen::schedule::Tile;
    use kas_codegen::{Error, Refusal};
    let (_, b, ir) = library_case("conv2d", CASES[1].1);
    let ok = tile(32, 16, 16, (1, 1), 2, 1);
    let reason = |s: &Schedule, p: Precision| match generate_precise(&ir, &b, "kas", s, p) {
        Err(Error::Refused { reason, .. }) => Some(reason),
        Err(e) => panic!("{e}"),
        Ok(_) => None,
    };
    let tc = uniform(&ir, &b, StageSchedule::TensorCore(ok));
    assert_eq!(reason(&tc, Precision::F32), Some(Refusal::F32TensorCores));
    assert_eq!(reason(&tc, Precision::Tf32), None);
    assert_eq!(reason(&tc, Precision::Bf16), None);
    let narrow = uniform(
        &ir,
        &b,
        StageSchedule::TensorCore(tile(32, 16, 8, (1, 1), 2, 1)),
    );
    assert_eq!(reason(&narrow, Precision::Bf16), Some(Refusal::Shape));
    let tiled = Tile {
        bm: 32,
        bn: 32,
        bk: 8,
        tm: 2,
        tn: 2,
        split_k: 1,
        min_blocks: 1,
    };
    let simt = uniform(&ir, &b, StageSchedule::Tiled(tiled));
    assert_eq!(reason(&simt, Precision::Bf16), Some(Refusal::TiledStorage));
    assert_eq!(reason(&simt, Precision::Tf32), None);
    // A stage that is no two-operand contraction.
    let cfg = RandomConfig::default();
    let (op, ir) = (0..200u64)
        .map(|s| random_operator(5000 + s, &cfg))
        .map(|op| {
            let ir = StageIr::lower(&op).unwrap();
            (op, ir)
        })
        .find(|(op, ir)| {
            contractions(ir, &op.bindings[0])
                .unwrap()
                .iter()
                .any(Option::is_none)
        })
        .expect("a random operator with a stage that is no contraction");
    let all = Schedule {
        stages: vec![StageSchedule::TensorCore(ok); ir.stages.len()],
    };
    let err = generate_precise(&ir, &op.bindings[0], "kas", &all, Precision::Tf32).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Refused {
                reason: Refusal::NotAContraction,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("at tf32"), "{err}");
}

#[test]
fn f32_programs_are_unchanged_by_the_precision_argument() {
    use kas_codegen::cuda::{generate_scheduled, heuristic_schedule};
    for (name, values) in CASES {
        let (_, b, ir) = library_case(name, values);
        let s = heuristic_schedule(&ir, &b).unwrap();
        let f32 = generate_precise(&ir, &b, "kas", &s, Precision::F32).unwrap();
        assert_eq!(f32, generate_scheduled(&ir, &b, "kas", &s).unwrap());
        assert!(!f32.source.contains("kas_bf16") && !f32.source.contains("KAS_TENSOR_CORE"));
    }
}
