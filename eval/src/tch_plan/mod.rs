//! The trainable tch plan: a stage IR evaluated with libtorch, differentiable through autograd.
//!
//! Each stage is one `einsum` over its iterators (result dims and summed dims). An operand axis
//! whose index is a plain iterator stays a tensor axis (its einsum letter is that iterator);
//! the other axes (Unfold windows, Shift, Split/Merge arithmetic, Stride) are flattened and
//! gathered with one `index_select` over the iterators they read, with an appended zero so
//! that a failed zero-padding guard reads 0. Guards that no gather covers become a 0/1 mask
//! operand. An iterator read only through `div`/`mod` by one constant is split into two
//! letters, and an axis whose index merges letters in mixed radix is reshaped, not gathered
//! (`tch_plan/letters.rs`). Gathers are exact integer index maps computed once per binding from the index
//! expressions, so the plan is the stage IR — and the interpreter — term for term; gradients
//! come from autograd. A gather whose map is strided windows of zero-padded axes (an Unfold,
//! a Shift, a Stride) is taken as views (`tch_plan/window.rs`: one padded copy, `unfold`,
//! and libtorch's deterministic `unfold_backward`); any other gather's backward is itself a
//! gather ([`crate::gather::GatherMap`]: each source element sums its readers' gradients in a
//! fixed order, so training is bit for bit reproducible on a GPU too); only a gather whose
//! inverse would be too large falls back to `index_select`, whose backward is a scatter-add
//! (atomics on a GPU).

mod letters;
mod window;

use crate::error::{Error, Result};
use crate::gather::GatherMap;
use kas_codegen::StageIr;
use kas_primitives::plan::Operand;
use kas_primitives::tensor::for_each_index;
use kas_primitives::{Binding, Expr, Operator};
use letters::Letters;
use tch::nn::{Init, Module, Path};
use tch::{Device, Kind, Tensor};
use window::Windows;

/// Einsum letters: at most 52 iterators per stage.
const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// How one operand enters a stage's einsum.
#[derive(Debug)]
struct OperandPlan {
    source: Operand,
    /// Axis order: plain axes first, then the gathered ones.
    perm: Vec<i64>,
    /// The plain axes, in order.
    plain: Vec<PlainAxis>,
    /// The gather of the other axes, if any.
    gather: Option<Gather>,
}

impl OperandPlan {
    /// The operand's einsum letters as it enters the einsum: the plain axes' letters, then
    /// the gathered ones.
    fn letters(&self) -> Vec<usize> {
        let plain = self.plain.iter().flat_map(|x| x.letters.iter());
        plain
            .chain(self.gather.iter().flat_map(|g| &g.iters))
            .copied()
            .collect()
    }
}

/// An operand axis read without a gather: one iterator's letter, or a merge of letters (the
/// axis reshaped into one axis per letter, major first).
#[derive(Debug, Clone)]
struct PlainAxis {
    /// Its letters.
    letters: Vec<usize>,
    /// Their extents.
    sizes: Vec<i64>,
    /// Whether it is one whole iterator (so it may follow a flexible input axis's size).
    whole: bool,
}

/// Which axes of an operand indexed by `exprs` (extents `dims`) are plain and which are
/// gathered, with the letters the gather reads.
fn split_axes(
    exprs: &[Expr],
    dims: &[i64],
    letters: &Letters,
    b: &Binding,
    nred: usize,
) -> (Vec<(usize, PlainAxis)>, Vec<usize>, Vec<usize>) {
    let (mut plain, mut comp) = (Vec::new(), Vec::new());
    for (a, e) in exprs.iter().enumerate() {
        let axis = match e {
            Expr::Iter(it) => letters.whole(it).map(|l| PlainAxis {
                letters: vec![l],
                sizes: vec![letters.size[l]],
                whole: true,
            }),
            _ => None,
        }
        .or_else(|| {
            letters.merge(e, dims[a], b, nred).map(|ls| PlainAxis {
                sizes: ls.iter().map(|&l| letters.size[l]).collect(),
                letters: ls,
                whole: false,
            })
        });
        match axis {
            Some(x) => plain.push((a, x)),
            None => comp.push(a),
        }
    }
    let read: Vec<&Expr> = comp.iter().map(|&a| &exprs[a]).collect();
    let iters = letters.reads(&read, b);
    (plain, comp, iters)
}

