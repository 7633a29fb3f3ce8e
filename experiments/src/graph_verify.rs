//! `kas graph verify`: sampled graph kernels' backends against the f64 interpreter — the tch
//! path (`kas_eval::graph_plan`) and the CUDA programs (`kas_codegen::graph`), on a GPU or,
//! on the CPU, through the host emulation of CUDA (`kas_codegen::emulate`).

use crate::Verdict;
use crate::cli::{Device, GraphVerifyArgs};
use crate::runs::out_dir;
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use kas_codegen::cuda::CudaProgram;
use kas_codegen::emulate::run_many;
use kas_codegen::graph::{GraphProgram, LinearSchedule, generate_graph, program_tensors};
use kas_eval::graph_plan::run_graph;
use kas_eval::tch_plan::cuda_available;
use kas_eval::{gpu::Gpu, nvrtc};
use kas_graph::interp::{evaluate, f32_sensitivity, random_weights};
use kas_graph::sample::{SampleConfig, Slot, sample_on};
use kas_graph::{GraphKernel, write_graph};
use kas_primitives::format::read_text;
use kas_primitives::{Spec, Tensor};
use rayon::prelude::*;
use serde_json::json;
use std::sync::OnceLock;

/// Tolerance of the f32 backends against the f64 interpreter (`docs/ARCHITECTURE.md`,
/// "Tolerance").
const F32_TOL: f64 = 1e-4;

/// An output that misses [`F32_TOL`] still passes within this many times the kernel's own
/// f32 sensitivity at the binding ([`f32_sensitivity`]: how far the exact output moves when
/// the data move by one f32 rounding), measured over this many draws.
const CONDITION_FACTOR: f64 = 10.0;
const SENSITIVITY_DRAWS: u64 = 3;

/// Most descents tried per kernel asked for before giving up on distinct ones.
const DESCENTS_PER_KERNEL: usize = 64;

