//! The top-down builder: write operators by hand, in data-flow order.
//!
//! ```
//! use kas_primitives::{Axis, Builder, VarTable};
//! // A 3×3 convolution, stride 1, same padding.
//! let vars = VarTable::from_specs(&["N", "C_in", "C_out", "H", "W"], &["k=3"]).unwrap();
//! let b1 = vars.bind("tiny", [("N", 1), ("C_in", 2), ("C_out", 3), ("H", 5), ("W", 4)]).unwrap();
//! let mut b = Builder::new(vars, vec![b1]).unwrap();
//! let [n, c, h, w] = b.input(["N", "C_in", "H", "W"]).unwrap()[..] else { unreachable!() };
//! let (h, kh) = b.unfold(h, "k").unwrap();
//! let (w, kw) = b.unfold(w, "k").unwrap();
//! let shared = b
//!     .contract(&[Axis::Create("C_out".into()), Axis::Share(c), Axis::Share(kh), Axis::Share(kw)])
//!     .unwrap();
//! for &d in &shared[1..] {
//!     b.reduce(d).unwrap();
//! }
//! let op = b.finish(&[n, shared[0], h, w]).unwrap();
//! assert_eq!(op.weights[0].len(), 4);
//! ```

use crate::error::{Error, Result};
use crate::graph::{Dim, DimId, Op, Sink, Source};
use crate::operator::{MAX_WEIGHTS, Operator, check_odd};
use crate::size::{Binding, Size, VarTable};

/// `Some(size)` or the error of an exponent overflow in `context`.
fn exponent_ok(size: Option<Size>, context: &str) -> Result<Size> {
    size.ok_or_else(|| Error::IllegalSize {
        size: context.to_string(),
        reason: "an exponent is out of range (at most 127 in absolute value)".into(),
    })
}

/// Something that names a size: a [`Size`] or a text such as `"C_in/g"`.
pub trait AsSize {
    /// Resolves against a variable table.
    fn to_size(&self, vars: &VarTable) -> Result<Size>;
}

impl AsSize for Size {
    fn to_size(&self, _: &VarTable) -> Result<Size> {
        Ok(*self)
    }
}

impl AsSize for &str {
    fn to_size(&self, vars: &VarTable) -> Result<Size> {
        Size::parse(self, vars)
    }
}

impl AsSize for String {
    fn to_size(&self, vars: &VarTable) -> Result<Size> {
        Size::parse(self, vars)
    }
}

/// One axis of a weight attached by [`Builder::contract`].
#[derive(Debug, Clone)]
pub enum Axis {
    /// Shared with this data dim (elementwise product along it).
    Share(DimId),
    /// Created by the weight: the data side is Expanded (broadcast) to this size.
    Create(String),
    /// Like [`Axis::Create`] with a size value.
    CreateSize(Size),
}

/// Writes an operator step by step from the input toward the output.
///
/// Each step checks its operands at once and returns a typed [`Error`] for anything illegal:
/// sizes that do not divide or are not integers ≥ 1 under some binding, even windows, a dim
/// used twice. [`Builder::finish`] then checks the whole operator ([`Operator::validate`]).
#[derive(Debug, Clone)]
pub struct Builder {
    op: Operator,
    has_input: bool,
}

impl Builder {
    /// Starts an operator over `vars`, checked under `bindings`.
    pub fn new(vars: VarTable, bindings: Vec<Binding>) -> Result<Builder> {
        vars.validate()?;
        Ok(Builder {
            op: Operator {
                vars,
                bindings,
                dims: Vec::new(),
                ops: Vec::new(),
                input: Vec::new(),
                weights: Vec::new(),
                outputs: Vec::new(),
            },
            has_input: false,
        })
    }

    /// The operator built so far (dims may still lack a sink).
    pub fn partial(&self) -> &Operator {
        &self.op
    }

    /// The variable table.
    pub fn vars(&self) -> &VarTable {
        &self.op.vars
    }

    /// Size of a dim built so far.
    pub fn size(&self, d: DimId) -> Result<Size> {
        self.dim(d).map(|x| x.size)
    }

    fn dim(&self, d: DimId) -> Result<&Dim> {
        self.op
            .dims
            .get(d.index())
            .ok_or_else(|| Error::UnknownDim(format!("#{}", d.0)))
    }

