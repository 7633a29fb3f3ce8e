//! Soundness by random evaluation (filled in below).
