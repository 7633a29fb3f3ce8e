//! Timing graph kernels (a graph campaign's candidates) as operators are timed: a request whose
//! `graph` flag is set carries a `kas-graph` file, and each binding is compiled (on the CPU the
//! graph's tch path, on a GPU its CUDA program from `kas_codegen::graph::generate_graph`),
//! validated at a small batch against the f64 interpreter (`kas_graph::interp`), then timed
//! against the baseline. What a binding's run needs of its subject, operator or graph kernel,
//! is [`Subject`].

use super::protocol::Sampler;
use super::roofline::Work;
use super::worker::TimingTarget;
use crate::error::Result;
use kas_graph::GraphKernel;
use kas_graph::interp::{evaluate, random_weights};
use kas_primitives::{Binding, Operator, Tensor, VarTable};

/// What a timing request times: an operator or a graph kernel.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A complete operator.
    Operator(&'a Operator),
    /// A graph kernel.
    Graph(&'a GraphKernel),
}

impl Subject<'_> {
    /// Its variables.
    pub fn vars(&self) -> &VarTable {
        match self {
            Subject::Operator(op) => &op.vars,
            Subject::Graph(g) => &g.vars,
        }
    }

    /// Input and output shapes under `b`.
    pub fn shapes(&self, b: &Binding) -> Result<(Vec<usize>, Vec<usize>)> {
        Ok(match self {
            Subject::Operator(op) => (op.concrete(&op.input, b)?, op.concrete(&op.outputs, b)?),
            Subject::Graph(g) => (g.concrete(g.input(), b)?, g.concrete(g.output, b)?),
        })
    }

    /// Its work under `b`, when known (an operator's; a graph kernel has none).
    pub fn work(&self, b: &Binding) -> Result<Option<Work>> {
        match self {
            Subject::Operator(op) => Ok(Some(Work::of(op, b)?)),
            Subject::Graph(_) => Ok(None),
        }
    }

    /// The binding `b` with the batch variable `N` (if there is one) capped at `batch`.
    pub fn small_batch(&self, b: &Binding, batch: u64) -> Binding {
        let mut v = b.clone();
        if let Some((kas_primitives::size::VarKind::Primary, i)) = self.vars().lookup("N") {
            v.primary[i] = v.primary[i].min(batch.max(1));
        }
        v
    }

    /// Compiles it on `target` under `b`.
    pub fn compile(
        &self,
        target: &mut dyn TimingTarget,
        name: &str,
        b: &Binding,
        seed: u64,
    ) -> Result<Box<dyn Sampler>> {
        match self {
            Subject::Operator(op) => target.compile(name, op, b, seed),
            Subject::Graph(g) => target.compile_graph(name, g, b, seed),
        }
    }

    /// Validates it on `target` under `b` (a small batch).
    pub fn validate(
        &self,
        target: &mut dyn TimingTarget,
        name: &str,
        b: &Binding,
        seed: u64,
    ) -> Result<(f64, String)> {
        match self {
            Subject::Operator(op) => target.validate(name, op, b, seed),
            Subject::Graph(g) => target.validate_graph(name, g, b, seed),
        }
    }
}

fn round_f32(t: Tensor) -> Tensor {
    Tensor {
        data: t.data.iter().map(|&v| v as f32 as f64).collect(),
        shape: t.shape,
    }
}

/// Seeded input and weights of `g` under `b`, rounded to f32 (so the f64 interpreter sees what
/// an f32 backend sees), and the interpreter's output on them.
pub fn graph_case(
    g: &GraphKernel,
    b: &Binding,
    seed: u64,
) -> Result<(Tensor, Vec<Vec<Tensor>>, Tensor)> {
    let x = round_f32(Tensor::random(&g.concrete(g.input(), b)?, seed));
    let w: Vec<Vec<Tensor>> = random_weights(g, b, seed.wrapping_add(1))?
        .into_iter()
        .map(|ws| ws.into_iter().map(round_f32).collect())
        .collect();
    let want = evaluate(g, b, &x, &w)?;
    Ok((x, w, want))
}