    fn resolve(&self, s: &impl AsSize) -> Result<Size> {
        let s = s.to_size(&self.op.vars)?;
        s.check_legal(&self.op.vars, &self.op.bindings)?;
        Ok(s)
    }

    fn new_dim(&mut self, size: Size, source: Source, prefix: &str) -> DimId {
        let id = DimId(self.op.dims.len() as u32);
        let mut name = format!("{prefix}{}", id.0);
        while self.op.dims.iter().any(|d| d.name == name) {
            name.push('_');
        }
        self.op.dims.push(Dim {
            size,
            name,
            source,
            sink: None,
            unordered: false,
        });
        id
    }

    /// Marks `d` consumed by the op about to be pushed (or by an output).
    fn consume(&mut self, d: DimId, sink: Sink) -> Result<()> {
        let dim = self.dim(d)?;
        if dim.sink.is_some() {
            return Err(Error::DimUsedTwice(dim.name.clone()));
        }
        if let (Source::Weight { .. }, Sink::Op(_)) = (dim.source, sink) {
            return Err(Error::IllegalStep(format!(
                "weight axis `{}` can only be the weight side of a Share",
                dim.name
            )));
        }
        self.op.dims[d.index()].sink = Some(sink);
        Ok(())
    }

    fn check_free(&self, ds: &[DimId]) -> Result<()> {
        for (i, &d) in ds.iter().enumerate() {
            let dim = self.dim(d)?;
            if dim.sink.is_some() || ds[..i].contains(&d) {
                return Err(Error::DimUsedTwice(dim.name.clone()));
            }
            if matches!(dim.source, Source::Weight { .. }) {
                return Err(Error::IllegalStep(format!(
                    "weight axis `{}` can only be the weight side of a Share",
                    dim.name
                )));
            }
        }
        Ok(())
    }

    fn push(&mut self, op: Op) -> Result<()> {
        let k = self.op.ops.len();
        for d in op.inputs() {
            self.consume(d, Sink::Op(k))?;
        }
        self.op.ops.push(op);
        Ok(())
    }

    /// Declares the input tensor's axes (once).
    pub fn input<S: AsSize>(&mut self, sizes: impl IntoIterator<Item = S>) -> Result<Vec<DimId>> {
        if self.has_input {
            return Err(Error::IllegalStep(
                "the input tensor is declared twice".into(),
            ));
        }
        let sizes = sizes
            .into_iter()
            .map(|s| self.resolve(&s))
            .collect::<Result<Vec<_>>>()?;
        if sizes.is_empty() {
            return Err(Error::InvalidOperator(
                "the input tensor has no axis".into(),
            ));
        }
        self.has_input = true;
        let ids: Vec<DimId> = sizes
            .into_iter()
            .enumerate()
            .map(|(i, s)| self.new_dim(s, Source::Input(i), "x"))
            .collect();
        self.op.input = ids.clone();
        Ok(ids)
    }

    /// Splits `d` (size G·B) into `(outer, inner)` of sizes (G, B).
    pub fn split(&mut self, d: DimId, block: impl AsSize) -> Result<(DimId, DimId)> {
        self.check_free(&[d])?;
        let b = self.resolve(&block)?;
        let g = exponent_ok(self.size(d)?.checked_div(b), "Split")?;
        g.check_legal(&self.op.vars, &self.op.bindings)?;
        let k = self.op.ops.len();
        let outer = self.new_dim(g, Source::Op(k), "d");
        let inner = self.new_dim(b, Source::Op(k), "d");
        self.push(Op::Split {
            input: d,
            outer,
            inner,
        })?;
        Ok((outer, inner))
    }

    /// Merges `outer` (slow) and `inner` (fast) into one dim.
    pub fn merge(&mut self, outer: DimId, inner: DimId) -> Result<DimId> {
        self.check_free(&[outer, inner])?;
        let s = exponent_ok(self.size(outer)?.checked_mul(self.size(inner)?), "Merge")?;
        s.check_legal(&self.op.vars, &self.op.bindings)?;
        let k = self.op.ops.len();
        let output = self.new_dim(s, Source::Op(k), "d");
        self.push(Op::Merge {
            outer,
            inner,
            output,
        })?;
        Ok(output)
    }

