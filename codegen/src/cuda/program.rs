//! The program driver: checks a schedule against the stages, fixes the index width and the
//! layout each stage writes, then emits every stage's kernel(s) with the emitter its schedule
//! names and collects their launches into a [`CudaProgram`].

use super::choice::{StageShape, contractions, stage_shapes};
use super::direct::emit_direct;
use super::index::IterRanges;
use super::kernel::{Access, KernelSource};
use super::launch::{CudaProgram, KernelLaunch};
use super::{mma, tiled};
use crate::contraction::Contraction;
use crate::error::{Error, Refusal, Result};
use crate::precision::Precision;
use crate::schedule::{Schedule, StageSchedule};
use crate::stage::{Stage, StageIr, operand_name};
use kas_primitives::plan::Operand;
use kas_primitives::{Binding, Expr};
use std::fmt::Write as _;

/// Generates the reference kernels of `ir` under `binding` (every stage
/// [`StageSchedule::Direct`]), named `kas_s0`, `kas_s1`, ….
pub fn generate(ir: &StageIr, binding: &Binding) -> Result<CudaProgram> {
    generate_named(ir, binding, "kas")
}

/// Like [`generate`] with kernels named `<prefix>_s0`, `<prefix>_s1`, … (so that several
/// programs can share one translation unit). The source has no macros of its own beyond
/// `KAS_DIV` / `KAS_MOD`, which are guarded.
pub fn generate_named(ir: &StageIr, binding: &Binding, prefix: &str) -> Result<CudaProgram> {
    generate_scheduled(ir, binding, prefix, &Schedule::direct(ir.stages.len()))
}

/// Generates the kernels of `ir` under `binding` as `schedule` says, named `<prefix>_s<i>`
/// (and `<prefix>_s<i>_sum` for the second kernel of a split reduction).
///
/// A tiled stage whose result is an intermediate writes it in the layout
/// [`Contraction::preferred_layout`]; the stages reading it index it accordingly. A stage the
/// tiled kernel cannot compute, or a tile the generator does not accept, is an error.
pub fn generate_scheduled(
    ir: &StageIr,
    binding: &Binding,
    prefix: &str,
    schedule: &Schedule,
) -> Result<CudaProgram> {
    generate_precise(ir, binding, prefix, schedule, Precision::F32)
}

/// Like [`generate_scheduled`] at precision `precision`: at [`Precision::Bf16`] every buffer
/// is bf16 (`kas_bf16`); [`StageSchedule::TensorCore`] stages multiply on tensor cores at
/// TF32 or bf16. A stage whose schedule cannot run at the precision ([`Refusal`]: tensor
/// cores at f32 or for a stage that is no contraction, a tile the generator does not accept,
/// the SIMT tiled kernel at bf16 storage) is [`Error::Refused`], for the chooser to fall back.
pub fn generate_precise(
    ir: &StageIr,
    binding: &Binding,
    prefix: &str,
    schedule: &Schedule,
    precision: Precision,
) -> Result<CudaProgram> {
    generate_fused(ir, binding, prefix, schedule, precision, None)
}

/// Like [`generate_precise`] with an epilogue: `epilogue` names a C function
/// `float f(float)`, defined by the caller ahead of this source, that every element of the
/// output goes through as the last kernel stores it (an element-wise node of a graph kernel
/// fused into the operator's kernel, `docs/ARCHITECTURE.md`, "Graph kernels").
pub fn generate_fused(
    ir: &StageIr,
    binding: &Binding,
    prefix: &str,
    schedule: &Schedule,
    precision: Precision,
    epilogue: Option<&str>,
) -> Result<CudaProgram> {
    if schedule.stages.len() != ir.stages.len() {
        return Err(Error::Lowering {
            stage: 0,
            reason: format!(
                "a schedule of {} stages for an operator of {}",
                schedule.stages.len(),
                ir.stages.len()
            ),
        });
    }
    let tensor_shapes = tensor_shapes(ir, binding)?;
    let shapes = stage_shapes(ir, binding)?;
    let conts = contractions(ir, binding)?;
    let wide = wide_index(&tensor_shapes, &shapes);
    let layouts = layouts(schedule, &shapes, &conts, precision)?;
    let cx = Stages {
        binding,
        schedule,
        tensor_shapes: &tensor_shapes,
        shapes: &shapes,
        conts: &conts,
        layouts: &layouts,
        idx: if wide { "long long" } else { "int" },
        precision,
        epilogue,
    };
    let mut out = Emitted {
        src: header(binding, schedule, precision),
        kernels: Vec::new(),
        producer: Vec::with_capacity(ir.stages.len()),
    };
    for (i, st) in ir.stages.iter().enumerate() {
        cx.emit_stage(i, st, prefix, &mut out)?;
    }
    let last = ir.stages.len().saturating_sub(1);
    let kernels = out.kernels;
    let n_kernels = kernels.len();
    Ok(CudaProgram {
        binding: binding.name.clone(),
        source: out.src,
        output_shape: shapes
            .get(last)
            .map(|s| s.result.clone())
            .unwrap_or_default(),
        workspace_elems: kernels[..n_kernels.saturating_sub(1)]
            .iter()
            .map(|k| k.out_elems)
            .collect(),
        kernels,
        tensor_shapes,
        wide_index: wide,
        precision,
    })
}

