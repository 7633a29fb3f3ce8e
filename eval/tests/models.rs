//! Host models: slots hold the original layer or an operator (the library's conv2d and linear
//! in a slot compute what the original layers compute with the same weights), output shapes,
//! slot lists and multiply-add counts.

use kas_eval::models::slot::{Fill, Slot, SlotInfo, SlotShape};
use kas_eval::models::{GptConfig, HostModel, ModelConfig, ModelKind, VisionConfig};
use kas_primitives::{Operator, library};
use tch::nn::{Module, ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

fn lib(name: &str) -> Operator {
    (library::get(name).unwrap().build)().unwrap()
}

fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
    f64::try_from((a - b).abs().max()).unwrap() / (f64::try_from(b.abs().max()).unwrap() + 1e-6)
}

/// Builds the slot with its original layer and with `op`, copies the original weight into the
/// operator's, and compares outputs at the slot's batch and at another batch.
fn same_as_original(shape: SlotShape, op: &Operator, x_shape: &[i64]) {
    tch::manual_seed(1);
    let info = SlotInfo {
        name: "s".into(),
        shape,
    };
    let (va, vb) = (VarStore::new(Device::Cpu), VarStore::new(Device::Cpu));
    let orig = Slot::new(&va.root(), info.clone(), 2, Fill::Original).unwrap();
    let with_op = Slot::new(&vb.root(), info, 2, Fill::Operator(op)).unwrap();
    assert!(with_op.holds_operator() && !orig.holds_operator());
    let (wa, wb) = (va.trainable_variables(), vb.trainable_variables());
    assert_eq!((wa.len(), wb.len()), (1, 1));
    assert_eq!(wa[0].size(), wb[0].size(), "weight layouts differ");
    tch::no_grad(|| wb[0].shallow_clone().copy_(&wa[0]));
    for n in [2, 3] {
        let mut s = x_shape.to_vec();
        s[0] = n;
        let x = Tensor::randn(&s[..], (Kind::Float, Device::Cpu));
        let (ya, yb) = (orig.forward(&x), with_op.forward(&x));
        assert_eq!(ya.size(), yb.size());
        let e = rel_err(&yb, &ya);
        assert!(e < 1e-5, "batch {n}: error {e:e}");
    }
}

#[test]
fn library_conv2d_in_a_slot_is_the_original_convolution() {
    let shape = SlotShape::Conv {
        c_in: 3,
        c_out: 5,
        h: 6,
    };
    same_as_original(shape, &lib("conv2d"), &[2, 3, 6, 6]);
}

#[test]
fn library_linear_in_a_qkv_slot_is_the_original_projection() {
    let shape = SlotShape::Qkv { seq: 4, width: 6 };
    same_as_original(shape, &lib("linear"), &[2, 4, 6]);
}

