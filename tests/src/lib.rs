//! # kas-tests
//!
//! End-to-end tests across the kas crates live in `tests/tests/`; this library holds the
//! helpers they share.
