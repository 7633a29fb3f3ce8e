//! The training sources keep their data on the device and cut every batch there: they give the
//! very batches of the host-side definitions (`image_batches`, `text_batch`) for every seed,
//! epoch and step, across the uploads of window starts (CPU, fast).

use kas_eval::data::{
    DeviceImages, ImagePrep, ImageSet, Split, TextSet, image_batches, text_batch,
};
use kas_eval::train::lm::TokenSource;
use kas_eval::train::sources::{DatasetText, STARTS_PER_UPLOAD};
use tch::{Device, Kind, Tensor};

fn random_set(n: i64, m: i64) -> ImageSet {
    tch::manual_seed(7);
    ImageSet {
        train_images: Tensor::randint(256, [n, 1, 12, 12], (Kind::Uint8, Device::Cpu)),
        train_labels: Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(10),
        test_images: Tensor::randint(256, [m, 1, 12, 12], (Kind::Uint8, Device::Cpu)),
        test_labels: Tensor::arange(m, (Kind::Int64, Device::Cpu)).remainder(10),
        classes: 10,
        name: "random".to_string(),
    }
}

#[test]
fn device_images_give_the_batches_of_image_batches() {
    let set = random_set(70, 30);
    let prep = ImagePrep {
        size: 16,
        channels: 3,
        augment: true,
    };
    let images = DeviceImages::new(&set, prep, Device::Cpu).unwrap();
    assert_eq!(images.sizes(), (70, 30));
    assert_eq!(images.classes(), 10);
    for (split, seed, epoch) in [
        (Split::Train, 1, 0),
        (Split::Train, 1, 1),
        (Split::Train, 2, 0),
        (Split::Test, 0, 0),
    ] {
        let ours: Vec<_> = images.batches(split, 16, seed, epoch).unwrap().collect();
        let theirs: Vec<_> = image_batches(&set, split, &prep, 16, seed, epoch, Device::Cpu)
            .unwrap()
            .collect();
        assert_eq!(ours.len(), theirs.len());
        for ((x, y), (x2, y2)) in ours.iter().zip(&theirs) {
            assert!(
                x.equal(x2) && y.equal(y2),
                "{split:?} seed {seed} epoch {epoch}"
            );
        }
    }
    let shared = images.share();
    let (a, b) = (
        images
            .batches(Split::Train, 16, 1, 0)
            .unwrap()
            .next()
            .unwrap(),
        shared
            .batches(Split::Train, 16, 1, 0)
            .unwrap()
            .next()
            .unwrap(),
    );
    assert!(a.0.equal(&b.0) && a.1.equal(&b.1));
    assert!(images.batches(Split::Train, 0, 0, 0).is_err());
    assert!(images.batches(Split::Train, 71, 0, 0).is_err());
}

#[test]
fn text_on_the_device_gives_the_windows_of_text_batch() {
    let text: String = (0..2000u32)
        .map(|i| char::from(b'a' + (i * 31 % 17) as u8))
        .collect();
    let set = TextSet::from_text(&text, 0.8);
    let (train, val) = (set.train.clone(), set.val.clone());
    let data = DatasetText::new(set, Device::Cpu).unwrap();
    // Steps on both sides of an upload of window starts, and back to an earlier chunk.
    let k = STARTS_PER_UPLOAD;
    for (seed, step) in [
        (3, 0),
        (3, 1),
        (3, k - 1),
        (3, k),
        (3, 2 * k + 5),
        (3, 2),
        (4, 2),
    ] {
        let (x, y) = data.train_batch(6, 10, seed, step).unwrap();
        let (x2, y2) = text_batch(&train, 6, 10, seed, step as u64).unwrap();
        assert!(x.equal(&x2) && y.equal(&y2), "seed {seed} step {step}");
    }
    let (a, _) = data.val_batch(4, 10, 1).unwrap();
    let (b, _) = data.val_batch(4, 10, 1).unwrap();
    assert!(a.equal(&b), "validation windows do not move");
    assert!((a.max().int64_value(&[]) as usize) < 17);
    assert!(data.train_batch(0, 10, 0, 0).is_err());
    assert!(data.val_batch(2, val.len() as i64, 0).is_err());
}
