//! Version-stable hashing and random numbers: SplitMix64 (Steele, Lea and Flood, 2014), written
//! out here so that keys and random choices never change with a dependency's version.

use kas_primitives::Size;
use kas_primitives::size::MAX_VARS;

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 finalizer: a bijective scramble of 64 bits.
pub(crate) fn scramble(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Mixes one word into a running hash (order-sensitive).
pub(crate) fn mix(h: u64, x: u64) -> u64 {
    scramble(h.rotate_left(23) ^ x.wrapping_add(GOLDEN))
}

/// A stable hash of a symbolic size.
pub(crate) fn size_key(s: Size) -> u64 {
    let mut h = 0x5175_u64;
    for i in 0..MAX_VARS {
        let p = s.primary_exponents()[i] as u8 as u64;
        let c = s.coefficient_exponents()[i] as u8 as u64;
        h = mix(h, p | (c << 8) | ((i as u64) << 16));
    }
    h
}

/// SplitMix64 random numbers.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator started at `seed`.
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        scramble(self.state)
    }

    /// A number uniform in `0..n` (`n ≥ 1`), by Lemire's multiply-shift (bias below 2^-32 for
    /// the small `n` used here).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // First outputs of SplitMix64 seeded with 0 (published reference sequence).
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = SplitMix64::new(7);
        let mut seen = [false; 5];
        for _ in 0..200 {
            let x = r.below(5);
            assert!(x < 5);
            seen[x] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}

/// A hasher for keys that are already well-mixed `u64`s (the structural keys of this crate):
/// it passes the key through.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix(self.0, b as u64);
        }
    }
    fn write_u64(&mut self, x: u64) {
        // Shards pick by the low bits: fold the high half in so buckets still spread.
        self.0 ^= x ^ (x >> 32);
    }
}

/// A `HashMap` over pre-mixed `u64` keys.
pub(crate) type KeyMap<V> =
    std::collections::HashMap<u64, V, std::hash::BuildHasherDefault<KeyHasher>>;
