//! An exact feasibility test on a relaxation of the search: only the multiset of frontier
//! sizes, the remaining budgets and the variable allowance are kept.
//!
//! In the relaxation a Split joins any two sizes into their (legal) product, a Merge cuts any
//! size by any candidate block, an Unfold removes any odd size within the window bounds next to
//! a large enough size, and a Contraction removes any sub-multiset of sizes whose primary
//! parts fit the allowance (the real one also charges its shared axes). Every real step maps to a relaxed step of the same cost and every filter of the
//! real search is dropped, so "no relaxed completion within the remaining depth" proves that
//! the real node has no leaf: the test is admissible.
//!
//! The relaxed search is a depth-first search in a fixed order whose *cost* (relaxed states
//! visited) is a pure function of its start; a query gives up, answering "maybe feasible",
//! when that cost exceeds its budget ([`REDUCING_QUERY_BUDGET`] in the reduction stage). Memoized answers carry their cost (and truncated
//! searches a lower bound on it), so a memo hit consumes exactly what recomputing would: the
//! answer never depends on what other threads computed first.

use crate::config::Config;
use crate::config::info_key;
use crate::mix::mix;
use crate::state::State;
use kas_primitives::Size;
use kas_primitives::size::MAX_VARS;
use std::cell::RefCell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

const SHARDS: usize = 64;

/// Relaxed states one query from the reduction stage may visit before answering "maybe"
/// (after the reduction stage queries are exact: their search space is small).
pub const REDUCING_QUERY_BUDGET: u64 = 50_000;

/// Most entries of a thread's copy of exact answers (cleared when full).
const LOCAL_ENTRIES: usize = 1 << 21;

/// Source of [`Feasibility`] ids (0 is never used).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Exact answers of the [`Feasibility`] with the given id, copied from its shared memo.
    static LOCAL_DONE: RefCell<(u64, crate::mix::KeyMap<(bool, u64)>)> =
        RefCell::new((0, Default::default()));
}

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
    memo: Vec<Mutex<crate::mix::KeyMap<Memo>>>,
}

impl Default for Feasibility {
    fn default() -> Feasibility {
        Feasibility {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            memo: (0..SHARDS)
                .map(|_| Mutex::new(crate::mix::KeyMap::default()))
                .collect(),
        }
    }
}

