//! Drawing a random [`Program`]: a live [`Builder`] tracks the dims and their sizes, each
//! candidate step is tried on a copy, and rejected candidates are either skipped or (with
//! probability `p_illegal`) kept as the program's last, failing step.

use super::{AxisSpec, BuilderCall, Handle, Program, RandomConfig, apply, start};
use crate::builder::Builder;
use crate::graph::{DimId, Source};
use crate::operator::MAX_WEIGHTS;
use crate::size::{Size, VarKind};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// Candidate steps tried per step before giving up on that step.
const TRIES: usize = 12;

/// Draws a random builder program from `seed`. It may be illegal (its replay through
/// [`super::build_program`] then returns a typed error).
pub fn random_program(seed: u64, cfg: &RandomConfig) -> Program {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut p = header(&mut rng, cfg, seed);
    let Ok((b, h)) = start(&p) else {
        // The header is illegal on purpose or by accident: the replay reports it.
        return p;
    };
    let mut g = Gen {
        rng,
        cfg,
        b,
        h,
        steps: Vec::new(),
    };
    let failed = g.steps_loop();
    let Gen {
        mut rng,
        b,
        h,
        steps,
        ..
    } = g;
    p.steps = steps;
    if failed {
        p.outputs = (0..h.len()).collect();
        return p;
    }
    let op = b.partial();
    let mut outs: Vec<Handle> = (0..h.len()).filter(|&i| free(op, h[i])).collect();
    shuffle(&mut rng, &mut outs);
    if rng.random_bool(cfg.p_illegal / 2.0) && !outs.is_empty() {
        let i = rng.random_range(0..outs.len());
        if rng.random_bool(0.5) {
            outs.remove(i);
        } else {
            outs.push(outs[i]);
        }
    }
    for i in 0..p.input.len() {
        if rng.random_bool(0.3) {
            p.unordered.push(i);
        }
    }
    for &o in &outs {
        if rng.random_bool(0.3) && !p.unordered.contains(&o) {
            p.unordered.push(o);
        }
    }
    p.outputs = outs;
    p
}

/// A data-side dim that nothing consumes yet.
fn free(op: &crate::Operator, d: DimId) -> bool {
    let dim = op.dim(d);
    dim.sink.is_none() && !matches!(dim.source, Source::Weight { .. })
}

fn shuffle<T>(rng: &mut Xoshiro256PlusPlus, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

const PRIMARY: [&str; 4] = ["N", "C", "H", "W"];
const ODD: [u64; 4] = [1, 3, 5, 7];

/// Variables, two bindings with odd primary values, and the input axes.
fn header(rng: &mut Xoshiro256PlusPlus, cfg: &RandomConfig, seed: u64) -> Program {
    let np = rng.random_range(2..=3);
    let primary: Vec<String> = PRIMARY[..np].iter().map(|s| s.to_string()).collect();
    let mut coefficient = vec![format!("k={}", [1, 3, 3, 5][rng.random_range(0..4)])];
    if rng.random_bool(0.7) {
        coefficient.push(format!("s={}", rng.random_range(2..=3)));
    }
    let odd: Vec<u64> = ODD
        .iter()
        .copied()
        .filter(|&v| v <= cfg.max_dim.max(1))
        .collect();
    let bindings = ["odd-a", "odd-b"]
        .iter()
        .map(|name| {
            let values = primary
                .iter()
                .map(|v| (v.clone(), odd[rng.random_range(0..odd.len())]))
                .collect();
            (name.to_string(), values)
        })
        .collect();
    let mut p = Program {
        seed,
        primary,
        coefficient,
        bindings,
        input: Vec::new(),
        steps: Vec::new(),
        unordered: Vec::new(),
        outputs: Vec::new(),
    };
    let n = rng.random_range(1..=4);
    // Sizes are picked against the real table so that their values can be bounded.
    if let Ok((b, _)) = start(&Program {
        input: vec!["1".into()],
        ..p.clone()
    }) {
        for _ in 0..n {
            p.input.push(small_size(rng, &b, cfg, true));
        }
    } else {
        p.input.push("1".into());
    }
    p
}

/// A random monomial of at most two variables whose value is at most `max_dim` under every
/// binding (`"1"` if none is found); `primary_first` prefers a primary variable.
fn small_size(
    rng: &mut Xoshiro256PlusPlus,
    b: &Builder,
    cfg: &RandomConfig,
    primary_first: bool,
) -> String {
    let vars = b.vars();
    let bindings = &b.partial().bindings;
    for _ in 0..8 {
        let mut s = Size::ONE;
        if primary_first || rng.random_bool(0.5) {
            s = s * Size::var(VarKind::Primary, rng.random_range(0..vars.primary.len()));
        }
        if rng.random_bool(0.4) || s.is_one() {
            let i = rng.random_range(0..vars.coefficient.len());
            s = s * Size::var(VarKind::Coefficient, i);
        }
        let ok = bindings
            .iter()
            .all(|bd| s.eval(bd).is_some_and(|v| v <= cfg.max_dim));
        if ok {
            return s.display(vars);
        }
    }
    "1".into()
}

/// Any single variable (or `"1"`), for blocks, strides and windows.
fn any_var(rng: &mut Xoshiro256PlusPlus, b: &Builder) -> Size {
    let vars = b.vars();
    let np = vars.primary.len();
    let nc = vars.coefficient.len();
    let i = rng.random_range(0..np + nc + 1);
    if i < np {
        Size::var(VarKind::Primary, i)
    } else if i < np + nc {
        Size::var(VarKind::Coefficient, i - np)
    } else {
        Size::ONE
    }
}

struct Gen<'a> {
    rng: Xoshiro256PlusPlus,
    cfg: &'a RandomConfig,
    b: Builder,
    h: Vec<DimId>,
    steps: Vec<BuilderCall>,
}

