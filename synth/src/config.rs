//! The synthesis configuration derived from a slot spec: target shapes, candidate sizes,
//! variable allowances and per-binding evaluation helpers.

use crate::error::{Result, SynthError};
use kas_primitives::size::MAX_VARS;
use kas_primitives::{Binding, Budgets, Size, Spec, VarKind};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Occurrence limit of a variable without an explicit one (Syno's default).
pub(crate) const DEFAULT_MAX_OCCURRENCES: i16 = 3;

/// One searched axis of the slot: an output axis synthesis starts from or an input axis it
/// must reach (axes of fixed pairs excluded).
#[derive(Debug, Clone, Copy)]
pub struct SearchedAxis {
    /// Position in the spec's shape.
    pub index: u8,
    /// Its size.
    pub size: Size,
    /// Channel-like.
    pub unordered: bool,
}

/// Memoized evaluations of one size.
#[derive(Debug, Clone, Copy)]
struct SizeInfo {
    legal: bool,
    integral: bool,
    odd: bool,
    max: f64,
    min: f64,
    out_weighted: f64,
}

/// Most entries of the per-thread evaluation cache (it is cleared when full).
const INFO_ENTRIES: usize = 1 << 20;

/// A per-thread cache of size evaluations: the config id it holds, then entries by
/// [`info_key`] (an entry whose size differs is a key collision: recomputed, not cached).
type InfoCache = (u64, Option<crate::mix::KeyMap<(Size, SizeInfo)>>);

thread_local! {
    /// Per-thread size evaluations of the config with the given id.
    static INFO_CACHE: RefCell<InfoCache> = const { RefCell::new((0, None)) };
}

/// Slots of the per-thread direct-mapped front of the evaluation cache (a power of two; small
/// enough to stay in the core's own cache, unlike the large map behind it).
const RECENT_SLOTS: usize = 1 << 12;

/// The direct-mapped front: the config id it holds, then one size per slot.
type RecentInfo = (u64, Box<[Option<(Size, SizeInfo)>]>);

thread_local! {
    /// Recently evaluated sizes of the config with the given id, by [`info_key`] bits.
    static RECENT_INFO: RefCell<RecentInfo> =
        RefCell::new((0, vec![None; RECENT_SLOTS].into_boxed_slice()));
}

/// A cheap well-mixed hash of `s` (keys of the per-thread caches and the feasibility memo).
pub(crate) fn info_key(s: Size) -> u64 {
    let w = |e: &[i8; MAX_VARS]| u64::from_le_bytes(e.map(|x| x as u8));
    let h = w(s.primary_exponents()).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ w(s.coefficient_exponents()).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    (h ^ (h >> 32)).wrapping_mul(0x1656_67b1_9e37_79f9)
}

/// A per-thread cache of Merge cuts: the config id it holds, then cuts by [`info_key`].
type CutsCache = (u64, crate::mix::KeyMap<(Size, Rc<[(Size, Size)]>)>);

thread_local! {
    /// Per-thread legal Merge cuts of sizes of the config with the given id.
    static CUTS_CACHE: RefCell<CutsCache> =
        RefCell::new((0, Default::default()));
}

/// Source of config ids (0 is never used).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Everything synthesis needs from a spec, precomputed.
#[derive(Debug, Clone)]
pub struct Config {
    /// Identity of this config for the per-thread evaluation cache.
    id: u64,
    /// The spec.
    pub spec: Spec,
    /// Output axes synthesis starts from (not in a fixed pair).
    pub outputs: Vec<SearchedAxis>,
    /// Input axes synthesis must reach (not in a fixed pair).
    pub inputs: Vec<SearchedAxis>,
    /// Sorted sizes of `inputs` (the finalization test).
    pub input_sizes: Vec<Size>,
    /// Π sizes of `inputs`.
    pub input_numel: Size,
    /// Candidate reduction domains and Merge blocks, sorted.
    pub candidates: Vec<Size>,
    /// Occurrence limit per variable: primary `0..MAX_VARS`, coefficient `MAX_VARS..`.
    pub allowance: [i16; 2 * MAX_VARS],
    /// Every searched input axis holds exactly one primary variable, to the first power.
    pub single_primary_inputs: bool,
    /// The bindings with distinct values (legality and min/max checks need only these).
    pub distinct_bindings: Vec<Binding>,
    /// Per primary variable: it occurs in no searched input axis.
    pub foreign_primaries: [bool; MAX_VARS],
    /// Σ over bindings of the output numel (including fixed axes).
    pub output_volume: f64,
    /// Σ over bindings of the input numel (including fixed axes).
    pub input_volume: f64,
}

impl Config {
    /// Prepares synthesis for `spec`.
    pub fn new(spec: Spec) -> Result<Config> {
        let bad = |reason: String| SynthError::Spec {
            spec: spec.name.clone(),
            reason,
        };
        if spec.budgets.max_tensors < 2 {
            return Err(bad("max_tensors must allow at least one weight".into()));
        }
        let fixed_in: Vec<usize> = spec.fixed.iter().map(|p| p.0).collect();
        let fixed_out: Vec<usize> = spec.fixed.iter().map(|p| p.1).collect();
        let target = |i: usize, d: &kas_primitives::spec::ShapeDim| SearchedAxis {
            index: i as u8,
            size: d.size,
            unordered: d.unordered,
        };
        let outputs: Vec<SearchedAxis> = spec
            .output
            .iter()
            .enumerate()
            .filter(|(i, _)| !fixed_out.contains(i))
            .map(|(i, d)| target(i, d))
            .collect();
        let inputs: Vec<SearchedAxis> = spec
            .input
            .iter()
            .enumerate()
            .filter(|(i, _)| !fixed_in.contains(i))
            .map(|(i, d)| target(i, d))
            .collect();
        if outputs.is_empty() || inputs.is_empty() {
            return Err(bad("every axis is in a fixed pair".into()));
        }
        if outputs.len() > 8 || inputs.len() > 8 {
            return Err(bad("at most 8 searched axes per shape".into()));
        }
        let mut input_sizes: Vec<Size> = inputs.iter().map(|t| t.size).collect();
        input_sizes.sort();
        let input_numel = product(input_sizes.iter().copied())
            .ok_or_else(|| bad("input numel overflows".into()))?;
        let mut allowance = [0i16; 2 * MAX_VARS];
        for (i, v) in spec.vars.primary.iter().enumerate() {
            allowance[i] = v
                .max_occurrences
                .map_or(DEFAULT_MAX_OCCURRENCES, |o| o as i16);
        }
        for (i, v) in spec.vars.coefficient.iter().enumerate() {
            allowance[MAX_VARS + i] = v
                .max_occurrences
                .map_or(DEFAULT_MAX_OCCURRENCES, |o| o as i16);
        }
        let vol = |shape: &[kas_primitives::spec::ShapeDim]| -> f64 {
            spec.bindings
                .iter()
                .map(|b| shape.iter().map(|d| d.size.eval_f64(b)).product::<f64>())
                .sum()
        };
        let output_volume = vol(&spec.output);
        let input_volume = vol(&spec.input);
        let single_primary_inputs = inputs.iter().all(|t| {
            let e = t.size.primary_exponents();
            e.iter().filter(|&&x| x != 0).count() == 1 && e.iter().all(|&x| x == 0 || x == 1)
        });
        let mut foreign_primaries = [true; MAX_VARS];
        for t in &inputs {
            for (i, &e) in t.size.primary_exponents().iter().enumerate() {
                if e != 0 {
                    foreign_primaries[i] = false;
                }
            }
        }
        let mut distinct_bindings: Vec<Binding> = Vec::new();
        for b in &spec.bindings {
            if !distinct_bindings
                .iter()
                .any(|d| d.primary == b.primary && d.coeff == b.coeff)
            {
                distinct_bindings.push(b.clone());
            }
        }
        let mut cfg = Config {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            distinct_bindings,
            foreign_primaries,
            single_primary_inputs,
            outputs,
            inputs,
            input_sizes,
            input_numel,
            candidates: Vec::new(),
            allowance,
            output_volume,
            input_volume,
            spec,
        };
        cfg.candidates = cfg.enumerate_candidates();
        Ok(cfg)
    }

    /// The budgets.
    pub fn budgets(&self) -> &Budgets {
        &self.spec.budgets
    }

    /// The bindings.
    pub fn bindings(&self) -> &[Binding] {
        &self.spec.bindings
    }

    /// Whether `s` is a legal size: no primary in a denominator, an integer ≥ 1 under every
    /// binding, within the size-complexity budgets.
    pub(crate) fn legal(&self, s: Size) -> bool {
        // The structural conditions are cheaper than the cache lookup.
        let b = self.budgets();
        if s.has_primary_in_denominator()
            || s.variable_count() > b.max_variables_in_size as usize
            || s.total_power() > b.max_variable_powers_in_size
        {
            return false;
        }
        self.info(s).legal
    }

    /// Largest value of `s` over the bindings.
    pub(crate) fn max_value(&self, s: Size) -> f64 {
        self.info(s).max
    }

    /// Whether `s` may be a weight-sharing (low-rank) axis: its largest value over the
    /// bindings lies in the spec's `weight_sharing_size` range. Syno bounds the size's upper
    /// estimate over the bindings, not every binding's value, so a bottleneck like
    /// `C_out/(g·s)` (1 to 8 across ResNet-18's layers) qualifies under `[8, 8]`.
    pub(crate) fn weight_sharing_ok(&self, s: Size) -> bool {
        let (lo, hi) = self.budgets().weight_sharing_size;
        let max = self.max_value(s);
        max >= lo as f64 && max <= hi as f64
    }

    /// Smallest value of `s` over the bindings.
    pub(crate) fn min_value(&self, s: Size) -> f64 {
        self.info(s).min
    }

    /// Whether `s` is an odd integer under every binding.
    pub(crate) fn odd(&self, s: Size) -> bool {
        self.info(s).odd
    }

    /// The legal cuts `(group, block)` of `s` by a candidate block (`group · block = s`,
    /// `group ≠ 1`), in candidate order; memoized per thread.
    pub(crate) fn cuts(&self, s: Size) -> Rc<[(Size, Size)]> {
        let key = info_key(s);
        let hit = CUTS_CACHE.with(|c| {
            let c = c.borrow();
            if c.0 != self.id {
                return None;
            }
            match c.1.get(&key) {
                Some((k, v)) if *k == s => Some(v.clone()),
                _ => None,
            }
        });
        if let Some(v) = hit {
            return v;
        }
        let v: Rc<[(Size, Size)]> = self
            .candidates
            .iter()
            .filter_map(|&block| {
                let g = s.checked_div(block)?;
                (!g.is_one() && self.legal(g)).then_some((g, block))
            })
            .collect();
        CUTS_CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.0 != self.id || c.1.len() >= INFO_ENTRIES {
                c.0 = self.id;
                c.1.clear();
            }
            c.1.entry(key).or_insert_with(|| (s, v.clone()));
        });
        v
    }

    /// `Σ_bindings numel(output) · s` (memoized like the other evaluations).
    pub(crate) fn output_weighted(&self, s: Size) -> f64 {
        let i = self.info(s);
        if !i.out_weighted.is_nan() {
            return i.out_weighted;
        }
        let v = self
            .bindings()
            .iter()
            .map(|b| {
                let out: f64 = self
                    .spec
                    .output
                    .iter()
                    .map(|d| d.size.eval_f64(b))
                    .product();
                out * s.eval_f64(b)
            })
            .sum();
        INFO_CACHE.with(|c| {
            if let Some(Some((k, i))) = c.borrow_mut().1.as_mut().map(|m| m.get_mut(&info_key(s)))
                && *k == s
            {
                i.out_weighted = v;
            }
        });
        RECENT_INFO.with(|r| {
            let mut r = r.borrow_mut();
            let slot = (info_key(s) as usize) & (RECENT_SLOTS - 1);
            if r.0 == self.id
                && let Some((k, i)) = r.1[slot].as_mut()
                && *k == s
            {
                i.out_weighted = v;
            }
        });
        v
    }

    /// Whether `s` is a positive integer (fitting in `u64`) under every binding.
    pub(crate) fn integral(&self, s: Size) -> bool {
        self.info(s).integral
    }

    /// The evaluations of `s` over the distinct bindings, memoized per thread (they are pure
    /// functions of the size and the spec, so the cache changes no answer).
    fn info(&self, s: Size) -> SizeInfo {
        let key = info_key(s);
        let slot = (key as usize) & (RECENT_SLOTS - 1);
        let recent = RECENT_INFO.with(|r| {
            let r = r.borrow();
            match &r.1[slot] {
                Some((k, i)) if r.0 == self.id && *k == s => Some(*i),
                _ => None,
            }
        });
        if let Some(i) = recent {
            return i;
        }
        let i = INFO_CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.0 != self.id || c.1.as_ref().is_none_or(|m| m.len() >= INFO_ENTRIES) {
                c.0 = self.id;
                c.1 = Some(Default::default());
            }
            let map = c.1.as_mut().expect("initialized above");
            match map.get(&key) {
                Some((k, i)) if *k == s => *i,
                Some(_) => self.compute_info(s),
                None => {
                    let i = self.compute_info(s);
                    map.insert(key, (s, i));
                    i
                }
            }
        });
        RECENT_INFO.with(|r| {
            let mut r = r.borrow_mut();
            if r.0 != self.id {
                r.0 = self.id;
                r.1.iter_mut().for_each(|x| *x = None);
            }
            r.1[slot] = Some((s, i));
        });
        i
    }

    fn compute_info(&self, s: Size) -> SizeInfo {
        let b = self.budgets();
        let integral = self.distinct_bindings.iter().all(|x| s.eval(x).is_some());
        SizeInfo {
            legal: !s.has_primary_in_denominator()
                && s.variable_count() <= b.max_variables_in_size as usize
                && s.total_power() <= b.max_variable_powers_in_size
                && integral,
            integral,
            odd: self
                .distinct_bindings
                .iter()
                .all(|b| s.eval(b).is_some_and(|v| v % 2 == 1)),
            max: self
                .distinct_bindings
                .iter()
                .map(|b| s.eval_f64(b))
                .fold(0.0, f64::max),
            min: self
                .distinct_bindings
                .iter()
                .map(|b| s.eval_f64(b))
                .fold(f64::INFINITY, f64::min),
            out_weighted: f64::NAN,
        }
    }

    /// Occurrences of each variable in `s` (absolute exponents).
    pub(crate) fn usage(s: Size) -> [i16; 2 * MAX_VARS] {
        let mut u = [0i16; 2 * MAX_VARS];
        for i in 0..MAX_VARS {
            u[i] = s.exponent(VarKind::Primary, i).unsigned_abs() as i16;
            u[MAX_VARS + i] = s.exponent(VarKind::Coefficient, i).unsigned_abs() as i16;
        }
        u
    }

    /// Occurrences a weight axis of size `s` uses: its primary part only (as in Syno).
    pub(crate) fn weight_usage(s: Size) -> [i16; 2 * MAX_VARS] {
        let mut u = Config::usage(s);
        for x in &mut u[MAX_VARS..] {
            *x = 0;
        }
        u
    }

    /// Whether `used + add` stays within the allowance.
    pub(crate) fn fits(&self, used: &[i16; 2 * MAX_VARS], add: &[i16; 2 * MAX_VARS]) -> bool {
        (0..2 * MAX_VARS).all(|i| add[i] == 0 || used[i] + add[i] <= self.allowance[i])
    }

    /// Whether `used + usage(s)` stays within the allowance.
    pub(crate) fn within_allowance(&self, used: &[i16; 2 * MAX_VARS], s: Size) -> bool {
        let u = Config::usage(s);
        (0..2 * MAX_VARS).all(|i| u[i] == 0 || used[i] + u[i] <= self.allowance[i])
    }

    /// Legal sizes other than 1 with primary exponents in `0..=min(allowance, E-1)` and
    /// coefficient exponents in `[⌊E/2⌋−E+1, ⌊E/2⌋]` (`E` = `max_enumerations_per_var`),
    /// sorted.
    fn enumerate_candidates(&self) -> Vec<Size> {
        let e = self.budgets().max_enumerations_per_var.max(1) as i16;
        let np = self.spec.vars.primary.len();
        let nc = self.spec.vars.coefficient.len();
        let mut ranges: Vec<(VarKind, usize, i16, i16)> = Vec::new();
        for i in 0..np {
            ranges.push((VarKind::Primary, i, 0, self.allowance[i].min(e - 1)));
        }
        for i in 0..nc {
            let hi = (e / 2).min(self.allowance[MAX_VARS + i]);
            let lo = (e / 2 - e + 1).max(-self.allowance[MAX_VARS + i]);
            ranges.push((VarKind::Coefficient, i, lo, hi));
        }
        let mut out = Vec::new();
        let mut cur = vec![0i16; ranges.len()];
        for (k, r) in ranges.iter().enumerate() {
            cur[k] = r.2;
        }
        loop {
            let mut s = Size::ONE;
            for (k, r) in ranges.iter().enumerate() {
                for _ in 0..cur[k].unsigned_abs() {
                    let v = Size::var(r.0, r.1);
                    s = if cur[k] > 0 { s * v } else { s / v };
                }
            }
            if !s.is_one() && self.legal(s) {
                out.push(s);
            }
            // Odometer increment.
            let mut k = 0;
            loop {
                if k == ranges.len() {
                    out.sort();
                    out.dedup();
                    return out;
                }
                if cur[k] < ranges[k].3 {
                    cur[k] += 1;
                    break;
                }
                cur[k] = ranges[k].2;
                k += 1;
            }
        }
    }
}

/// Π of sizes, `None` on exponent overflow.
pub(crate) fn product(sizes: impl IntoIterator<Item = Size>) -> Option<Size> {
    sizes
        .into_iter()
        .try_fold(Size::ONE, |a, s| a.checked_mul(s))
}
