//! The PyTorch part of an export bundle (`kas export OP --pytorch`): the operator's forward
//! kernels and the kernels of its gradient with respect to every tensor that has a gradient
//! operator (the Python module computes the others from the formula), for several layer
//! shapes and a run-time batch, behind
//!
//! - `<name>_s<i>.cu`: per shape, for each batch bucket one program of kernels per direction
//!   (forward, `∂/∂in`, `∂/∂w1`, …) and its entry point (one file per shape, so that a build
//!   compiles them in parallel);
//! - `<name>_batched.cu` / `.h`: plain CUDA with a C API (no PyTorch): `<name>_run`, which covers any batch `n` by launching the bucket programs on consecutive
//!   slices of the batch (largest bucket first), summing weight gradients over the slices;
//! - `<name>_torch.cpp`: PyTorch operators `torch.ops.kas_<name>.forward/backward` over that
//!   API (tensor checks, the current CUDA stream, allocation through PyTorch);
//! - `<name>.py`: an `nn.Module` whose forward and backward call them through an
//!   `autograd.Function`, with the documented weight initialisation, and a reference computed
//!   from the operator's formula with PyTorch indexing (independent of the kernels);
//! - `<name>_formula.py`: the shapes and the formula in plain Python (no PyTorch needed).
//!
//! The batch is the input's and the output's first axis, passed through untouched (no
//! primitive reads it, no weight has it): then output sample `i` depends on input sample `i`
//! only and a slice of the batch is an independent call ([`batch_variable`]).

mod binding;
mod python;
mod readme;
mod runtime;

use super::{BundleFile, c_name};
use crate::cuda::{CudaProgram, generate_precise, precise_schedule};
use crate::error::{Error, Result};
use crate::precision::Precision;
use crate::stage::StageIr;
use kas_primitives::grad::{Operand, gradient};
use kas_primitives::{Accesses, Binding, Expr, Iter, Operator, Size, VarKind};

/// Most axes of a tensor the run-time handles.
pub const MAX_RANK: usize = 8;

/// What to export for PyTorch.
#[derive(Debug, Clone)]
pub struct TorchExport<'a> {
    /// The operator's name (`syno-op2`); files and the PyTorch library are named after its C
    /// form.
    pub name: &'a str,
    /// The operator.
    pub op: &'a Operator,
    /// One binding per layer shape, named (the value of the batch variable is ignored).
    pub shapes: &'a [Binding],
    /// Batch sizes kernels are generated for (1 is always added).
    pub buckets: &'a [u64],
    /// Precision of the kernels (bf16: bf16 tensors).
    pub precision: Precision,
}

/// Where one operand of a program comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    /// -1: the upstream gradient; `t ≥ 0`: forward tensor `t`.
    pub tensor: i32,
    /// Axes read reversed (bit `a` for axis `a`).
    pub flips: u32,
}

/// One direction (forward, or the gradient with respect to one tensor) under one shape.
#[derive(Debug, Clone)]
pub(crate) struct Direction {
    /// Operands in order.
    pub sources: Vec<Source>,
    /// Each operand's shape at batch 1 as the program reads it (a reshaped upstream gradient
    /// has some axes split).
    pub operand_shapes: Vec<Vec<u64>>,
    /// Whether the output has the batch on axis 0 (forward, input gradient) rather than being
    /// summed over it (weight gradients).
    pub batched_out: bool,
    /// The program's output shape at batch 1 (weights: whatever the batch).
    pub out_shape: Vec<u64>,
    /// Per output axis, how many elements of the full result one of the program's stands for
    /// (a strided input gradient; 1 elsewhere).
    pub factors: Vec<u64>,
    /// One program per bucket, largest first: `(batch, entry point, program)`.
    pub variants: Vec<(u64, String, CudaProgram)>,
}

/// One exported layer shape.
#[derive(Debug, Clone)]
pub(crate) struct ShapeExport {
    /// Its name (the binding's).
    pub name: String,
    /// The binding at batch 1.
    pub binding: Binding,
    /// Shapes of the forward tensors at batch 1 (input first).
    pub tensors: Vec<Vec<u64>>,
    /// The output shape at batch 1.
    pub output: Vec<u64>,
    /// Forward, then the gradient with respect to each tensor.
    pub directions: Vec<Direction>,
}