#[derive(Debug)]
struct Gather {
    /// The gathered axes' extents (their product is the index of the zero slot).
    axis_len: Vec<i64>,
    /// How the gather reads.
    read: Read,
    /// Letters of the iterators the gathered axes read.
    iters: Vec<usize>,
    /// Their extents.
    iter_sizes: Vec<i64>,
}

/// How a gather reads its operand, the cheapest that reproduces its index map first.
#[derive(Debug)]
enum Read {
    /// Strided windows of the zero-padded axes: views, with `unfold_backward` as backward.
    Windows(Windows),
    /// An index map whose backward is a gather (deterministic on a GPU), when its inverse is
    /// small enough ([`GatherMap::new`]).
    Map(GatherMap),
    /// `index_select` over the flat positions, row-major over the iterators (i64, on the
    /// plan's device), a zero appended: a scatter-add as backward.
    Select(Tensor),
}

#[derive(Debug)]
struct StagePlan {
    operands: Vec<OperandPlan>,
    /// Extra einsum operands: guard masks and ones for letters no operand carries.
    extras: Vec<Tensor>,
    /// Letters of the extras.
    extra_letters: Vec<Vec<usize>>,
    /// Letters of each result axis (the einsum's output letters are `0..`, in order; a result
    /// axis with two letters is reshaped back into one).
    groups: Vec<usize>,
    /// Number of letters.
    letters: usize,
    equation: String,
}

/// A complete operator as a differentiable tch module for one binding, owning its weights.
#[derive(Debug)]
pub struct TchPlan {
    stages: Vec<StagePlan>,
    /// The weight tensors (trainable variables of the `VarStore` the plan was built in).
    pub weights: Vec<Tensor>,
    /// Shape of the input tensor.
    pub input_shape: Vec<i64>,
    /// Shape of the output.
    pub output_shape: Vec<i64>,
    /// For each input axis, whether it may take any size at apply time (see
    /// [`TchPlan::flexible_input_axes`]).
    flexible: Vec<bool>,
}

/// Elements of the tensors the plan of `ir` creates for binding `b`: every stage's result and
/// every gathered operand (plain axes times the letters its gather reads), all of which
/// autograd keeps for the backward
/// pass. A plan whose views gather many times its
/// input (a wide Unfold over a large tensor, or an index map over the whole iteration space)
/// can need far more memory than the layer it replaces.
pub fn created_elements(ir: &StageIr, b: &Binding) -> Result<f64> {
    let op = &ir.op;
    let concrete = |dims: &[kas_primitives::DimId]| -> Result<Vec<i64>> {
        Ok(op
            .concrete(dims, b)?
            .into_iter()
            .map(|x| x as i64)
            .collect())
    };
    let mut stage_sizes: Vec<Vec<i64>> = Vec::new();
    let mut total = 0f64;
    for st in &ir.stages {
        let res = concrete(&st.result_dims)?;
        let red = concrete(&st.summed)?;
        let letters = stage_letters(st, &res, &red, b);
        for (o, exprs) in st.operands.iter().zip(&st.index) {
            let dims = match *o {
                Operand::Tensor(t) => concrete(op.tensor_axes(t))?,
                Operand::Stage(k) => stage_sizes[k].clone(),
            };
            let (plain, comp, iters) = split_axes(exprs, &dims, &letters, b, red.len());
            if !comp.is_empty() {
                let kept: f64 = plain.iter().map(|(a, _)| dims[*a] as f64).product();
                total += kept
                    * iters
                        .iter()
                        .map(|&l| letters.size[l] as f64)
                        .product::<f64>();
            }
        }
        total += res.iter().map(|&x| x as f64).product::<f64>();
        stage_sizes.push(res);
    }
    Ok(total)
}

/// The letters of stage `st` (result extents `res`, summed extents `red`).
fn stage_letters(st: &kas_codegen::Stage, res: &[i64], red: &[i64], b: &Binding) -> Letters {
    let exprs = st
        .index
        .iter()
        .flatten()
        .chain(st.guards.iter().map(|g| &g.expr));
    Letters::new(res, red, exprs, b)
}

