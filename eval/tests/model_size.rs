//! Host model sizes: the parameter count computed from the sizes matches the built model's,
//! and sizes too large to build are refused with a one-line error before anything is
//! allocated (a width of 100000 used to end in libtorch's allocation panic).

use kas_eval::Error;
use kas_eval::models::slot::Fill;
use kas_eval::models::{HostModel, MAX_IMAGE, ModelConfig, ModelKind};
use tch::Device;
use tch::nn::VarStore;

fn built_parameters(config: ModelConfig) -> f64 {
    let vs = VarStore::new(Device::Cpu);
    HostModel::new(config, 2, Fill::Original, &vs.root()).unwrap();
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as f64)
        .sum()
}

#[test]
fn the_computed_parameter_count_matches_the_built_model() {
    for kind in ModelKind::ALL {
        let mut config = kind.default_config();
        if let ModelConfig::Gpt(g) = &mut config {
            // Small enough to build quickly; the formula does not depend on it.
            g.layers = 2;
        }
        let built = built_parameters(config);
        let computed = config.parameters();
        // Norms and biases are left out of the count: within 2 %.
        assert!(
            computed <= built && computed >= 0.98 * built,
            "{kind}: computed {computed}, built {built}"
        );
    }
}

#[test]
fn a_model_too_large_to_build_is_refused_in_one_line() {
    for kind in ModelKind::ALL {
        let mut config = kind.default_config();
        match &mut config {
            ModelConfig::ResNet18(v) | ModelConfig::Cnn(v) | ModelConfig::Vision(_, v) => {
                v.width = 100_000
            }
            ModelConfig::Gpt(g) => {
                g.width = 600_000;
                g.heads = 6;
            }
        }
        let vs = VarStore::new(Device::Cpu);
        let e = HostModel::new(config, 2, Fill::Original, &vs.root()).unwrap_err();
        assert!(matches!(e, Error::ModelTooLarge { .. }), "{kind}: {e:?}");
        let line = e.to_string();
        assert!(
            line.contains("parameters") && !line.contains('\n'),
            "{line}"
        );
    }
}

#[test]
fn an_image_too_large_is_refused() {
    let mut config = ModelKind::Cnn.default_config();
    if let ModelConfig::Cnn(v) = &mut config {
        v.image = 100_000;
    }
    let vs = VarStore::new(Device::Cpu);
    let e = HostModel::new(config, 2, Fill::Original, &vs.root()).unwrap_err();
    assert!(
        matches!(e, Error::ImageTooLarge { max: MAX_IMAGE, .. }),
        "{e:?}"
    );
}