/// The whole PyTorch export, before it is written out.
#[derive(Debug, Clone)]
pub(crate) struct Plan<'a> {
    pub name: &'a str,
    pub base: String,
    pub op: &'a Operator,
    pub precision: Precision,
    /// Index of the batch variable among the primary ones.
    pub batch_var: usize,
    pub buckets: Vec<u64>,
    pub shapes: Vec<ShapeExport>,
    /// Tensors without a gradient operator, with the reason.
    pub missing: Vec<(usize, String)>,
}

fn refuse(reason: impl Into<String>) -> Error {
    Error::Export {
        reason: reason.into(),
    }
}

/// The primary variable that is the batch of `op`: the size of the first output axis, a
/// single primary variable, read by nothing but the input's first axis and appearing in no
/// other size. Refused (with the reason) otherwise.
pub fn batch_variable(op: &Operator) -> Result<usize> {
    let acc = Accesses::of(op);
    let first = acc
        .out_sizes
        .first()
        .ok_or_else(|| refuse("the operator has no output axis to be the batch"))?;
    let var = (0..op.vars.primary.len())
        .find(|&i| *first == Size::var(VarKind::Primary, i))
        .ok_or_else(|| {
            refuse(format!(
                "the first output axis has size `{}`, not a single primary variable: no batch axis",
                first.display(&op.vars)
            ))
        })?;
    let vname = &op.vars.primary[var].name;
    let batch_free = |s: &Size| s.exponent(VarKind::Primary, var) == 0;
    if acc.tensors[0].first() != Some(&Expr::Iter(Iter::Out(0))) {
        return Err(refuse(format!(
            "the batch `{vname}` is not the input's first axis read unchanged"
        )));
    }
    let mut reads = Vec::new();
    for (t, idx) in acc.tensors.iter().enumerate() {
        for (a, e) in idx.iter().enumerate() {
            if (t, a) == (0, 0) {
                continue;
            }
            e.iters(&mut reads);
            if reads.contains(&Iter::Out(0)) {
                return Err(refuse(format!(
                    "axis {a} of tensor {t} reads the batch iterator: the batch is not independent"
                )));
            }
            if !expr_sizes_free(e, &batch_free) {
                return Err(refuse(format!(
                    "an index of tensor {t} depends on the batch `{vname}`"
                )));
            }
        }
    }
    for g in &acc.guards {
        g.expr.iters(&mut reads);
        if reads.contains(&Iter::Out(0)) || !batch_free(&g.bound) {
            return Err(refuse("a zero-padding guard depends on the batch"));
        }
    }
    let sizes_ok = acc.out_sizes[1..].iter().all(batch_free)
        && acc.red_sizes.iter().all(batch_free)
        && (1..op.tensor_count()).all(|t| op.tensor_shape(t).iter().all(batch_free));
    if !sizes_ok {
        return Err(refuse(format!(
            "the batch `{vname}` appears in a size other than the first input and output axes"
        )));
    }
    Ok(var)
}

fn expr_sizes_free(e: &Expr, ok: &dyn Fn(&Size) -> bool) -> bool {
    match e {
        Expr::Iter(_) | Expr::Const(_) => true,
        Expr::Size(s) => ok(s),
        Expr::Add(x, y) | Expr::Sub(x, y) | Expr::Mul(x, y) | Expr::Div(x, y) | Expr::Mod(x, y) => {
            expr_sizes_free(x, ok) && expr_sizes_free(y, ok)
        }
    }
}

