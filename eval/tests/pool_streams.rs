//! Trainings that share a GPU from one process run on their own pool streams
//! (`torch_context::pool_stream`): checked on a GPU (skipped with a reason otherwise).

use kas_eval::torch_context::{current_stream, pool_stream};
use tch::{Device, Kind, Tensor};

#[test]
fn each_thread_gets_its_own_stream_and_the_default_comes_back() {
    if !tch::Cuda::is_available() {
        eprintln!("skipped: libtorch sees no CUDA device");
        return;
    }
    let dev = Device::Cuda(0);
    tch::manual_seed(7);
    let a = Tensor::randn([512, 512], (Kind::Float, dev));
    let expected = a.matmul(&a);
    assert_eq!(current_stream(0).unwrap(), 0, "the default stream first");
    let ids: Vec<(i64, bool)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let (a, expected) = (a.shallow_clone(), expected.shallow_clone());
                s.spawn(move || {
                    let g = pool_stream(0).unwrap();
                    assert_eq!(current_stream(0).unwrap(), g.id);
                    let same = a.matmul(&a).equal(&expected);
                    let id = g.id;
                    drop(g);
                    assert_eq!(current_stream(0).unwrap(), 0, "restored after the guard");
                    (id, same)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (id, same) in &ids {
        assert_ne!(*id, 0, "a pool stream, not the default one");
        assert!(same, "the same product on a pool stream");
    }
    assert!(ids[0].0 != ids[1].0 || ids[1].0 != ids[2].0, "{ids:?}");
    assert_eq!(
        current_stream(0).unwrap(),
        0,
        "other threads' streams are theirs"
    );
    eprintln!("pool streams: {ids:?}");
}
