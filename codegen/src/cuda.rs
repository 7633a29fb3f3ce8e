//! CUDA C for a stage IR: kernels shape-specialised for one binding, one (or two) per stage.
//!
//! Each stage is computed as its [`Schedule`] says:
//!
//! - **direct** (the reference): one thread per element of the stage's result (grid-stride
//!   loop), the stage's reductions as nested loops, every zero-padding guard tested before any
//!   read;
//! - **tiled** ([`crate::tiled`]): the stage as a batched matrix product, output tiles per thread
//!   block, the reduction staged through shared memory, optionally split across blocks.
//!
//! Views never materialize: Unfold, Shift, Split/Merge and Stride are index arithmetic in the
//! loads of the consuming kernel, with the zero-padding guard. f32 loads and an f32
//! accumulator. Index arithmetic is `int` when every extent is small and `long long` otherwise.
//! Shift offsets are reduced modulo their extent and every size is a literal, so no
//! intermediate overflows.

use crate::contraction::Contraction;
use crate::error::{Error, Result};
use crate::schedule::{Schedule, StageSchedule};
use crate::stage::{StageIr, operand_name};
use kas_primitives::plan::Operand;
use kas_primitives::{Binding, Expr, Iter};
use serde::Serialize;
use std::fmt::Write as _;

/// Threads per block of every generated kernel.
pub const BLOCK: u32 = 256;

/// How to launch one stage's kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelLaunch {
    /// Kernel name in the source (`kas_s0`, …).
    pub name: String,
    /// The stage it computes (a split reduction takes two kernels).
    pub stage: usize,
    /// Operands, in parameter order: `"in"`, `"w1"`, … or `"s0"`, … for earlier stages.
    pub operands: Vec<String>,
    /// Elements of the result.
    pub out_elems: u64,
    /// Blocks (x) to launch.
    pub grid: u32,
    /// Threads per block (x).
    pub block: u32,
    /// Dynamic shared memory in bytes.
    pub shared_bytes: u32,
}

/// The CUDA source of an operator under one binding, and how to run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CudaProgram {
    /// Name of the binding.
    pub binding: String,
    /// The CUDA C source (all kernels, `extern "C"`).
    pub source: String,
    /// One launch per stage, in order; the last writes the output.
    pub kernels: Vec<KernelLaunch>,
    /// Shapes of the input and weights (f32, row-major).
    pub tensor_shapes: Vec<Vec<u64>>,
    /// Shape of the output.
    pub output_shape: Vec<u64>,
    /// Elements of each intermediate stage result (every stage but the last), for the
    /// workspace.
    pub workspace_elems: Vec<u64>,
    /// Whether index arithmetic is 64-bit.
    pub wide_index: bool,
}

impl CudaProgram {
    /// The kernels computing stage `stage` (indices into [`CudaProgram::kernels`]).
    pub fn stage_kernels(&self, stage: usize) -> std::ops::Range<usize> {
        let first = self.kernels.iter().position(|k| k.stage == stage);
        match first {
            Some(f) => {
                f..f + self.kernels[f..]
                    .iter()
                    .take_while(|k| k.stage == stage)
                    .count()
            }
            None => 0..0,
        }
    }

    /// Workspace bytes (f32 intermediates).
    pub fn workspace_bytes(&self) -> u64 {
        self.workspace_elems.iter().sum::<u64>() * 4
    }
}

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

/// The concrete extents of one stage's result and reductions under a binding.
struct StageShape {
    result: Vec<u64>,
    red: Vec<u64>,
}

fn stage_shapes(ir: &StageIr, binding: &Binding) -> Result<Vec<StageShape>> {
    let op = &ir.op;
    let conc = |ds: &[kas_primitives::DimId]| -> Result<Vec<u64>> {
        Ok(op
            .concrete(ds, binding)?
            .into_iter()
            .map(|x| x as u64)
            .collect())
    };
    ir.stages
        .iter()
        .map(|st| {
            Ok(StageShape {
                result: conc(&st.result_dims)?,
                red: conc(&st.summed)?,
            })
        })
        .collect()
}

