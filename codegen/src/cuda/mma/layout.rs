//! How each operand's slices sit in shared memory ([`Smem`]): by reduction index (rows
//! contiguous, `[k][row]`) or by row (reduction indices contiguous, `[row][k]`), each stored
//! row padded so that the fragment loads hit 32 distinct banks, and which instruction reads
//! the fragments back.

use crate::precision::Precision;

/// One operand's shared-memory buffers (one per pipeline stage).
pub(super) struct Smem {
    /// `As` or `Bs`.
    pub(super) name: &'static str,
    /// `[k][row]` (rows contiguous) when true, `[row][k]` otherwise.
    pub(super) by_k: bool,
    /// Elements per stored row, padding included.
    pub(super) ld: u32,
    /// Elements per stage.
    pub(super) stage: u32,
    /// Whether fragments are read with `ldmatrix` (else with plain shared loads).
    pub(super) ldmatrix: bool,
}

impl Smem {
    /// The layout of a side of `rows` rows and slices of `bk`, stored by reduction index when
    /// `by_k`, at precision `p`.
    ///
    /// Padding: `ldmatrix` reads 8 rows of 16 bytes at once, conflict-free when the row pitch is
    /// an odd number of 16-byte units; the plain loads of a TF32 fragment read
    /// `[k = lane % 4][row = lane / 4]`, conflict-free when the pitch is 8 words modulo 32.
    /// TF32 fragments of a `[k][row]` buffer cannot be read by `ldmatrix`, whose unit is 16
    /// bits: they take the plain loads.
    pub(super) fn new(name: &'static str, rows: u32, bk: u32, by_k: bool, p: Precision) -> Smem {
        let e = p.storage_bytes();
        let inner = if by_k { rows } else { bk };
        let ldmatrix = !(by_k && p == Precision::Tf32);
        let ld = if ldmatrix {
            let units = inner * e / 16;
            if units.is_multiple_of(2) {
                inner + 16 / e
            } else {
                inner
            }
        } else {
            inner + (8 + 32 - inner % 32) % 32
        };
        let outer = if by_k { bk } else { rows };
        Smem {
            name,
            by_k,
            ld,
            stage: outer * ld,
            ldmatrix,
        }
    }

    /// The element at reduction index `kl` and row `row` of stage `st` (C expressions).
    pub(super) fn at(&self, st: &str, kl: &str, row: &str) -> String {
        let (outer, inner) = if self.by_k { (kl, row) } else { (row, kl) };
        format!(
            "{} + {st} * {} + ({outer}) * {} + ({inner})",
            self.name, self.stage, self.ld
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The banks (4-byte words modulo 32) of the words a warp's access touches.
    fn conflict_free(words: &[u32]) -> bool {
        let mut banks: Vec<u32> = words.iter().map(|w| w % 32).collect();
        banks.sort_unstable();
        banks.dedup();
        banks.len() == words.len()
    }

    #[test]
    fn fragment_loads_hit_distinct_banks() {
        for rows in [8, 16, 32, 64, 128] {
            for (p, bk) in [
                (Precision::Tf32, 8),
                (Precision::Tf32, 32),
                (Precision::Bf16, 16),
                (Precision::Bf16, 64),
            ] {
                for by_k in [false, true] {
                    let s = Smem::new("As", rows, bk, by_k, p);
                    let e = p.storage_bytes();
                    assert_eq!(s.ld * e % 16, 0, "rows of 16-byte multiples");
                    if s.ldmatrix {
                        // One 8x8 matrix: 8 rows of 16 bytes (4 words each).
                        let words: Vec<u32> = (0..8)
                            .flat_map(|r| (0..4).map(move |w| r * s.ld * e / 4 + w))
                            .collect();
                        assert!(conflict_free(&words), "{rows} {p} {by_k} ld {}", s.ld);
                    } else {
                        let words: Vec<u32> = (0..32).map(|l| (l % 4) * s.ld + l / 4).collect();
                        assert!(conflict_free(&words), "{rows} {p} ld {}", s.ld);
                    }
                }
            }
        }
    }
}
