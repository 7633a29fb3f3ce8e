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
//! **FLOPs upper bound.** After the reduction stage the iterators are fixed: the output axes
//! and the reductions. The planner's cheapest evaluation costs at most the naive single loop
//! nest over all of them, which multiplies the tensors at every point (one multiply-add per
//! weight), so `(max_tensors − 1) · Σ_bindings numel(output) · Π reductions` bounds every
//! leaf's FLOPs from above; below the window's minimum, no leaf fits.
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
    let mut need_weight = st.weights() == 0;
    // Reductions that reach the frontier without a weight can only meet one through a future
    // contraction (only a Share clears them); over the pooling bound one is needed.
    let bare = st.dims.iter().fold(0u8, |a, d| a | d.bare);
    if bare != 0 {
        let pooled: f64 = st
            .reductions
            .iter()
            .enumerate()
            .filter(|(i, _)| bare & (1 << i) != 0)
            .map(|(_, &r)| cfg.max_value(r))
            .product();
        if pooled > b.max_pooling_factor {
            need_weight = true;
        }
    }
    // Primary tokens: when every input axis holds exactly one primary variable to the first
    // power, a frontier dim holding t ≥ 2 primary tokens must be cut by t − 1 Merges unless a
    // contraction can remove it whole (a created axis).
    let mut merges_needed = 0u32;
    let mut merges_if_no_weight = 0u32;
    if cfg.single_primary_inputs {
        for d in &st.dims {
            let t: u32 = d
                .size
                .primary_exponents()
                .iter()
                .map(|&e| e.max(0) as u32)
                .sum();
            if t >= 2 {
                if d.has_output {
                    merges_if_no_weight += t - 1;
                } else {
                    merges_needed += t - 1;
                }
            }
        }
    }
    // Pure reductions (no output, no weight below) whose size is not an input size cannot be
    // created away; each needs a Split (two per step), Merge or Unfold to consume it.
    let mut hard: Vec<_> = st
        .dims
        .iter()
        .filter(|d| d.only_reduce() && d.weights == 0)
        .map(|d| d.size)
        .collect();
    hard.sort();
    let hard_unmatched = multiset_difference(&hard, d) as u32;
    // Foreign primaries (in no input axis, like `C_out`) leave the data side only through a
    // created axis or an Unfold window. A pure reduction holding one cannot be created (unless
    // low-rank sized), so some Split, Merge or Unfold must touch it first.
    let foreign_reduce = st
        .dims
        .iter()
        .filter(|x| {
            x.only_reduce()
                && x.size
                    .primary_exponents()
                    .iter()
                    .zip(&cfg.foreign_primaries)
                    .any(|(&e, &f)| f && e > 0)
                && !cfg.weight_sharing_ok(x.size)
        })
        .count() as u32;
    // After a contraction, views must touch the latest weight's dims (exact rule), so with no
    // contraction left a frozen dim changes only as the partner of a fresh dim in a Split or
    // Unfold (one each).
    let mut frozen: Vec<_> = match st.weights() {
        0 => Vec::new(),
        w => st
            .dims
            .iter()
            .filter(|x| x.weights & (1 << (w - 1)) == 0)
            .map(|x| x.size)
            .collect(),
    };
    frozen.sort();
    let frozen_unmatched = multiset_difference(&frozen, d) as u32;
    let mut ratio_not_one = false;
    if !st.reducing {
        let numel = product(f.iter().copied())?;
        let ratio = numel.checked_div(cfg.input_numel)?;
        if !ratio.is_one() {
            if ratio.has_primary_in_denominator() || !cfg.integral(ratio) {
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
                if m < merges_needed || (c == 0 && m < merges_needed + merges_if_no_weight) {
                    continue;
                }
                for s in 0..=rs {
                    if s + 2 * m + r < delta_d {
                        continue;
                    }
                    for u in 0..=ru {
                        if c == 0 && 2 * s + m + u < delta_f {
                            continue;
                        }
                        if 2 * s + m + u < hard_unmatched.max(foreign_reduce) {
                            continue;
                        }
                        if c == 0 && s + u < frozen_unmatched {
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

/// `|a \ b|` for sorted multisets.
fn multiset_difference<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    a.len() - common
}

/// After the reduction stage: an upper bound on the FLOPs of every leaf below `st` (the naive
/// loop nest over outputs and reductions, summed over bindings).
pub fn flops_upper_bound(cfg: &Config, st: &State) -> f64 {
    let weights = cfg.budgets().max_tensors.saturating_sub(1) as f64;
    if let Some(red) = product(st.reductions.iter().copied()) {
        return weights * cfg.output_weighted(red);
    }
    weights
        * cfg
            .bindings()
            .iter()
            .map(|b| {
                let out: f64 = cfg.spec.output.iter().map(|d| d.size.eval_f64(b)).product();
                let red: f64 = st.reductions.iter().map(|r| r.eval_f64(b)).product();
                out * red
            })
            .sum::<f64>()
}