/// Variance of each weight so that, with inputs of unit variance, outputs have unit variance:
/// a term is a product of `k` weights and there are `R` (reduction volume) terms, so each
/// weight gets variance `R^(-1/k)` (fan-in initialisation generalised to `k` weights).
fn init_bound(op: &Operator, b: &Binding) -> Result<f64> {
    let r: f64 = op
        .concrete(&op.reductions(), b)?
        .iter()
        .map(|&x| x as f64)
        .product();
    let k = op.weights.len().max(1) as f64;
    Ok((3.0 * r.max(1.0).powf(-1.0 / k)).sqrt())
}

impl TchPlan {
    /// Builds the plan of `op` under `binding` along its cheapest stage IR, creating the
    /// weights as variables `w1`, `w2`, … of `vs` (uniform fan-in initialisation; seed them
    /// inside [`crate::seeded::seeded`]). Kind and device are those of `vs`.
    pub fn new(op: &Operator, binding: &Binding, vs: &Path) -> Result<TchPlan> {
        let ir = StageIr::lower_for(op, std::slice::from_ref(binding))?;
        let bound = init_bound(op, binding)?;
        let mut weights = Vec::new();
        for t in 1..op.tensor_count() {
            let shape: Vec<i64> = op
                .concrete(op.tensor_axes(t), binding)?
                .into_iter()
                .map(|x| x as i64)
                .collect();
            weights.push(vs.var(
                &format!("w{t}"),
                &shape,
                Init::Uniform {
                    lo: -bound,
                    up: bound,
                },
            ));
        }
        TchPlan::with_weights(&ir, binding, weights, vs.device(), vs.kind())
    }

