//! A small dense f64 tensor for the reference interpreter and the direct implementations.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// A dense row-major tensor of `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Extent of each axis.
    pub shape: Vec<usize>,
    /// Elements in row-major order.
    pub data: Vec<f64>,
}

impl Tensor {
    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor {
            shape: shape.to_vec(),
            data: vec![0.0; shape.iter().product()],
        }
    }

    /// Uniform values in `[-1, 1)` from a seeded generator (xoshiro256++, stable across
    /// platforms and versions).
    pub fn random(shape: &[usize], seed: u64) -> Tensor {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let n = shape.iter().product();
        Tensor {
            shape: shape.to_vec(),
            data: (0..n).map(|_| rng.random_range(-1.0..1.0)).collect(),
        }
    }

    /// Small integers in `[-3, 3]` from a seeded generator, for tests that want exact sums.
    pub fn random_int(shape: &[usize], seed: u64) -> Tensor {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let n = shape.iter().product();
        Tensor {
            shape: shape.to_vec(),
            data: (0..n).map(|_| rng.random_range(-3i32..=3) as f64).collect(),
        }
    }

    /// Row-major strides.
    pub fn strides(&self) -> Vec<usize> {
        let mut s = vec![1; self.shape.len()];
        for i in (0..self.shape.len().saturating_sub(1)).rev() {
            s[i] = s[i + 1] * self.shape[i + 1];
        }
        s
    }

    /// Flat position of a multi-index (panics if out of range).
    pub fn offset(&self, idx: &[usize]) -> usize {
        assert_eq!(idx.len(), self.shape.len(), "index rank");
        let mut off = 0;
        for (i, (&x, &n)) in idx.iter().zip(&self.shape).enumerate() {
            assert!(x < n, "index {x} out of range {n} on axis {i}");
            off = off * n + x;
        }
        off
    }

    /// Element at a multi-index.
    pub fn get(&self, idx: &[usize]) -> f64 {
        self.data[self.offset(idx)]
    }

    /// Mutable element at a multi-index.
    pub fn get_mut(&mut self, idx: &[usize]) -> &mut f64 {
        let o = self.offset(idx);
        &mut self.data[o]
    }

    /// `max|a − ref| / (max|ref| + 1e-6)`: the one error metric of kas.
    pub fn rel_err(&self, reference: &Tensor) -> f64 {
        assert_eq!(self.shape, reference.shape, "shapes differ");
        let scale = reference.data.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let diff = self
            .data
            .iter()
            .zip(&reference.data)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        diff / (scale + 1e-6)
    }
}

/// Iterates over every multi-index of a shape in row-major order.
pub fn for_each_index(shape: &[usize], mut f: impl FnMut(&[usize])) {
    if shape.contains(&0) {
        return;
    }
    let mut idx = vec![0usize; shape.len()];
    loop {
        f(&idx);
        let mut ax = shape.len();
        loop {
            if ax == 0 {
                return;
            }
            ax -= 1;
            idx[ax] += 1;
            if idx[ax] < shape[ax] {
                break;
            }
            idx[ax] = 0;
        }
    }
}
