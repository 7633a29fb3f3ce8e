//! Admissible bounds used to prune: the shape distance (steps still needed to reach the input
//! shape) and the FLOPs lower bound.
//!
//! **Shape distance.** Bottom-up, the remaining steps act on the multiset `F` of frontier sizes
//! until it equals the multiset `D` of input sizes. Let `Δ_F = |F \ D|` (sizes that must
//! disappear) and `Δ_D = |D \ F|` (sizes that must appear). A Split removes at most two sizes
//! and adds one; a Merge removes one and adds two; an Unfold removes only its window's size
//! (its main size comes back); a Shift changes nothing; a Reduce adds one; a Contraction can
//! remove any number (created axes) but adds none. Hence with `M` Merges, `S` Splits, `U`
//! Unfolds, `R` Reduces and `C` Contractions still to come, `S + 2M + R ≥ Δ_D`, and
//! `2S + M + U ≥ Δ_F` unless `C ≥ 1`. The numel of the frontier only shrinks by Unfold
//! windows and created axes (and grows by Reduces), so after the reduction stage the quotient
//! `numel(F) / numel(D)` must be a legal size; when it is not 1 some Unfold or Contraction is
//! needed, and with no weight left it must be odd (a product of odd windows). A complete
//! operator has at least one weight. The distance is the least `M + S + U + R + C` within the
//! remaining budgets; `None` means no completion exists.
//!
//! **FLOPs lower bound.** Every staged evaluation has a last stage iterating over all output
//! points, and the stage that first reads the input iterates over at least every input
//! element (without Strides every input element is read). Both are summed over bindings.

use crate::config::{Config, product};
use crate::state::State;

/// Least number of steps still needed from `st`, or `None` when no leaf can follow.
pub fn shape_distance(cfg: &Config, st: &State) -> Option<u32> {
    let b = cfg.budgets();
    let mut f: Vec<_> = st.dims.iter().map(|d| d.size).collect();
    f.sort();
    let d = &cfg.input_sizes;
    // Multiset intersection of two sorted lists.
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < f.len() && j < d.len() {
        match f[i].cmp(&d[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let delta_f = (f.len() - common) as u32;
    let delta_d = (d.len() - common) as u32;
    let rem = |max: u32, used: u8| max.saturating_sub(used as u32);
    let rm = rem(b.max_merges, st.counts.merges);
    let rs = rem(b.max_splits, st.counts.splits);
    let ru = rem(b.max_unfolds, st.counts.unfolds);
    let rc = (b.max_tensors - 1).saturating_sub(st.weights() as u32);
    let rr = if st.reducing {
        b.max_reductions.saturating_sub(st.reductions.len() as u32)
    } else {
        0
    };
    let need_weight = st.weights() == 0;
    let mut ratio_not_one = false;
    if !st.reducing {
        let numel = product(f.iter().copied())?;
        let ratio = numel.checked_div(cfg.input_numel)?;
        if !ratio.is_one() {
            if ratio.has_primary_in_denominator()
                || !cfg.bindings().iter().all(|x| ratio.eval(x).is_some())
            {
                return None;
            }
            ratio_not_one = true;
            if rc == 0 && (ru == 0 || !cfg.odd(ratio)) {
                return None;
            }
        }
    }
    let mut best: Option<u32> = None;
    for c in 0..=rc {
        if need_weight && c == 0 {
            continue;
        }
        for r in 0..=rr {
            for m in 0..=rm {
                for s in 0..=rs {
                    if s + 2 * m + r < delta_d {
                        continue;
                    }
                    for u in 0..=ru {
                        if c == 0 && 2 * s + m + u < delta_f {
                            continue;
                        }
                        if ratio_not_one && u + c == 0 {
                            continue;
                        }
                        let total = c + r + m + s + u;
                        if best.is_none_or(|x| total < x) {
                            best = Some(total);
                        }
                    }
                }
            }
        }
    }
    best
}

/// A lower bound on the FLOPs (multiply-adds summed over bindings) of every leaf of the spec
/// (it does not depend on the node; see the module docs).
pub fn flops_lower_bound(cfg: &Config) -> f64 {
    cfg.output_volume.max(cfg.input_volume)
}
