//! The GPT's slot families (`kas spec --model gpt --slots …`): which projections become slots,
//! their shapes and multiply-adds, an operator filling every slot of a family, the generated
//! spec's windows, and the refusal of an unknown family.

use kas_eval::models::slot::{Fill, SlotShape};
use kas_eval::models::{GptConfig, GptSlots, HostModel, ModelConfig};
use kas_eval::spec_gen::{builtin_template_for, model_spec};
use kas_primitives::format::parse_ron;
use kas_primitives::{SpecFile, library};
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

fn gpt(slots: GptSlots) -> ModelConfig {
    ModelConfig::Gpt(GptConfig {
        vocab: 11,
        width: 8,
        layers: 2,
        heads: 2,
        context: 6,
        dropout: 0.0,
        slots,
    })
}

fn model(slots: GptSlots, fill: Fill<'_>, vs: &VarStore) -> HostModel {
    HostModel::new(gpt(slots), 4, fill, &vs.root()).unwrap()
}

#[test]
fn each_family_makes_its_projections_slots_in_every_block() {
    let lin = |c_in, c_out| SlotShape::Linear {
        seq: 6,
        c_in,
        c_out,
    };
    let cases = [
        (
            GptSlots::Qkv,
            vec!["h0.qkv", "h1.qkv"],
            SlotShape::Qkv { seq: 6, width: 8 },
        ),
        (GptSlots::Proj, vec!["h0.proj", "h1.proj"], lin(8, 8)),
        (GptSlots::MlpUp, vec!["h0.fc", "h1.fc"], lin(8, 32)),
        (
            GptSlots::MlpDown,
            vec!["h0.fc_proj", "h1.fc_proj"],
            lin(32, 8),
        ),
    ];
    let base = model(GptSlots::Qkv, Fill::Original, &VarStore::new(Device::Cpu)).macs;
    for (family, names, shape) in cases {
        let m = model(family, Fill::Original, &VarStore::new(Device::Cpu));
        let got: Vec<&str> = m.slots.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(got, names, "{family}");
        assert!(m.slots.iter().all(|s| s.shape == shape), "{family}");
        // The model's multiply-adds do not depend on which projections are slots.
        assert_eq!(m.macs.total(), base.total(), "{family}");
        assert_eq!(m.macs.slots, 2.0 * shape.macs(), "{family}");
    }
    let all = model(GptSlots::All, Fill::Original, &VarStore::new(Device::Cpu));
    assert_eq!(all.slots.len(), 8);
    assert_eq!(all.slots[0].shape, lin(8, 24));
    assert_eq!(all.macs.total(), base.total());
}

#[test]
fn a_library_operator_fills_every_slot_of_a_family() {
    let op = (library::get("linear").unwrap().build)().unwrap();
    for family in [GptSlots::MlpUp, GptSlots::All] {
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cpu);
        let m = model(family, Fill::Operator(&op), &vs);
        let x = Tensor::randint(11, [3, 6], (Kind::Int64, Device::Cpu));
        assert_eq!(m.forward_t(&x, false).size(), [3, 6, 11]);
        // A slot holds its operator's weight, no bias: the slots' weights are 8·32 (or, for
        // all four, 8·24 + 8·8 + 8·32 + 32·8) per block.
        let slot_vars: i64 = vs
            .variables()
            .iter()
            .filter(|(k, _)| k.contains(".op."))
            .map(|(_, t)| t.numel() as i64)
            .sum();
        let per_block = match family {
            GptSlots::MlpUp => 8 * 32,
            _ => 8 * 24 + 8 * 8 + 8 * 32 + 32 * 8,
        };
        assert_eq!(slot_vars, 2 * per_block, "{family}");
    }
}

