//! A training run saves the trained weights of the operators in its slots as safetensors
//! (`kas_eval::train::weights`): one `<slot>.w<t>` per weight of every slot, in the operator's
//! shape under the slot's binding, the values the run ended with (CPU, seconds).

use kas_eval::data::synthetic::write_synthetic;
use kas_eval::data::{DatasetName, ImagePrep, load_images};
use kas_eval::models::slot::{Fill, slot_binding};
use kas_eval::models::{HostModel, ModelConfig, ModelKind, VisionConfig};
use kas_eval::train::sources::DatasetImages;
use kas_eval::train::vision::train_vision;
use kas_eval::train::{Budget, TrainConfig};
use kas_primitives::library;
use safetensors::SafeTensors;
use tch::Device;

#[test]
fn a_run_saves_its_slot_weights_as_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic(DatasetName::FashionMnist, dir.path(), 128, 32, 11).unwrap();
    let set = load_images(DatasetName::FashionMnist, dir.path()).unwrap();
    let prep = ImagePrep {
        size: 8,
        channels: 1,
        augment: false,
    };
    let data = DatasetImages::new(set, prep, Device::Cpu, None, None).unwrap();
    let model = ModelConfig::Cnn(VisionConfig {
        width: 4,
        image: 8,
        channels: 1,
        classes: 10,
    });
    let op = (library::get("conv2d").unwrap().build)().unwrap();
    let path = dir.path().join("w").join("op.safetensors");
    let cfg = TrainConfig {
        seed: 3,
        batch: 16,
        budget: Budget::Steps(4),
        check_every: 2,
        save_weights: Some(path.clone()),
        ..TrainConfig::recipe(ModelKind::Cnn, Device::Cpu)
    };
    let r = train_vision(model, Fill::Operator(&op), &data, &cfg, None).unwrap();
    assert!(r.diverged.is_none() && r.timed_out.is_none(), "{r:?}");
    let bytes = std::fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let slots = HostModel::new(model, 16, Fill::Original, &vs.root())
        .unwrap()
        .slots;
    assert!(!slots.is_empty());
    let mut names: Vec<&String> = file.names();
    names.sort();
    assert_eq!(names.len(), slots.len(), "{names:?}");
    for slot in &slots {
        let b = slot_binding(&op, slot, 16).unwrap();
        let shape = op.concrete(op.tensor_axes(1), &b).unwrap();
        let t = file.tensor(&format!("{}.w1", slot.name)).unwrap();
        assert_eq!(t.shape(), shape.as_slice(), "{}", slot.name);
        assert_eq!(t.dtype(), safetensors::Dtype::F32);
        assert!(t.data().iter().any(|&b| b != 0));
    }
    // The values are those the run ended with: the same run stopped after one step saves
    // others.
    let fresh = dir.path().join("fresh.safetensors");
    let cfg0 = TrainConfig {
        budget: Budget::Steps(1),
        save_weights: Some(fresh.clone()),
        ..cfg
    };
    train_vision(model, Fill::Operator(&op), &data, &cfg0, None).unwrap();
    let fresh_bytes = std::fs::read(&fresh).unwrap();
    let f0 = SafeTensors::deserialize(&fresh_bytes).unwrap();
    let key = format!("{}.w1", slots[0].name);
    assert_ne!(
        f0.tensor(&key).unwrap().data(),
        file.tensor(&key).unwrap().data(),
        "three more steps of training changed nothing"
    );
}