    /// Cyclic shift: the result at `i` reads `d` at `(i + offset) mod N`.
    pub fn shift(&mut self, d: DimId, offset: i64) -> Result<DimId> {
        self.check_free(&[d])?;
        let k = self.op.ops.len();
        let output = self.new_dim(self.size(d)?, Source::Op(k), "d");
        self.push(Op::Shift {
            input: d,
            output,
            offset,
        })?;
        Ok(output)
    }

    /// Keeps every `stride`-th coordinate of `d` (size s·n → n).
    pub fn stride(&mut self, d: DimId, stride: impl AsSize) -> Result<DimId> {
        self.check_free(&[d])?;
        let s = self.resolve(&stride)?;
        let n = exponent_ok(self.size(d)?.checked_div(s), "Stride")?;
        n.check_legal(&self.op.vars, &self.op.bindings)?;
        let k = self.op.ops.len();
        let output = self.new_dim(n, Source::Op(k), "d");
        self.push(Op::Stride {
            input: d,
            output,
            stride: s,
        })?;
        Ok(output)
    }

    /// Sliding window of odd size over `d`, zero-padded: returns `(main, window)`.
    pub fn unfold(&mut self, d: DimId, window: impl AsSize) -> Result<(DimId, DimId)> {
        self.check_free(&[d])?;
        let kk = self.resolve(&window)?;
        check_odd(kk, &self.op.vars, &self.op.bindings)?;
        let k = self.op.ops.len();
        let main = self.new_dim(self.size(d)?, Source::Op(k), "d");
        let win = self.new_dim(kk, Source::Op(k), "d");
        self.push(Op::Unfold {
            input: d,
            main,
            window: win,
        })?;
        Ok((main, win))
    }

    /// A new broadcast dim of the given size.
    pub fn expand(&mut self, size: impl AsSize) -> Result<DimId> {
        let s = self.resolve(&size)?;
        let k = self.op.ops.len();
        let output = self.new_dim(s, Source::Op(k), "d");
        self.push(Op::Expand { output })?;
        Ok(output)
    }

    /// Attaches a new weight whose axes, in order, are `axes`: each either Shares an existing
    /// data dim or is Created (the data side Expanded). Returns the shared dims, one per axis.
    pub fn contract(&mut self, axes: &[Axis]) -> Result<Vec<DimId>> {
        if self.op.weights.len() >= MAX_WEIGHTS {
            return Err(Error::InvalidOperator(format!(
                "more than {MAX_WEIGHTS} weights"
            )));
        }
        if axes.is_empty() {
            return Err(Error::InvalidOperator("a weight needs an axis".into()));
        }
        let shared: Vec<DimId> = axes
            .iter()
            .filter_map(|a| match a {
                Axis::Share(d) => Some(*d),
                _ => None,
            })
            .collect();
        self.check_free(&shared)?;
        let mut sizes = Vec::with_capacity(axes.len());
        for a in axes {
            sizes.push(match a {
                Axis::Share(d) => self.size(*d)?,
                Axis::Create(s) => self.resolve(&s.as_str())?,
                Axis::CreateSize(s) => self.resolve(s)?,
            });
        }
        let w = self.op.weights.len();
        let mut data = Vec::with_capacity(axes.len());
        for (a, &s) in axes.iter().zip(&sizes) {
            data.push(match a {
                Axis::Share(d) => *d,
                _ => self.expand(s)?,
            });
        }
        let waxes: Vec<DimId> = sizes
            .iter()
            .enumerate()
            .map(|(i, &s)| self.new_dim(s, Source::Weight { weight: w, axis: i }, "w"))
            .collect();
        self.op.weights.push(waxes.clone());
        let mut out = Vec::with_capacity(axes.len());
        for (i, (&d, &wa)) in data.iter().zip(&waxes).enumerate() {
            let k = self.op.ops.len();
            let o = self.new_dim(sizes[i], Source::Op(k), "d");
            self.consume(d, Sink::Op(k))?;
            self.op.dims[wa.index()].sink = Some(Sink::Op(k));
            self.op.ops.push(Op::Share {
                data: d,
                weight: wa,
                output: o,
            });
            out.push(o);
        }
        Ok(out)
    }

    /// Sums over `d`.
    pub fn reduce(&mut self, d: DimId) -> Result<()> {
        self.check_free(&[d])?;
        self.push(Op::Reduce { input: d })
    }

