//! A stage's einsum letters, and which operand axes are reshapes rather than gathers.
//!
//! An iterator that the stage's index expressions read only through `it div c` and `it mod c`
//! (one constant `c` dividing its extent: a Split of the dimension it ranges over) becomes two
//! letters, `hi = it div c` and `lo = it mod c`, so that `it = hi·c + lo`. An operand axis whose
//! index is then `Σ stride·letter` over letters whose extents tile the axis in mixed radix (a
//! Merge: `γ·(C/g) + c`) is that axis reshaped into one axis per letter: a view, where the plan
//! would otherwise gather over every iterator the index reads. A block-diagonal linear layer,
//! `Y[n, γ·O/g + o] = Σ_i X[n, γ·I/g + i]·W[γ, o, i]`, whose stage iterates over the whole
//! output axis, becomes a batched matrix product this way instead of a gather of `X` over
//! `O × I/g` positions per row. Both findings are checked on every point of the index grid
//! under the binding, never assumed from the expression's shape.

use kas_primitives::{Binding, Expr, Iter};

/// At most this many grid points are evaluated to recognise a merge (larger axes gather).
const MERGE_GRID_LIMIT: usize = 1 << 20;

/// The letters of one stage: each iterator (result dims first, then summed dims) as one
/// letter, or as its two pieces when split.
#[derive(Debug, Clone)]
pub(super) struct Letters {
    /// Result iterators.
    m: usize,
    /// For each iterator, its letters (major first).
    pieces: Vec<Vec<usize>>,
    /// Extent of each letter.
    pub(super) size: Vec<i64>,
    /// Multiplier of each letter in its iterator's value.
    mult: Vec<i64>,
    /// The iterator of each letter.
    iter_of: Vec<usize>,
    /// The divisor of each split iterator.
    split: Vec<Option<i64>>,
}

