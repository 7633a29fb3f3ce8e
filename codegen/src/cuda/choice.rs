//! Choosing how each stage is computed under a binding: the stages' extents, their
//! matrix-product views ([`contractions`]), and a schedule picked without timing
//! ([`heuristic_schedule`]) or by a seed ([`varied_schedule`]).

use crate::contraction::Contraction;
use crate::error::{Error, Result};
use crate::precision::Precision;
use crate::schedule::{Schedule, StageSchedule};
use crate::stage::StageIr;
use kas_primitives::Binding;

/// The concrete extents of one stage's result and reductions under a binding.
pub(super) struct StageShape {
    /// Extents of the result, in result order.
    pub result: Vec<u64>,
    /// Extents of the reductions.
    pub red: Vec<u64>,
}

/// Most elements of a tensor or a stage's result, and most iterations (result elements times
/// reduction elements) of a stage, that kas generates code for: 2^48, beyond any device's
/// memory, so that no product of extents overflows and no work proportional to the sizes
/// runs away.
pub const MAX_ELEMENTS: u128 = 1 << 48;

/// Elements of a shape, saturated at `u128::MAX`.
fn elements(shape: &[u64]) -> u128 {
    shape
        .iter()
        .fold(1u128, |a, &x| a.saturating_mul(u128::from(x)))
}

/// The extents of every stage under `binding`; an error when a tensor, a stage's result or a
/// stage's iteration space has more than [`MAX_ELEMENTS`] elements.
pub(super) fn stage_shapes(ir: &StageIr, binding: &Binding) -> Result<Vec<StageShape>> {
    let op = &ir.op;
    let conc = |ds: &[kas_primitives::DimId]| -> Result<Vec<u64>> {
        Ok(op
            .concrete(ds, binding)?
            .into_iter()
            .map(|x| x as u64)
            .collect())
    };
    let bound = |what: String, n: u128| -> Result<()> {
        if n > MAX_ELEMENTS {
            return Err(Error::TooLarge {
                binding: binding.name.clone(),
                what,
                elements: n,
            });
        }
        Ok(())
    };
    for t in 0..op.tensor_count() {
        let what = if t == 0 {
            "the input".to_string()
        } else {
            format!("weight {t}")
        };
        bound(what, elements(&conc(op.tensor_axes(t))?))?;
    }
    ir.stages
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let shape = StageShape {
                result: conc(&st.result_dims)?,
                red: conc(&st.summed)?,
            };
            let out = elements(&shape.result);
            bound(format!("stage {i}'s result"), out)?;
            bound(
                format!("stage {i}'s iteration space"),
                out.saturating_mul(elements(&shape.red)),
            )?;
            Ok(shape)
        })
        .collect()
}

/// The matrix-product view of every stage under `binding` (`None` for a stage the tiled
/// kernel cannot compute).
pub fn contractions(ir: &StageIr, binding: &Binding) -> Result<Vec<Option<Contraction>>> {
    let shapes = stage_shapes(ir, binding)?;
    Ok(ir
        .stages
        .iter()
        .zip(&shapes)
        .map(|(st, sh)| Contraction::of(st, &sh.result, &sh.red, binding))
        .collect())
}

/// A schedule chosen without timing ([`crate::schedule::heuristic`] per stage).
pub fn heuristic_schedule(ir: &StageIr, binding: &Binding) -> Result<Schedule> {
    Ok(Schedule {
        stages: contractions(ir, binding)?
            .iter()
            .map(|c| crate::schedule::heuristic(c.as_ref()))
            .collect(),
    })
}

/// A schedule chosen without timing at precision `p`: each contraction on tensor cores
/// ([`crate::tensor_core::heuristic`]) where `p` has them; otherwise the f32 choice
/// ([`crate::schedule::heuristic`]), except that at bf16 storage, which the SIMT tiled kernel
/// does not read, a contraction falls back to the flat kernel.
pub fn precise_schedule(ir: &StageIr, binding: &Binding, p: Precision) -> Result<Schedule> {
    Ok(Schedule {
        stages: contractions(ir, binding)?
            .iter()
            .map(|c| {
                let tc = c.as_ref().and_then(|c| crate::tensor_core::heuristic(c, p));
                match (tc, c) {
                    (Some(t), _) => StageSchedule::TensorCore(t),
                    (None, Some(_)) if p == Precision::Bf16 => StageSchedule::Flat,
                    (None, c) => crate::schedule::heuristic(c.as_ref()),
                }
            })
            .collect(),
    })
}

/// The schedules worth timing for a stage at precision `p`: at f32
/// [`crate::schedule::candidates`]; at TF32 the tensor-core tiles
/// ([`crate::tensor_core::candidates`]) and the f32 ones (f32 storage: the SIMT kernels run
/// too, more precisely); at bf16 the tensor-core tiles, the direct and the flat kernel (the SIMT
/// tiled kernel does not read bf16).
pub fn precise_candidates(c: Option<&Contraction>, p: Precision) -> Vec<StageSchedule> {
    let tc = c
        .map(|c| crate::tensor_core::candidates(c, p))
        .unwrap_or_default()
        .into_iter()
        .map(StageSchedule::TensorCore);
    match p {
        Precision::F32 => crate::schedule::candidates(c),
        Precision::Tf32 => crate::schedule::candidates(c)
            .into_iter()
            .chain(tc)
            .collect(),
        Precision::Bf16 => crate::schedule::candidates(c)
            .into_iter()
            .filter(|s| matches!(s, StageSchedule::Direct | StageSchedule::Flat))
            .chain(tc)
            .collect(),
    }
}

/// A schedule with, for each stage, one of its tiled candidates picked by `seed` (the direct
/// kernel where there is none): differential tests cover the tile shapes this way.
pub fn varied_schedule(ir: &StageIr, binding: &Binding, seed: u64) -> Result<Schedule> {
    varied_precise_schedule(ir, binding, Precision::F32, seed)
}

/// Like [`varied_schedule`] at precision `p`: each stage one of its candidates at `p`
/// ([`precise_candidates`]) other than the direct kernel, a tensor-core tile wherever the stage
/// has one (so that differential tests cover the tensor-core tiles).
pub fn varied_precise_schedule(
    ir: &StageIr,
    binding: &Binding,
    p: Precision,
    seed: u64,
) -> Result<Schedule> {
    let mut x = seed;
    Ok(Schedule {
        stages: contractions(ir, binding)?
            .iter()
            .map(|c| {
                let mut cands = precise_candidates(c.as_ref(), p);
                if cands
                    .iter()
                    .any(|s| matches!(s, StageSchedule::TensorCore(_)))
                {
                    cands.retain(|s| matches!(s, StageSchedule::TensorCore(_)));
                    cands.insert(0, StageSchedule::Direct);
                }
                // splitmix64
                x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                match cands.len() {
                    0 | 1 => StageSchedule::Direct,
                    n => cands[1 + (z % (n as u64 - 1)) as usize],
                }
            })
            .collect(),
    })
}
