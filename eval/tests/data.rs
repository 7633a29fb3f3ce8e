//! Datasets: IDX and CIFAR parsing of small files written here (good and corrupt), loading
//! from a data directory, text splits and batches, image batches (shapes, normalisation,
//! augmentation, determinism), and, when `kas data fetch` has put the real data in the default
//! data directory, the official datasets' label checks (first labels, per-class counts).

use flate2::Compression;
use flate2::write::GzEncoder;
use kas_eval::Error;
use kas_eval::data::catalog::stored_files;
use kas_eval::data::idx::{encode_idx, parse_idx, read_idx};
use kas_eval::data::{
    DatasetName, ImagePrep, ImageSet, Split, TextSet, channel_stats, data_dir, image_batches,
    load_images, load_text, read_cifar10, read_cifar100, text_batch, verify_dataset,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write_gz(path: &Path, bytes: &[u8]) {
    let mut gz = GzEncoder::new(std::fs::File::create(path).unwrap(), Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap();
}

fn corrupt_reason(e: Error, file: &Path) -> String {
    match e {
        Error::CorruptData { file: f, reason } => {
            assert_eq!(f, file);
            reason
        }
        other => panic!("expected CorruptData, got {other}"),
    }
}

// ---------------------------------------------------------------- IDX

#[test]
fn idx_round_trip_raw_and_gz() {
    let dir = tmp();
    let data: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
    let bytes = encode_idx(&[2, 3, 4], &data);
    let raw = dir.path().join("a-idx3-ubyte");
    std::fs::write(&raw, &bytes).unwrap();
    let gz = dir.path().join("a-idx3-ubyte.gz");
    write_gz(&gz, &bytes);
    for path in [&raw, &gz] {
        let idx = read_idx(path).unwrap();
        assert_eq!(idx.dims, vec![2, 3, 4]);
        assert_eq!(idx.data, data);
    }
}

#[test]
fn idx_rejects_each_kind_of_corruption() {
    let f = Path::new("x.idx");
    let good = encode_idx(&[3, 2], &[1, 2, 3, 4, 5, 6]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0, 0, 8], "truncated IDX header"),
        (vec![1, 0, 8, 1, 0, 0, 0, 1, 7], "bad IDX magic"),
        (vec![0, 0, 0x0d, 1, 0, 0, 0, 1, 7], "element type 0x0d"),
        (vec![0, 0, 8, 0], "rank 0"),
        (vec![0, 0, 8, 5], "rank 5"),
        (vec![0, 0, 8, 2, 0, 0, 0, 3, 0, 0], "truncated IDX header"),
        (encode_idx(&[3, 0], &[]), "contain a zero"),
        (
            good[..good.len() - 1].to_vec(),
            "truncated: dimensions [3, 2] need 6",
        ),
        ([good.clone(), vec![9, 9]].concat(), "2 trailing bytes"),
    ];
    for (bytes, needle) in cases {
        let reason = corrupt_reason(parse_idx(bytes.clone(), f).unwrap_err(), f);
        assert!(
            reason.contains(needle),
            "{bytes:?}: `{reason}` lacks `{needle}`"
        );
    }
    assert_eq!(parse_idx(good, f).unwrap().dims, vec![3, 2]);
}

#[test]
fn idx_rejects_bad_and_truncated_gzip() {
    let dir = tmp();
    let garbage = dir.path().join("g.gz");
    std::fs::write(&garbage, b"not gzip at all").unwrap();
    let reason = corrupt_reason(read_idx(&garbage).unwrap_err(), &garbage);
    assert!(reason.contains("bad gzip data"), "{reason}");

    let cut = dir.path().join("cut.gz");
    write_gz(&cut, &encode_idx(&[100], &[7; 100]));
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 6]).unwrap();
    let reason = corrupt_reason(read_idx(&cut).unwrap_err(), &cut);
    assert!(reason.contains("gzip"), "{reason}");

    let missing = dir.path().join("missing.gz");
    let reason = corrupt_reason(read_idx(&missing).unwrap_err(), &missing);
    assert!(reason.contains("cannot open"), "{reason}");
}

// ---------------------------------------------------------------- image datasets on disk