impl Letters {
    /// The letters of a stage with result extents `res` and summed extents `red`, whose index
    /// expressions and guards are `exprs`.
    pub(super) fn new<'a>(
        res: &[i64],
        red: &[i64],
        exprs: impl Iterator<Item = &'a Expr>,
        b: &Binding,
    ) -> Letters {
        let m = res.len();
        let sizes: Vec<i64> = res.iter().chain(red).copied().collect();
        // For each iterator: the divisor it is split by, `Some(0)` when two disagree.
        let mut divisor: Vec<Option<i64>> = vec![None; sizes.len()];
        for e in exprs {
            divisors(e, b, m, &mut divisor);
        }
        let mut out = Letters {
            m,
            pieces: Vec::with_capacity(sizes.len()),
            size: Vec::new(),
            mult: Vec::new(),
            iter_of: Vec::new(),
            split: Vec::with_capacity(sizes.len()),
        };
        for (it, &n) in sizes.iter().enumerate() {
            let split = divisor[it].filter(|&c| c > 1 && c < n && n % c == 0);
            out.split.push(split);
            let parts: Vec<(i64, i64)> = match split {
                Some(c) => vec![(n / c, c), (c, 1)],
                None => vec![(n, 1)],
            };
            let mut ids = Vec::new();
            for (extent, mult) in parts {
                ids.push(out.size.len());
                out.size.push(extent);
                out.mult.push(mult);
                out.iter_of.push(it);
            }
            out.pieces.push(ids);
        }
        out
    }

    /// Number of letters.
    pub(super) fn count(&self) -> usize {
        self.size.len()
    }

    /// The letters of the result iterators, in order (`0..k`).
    pub(super) fn result_letters(&self) -> usize {
        self.pieces[..self.m].iter().map(Vec::len).sum()
    }

    /// How many letters each result iterator has.
    pub(super) fn result_groups(&self) -> Vec<usize> {
        self.pieces[..self.m].iter().map(Vec::len).collect()
    }

    /// Letter index of iterator `it`.
    fn iter_index(&self, it: &Iter) -> usize {
        match *it {
            Iter::Out(i) => i,
            Iter::Red(j) => self.m + j,
        }
    }

    /// The letter of iterator `it` when it is not split.
    pub(super) fn whole(&self, it: &Iter) -> Option<usize> {
        match self.pieces[self.iter_index(it)].as_slice() {
            [l] => Some(*l),
            _ => None,
        }
    }

    /// The letters `e` reads, sorted: of a split iterator read only as `it div c` its major
    /// letter, only as `it mod c` its minor one, otherwise both.
    pub(super) fn reads(&self, exprs: &[&Expr], b: &Binding) -> Vec<usize> {
        let mut ls = Vec::new();
        for e in exprs {
            self.collect_reads(e, b, &mut ls);
        }
        ls.sort_unstable();
        ls.dedup();
        ls
    }

    fn collect_reads(&self, e: &Expr, b: &Binding, out: &mut Vec<usize>) {
        match e {
            Expr::Div(x, y) | Expr::Mod(x, y) => {
                if let Expr::Iter(it) = x.as_ref() {
                    let i = self.iter_index(it);
                    if let (Some(c), Some(k)) = (self.split[i], constant(y, b))
                        && c == k
                    {
                        let piece = usize::from(matches!(e, Expr::Mod(..)));
                        out.push(self.pieces[i][piece]);
                        return;
                    }
                }
                self.collect_reads(x, b, out);
                self.collect_reads(y, b, out);
            }
            Expr::Iter(it) => out.extend(&self.pieces[self.iter_index(it)]),
            Expr::Const(_) | Expr::Size(_) => {}
            Expr::Add(x, y) | Expr::Sub(x, y) | Expr::Mul(x, y) => {
                self.collect_reads(x, b, out);
                self.collect_reads(y, b, out);
            }
        }
    }

    /// Sets the iterators of `letters` from the letters' values `v` (an iterator's pieces
    /// missing from `letters` count 0: the expressions evaluated there do not read them).
    pub(super) fn set(&self, letters: &[usize], v: &[usize], outs: &mut [i64], reds: &mut [i64]) {
        for &l in letters {
            self.slot(l, outs, reds, |x| *x = 0);
        }
        for (&l, &x) in letters.iter().zip(v) {
            let add = x as i64 * self.mult[l];
            self.slot(l, outs, reds, |y| *y += add);
        }
    }

    fn slot(&self, l: usize, outs: &mut [i64], reds: &mut [i64], f: impl FnOnce(&mut i64)) {
        let it = self.iter_of[l];
        if it < self.m {
            f(&mut outs[it]);
        } else {
            f(&mut reds[it - self.m]);
        }
    }

    /// The letters of an axis of extent `dim` indexed by `e`, major first, when `e` is a
    /// merge of them (see the module docs): `e = Σ stride·letter` on every grid point, the
    /// strides a mixed radix over the letters' extents whose product is `dim`. `None`
    /// otherwise (the axis is gathered).
    pub(super) fn merge(&self, e: &Expr, dim: i64, b: &Binding, nred: usize) -> Option<Vec<usize>> {
        let ls = self.reads(&[e], b);
        let ext: Vec<usize> = ls.iter().map(|&l| self.size[l] as usize).collect();
        if ls.is_empty() || ext.iter().product::<usize>() > MERGE_GRID_LIMIT {
            return None;
        }
        let mut outs = vec![0i64; self.m];
        let mut reds = vec![0i64; nred];
        let mut at = |v: &[usize]| {
            self.set(&ls, v, &mut outs, &mut reds);
            e.eval(b, &outs, &reds)
        };
        let zero = vec![0usize; ls.len()];
        if at(&zero) != 0 {
            return None;
        }
        let stride: Vec<i64> = (0..ls.len())
            .map(|i| {
                let mut v = zero.clone();
                v[i] = usize::from(ext[i] > 1);
                at(&v)
            })
            .collect();
        let mut linear = true;
        kas_primitives::tensor::for_each_index(&ext, |v| {
            if linear {
                let want: i64 = v.iter().zip(&stride).map(|(&x, &s)| x as i64 * s).sum();
                linear = at(v) == want;
            }
        });
        if !linear || stride.iter().any(|&s| s < 0) {
            return None;
        }
        let mut used: Vec<(i64, usize)> = stride
            .iter()
            .zip(&ls)
            .filter(|&(&s, &l)| s > 0 && self.size[l] > 1)
            .map(|(&s, &l)| (s, l))
            .collect();
        used.sort_unstable_by_key(|u| std::cmp::Reverse(u.0));
        let mut expect = 1i64;
        for &(s, l) in used.iter().rev() {
            if s != expect {
                return None;
            }
            expect *= self.size[l];
        }
        (expect == dim && !used.is_empty()).then(|| used.into_iter().map(|(_, l)| l).collect())
    }
}