#[test]
fn operators_that_do_not_fit_are_refused_with_a_reason() {
    let vs = VarStore::new(Device::Cpu);
    let conv = SlotInfo {
        name: "layer1.0.conv1".into(),
        shape: SlotShape::Conv {
            c_in: 4,
            c_out: 4,
            h: 8,
        },
    };
    let qkv = SlotInfo {
        name: "h0.qkv".into(),
        shape: SlotShape::Qkv { seq: 4, width: 6 },
    };
    let e = Slot::new(&vs.root(), conv, 2, Fill::Operator(&lib("linear")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`seq_len`") && e.contains("layer1.0.conv1"),
        "{e}"
    );
    let e = Slot::new(&vs.root(), qkv, 2, Fill::Operator(&lib("conv2d")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`C_in`") && e.contains("h0.qkv"), "{e}");
}

fn tiny_vision(kind: ModelKind) -> ModelConfig {
    let v = VisionConfig {
        width: 4,
        image: 16,
        channels: 3,
        classes: 5,
    };
    match kind {
        ModelKind::ResNet18 => ModelConfig::ResNet18(v),
        _ => ModelConfig::Cnn(v),
    }
}

fn tiny_gpt() -> ModelConfig {
    ModelConfig::Gpt(GptConfig {
        vocab: 11,
        width: 12,
        layers: 2,
        heads: 2,
        context: 8,
        dropout: 0.1,
        slots: Default::default(),
    })
}

#[test]
fn vision_models_have_their_slots_and_output_shapes() {
    for (kind, slots, hs) in [
        (ModelKind::ResNet18, 16, vec![16, 8, 4, 2]),
        (ModelKind::Cnn, 4, vec![16, 8, 4]),
    ] {
        for op in [None, Some(lib("conv2d"))] {
            tch::manual_seed(0);
            let vs = VarStore::new(Device::Cpu);
            let fill = op.as_ref().map_or(Fill::Original, Fill::Operator);
            let m = HostModel::new(tiny_vision(kind), 4, fill, &vs.root()).unwrap();
            assert_eq!(m.slots.len(), slots, "{kind}");
            let mut seen: Vec<i64> = m
                .slots
                .iter()
                .map(|s| match s.shape {
                    SlotShape::Conv { h, .. } | SlotShape::GroupedConv { h, .. } => h,
                    SlotShape::Qkv { .. } | SlotShape::Linear { .. } | SlotShape::Mix { .. } => {
                        panic!("{kind}: a linear slot")
                    }
                })
                .collect();
            seen.dedup();
            assert_eq!(seen, hs, "{kind}");
            let x = Tensor::randn([3, 3, 16, 16], (Kind::Float, Device::Cpu));
            assert_eq!(m.forward_t(&x, true).size(), [3, 5], "{kind}");
            assert_eq!(m.forward_t(&x, false).size(), [3, 5], "{kind}");
        }
    }
}

#[test]
fn gpt_has_one_qkv_slot_per_block_and_predicts_every_position() {
    for op in [None, Some(lib("linear")), Some(lib("gpt2-qkv-tied"))] {
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cpu);
        let fill = op.as_ref().map_or(Fill::Original, Fill::Operator);
        let m = match HostModel::new(tiny_gpt(), 4, fill, &vs.root()) {
            Ok(m) => m,
            // The tied operator needs H_in divisible by k⁴·t: a clear refusal at width 12.
            Err(e) => {
                assert!(op.is_some(), "{e}");
                assert!(e.to_string().contains("h0.qkv"), "{e}");
                continue;
            }
        };
        let names: Vec<&str> = m.slots.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["h0.qkv", "h1.qkv"]);
        let x = Tensor::randint(11, [3, 8], (Kind::Int64, Device::Cpu));
        assert_eq!(m.forward_t(&x, true).size(), [3, 8, 11]);
        // Causal: changing the last token leaves earlier predictions alone.
        let y = m.forward_t(&x, false);
        let x2 = x.copy();
        let _ = x2.narrow(1, 7, 1).fill_(3);
        let y2 = m.forward_t(&x2, false);
        assert!(rel_err(&y2.narrow(1, 0, 7), &y.narrow(1, 0, 7)) < 1e-6);
    }
}

#[test]
fn resnet18_multiply_adds_at_cifar_size() {
    // The CIFAR ResNet-18 at 32×32 with 10 classes, counted by hand: stem 32²·9·3·64; layer1
    // four 32²·9·64² convs; layers 2–4 at H = 16, 8, 4 each one C→2C slot, three 2C→2C slots
    // and a 1×1 shortcut, all at H (avg-pool then stride 1 costs what stride 2 does); fc 512·10.
    let mut slots = 4 * 32 * 32 * 9 * 64 * 64;
    let mut other = 32 * 32 * 9 * 3 * 64 + 512 * 10;
    for (h, c) in [(16i64, 64i64), (8, 128), (4, 256)] {
        slots += h * h * 9 * c * 2 * c + 3 * h * h * 9 * 4 * c * c;
        other += h * h * c * 2 * c;
    }
    let vs = VarStore::new(Device::Cpu);
    let cfg = ModelConfig::ResNet18(VisionConfig {
        width: 64,
        image: 32,
        channels: 3,
        classes: 10,
    });
    let m = HostModel::new(cfg, 1, Fill::Original, &vs.root()).unwrap();
    assert_eq!(m.macs.slots, slots as f64);
    assert_eq!(m.macs.other, other as f64);
    // The usual figure for this network: 0.56 G multiply-adds per image.
    assert!((m.macs.total() / 1e9 - 0.555).abs() < 0.001, "{:?}", m.macs);
    let params: i64 = vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum();
    assert!(
        (params as f64 / 1e6 - 11.17).abs() < 0.01,
        "{params} parameters"
    );
}

#[test]
fn bad_sizes_are_refused() {
    let vs = VarStore::new(Device::Cpu);
    let bad = ModelConfig::ResNet18(VisionConfig {
        width: 4,
        image: 12,
        channels: 3,
        classes: 5,
    });
    let e = HostModel::new(bad, 2, Fill::Original, &vs.root()).unwrap_err();
    assert!(e.to_string().contains("multiple of 8"), "{e}");
    assert!("vgg".parse::<ModelKind>().is_err());
    assert_eq!("gpt".parse::<ModelKind>().unwrap(), ModelKind::Gpt);
}