/// Writes a small fake (Fashion-)MNIST into `dir/<name>/`: `n` train and `m` test images of
/// `h`×`w` whose pixel `(i, y, x)` is `(i + y * w + x) % 256` and label `i % 10`.
fn write_fake_mnist(dir: &Path, name: DatasetName, n: u32, m: u32, h: u32, w: u32) -> PathBuf {
    let folder = dir.join(name.as_str());
    std::fs::create_dir_all(&folder).unwrap();
    let files = stored_files(name);
    for (count, images, labels) in [
        (n, files[0].name, files[1].name),
        (m, files[2].name, files[3].name),
    ] {
        let pixels: Vec<u8> = (0..count)
            .flat_map(|i| (0..h * w).map(move |p| ((i + p) % 256) as u8))
            .collect();
        let classes: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        write_gz(&folder.join(images), &encode_idx(&[count, h, w], &pixels));
        write_gz(&folder.join(labels), &encode_idx(&[count], &classes));
    }
    folder
}

#[test]
fn load_images_reads_a_data_directory() {
    let dir = tmp();
    write_fake_mnist(dir.path(), DatasetName::Mnist, 12, 5, 4, 3);
    let set = load_images(DatasetName::Mnist, dir.path()).unwrap();
    assert_eq!(set.name, "mnist");
    assert_eq!(set.classes, 10);
    assert_eq!(set.train_images.size(), [12, 1, 4, 3]);
    assert_eq!(set.train_images.kind(), Kind::Uint8);
    assert_eq!(set.test_images.size(), [5, 1, 4, 3]);
    assert_eq!(set.train_labels.kind(), Kind::Int64);
    assert_eq!(
        Vec::<i64>::try_from(&set.train_labels).unwrap(),
        (0..12).map(|i| i % 10).collect::<Vec<i64>>()
    );
    // Pixel (7, 2, 1) = 7 + 2*3 + 1.
    assert_eq!(set.train_images.int64_value(&[7, 0, 2, 1]), 14);
    // The fake files are well-formed but are not the real data.
    let e = verify_dataset(DatasetName::Mnist, dir.path()).unwrap_err();
    assert!(e.to_string().contains("decompresses to"), "{e}");
}

#[test]
fn load_images_errors_are_clear() {
    let dir = tmp();
    let e = load_images(DatasetName::FashionMnist, dir.path()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "dataset fashion-mnist not found in {}: run `kas data fetch fashion-mnist`",
            dir.path().display()
        )
    );
    assert!(load_images(DatasetName::Shakespeare, dir.path()).is_err());

    // Fewer labels than images.
    let folder = write_fake_mnist(dir.path(), DatasetName::FashionMnist, 6, 2, 2, 2);
    let labels = folder.join(stored_files(DatasetName::FashionMnist)[1].name);
    write_gz(&labels, &encode_idx(&[5], &[0; 5]));
    let reason = corrupt_reason(
        load_images(DatasetName::FashionMnist, dir.path()).unwrap_err(),
        &labels,
    );
    assert!(reason.contains("5 labels for 6 images"), "{reason}");

    // A label that is not a class.
    write_gz(&labels, &encode_idx(&[6], &[0, 1, 2, 10, 4, 5]));
    let reason = corrupt_reason(
        load_images(DatasetName::FashionMnist, dir.path()).unwrap_err(),
        &labels,
    );
    assert!(reason.contains("label 10 at index 3"), "{reason}");

    // Images of the wrong rank.
    let images = folder.join(stored_files(DatasetName::FashionMnist)[2].name);
    write_gz(&images, &encode_idx(&[2, 4], &[0; 8]));
    write_gz(&labels, &encode_idx(&[6], &[0; 6]));
    let reason = corrupt_reason(
        load_images(DatasetName::FashionMnist, dir.path()).unwrap_err(),
        &images,
    );
    assert!(reason.contains("[N, H, W]"), "{reason}");

    // A missing file.
    std::fs::remove_file(&images).unwrap();
    let reason = corrupt_reason(
        load_images(DatasetName::FashionMnist, dir.path()).unwrap_err(),
        &images,
    );
    assert!(reason.contains("cannot open"), "{reason}");
}

// ---------------------------------------------------------------- CIFAR

/// A CIFAR record: label bytes, then channel c's pixels all equal to `base + c`.
fn cifar_record(labels: &[u8], base: u8) -> Vec<u8> {
    let mut r = labels.to_vec();
    for c in 0..3u8 {
        r.extend(std::iter::repeat_n(base.wrapping_add(c), 1024));
    }
    r
}

