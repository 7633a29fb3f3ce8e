//! An exact feasibility test on a relaxation of the search: only the multiset of frontier
//! dims (each a size with a few provenance flags), the remaining budgets and the variable
//! allowance are kept.
//!
//! A relaxed dim is its size and a [`Tag`]: whether some reduction lies below it, some output
//! iterator, some weight, and whether it is directly a reduction. In the relaxation a Split
//! joins any two dims into their (legal) product, a Merge cuts any dim by any candidate block,
//! an Unfold removes any odd dim within the window bounds next to a large enough one, and a
//! Contraction removes any sub-multiset of at most [`MAX_WEIGHT_AXES`] dims whose primary parts
//! fit the allowance and which the real search may create (a reduction-only axis needs a weight
//! below it and a size within `weight_sharing_size`; the other created axes stay within
//! `max_expansion_merge_multiplier`), then marks every remaining dim as weighted (any of them
//! may have been shared). The filters on those flags (no Merge on a reduction, no Unfold of a
//! reduction-only main, ...) apply exactly when the real search applies them. Every real step
//! maps to a relaxed step of the same cost whose flags are at least as permissive, and the
//! real filters not expressible on flags are dropped, so "no relaxed completion within the
//! remaining depth" proves that the real node has no leaf: the test is admissible.
//!
//! The relaxed search is a depth-first search in a fixed order whose *cost* (relaxed states
//! visited) is a pure function of its start; a query gives up, answering "maybe feasible",
//! when that cost exceeds its budget ([`REDUCING_QUERY_BUDGET`] in the reduction stage).
//! Memoized answers carry their cost (and truncated searches a lower bound on it), so a memo
//! hit consumes exactly what recomputing would: the answer never depends on what other threads
//! computed first.

use crate::config::Config;
use crate::config::info_key;
use crate::dim::DimNode;
use crate::generate::MAX_WEIGHT_AXES;
use crate::mix::mix;
use crate::rules::{Filters, Rule};
use crate::state::State;
use kas_primitives::Size;
use kas_primitives::size::MAX_VARS;
use smallvec::SmallVec;
use std::cell::RefCell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

const SHARDS: usize = 64;

/// Relaxed states one query from the reduction stage may visit before answering "maybe"
/// (after the reduction stage queries are exact: their search space is small).
pub(crate) const REDUCING_QUERY_BUDGET: u64 = 200;

/// Most entries of a thread's copy of exact answers (cleared when full).
const LOCAL_ENTRIES: usize = 1 << 21;

/// Source of [`Feasibility`] ids (0 is never used).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Exact answers of the [`Feasibility`] with the given id, copied from its shared memo.
    static LOCAL_DONE: RefCell<(u64, crate::mix::KeyMap<(bool, u64)>)> =
        RefCell::new((0, Default::default()));
}

/// Provenance flags of a relaxed dim (bit set).
pub(crate) type Tag = u8;
/// Some reduction lies below the dim.
pub(crate) const TAG_REDUCE: Tag = 1;
/// Some output iterator lies below the dim.
pub(crate) const TAG_OUTPUT: Tag = 2;
/// Some weight lies below the dim.
pub(crate) const TAG_WEIGHT: Tag = 4;
/// The dim is directly a reduction (no step between).
pub(crate) const TAG_BARE: Tag = 8;

/// The relaxed flags of a real dim.
pub(crate) fn tag(d: &DimNode) -> Tag {
    (d.has_reduce as Tag * TAG_REDUCE)
        | (d.has_output as Tag * TAG_OUTPUT)
        | ((d.weights != 0) as Tag * TAG_WEIGHT)
        | (d.is_bare_reduce() as Tag * TAG_BARE)
}

/// Whether only reductions lie below a dim with these flags.
fn only_reduce(t: Tag) -> bool {
    t & (TAG_REDUCE | TAG_OUTPUT) == TAG_REDUCE
}

/// The flags of the dim a view produces from dims with flags `a` and `b`.
fn joined(a: Tag, b: Tag) -> Tag {
    (a | b) & !TAG_BARE
}

/// A relaxed dim.
type Item = (Size, Tag);

/// A memoized result: the exact answer with its cost, or a lower bound on the cost.
#[derive(Debug, Clone, Copy)]
enum Memo {
    Done(bool, u64),
    CostsMoreThan(u64),
}

/// The search ran out of budget.
struct Truncated;

