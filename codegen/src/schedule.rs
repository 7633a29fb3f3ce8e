//! How each stage of an operator is turned into a kernel: the reference one-thread-per-element
//! kernel, or a tiled contraction with a given tile shape and split of the reduction.
//!
//! [`candidates`] lists the schedules worth timing for one stage under one binding (the tuner
//! times them on the GPU and keeps the fastest); [`heuristic`] picks one without a GPU.

use crate::contraction::Contraction;
use serde::{Deserialize, Serialize};

/// A tile of a tiled contraction kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tile {
    /// Rows (`M`) per thread block.
    pub bm: u32,
    /// Columns (`N`) per thread block.
    pub bn: u32,
    /// Reduction slice staged through shared memory per step.
    pub bk: u32,
    /// Rows per thread.
    pub tm: u32,
    /// Columns per thread.
    pub tn: u32,
    /// Blocks sharing one output tile's reduction (partial sums added by a second kernel).
    pub split_k: u32,
    /// Thread blocks per SM the compiler must leave room for (`__launch_bounds__`; 1 lets
    /// it use up to 255 registers per thread).
    #[serde(default = "one")]
    pub min_blocks: u32,
}

fn one() -> u32 {
    1
}

impl Tile {
    /// Threads per block.
    pub fn threads(&self) -> u32 {
        (self.bm / self.tm) * (self.bn / self.tn)
    }

    /// Whether the shape is one the generator accepts: powers of two, whole thread tiles,
    /// 32 to 256 threads, at most 48 KiB of static shared memory.
    pub fn is_valid(&self) -> bool {
        let p2 = |x: u32| x.is_power_of_two();
        p2(self.bm)
            && p2(self.bn)
            && p2(self.bk)
            && p2(self.tm)
            && p2(self.tn)
            && self.tm <= self.bm
            && self.tn <= self.bn
            && self.tm <= 8
            && self.tn <= 8
            && self.split_k >= 1
            && (1..=4).contains(&self.min_blocks)
            && (32..=256).contains(&self.threads())
            && self.shared_bytes() <= 48 * 1024
    }

    /// Static shared memory in bytes (two buffers of both operand tiles, rows padded by 4).
    pub fn shared_bytes(&self) -> u32 {
        2 * self.bk * (self.bm + 4 + self.bn + 4) * 4
    }

    /// Thread blocks launched for a contraction.
    pub fn blocks(&self, c: &Contraction) -> u64 {
        c.m.div_ceil(self.bm as u64) * c.n.div_ceil(self.bn as u64) * c.z * self.split_k as u64
    }

    /// A short label, `128x64x8/8x4` (`/s4` with a split reduction).
    pub fn label(&self) -> String {
        let mut s = format!(
            "{}x{}x{}/{}x{}",
            self.bm, self.bn, self.bk, self.tm, self.tn
        );
        if self.split_k > 1 {
            s.push_str(&format!("/s{}", self.split_k));
        }
        if self.min_blocks > 1 {
            s.push_str(&format!("/b{}", self.min_blocks));
        }
        s
    }
}

/// How one stage is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StageSchedule {
    /// One thread per result element, reductions as loops (the reference kernel).
    Direct,
    /// The direct kernel writing an intermediate in the tiled layout (`Z`, `N`, `M`), so that
    /// consecutive threads read and write consecutive rows: for reductions too short to tile.
    Flat,
    /// A tiled contraction.
    Tiled(Tile),
    /// A contraction on tensor cores (`mma.sync`) at the program's precision (TF32 or bf16;
    /// refused at f32).
    TensorCore(crate::tensor_core::Mma),
}

impl StageSchedule {
    /// `direct` or the tile's label.
    pub fn label(&self) -> String {
        match self {
            StageSchedule::Direct => "direct".into(),
            StageSchedule::Flat => "flat".into(),
            StageSchedule::Tiled(t) => t.label(),
            StageSchedule::TensorCore(t) => t.label(),
        }
    }
}

/// One [`StageSchedule`] per stage.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Schedule {
    /// In stage order.
    pub stages: Vec<StageSchedule>,
}