#[test]
fn cifar10_reader() {
    let dir = tmp();
    for b in 1..=5u8 {
        let bytes = [cifar_record(&[b], 10 * b), cifar_record(&[9], 10 * b + 5)].concat();
        std::fs::write(dir.path().join(format!("data_batch_{b}.bin")), bytes).unwrap();
    }
    std::fs::write(dir.path().join("test_batch.bin"), cifar_record(&[3], 200)).unwrap();
    let set = read_cifar10(dir.path()).unwrap();
    assert_eq!((set.name.as_str(), set.classes), ("cifar-10", 10));
    assert_eq!(set.train_images.size(), [10, 3, 32, 32]);
    assert_eq!(set.test_images.size(), [1, 3, 32, 32]);
    assert_eq!(
        Vec::<i64>::try_from(&set.train_labels).unwrap(),
        vec![1, 9, 2, 9, 3, 9, 4, 9, 5, 9]
    );
    // Record 3 is the second of batch 2: base 25, channels 25, 26, 27.
    for c in 0..3 {
        assert_eq!(set.train_images.int64_value(&[3, c, 31, 0]), 25 + c);
    }
    assert_eq!(set.test_images.int64_value(&[0, 2, 5, 5]), 202);

    // Corruption: a partial record, a bad label, a missing file.
    let test = dir.path().join("test_batch.bin");
    std::fs::write(&test, &cifar_record(&[3], 0)[..3000]).unwrap();
    let reason = corrupt_reason(read_cifar10(dir.path()).unwrap_err(), &test);
    assert!(reason.contains("3073-byte records"), "{reason}");
    std::fs::write(&test, cifar_record(&[10], 0)).unwrap();
    let reason = corrupt_reason(read_cifar10(dir.path()).unwrap_err(), &test);
    assert!(reason.contains("record 0: label byte 0 is 10"), "{reason}");
    std::fs::remove_file(&test).unwrap();
    let e = read_cifar10(dir.path()).unwrap_err().to_string();
    assert!(e.contains("test_batch.bin not found"), "{e}");
}

#[test]
fn cifar100_reader_uses_fine_labels() {
    let dir = tmp();
    let train = [cifar_record(&[19, 99], 1), cifar_record(&[0, 42], 2)].concat();
    std::fs::write(dir.path().join("train.bin"), train).unwrap();
    std::fs::write(dir.path().join("test.bin"), cifar_record(&[5, 7], 3)).unwrap();
    let set = read_cifar100(dir.path()).unwrap();
    assert_eq!((set.name.as_str(), set.classes), ("cifar-100", 100));
    assert_eq!(
        Vec::<i64>::try_from(&set.train_labels).unwrap(),
        vec![99, 42]
    );
    assert_eq!(set.train_images.int64_value(&[1, 1, 0, 0]), 3);
    std::fs::write(dir.path().join("test.bin"), cifar_record(&[20, 7], 3)).unwrap();
    let e = read_cifar100(dir.path()).unwrap_err().to_string();
    assert!(e.contains("label byte 0 is 20, not below 20"), "{e}");
}

// ---------------------------------------------------------------- text

#[test]
fn text_split_vocab_and_loading() {
    let set = TextSet::from_text("abcab\nbca!", 0.9);
    assert_eq!(set.vocab, vec!['\n', '!', 'a', 'b', 'c']);
    assert_eq!(set.train.len(), 9);
    assert_eq!(set.val, vec![1]);
    assert_eq!(set.decode(&set.train), "abcab\nbca");

    let dir = tmp();
    let e = load_text(DatasetName::Shakespeare, dir.path()).unwrap_err();
    assert!(
        e.to_string().contains("run `kas data fetch shakespeare`"),
        "{e}"
    );
    let folder = dir.path().join("shakespeare");
    std::fs::create_dir(&folder).unwrap();
    let text = "To be, or not to be: that is the question.\n".repeat(10);
    write_gz(
        &folder.join(stored_files(DatasetName::Shakespeare)[0].name),
        text.as_bytes(),
    );
    let set = load_text(DatasetName::Shakespeare, dir.path()).unwrap();
    assert_eq!(set.train.len() + set.val.len(), text.len());
    assert_eq!(set.val.len(), text.len() - text.len() * 9 / 10);
    assert_eq!(set.decode(&set.train) + &set.decode(&set.val), text);

    let bad = folder.join(stored_files(DatasetName::Shakespeare)[0].name);
    write_gz(&bad, &[0xff, 0xfe, b'a']);
    let reason = corrupt_reason(
        load_text(DatasetName::Shakespeare, dir.path()).unwrap_err(),
        &bad,
    );
    assert!(reason.contains("not UTF-8"), "{reason}");
}

