//! `kas spec --model`: the generated spec of a model's slots re-reads, carries one binding per
//! slot with the model's sizes, a FLOPs window scaled to the model, and synthesis finds
//! operators for it that fit the model's slots.

use kas_eval::models::slot::Fill;
use kas_eval::models::{HostModel, ModelKind};
use kas_eval::spec_gen::{flops_window, model_spec, spec_text};
use kas_primitives::format::parse_ron;
use kas_primitives::{Spec, SpecFile};
use kas_synth::{Config, Dag, Filters, RunOptions};
use tch::Device;
use tch::nn::VarStore;

fn template(name: &str) -> SpecFile {
    let path = format!(
        "{}/../experiments/specs/{name}.ron",
        env!("CARGO_MANIFEST_DIR")
    );
    parse_ron(&std::fs::read_to_string(&path).unwrap(), &path).unwrap()
}

fn model(kind: ModelKind, batch: i64, vs: &VarStore) -> HostModel {
    HostModel::new(kind.default_config(), batch, Fill::Original, &vs.root()).unwrap()
}

#[test]
fn specs_round_trip_with_one_binding_per_slot() {
    let vs = VarStore::new(Device::Cpu);
    for (kind, tpl, slots, distinct) in [
        (ModelKind::ResNet18, "resnet18-conv", 16, 7),
        (ModelKind::Cnn, "cnn-small", 4, 4),
        (ModelKind::Gpt, "gpt-qkv", 6, 1),
    ] {
        let m = model(kind, 32, &vs);
        let t = template(tpl);
        let file = model_spec(&m, &t).unwrap();
        let text = spec_text(&file, "kas spec");
        let spec = Spec::read(&text, "generated").unwrap();
        assert_eq!(spec.binding_set, kind.binding_set());
        assert_eq!(spec.bindings.len(), slots, "{kind}");
        let mut shapes: Vec<_> = file.bindings.iter().map(|b| b.values.clone()).collect();
        shapes.sort();
        shapes.dedup();
        assert_eq!(shapes.len(), distinct, "{kind}");
        assert!(file.bindings.iter().all(|b| b.values["N"] == 32));
        assert_eq!(spec.vars, t.variables);
        assert_eq!(spec.budgets.depth, t.budgets.depth);
        // The window's top: the model at the upper ratio, minus what is outside the slots.
        let (lo, hi) = spec.budgets.flops;
        let (r0, r1) = kind.flops_ratios();
        let want_hi = (r1 * m.macs.total() - m.macs.other) * 32.0;
        assert!(
            (hi - want_hi).abs() <= 1e-9 * want_hi,
            "{kind}: {hi} vs {want_hi}"
        );
        assert_eq!(lo, ((r0 * m.macs.total() - m.macs.other) * 32.0).max(0.0));
        assert_eq!((lo, hi), flops_window(&m, (r0, r1)).unwrap());
        // Read back as a file, it is the same spec.
        let again: SpecFile = parse_ron(&text, "generated").unwrap();
        assert_eq!(again, file);
    }
}

#[test]
fn cnn_spec_yields_operators_that_fit_the_cnn() {
    let vs = VarStore::new(Device::Cpu);
    let m = model(ModelKind::Cnn, 8, &vs);
    let file = model_spec(&m, &template("cnn-small")).unwrap();
    let spec = Spec::read(&spec_text(&file, "kas spec"), "cnn").unwrap();
    let dag = Dag::new(Config::new(spec).unwrap(), Filters::default());
    let opts = RunOptions {
        seed: 1,
        count: Some(3),
        seconds: Some(60.0),
        threads: 1,
        ..RunOptions::default()
    };
    let mut ops = Vec::new();
    kas_synth::run(&dag, &opts, |leaf| ops.push(leaf.op.clone())).unwrap();
    assert_eq!(ops.len(), 3, "synthesis found {} operators", ops.len());
    for op in &ops {
        let vs = VarStore::new(Device::Cpu);
        let cfg = ModelKind::Cnn.default_config();
        HostModel::new(cfg, 8, Fill::Operator(op), &vs.root()).unwrap();
    }
}