/// Remaining budgets of a relaxed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Budget {
    merges: u32,
    splits: u32,
    unfolds: u32,
    contractions: u32,
    has_weight: bool,
    depth: u32,
    /// Reductions still allowed (0 once the reduction stage is over).
    reductions: u32,
    /// Smallest candidate index of the next reduction.
    next_reduction: usize,
}

/// The memoized relaxed feasibility test.
#[derive(Debug)]
pub struct Feasibility {
    id: u64,
    filters: Filters,
    memo: Vec<Mutex<crate::mix::KeyMap<Memo>>>,
}

impl Default for Feasibility {
    fn default() -> Feasibility {
        Feasibility::new(&Filters::default())
    }
}

/// Relaxed dims of one state, inline up to a typical frontier's length (no allocation).
type Items = SmallVec<[Item; 12]>;

/// Sorted copy of `items` with `changed` added.
fn with(items: impl Iterator<Item = Item>, changed: &[Item]) -> Items {
    let mut v: Items = items.chain(changed.iter().copied()).collect();
    v.sort_unstable();
    v
}

impl Feasibility {
    /// The test for a search whose filters are `filters` (it applies the same ones).
    pub(crate) fn new(filters: &Filters) -> Feasibility {
        Feasibility {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            filters: filters.clone(),
            memo: (0..SHARDS)
                .map(|_| Mutex::new(crate::mix::KeyMap::default()))
                .collect(),
        }
    }

    /// Whether the relaxation of `st` can reach the input shape (in the reduction stage, a
    /// relaxed Reduce adds any later candidate within the allowance).
    pub fn feasible(&self, cfg: &Config, st: &State) -> bool {
        let b = cfg.budgets();
        let rem = |max: u32, used: u8| max.saturating_sub(used as u32);
        let budget = Budget {
            merges: rem(b.max_merges, st.counts.merges),
            splits: rem(b.max_splits, st.counts.splits),
            unfolds: rem(b.max_unfolds, st.counts.unfolds),
            contractions: (b.max_tensors - 1).saturating_sub(st.weights() as u32),
            has_weight: st.weights() > 0,
            depth: b.depth.saturating_sub(st.depth as u32),
            reductions: if st.reducing {
                b.max_reductions.saturating_sub(st.reductions.len() as u32)
            } else {
                0
            },
            next_reduction: if st.reductions.is_empty() {
                0
            } else {
                st.last_reduction
            },
        };
        let mut items: Items = st.dims.iter().map(|d| (d.size, tag(d))).collect();
        items.sort_unstable();
        let allowed = if st.reducing {
            REDUCING_QUERY_BUDGET
        } else {
            u64::MAX
        };
        !matches!(
            self.search(cfg, &items, budget, &st.usage, allowed),
            Ok((false, _))
        )
    }

    /// Whether rule `r` is on.
    fn on(&self, r: Rule) -> bool {
        self.filters.on(r)
    }

    /// `Ok((answer, cost))`, or `Err` when the cost would exceed `allowed`.
    fn search(
        &self,
        cfg: &Config,
        items: &[Item],
        b: Budget,
        usage: &[i16; 2 * MAX_VARS],
        allowed: u64,
    ) -> Result<(bool, u64), Truncated> {
        if allowed == 0 {
            return Err(Truncated);
        }
        if b.has_weight
            && b.reductions == 0
            && items.len() == cfg.input_sizes.len()
            && items.iter().zip(&cfg.input_sizes).all(|(x, s)| x.0 == *s)
        {
            return Ok((true, 1));
        }
        if (b.depth == 0 && b.reductions == 0) || items.is_empty() || !quick_ok(cfg, items, &b) {
            return Ok((false, 1));
        }
        // Budgets are small (at most the depth budget), packed 16 bits each.
        let w = |xs: [u32; 4]| {
            xs.iter()
                .enumerate()
                .fold(0u64, |a, (i, &x)| a | ((x as u64 & 0xffff) << (16 * i)))
        };
        let mut key = mix(0xfea5, w([b.merges, b.splits, b.unfolds, b.contractions]));
        key = mix(key, w([b.has_weight as u32, b.depth, b.reductions, 0]));
        key = mix(key, b.next_reduction as u64);
        for &(s, t) in items {
            key = mix(key, info_key(s) ^ t as u64);
        }
        for u in usage.chunks(4) {
            key = mix(
                key,
                u.iter()
                    .enumerate()
                    .fold(0u64, |a, (i, &x)| a | ((x as u16 as u64) << (16 * i))),
            );
        }
        // Exact answers never change: a per-thread copy answers without the shared lock.
        let local = LOCAL_DONE.with(|c| {
            let c = c.borrow();
            (c.0 == self.id).then(|| c.1.get(&key).copied()).flatten()
        });
        if let Some((v, cost)) = local {
            return if cost <= allowed {
                Ok((v, cost))
            } else {
                Err(Truncated)
            };
        }
        let shard = &self.memo[(key as usize) % SHARDS];
        let found = shard.lock().expect("memo lock").get(&key).copied();
        if let Some(Memo::Done(v, cost)) = found {
            self.remember(key, v, cost);
        }
        match found {
            Some(Memo::Done(v, cost)) => {
                return if cost <= allowed {
                    Ok((v, cost))
                } else {
                    Err(Truncated)
                };
            }
            Some(Memo::CostsMoreThan(c)) if c >= allowed => return Err(Truncated),
            _ => {}
        }
        let mut cx = Cx { spent: 1, allowed };
        let result = self.expand(cfg, items, b, usage, &mut cx);
        let mut memo = shard.lock().expect("memo lock");
        match result {
            Ok(v) => {
                memo.insert(key, Memo::Done(v, cx.spent));
                drop(memo);
                self.remember(key, v, cx.spent);
                Ok((v, cx.spent))
            }
            Err(Truncated) => {
                let known = match memo.get(&key) {
                    Some(&Memo::CostsMoreThan(c)) => c,
                    _ => 0,
                };
                memo.insert(key, Memo::CostsMoreThan(known.max(allowed)));
                Err(Truncated)
            }
        }
    }

