//! The same compiler rule: an operator's speedup is reported against the vendor's original
//! (cuDNN's conv) and against the faster of that and kas's own kernels for the original layers,
//! as Syno's figures are against the original compiled by the same compiler (TVM) as its
//! operators.

/// An operator's speedup against the faster of the baseline and kas's own original, from its
/// speedup over the baseline (`speedup`) and kas's own original's (`own`), each measured beside
/// the baseline in its own run: `speedup × min(1, 1 / own)`, so that the two runs' timings of
/// the baseline need not agree.
pub fn against_faster(speedup: f64, own: f64) -> f64 {
    speedup * own.recip().min(1.0)
}

#[cfg(test)]
mod tests {
    use super::against_faster;

    #[test]
    fn the_faster_original_is_the_reference() {
        // kas's own original at half the baseline's speed: the baseline is the faster one.
        assert_eq!(against_faster(3.0, 0.5), 3.0);
        // Twice as fast as the baseline: the operator's lead halves.
        assert_eq!(against_faster(3.0, 2.0), 1.5);
        assert_eq!(against_faster(0.8, 1.0), 0.8);
    }
}