#[test]
fn text_batches_are_shifted_and_deterministic() {
    let tokens: Vec<i64> = (0..1000).collect();
    let (x, y) = text_batch(&tokens, 4, 16, 7, 3).unwrap();
    assert_eq!(x.size(), [4, 16]);
    assert_eq!(x.kind(), Kind::Int64);
    // Consecutive tokens: y = x + 1 everywhere, and windows stay inside the tokens.
    assert_eq!(
        Vec::<i64>::try_from(&(&y - &x).flatten(0, -1)).unwrap(),
        vec![1; 64]
    );
    assert!(y.max().int64_value(&[]) < 1000);
    let (x2, _) = text_batch(&tokens, 4, 16, 7, 3).unwrap();
    assert!(x.equal(&x2));
    let (x3, _) = text_batch(&tokens, 4, 16, 7, 4).unwrap();
    let (x4, _) = text_batch(&tokens, 4, 16, 8, 3).unwrap();
    assert!(!x.equal(&x3) && !x.equal(&x4));
    // The last valid window is reachable with context = len - 1 (a single start).
    let (x5, y5) = text_batch(&tokens[..17], 2, 16, 0, 0).unwrap();
    assert_eq!(x5.int64_value(&[1, 0]), 0);
    assert_eq!(y5.int64_value(&[1, 15]), 16);
    assert!(text_batch(&tokens[..16], 2, 16, 0, 0).is_err());
    assert!(text_batch(&tokens, 0, 16, 0, 0).is_err());
    assert!(text_batch(&tokens, 2, 0, 0, 0).is_err());
}

// ---------------------------------------------------------------- image batches

/// A random grey set (seeded): `n` train and `m` test images of 8×8, labels `i % 10`.
fn random_set(n: i64, m: i64) -> ImageSet {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
    let mut images = |count: i64| {
        let pixels: Vec<u8> = (0..count * 64).map(|_| rng.random()).collect();
        Tensor::from_slice(&pixels).view([count, 1, 8, 8])
    };
    ImageSet {
        train_images: images(n),
        train_labels: Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(10),
        test_images: images(m),
        test_labels: Tensor::arange(m, (Kind::Int64, Device::Cpu)).remainder(10),
        classes: 10,
        name: "random".to_string(),
    }
}

#[test]
fn channel_stats_are_exact() {
    let images = Tensor::from_slice(&[0u8, 255, 51, 51, 0, 255, 51, 51]).view([2, 2, 1, 2]);
    let s = channel_stats(&images).unwrap();
    assert!((s.mean[0] - 0.5).abs() < 1e-12 && (s.std[0] - 0.5).abs() < 1e-12);
    assert!((s.mean[1] - 0.2).abs() < 1e-12 && s.std[1].abs() < 1e-12);
}

#[test]
fn test_batches_are_sequential_and_normalised() {
    let mut set = random_set(40, 40);
    set.test_images = set.train_images.copy();
    let prep = ImagePrep {
        size: 8,
        channels: 1,
        augment: true,
    };
    let batches = image_batches(&set, Split::Test, &prep, 16, 0, 0, Device::Cpu).unwrap();
    assert_eq!(batches.len(), 3);
    let (xs, ys): (Vec<Tensor>, Vec<Tensor>) = batches.unzip();
    assert_eq!(xs[2].size(), [8, 1, 8, 8]);
    let x = Tensor::cat(&xs, 0);
    assert_eq!(x.kind(), Kind::Float);
    assert!(Tensor::cat(&ys, 0).equal(&set.test_labels));
    // Test images are not augmented: the train set's own statistics normalise it exactly.
    assert!(x.mean(Kind::Double).double_value(&[]).abs() < 1e-5);
    assert!((x.std(false).double_value(&[]) - 1.0).abs() < 1e-4);
    let s = channel_stats(&set.train_images).unwrap();
    let back = (&x * s.std[0] + s.mean[0]) * 255.0;
    assert!(
        (back - set.train_images.to_kind(Kind::Float))
            .abs()
            .max()
            .double_value(&[])
            < 1e-3
    );
}