/// Elements of a shape (as `u128`, which no product of extents overflows in practice).
fn numel(s: &[u64]) -> u128 {
    s.iter().fold(1u128, |a, &x| a * x as u128)
}

/// The shapes of the input and weights under `binding`.
fn tensor_shapes(ir: &StageIr, binding: &Binding) -> Result<Vec<Vec<u64>>> {
    let op = &ir.op;
    Ok((0..op.tensor_count())
        .map(|t| {
            op.concrete(op.tensor_axes(t), binding)
                .map(|v| v.into_iter().map(|x| x as u64).collect())
        })
        .collect::<kas_primitives::Result<_>>()?)
}

/// Whether index arithmetic must be 64-bit.
fn wide_index(tensor_shapes: &[Vec<u64>], shapes: &[StageShape]) -> bool {
    // 64-bit indices when 64 times any buffer or reduction space could pass 2^31 - 1: every
    // index, table entry and guard value is bounded by a buffer's size (views only reorder
    // and pad by less than an extent), and a split reduction's partial results take at most
    // 64 copies of a result.
    let biggest = tensor_shapes
        .iter()
        .map(|s| numel(s))
        .chain(
            shapes
                .iter()
                .flat_map(|s| [numel(&s.result), numel(&s.red)]),
        )
        .max()
        .unwrap_or(1);
    biggest * 64 >= (1 << 31) - 1
}

/// The layout each stage writes (result positions, outermost first), after checking that
/// every tiled stage is a contraction with a tile the generator accepts.
fn layouts(
    schedule: &Schedule,
    shapes: &[StageShape],
    conts: &[Option<Contraction>],
    precision: Precision,
) -> Result<Vec<Vec<usize>>> {
    let last = shapes.len().saturating_sub(1);
    let mut layouts: Vec<Vec<usize>> = Vec::with_capacity(shapes.len());
    for (i, (sched, c)) in schedule.stages.iter().zip(conts).enumerate() {
        let natural: Vec<usize> = (0..shapes[i].result.len()).collect();
        let refused = |reason: Refusal| Error::Refused {
            stage: i,
            schedule: sched.label(),
            precision,
            reason,
        };
        let layout = match (sched, c) {
            (StageSchedule::TensorCore(_), _) if !precision.has_tensor_cores() => {
                return Err(refused(Refusal::F32TensorCores));
            }
            (StageSchedule::TensorCore(_), None) => {
                return Err(refused(Refusal::NotAContraction));
            }
            (StageSchedule::TensorCore(t), Some(_)) if !t.is_valid(precision) => {
                return Err(refused(Refusal::Shape));
            }
            (StageSchedule::TensorCore(_), Some(c)) => {
                if i == last {
                    natural
                } else {
                    // Z, M, N: an accumulator pair's two columns are consecutive.
                    let mut v = c.z_dims.clone();
                    v.extend(&c.m_dims);
                    v.extend(&c.n_dims);
                    v
                }
            }
            (StageSchedule::Tiled(_), Some(_)) if precision == Precision::Bf16 => {
                return Err(refused(Refusal::TiledStorage));
            }
            (StageSchedule::Tiled(t), Some(c)) => {
                if !t.is_valid() {
                    return Err(Error::Lowering {
                        stage: i,
                        reason: format!("tile {} is not one the generator accepts", t.label()),
                    });
                }
                if i == last {
                    natural
                } else {
                    c.preferred_layout()
                }
            }
            (StageSchedule::Tiled(t), None) => {
                return Err(Error::Lowering {
                    stage: i,
                    reason: format!(
                        "tile {} asked for a stage that is not a two-operand contraction with separable guards",
                        t.label()
                    ),
                });
            }
            (StageSchedule::Direct, _) => natural,
            (StageSchedule::Flat, Some(c)) if i != last => c.preferred_layout(),
            (StageSchedule::Flat, _) => natural,
        };
        layouts.push(layout);
    }
    Ok(layouts)
}