impl Schedule {
    /// Every stage direct: the reference kernels.
    pub fn direct(stages: usize) -> Schedule {
        Schedule {
            stages: vec![StageSchedule::Direct; stages],
        }
    }

    /// `direct | 128x64x8/8x4 | …`.
    pub fn label(&self) -> String {
        self.stages
            .iter()
            .map(StageSchedule::label)
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

/// Tile shapes (`bm, bn, tm, tn`) the tuner tries, from large to small.
const SHAPES: [(u32, u32, u32, u32); 19] = [
    (128, 128, 8, 8),
    (256, 64, 8, 8),
    (128, 64, 8, 4),
    (64, 128, 4, 8),
    (64, 64, 4, 4),
    (128, 32, 4, 4),
    (64, 32, 4, 2),
    (32, 32, 2, 2),
    (64, 16, 4, 1),
    (128, 8, 4, 1),
    (256, 4, 4, 1),
    (128, 2, 1, 1),
    (256, 1, 1, 1),
    (32, 8, 1, 1),
    (16, 16, 1, 1),
    (1024, 1, 4, 1),
    (512, 1, 2, 1),
    (512, 2, 4, 1),
    (256, 8, 8, 1),
];

/// Blocks that fill the GPU the tuner is aimed at (two per SM of a 132-SM H100).
pub const FULL_GRID: u64 = 264;

/// Whether a tile wastes more than half of its rows or columns on this contraction.
fn wasteful(t: &Tile, c: &Contraction) -> bool {
    let over = |tile: u32, extent: u64| tile > 1 && (tile as u64 / 2) >= extent;
    over(t.bm, c.m) || over(t.bn, c.n)
}

/// Padded tile area a contraction's `(M, N)` occupies: what a tile costs when it is too big.
fn padded(t: &Tile, c: &Contraction) -> u64 {
    c.m.div_ceil(t.bm as u64) * t.bm as u64 * c.n.div_ceil(t.bn as u64) * t.bn as u64
}

/// The schedules worth timing for a stage: always [`StageSchedule::Direct`], and for a
/// contraction every tile shape that does not waste most of itself (or, when all do, the one
/// that wastes least), with `bk` 8 (and 16 for long reductions), split `K` ways when too few
/// blocks would fill the GPU.
pub fn candidates(c: Option<&Contraction>) -> Vec<StageSchedule> {
    let mut out = vec![StageSchedule::Direct];
    let Some(c) = c else { return out };
    out.push(StageSchedule::Flat);
    if c.z > u32::MAX as u64 / 4 {
        return out;
    }
    let tile = |&(bm, bn, tm, tn): &(u32, u32, u32, u32)| Tile {
        bm,
        bn,
        bk: 8,
        tm,
        tn,
        split_k: 1,
        min_blocks: 1,
    };
    let mut shapes: Vec<(u32, u32, u32, u32)> = SHAPES
        .iter()
        .filter(|s| !wasteful(&tile(s), c))
        .copied()
        .collect();
    if shapes.is_empty()
        && let Some(s) = SHAPES.iter().min_by_key(|s| padded(&tile(s), c))
    {
        shapes.push(*s);
    }
    for &(bm, bn, tm, tn) in &shapes {
        let bks: &[u32] = if c.k >= 256 { &[8, 16] } else { &[8] };
        for &bk in bks {
            let base = Tile {
                bm,
                bn,
                bk,
                tm,
                tn,
                split_k: 1,
                min_blocks: 1,
            };
            if !base.is_valid() {
                continue;
            }
            out.push(StageSchedule::Tiled(base));
            // Big register tiles may spill less than they lose to low occupancy.
            if tm * tn >= 32 {
                out.push(StageSchedule::Tiled(Tile {
                    min_blocks: 2,
                    ..base
                }));
            }
            let mut s = 2;
            while s <= 64
                && base.blocks(c) * (s as u64 / 2) < FULL_GRID
                && c.k.div_ceil(s as u64) >= 2 * bk as u64
            {
                out.push(StageSchedule::Tiled(Tile { split_k: s, ..base }));
                s *= 2;
            }
        }
    }
    out
}

/// A schedule chosen without timing: the largest tile that still fills the GPU, else the one
/// with the most blocks, split along `K` until the grid is full.
pub fn heuristic(c: Option<&Contraction>) -> StageSchedule {
    let Some(c) = c else {
        return StageSchedule::Direct;
    };
    let tiles: Vec<Tile> = candidates(Some(c))
        .into_iter()
        .filter_map(|s| match s {
            StageSchedule::Tiled(t) if t.bk == 8 && t.min_blocks == 1 => Some(t),
            _ => None,
        })
        .collect();
    let area = |t: &Tile| t.bm as u64 * t.bn as u64;
    let full = tiles
        .iter()
        .filter(|t| t.split_k == 1 && t.blocks(c) >= FULL_GRID)
        .max_by_key(|t| area(t));
    if let Some(t) = full {
        return StageSchedule::Tiled(*t);
    }
    tiles
        .iter()
        .max_by_key(|t| {
            (
                t.blocks(c).min(FULL_GRID),
                area(t),
                std::cmp::Reverse(t.split_k),
            )
        })
        .map_or(StageSchedule::Direct, |t| StageSchedule::Tiled(*t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contraction(m: u64, n: u64, z: u64, k: u64) -> Contraction {
        Contraction {
            a: 0,
            b: 1,
            m_dims: vec![0],
            n_dims: vec![1],
            z_dims: vec![],
            m,
            n,
            z,
            k,
            guard_a: vec![],
            guard_b: vec![],
            a_m_fast: true,
            b_n_fast: true,
        }
    }

    #[test]
    fn every_candidate_is_valid_and_direct_comes_first() {
        for (m, n, z, k) in [
            (401_408, 64, 1, 576),
            (3136, 64, 1, 576),
            (49, 512, 1, 4608),
            (6272, 1, 96, 2),
        ] {
            let c = contraction(m, n, z, k);
            let cands = candidates(Some(&c));
            assert_eq!(cands[0], StageSchedule::Direct);
            assert_eq!(cands[1], StageSchedule::Flat);
            assert!(cands.len() >= 3, "{m} {n} {k}: {cands:?}");
            for s in &cands[2..] {
                let StageSchedule::Tiled(t) = s else {
                    panic!("{s:?}")
                };
                assert!(t.is_valid(), "{t:?}");
                assert!(t.shared_bytes() <= 48 * 1024);
            }
        }
        assert_eq!(candidates(None), vec![StageSchedule::Direct]);
    }

    #[test]
    fn heuristic_fills_the_gpu() {
        // A large product takes the largest tile, unsplit.
        let big = contraction(401_408, 64, 1, 576);
        let StageSchedule::Tiled(t) = heuristic(Some(&big)) else {
            panic!()
        };
        assert_eq!(t.split_k, 1);
        assert!(t.blocks(&big) >= FULL_GRID);
        // A small one with a long reduction is split.
        let small = contraction(49, 512, 1, 4608);
        let StageSchedule::Tiled(t) = heuristic(Some(&small)) else {
            panic!()
        };
        assert!(t.blocks(&small) >= 64, "{t:?}");
        // Narrow columns get narrow tiles.
        let narrow = contraction(6272, 1, 96, 6);
        let StageSchedule::Tiled(t) = heuristic(Some(&narrow)) else {
            panic!()
        };
        assert_eq!(t.bn, 1);
    }

    #[test]
    fn schedules_round_trip_through_json() {
        let s = Schedule {
            stages: vec![
                StageSchedule::Direct,
                StageSchedule::Tiled(Tile {
                    bm: 128,
                    bn: 64,
                    bk: 8,
                    tm: 8,
                    tn: 4,
                    split_k: 2,
                    min_blocks: 1,
                }),
            ],
        };
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Schedule>(&j).unwrap(), s);
        assert_eq!(s.label(), "direct | 128x64x8/8x4/s2");
    }
}