#[test]
fn train_batches_shuffle_resize_replicate_deterministically() {
    let set = random_set(50, 10);
    let prep = ImagePrep {
        size: 16,
        channels: 3,
        augment: false,
    };
    let epoch = |seed, epoch| -> Vec<(Tensor, Tensor)> {
        image_batches(&set, Split::Train, &prep, 16, seed, epoch, Device::Cpu)
            .unwrap()
            .collect()
    };
    let a = epoch(5, 0);
    assert_eq!(
        a.len(),
        3,
        "50 images in batches of 16: the incomplete last is dropped"
    );
    assert_eq!(a[0].0.size(), [16, 3, 16, 16]);
    assert_eq!(a[0].1.size(), [16]);
    // Replicated channels are equal.
    assert!(a[0].0.select(1, 0).equal(&a[0].0.select(1, 2)));
    // A permutation: no label index repeats across the epoch.
    let b = epoch(5, 0);
    for (p, q) in a.iter().zip(&b) {
        assert!(p.0.equal(&q.0) && p.1.equal(&q.1));
    }
    let c = epoch(5, 1);
    assert!(
        !a[0].1.equal(&c[0].1) || !a[0].0.equal(&c[0].0),
        "epochs reshuffle"
    );
    // Bilinear resize of a constant image stays constant.
    let flat = ImageSet {
        train_images: Tensor::full([4, 1, 8, 8], 77, (Kind::Uint8, Device::Cpu)),
        train_labels: Tensor::zeros([4], (Kind::Int64, Device::Cpu)),
        test_images: Tensor::full([1, 1, 8, 8], 77, (Kind::Uint8, Device::Cpu)),
        test_labels: Tensor::zeros([1], (Kind::Int64, Device::Cpu)),
        classes: 10,
        name: "flat".to_string(),
    };
    let (x, _) = image_batches(&flat, Split::Test, &prep, 1, 0, 0, Device::Cpu)
        .unwrap()
        .next()
        .unwrap();
    assert!(
        x.abs().max().double_value(&[]) < 1e-6,
        "std 0: constant maps to 0"
    );
}

/// Whether `out` (`[S, S]`) is `inp` shifted by `(dy, dx)` with zero fill, then maybe flipped.
fn is_shift(inp: &[f32], out: &[f32], s: i64, dy: i64, dx: i64, flip: bool) -> bool {
    (0..s).all(|y| {
        (0..s).all(|x| {
            let xs = if flip { s - 1 - x } else { x };
            let (sy, sx) = (y + dy, xs + dx);
            let want = if (0..s).contains(&sy) && (0..s).contains(&sx) {
                inp[(sy * s + sx) as usize]
            } else {
                0.0
            };
            (out[(y * s + x) as usize] - want).abs() < 1e-4
        })
    })
}

#[test]
fn augmentation_is_a_seeded_padded_crop_and_flip() {
    // Pixels in 1..=255 so that zero padding is recognisable.
    let mut set = random_set(64, 1);
    set.train_images = set.train_images.clamp(1, 255);
    let prep = ImagePrep {
        size: 16,
        channels: 1,
        augment: true,
    };
    assert_eq!(prep.padding(), 2);
    let s = channel_stats(&set.train_images).unwrap();
    let plain = ImagePrep {
        augment: false,
        ..prep
    };
    let run = |p: &ImagePrep, seed| -> Vec<(Tensor, Tensor)> {
        image_batches(&set, Split::Train, p, 32, seed, 0, Device::Cpu)
            .unwrap()
            .collect()
    };
    let (aug, base) = (run(&prep, 9), run(&plain, 9));
    let (mut shifted, mut flipped) = (0, 0);
    for ((xa, ya), (xb, yb)) in aug.iter().zip(&base) {
        assert!(ya.equal(yb), "augmentation does not change the order");
        let unnorm = |x: &Tensor| (x * s.std[0] + s.mean[0]).flatten(0, -1);
        let (va, vb) = (
            Vec::<f32>::try_from(&unnorm(xa)).unwrap(),
            Vec::<f32>::try_from(&unnorm(xb)).unwrap(),
        );
        for i in 0..32 {
            let (inp, out) = (&vb[i * 256..(i + 1) * 256], &va[i * 256..(i + 1) * 256]);
            let found = (-2..=2)
                .flat_map(|dy| (-2..=2).flat_map(move |dx| [(dy, dx, false), (dy, dx, true)]))
                .find(|&(dy, dx, f)| is_shift(inp, out, 16, dy, dx, f));
            let (dy, dx, f) = found.unwrap_or_else(|| panic!("image {i} is not a shifted crop"));
            shifted += usize::from((dy, dx) != (0, 0));
            flipped += usize::from(f);
        }
    }
    assert!(
        shifted > 32 && flipped > 16 && flipped < 48,
        "{shifted} shifted, {flipped} flipped"
    );
    let again = run(&prep, 9);
    assert!(aug.iter().zip(&again).all(|(p, q)| p.0.equal(&q.0)));
    let other = run(&prep, 10);
    assert!(!aug[0].0.equal(&other[0].0));
}