/// The matrix-product view of every stage under `binding` (`None` for a stage the tiled
/// kernel cannot compute).
pub fn contractions(ir: &StageIr, binding: &Binding) -> Result<Vec<Option<Contraction>>> {
    let shapes = stage_shapes(ir, binding)?;
    Ok(ir
        .stages
        .iter()
        .zip(&shapes)
        .map(|(st, sh)| Contraction::of(st, &sh.result, &sh.red, binding))
        .collect())
}

/// A schedule chosen without timing ([`crate::schedule::heuristic`] per stage).
pub fn heuristic_schedule(ir: &StageIr, binding: &Binding) -> Result<Schedule> {
    Ok(Schedule {
        stages: contractions(ir, binding)?
            .iter()
            .map(|c| crate::schedule::heuristic(c.as_ref()))
            .collect(),
    })
}

/// A schedule with, for each stage, one of its tiled candidates picked by `seed` (the direct
/// kernel where there is none): differential tests cover the tile shapes this way.
pub fn varied_schedule(ir: &StageIr, binding: &Binding, seed: u64) -> Result<Schedule> {
    let mut x = seed;
    Ok(Schedule {
        stages: contractions(ir, binding)?
            .iter()
            .map(|c| {
                let cands = crate::schedule::candidates(c.as_ref());
                // splitmix64
                x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                match cands.len() {
                    0 | 1 => StageSchedule::Direct,
                    n => cands[1 + (z % (n as u64 - 1)) as usize],
                }
            })
            .collect(),
    })
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
    let op = &ir.op;
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
    let tensor_shapes: Vec<Vec<u64>> = (0..op.tensor_count())
        .map(|t| {
            op.concrete(op.tensor_axes(t), binding)
                .map(|v| v.into_iter().map(|x| x as u64).collect())
        })
        .collect::<kas_primitives::Result<_>>()?;
    let shapes = stage_shapes(ir, binding)?;
    let conts = contractions(ir, binding)?;
    // 64-bit indices when 64 times any buffer or reduction space could pass 2^31 - 1: every
    // index, table entry and guard value is bounded by a buffer's size (views only reorder
    // and pad by less than an extent), and a split reduction's partial results take at most
    // 64 copies of a result.
    let numel = |s: &[u64]| s.iter().fold(1u128, |a, &x| a * x as u128);
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
    let wide = biggest * 64 >= (1 << 31) - 1;
    let idx = if wide { "long long" } else { "int" };

    // The layout each stage writes: result positions, outermost first.
    let last = ir.stages.len().saturating_sub(1);
    let mut layouts: Vec<Vec<usize>> = Vec::with_capacity(ir.stages.len());
    for (i, (sched, c)) in schedule.stages.iter().zip(&conts).enumerate() {
        let natural: Vec<usize> = (0..shapes[i].result.len()).collect();
        let layout = match (sched, c) {
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

    let mut src = String::new();
    let _ = writeln!(
        src,
        "// kas: generated CUDA kernels, binding `{}`; f32 in and out; schedule {}.",
        binding.name,
        schedule.label()
    );
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
    let mut kernels: Vec<KernelLaunch> = Vec::new();
    // The kernel whose buffer holds each stage's result.
    let mut producer: Vec<usize> = Vec::with_capacity(ir.stages.len());
    for (i, st) in ir.stages.iter().enumerate() {
        let name = format!("{prefix}_s{i}");
        let shape = &shapes[i];
        // Operands as this stage reads them: buffer name, extents and index per axis.
        let operands: Vec<Access> = st
            .operands
            .iter()
            .zip(&st.index)
            .map(|(o, exprs)| match *o {
                Operand::Tensor(t) => Access {
                    name: operand_name(*o),
                    dims: tensor_shapes[t].clone(),
                    exprs: exprs.clone(),
                },
                Operand::Stage(k) => Access {
                    name: format!("s{}", producer[k]),
                    dims: layouts[k].iter().map(|&p| shapes[k].result[p]).collect(),
                    exprs: layouts[k].iter().map(|&p| exprs[p].clone()).collect(),
                },
            })
            .collect();
        let guards: Vec<(Expr, u64)> = st
            .guards
            .iter()
            .map(|g| (g.expr.clone(), g.bound.eval(binding).unwrap_or(0)))
            .collect();
        let total = numel(&shape.result) as u64;
        let _ = writeln!(src);
        let _ = writeln!(
            src,
            "// stage {i}: result [{}], summing [{}], {}",
            join(&shape.result),
            join(&shape.red),
            schedule.stages[i].label()
        );
        let kern = KernelSource {
            name: &name,
            operands: &operands,
            guards: &guards,
            shape: &shape.result,
            red: &shape.red,
            layout: &layouts[i],
            binding,
            idx,
            ranges: Ranges {
                out: shape.result.clone(),
                red: shape.red.clone(),
            },
        };
        match (&schedule.stages[i], &conts[i]) {
            (StageSchedule::Tiled(t), Some(c)) => {
                let blocks = t.blocks(c);
                if blocks > i32::MAX as u64 {
                    return Err(Error::Lowering {
                        stage: i,
                        reason: format!("tile {} needs {blocks} blocks", t.label()),
                    });
                }
                let partial = t.split_k > 1;
                crate::tiled::emit(&mut src, &kern, c, t);
                kernels.push(KernelLaunch {
                    stage: i,
                    name: name.clone(),
                    operands: operands.iter().map(|a| a.name.clone()).collect(),
                    out_elems: total * t.split_k as u64,
                    grid: blocks as u32,
                    block: t.threads(),
                    shared_bytes: 0,
                });
                if partial {
                    let sum = format!("{name}_sum");
                    crate::tiled::emit_split_sum(&mut src, &sum, total, t.split_k, idx);
                    kernels.push(KernelLaunch {
                        stage: i,
                        name: sum,
                        operands: vec![format!("s{}", kernels.len() - 1)],
                        out_elems: total,
                        grid: total.div_ceil(BLOCK as u64).clamp(1, 65_535 * 32) as u32,
                        block: BLOCK,
                        shared_bytes: 0,
                    });
                }
            }
            _ => {
                emit_direct(&mut src, &kern);
                kernels.push(KernelLaunch {
                    stage: i,
                    name: name.clone(),
                    operands: operands.iter().map(|a| a.name.clone()).collect(),
                    out_elems: total,
                    grid: total.div_ceil(BLOCK as u64).clamp(1, 65_535 * 32) as u32,
                    block: BLOCK,
                    shared_bytes: 0,
                });
            }
        }
        producer.push(kernels.len() - 1);
    }
    let n_kernels = kernels.len();
    Ok(CudaProgram {
        binding: binding.name.clone(),
        source: src,
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
    })
}

fn join(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// One operand as a stage reads it.
pub(crate) struct Access {
    /// Its buffer (kernel parameter) name.
    pub name: String,
    /// Extents of its axes, in memory order.
    pub dims: Vec<u64>,
    /// Index expression of each axis.
    pub exprs: Vec<Expr>,
}

impl Access {
    /// The flat (row-major) index as C.
    pub fn flat(&self, b: &Binding, ranges: &Ranges) -> String {
        let mut flat = String::new();
        for (a, e) in self.exprs.iter().enumerate() {
            let e = c_expr_in(e, b, ranges);
            flat = if a == 0 {
                format!("({e})")
            } else {
                format!("({flat} * {} + ({e}))", self.dims[a])
            };
        }
        if flat.is_empty() {
            flat = "0".into();
        }
        flat
    }
}

/// What every stage kernel's emitter needs.
pub(crate) struct KernelSource<'a> {
    pub name: &'a str,
    pub operands: &'a [Access],
    /// Guards with concrete bounds.
    pub guards: &'a [(Expr, u64)],
    /// Result extents (in result order).
    pub shape: &'a [u64],
    /// Reduction extents.
    pub red: &'a [u64],
    /// The layout the result is written in: result positions, outermost first.
    pub layout: &'a [usize],
    pub binding: &'a Binding,
    /// `int` or `long long`.
    pub idx: &'a str,
    /// The iterators' ranges.
    pub ranges: Ranges,
}

impl KernelSource<'_> {
    /// The kernel's parameter list: the operands (read-only), then `out`.
    pub fn params(&self) -> String {
        let mut params: Vec<String> = self
            .operands
            .iter()
            .map(|a| format!("const float *__restrict__ {}", a.name))
            .collect();
        params.push("float *__restrict__ out".into());
        params.join(", ")
    }

    /// Declares `const idx g<j> = …;` for the guards `which` selects and returns the
    /// condition that all of them hold (`None` when none is selected).
    pub fn guard_code(
        &self,
        indent: &str,
        which: &dyn Fn(usize) -> bool,
        src: &mut String,
    ) -> Option<String> {
        let mut conds = Vec::new();
        for (j, (e, n)) in self.guards.iter().enumerate() {
            if !which(j) {
                continue;
            }
            let e = c_expr_in(e, self.binding, &self.ranges);
            let _ = writeln!(src, "{indent}const {} g{j} = {e};", self.idx);
            conds.push(format!("g{j} >= 0 && g{j} < {n}"));
        }
        (!conds.is_empty()).then(|| conds.join(" && "))
    }

    /// Declares `o<p>` (for the result positions `dims`, the last fastest) from the linear
    /// index `lin`, which is consumed.
    pub fn unflatten(&self, indent: &str, lin: &str, dims: &[usize], src: &mut String) {
        for (q, &p) in dims.iter().enumerate().rev() {
            if q == 0 {
                let _ = writeln!(src, "{indent}const {} o{p} = {lin};", self.idx);
            } else {
                let n = self.shape[p];
                let _ = writeln!(
                    src,
                    "{indent}const {} o{p} = {lin} % {n}; {lin} /= {n};",
                    self.idx
                );
            }
        }
    }

    /// Declares `r<j>` for every reduction from the linear index `lin` (consumed).
    pub fn unflatten_red(&self, indent: &str, lin: &str, src: &mut String) {
        for j in (0..self.red.len()).rev() {
            if j == 0 {
                let _ = writeln!(src, "{indent}const {} r0 = {lin};", self.idx);
            } else {
                let n = self.red[j];
                let _ = writeln!(
                    src,
                    "{indent}const {} r{j} = {lin} % {n}; {lin} /= {n};",
                    self.idx
                );
            }
        }
    }
}

/// The reference kernel: one thread per result element (grid-stride loop) in the order of the
/// layout it writes, the reductions as nested loops, every guard tested before any read.
fn emit_direct(src: &mut String, k: &KernelSource<'_>) {
    let idx = k.idx;
    let total = k.shape.iter().product::<u64>();
    let _ = writeln!(
        src,
        "extern \"C\" __global__ void {}({})",
        k.name,
        k.params()
    );
    let _ = writeln!(src, "{{");
    let _ = writeln!(
        src,
        "    for ({idx} t = ({idx})blockIdx.x * blockDim.x + threadIdx.x; t < ({idx}){total}; t += ({idx})gridDim.x * blockDim.x) {{"
    );
    let _ = writeln!(src, "        {idx} rem = t;");
    // Consecutive threads take consecutive elements of the layout the result is written in.
    k.unflatten("        ", "rem", k.layout, src);
    if k.shape.is_empty() {
        let _ = writeln!(src, "        (void)rem;");
    }
    let _ = writeln!(src, "        float acc = 0.0f;");
    let mut indent = String::from("        ");
    for (j, n) in k.red.iter().enumerate() {
        let _ = writeln!(src, "{indent}for ({idx} r{j} = 0; r{j} < {n}; ++r{j}) {{");
        indent.push_str("    ");
    }
    // Every guard is tested before any operand is read.
    let cond = k.guard_code(&indent, &|_| true, src);
    let factors: Vec<String> = k
        .operands
        .iter()
        .map(|a| format!("{}[{}]", a.name, a.flat(k.binding, &k.ranges)))
        .collect();
    match cond {
        None => {
            let _ = writeln!(src, "{indent}acc += {};", factors.join(" * "));
        }
        Some(c) => {
            let _ = writeln!(src, "{indent}if ({c}) acc += {};", factors.join(" * "));
        }
    }
    for _ in k.red {
        indent.truncate(indent.len() - 4);
        let _ = writeln!(src, "{indent}}}");
    }
    let _ = writeln!(src, "        out[t] = acc;");
    let _ = writeln!(src, "    }}");
    let _ = writeln!(src, "}}");
}

/// An index expression as C with every size a literal under `b`, constant subtrees folded and
/// Shift offsets reduced modulo their extent.
pub fn c_expr(e: &Expr, b: &Binding) -> String {
    c_expr_in(e, b, &Ranges::default())
}

/// The ranges of a kernel's iterators: `o<i>` in `0..out[i]`, `r<j>` in `0..red[j]`.
#[derive(Debug, Clone, Default)]
pub struct Ranges {
    /// Extents of the output iterators.
    pub out: Vec<u64>,
    /// Extents of the reduction iterators.
    pub red: Vec<u64>,
}

impl Ranges {
    /// The inclusive interval of `e`'s values, when every iterator it reads has a range.
    pub fn interval(&self, e: &Expr, b: &Binding) -> Option<(i128, i128)> {
        let ext = |n: u64| (n > 0).then_some((0i128, n as i128 - 1));
        Some(match e {
            Expr::Iter(Iter::Out(i)) => ext(*self.out.get(*i)?)?,
            Expr::Iter(Iter::Red(j)) => ext(*self.red.get(*j)?)?,
            Expr::Const(c) => (*c as i128, *c as i128),
            Expr::Size(s) => {
                let v = s.eval(b)? as i128;
                (v, v)
            }
            Expr::Add(x, y) => {
                let (a, c) = (self.interval(x, b)?, self.interval(y, b)?);
                (a.0 + c.0, a.1 + c.1)
            }
            Expr::Sub(x, y) => {
                let (a, c) = (self.interval(x, b)?, self.interval(y, b)?);
                (a.0 - c.1, a.1 - c.0)
            }
            Expr::Mul(x, y) => {
                let (a, c) = (self.interval(x, b)?, self.interval(y, b)?);
                let p = [a.0 * c.0, a.0 * c.1, a.1 * c.0, a.1 * c.1];
                (*p.iter().min()?, *p.iter().max()?)
            }
            Expr::Div(x, y) => {
                let n = fold(y, b)? as i128;
                let a = self.interval(x, b)?;
                if n <= 0 {
                    return None;
                }
                (a.0.div_euclid(n), a.1.div_euclid(n))
            }
            Expr::Mod(x, y) => {
                let n = fold(y, b)? as i128;
                let a = self.interval(x, b)?;
                if n <= 0 {
                    return None;
                }
                if a.0.div_euclid(n) == a.1.div_euclid(n) {
                    (a.0.rem_euclid(n), a.1.rem_euclid(n))
                } else {
                    (0, n - 1)
                }
            }
        })
    }
}

/// Like [`c_expr`], with the iterators' ranges: a floor division or remainder whose
/// dividend is known non-negative becomes C's `/` or `%`, and a remainder whose dividend
/// spans less than two periods a compare and subtract (or add).
pub fn c_expr_in(e: &Expr, b: &Binding, ranges: &Ranges) -> String {
    if let Some(v) = fold(e, b) {
        return v.to_string();
    }
    let r = |x: &Expr| c_expr_in(x, b, ranges);
    match e {
        Expr::Iter(Iter::Out(i)) => format!("o{i}"),
        Expr::Iter(Iter::Red(j)) => format!("r{j}"),
        Expr::Const(c) => c.to_string(),
        Expr::Size(s) => s.eval(b).unwrap_or(0).to_string(),
        Expr::Add(x, y) => format!("({} + {})", r(x), r(y)),
        Expr::Sub(x, y) => format!("({} - {})", r(x), r(y)),
        Expr::Mul(x, y) => format!("({} * {})", r(x), r(y)),
        Expr::Div(x, y) => match (ranges.interval(x, b), fold(y, b)) {
            (Some((lo, _)), Some(n)) if lo >= 0 && n > 0 => format!("({} / {n})", r(x)),
            _ => format!("KAS_DIV({}, {})", r(x), r(y)),
        },
        Expr::Mod(x, y) => {
            let n = fold(y, b).filter(|&n| n > 0);
            // (i + c) mod n with a constant c: reduce c first so i + c stays small.
            let (text, dividend) = match (&**x, n) {
                (Expr::Add(i, c), Some(n)) if fold(c, b).is_some() => {
                    let c = fold(c, b).unwrap_or(0).rem_euclid(n);
                    let reduced = Expr::Add(i.clone(), Box::new(Expr::Const(c)));
                    (format!("({} + {c})", r(i)), reduced)
                }
                _ => (r(x), (**x).clone()),
            };
            let Some(n) = n else {
                return format!("KAS_MOD({text}, {})", r(y));
            };
            let n128 = n as i128;
            match ranges.interval(&dividend, b) {
                Some((lo, hi)) if lo >= 0 && hi < n128 => text,
                Some((lo, hi)) if lo >= 0 && hi < 2 * n128 => {
                    format!("({text} >= {n} ? {text} - {n} : {text})")
                }
                Some((lo, hi)) if lo >= -n128 && hi < n128 => {
                    format!("({text} < 0 ? {text} + {n} : {text})")
                }
                Some((lo, _)) if lo >= 0 => format!("({text} % {n})"),
                _ => format!("KAS_MOD({text}, {n})"),
            }
        }
    }
}

/// The value of an iterator-free expression, if it fits in an `i64`.
fn fold(e: &Expr, b: &Binding) -> Option<i64> {
    let v: i128 = match e {
        Expr::Iter(_) => return None,
        Expr::Const(c) => *c as i128,
        Expr::Size(s) => s.eval(b)? as i128,
        Expr::Add(x, y) => fold(x, b)? as i128 + fold(y, b)? as i128,
        Expr::Sub(x, y) => fold(x, b)? as i128 - fold(y, b)? as i128,
        Expr::Mul(x, y) => fold(x, b)? as i128 * fold(y, b)? as i128,
        Expr::Div(x, y) => {
            let d = fold(y, b)? as i128;
            if d == 0 {
                return None;
            }
            (fold(x, b)? as i128).div_euclid(d)
        }
        Expr::Mod(x, y) => {
            let d = fold(y, b)? as i128;
            if d == 0 {
                return None;
            }
            (fold(x, b)? as i128).rem_euclid(d)
        }
    };
    i64::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kas_primitives::size::MAX_VARS;

    fn it(i: Iter) -> Box<Expr> {
        Box::new(Expr::Iter(i))
    }

    #[test]
    fn ranges_make_remainders_and_divisions_cheap_only_when_safe() {
        let b = Binding {
            name: "b".into(),
            primary: [0; MAX_VARS],
            coeff: [0; MAX_VARS],
        };
        let ranges = Ranges {
            out: vec![5],
            red: vec![3],
        };
        let c = |x: i64| Box::new(Expr::Const(x));
        // (o0 + r0 - 1 + 1) mod 5: o0 + r0 in [0, 6]: a compare and subtract.
        let shift = Expr::Mod(
            Box::new(Expr::Add(
                Box::new(Expr::Sub(
                    Box::new(Expr::Add(it(Iter::Out(0)), it(Iter::Red(0)))),
                    c(1),
                )),
                c(1),
            )),
            c(5),
        );
        let t = c_expr_in(&shift, &b, &ranges);
        assert!(t.contains(">= 5 ?") && !t.contains("KAS_MOD"), "{t}");
        // Without ranges it stays the Euclidean macro.
        assert!(c_expr(&shift, &b).contains("KAS_MOD"));
        // (o0 - 3) mod 5 may be negative (down to -3): add instead.
        let neg = Expr::Mod(Box::new(Expr::Sub(it(Iter::Out(0)), c(3))), c(5));
        let t = c_expr_in(&neg, &b, &ranges);
        assert!(t.contains("< 0 ?"), "{t}");
        // o0 div 2 with o0 >= 0: plain division; (o0 - 3) div 2: the floor macro.
        let d = Expr::Div(it(Iter::Out(0)), c(2));
        assert_eq!(c_expr_in(&d, &b, &ranges), "(o0 / 2)");
        let d = Expr::Div(Box::new(Expr::Sub(it(Iter::Out(0)), c(3))), c(2));
        assert!(c_expr_in(&d, &b, &ranges).contains("KAS_DIV"));
        // Every rendering evaluates like the expression, over the whole range.
        for e in [&shift, &neg] {
            let (lo, hi) = ranges.interval(e, &b).unwrap();
            for o in 0..5 {
                for r in 0..3 {
                    let v = e.eval(&b, &[o], &[r]) as i128;
                    assert!(lo <= v && v <= hi);
                }
            }
        }
    }
}