/// The source's first lines: what it is, the floor division and remainder macros, and the
/// bf16 and tensor-core device functions when the program uses them.
fn header(binding: &Binding, schedule: &Schedule, precision: Precision) -> String {
    let mut src = String::new();
    let what = match precision {
        Precision::F32 => "f32 in and out",
        Precision::Tf32 => "f32 in and out, TF32 tensor-core products accumulated in f32",
        Precision::Bf16 => "bf16 in and out (kas_bf16), bf16 products accumulated in f32",
    };
    let _ = writeln!(
        src,
        "// kas: generated CUDA kernels, binding `{}`; {what}; schedule {}.",
        binding.name,
        schedule.label()
    );
    if precision == Precision::Bf16 {
        src.push_str(mma::prims::BF16);
    }
    if schedule
        .stages
        .iter()
        .any(|s| matches!(s, StageSchedule::TensorCore(_)))
    {
        src.push_str(mma::prims::TENSOR_CORE);
    }
    let _ = writeln!(
        src,
        "// Floor division and Euclidean remainder (exact for negative a)."
    );
    let _ = writeln!(src, "#ifndef KAS_DIV");
    let _ = writeln!(
        src,
        "#define KAS_DIV(a, b) ((a) >= 0 ? (a) / (b) : -((-(a) + (b) - 1) / (b)))"
    );
    let _ = writeln!(src, "#define KAS_MOD(a, b) ((((a) % (b)) + (b)) % (b))");
    let _ = writeln!(src, "#endif");
    src
}

fn join(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// What the driver fixed for every stage before emitting any.
struct Stages<'a> {
    binding: &'a Binding,
    schedule: &'a Schedule,
    tensor_shapes: &'a [Vec<u64>],
    shapes: &'a [StageShape],
    conts: &'a [Option<Contraction>],
    layouts: &'a [Vec<usize>],
    /// `int` or `long long`.
    idx: &'static str,
    /// The program's precision.
    precision: Precision,
    /// The output's epilogue, if any.
    epilogue: Option<&'a str>,
}

/// The program emitted so far.
struct Emitted {
    src: String,
    kernels: Vec<KernelLaunch>,
    /// The kernel whose buffer holds each stage's result.
    producer: Vec<usize>,
}

