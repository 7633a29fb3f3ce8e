//! The tensor-core stage schedule ([`Mma`]): a block tile of `bm × bn` results per thread
//! block, the reduction staged `bk` at a time through a `stages`-deep `cp.async` pipeline,
//! each warp multiplying its `bm / warps_m × bn / warps_n` share with `mma.sync`, optionally
//! split along the reduction as [`crate::schedule::Tile`] is. Which instruction multiplies
//! follows the program's [`Precision`]: `m16n8k8` TF32 or `m16n8k16` bf16, both accumulating
//! in f32.

use crate::contraction::Contraction;
use crate::precision::Precision;
use crate::schedule::FULL_GRID;
use serde::{Deserialize, Serialize};

/// Most dynamic shared memory a block of an sm_90 GPU may take (227 KiB).
pub const MAX_SHARED: u32 = 227 * 1024;

/// Most f32 accumulators per thread (a quarter of the register file a thread can have).
const MAX_ACCUMULATORS: u32 = 128;

/// A tile of a tensor-core contraction kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Mma {
    /// Rows (`M`) per thread block.
    pub bm: u32,
    /// Columns (`N`) per thread block.
    pub bn: u32,
    /// Reduction slice per pipeline stage.
    pub bk: u32,
    /// Warps along `M`.
    pub warps_m: u32,
    /// Warps along `N`.
    pub warps_n: u32,
    /// Shared-memory buffers of the `cp.async` pipeline (2 to 4).
    pub stages: u32,
    /// Blocks sharing one output tile's reduction (partial sums added by a second kernel).
    pub split_k: u32,
}

impl Mma {
    /// Threads per block.
    pub fn threads(&self) -> u32 {
        32 * self.warps_m * self.warps_n
    }

    /// Rows of one warp's tile.
    pub fn warp_m(&self) -> u32 {
        self.bm / self.warps_m.max(1)
    }

    /// Columns of one warp's tile.
    pub fn warp_n(&self) -> u32 {
        self.bn / self.warps_n.max(1)
    }

    /// Whether the generator accepts the tile at precision `p`: tensor cores at `p`, powers of
    /// two, warp tiles of whole `16 × 8` instructions, `bk` a multiple of the instruction's
    /// depth (at most 64), 1 to 8 warps, 2 to 4 stages, at most 128 accumulators per thread
    /// and [`MAX_SHARED`] bytes of shared memory.
    pub fn is_valid(&self, p: Precision) -> bool {
        let p2 = |x: u32| x.is_power_of_two();
        let k = p.mma_k();
        k > 0
            && p2(self.bm)
            && p2(self.bn)
            && p2(self.bk)
            && p2(self.warps_m)
            && p2(self.warps_n)
            && self.warps_m * self.warps_n <= 8
            && self.warp_m() >= 16
            && self.warp_n() >= 8
            && self.bk >= k
            && self.bk <= 64
            && (2..=4).contains(&self.stages)
            && (1..=64).contains(&self.split_k)
            && (self.warp_m() / 16) * (self.warp_n() / 8) * 4 <= MAX_ACCUMULATORS
            && self.shared_bytes(p) <= MAX_SHARED
    }

    /// Dynamic shared memory in bytes, for the larger of the two layouts each operand may be
    /// staged in (rows padded against bank conflicts; the kernel takes what its layout needs).
    pub fn shared_bytes(&self, p: Precision) -> u32 {
        let e = p.storage_bytes();
        let side = |rows: u32| -> u32 {
            let by_k = self.bk * (rows + 32) * e;
            let by_row = rows * (self.bk + 16 / e) * e;
            by_k.max(by_row)
        };
        self.stages * (side(self.bm) + side(self.bn))
    }

    /// Thread blocks launched for a contraction.
    pub fn blocks(&self, c: &Contraction) -> u64 {
        c.m.div_ceil(self.bm as u64) * c.n.div_ceil(self.bn as u64) * c.z * self.split_k as u64
    }

    /// A short label, `tc128x64x32/w2x2/p3` (`/s4` with a split reduction).
    pub fn label(&self) -> String {
        let mut s = format!(
            "tc{}x{}x{}/w{}x{}/p{}",
            self.bm, self.bn, self.bk, self.warps_m, self.warps_n, self.stages
        );
        if self.split_k > 1 {
            s.push_str(&format!("/s{}", self.split_k));
        }
        s
    }
}

/// Block tiles (`bm, bn, warps_m, warps_n`) the tuner tries, from large to small: eight warps
/// (more loads in flight for gathered operands) and four.
const SHAPES: [(u32, u32, u32, u32); 11] = [
    (256, 128, 4, 2),
    (128, 256, 2, 4),
    (128, 128, 2, 4),
    (128, 128, 2, 2),
    (128, 64, 2, 2),
    (64, 128, 2, 2),
    (64, 64, 2, 2),
    (128, 32, 4, 1),
    (64, 32, 2, 1),
    (32, 32, 1, 2),
    (16, 8, 1, 1),
];