    /// Copies an exact answer into this thread's cache.
    fn remember(&self, key: u64, v: bool, cost: u64) {
        LOCAL_DONE.with(|c| {
            let mut c = c.borrow_mut();
            if c.0 != self.id || c.1.len() >= LOCAL_ENTRIES {
                c.0 = self.id;
                c.1.clear();
            }
            c.1.insert(key, (v, cost));
        });
    }

    /// Tries the children of a relaxed state in a fixed order.
    fn expand(
        &self,
        cfg: &Config,
        items: &[Item],
        b: Budget,
        usage: &[i16; 2 * MAX_VARS],
        cx: &mut Cx,
    ) -> Result<bool, Truncated> {
        if b.reductions > 0 {
            let end = Budget { reductions: 0, ..b };
            if cx.child(self.search(cfg, items, end, usage, cx.left()))? {
                return Ok(true);
            }
        }
        if b.depth == 0 {
            return Ok(false);
        }
        let next = Budget {
            depth: b.depth - 1,
            ..b
        };
        // Reduce: add a candidate (reductions form a multiset: non-decreasing indices).
        if b.reductions > 0 {
            for (ci, &r) in cfg.candidates.iter().enumerate().skip(b.next_reduction) {
                if !cfg.within_allowance(usage, r) {
                    continue;
                }
                let mut u = *usage;
                let add = Config::usage(r);
                for k in 0..u.len() {
                    u[k] += add[k];
                }
                let more = with(items.iter().copied(), &[(r, TAG_REDUCE | TAG_BARE)]);
                let nb = Budget {
                    reductions: b.reductions - 1,
                    next_reduction: ci,
                    ..next
                };
                if cx.child(self.search(cfg, &more, nb, &u, cx.left()))? {
                    return Ok(true);
                }
            }
            // Views and contractions come after the reduction stage (tried through its end).
            return Ok(false);
        }
        if b.contractions > 0 && self.contractions(cfg, items, b, next, usage, cx)? {
            return Ok(true);
        }
        if b.unfolds > 0 && self.unfolds(cfg, items, next, usage, cx)? {
            return Ok(true);
        }
        if b.splits > 0 && self.splits(cfg, items, next, usage, cx)? {
            return Ok(true);
        }
        if b.merges > 0 && self.merges(cfg, items, next, usage, cx)? {
            return Ok(true);
        }
        Ok(false)
    }

