//! A gather along the last axis whose backward pass is a gather too, through the C++ shim
//! `eval/shim/gather.cpp` (a libtorch autograd function): `index_select`'s backward is a
//! scatter-add, which a GPU runs with atomics in no fixed order, so a tch plan with gathers
//! would not train bit for bit the same twice from one seed (`docs/ARCHITECTURE.md`,
//! "Evaluation"). Here the gradient of each source element sums its readers' gradients in a
//! fixed order: deterministic on every device.

use tch::{Device, Tensor};

unsafe extern "C" {
    fn kas_gather(
        src: *const torch_sys::C_tensor,
        index: *const torch_sys::C_tensor,
        inverse: *const torch_sys::C_tensor,
        mult: i64,
        out: *mut *mut torch_sys::C_tensor,
    ) -> std::os::raw::c_int;
}

/// `out[..., j] = src[..., index[j]]` over a last axis of length `len`, where `index[j] == len`
/// reads 0, with a gather as its backward (see the module docs).
#[derive(Debug)]
pub struct GatherMap {
    index: Tensor,
    /// `len × reads` positions of the output read by each source element, in increasing order,
    /// padded with the output's length (a zero).
    inverse: Tensor,
    reads: i64,
}

impl GatherMap {
    /// The map of `index` over a source axis of length `len`, its tensors on `device`; `None`
    /// when an index is out of `0..=len` or the backward's indices (the source's length times
    /// the most reads of one element) would outgrow the source's length plus 4 times the
    /// output's: reads far from even (use `index_select` then).
    pub fn new(index: &[i64], len: i64, device: Device) -> Option<GatherMap> {
        let n = usize::try_from(len).ok()?;
        let mut count = vec![0usize; n];
        for &i in index {
            match usize::try_from(i).ok()? {
                i if i < n => count[i] += 1,
                i if i == n => {}
                _ => return None,
            }
        }
        let reads = count.iter().copied().max().unwrap_or(0).max(1);
        // The inverse holds `n × reads` indices: at most the source's length plus 4 times the
        // output's (a 3×3 convolution's gather reads each element 9 times into 9 times the
        // elements; a strided one reads each once; a tied weight is read evenly).
        if n * reads > n + 4 * index.len() {
            return None;
        }
        let pad = i64::try_from(index.len()).ok()?;
        let mut inverse = vec![pad; n * reads];
        let mut filled = vec![0usize; n];
        for (j, &i) in index.iter().enumerate() {
            if let Ok(i) = usize::try_from(i)
                && i < n
            {
                inverse[i * reads + filled[i]] = j as i64;
                filled[i] += 1;
            }
        }
        Some(GatherMap {
            index: Tensor::from_slice(index).to_device(device),
            inverse: Tensor::from_slice(&inverse).to_device(device),
            reads: reads as i64,
        })
    }

    /// The gathered tensor (last axis `index.len()`), or libtorch's error.
    pub fn f_apply(&self, src: &Tensor) -> Result<Tensor, tch::TchError> {
        let mut out: *mut torch_sys::C_tensor = std::ptr::null_mut();
        // SAFETY: the three tensors are live for the call; the shim catches every C++
        // exception and on success stores a new tensor, which `from_ptr` then owns.
        let rc = unsafe {
            kas_gather(
                src.as_ptr(),
                self.index.as_ptr(),
                self.inverse.as_ptr(),
                self.reads,
                &mut out,
            )
        };
        if rc != 0 || out.is_null() {
            return Err(tch::TchError::Torch(
                "kas_gather: libtorch failed (shapes, devices or memory)".into(),
            ));
        }
        // SAFETY: `out` is a tensor the shim allocated for the caller.
        Ok(unsafe { Tensor::from_ptr(out) })
    }

    /// The forward index (i64, on the map's device).
    pub fn index(&self) -> &Tensor {
        &self.index
    }

    /// The backward's inverse index (i64, on the map's device).
    pub fn inverse(&self) -> &Tensor {
        &self.inverse
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn forward_and_gradient_match_index_select() {
        // 7 source elements; reads with repeats, a zero slot (7) and an unread element (5).
        let index = [0i64, 3, 3, 7, 1, 6, 0, 3, 2, 4, 7, 6];
        let map = GatherMap::new(&index, 7, Device::Cpu).unwrap();
        assert_eq!(map.reads, 3);
        tch::manual_seed(1);
        let src = Tensor::randn([2, 3, 7], (Kind::Double, Device::Cpu)).set_requires_grad(true);
        let up = Tensor::randn([2, 3, index.len() as i64], (Kind::Double, Device::Cpu));
        let out = map.f_apply(&src).unwrap();
        (&out * &up).sum(Kind::Double).backward();
        let g = src.grad().copy();

        let src2 = src.detach().copy().set_requires_grad(true);
        let zero = Tensor::zeros([2, 3, 1], (Kind::Double, Device::Cpu));
        let idx = Tensor::from_slice(&index);
        let out2 = Tensor::cat(&[&src2, &zero], -1).index_select(-1, &idx);
        (&out2 * &up).sum(Kind::Double).backward();
        assert!(out.equal(&out2));
        let diff = (&g - src2.grad()).abs().max().double_value(&[]);
        assert!(diff < 1e-12, "{diff}");
        // The unread element gets no gradient.
        assert_eq!(
            g.select(-1, 5).abs().sum(Kind::Double).double_value(&[]),
            0.0
        );
    }

    #[test]
    fn maps_it_cannot_hold_are_refused() {
        assert!(
            GatherMap::new(&[0, 8], 7, Device::Cpu).is_none(),
            "out of range"
        );
        assert!(GatherMap::new(&[-1], 7, Device::Cpu).is_none(), "negative");
        // One element read 200 times, 99 others once: 100 × 200 indices for 299 reads.
        let uneven: Vec<i64> = (0..99).chain(std::iter::repeat_n(99, 200)).collect();
        assert!(
            GatherMap::new(&uneven, 100, Device::Cpu).is_none(),
            "uneven reads"
        );
        // Every element read 200 times: as many indices as reads.
        let even: Vec<i64> = (0..200).flat_map(|_| 0..100).collect();
        assert!(
            GatherMap::new(&even, 100, Device::Cpu).is_some(),
            "even reads"
        );
        // A long source read a few times: the inverse would outgrow the index.
        assert!(GatherMap::new(&[0, 0, 0, 0, 0, 0], 100, Device::Cpu).is_none());
        assert!(GatherMap::new(&[], 0, Device::Cpu).is_some());
    }
}