impl Gen<'_> {
    /// Draws the steps; `true` if the last one is a kept illegal step.
    fn steps_loop(&mut self) -> bool {
        let n = self.rng.random_range(1..=self.cfg.max_steps.max(1));
        for _ in 0..n {
            if self.one_step(false) {
                return true;
            }
        }
        if self.b.partial().weights.is_empty() {
            return self.one_step(true);
        }
        false
    }

    /// Tries candidates until one is accepted; `true` if an illegal one was kept.
    fn one_step(&mut self, contract: bool) -> bool {
        for _ in 0..TRIES {
            let Some(step) = self.candidate(contract) else {
                continue;
            };
            let mut b = self.b.clone();
            let mut h = self.h.clone();
            match apply(&mut b, &mut h, &step) {
                Ok(()) => {
                    if self.within_budget(&b) {
                        self.b = b;
                        self.h = h;
                        self.steps.push(step);
                        return false;
                    }
                }
                Err(_) => {
                    // A fourth weight is only ever proposed on purpose: keep it.
                    let too_many = matches!(step, BuilderCall::Contract(_))
                        && self.b.partial().weights.len() >= MAX_WEIGHTS;
                    if too_many || self.rng.random_bool(self.cfg.p_illegal) {
                        self.steps.push(step);
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Output points × reduction points (if the frontier became the output) under every
    /// binding stay within `max_points`.
    fn within_budget(&self, b: &Builder) -> bool {
        let op = b.partial();
        let mut dims: Vec<DimId> = (0..op.dims.len() as u32)
            .map(DimId)
            .filter(|&d| free(op, d))
            .collect();
        dims.extend(op.reductions());
        op.bindings.iter().all(|bd| {
            dims.iter()
                .try_fold(1u64, |acc, &d| {
                    acc.checked_mul(op.size(d).eval(bd).unwrap_or(u64::MAX))
                })
                .is_some_and(|v| v <= self.cfg.max_points)
        })
    }

    /// Handles of the frontier (free data dims).
    fn frontier(&self) -> Vec<Handle> {
        let op = self.b.partial();
        (0..self.h.len()).filter(|&i| free(op, self.h[i])).collect()
    }

    /// A dim to operate on: usually from the frontier, rarely any handle.
    fn pick(&mut self, frontier: &[Handle]) -> Option<Handle> {
        if frontier.is_empty() || self.rng.random_bool(self.cfg.p_reuse) {
            if self.h.is_empty() {
                return None;
            }
            return Some(self.rng.random_range(0..self.h.len()));
        }
        Some(frontier[self.rng.random_range(0..frontier.len())])
    }

    /// A block or stride for `d`: usually one of the variables of its size.
    fn divisor(&mut self, d: Handle) -> String {
        let size = self.b.size(self.h[d]).unwrap_or(Size::ONE);
        let vars = self.b.vars();
        let mut cands = Vec::new();
        for (kind, n) in [
            (VarKind::Primary, vars.primary.len()),
            (VarKind::Coefficient, vars.coefficient.len()),
        ] {
            for i in 0..n {
                if size.exponent(kind, i) > 0 {
                    cands.push(Size::var(kind, i));
                }
            }
        }
        let s = if cands.is_empty() || self.rng.random_bool(0.25) {
            any_var(&mut self.rng, &self.b)
        } else {
            cands[self.rng.random_range(0..cands.len())]
        };
        s.display(self.b.vars())
    }

    fn candidate(&mut self, contract: bool) -> Option<BuilderCall> {
        let frontier = self.frontier();
        let weights = self.b.partial().weights.len();
        let cfg = self.cfg;
        let room = weights < cfg.max_weights.min(MAX_WEIGHTS);
        if contract
            || (room && self.rng.random_bool(cfg.p_contract))
            || (!room && self.rng.random_bool(cfg.p_illegal * cfg.p_contract / 2.0))
        {
            return Some(self.contraction(&frontier));
        }
        if self.rng.random_bool(cfg.p_reduce) {
            // Prefer dims produced by a Share (reduced like `C_in` of a convolution).
            let shared: Vec<Handle> = frontier
                .iter()
                .copied()
                .filter(|&i| self.made_by_share(i))
                .collect();
            if !shared.is_empty() && self.rng.random_bool(0.7) {
                return Some(BuilderCall::Reduce(
                    shared[self.rng.random_range(0..shared.len())],
                ));
            }
            return Some(BuilderCall::Reduce(self.pick(&frontier)?));
        }
        Some(match self.rng.random_range(0..6) {
            0 => {
                let dim = self.pick(&frontier)?;
                BuilderCall::Split {
                    dim,
                    block: self.divisor(dim),
                }
            }
            1 => {
                let outer = self.pick(&frontier)?;
                let inner = self.pick(&frontier)?;
                BuilderCall::Merge { outer, inner }
            }
            2 => {
                let dim = self.pick(&frontier)?;
                let mut offset = self.rng.random_range(-9..=9);
                if offset == 0 && self.rng.random_bool(0.8) {
                    offset = 1;
                }
                BuilderCall::Shift { dim, offset }
            }
            3 => {
                let dim = self.pick(&frontier)?;
                BuilderCall::Stride {
                    dim,
                    stride: self.divisor(dim),
                }
            }
            4 => {
                let dim = self.pick(&frontier)?;
                let mut w = any_var(&mut self.rng, &self.b);
                if self.rng.random_bool(0.15) {
                    w = w * w;
                }
                BuilderCall::Unfold {
                    dim,
                    window: w.display(self.b.vars()),
                }
            }
            _ => BuilderCall::Expand {
                size: small_size(&mut self.rng, &self.b, cfg, false),
            },
        })
    }

    fn made_by_share(&self, i: Handle) -> bool {
        let op = self.b.partial();
        matches!(op.dim(self.h[i]).source, Source::Op(k)
            if matches!(op.ops[k], crate::graph::Op::Share { .. }))
    }

    /// 0–3 Shared frontier dims (often one produced by an earlier Share) and 0–2 Created axes,
    /// at least one axis, in random order.
    fn contraction(&mut self, frontier: &[Handle]) -> BuilderCall {
        let mut pool = frontier.to_vec();
        shuffle(&mut self.rng, &mut pool);
        // Move a dim produced by an earlier Share to the front half of the time.
        if self.rng.random_bool(0.5)
            && let Some(pos) = pool.iter().position(|&i| self.made_by_share(i))
        {
            pool.swap(0, pos);
        }
        let n_share = self.rng.random_range(0..=3usize).min(pool.len());
        let mut axes: Vec<AxisSpec> = pool[..n_share]
            .iter()
            .map(|&i| AxisSpec::Share(i))
            .collect();
        if self.rng.random_bool(self.cfg.p_reuse) && !self.h.is_empty() {
            axes.push(AxisSpec::Share(self.rng.random_range(0..self.h.len())));
        }
        for _ in 0..2 {
            if axes.is_empty() || self.rng.random_bool(self.cfg.p_create) {
                axes.push(AxisSpec::Create(small_size(
                    &mut self.rng,
                    &self.b,
                    self.cfg,
                    false,
                )));
            }
        }
        shuffle(&mut self.rng, &mut axes);
        BuilderCall::Contract(axes)
    }
}