impl Stages<'_> {
    /// Operands as stage `st` reads them: buffer name, extents and index per axis.
    fn operands(&self, st: &Stage, producer: &[usize]) -> Vec<Access> {
        st.operands
            .iter()
            .zip(&st.index)
            .map(|(o, exprs)| match *o {
                Operand::Tensor(t) => Access {
                    name: operand_name(*o),
                    dims: self.tensor_shapes[t].clone(),
                    exprs: exprs.clone(),
                },
                Operand::Stage(k) => Access {
                    name: format!("s{}", producer[k]),
                    dims: self.layouts[k]
                        .iter()
                        .map(|&p| self.shapes[k].result[p])
                        .collect(),
                    exprs: self.layouts[k].iter().map(|&p| exprs[p].clone()).collect(),
                },
            })
            .collect()
    }

    /// Emits stage `i`'s kernel(s) as its schedule says and records their launches.
    fn emit_stage(&self, i: usize, st: &Stage, prefix: &str, out: &mut Emitted) -> Result<()> {
        let name = format!("{prefix}_s{i}");
        let shape = &self.shapes[i];
        let mut operands = self.operands(st, &out.producer);
        let mut guards: Vec<(Expr, u64)> = st
            .guards
            .iter()
            .map(|g| (g.expr.clone(), g.bound.eval(self.binding).unwrap_or(0)))
            .collect();
        let mut red = shape.red.clone();
        if let (StageSchedule::TensorCore(_), Some(c)) = (&self.schedule.stages[i], &self.conts[i])
            && let Some(order) = super::red_order::for_tensor_cores(c, &operands, red.len())
        {
            let position = super::red_order::positions(&order);
            for a in &mut operands {
                a.exprs = a
                    .exprs
                    .iter()
                    .map(|e| e.rename_reductions(&position))
                    .collect();
            }
            for g in &mut guards {
                g.0 = g.0.rename_reductions(&position);
            }
            red = order.iter().map(|&j| shape.red[j]).collect();
        }
        let total = numel(&shape.result) as u64;
        let _ = writeln!(out.src);
        let _ = writeln!(
            out.src,
            "// stage {i}: result [{}], summing [{}], {}",
            join(&shape.result),
            join(&shape.red),
            self.schedule.stages[i].label()
        );
        let kern = KernelSource {
            name: &name,
            operands: &operands,
            guards: &guards,
            shape: &shape.result,
            red: &red,
            layout: &self.layouts[i],
            binding: self.binding,
            idx: self.idx,
            ranges: IterRanges {
                out: shape.result.clone(),
                red: red.clone(),
            },
            elem: self.precision.storage(),
            epilogue: self.epilogue.filter(|_| i + 1 == self.shapes.len()),
        };
        let first = out.kernels.len();
        let names: Vec<String> = operands.iter().map(|a| a.name.clone()).collect();
        match (&self.schedule.stages[i], &self.conts[i]) {
            (StageSchedule::Tiled(t), Some(c)) => {
                let blocks = t.blocks(c);
                if blocks > i32::MAX as u64 {
                    return Err(Error::Lowering {
                        stage: i,
                        reason: format!("tile {} needs {blocks} blocks", t.label()),
                    });
                }
                tiled::emit(&mut out.src, &kern, c, t);
                let launch = KernelLaunch::tiled(name.clone(), i, names, total, t, blocks as u32);
                out.kernels.push(launch);
                if t.split_k > 1 {
                    let sum = format!("{name}_sum");
                    tiled::emit_split_sum(
                        &mut out.src,
                        &sum,
                        total,
                        t.split_k,
                        self.idx,
                        kern.epilogue,
                    );
                    let part = vec![format!("s{}", out.kernels.len() - 1)];
                    out.kernels
                        .push(KernelLaunch::grid_stride(sum, i, part, total));
                }
            }
            (StageSchedule::TensorCore(t), Some(c)) => {
                self.emit_tensor_core(i, &kern, c, t, total, names, out)?;
            }
            _ => {
                emit_direct(&mut out.src, &kern);
                out.kernels
                    .push(KernelLaunch::grid_stride(name.clone(), i, names, total));
            }
        }
        if self.precision == Precision::Bf16 {
            // Every kernel's result is bf16 but a split reduction's f32 partial results.
            let n = out.kernels.len();
            for (q, k) in out.kernels[first..].iter_mut().enumerate() {
                k.out_bf16 = first + q + 1 == n;
            }
        }
        out.producer.push(out.kernels.len() - 1);
        Ok(())
    }

    /// Emits stage `i`'s tensor-core kernel (and the sum of its split reduction).
    #[allow(clippy::too_many_arguments)]
    fn emit_tensor_core(
        &self,
        i: usize,
        kern: &KernelSource<'_>,
        c: &Contraction,
        t: &crate::tensor_core::Mma,
        total: u64,
        names: Vec<String>,
        out: &mut Emitted,
    ) -> Result<()> {
        let blocks = t.blocks(c);
        if blocks > i32::MAX as u64 {
            return Err(Error::Lowering {
                stage: i,
                reason: format!("tile {} needs {blocks} blocks", t.label()),
            });
        }
        let shared = mma::emit(&mut out.src, kern, c, t, self.precision);
        let name = kern.name.to_string();
        let launch =
            KernelLaunch::tensor_core(name.clone(), i, names, total, t, blocks as u32, shared);
        out.kernels.push(launch);
        if t.split_k > 1 {
            let sum = format!("{name}_sum");
            mma::emit_split_sum(&mut out.src, kern, &sum, total, t.split_k);
            let part = vec![format!("s{}", out.kernels.len() - 1)];
            out.kernels
                .push(KernelLaunch::grid_stride(sum, i, part, total));
        }
        Ok(())
    }
}