impl Feasibility {
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
        let mut sizes: Vec<Size> = st.dims.iter().map(|d| d.size).collect();
        sizes.sort();
        let allowed = if st.reducing {
            REDUCING_QUERY_BUDGET
        } else {
            u64::MAX
        };
        !matches!(
            self.search(cfg, &sizes, budget, &st.usage, allowed),
            Ok((false, _))
        )
    }

    /// `Ok((answer, cost))`, or `Err` when the cost would exceed `allowed`.
    fn search(
        &self,
        cfg: &Config,
        sizes: &[Size],
        b: Budget,
        usage: &[i16; 2 * MAX_VARS],
        allowed: u64,
    ) -> Result<(bool, u64), Truncated> {
        if allowed == 0 {
            return Err(Truncated);
        }
        if b.has_weight && b.reductions == 0 && sizes == cfg.input_sizes.as_slice() {
            return Ok((true, 1));
        }
        if (b.depth == 0 && b.reductions == 0) || sizes.is_empty() || !quick_ok(cfg, sizes, &b) {
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
        for s in sizes {
            key = mix(key, info_key(*s));
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
        let result = self.expand(cfg, sizes, b, usage, &mut cx);
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
        sizes: &[Size],
        b: Budget,
        usage: &[i16; 2 * MAX_VARS],
        cx: &mut Cx,
    ) -> Result<bool, Truncated> {
        let bud = cfg.budgets();
        if b.reductions > 0 {
            let end = Budget { reductions: 0, ..b };
            if cx.child(self.search(cfg, sizes, end, usage, cx.left()))? {
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
        let n = sizes.len();
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
                let mut more = sizes.to_vec();
                more.push(r);
                more.sort();
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
        // Contraction: remove a sub-multiset (bit masks; equal sizes are tried once via the
        // sorted order: a copy is removed only if the previous equal copy is).
        if b.contractions > 0 {
            for mask in 0u32..(1 << n) {
                let ok_multiset = (1..n).all(|i| {
                    !(sizes[i] == sizes[i - 1]
                        && mask & (1 << i) != 0
                        && mask & (1 << (i - 1)) == 0)
                });
                if !ok_multiset {
                    continue;
                }
                let mut u = *usage;
                let mut fits = true;
                for (i, s) in sizes.iter().enumerate() {
                    if mask & (1 << i) != 0 {
                        let add = Config::weight_usage(*s);
                        if !cfg.fits(&u, &add) {
                            fits = false;
                            break;
                        }
                        for k in 0..u.len() {
                            u[k] += add[k];
                        }
                    }
                }
                if !fits {
                    continue;
                }
                let rest: Vec<Size> = (0..n)
                    .filter(|i| mask & (1 << i) == 0)
                    .map(|i| sizes[i])
                    .collect();
                let nb = Budget {
                    contractions: b.contractions - 1,
                    has_weight: true,
                    ..next
                };
                if cx.child(self.search(cfg, &rest, nb, &u, cx.left()))? {
                    return Ok(true);
                }
            }
        }
        // Unfold: remove a window next to a large enough size.
        if b.unfolds > 0 {
            for k in 0..n {
                if k > 0 && sizes[k] == sizes[k - 1] {
                    continue;
                }
                let w = sizes[k];
                if !cfg.odd(w) || cfg.max_value(w) > bud.max_unfold_kernel as f64 {
                    continue;
                }
                let has_main = (0..n).any(|i| {
                    i != k
                        && sizes[i]
                            .checked_div(w)
                            .is_some_and(|r| cfg.min_value(r) >= bud.min_unfold_ratio)
                });
                if !has_main {
                    continue;
                }
                let mut rest = sizes.to_vec();
                rest.remove(k);
                let nb = Budget {
                    unfolds: b.unfolds - 1,
                    ..next
                };
                if cx.child(self.search(cfg, &rest, nb, usage, cx.left()))? {
                    return Ok(true);
                }
            }
        }
        // Split: join two sizes.
        if b.splits > 0 {
            for i in 0..n {
                for j in i + 1..n {
                    let Some(p) = sizes[i].checked_mul(sizes[j]) else {
                        continue;
                    };
                    if !cfg.legal(p) {
                        continue;
                    }
                    let mut rest: Vec<Size> = (0..n)
                        .filter(|&x| x != i && x != j)
                        .map(|x| sizes[x])
                        .collect();
                    rest.push(p);
                    rest.sort();
                    let nb = Budget {
                        splits: b.splits - 1,
                        ..next
                    };
                    if cx.child(self.search(cfg, &rest, nb, usage, cx.left()))? {
                        return Ok(true);
                    }
                }
            }
        }
        // Merge: cut one size by a candidate block.
        if b.merges > 0 {
            for i in 0..n {
                if i > 0 && sizes[i] == sizes[i - 1] {
                    continue;
                }
                for &(g, block) in cfg.cuts(sizes[i]).iter() {
                    let mut rest: Vec<Size> =
                        (0..n).filter(|&x| x != i).map(|x| sizes[x]).collect();
                    rest.push(g);
                    rest.push(block);
                    rest.sort();
                    let nb = Budget {
                        merges: b.merges - 1,
                        ..next
                    };
                    if cx.child(self.search(cfg, &rest, nb, usage, cx.left()))? {
                        return Ok(true);
                    }
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
fn quick_ok(cfg: &Config, sizes: &[Size], b: &Budget) -> bool {
    if b.reductions > 0 {
        return true;
    }
    let Some(numel) = crate::config::product(sizes.iter().copied()) else {
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
    true
}