    /// Builds the plan of a lowered operator with given weight tensors.
    pub fn with_weights(
        ir: &StageIr,
        b: &Binding,
        weights: Vec<Tensor>,
        device: Device,
        kind: Kind,
    ) -> Result<TchPlan> {
        let op = &ir.op;
        let shape_of = |dims: &[kas_primitives::DimId]| -> Result<Vec<i64>> {
            Ok(op
                .concrete(dims, b)?
                .into_iter()
                .map(|x| x as i64)
                .collect())
        };
        let mut stage_shapes: Vec<Vec<i64>> = Vec::new();
        let mut stages = Vec::new();
        for (si, st) in ir.stages.iter().enumerate() {
            let res = shape_of(&st.result_dims)?;
            let red = shape_of(&st.summed)?;
            let letters = stage_letters(st, &res, &red, b);
            let letters_n = letters.count();
            if letters_n > LETTERS.len() {
                return Err(Error::EinsumIterators {
                    stage: si,
                    iterators: letters_n,
                    limit: LETTERS.len(),
                });
            }
            let nred = red.len();
            let mut guards_left: Vec<bool> = vec![true; st.guards.len()];
            let mut operands = Vec::new();
            for (o, exprs) in st.operands.iter().zip(&st.index) {
                let dims: Vec<i64> = match *o {
                    Operand::Tensor(t) => shape_of(op.tensor_axes(t))?,
                    Operand::Stage(k) => stage_shapes[k].clone(),
                };
                let (plain, comp, iters) = split_axes(exprs, &dims, &letters, b, nred);
                let gather = if comp.is_empty() {
                    None
                } else {
                    // Fold every guard whose iterators this gather covers.
                    let mut folded = Vec::new();
                    for (g, guard) in st.guards.iter().enumerate() {
                        let gl = letters.reads(&[&guard.expr], b);
                        if guards_left[g] && gl.iter().all(|l| iters.contains(l)) {
                            guards_left[g] = false;
                            folded.push(g);
                        }
                    }
                    let iter_sizes: Vec<i64> = iters.iter().map(|&l| letters.size[l]).collect();
                    let comp_sizes: Vec<i64> = comp.iter().map(|&a| dims[a]).collect();
                    let flat_len: i64 = comp_sizes.iter().product();
                    let mut index: Vec<i64> = Vec::new();
                    // The gathered axes' coordinates at every point, before range checks.
                    let mut coords: Vec<i64> = Vec::new();
                    let mut outs = vec![0i64; res.len()];
                    let mut reds = vec![0i64; nred];
                    let ext: Vec<usize> = iter_sizes.iter().map(|&x| x as usize).collect();
                    for_each_index(&ext, |v| {
                        letters.set(&iters, v, &mut outs, &mut reds);
                        let at = coords.len();
                        coords.extend(comp.iter().map(|&a| exprs[a].eval(b, &outs, &reds)));
                        let ok = folded.iter().all(|&g| {
                            let x = st.guards[g].expr.eval(b, &outs, &reds);
                            let n = st.guards[g].bound.eval(b).unwrap_or(0) as i64;
                            (0..n).contains(&x)
                        });
                        if !ok {
                            index.push(flat_len);
                            return;
                        }
                        let mut flat = 0i64;
                        for (c, &x) in coords[at..].iter().enumerate() {
                            if !(0..comp_sizes[c]).contains(&x) {
                                // Only a term that a guard not folded here zeroes can index out
                                // of range (a padded Unfold read): read the zero slot.
                                index.push(flat_len);
                                return;
                            }
                            flat = flat * comp_sizes[c] + x;
                        }
                        index.push(flat);
                    });
                    let read = match Windows::fit(&comp_sizes, &iter_sizes, &coords, &index) {
                        Some(w) => Read::Windows(w),
                        None => match GatherMap::new(&index, flat_len, device) {
                            Some(m) => Read::Map(m),
                            None => Read::Select(Tensor::from_slice(&index).to_device(device)),
                        },
                    };
                    Some(Gather {
                        axis_len: comp_sizes,
                        read,
                        iters,
                        iter_sizes,
                    })
                };
                let mut perm: Vec<i64> = plain.iter().map(|&(a, _)| a as i64).collect();
                perm.extend(comp.iter().map(|&a| a as i64));
                let plain: Vec<PlainAxis> = plain.into_iter().map(|(_, x)| x).collect();
                operands.push(OperandPlan {
                    source: *o,
                    perm,
                    plain,
                    gather,
                });
            }
            // Guards no gather covers: 0/1 masks over their letters.
            let mut extras = Vec::new();
            let mut extra_letters: Vec<Vec<usize>> = Vec::new();
            for (g, guard) in st.guards.iter().enumerate() {
                if !guards_left[g] {
                    continue;
                }
                let ls = letters.reads(&[&guard.expr], b);
                let ext: Vec<usize> = ls.iter().map(|&l| letters.size[l] as usize).collect();
                let mut vals = Vec::new();
                let mut outs = vec![0i64; res.len()];
                let mut reds = vec![0i64; nred];
                let n = guard.bound.eval(b).unwrap_or(0) as i64;
                for_each_index(&ext, |v| {
                    letters.set(&ls, v, &mut outs, &mut reds);
                    let x = guard.expr.eval(b, &outs, &reds);
                    vals.push(if (0..n).contains(&x) { 1.0 } else { 0.0 });
                });
                let shape: Vec<i64> = ext.iter().map(|&x| x as i64).collect();
                extras.push(
                    Tensor::from_slice(&vals)
                        .reshape(&shape)
                        .to_kind(kind)
                        .to_device(device),
                );
                extra_letters.push(ls);
            }
            // Letters no operand carries (broadcast outputs, sums of broadcasts): ones.
            let mut seen = vec![false; letters_n];
            for p in &operands {
                for l in p.letters() {
                    seen[l] = true;
                }
            }
            for ls in &extra_letters {
                for &l in ls {
                    seen[l] = true;
                }
            }
            for (l, s) in seen.iter().enumerate() {
                if !s {
                    extras.push(Tensor::ones([letters.size[l]], (kind, device)));
                    extra_letters.push(vec![l]);
                }
            }
            let word =
                |ls: &[usize]| -> String { ls.iter().map(|&l| LETTERS[l] as char).collect() };
            let mut inputs: Vec<String> = operands.iter().map(|p| word(&p.letters())).collect();
            inputs.extend(extra_letters.iter().map(|ls| word(ls)));
            let equation = format!(
                "{}->{}",
                inputs.join(","),
                word(&(0..letters.result_letters()).collect::<Vec<_>>())
            );
            stages.push(StagePlan {
                operands,
                extras,
                extra_letters,
                groups: letters.result_groups(),
                letters: letters_n,
                equation,
            });
            stage_shapes.push(res);
        }
        let flexible = (0..op.input.len())
            .map(|a| axis_is_flexible(&stages, a))
            .collect();
        Ok(TchPlan {
            stages,
            weights,
            flexible,
            input_shape: shape_of(&op.input)?,
            output_shape: stage_shapes.last().cloned().unwrap_or_default(),
        })
    }

