//! Gathers that are strided windows: views (`constant_pad_nd`, `slice`, `unfold`) instead of
//! an index map.
//!
//! Most gathers of a plan read each gathered axis at an affine position of one or two
//! iterators (`h + a − 1` for an Unfold window with zero padding, `x − 1` for a zero-filled
//! shift, `s·x` for a Stride), or at a cyclic shift of one iterator with such a window after
//! it (`(h + 1) mod H + a − 1`: kas's Shift primitive, then an Unfold), or at a cyclic shift
//! of such a window (`(h + a) mod H`, zero where `h + a − 1` leaves the axis: an Unfold, then
//! a Shift, as Syno's Operator 2). Such a gather is the axis zero-padded, then sliced with a
//! step (one iterator) or unfolded into windows (two), the positions rolled for a cyclic shift
//! (the axis rolled first for a shifted window): views of one padded copy (a roll copies once
//! more), so the forward pass copies the operand once instead of once per window position,
//! and the backward pass is libtorch's `unfold_backward` (each source element sums its
//! windows in a fixed order: as deterministic on a GPU as [`crate::gather::GatherMap`])
//! instead of a gather over an inverse map. A gather is taken as windows only when the windows reproduce its index map entry for
//! entry ([`Windows::fit`]); otherwise it stays an index map.

use tch::Tensor;

/// How one gathered axis is read: `start + Σ coef·iterator` into the axis zero-padded by
/// `pad` on each side, or with a cyclic shift `start + (outer + shift) mod len + dil·inner`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AxisRead {
    /// Zeros before and after the axis.
    pad: (i64, i64),
    /// The position of iterators at zero, in the padded axis.
    start: i64,
    /// The outer iterator: its position in the gather's iterators, extent and step.
    outer: (usize, i64, i64),
    /// The inner (window) iterator, if the axis reads two: position, extent and dilation.
    inner: Option<(usize, i64, i64)>,
    /// A cyclic shift of the outer iterator (step 1): the axis length and the shift.
    roll: Option<(i64, i64)>,
    /// A cyclic shift of the axis itself before the windows (`X'[y] = X[(y + s) mod len]`),
    /// 0 for none: a read at `(u + s) mod len` zeroed where `u` leaves the axis.
    shift_first: i64,
}

/// A gather taken as strided windows of its axes (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Windows {
    axes: Vec<AxisRead>,
}

/// The affine form `c0 + Σ coef[i]·x[i]` of `values` over the row-major grid `sizes`, if it is
/// one (iterators of extent 1 get coefficient 0).
fn affine(values: &[i64], sizes: &[i64]) -> Option<(i64, Vec<i64>)> {
    affine_of(values.len(), sizes, |p| values[p])
}

/// [`affine`] of the `points` values `value(point)`, each computed when needed (the check
/// stops at the first that is off the form).
fn affine_of(
    points: usize,
    sizes: &[i64],
    value: impl Fn(usize) -> i64,
) -> Option<(i64, Vec<i64>)> {
    let (c0, coef) = steps(points, sizes, &value)?;
    let mut x = vec![0i64; sizes.len()];
    for p in 0..points {
        let want = c0 + x.iter().zip(&coef).map(|(a, b)| a * b).sum::<i64>();
        if value(p) != want {
            return None;
        }
        for i in (0..sizes.len()).rev() {
            x[i] += 1;
            if x[i] < sizes[i] {
                break;
            }
            x[i] = 0;
        }
    }
    Some((c0, coef))
}

/// An axis read at `values` = `(x_p + shift) mod len + c0 + dil·x_q` for one iterator `p`
/// (extent at most `len`), a shift in `1..len`, and at most one window iterator `q` of positive
/// dilation; `used` iterators are not taken.
fn rolled(values: &[i64], sizes: &[i64], len: i64, used: &[bool]) -> Option<AxisRead> {
    for p in (0..sizes.len()).filter(|&p| !used[p] && sizes[p] > 1 && sizes[p] <= len) {
        // The position of a point along `p`.
        let stride: usize = sizes[p + 1..].iter().map(|&n| n as usize).product();
        let x = |point: usize| (point / stride) as i64 % sizes[p];
        for shift in 1..len {
            let rest = |point: usize| values[point] - (x(point) + shift) % len;
            let Some((c0, coef)) = affine_of(values.len(), sizes, rest) else {
                continue;
            };
            let reads: Vec<usize> = (0..coef.len()).filter(|&i| coef[i] != 0).collect();
            if reads.len() > 1 || reads.iter().any(|&i| i == p || coef[i] < 0 || used[i]) {
                continue;
            }
            let inner = reads.first().map(|&q| (q, sizes[q], coef[q]));
            let span = inner.map_or(0, |(_, n, d)| d * (n - 1));
            let pad = ((-c0).max(0), (c0 + span).max(0));
            return Some(AxisRead {
                pad,
                start: c0 + pad.0,
                outer: (p, sizes[p], 1),
                inner,
                roll: Some((len, shift)),
                shift_first: 0,
            });
        }
    }
    None
}

