//! Same seed, same draws, while other threads seed and draw: in a test binary of its own, since
//! every draw of the process must go through `seeded` for the guarantee to hold (other tests of
//! the library draw from libtorch's generator directly).

use kas_eval::seeded::seeded;

#[test]
fn the_same_seed_draws_the_same_tensor_while_other_threads_draw() {
    let draw = |seed| seeded(seed, || tch::Tensor::randn([64], tch::kind::FLOAT_CPU));
    let reference = draw(7);
    let noise: Vec<_> = (0..4)
        .map(|k| {
            std::thread::spawn(move || {
                for i in 0..200 {
                    let _ = seeded(100 + k * 1000 + i, || {
                        tch::Tensor::randn([64], tch::kind::FLOAT_CPU)
                    });
                }
            })
        })
        .collect();
    for _ in 0..200 {
        assert!(draw(7).equal(&reference));
    }
    for t in noise {
        t.join().unwrap();
    }
    assert!(!draw(8).equal(&reference));
}
