//! An exact feasibility test on a relaxation of the search: only the multiset of frontier
//! sizes, the remaining budgets and the variable allowance are kept.
//!
//! In the relaxation a Split joins any two sizes into their (legal) product, a Merge cuts any
//! size by any candidate block, an Unfold removes any odd size within the window bounds next to
//! a large enough size, and a Contraction removes any sub-multiset of sizes within the
//! allowance. Every real step maps to a relaxed step of the same cost and every filter of the
//! real search is dropped, so "no relaxed completion within the remaining depth" proves that
//! the real node has no leaf: the test is admissible. Answers are memoized (thread-safe).

use crate::config::Config;
use crate::mix::{mix, size_key};
use crate::state::State;
use kas_primitives::Size;
use kas_primitives::size::MAX_VARS;
use std::collections::HashMap;
use std::sync::Mutex;

const SHARDS: usize = 64;

/// Remaining budgets of a relaxed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Budget {
    merges: u32,
    splits: u32,
    unfolds: u32,
    contractions: u32,
    has_weight: bool,
    depth: u32,
}

/// The memoized relaxed feasibility test.
#[derive(Debug)]
pub struct Feasibility {
    memo: Vec<Mutex<HashMap<u64, bool>>>,
}

impl Default for Feasibility {
    fn default() -> Feasibility {
        Feasibility {
            memo: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl Feasibility {
    /// Whether the relaxation of `st` (after its reduction stage) can reach the input shape.
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
        };
        let mut sizes: Vec<Size> = st.dims.iter().map(|d| d.size).collect();
        sizes.sort();
        self.search(cfg, &sizes, budget, &st.usage)
    }

    fn search(
        &self,
        cfg: &Config,
        sizes: &[Size],
        b: Budget,
        usage: &[i16; 2 * MAX_VARS],
    ) -> bool {
        if b.has_weight && sizes == cfg.input_sizes.as_slice() {
            return true;
        }
        if b.depth == 0 || sizes.is_empty() {
            return false;
        }
        let mut key = mix(0xfea5, b.merges as u64);
        for x in [b.splits, b.unfolds, b.contractions, b.has_weight as u32, b.depth] {
            key = mix(key, x as u64);
        }
        for s in sizes {
            key = mix(key, size_key(*s));
        }
        for u in usage {
            key = mix(key, *u as u64);
        }
        let shard = &self.memo[(key as usize) % SHARDS];
        if let Some(&v) = shard.lock().expect("memo lock").get(&key) {
            return v;
        }
        let v = self.expand(cfg, sizes, b, usage);
        shard.lock().expect("memo lock").insert(key, v);
        v
    }

    fn expand(&self, cfg: &Config, sizes: &[Size], b: Budget, usage: &[i16; 2 * MAX_VARS]) -> bool {
        let bud = cfg.budgets();
        let next = Budget {
            depth: b.depth - 1,
            ..b
        };
        let n = sizes.len();
        // Contraction: remove a sub-multiset (bit masks; equal sizes are tried once via the
        // sorted order: a copy is removed only if the previous equal copy is).
        if b.contractions > 0 {
            for mask in 0u32..(1 << n) {
                let ok_multiset = (1..n).all(|i| {
                    !(sizes[i] == sizes[i - 1] && mask & (1 << i) != 0 && mask & (1 << (i - 1)) == 0)
                });
                if !ok_multiset {
                    continue;
                }
                let mut u = *usage;
                let mut fits = true;
                for (i, s) in sizes.iter().enumerate() {
                    if mask & (1 << i) != 0 {
                        if !cfg.within_allowance(&u, *s) {
                            fits = false;
                            break;
                        }
                        let add = Config::usage(*s);
                        for k in 0..u.len() {
                            u[k] += add[k];
                        }
                    }
                }
                if !fits {
                    continue;
                }
                let rest: Vec<Size> = (0..n).filter(|i| mask & (1 << i) == 0).map(|i| sizes[i]).collect();
                let nb = Budget {
                    contractions: b.contractions - 1,
                    has_weight: true,
                    ..next
                };
                if self.search(cfg, &rest, nb, &u) {
                    return true;
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
                if self.search(cfg, &rest, nb, usage) {
                    return true;
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
                    let mut rest: Vec<Size> = (0..n).filter(|&x| x != i && x != j).map(|x| sizes[x]).collect();
                    rest.push(p);
                    rest.sort();
                    let nb = Budget {
                        splits: b.splits - 1,
                        ..next
                    };
                    if self.search(cfg, &rest, nb, usage) {
                        return true;
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
                for &block in &cfg.candidates {
                    let Some(g) = sizes[i].checked_div(block) else {
                        continue;
                    };
                    if g.is_one() || !cfg.legal(g) {
                        continue;
                    }
                    let mut rest: Vec<Size> = (0..n).filter(|&x| x != i).map(|x| sizes[x]).collect();
                    rest.push(g);
                    rest.push(block);
                    rest.sort();
                    let nb = Budget {
                        merges: b.merges - 1,
                        ..next
                    };
                    if self.search(cfg, &rest, nb, usage) {
                        return true;
                    }
                }
            }
        }
        false
    }
}