    /// For each input axis, whether [`TchPlan::apply`] accepts it at any size, not only the
    /// binding's: true for an axis that reaches every stage as a plain einsum letter which no
    /// gather, mask or fixed-size axis shares (the batch axis `N` of a slot, for instance).
    /// The output axes carrying it follow its size.
    pub fn flexible_input_axes(&self) -> &[bool] {
        &self.flexible
    }

    /// Every tensor the plan keeps between calls of [`TchPlan::apply`]: the weights, the
    /// gathers' index maps and the stages' masks and ones (what the CPU timing evicts from
    /// the caches before each run).
    pub fn held_tensors(&self) -> Vec<&Tensor> {
        let mut held: Vec<&Tensor> = self.weights.iter().collect();
        for st in &self.stages {
            for g in st.operands.iter().filter_map(|p| p.gather.as_ref()) {
                match &g.read {
                    Read::Windows(_) => {}
                    Read::Map(m) => held.extend([m.index(), m.inverse()]),
                    Read::Select(index) => held.push(index),
                }
            }
            held.extend(&st.extras);
        }
        held
    }

    /// The plan's gathers, and how many of them have a deterministic backward (strided
    /// windows or a gather; the others a scatter-add: not bit for bit reproducible on a GPU).
    pub fn gathers(&self) -> (usize, usize) {
        let (mut n, mut det) = (0, 0);
        for g in self.all_gathers() {
            n += 1;
            det += usize::from(!matches!(g.read, Read::Select(_)));
        }
        (n, det)
    }

    /// How many of the plan's gathers are strided windows of their operand (views; see
    /// `tch_plan/window.rs`) rather than index maps.
    pub fn window_gathers(&self) -> usize {
        let windows = self.all_gathers();
        windows
            .filter(|g| matches!(g.read, Read::Windows(_)))
            .count()
    }

    fn all_gathers(&self) -> impl Iterator<Item = &Gather> {
        let operands = self.stages.iter().flat_map(|st| &st.operands);
        operands.filter_map(|p| p.gather.as_ref())
    }

    /// The output for input `x` with the plan's weights. `x` must have the plan's input shape,
    /// except along [flexible](TchPlan::flexible_input_axes) axes.
    pub fn apply(&self, x: &Tensor) -> Tensor {
        let mut results: Vec<Tensor> = Vec::with_capacity(self.stages.len());
        for st in &self.stages {
            let mut ins: Vec<Tensor> = Vec::with_capacity(st.operands.len() + st.extras.len());
            for p in &st.operands {
                let src = match p.source {
                    Operand::Tensor(0) => x,
                    Operand::Tensor(t) => &self.weights[t - 1],
                    Operand::Stage(k) => &results[k],
                };
                let mut v = src.permute(&p.perm[..]);
                // Plain axes at their actual extents (a flexible axis may differ from the
                // binding's), merged axes split into their letters.
                let sizes = v.size();
                let mut plain_sizes: Vec<i64> = Vec::new();
                for (axis, &n) in p.plain.iter().zip(&sizes) {
                    if axis.whole {
                        plain_sizes.push(n);
                    } else {
                        plain_sizes.extend(&axis.sizes);
                    }
                }
                if let Some(g) = &p.gather {
                    let mut flat = plain_sizes.clone();
                    flat.push(g.axis_len.iter().product());
                    v = match &g.read {
                        Read::Windows(w) => {
                            let mut axes = plain_sizes.clone();
                            axes.extend(&g.axis_len);
                            w.apply(&v.reshape(&axes[..]), &g.iter_sizes)
                        }
                        Read::Map(m) => {
                            let v = v.reshape(&flat[..]);
                            m.f_apply(&v).unwrap_or_else(|_| select(&v, m.index()))
                        }
                        Read::Select(index) => select(&v.reshape(&flat[..]), index),
                    };
                    let mut full = plain_sizes;
                    full.extend(&g.iter_sizes);
                    v = v.reshape(&full[..]);
                } else if p.plain.iter().any(|axis| !axis.whole) {
                    v = v.reshape(&plain_sizes[..]);
                }
                ins.push(v);
            }
            for e in &st.extras {
                // Masks and ones follow the input's precision (the plan may run in f64).
                ins.push(if e.kind() == x.kind() {
                    e.shallow_clone()
                } else {
                    e.to_kind(x.kind())
                });
            }
            let mut r = Tensor::einsum(&st.equation, &ins, None::<&[i64]>);
            if st.groups.iter().any(|&g| g > 1) {
                let sizes = r.size();
                let mut shape = Vec::with_capacity(st.groups.len());
                let mut at = 0;
                for &g in &st.groups {
                    shape.push(sizes[at..at + g].iter().product::<i64>());
                    at += g;
                }
                r = r.reshape(&shape[..]);
            }
            results.push(r);
        }
        results.pop().expect("a plan has at least one stage")
    }
}