/// The value at the grid's origin and the step from it along each iterator (0 for an
/// iterator of extent 1): what an affine form would have.
fn steps(points: usize, sizes: &[i64], value: impl Fn(usize) -> i64) -> Option<(i64, Vec<i64>)> {
    if points == 0 {
        return None;
    }
    let c0 = value(0);
    let mut coef = vec![0i64; sizes.len()];
    let mut stride = 1usize;
    for i in (0..sizes.len()).rev() {
        if sizes[i] > 1 {
            if stride >= points {
                return None;
            }
            coef[i] = value(stride) - c0;
        }
        stride *= sizes[i] as usize;
    }
    Some((c0, coef))
}

/// An axis read at `(c0 + Σ coef·x) mod len` for coefficients in `0..len`, whatever `c0`
/// (from the first value): the coefficients, if `values` are such a read.
fn wrapped(values: &[i64], sizes: &[i64], len: i64) -> Option<Vec<i64>> {
    let (v0, steps) = steps(values.len(), sizes, |p| values[p])?;
    let coef: Vec<i64> = steps.iter().map(|k| k.rem_euclid(len)).collect();
    let base = |p: usize| {
        position(p, sizes)
            .zip(&coef)
            .map(|(x, c)| x * c)
            .sum::<i64>()
    };
    (0..values.len())
        .all(|p| values[p] == (v0 + base(p)).rem_euclid(len))
        .then_some(coef)
}

/// The position of point `p` of the row-major grid `sizes` along each iterator.
fn position(p: usize, sizes: &[i64]) -> impl Iterator<Item = i64> + '_ {
    let mut strides = vec![1i64; sizes.len()];
    for i in (0..sizes.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * sizes[i + 1];
    }
    (0..sizes.len()).map(move |i| (p as i64 / strides[i]) % sizes[i])
}

/// An axis read at the affine `c0 + Σ coef·x` of one or two iterators with positive steps,
/// none of them `used`.
fn straight(c0: i64, coef: &[i64], sizes: &[i64], len: i64, used: &[bool]) -> Option<AxisRead> {
    let mut reads: Vec<usize> = (0..coef.len()).filter(|&i| coef[i] != 0).collect();
    if reads.is_empty() || reads.len() > 2 || reads.iter().any(|&i| coef[i] < 0 || used[i]) {
        return None;
    }
    // The iterator spanning less is the window.
    reads.sort_by_key(|&i| std::cmp::Reverse(coef[i] * (sizes[i] - 1)));
    let span: i64 = reads.iter().map(|&i| coef[i] * (sizes[i] - 1)).sum();
    let pad = ((-c0).max(0), (c0 + span - (len - 1)).max(0));
    let at = |i: usize| (i, sizes[i], coef[i]);
    Some(AxisRead {
        pad,
        start: c0 + pad.0,
        outer: at(reads[0]),
        inner: reads.get(1).map(|&i| at(i)),
        roll: None,
        shift_first: 0,
    })
}

/// Whether the gather's `index` zeroes exactly the points where an axis's read leaves it (the
/// windows' zero padding) and reads the coordinates elsewhere; the axis `wrap_at.0`, if any,
/// leaves where `c0 + base[point]` does (`(base, c0)` the rest of `wrap_at`).
fn same_zeros(
    axis_len: &[i64],
    coords: &[i64],
    index: &[i64],
    wrap_at: Option<(usize, &[i64], i64)>,
) -> bool {
    let naxes = axis_len.len();
    let zero: i64 = axis_len.iter().product();
    (0..index.len()).all(|p| {
        let mut flat = 0i64;
        for c in 0..naxes {
            let x = coords[p * naxes + c];
            let inside = match wrap_at {
                Some((w, base, c0)) if w == c => (0..axis_len[c]).contains(&(c0 + base[p])),
                _ => (0..axis_len[c]).contains(&x),
            };
            if !inside {
                return index[p] == zero;
            }
            flat = flat * axis_len[c] + x;
        }
        index[p] == flat
    })
}