#[test]
fn bad_batch_arguments_are_errors() {
    let set = random_set(10, 10);
    let prep = ImagePrep {
        size: 8,
        channels: 3,
        augment: false,
    };
    for (batch, p) in [(0, prep), (4, ImagePrep { size: 0, ..prep }), (11, prep)] {
        assert!(image_batches(&set, Split::Train, &p, batch, 0, 0, Device::Cpu).is_err());
    }
    let mut rgb = random_set(10, 10);
    rgb.train_images = rgb.train_images.repeat([1, 3, 1, 1]);
    let e = image_batches(
        &rgb,
        Split::Train,
        &ImagePrep {
            channels: 2,
            ..prep
        },
        2,
        0,
        0,
        Device::Cpu,
    )
    .unwrap_err();
    assert!(e.to_string().contains("has 3 channels"), "{e}");
}

// ---------------------------------------------------------------- the real data, when present

/// The default data directory if `name` has been fetched there, else `None` (printing why the
/// test skips).
fn real(name: DatasetName) -> Option<PathBuf> {
    let dir = data_dir(None);
    if dir.join(name.as_str()).is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: {name} not in {} (run `kas data fetch {name}`)",
            dir.display()
        );
        None
    }
}

fn label_checks(
    name: DatasetName,
    first_train: &[i64],
    first_test: &[i64],
    train_counts: &[i64],
    test_counts: &[i64],
) {
    let Some(dir) = real(name) else { return };
    let set = load_images(name, &dir).unwrap();
    assert_eq!(set.train_images.size(), [60000, 1, 28, 28]);
    assert_eq!(set.test_images.size(), [10000, 1, 28, 28]);
    let train = Vec::<i64>::try_from(&set.train_labels).unwrap();
    let test = Vec::<i64>::try_from(&set.test_labels).unwrap();
    assert_eq!(&train[..10], first_train);
    assert_eq!(&test[..10], first_test);
    let counts = |labels: &[i64]| {
        (0..10)
            .map(|c| labels.iter().filter(|&&l| l == c).count() as i64)
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&train), train_counts);
    assert_eq!(counts(&test), test_counts);
}

#[test]
fn real_fashion_mnist_labels() {
    label_checks(
        DatasetName::FashionMnist,
        &[9, 0, 0, 3, 0, 2, 7, 2, 5, 5],
        &[9, 2, 1, 1, 6, 1, 4, 6, 5, 7],
        &[6000; 10],
        &[1000; 10],
    );
}

#[test]
fn real_mnist_labels() {
    label_checks(
        DatasetName::Mnist,
        &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4],
        &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9],
        &[5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        &[980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    );
}

#[test]
fn real_shakespeare_text() {
    let Some(dir) = real(DatasetName::Shakespeare) else {
        return;
    };
    let set = load_text(DatasetName::Shakespeare, &dir).unwrap();
    let total = set.train.len() + set.val.len();
    assert_eq!(total as u64, stored_files(DatasetName::Shakespeare)[0].len);
    assert_eq!(set.val.len(), total - total * 9 / 10);
    let text = set.decode(&set.val[..200]);
    assert!(text.is_ascii(), "{text}");
    // 84 distinct characters, all ASCII (counted with Python from the package's 42 files).
    assert_eq!(set.vocab.len(), 84);
    assert!(set.vocab.iter().all(char::is_ascii));
}