/// Runs `kas graph verify`.
pub fn run(a: GraphVerifyArgs) -> anyhow::Result<Verdict> {
    if a.count == 0 {
        bail!("--count must be at least 1");
    }
    if a.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let path = a.spec.display().to_string();
    let spec = Spec::read(&read_text(&a.spec)?, &path)?;
    let slot = Slot::from_spec(&spec)?;
    kas_eval::precision::f32_means_f32();
    let gpu = match a.device {
        Device::Cuda => {
            let g = Gpu::open(0)?;
            if !cuda_available() {
                bail!(
                    "libtorch sees no CUDA device although the driver does: this kas was built without TORCH_RPATH (see docs/ARCHITECTURE.md, Building for a GPU)"
                );
            }
            Some(g)
        }
        Device::Cpu => {
            kas_codegen::emulate::cxx()?;
            None
        }
    };
    let nvrtc_ok = nvrtc::available().is_ok();
    let (graphs, descents) = distinct_kernels(&slot, a.count, a.seed, &spec.name)?;
    let out = out_dir(a.out.as_deref(), "graph-verify")?;
    let dev = if gpu.is_some() {
        tch::Device::Cuda(0)
    } else {
        tch::Device::Cpu
    };
    let bar = ProgressBar::new(graphs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix("graph verify");
    let mut failures: Vec<Option<String>> = vec![None; graphs.len()];
    let mut fused = (0usize, 0usize, 0usize);
    let mut checks = 0usize;
    let mut causal_checks = 0usize;
    // CPU: programs waiting for the host emulation, with what each is checked against.
    let mut pending: Vec<Pending> = Vec::new();
    // The CPU half of every check (interpreter, code generation, NVRTC) on all cores first;
    // then the tch path and the GPU (or the queue for the emulation), one kernel at a time.
    let prep_bar = ProgressBar::new(graphs.len() as u64);
    prep_bar.set_style(bar.style());
    prep_bar.set_prefix("graph verify: interpreter and NVRTC");
    let prepared: Vec<Result<Vec<Prepared>, String>> = graphs
        .par_iter()
        .enumerate()
        .map(|(i, g)| {
            let p = prepare(i, g, a.seed, gpu.is_some(), nvrtc_ok);
            prep_bar.inc(1);
            p
        })
        .collect();
    prep_bar.finish_and_clear();
    let mut ill_conditioned: Vec<Vec<String>> = vec![Vec::new(); graphs.len()];
    for ((i, g), p) in graphs.iter().enumerate().zip(&prepared) {
        bar.set_message(g.name.clone());
        let outcome = p.as_ref().map_err(Clone::clone).and_then(|p| {
            checks += p.len();
            check_graph(i, g, p, gpu.as_ref(), dev, &mut pending, &mut fused)
        });
        match outcome {
            Ok(notes) => ill_conditioned[i] = notes,
            Err(why) => failures[i] = Some(why),
        }
        if let (Some(axis), None) = (slot.causal_axis(), &failures[i]) {
            failures[i] = causal_failure(g, axis);
            causal_checks += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if gpu.is_none() {
        let prepared: Vec<Vec<Prepared>> = prepared
            .into_iter()
            .map(|p| p.unwrap_or_default())
            .collect();
        emulate(
            &graphs,
            &prepared,
            &pending,
            a.batch,
            &out,
            &mut failures,
            &mut ill_conditioned,
        )?;
    }
    let mut results = Vec::new();
    for ((g, f), ill) in graphs.iter().zip(&failures).zip(&ill_conditioned) {
        if let Some(reason) = f {
            let file = out.join(format!("{}.ron", g.name));
            std::fs::write(&file, write_graph(g, reason)?)
                .with_context(|| format!("cannot write {}", file.display()))?;
            println!("MISMATCH {}: {reason} (saved {})", g.name, file.display());
        }
        results.push(
            json!({"kernel": g.name, "equal": f.is_none(), "reason": f, "ill_conditioned": ill}),
        );
    }
    let equal = failures.iter().filter(|f| f.is_none()).count();
    let backends = match &gpu {
        Some(g) => format!(
            "tch path on CUDA (f32), CUDA programs (linear nodes reference, heuristic tiled and varied tiled; element-wise nodes fused) on {} (sm_{}{})",
            g.name, g.sm.0, g.sm.1
        ),
        None => format!(
            "tch path on the CPU (f32), CUDA programs (linear nodes reference, heuristic tiled or varied tiled in turn; element-wise nodes fused) on the host emulation of CUDA{}",
            if nvrtc_ok {
                ", each also compiled by NVRTC"
            } else {
                " (NVRTC not found: not compiled for a GPU)"
            }
        ),
    };
    let ill: Vec<&str> = graphs
        .iter()
        .zip(&ill_conditioned)
        .zip(&failures)
        .filter(|((_, notes), f)| !notes.is_empty() && f.is_none())
        .map(|((g, _), _)| g.name.as_str())
        .collect();
    let line = if ill.is_empty() {
        format!("{equal}/{} equal", graphs.len())
    } else {
        format!(
            "{equal}/{} equal ({} of them only within {CONDITION_FACTOR} times their f32 sensitivity, their output cancelling: {})",
            graphs.len(),
            ill.len(),
            ill.join(", ")
        )
    };
    let causal = if slot.causal_axis().is_some() {
        format!(
            "; {causal_checks} kernels checked causal (statically, and numerically on the smallest binding)"
        )
    } else {
        String::new()
    };
    let fusions = format!(
        "fusions: {} element-wise nodes into epilogues, {} into prologues, {} separate element-wise kernels",
        fused.0, fused.1, fused.2
    );
    let report = json!({
        "device": match a.device { Device::Cuda => "cuda", Device::Cpu => "cpu" },
        "spec": path,
        "seed": a.seed,
        "descents": descents,
        "backends": backends,
        "checks": checks,
        "ill_conditioned": ill,
        "fusions": fusions,
        "results": results,
        "summary": line,
    });
    let summary = format!(
        "{} graph kernels sampled from {path} ({descents} descents, seed {}), {checks} kernel-binding checks{causal}; {fusions}; report in {}",
        graphs.len(),
        a.seed,
        out.display()
    );
    let text = [format!("backends: {backends}"), summary, line];
    crate::verify::finish(&out, &report, a.json, &text, equal == graphs.len())
}

/// Why kernel `g` of a causal slot is not causal along `axis`: the static check
/// ([`kas_graph::causal::check_causal`]), then the numeric one on the binding with the fewest
/// input elements (outputs at positions `≤ t` unchanged when the input's later positions
/// change, for every `t`); `None` when both pass.
fn causal_failure(g: &GraphKernel, axis: usize) -> Option<String> {
    if let Err(e) = kas_graph::causal::check_causal(g, axis) {
        return Some(e.to_string());
    }
    let size = |b: &kas_primitives::Binding| {
        g.concrete(g.input(), b)
            .map(|s| s.iter().product::<usize>())
            .unwrap_or(usize::MAX)
    };
    let b = g.bindings.iter().min_by_key(|b| size(b))?;
    match kas_graph::causal::leak_at(g, b, axis, 1) {
        Ok(0.0) => None,
        Ok(leak) => Some(format!(
            "position t reads later positions: outputs up to t change by {leak:.3e} (binding {})",
            b.name
        )),
        Err(e) => Some(format!("causality test: {e}")),
    }
}

/// `count` distinct kernels (fewer only if many descents find no more), and the descents run.
fn distinct_kernels(
    slot: &Slot,
    count: usize,
    seed: u64,
    prefix: &str,
) -> anyhow::Result<(Vec<GraphKernel>, usize)> {
    let cfg = SampleConfig::default();
    let mut descents = 2 * count;
    loop {
        let r = sample_on(0, slot, &cfg, descents, seed, prefix)?;
        if r.kernels.len() >= count || descents >= DESCENTS_PER_KERNEL * count {
            if r.kernels.is_empty() {
                bail!("the sampler found no legal kernel in {descents} descents");
            }
            let gs = r.kernels.into_iter().take(count).map(|(g, _)| g).collect();
            return Ok((gs, descents));
        }
        descents *= 4;
    }
}

/// A program run later on the host emulation: kernel `graph`'s prepared check `check`.
struct Pending {
    graph: usize,
    check: usize,
    program: usize,
}

fn round_f32(t: Tensor) -> Tensor {
    Tensor {
        data: t.data.iter().map(|&v| v as f32 as f64).collect(),
        shape: t.shape,
    }
}

/// The seed of kernel `i`'s tensors under binding `j`.
fn tensor_seed(seed: u64, i: usize, j: usize) -> u64 {
    seed.wrapping_mul(1_000_003)
        .wrapping_add(64 * i as u64 + 2 * j as u64)
}

fn within(got: &Tensor, want: &Tensor) -> Result<(), f64> {
    if got.shape != want.shape {
        return Err(f64::INFINITY);
    }
    let e = got.rel_err(want);
    if e.is_nan() || e > F32_TOL {
        Err(e)
    } else {
        Ok(())
    }
}

/// One kernel-binding check, prepared off the GPU: the random input and weights (rounded to
/// f32), the interpreter's output and the CUDA programs to compare with it (already compiled
/// by NVRTC, so that the serial part only loads them from the cache).
struct Prepared {
    binding: usize,
    x: Tensor,
    w: Vec<Vec<Tensor>>,
    want: Tensor,
    tensors: Vec<Tensor>,
    programs: Vec<(&'static str, GraphProgram)>,
    /// The kernel's f32 sensitivity here, computed for the first output that misses `want`.
    sensitivity: OnceLock<Result<f64, String>>,
}

impl Prepared {
    /// Whether `got` (an output of kernel `g` under this binding) passes: `Ok(None)` when it
    /// equals the interpreter's output within the tolerance, `Ok(Some(figures))` when it misses but
    /// stays within [`CONDITION_FACTOR`] times the kernel's own f32 sensitivity here (an
    /// ill-conditioned kernel: its output cancels, and data within one f32 rounding of these
    /// have exact outputs as far apart), `Err` the errors otherwise.
    fn check(&self, g: &GraphKernel, got: &Tensor) -> Result<Option<String>, String> {
        let Err(e) = within(got, &self.want) else {
            return Ok(None);
        };
        let sensitivity = self.sensitivity.get_or_init(|| {
            f32_sensitivity(
                g,
                &g.bindings[self.binding],
                &self.x,
                &self.w,
                &self.want,
                SENSITIVITY_DRAWS,
                0x5e75 + self.binding as u64,
            )
            .map_err(|e| e.to_string())
        });
        match sensitivity {
            Ok(s) if e <= CONDITION_FACTOR * s => Ok(Some(format!(
                "err {e:.2e}, the kernel's f32 sensitivity here {s:.2e}"
            ))),
            Ok(s) => Err(format!(
                "err {e:.2e} (the kernel's f32 sensitivity here is {s:.2e})"
            )),
            Err(why) => Err(format!("err {e:.2e} (sensitivity: {why})")),
        }
    }

    fn binding_name<'g>(&self, g: &'g GraphKernel) -> &'g str {
        &g.bindings[self.binding].name
    }
}

/// Prepares kernel `i`'s checks under each binding (pure CPU work, run for all kernels in
/// parallel): every schedule on a GPU, one in turn on the CPU. `Err` names the first failure.
fn prepare(
    i: usize,
    g: &GraphKernel,
    seed: u64,
    on_gpu: bool,
    nvrtc_ok: bool,
) -> Result<Vec<Prepared>, String> {
    let mut out = Vec::with_capacity(g.bindings.len());
    for (j, b) in g.bindings.iter().enumerate() {
        let s = tensor_seed(seed, i, j);
        let shape = g.concrete(g.input(), b).map_err(|e| e.to_string())?;
        let x = round_f32(Tensor::random(&shape, s));
        let w: Vec<Vec<Tensor>> = random_weights(g, b, s + 1)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|ws| ws.into_iter().map(round_f32).collect())
            .collect();
        let want = evaluate(g, b, &x, &w).map_err(|e| format!("interpreter: {e}"))?;
        let schedules = if on_gpu {
            vec![
                LinearSchedule::Direct,
                LinearSchedule::Heuristic,
                LinearSchedule::Varied(s),
            ]
        } else {
            vec![match (i + j) % 3 {
                0 => LinearSchedule::Direct,
                1 => LinearSchedule::Heuristic,
                _ => LinearSchedule::Varied(s),
            }]
        };
        let mut programs = Vec::with_capacity(schedules.len());
        for sched in schedules {
            let label = match sched {
                LinearSchedule::Direct => "reference",
                LinearSchedule::Heuristic => "heuristic",
                LinearSchedule::Varied(_) => "varied",
            };
            let gp = generate_graph(g, b, sched).map_err(|e| format!("CUDA generation: {e}"))?;
            // On the CPU this is the check that the program compiles (PTX and sm_90 CUBIN); on
            // a GPU it only fills the NVRTC cache `Gpu::run` then reads, so it is skipped
            // when the cache is off (the run would compile again).
            let warm = on_gpu && nvrtc::NvrtcCache::standard().dir().is_some();
            if nvrtc_ok && (!on_gpu || warm) {
                nvrtc::compile(&g.name, &gp.program.source, !on_gpu).map_err(|e| e.to_string())?;
            }
            programs.push((label, gp));
        }
        let tensors = program_tensors(&x, &w);
        out.push(Prepared {
            binding: j,
            x,
            w,
            want,
            tensors,
            programs,
            sensitivity: OnceLock::new(),
        });
    }
    Ok(out)
}

/// Runs kernel `i`'s prepared checks: the tch path now, the CUDA programs now on a GPU or
/// queued for the emulation. `Ok` lists the outputs that passed only within their conditioning;
/// `Err` names the first disagreement.
fn check_graph(
    i: usize,
    g: &GraphKernel,
    prepared: &[Prepared],
    gpu: Option<&Gpu>,
    dev: tch::Device,
    pending: &mut Vec<Pending>,
    fused: &mut (usize, usize, usize),
) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    for (k, p) in prepared.iter().enumerate() {
        let b = &g.bindings[p.binding];
        let got = run_graph(g, b, &p.x, &p.w, dev, tch::Kind::Float).map_err(|e| e.to_string())?;
        let what = format!("tch path under `{}`", b.name);
        if let Some(n) = p.check(g, &got).map_err(|e| format!("{what}: {e}"))? {
            notes.push(format!("{what}: {n}"));
        }
        for (n, (label, gp)) in p.programs.iter().enumerate() {
            fused.0 += gp.epilogue_fused;
            fused.1 += gp.prologue_fused;
            fused.2 += gp.elementwise_kernels;
            match gpu {
                Some(dev) => {
                    let got = dev
                        .run(&g.name, &gp.program, &p.tensors)
                        .map_err(|e| e.to_string())?;
                    let what = format!("CUDA ({label}) under `{}`", b.name);
                    if let Some(n) = p.check(g, &got).map_err(|e| format!("{what}: {e}"))? {
                        notes.push(format!("{what}: {n}"));
                    }
                }
                None => pending.push(Pending {
                    graph: i,
                    check: k,
                    program: n,
                }),
            }
        }
    }
    Ok(notes)
}

