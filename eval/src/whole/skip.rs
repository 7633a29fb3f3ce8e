//! Slots that do no work: each returns a tensor of zeros of its output shape, made once per
//! slot and handed out again on every later call (no kernel launch). The original model timed
//! this way is "the rest of the model", which gives the slots' share of a model's time.

use crate::models::slot::{SlotInfo, SlotOverride};
use crate::tch_plan::TchPlan;
use std::cell::RefCell;
use std::collections::HashMap;
use tch::Tensor;

/// A [`SlotOverride`] whose slots return cached zeros.
#[derive(Default)]
pub(crate) struct Skip {
    zeros: RefCell<HashMap<String, Tensor>>,
}

impl SlotOverride for Skip {
    fn forward(&self, info: &SlotInfo, _plan: Option<&TchPlan>, x: &Tensor) -> Option<Tensor> {
        let n = x.size().first().copied().unwrap_or(1);
        let shape = info.shape.output_shape(n);
        let mut zeros = self.zeros.borrow_mut();
        let z = zeros
            .entry(info.name.clone())
            .or_insert_with(|| Tensor::zeros(&shape[..], (x.kind(), x.device())));
        if z.size() != shape {
            *z = Tensor::zeros(&shape[..], (x.kind(), x.device()));
        }
        Some(z.shallow_clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::slot::with_override;
    use crate::models::{HostModel, ModelKind, slot::Fill};
    use std::rc::Rc;
    use tch::nn::ModuleT;
    use tch::{Device, Kind};

    #[test]
    fn skipped_slots_return_the_same_zeros_and_leave_the_rest_running() {
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let m = HostModel::new(
            ModelKind::Cnn.default_config(),
            2,
            Fill::Original,
            &vs.root(),
        )
        .unwrap();
        let x = Tensor::randn([2, 1, 28, 28], (Kind::Float, Device::Cpu));
        let skip = Rc::new(Skip::default());
        let (a, b) = tch::no_grad(|| {
            let a = with_override(skip.clone(), || m.forward_t(&x, false));
            let b = with_override(skip.clone(), || m.forward_t(&x, false));
            (a, b)
        });
        // The classifier still runs (its bias), on zeros from every slot: same logits for every
        // image, whatever the input.
        assert_eq!(a.size(), [2, 10]);
        assert!(a.equal(&b));
        assert!(a.get(0).equal(&a.get(1)));
        assert_eq!(skip.zeros.borrow().len(), 4);
        // Without the override the slots run again.
        let c = tch::no_grad(|| m.forward_t(&x, false));
        assert!(!c.get(0).equal(&c.get(1)));
    }
}