/// The tensor-core schedules worth timing for a contraction at precision `p` (none at f32):
/// every block tile that does not waste most of itself (else the one that wastes least), `bk`
/// of one and two instruction depths (four won no binding of a tuned syno-op2 bf16 run on an
/// H200), pipelines of 2 to 4 stages, split `K` ways when too
/// few blocks would fill the GPU.
pub fn candidates(c: &Contraction, p: Precision) -> Vec<Mma> {
    let k = p.mma_k();
    if k == 0 || c.z > u32::MAX as u64 / 4 {
        return Vec::new();
    }
    let over = |tile: u32, extent: u64| tile > 16 && (tile as u64 / 2) >= extent;
    let mut shapes: Vec<_> = SHAPES
        .iter()
        .filter(|s| !over(s.0, c.m) && !over(s.1, c.n))
        .copied()
        .collect();
    if shapes.is_empty() {
        shapes.push(SHAPES[SHAPES.len() - 1]);
    }
    let mut out = Vec::new();
    for (bm, bn, warps_m, warps_n) in shapes {
        for bk in [k, 2 * k] {
            for stages in 2..=4 {
                let base = Mma {
                    bm,
                    bn,
                    bk,
                    warps_m,
                    warps_n,
                    stages,
                    split_k: 1,
                };
                if !base.is_valid(p) {
                    continue;
                }
                out.push(base);
                let mut s = 2;
                while s <= 64
                    && base.blocks(c) * (s as u64 / 2) < FULL_GRID
                    && c.k.div_ceil(s as u64) >= 2 * bk as u64
                {
                    out.push(Mma { split_k: s, ..base });
                    s *= 2;
                }
            }
        }
    }
    out
}

/// A tensor-core tile chosen without timing: the largest unsplit four-warp tile that fills the
/// GPU with three stages, else the one with the most blocks (split along `K` until the grid is full).
pub fn heuristic(c: &Contraction, p: Precision) -> Option<Mma> {
    let cands: Vec<Mma> = candidates(c, p)
        .into_iter()
        .filter(|t| t.stages == 3 && t.bk == 2 * p.mma_k() && t.threads() <= 128)
        .collect();
    let area = |t: &Mma| t.bm as u64 * t.bn as u64;
    let full = cands
        .iter()
        .filter(|t| t.split_k == 1 && t.blocks(c) >= FULL_GRID)
        .max_by_key(|t| area(t));
    if let Some(t) = full {
        return Some(*t);
    }
    cands
        .iter()
        .max_by_key(|t| {
            (
                t.blocks(c).min(FULL_GRID),
                area(t),
                std::cmp::Reverse(t.split_k),
            )
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contraction(m: u64, n: u64, k: u64) -> Contraction {
        Contraction {
            a: 0,
            b: 1,
            m_dims: vec![0],
            n_dims: vec![1],
            z_dims: vec![],
            m,
            n,
            z: 1,
            k,
            guard_a: vec![],
            guard_b: vec![],
            a_m_fast: true,
            b_n_fast: true,
        }
    }

    #[test]
    fn candidates_are_valid_and_absent_at_f32() {
        for (m, n, k) in [(401_408, 64, 576), (49, 512, 4608), (5, 3, 7)] {
            let c = contraction(m, n, k);
            assert!(candidates(&c, Precision::F32).is_empty());
            for p in [Precision::Tf32, Precision::Bf16] {
                let cands = candidates(&c, p);
                assert!(!cands.is_empty(), "{m} {n} {k} {p}");
                assert!(cands.iter().all(|t| t.is_valid(p)), "{cands:?}");
                assert!(heuristic(&c, p).is_some());
            }
        }
        let t = heuristic(&contraction(401_408, 64, 576), Precision::Bf16).unwrap();
        assert_eq!((t.split_k, t.stages), (1, 3));
        assert!(
            heuristic(&contraction(49, 512, 4608), Precision::Tf32)
                .unwrap()
                .split_k
                > 1
        );
    }

    #[test]
    fn shapes_the_instructions_cannot_cover_are_refused() {
        let ok = Mma {
            bm: 64,
            bn: 64,
            bk: 32,
            warps_m: 2,
            warps_n: 2,
            stages: 3,
            split_k: 1,
        };
        assert!(ok.is_valid(Precision::Tf32) && ok.is_valid(Precision::Bf16));
        assert!(!ok.is_valid(Precision::F32));
        assert!(!Mma { bk: 8, ..ok }.is_valid(Precision::Bf16));
        assert!(Mma { bk: 8, ..ok }.is_valid(Precision::Tf32));
        assert!(!Mma { warps_m: 8, ..ok }.is_valid(Precision::Tf32));
        assert!(!Mma { stages: 5, ..ok }.is_valid(Precision::Tf32));
        assert!(!Mma { bm: 48, ..ok }.is_valid(Precision::Tf32));
        assert_eq!(ok.label(), "tc64x64x32/w2x2/p3");
    }
}