/// `v[..., index]` over its last axis with a zero appended (`index_select`).
fn select(v: &Tensor, index: &Tensor) -> Tensor {
    let mut zshape = v.size();
    *zshape.last_mut().expect("a gathered operand has an axis") = 1;
    let zero = Tensor::zeros(&zshape[..], (v.kind(), v.device()));
    Tensor::cat(&[v, &zero], -1).index_select(-1, index)
}

/// Whether input axis `a` may change size: follows the axes it sizes through the stages (as
/// einsum letters, then as result axes read by later stages); every one must be a plain axis,
/// and none of their letters may be gathered, masked, or carried by an axis of fixed size.
fn axis_is_flexible(stages: &[StagePlan], a: usize) -> bool {
    // For each stage, which of its result axes the input axis sizes.
    let mut sized: Vec<Vec<bool>> = Vec::with_capacity(stages.len());
    for st in stages {
        // The letters the axis sizes here, and the letters some fixed-size axis carries.
        let (mut var, mut fixed) = (vec![false; st.letters], vec![false; st.letters]);
        for p in &st.operands {
            let axis_var = |axis: usize| match p.source {
                Operand::Tensor(t) => t == 0 && axis == a,
                Operand::Stage(k) => sized[k][axis],
            };
            for (i, &axis) in p.perm.iter().enumerate() {
                let v = axis_var(axis as usize);
                match p.plain.get(i) {
                    Some(x) if x.whole => {
                        let l = x.letters[0];
                        if v {
                            var[l] = true;
                        } else {
                            fixed[l] = true;
                        }
                    }
                    Some(x) if !v => {
                        for &l in &x.letters {
                            fixed[l] = true;
                        }
                    }
                    _ if v => return false,
                    _ => {}
                }
            }
            if let Some(g) = &p.gather {
                for &l in &g.iters {
                    fixed[l] = true;
                }
            }
        }
        for &l in st.extra_letters.iter().flatten() {
            fixed[l] = true;
        }
        if var.iter().zip(&fixed).any(|(v, f)| *v && *f) {
            return false;
        }
        // A result axis follows the input axis when it is one letter that does.
        let mut at = 0;
        let mut res = Vec::with_capacity(st.groups.len());
        for &g in &st.groups {
            res.push(g == 1 && var[at]);
            at += g;
        }
        sized.push(res);
    }
    true
}

impl Module for TchPlan {
    fn forward(&self, xs: &Tensor) -> Tensor {
        self.apply(xs)
    }
}

/// Evaluates `op` under `binding` through its tch plan on `device` in f32, with the given input
/// and weights (f64 host tensors, rounded to f32): the backend `kas verify` checks.
pub fn run_f32(
    op: &Operator,
    binding: &Binding,
    tensors: &[kas_primitives::Tensor],
    device: Device,
) -> Result<kas_primitives::Tensor> {
    let ir = StageIr::lower_for(op, std::slice::from_ref(binding))?;
    let to_dev = |t: &kas_primitives::Tensor| -> Tensor {
        let shape: Vec<i64> = t.shape.iter().map(|&x| x as i64).collect();
        Tensor::from_slice(&t.data)
            .reshape(&shape[..])
            .to_kind(Kind::Float)
            .to_device(device)
    };
    let weights = tensors[1..].iter().map(to_dev).collect();
    let plan = TchPlan::with_weights(&ir, binding, weights, device, Kind::Float)?;
    let y = tch::no_grad(|| plan.apply(&to_dev(&tensors[0])));
    let shape: Vec<usize> = y.size().iter().map(|&x| x as usize).collect();
    let flat = y
        .to_device(Device::Cpu)
        .to_kind(Kind::Double)
        .contiguous()
        .view(-1);
    let data = Vec::<f64>::try_from(&flat)?;
    Ok(kas_primitives::Tensor { shape, data })
}

/// Whether libtorch sees a CUDA device (needs a GPU build: see `build/tch_link.rs`).
pub fn cuda_available() -> bool {
    tch::Cuda::is_available()
}
