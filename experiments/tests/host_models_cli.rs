//! `kas spec --model` and `kas train --model` for the CIFAR-style models added for the papers'
//! experiments: ResNet-34, ResNeXt-29, DenseNet-121 and EfficientNet-V2-S.

mod common;
use common::{kas, stderr, stdout};
use kas_eval::data::DatasetName;
use kas_eval::data::synthetic::write_synthetic;

#[test]
fn spec_generates_one_binding_per_slot() {
    let dir = tempfile::tempdir().unwrap();
    for (model, line) in [
        (
            "resnet34",
            "spec resnet34-fmnist64: 32 slots, 7 distinct shapes, FLOPs window [",
        ),
        (
            "densenet121",
            "spec densenet121-fmnist64: 58 slots, 4 distinct shapes, FLOPs window [",
        ),
        (
            "resnext29",
            "spec resnext29-fmnist64: 9 slots, 3 distinct shapes, FLOPs window [",
        ),
        (
            "efficientnet-v2-s",
            "spec efficientnet-v2-s-fmnist64: 10 slots, 5 distinct shapes, FLOPs window [",
        ),
    ] {
        let file = dir.path().join(format!("{model}.ron"));
        let o = kas(&["spec", "--model", model, "--out", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).starts_with(line), "{}", stdout(&o));
        let o = kas(&["show", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let first = format!("spec {model}-fmnist64 (binding set {model}-fmnist64)");
        assert_eq!(stdout(&o).lines().next(), Some(first.as_str()));
    }
}

#[test]
fn train_runs_a_tiny_version_on_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_synthetic(DatasetName::FashionMnist, &data, 32, 16, 0).unwrap();
    for model in ["resnet34", "resnext29", "densenet121", "efficientnet-v2-s"] {
        let out = dir.path().join(model);
        let o = kas(&[
            "train",
            "--model",
            model,
            "--data",
            "fashion-mnist",
            "--data-dir",
            data.to_str().unwrap(),
            "--width",
            "4",
            "--image",
            "16",
            "--batch",
            "16",
            "--steps",
            "2",
            "--device",
            "cpu",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{model}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["model"], model);
        assert_eq!(v["model_config"]["Vision"][0], model, "{v}");
        assert!(out.join("result.json").exists());
    }
}
