//! Canonicalization throughput: every library operator, and 200 random operators, each
//! canonicalized once per iteration (target: ≥ 1,000 operators/s on one core, so that it never
//! dominates synthesis). Criterion reports elements/s.
//!
//! `cargo bench -p kas-primitives --bench canon`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kas_primitives::canon::canonicalize;
use kas_primitives::library;
use kas_primitives::random::{RandomConfig, random_operator};
use std::hint::black_box;

fn throughput(c: &mut Criterion) {
    let lib: Vec<_> = library::entries()
        .iter()
        .map(|e| (e.build)().unwrap())
        .collect();
    let cfg = RandomConfig::default();
    let random: Vec<_> = (0..200).map(|s| random_operator(s, &cfg)).collect();
    let mut g = c.benchmark_group("canonicalize");
    g.sample_size(10);
    for (name, ops) in [("library", &lib), ("random", &random)] {
        g.throughput(Throughput::Elements(ops.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                for op in ops.iter() {
                    black_box(canonicalize(black_box(op)).unwrap());
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