impl Windows {
    /// The windows of a gather over axes of extents `axis_len` that reads, at each point of the
    /// row-major grid `iter_sizes`, the coordinates `coords[point * axes + c]` (before any
    /// range check) and was built into `index` (row-major flat positions, `Π axis_len` for a
    /// zero): `None` unless every axis reads an affine position with positive steps of one or
    /// two iterators, or a cyclic shift of one iterator plus a window, no two axes share an
    /// iterator, every iterator of extent over 1 is read, and the windows' zero padding gives
    /// exactly `index`.
    pub(super) fn fit(
        axis_len: &[i64],
        iter_sizes: &[i64],
        coords: &[i64],
        index: &[i64],
    ) -> Option<Windows> {
        let naxes = axis_len.len();
        let points = index.len();
        if naxes == 0 || coords.len() != points * naxes {
            return None;
        }
        let mut used = vec![false; iter_sizes.len()];
        let mut axes = Vec::with_capacity(naxes);
        // At most one axis read at `(u + s) mod len`: its index and coefficients.
        let mut wrap: Option<(usize, Vec<i64>)> = None;
        for c in 0..naxes {
            let values: Vec<i64> = (0..points).map(|p| coords[p * naxes + c]).collect();
            let read = match affine(&values, iter_sizes) {
                Some((c0, coef)) => straight(c0, &coef, iter_sizes, axis_len[c], &used),
                None => rolled(&values, iter_sizes, axis_len[c], &used),
            };
            let read = match read {
                Some(r) => r,
                None if wrap.is_none() => {
                    let coef = wrapped(&values, iter_sizes, axis_len[c])?;
                    // Its offset comes from the zeros, below: a placeholder until then.
                    let r = straight(0, &coef, iter_sizes, axis_len[c], &used)?;
                    wrap = Some((c, coef));
                    r
                }
                None => return None,
            };
            for (i, _, _) in std::iter::once(read.outer).chain(read.inner) {
                used[i] = true;
            }
            axes.push(read);
        }
        if (0..iter_sizes.len()).any(|i| !used[i] && iter_sizes[i] > 1) {
            return None;
        }
        let matches =
            |wrap_at: Option<(usize, &[i64], i64)>| same_zeros(axis_len, coords, index, wrap_at);
        let Some((c, coef)) = wrap else {
            return matches(None).then_some(Windows { axes });
        };
        // The offset `c0` of `u = c0 + Σ coef·x` that zeroes exactly the gather's zeros; the
        // shift then follows from the first value.
        let len = axis_len[c];
        let span: i64 = (coef.iter().zip(iter_sizes))
            .map(|(k, n)| k * (n - 1))
            .sum();
        let v0 = coords[c];
        let used_here = vec![false; iter_sizes.len()];
        let base: Vec<i64> = (0..points)
            .map(|p| position(p, iter_sizes).zip(&coef).map(|(x, k)| x * k).sum())
            .collect();
        for c0 in -span..len {
            if matches(Some((c, &base, c0))) {
                let mut read = straight(c0, &coef, iter_sizes, len, &used_here)?;
                read.shift_first = (v0 - c0).rem_euclid(len);
                axes[c] = read;
                return Some(Windows { axes });
            }
        }
        None
    }

