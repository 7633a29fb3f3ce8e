//! The CIFAR-style host models added for the papers' experiments (ResNet-34, ResNeXt-29,
//! DenseNet-121, EfficientNet-V2-S):
//! their slots, output shapes, sizes against the usual figures, and generated slot specs.

use kas_eval::models::slot::{Fill, SlotShape};
use kas_eval::models::{HostModel, ModelConfig, ModelKind, VisionConfig};
use kas_eval::spec_gen::{builtin_template, model_spec, spec_text};
use kas_primitives::format::parse_ron;
use kas_primitives::{Operator, Spec, SpecFile};
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

const KINDS: [ModelKind; 4] = [
    ModelKind::ResNet34,
    ModelKind::ResNeXt29,
    ModelKind::DenseNet121,
    ModelKind::EfficientNetV2S,
];

fn tiny(kind: ModelKind) -> ModelConfig {
    ModelConfig::Vision(
        kind,
        VisionConfig {
            // ResNeXt's width is per group (32 groups).
            width: if kind == ModelKind::ResNeXt29 { 1 } else { 4 },
            image: 16,
            channels: 3,
            classes: 5,
        },
    )
}

fn conv2d() -> Operator {
    (kas_primitives::library::get("conv2d").unwrap().build)().unwrap()
}

#[test]
fn slots_and_output_shapes() {
    for (kind, slots, hs, c) in [
        (ModelKind::ResNet34, 32, vec![16, 8, 4, 2], None),
        (ModelKind::DenseNet121, 58, vec![16, 8, 4, 2], Some((16, 4))),
        (ModelKind::EfficientNetV2S, 10, vec![16, 8, 4], None),
        (ModelKind::ResNeXt29, 9, vec![16, 8, 4], None),
    ] {
        let op = conv2d();
        for fill in [Fill::Original, Fill::Operator(&op)] {
            tch::manual_seed(0);
            let vs = VarStore::new(Device::Cpu);
            let m = HostModel::new(tiny(kind), 2, fill, &vs.root()).unwrap();
            assert_eq!(m.kind(), kind);
            assert_eq!(m.slots.len(), slots, "{kind}");
            let mut seen = Vec::new();
            for s in &m.slots {
                let (c_in, c_out, h) = match s.shape {
                    SlotShape::Conv { c_in, c_out, h } => (c_in, c_out, h),
                    SlotShape::GroupedConv {
                        c_in,
                        c_out,
                        h,
                        groups,
                    } => {
                        assert_eq!(kind, ModelKind::ResNeXt29);
                        assert_eq!((groups, c_in % groups), (32, 0), "{}", s.name);
                        (c_in, c_out, h)
                    }
                    SlotShape::Qkv { .. } | SlotShape::Linear { .. } | SlotShape::Mix { .. } => {
                        panic!("{kind}: {} is a linear slot", s.name)
                    }
                };
                if let Some(cc) = c {
                    assert_eq!((c_in, c_out), cc, "{kind}: {}", s.name);
                }
                seen.push(h);
            }
            seen.dedup();
            assert_eq!(seen, hs, "{kind}");
            let x = Tensor::randn([3, 3, 16, 16], (Kind::Float, Device::Cpu));
            assert_eq!(m.forward_t(&x, true).size(), [3, 5], "{kind}");
            assert_eq!(m.forward_t(&x, false).size(), [3, 5], "{kind}");
        }
    }
}

