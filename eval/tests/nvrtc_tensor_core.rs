//! Every tensor-core kernel variant compiles with NVRTC to PTX and to an sm_90 CUBIN, with no
//! GPU: both precisions (TF32 `mma.sync.m16n8k8`, bf16 `mma.sync.m16n8k16`) × a grid of block
//! tiles, warp layouts, pipeline depths (2 to 4) and split reductions on operators whose
//! loads gather (convolutions with zero padding, Syno's grouped operators) and a plain matrix
//! product. The PTX shows the instructions the kernels are meant to use. NVRTC must be
//! installed (the README's set-up does it).

use kas_codegen::cuda::{contractions, generate_precise};
use kas_codegen::schedule::{Schedule, StageSchedule};
use kas_codegen::tensor_core::Mma;
use kas_codegen::{Precision, StageIr};
use kas_eval::nvrtc;
use kas_primitives::{NamedBinding, library};

/// Library operators: gathered loads with zero padding, a plain product with 16-byte copies
/// on both sides, Syno's grouped operators.
const CASES: [(&str, &[(&str, u64)]); 4] = [
    (
        "conv2d",
        &[("N", 2), ("C_in", 16), ("C_out", 32), ("H", 8), ("W", 8)],
    ),
    (
        "linear",
        &[("N", 2), ("seq_len", 12), ("H_in", 64), ("H_out", 32)],
    ),
    (
        "syno-op2",
        &[
            ("N", 2),
            ("C_in", 16),
            ("C_out", 16),
            ("H", 8),
            ("g", 2),
            ("s", 2),
        ],
    ),
    (
        "syno-op1",
        &[
            ("N", 2),
            ("C_in", 8),
            ("C_out", 8),
            ("H", 6),
            ("g", 2),
            ("s", 2),
        ],
    ),
];

/// The tile grid: (bm, bn, bk in instruction depths, warps_m, warps_n); tile `i` has
/// `2 + i % 3` stages and is split `1 + i / 3` ways, so that every pipeline depth meets both
/// an unsplit and a split reduction. (The full product, 36 variants a case, took six minutes
/// of NVRTC on two cores; the depth changes only constants of the same code.)
const GRID: [(u32, u32, u32, u32, u32); 6] = [
    (128, 128, 2, 2, 2),
    (64, 64, 2, 2, 2),
    (64, 32, 4, 2, 1),
    (32, 32, 1, 1, 2),
    (16, 8, 1, 1, 1),
    (128, 64, 4, 4, 2),
];

fn tiles(p: Precision) -> Vec<Mma> {
    let mut out = Vec::new();
    for (i, &(bm, bn, bk, warps_m, warps_n)) in GRID.iter().enumerate() {
        let t = Mma {
            bm,
            bn,
            bk: bk * p.mma_k(),
            warps_m,
            warps_n,
            stages: 2 + i as u32 % 3,
            split_k: 1 + i as u32 / 3,
        };
        assert!(t.is_valid(p), "{} at {p}", t.label());
        out.push(t);
    }
    out
}

#[test]
fn every_tensor_core_variant_compiles_to_an_sm90_cubin() {
    nvrtc::available().unwrap_or_else(|e| panic!("{e}"));
    let mut variants = 0;
    for p in [Precision::Tf32, Precision::Bf16] {
        for (c, (name, values)) in CASES.iter().enumerate() {
            let op = (library::get(name).unwrap().build)().unwrap();
            let nb = NamedBinding {
                name: "nvrtc".into(),
                values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            };
            let b = nb.resolve(&op.vars).unwrap();
            let ir = StageIr::lower_for(&op, std::slice::from_ref(&b)).unwrap();
            let conts = contractions(&ir, &b).unwrap();
            assert!(conts.iter().any(Option::is_some), "{name}: no contraction");
            // All tiles of this case in one translation unit, each program its own prefix.
            let mut source = String::new();
            let mut names = Vec::new();
            for (v, t) in tiles(p).iter().enumerate() {
                let sched = Schedule {
                    stages: conts
                        .iter()
                        .map(|c| match c {
                            Some(_) => StageSchedule::TensorCore(*t),
                            None => StageSchedule::Direct,
                        })
                        .collect(),
                };
                let prog = generate_precise(&ir, &b, &format!("v{v}"), &sched, p)
                    .unwrap_or_else(|e| panic!("{name} {} at {p}: {e}", t.label()));
                source.push_str(&prog.source);
                names.extend(prog.kernels.iter().map(|k| k.name.clone()));
                variants += 1;
            }
            let unit = format!("tc-{p}-{name}-{c}");
            let compiled =
                nvrtc::compile(&unit, &source, true).unwrap_or_else(|e| panic!("{unit}: {e}"));
            for k in &names {
                assert!(
                    compiled.ptx.contains(&format!(".entry {k}(")),
                    "{unit}: {k} missing from the PTX"
                );
            }
            let mma = match p {
                Precision::Bf16 => "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32",
                _ => "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32",
            };
            for instr in [
                mma,
                "ldmatrix.sync.aligned",
                "cp.async",
                "cp.async.wait_group",
            ] {
                assert!(
                    compiled.ptx.contains(instr),
                    "{unit}: no {instr} in the PTX"
                );
            }
            let cubin = compiled.cubin.unwrap();
            assert_eq!(&cubin[..4], b"\x7fELF", "{unit}: a CUBIN is an ELF image");
        }
    }
    assert_eq!(variants, 2 * CASES.len() * GRID.len());
}