/// Runs the queued programs on the host emulation, `batch` per compilation (a batch that
/// fails is rerun one program at a time to find which), recording the first failure of each
/// kernel and the kernels that passed only within their conditioning.
fn emulate(
    graphs: &[GraphKernel],
    prepared: &[Vec<Prepared>],
    pending: &[Pending],
    batch: usize,
    out: &std::path::Path,
    failures: &mut [Option<String>],
    ill_conditioned: &mut [Vec<String>],
) -> anyhow::Result<()> {
    let dir = out.join("emulation");
    let bar = ProgressBar::new(pending.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix("CUDA on the CPU");
    let todo: Vec<&Pending> = pending
        .iter()
        .filter(|p| failures[p.graph].is_none())
        .collect();
    for chunk in todo.chunks(batch) {
        let checks: Vec<(&Prepared, &'static str, &CudaProgram)> = chunk
            .iter()
            .map(|p| {
                let c = &prepared[p.graph][p.check];
                let (label, gp) = &c.programs[p.program];
                (c, *label, &gp.program)
            })
            .collect();
        let items: Vec<(&CudaProgram, &[Tensor])> = checks
            .iter()
            .map(|&(c, _, prog)| (prog, &c.tensors[..]))
            .collect();
        let outcomes: Vec<Result<Tensor, String>> = match run_many(&items, &dir) {
            Ok(outs) => outs.into_iter().map(Ok).collect(),
            Err(_) => items
                .iter()
                .map(|&(p, t)| {
                    run_many(&[(p, t)], &dir)
                        .map(|mut v| v.remove(0))
                        .map_err(|e| e.to_string())
                })
                .collect(),
        };
        for ((p, (c, label, _)), o) in chunk.iter().zip(checks).zip(outcomes) {
            let g = &graphs[p.graph];
            let what = format!("CUDA on the CPU ({label}) under `{}`", c.binding_name(g));
            match o.and_then(|got| c.check(g, &got)) {
                Ok(None) => {}
                Ok(Some(n)) => ill_conditioned[p.graph].push(format!("{what}: {n}")),
                Err(e) => {
                    if failures[p.graph].is_none() {
                        failures[p.graph] = Some(format!("{what}: {e}"));
                    }
                }
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