#[test]
fn generated_specs_have_flops_and_parameter_windows_from_the_model() {
    for family in GptSlots::ALL {
        let config = gpt(family);
        let m = HostModel::new(
            config,
            4,
            Fill::Original,
            &VarStore::new(Device::Cpu).root(),
        )
        .unwrap();
        let (path, text) = builtin_template_for(&config);
        let template: SpecFile = parse_ron(text, path).unwrap();
        let spec = model_spec(&m, &template).unwrap();
        assert_eq!(spec.bindings.len(), m.slots.len());
        let dense: f64 = m.slots.iter().map(|s| s.shape.params()).sum();
        assert_eq!(spec.budgets.params, (0.0, dense), "{family}");
        assert!(spec.budgets.flops.1 > 0.0);
        let set = config.binding_set();
        assert_eq!(
            family == GptSlots::Qkv,
            !set.ends_with(family.name()),
            "{set}"
        );
    }
}

#[test]
fn unknown_family_is_refused_with_the_known_ones() {
    let e = "attn".parse::<GptSlots>().unwrap_err().to_string();
    assert!(
        e.contains("unknown slot family `attn`") && e.contains("mlp-down"),
        "{e}"
    );
    assert_eq!("mlp-up".parse::<GptSlots>().unwrap(), GptSlots::MlpUp);
}

#[test]
fn the_mix_family_replaces_each_attention_by_one_causal_slot_that_trains() {
    use kas_graph::sample::{SampleConfig, Slot, sample_on};
    use tch::nn::OptimizerConfig;
    let m = model(GptSlots::Mix, Fill::Original, &VarStore::new(Device::Cpu));
    let base = model(GptSlots::Qkv, Fill::Original, &VarStore::new(Device::Cpu));
    let names: Vec<&str> = m.slots.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["h0.mix", "h1.mix"]);
    let shape = SlotShape::Mix {
        seq: 6,
        width: 8,
        heads: 2,
    };
    assert!(m.slots.iter().all(|s| s.shape == shape));
    assert_eq!(m.macs.total(), base.macs.total());
    assert!(!GptSlots::All.holds(GptSlots::Mix));
    // The original attention is causal: changing the last token leaves earlier logits alone.
    tch::manual_seed(0);
    let x = Tensor::randint(11, [2, 6], (Kind::Int64, Device::Cpu));
    let x2 = x.copy();
    let _ = x2.get(0).get(5).fill_((x.int64_value(&[0, 5]) + 1) % 11);
    let (y, y2) = (m.forward_t(&x, false), m.forward_t(&x2, false));
    assert!(
        y.narrow(1, 0, 5)
            .allclose(&y2.narrow(1, 0, 5), 1e-6, 1e-6, false)
    );
    assert!(!y.allclose(&y2, 1e-6, 1e-6, false));
    // The generated spec is a causal sequence slot, and sampled graph kernels train in it.
    let config = gpt(GptSlots::Mix);
    let (path, text) = builtin_template_for(&config);
    let template: SpecFile = parse_ron(text, path).unwrap();
    let spec = model_spec(&m, &template).unwrap();
    let spec =
        kas_primitives::Spec::read(&kas_eval::spec_gen::spec_text(&spec, "test"), "mix").unwrap();
    let slot = Slot::from_spec(&spec).unwrap();
    assert_eq!(slot.causal_axis(), Some(1));
    let r = sample_on(2, &slot, &SampleConfig::default(), 8, 3, "mix").unwrap();
    assert!(r.kernels.len() >= 3);
    for (g, _) in r.kernels.iter().take(3) {
        let vs = VarStore::new(Device::Cpu);
        let m = model(GptSlots::Mix, Fill::Graph(g), &vs);
        let mut opt = tch::nn::Sgd::default().build(&vs, 0.01).unwrap();
        let y = m.forward_t(&x, true);
        assert_eq!(y.size(), [2, 6, 11]);
        opt.backward_step(&y.log_softmax(-1, Kind::Float).mean(Kind::Float));
        let y2 = m.forward_t(&x2, false);
        let y = m.forward_t(&x, false);
        let early = |t: &Tensor| t.narrow(1, 0, 5);
        assert!(
            early(&y).allclose(&early(&y2), 1e-5, 1e-5, false),
            "{}",
            g.name
        );
    }
}