    /// Marks an input or output axis as channel-like (its order carries no meaning).
    pub fn set_unordered(&mut self, d: DimId) -> Result<()> {
        self.dim(d)?;
        self.op.dims[d.index()].unordered = true;
        Ok(())
    }

    /// Renames a dim (names must be unique).
    pub fn rename(&mut self, d: DimId, name: &str) -> Result<()> {
        self.dim(d)?;
        if self
            .op
            .dims
            .iter()
            .enumerate()
            .any(|(i, x)| x.name == name && i != d.index())
        {
            return Err(Error::DuplicateDimName(name.to_string()));
        }
        self.op.dims[d.index()].name = name.to_string();
        Ok(())
    }

    /// Declares the output axes, in order, and checks the whole operator.
    pub fn finish(mut self, outputs: &[DimId]) -> Result<Operator> {
        if !self.has_input {
            return Err(Error::InvalidOperator("no input tensor".into()));
        }
        self.check_free(outputs)?;
        for (i, &d) in outputs.iter().enumerate() {
            self.consume(d, Sink::Output(i))?;
        }
        self.op.outputs = outputs.to_vec();
        if let Some(d) = self.op.dims.iter().find(|d| d.sink.is_none()) {
            return Err(Error::DimUnused(d.name.clone()));
        }
        self.op.validate()?;
        Ok(self.op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> (VarTable, Vec<Binding>) {
        let v = VarTable::from_specs(&["N", "C", "H"], &["k=3", "s=2"]).unwrap();
        let b = vec![
            v.bind("a", [("N", 2), ("C", 4), ("H", 6)]).unwrap(),
            v.bind("b", [("N", 1), ("C", 8), ("H", 10)]).unwrap(),
        ];
        (v, b)
    }

    #[test]
    fn typed_errors() {
        let (v, bs) = vars();
        let mut b = Builder::new(v.clone(), bs.clone()).unwrap();
        let x = b.input(["N", "C", "H"]).unwrap();
        // H/k is not an integer.
        assert!(matches!(b.split(x[2], "k"), Err(Error::IllegalSize { .. })));
        // s = 2 is even.
        assert!(matches!(b.unfold(x[2], "s"), Err(Error::EvenWindow { .. })));
        // Using a dim twice.
        let (_h, _w) = b.unfold(x[2], "k").unwrap();
        assert!(matches!(b.shift(x[2], 1), Err(Error::DimUsedTwice(_))));
        // Share of different sizes is impossible through contract (sizes come from data), but a
        // dim never used is reported at finish.
        let mut b2 = Builder::new(v.clone(), bs.clone()).unwrap();
        let x = b2.input(["N", "C", "H"]).unwrap();
        let s = b2.contract(&[Axis::Share(x[1])]).unwrap();
        b2.reduce(s[0]).unwrap();
        assert!(matches!(b2.finish(&[x[0]]), Err(Error::DimUnused(_))));
        // No weight at all.
        let mut b3 = Builder::new(v, bs).unwrap();
        let x = b3.input(["N", "C", "H"]).unwrap();
        assert!(matches!(b3.finish(&x), Err(Error::InvalidOperator(_))));
    }

    /// Regression: a Merge whose size exponent leaves `i8` used to panic.
    #[test]
    fn exponent_overflow_is_a_typed_error() {
        let v = VarTable::from_specs(&["N"], &["u=1"]).unwrap();
        let bs = vec![v.bind("a", [("N", 3)]).unwrap()];
        let mut b = Builder::new(v, bs).unwrap();
        let x = b.input(["u^120", "u^120"]).unwrap();
        assert!(matches!(
            b.merge(x[0], x[1]),
            Err(Error::IllegalSize { .. })
        ));
        assert!(matches!(
            b.split(x[0], "1/u^20"),
            Err(Error::IllegalSize { .. })
        ));
    }

    #[test]
    fn four_weights_rejected() {
        let (v, bs) = vars();
        let mut b = Builder::new(v, bs).unwrap();
        let x = b.input(["N", "C", "H"]).unwrap();
        let mut c = x[1];
        for _ in 0..3 {
            c = b.contract(&[Axis::Share(c)]).unwrap()[0];
        }
        assert!(b.contract(&[Axis::Share(c)]).is_err());
    }
}