#[test]
fn default_sizes_match_the_usual_figures() {
    // Trainable parameters with 10 classes: CIFAR ResNet-34 21.28 M; DenseNet-121 (growth 32)
    // 6.96 M (7.98 M at 1000 classes with a 7×7 stem, less 990 classifier rows of 1024 and
    // the smaller 3×3 stem). Multiply-adds per 64×64 image: CIFAR ResNet-34's 1.16 G at 32×32
    // times 4; DenseNet-121's 2.87 G at 224×224 less its 7×7 stem, times (64/56)² (its blocks
    // then run at 64, 32, 16 and 8 instead of 56, 28, 14 and 7), within 2 %. EfficientNet-V2-S:
    // 21.46 M less 990 classifier rows of 1280 and their biases; 8.37 G at its 384×384 less its
    // stem, times (64/192)² (a stride-1 stem at 64 instead of stride 2 at 384).
    for (kind, millions, giga) in [
        (ModelKind::ResNet34, 21.28, 4.64),
        (ModelKind::DenseNet121, 6.96, 3.59),
        (ModelKind::EfficientNetV2S, 20.19, 0.93),
    ] {
        let vs = VarStore::new(Device::Cpu);
        let m = HostModel::new(kind.default_config(), 1, Fill::Original, &vs.root()).unwrap();
        let params: f64 = (vs.trainable_variables().iter())
            .map(|t| t.numel() as f64)
            .sum();
        assert!(
            (params / 1e6 - millions).abs() < 0.01,
            "{kind}: {params} parameters"
        );
        let g = m.macs.total() / 1e9;
        assert!((g / giga - 1.0).abs() < 0.02, "{kind}: {:?}", m.macs);
    }
}

#[test]
fn specs_have_one_binding_per_slot_and_read_back() {
    for (kind, slots, distinct) in [
        (ModelKind::ResNet34, 32, 7),
        (ModelKind::DenseNet121, 58, 4),
        (ModelKind::EfficientNetV2S, 10, 5),
        (ModelKind::ResNeXt29, 9, 3),
    ] {
        assert_eq!(kind.name().parse::<ModelKind>().unwrap(), kind);
        let vs = VarStore::new(Device::Cpu);
        let m = HostModel::new(kind.default_config(), 32, Fill::Original, &vs.root()).unwrap();
        let (path, text) = builtin_template(kind);
        let template: SpecFile = parse_ron(text, path).unwrap();
        let file = model_spec(&m, &template).unwrap();
        let text = spec_text(&file, "kas spec");
        let spec = Spec::read(&text, "generated").unwrap();
        assert_eq!(spec.binding_set, kind.binding_set());
        assert_eq!(spec.bindings.len(), slots, "{kind}");
        let mut shapes: Vec<_> = file.bindings.iter().map(|b| b.values.clone()).collect();
        shapes.sort();
        shapes.dedup();
        assert_eq!(shapes.len(), distinct, "{kind}");
        let (lo, hi) = spec.budgets.flops;
        assert!(0.0 <= lo && lo < hi, "{kind}: {lo} {hi}");
    }
    for kind in KINDS {
        assert!(ModelKind::ALL.contains(&kind));
    }
}

#[test]
fn a_vision_config_of_another_model_is_refused() {
    let vs = VarStore::new(Device::Cpu);
    let e = HostModel::new(
        ModelConfig::Vision(
            ModelKind::Gpt,
            VisionConfig {
                width: 4,
                image: 16,
                channels: 3,
                classes: 5,
            },
        ),
        2,
        Fill::Original,
        &vs.root(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "gpt is not a CIFAR-style classifier of ModelConfig::Vision"
    );
    let mut v = tiny(ModelKind::EfficientNetV2S);
    if let ModelConfig::Vision(_, c) = &mut v {
        c.image = 24;
    }
    let e = HostModel::new(v, 2, Fill::Original, &vs.root())
        .unwrap_err()
        .to_string();
    assert!(e.contains("multiple of 16"), "{e}");
}

#[test]
fn resnext29_counts_its_grouped_slots_once_per_group() {
    // Counted by hand from the architecture (stem 64; D = 128, 256, 512; 10 classes):
    // 4,750,528 convolution and classifier weights, 25,226 norm parameters and biases. Each
    // grouped slot costs H²·9·(D/32)·D = 18,874,368 multiply-adds at 64×64 (H = 64, 32, 16).
    let vs = VarStore::new(Device::Cpu);
    let config = ModelKind::ResNeXt29.default_config();
    let m = HostModel::new(config, 1, Fill::Original, &vs.root()).unwrap();
    let params: f64 = (vs.trainable_variables().iter())
        .map(|t| t.numel() as f64)
        .sum();
    assert_eq!(params, 4_750_528.0 + 25_226.0);
    assert_eq!(config.parameters(), 4_750_528.0);
    assert_eq!(m.macs.slots, 9.0 * 18_874_368.0);
}