/// Records in `divisor` the constant each iterator is divided or reduced by in `e` (`Some(0)`
/// when two disagree). Splitting is exact whatever else reads the iterator: its letters give
/// back its value, and a bare read becomes a merge of them.
fn divisors(e: &Expr, b: &Binding, m: usize, divisor: &mut [Option<i64>]) {
    let index = |it: &Iter| match *it {
        Iter::Out(i) => i,
        Iter::Red(j) => m + j,
    };
    match e {
        Expr::Div(x, y) | Expr::Mod(x, y) => {
            if let (Expr::Iter(it), Some(c)) = (x.as_ref(), constant(y, b)) {
                let d = &mut divisor[index(it)];
                *d = match *d {
                    None => Some(c),
                    Some(old) if old == c => Some(c),
                    _ => Some(0),
                };
            } else {
                divisors(x, b, m, divisor);
                divisors(y, b, m, divisor);
            }
        }
        Expr::Iter(_) | Expr::Const(_) | Expr::Size(_) => {}
        Expr::Add(x, y) | Expr::Sub(x, y) | Expr::Mul(x, y) => {
            divisors(x, b, m, divisor);
            divisors(y, b, m, divisor);
        }
    }
}

/// The value of an expression without iterators under `b`.
fn constant(e: &Expr, b: &Binding) -> Option<i64> {
    let mut its = Vec::new();
    e.iters(&mut its);
    its.is_empty().then(|| e.eval(b, &[], &[]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kas_primitives::{Size, VarKind};

    /// A binding whose first primary variable is 4.
    fn binding() -> Binding {
        let mut primary = [0; kas_primitives::size::MAX_VARS];
        primary[0] = 4;
        Binding {
            name: "t".into(),
            primary,
            coeff: [0; kas_primitives::size::MAX_VARS],
        }
    }

    fn it(i: usize) -> Expr {
        Expr::Iter(Iter::Out(i))
    }

    fn c(x: i64) -> Expr {
        Expr::Const(x)
    }

    fn op(f: fn(Box<Expr>, Box<Expr>) -> Expr, a: Expr, b: Expr) -> Expr {
        f(Box::new(a), Box::new(b))
    }

    #[test]
    fn an_iterator_read_through_div_and_mod_by_one_constant_splits() {
        let b = binding();
        // o0 < 12 read as o0 div 4 (a size of value 4) and o0 mod 4; o1 < 6 as o1 div 4 (4
        // does not divide 6); o2 < 8 by 2 and by 4 (disagree).
        let four = Expr::Size(Size::var(VarKind::Primary, 0));
        let exprs = [
            op(Expr::Div, it(0), four),
            op(Expr::Mod, it(0), c(4)),
            op(Expr::Div, it(1), c(4)),
            op(Expr::Div, it(2), c(2)),
            op(Expr::Mod, it(2), c(4)),
        ];
        let l = Letters::new(&[12, 6, 8], &[], exprs.iter(), &b);
        assert_eq!(l.count(), 4);
        assert_eq!(l.size, vec![3, 4, 6, 8]);
        assert_eq!(l.result_groups(), vec![2, 1, 1]);
        assert_eq!(l.whole(&Iter::Out(0)), None);
        assert_eq!(l.reads(&[&exprs[0]], &b), vec![0]);
        assert_eq!(l.reads(&[&exprs[1]], &b), vec![1]);
        assert_eq!(l.reads(&[&it(0)], &b), vec![0, 1]);
        let (mut outs, mut reds) = (vec![0; 3], vec![]);
        l.set(&[0, 1], &[2, 3], &mut outs, &mut reds);
        assert_eq!(outs[0], 11);
    }

    #[test]
    fn merges_are_exact_mixed_radix_tilings_of_the_axis() {
        let b = binding();
        let l = Letters::new(&[3, 4, 5], &[], std::iter::empty(), &b);
        // o0·4 + o1 tiles an axis of 12, major first.
        let e = op(Expr::Add, op(Expr::Mul, it(0), c(4)), it(1));
        assert_eq!(l.merge(&e, 12, &b, 0), Some(vec![0, 1]));
        // The same over an axis of 13 (a tail never read), with a stride, or with an offset:
        // gathered.
        assert_eq!(l.merge(&e, 13, &b, 0), None);
        let strided = op(Expr::Mul, it(2), c(2));
        assert_eq!(l.merge(&strided, 10, &b, 0), None);
        let shifted = op(Expr::Add, it(2), c(1));
        assert_eq!(l.merge(&shifted, 6, &b, 0), None);
        // A window (o1 + o2) is no merge either.
        let window = op(Expr::Add, it(1), it(2));
        assert_eq!(l.merge(&window, 8, &b, 0), None);
        // A size expression counts as its value: o2·4 + o1 tiles 20.
        let four = Expr::Size(Size::var(VarKind::Primary, 0));
        let e = op(Expr::Add, op(Expr::Mul, it(2), four), it(1));
        assert_eq!(l.merge(&e, 20, &b, 0), Some(vec![2, 1]));
    }
}