    /// Contraction: remove a creatable sub-multiset (bit masks; equal dims are tried once via
    /// the sorted order: a copy is removed only if the previous equal copy is), marking the
    /// rest weighted.
    fn contractions(
        &self,
        cfg: &Config,
        items: &[Item],
        b: Budget,
        next: Budget,
        usage: &[i16; 2 * MAX_VARS],
        cx: &mut Cx,
    ) -> Result<bool, Truncated> {
        let bud = cfg.budgets();
        let n = items.len();
        let creatable: Vec<bool> = items
            .iter()
            .map(|&(s, t)| {
                if only_reduce(t) {
                    !(self.on(Rule::CreateOnBareReduce) && t & TAG_WEIGHT == 0)
                        && cfg.weight_sharing_ok(s)
                } else {
                    true
                }
            })
            .collect();
        let low_rank = items
            .iter()
            .zip(&creatable)
            .any(|(x, &c)| c && only_reduce(x.1) && x.1 & TAG_WEIGHT != 0);
        if self.on(Rule::ContractionMatmulLike)
            && !(items.iter().any(|x| x.1 & TAG_REDUCE != 0)
                && (low_rank || items.iter().any(|x| x.1 & TAG_OUTPUT != 0)))
        {
            return Ok(false);
        }
        // Per-item facts as bit sets and precomputed usages: the mask loop is bit tests.
        let bits = |f: &dyn Fn(usize) -> bool| (0..n).fold(0u32, |a, i| a | ((f(i) as u32) << i));
        let not_creatable = bits(&|i| !creatable[i]);
        let duplicate = bits(&|i| i > 0 && items[i] == items[i - 1]);
        let adds: SmallVec<[[i16; 2 * MAX_VARS]; 12]> =
            items.iter().map(|x| Config::weight_usage(x.0)).collect();
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize > MAX_WEIGHT_AXES
                || mask & not_creatable != 0
                || mask & duplicate & !(mask << 1) != 0
            {
                continue;
            }
            let mut u = *usage;
            let mut fits = true;
            let mut outer = Size::ONE;
            for (i, &(s, t)) in items.iter().enumerate() {
                if mask & (1 << i) == 0 {
                    continue;
                }
                let add = &adds[i];
                if !cfg.fits(&u, add) {
                    fits = false;
                    break;
                }
                for k in 0..u.len() {
                    u[k] += add[k];
                }
                if !only_reduce(t) {
                    match outer.checked_mul(s) {
                        Some(o) => outer = o,
                        None => {
                            fits = false;
                            break;
                        }
                    }
                }
            }
            if !fits || cfg.max_value(outer) > bud.max_expansion_merge_multiplier as f64 {
                continue;
            }
            let rest: Items = (0..n)
                .filter(|i| mask & (1 << i) == 0)
                .map(|i| (items[i].0, joined(items[i].1, TAG_WEIGHT)))
                .collect();
            let rest = with(rest.into_iter(), &[]);
            let nb = Budget {
                contractions: b.contractions - 1,
                has_weight: true,
                ..next
            };
            if cx.child(self.search(cfg, &rest, nb, &u, cx.left()))? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Unfold: remove a window next to a large enough main dim, which takes the window's
    /// flags.
    fn unfolds(
        &self,
        cfg: &Config,
        items: &[Item],
        next: Budget,
        usage: &[i16; 2 * MAX_VARS],
        cx: &mut Cx,
    ) -> Result<bool, Truncated> {
        let bud = cfg.budgets();
        let n = items.len();
        for k in 0..n {
            if k > 0 && items[k] == items[k - 1] {
                continue;
            }
            let (w, wt) = items[k];
            if !cfg.odd(w)
                || cfg.max_value(w) > bud.max_unfold_kernel as f64
                || (self.on(Rule::UnfoldWindowBareReduce) && wt & TAG_BARE != 0)
            {
                continue;
            }
            for i in 0..n {
                if i == k || (i > 0 && i - 1 != k && items[i] == items[i - 1]) {
                    continue;
                }
                let (m, mt) = items[i];
                if self.on(Rule::UnfoldDoubleReduction) && only_reduce(mt) {
                    continue;
                }
                if !m
                    .checked_div(w)
                    .is_some_and(|r| cfg.min_value(r) >= bud.min_unfold_ratio)
                {
                    continue;
                }
                let rest = with(
                    (0..n).filter(|&x| x != k && x != i).map(|x| items[x]),
                    &[(m, joined(mt, wt))],
                );
                let nb = Budget {
                    unfolds: next.unfolds - 1,
                    ..next
                };
                if cx.child(self.search(cfg, &rest, nb, usage, cx.left()))? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Split: join two dims.
    fn splits(
        &self,
        cfg: &Config,
        items: &[Item],
        next: Budget,
        usage: &[i16; 2 * MAX_VARS],
        cx: &mut Cx,
    ) -> Result<bool, Truncated> {
        let n = items.len();
        for i in 0..n {
            if i > 0 && items[i] == items[i - 1] {
                continue;
            }
            for j in i + 1..n {
                if j > i + 1 && items[j] == items[j - 1] {
                    continue;
                }
                let ((a, at), (c, ct)) = (items[i], items[j]);
                if self.on(Rule::SplitTwoReductions) && at & ct & TAG_BARE != 0 {
                    continue;
                }
                let Some(p) = a.checked_mul(c) else {
                    continue;
                };
                if !cfg.legal(p) {
                    continue;
                }
                let rest = with(
                    (0..n).filter(|&x| x != i && x != j).map(|x| items[x]),
                    &[(p, joined(at, ct))],
                );
                let nb = Budget {
                    splits: next.splits - 1,
                    ..next
                };
                if cx.child(self.search(cfg, &rest, nb, usage, cx.left()))? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Merge: cut one dim by a candidate block.
    fn merges(
        &self,
        cfg: &Config,
        items: &[Item],
        next: Budget,
        usage: &[i16; 2 * MAX_VARS],
        cx: &mut Cx,
    ) -> Result<bool, Truncated> {
        let n = items.len();
        for i in 0..n {
            if i > 0 && items[i] == items[i - 1] {
                continue;
            }
            let (s, t) = items[i];
            if self.on(Rule::MergeOnReduce) && t & TAG_BARE != 0 {
                continue;
            }
            let t = joined(t, 0);
            for &(g, block) in cfg.cuts(s).iter() {
                let rest = with(
                    (0..n).filter(|&x| x != i).map(|x| items[x]),
                    &[(g, t), (block, t)],
                );
                let nb = Budget {
                    merges: next.merges - 1,
                    ..next
                };
                if cx.child(self.search(cfg, &rest, nb, usage, cx.left()))? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

/// Cost accounting of one relaxed state's expansion.
struct Cx {
    spent: u64,
    allowed: u64,
}

impl Cx {
    fn left(&self) -> u64 {
        self.allowed.saturating_sub(self.spent)
    }

    /// Adds a child's cost; `Ok(answer)` or the truncation.
    fn child(&mut self, r: Result<(bool, u64), Truncated>) -> Result<bool, Truncated> {
        let (v, cost) = r?;
        self.spent += cost;
        Ok(v)
    }
}

/// Cheap necessary conditions: after the reduction stage, `numel / numel(input)` must be a
/// legal size (only windows and created axes remove numel), odd and with an Unfold left when no
/// contraction is; sizes to add or remove must fit the Split/Merge/Unfold budgets when no
/// contraction is left.
fn quick_ok(cfg: &Config, items: &[Item], b: &Budget) -> bool {
    if b.reductions > 0 {
        return true;
    }
    let Some(numel) = crate::config::product(items.iter().map(|x| x.0)) else {
        return false;
    };
    let Some(ratio) = numel.checked_div(cfg.input_numel) else {
        return false;
    };
    if !ratio.is_one() {
        if ratio.has_primary_in_denominator() || !cfg.integral(ratio) {
            return false;
        }
        if b.contractions == 0 && (b.unfolds == 0 || !cfg.odd(ratio)) {
            return false;
        }
    }
    if !b.has_weight && b.contractions == 0 {
        return false;
    }
    steps_ok(cfg, items, b, !ratio.is_one())
}

/// Whether the sizes to remove (`Δ_F`) and to add (`Δ_D`) fit the remaining depth: a Split
/// removes at most two sizes and adds one, a Merge removes one and adds two, an Unfold removes
/// one, a Contraction removes at most [`MAX_WEIGHT_AXES`]; a numel ratio other than 1 needs an
/// Unfold or a Contraction, and an operator without a weight a Contraction.
fn steps_ok(cfg: &Config, items: &[Item], b: &Budget, ratio_not_one: bool) -> bool {
    let d = &cfg.input_sizes;
    let (mut i, mut j, mut common) = (0, 0, 0u32);
    while i < items.len() && j < d.len() {
        match items[i].0.cmp(&d[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let delta_f = items.len() as u32 - common;
    let delta_d = d.len() as u32 - common;
    let axes = MAX_WEIGHT_AXES as u32;
    for c in (!b.has_weight as u32)..=b.contractions {
        for m in 0..=b.merges {
            for s in 0..=b.splits {
                if s + 2 * m < delta_d {
                    continue;
                }
                let u = delta_f.saturating_sub(2 * s + m + axes * c);
                let u = if ratio_not_one && c == 0 { u.max(1) } else { u };
                if u <= b.unfolds && c + m + s + u <= b.depth {
                    return true;
                }
            }
        }
    }
    false
}
