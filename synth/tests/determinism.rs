//! `--count N` with one seed gives the same operators whatever the thread count.

mod common;

use kas_synth::{RunOptions, sample};

fn hashes(threads: usize, seed: u64) -> Vec<u128> {
    let dag = common::dag("cnn-small.ron");
    let opts = RunOptions {
        seed,
        count: Some(100),
        threads,
        ..RunOptions::default()
    };
    let (leaves, _) = sample(&dag, &opts).unwrap();
    leaves.iter().map(|l| l.hash.0).collect()
}

#[test]
fn same_operators_for_one_and_two_threads() {
    let one = hashes(1, 3);
    assert_eq!(one.len(), 100);
    assert_eq!(one, hashes(2, 3));
    // Another seed gives other operators.
    assert_ne!(one, hashes(2, 4));
}
