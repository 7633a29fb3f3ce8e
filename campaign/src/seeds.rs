//! Training seeds of a campaign: the last fidelity evaluates every candidate promoted to it,
//! and the baseline, on `seeds` training seeds (the campaign file's `seeds` field), so that a
//! report can give a mean, a standard deviation and an interval instead of one draw. Every
//! other fidelity trains on one seed.
//!
//! Seed index `i` trains from [`training_seed`]`(campaign seed, i)` = campaign seed + `i`
//! (wrapping): index 0 is the campaign seed itself, so a journal written before seeds were
//! counted (one seed per evaluation) holds index 0's figures.

/// The default number of training seeds at the last fidelity.
pub const DEFAULT_SEEDS: u32 = 3;

/// The largest number of training seeds a campaign file may ask for.
pub const MAX_SEEDS: u32 = 16;

/// The training seed of seed index `index` in a campaign seeded with `campaign_seed`.
pub fn training_seed(campaign_seed: u64, index: u32) -> u64 {
    campaign_seed.wrapping_add(u64::from(index))
}

/// The number of seed indices evaluated at fidelity `level` of `levels` fidelities, when the
/// last one is evaluated on `seeds` seeds.
pub fn seeds_at(level: usize, levels: usize, seeds: u32) -> u32 {
    if level + 1 == levels { seeds.max(1) } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_zero_is_the_campaign_seed_and_indices_differ() {
        assert_eq!(training_seed(7, 0), 7);
        assert_eq!(training_seed(7, 2), 9);
        assert_eq!(training_seed(u64::MAX, 1), 0);
        assert_eq!(seeds_at(0, 2, 3), 1);
        assert_eq!(seeds_at(1, 2, 3), 3);
        assert_eq!(seeds_at(0, 1, 3), 3, "a single fidelity is the last one");
        assert_eq!(seeds_at(1, 2, 0), 1);
    }
}
