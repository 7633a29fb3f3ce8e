//! The reference interpreter on a 3×3 convolution at N = 2, C_in = C_out = 16, H = W = 16
//! (must take well under a second in release mode).
//!
//! `cargo bench -p kas-primitives --bench interp`

use criterion::{Criterion, criterion_group, criterion_main};
use kas_primitives::{interp, library};
use std::hint::black_box;

fn conv3x3(c: &mut Criterion) {
    let op = (library::get("conv2d").unwrap().build)().unwrap();
    let b = op
        .vars
        .bind(
            "n2-c16-16x16",
            [("N", 2), ("C_in", 16), ("C_out", 16), ("H", 16), ("W", 16)],
        )
        .unwrap();
    let xs = interp::random_inputs(&op, &b, 1, false).unwrap();
    let mut g = c.benchmark_group("interpreter");
    g.sample_size(10);
    g.bench_function("conv3x3 N=2 C=16 H=W=16", |bench| {
        bench.iter(|| interp::interpret(black_box(&op), &b, black_box(&xs)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, conv3x3);
criterion_main!(benches);