/// The tensors of `op` whose gradient has no operator (no kernels: the Python module computes
/// it from the formula), with the reason; refused without a batch axis ([`batch_variable`]).
pub fn gradients_without_kernels(op: &Operator) -> Result<Vec<(usize, String)>> {
    batch_variable(op)?;
    let mut missing = Vec::new();
    for t in 0..op.tensor_count() {
        match gradient(op, t) {
            Ok(_) => {}
            Err(e @ kas_primitives::Error::NoGradient { .. }) => missing.push((t, e.to_string())),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(missing)
}

/// `b` with the batch variable set to `n`, named `name`.
fn with_batch(op: &Operator, b: &Binding, var: usize, n: u64, name: &str) -> Result<Binding> {
    let mut pairs = b.pairs(&op.vars);
    pairs[var].1 = n;
    Ok(op
        .vars
        .bind(name, pairs.iter().map(|(k, v)| (k.as_str(), *v)))?)
}

/// Binds `b`'s values (by variable name) in another operator's table.
fn rebind(from: &Operator, to: &Operator, b: &Binding) -> Result<Binding> {
    let pairs = b.pairs(&from.vars);
    let known: Vec<(&str, u64)> = pairs
        .iter()
        .filter(|(k, _)| to.vars.lookup(k).is_some())
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    Ok(to.vars.bind(&b.name, known)?)
}

fn dims(v: &[usize]) -> Vec<u64> {
    v.iter().map(|&x| x as u64).collect()
}

impl<'a> Plan<'a> {
    /// Lowers and generates every program.
    pub(crate) fn new(e: &TorchExport<'a>) -> Result<Plan<'a>> {
        let op = e.op;
        let batch_var = batch_variable(op)?;
        if e.shapes.is_empty() {
            return Err(refuse("no shape to export"));
        }
        let mut buckets: Vec<u64> = e.buckets.to_vec();
        buckets.push(1);
        buckets.sort_unstable_by(|a, b| b.cmp(a));
        buckets.dedup();
        if buckets.contains(&0) {
            return Err(refuse("a batch bucket of 0"));
        }
        let mut names: Vec<String> = Vec::new();
        for s in e.shapes {
            let c = c_name(&s.name);
            if names.contains(&c) {
                return Err(refuse(format!("two shapes are named `{}`", s.name)));
            }
            names.push(c);
        }
        // A tensor without a gradient operator gets no kernels: the Python module computes
        // its gradient from the formula instead (slowly).
        let mut grads = Vec::new();
        let mut missing = Vec::new();
        for t in 0..op.tensor_count() {
            match gradient(op, t) {
                Ok(g) => grads.push(Some(g)),
                Err(e @ kas_primitives::Error::NoGradient { .. }) => {
                    missing.push((t, e.to_string()));
                    grads.push(None);
                }
                Err(e) => return Err(e.into()),
            }
        }
        let base = c_name(e.name);
        let mut shapes = Vec::new();
        for (si, s) in e.shapes.iter().enumerate() {
            let one = with_batch(op, s, batch_var, 1, &s.name)?;
            let tensors = (0..op.tensor_count())
                .map(|t| Ok(dims(&op.concrete(op.tensor_axes(t), &one)?)))
                .collect::<Result<Vec<_>>>()?;
            let output = dims(&op.concrete(&op.outputs, &one)?);
            let mut directions = Vec::new();
            // Forward: the input is batched, the weights are not.
            let fwd_sources = (0..op.tensor_count())
                .map(|t| Source {
                    tensor: t as i32,
                    flips: 0,
                })
                .collect();
            directions.push(self::direction(
                &base,
                si,
                0,
                op,
                op,
                &one,
                batch_var,
                &buckets,
                e.precision,
                fwd_sources,
                &[],
            )?);
            for (t, g) in grads.iter().enumerate() {
                let Some(g) = g else {
                    directions.push(Direction::without_kernels(&tensors, t));
                    continue;
                };
                let sources = g
                    .roles
                    .iter()
                    .map(|r| Source {
                        tensor: match r.tensor {
                            Operand::Upstream => -1,
                            Operand::Forward(t) => t as i32,
                        },
                        flips: r.flipped.iter().map(|&a| 1u32 << a).sum(),
                    })
                    .collect();
                let gb = rebind(op, &g.op, &one)?;
                let factors = g
                    .strided
                    .iter()
                    .map(|(a, st)| {
                        st.eval(&gb).map(|v| (*a, v)).ok_or_else(|| {
                            refuse(format!("stride of axis {a} under shape `{}`", s.name))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                directions.push(self::direction(
                    &base,
                    si,
                    g.tensor + 1,
                    op,
                    &g.op,
                    &one,
                    batch_var,
                    &buckets,
                    e.precision,
                    sources,
                    &factors,
                )?);
            }
            shapes.push(ShapeExport {
                name: s.name.clone(),
                binding: one,
                tensors,
                output,
                directions,
            });
        }
        Ok(Plan {
            name: e.name,
            base,
            op,
            precision: e.precision,
            batch_var,
            buckets,
            shapes,
            missing,
        })
    }
}

impl Direction {
    /// The gradient with respect to tensor `t` where it has no operator: no kernels.
    fn without_kernels(tensors: &[Vec<u64>], t: usize) -> Direction {
        Direction {
            sources: vec![
                Source {
                    tensor: 0,
                    flips: 0
                };
                tensors.len()
            ],
            operand_shapes: tensors.to_vec(),
            batched_out: t == 0,
            out_shape: tensors[t].clone(),
            factors: vec![1; tensors[t].len()],
            variants: Vec::new(),
        }
    }
}

/// Generates direction `d` (0 forward, `1 + t` the gradient w.r.t. tensor `t`) of shape `si`:
/// `prog_op` (the operator or a gradient operator) under every bucket, checking that the
/// batch sits where slicing it assumes.
#[allow(clippy::too_many_arguments)]
fn direction(
    base: &str,
    si: usize,
    d: usize,
    op: &Operator,
    prog_op: &Operator,
    one: &Binding,
    batch_var: usize,
    buckets: &[u64],
    precision: Precision,
    sources: Vec<Source>,
    strided: &[(usize, u64)],
) -> Result<Direction> {
    let batched = |s: &Source| s.tensor <= 0;
    let mut variants = Vec::new();
    let mut at_one: Option<CudaProgram> = None;
    for &n in buckets.iter().rev() {
        let b = rebind(op, prog_op, &with_batch(op, one, batch_var, n, &one.name)?)?;
        let ir = StageIr::lower_for(prog_op, std::slice::from_ref(&b))?;
        let schedule = precise_schedule(&ir, &b, precision)?;
        let entry = format!("{base}_s{si}_d{d}_n{n}");
        let p = generate_precise(&ir, &b, &entry, &schedule, precision)?;
        if let Some(p1) = &at_one {
            let scaled = |s1: &[u64], sn: &[u64], batched: bool| {
                let mut want = s1.to_vec();
                if batched && !want.is_empty() {
                    want[0] *= n;
                }
                want == sn
            };
            let operands_ok = (sources
                .iter()
                .zip(p1.tensor_shapes.iter().zip(&p.tensor_shapes)))
            .all(|(s, (s1, sn))| scaled(s1, sn, batched(s)));
            let batched_out = d <= 1;
            if !operands_ok || !scaled(&p1.output_shape, &p.output_shape, batched_out) {
                return Err(refuse(format!(
                    "direction {d}: the batch is not the first axis of every batched tensor of its program"
                )));
            }
            if sources.iter().any(|s| batched(s) && s.flips & 1 != 0) {
                return Err(refuse(format!(
                    "direction {d}: a batched tensor is read reversed along the batch"
                )));
            }
        } else {
            at_one = Some(p.clone());
        }
        variants.push((n, entry, p));
    }
    variants.reverse();
    let p1 = at_one.expect("buckets hold 1");
    let mut factors = vec![1u64; p1.output_shape.len()];
    for &(a, f) in strided {
        if a == 0 || a >= factors.len() {
            return Err(refuse(format!("direction {d}: strided axis {a}")));
        }
        factors[a] = f;
    }
    if p1.output_shape.len() > MAX_RANK || p1.tensor_shapes.iter().any(|s| s.len() > MAX_RANK) {
        return Err(refuse(format!("a tensor of more than {MAX_RANK} axes")));
    }
    Ok(Direction {
        sources,
        operand_shapes: p1.tensor_shapes.clone(),
        batched_out: d <= 1,
        out_shape: p1.output_shape.clone(),
        factors,
        variants,
    })
}

/// The PyTorch files of the export ([module docs](self)).
pub fn pytorch_files(e: &TorchExport<'_>) -> Result<Vec<BundleFile>> {
    let plan = Plan::new(e)?;
    let (cu, h, kernels) = runtime::sources(&plan);
    let base = &plan.base;
    let kernels = kernels
        .into_iter()
        .map(|(name, contents)| BundleFile { name, contents });
    Ok(kernels
        .chain([
            BundleFile {
                name: format!("{base}_batched.cu"),
                contents: cu,
            },
            BundleFile {
                name: format!("{base}_batched.h"),
                contents: h,
            },
            BundleFile {
                name: format!("{base}_torch.cpp"),
                contents: binding::source(&plan),
            },
            BundleFile {
                name: format!("{base}.py"),
                contents: python::module(&plan),
            },
            BundleFile {
                name: format!("{base}_formula.py"),
                contents: python::formula(&plan)?,
            },
            BundleFile {
                name: "PYTORCH.md".into(),
                contents: readme::readme(&plan),
            },
        ])
        .collect())
}