    /// The gathered tensor: `v` has the gathered axes last, at their extents; the result has
    /// one axis per gather iterator in their order (`iter_sizes`), after the others.
    pub(super) fn apply(&self, v: &Tensor, iter_sizes: &[i64]) -> Tensor {
        let naxes = self.axes.len();
        let lead = v.dim() - naxes;
        let mut v = v.shallow_clone();
        for (c, a) in self.axes.iter().enumerate() {
            if a.shift_first != 0 {
                v = v.roll([-a.shift_first], [(lead + c) as i64]);
            }
        }
        let mut pad = Vec::with_capacity(2 * naxes);
        for a in self.axes.iter().rev() {
            pad.extend([a.pad.0, a.pad.1]);
        }
        let mut t = if pad.iter().any(|&p| p > 0) {
            v.constant_pad_nd(&pad[..])
        } else {
            v
        };
        // Each axis becomes its outer iterator in place; the windows are appended in order.
        let mut order: Vec<usize> = Vec::with_capacity(iter_sizes.len());
        let mut appended = Vec::new();
        for (c, a) in self.axes.iter().enumerate() {
            let dim = (lead + c) as i64;
            let (oi, on, step) = a.outer;
            order.push(oi);
            // A cyclic shift reads every position of the axis, rolled, then its first ones.
            let positions = a.roll.map_or(on, |(len, _)| len);
            t = match a.inner {
                None => t.slice(dim, a.start, a.start + step * (positions - 1) + 1, step),
                Some((ii, inn, dil)) => {
                    appended.push(ii);
                    let size = dil * (inn - 1) + 1;
                    let len = step * (positions - 1) + size;
                    let mut w = t.narrow(dim, a.start, len).unfold(dim, size, step);
                    if dil > 1 {
                        w = w.slice(-1, 0, size, dil);
                    }
                    w
                }
            };
            if let Some((_, shift)) = a.roll {
                t = t.roll([-shift], [dim]).narrow(dim, 0, on);
            }
        }
        order.extend(appended);
        // Iterators of extent 1 that no axis reads.
        for (i, _) in iter_sizes.iter().enumerate() {
            if !order.contains(&i) {
                t = t.unsqueeze(-1);
                order.push(i);
            }
        }
        let mut perm: Vec<i64> = (0..lead as i64).collect();
        for i in 0..iter_sizes.len() {
            let at = order
                .iter()
                .position(|&o| o == i)
                .expect("every iterator placed");
            perm.push((lead + at) as i64);
        }
        t.permute(&perm[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// Coordinates and the index map of a gather from a closure over the grid.
    fn grid(
        axis_len: &[i64],
        sizes: &[i64],
        f: impl Fn(&[i64]) -> Vec<i64>,
    ) -> (Vec<i64>, Vec<i64>) {
        grid_guarded(axis_len, sizes, f, |_| true)
    }

    /// [`grid`] with a guard folded into the gather: a zero wherever `ok` is false.
    fn grid_guarded(
        axis_len: &[i64],
        sizes: &[i64],
        f: impl Fn(&[i64]) -> Vec<i64>,
        ok: impl Fn(&[i64]) -> bool,
    ) -> (Vec<i64>, Vec<i64>) {
        let (mut coords, mut index) = (Vec::new(), Vec::new());
        let n: i64 = sizes.iter().product();
        for p in 0..n {
            let mut x = vec![0i64; sizes.len()];
            let mut r = p;
            for i in (0..sizes.len()).rev() {
                x[i] = r % sizes[i];
                r /= sizes[i];
            }
            let cs = f(&x);
            let mut flat = 0;
            let mut zero = !ok(&x);
            for (c, &v) in cs.iter().enumerate() {
                zero |= !(0..axis_len[c]).contains(&v);
                flat = flat * axis_len[c] + v;
            }
            index.push(if zero {
                axis_len.iter().product()
            } else {
                flat
            });
            coords.extend(cs);
        }
        (coords, index)
    }

    /// The windows' result against `index_select` on the zero-extended flat source.
    fn same_as_index(axis_len: &[i64], sizes: &[i64], f: impl Fn(&[i64]) -> Vec<i64>) -> bool {
        fits(axis_len, sizes, grid(axis_len, sizes, f))
    }

    /// [`same_as_index`] for a gather's coordinates and index map.
    fn fits(axis_len: &[i64], sizes: &[i64], (coords, index): (Vec<i64>, Vec<i64>)) -> bool {
        let Some(w) = Windows::fit(axis_len, sizes, &coords, &index) else {
            return false;
        };
        let mut shape = vec![2i64];
        shape.extend(axis_len);
        let v = Tensor::randn(&shape[..], (Kind::Double, Device::Cpu));
        let flat_len: i64 = axis_len.iter().product();
        let flat = Tensor::cat(
            &[
                v.reshape([2, flat_len]),
                Tensor::zeros([2, 1], (Kind::Double, Device::Cpu)),
            ],
            -1,
        );
        let mut out = vec![2i64];
        out.extend(sizes);
        let want = flat
            .index_select(-1, &Tensor::from_slice(&index))
            .reshape(&out[..]);
        let got = w.apply(&v, sizes);
        assert_eq!(got.size(), want.size());
        assert!(got.equal(&want), "windows differ from the index map");
        true
    }

    #[test]
    fn windows_reproduce_padded_strided_and_dilated_reads() {
        // Unfold with zero padding, both iterator orders.
        assert!(same_as_index(&[7], &[7, 3], |x| vec![x[0] + x[1] - 1]));
        assert!(same_as_index(&[7], &[3, 7], |x| vec![x[1] + x[0] - 1]));
        // Stride 2, dilation 2, two axes, a Shift, an iterator of extent 1.
        assert!(same_as_index(&[9], &[4, 3], |x| vec![2 * x[0] + x[1] - 1]));
        assert!(same_as_index(&[9], &[5, 3], |x| vec![x[0] + 2 * x[1] - 2]));
        assert!(same_as_index(&[6, 5], &[6, 5, 3, 3], |x| vec![
            x[0] + x[2] - 1,
            x[1] + x[3] - 1
        ]));
        assert!(same_as_index(&[6, 5], &[3, 6, 5, 3], |x| vec![
            x[1] + x[0] - 1,
            x[2] + x[3] - 1
        ]));
        assert!(same_as_index(&[8], &[8], |x| vec![x[0] - 1]));
        assert!(same_as_index(&[8], &[4], |x| vec![2 * x[0]]));
        assert!(same_as_index(&[8], &[1, 8], |x| vec![x[1] + 1]));
    }

    #[test]
    fn windows_reproduce_cyclic_shifts() {
        // kas's Shift: a plain roll, a roll of fewer positions than the axis, a roll then a
        // zero-padded window (both orders), a dilated one, and the campaign operators' pair of
        // axes (one rolled, one rolled with a window).
        assert!(same_as_index(&[7], &[7], |x| vec![(x[0] + 1) % 7]));
        assert!(same_as_index(&[7], &[5], |x| vec![(x[0] + 3) % 7]));
        assert!(same_as_index(&[7], &[7, 3], |x| vec![
            (x[0] + 1) % 7 + x[1] - 1
        ]));
        assert!(same_as_index(&[7], &[3, 7], |x| vec![
            (x[1] + 6) % 7 + x[0] - 1
        ]));
        assert!(same_as_index(&[9], &[9, 3], |x| vec![
            (x[0] + 2) % 9 + 2 * x[1] - 2
        ]));
        assert!(same_as_index(&[6, 6], &[6, 3, 6], |x| vec![
            (x[2] + 1) % 6,
            (x[0] + 1) % 6 + x[1] - 1
        ]));
        // Not shifts of one iterator: a scaled one, and two iterators inside the modulo.
        assert!(!same_as_index(&[7], &[7, 3], |x| vec![(x[0] + x[1]) % 7]));
    }

    #[test]
    fn windows_reproduce_a_cyclic_shift_after_a_padded_window() {
        // Syno's Operator 2 reads `((h + a − 1) + 1) mod H`, zero where `h + a − 1` leaves
        // the axis (a guard folded into the gather): alone, beside a plain window, and with
        // the window iterator first.
        let (h, a) = (7i64, 3i64);
        let g = grid_guarded(
            &[h],
            &[h, a],
            |x| vec![(x[0] + x[1]) % h],
            |x| (0..h).contains(&(x[0] + x[1] - 1)),
        );
        assert!(fits(&[h], &[h, a], g));
        let g = grid_guarded(
            &[6, 5],
            &[6, 3, 5, 3],
            |x| vec![(x[0] + x[1]) % 6, x[2] + x[3] - 1],
            |x| (0..6).contains(&(x[0] + x[1] - 1)),
        );
        assert!(fits(&[6, 5], &[6, 3, 5, 3], g));
        let g = grid_guarded(
            &[h],
            &[a, h],
            |x| vec![(x[1] + x[0] + 2) % h],
            |x| (0..h).contains(&(x[1] + x[0] - 1)),
        );
        assert!(fits(&[h], &[a, h], g));
        // A zero the windows cannot give (one point more), and a scaled read inside the
        // modulo: index maps.
        let (coords, mut index) = grid_guarded(
            &[h],
            &[h, a],
            |x| vec![(x[0] + x[1]) % h],
            |x| (0..h).contains(&(x[0] + x[1] - 1)),
        );
        index[10] = h;
        assert!(Windows::fit(&[h], &[h, a], &coords, &index).is_none());
        assert!(!same_as_index(&[7], &[7], |x| vec![(2 * x[0] + 1) % 7]));
    }

    #[test]
    fn other_reads_stay_index_maps() {
        // Reversed, modular, two axes on one iterator, an iterator replicated, a constant.
        assert!(!same_as_index(&[7], &[7], |x| vec![6 - x[0]]));
        assert!(!same_as_index(&[7], &[9], |x| vec![x[0] % 7]));
        assert!(!same_as_index(&[7, 7], &[7], |x| vec![x[0], x[0]]));
        assert!(!same_as_index(&[7], &[7, 2], |x| vec![x[0]]));
        assert!(!same_as_index(&[7], &[3], |_| vec![2]));
        // A zero that the padding does not give (a guard folded into the gather).
        let (coords, mut index) = grid(&[7], &[7, 3], |x| vec![x[0] + x[1] - 1]);
        index[4] = 7;
        assert!(Windows::fit(&[7], &[7, 3], &coords, &index).is_none());
    }
}
