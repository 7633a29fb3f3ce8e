//! A character-level GPT: token and learned position embeddings, pre-LayerNorm blocks of
//! causal multi-head attention and a GELU MLP (4× wide), a final LayerNorm and a linear head.
//! The projections of the families [`GptSlots`] selects are slots: by default each block's fused
//! QKV projection (`[N, T, C] → [N, T, 3C]`); with `proj`, `mlp-up`, `mlp-down` or `all` the
//! attention output projection (`C → C`), the MLP's up (`C → 4C`) and down (`4C → C`)
//! projections, as bias-free linear slots; with `mix` the whole attention sublayer (the token
//! mixing, `[N, T, C] → [N, T, C]`, causal) is one slot per block. Weights start from N(0, 0.02), residual projections
//! from N(0, 0.02/√(2L)), as GPT-2 does.

use super::slot::{Slot, SlotShape};
use super::{Census, GptConfig, GptSlots};
use crate::error::Result;
use tch::nn::{self, Embedding, Init, LayerNorm, Linear, Module, ModuleT, Path};
use tch::{Kind, Tensor};

fn linear(p: Path, c_in: i64, c_out: i64, stdev: f64) -> Linear {
    let cfg = nn::LinearConfig {
        ws_init: Init::Randn { mean: 0.0, stdev },
        bs_init: Some(Init::Const(0.0)),
        bias: true,
    };
    nn::linear(p, c_in, c_out, cfg)
}

/// A projection of a block: a slot, or its original linear layer with bias.
#[derive(Debug)]
enum Dense {
    Slot(Slot),
    Linear(Linear),
}

impl Module for Dense {
    fn forward(&self, xs: &Tensor) -> Tensor {
        match self {
            Dense::Slot(s) => s.forward(xs),
            Dense::Linear(l) => xs.apply(l),
        }
    }
}

/// One projection of block `l` named `name` (`c_in → c_out`, weights from N(0, `stdev`)): a
/// slot when `family` is selected, else a linear layer with bias under `path / name`.
struct Projection<'a> {
    name: &'a str,
    family: GptSlots,
    c_in: i64,
    c_out: i64,
    stdev: f64,
}

fn projection(
    p: &Path,
    bp: &Path,
    l: i64,
    g: &GptConfig,
    census: &mut Census<'_>,
    d: Projection<'_>,
) -> Result<Dense> {
    if !g.slots.holds(d.family) {
        census.other(g.context * d.c_in * d.c_out);
        return Ok(Dense::Linear(linear(bp / d.name, d.c_in, d.c_out, d.stdev)));
    }
    let shape = if g.slots == GptSlots::Qkv {
        SlotShape::Qkv {
            seq: g.context,
            width: g.width,
        }
    } else {
        SlotShape::Linear {
            seq: g.context,
            c_in: d.c_in,
            c_out: d.c_out,
        }
    };
    let name = format!("h{l}.{}", d.name);
    Ok(Dense::Slot(
        census.slot_with_init(p, &name, shape, d.stdev)?,
    ))
}

/// A block's token mixing: the attention of the model (its projections slots or not), or a
/// token-mixing slot in its place.
#[derive(Debug)]
enum Mixer {
    Attention { qkv: Dense, proj: Box<Dense> },
    Slot(Slot),
}

#[derive(Debug)]
struct Block {
    ln1: LayerNorm,
    mixer: Mixer,
    ln2: LayerNorm,
    fc: Dense,
    fc_proj: Dense,
    heads: i64,
    dropout: f64,
}

impl Block {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let p = if train { self.dropout } else { 0.0 };
        let (qkv, proj) = match &self.mixer {
            Mixer::Attention { qkv, proj } => (qkv, proj),
            Mixer::Slot(s) => {
                let x = x + s.forward(&x.apply(&self.ln1)).dropout(p, train);
                return self.mlp(x, train);
            }
        };
        let (b, t, c) = x.size3().expect("GPT activations are [B, T, C]");
        let qkv = qkv.forward(&x.apply(&self.ln1));
        let hd = c / self.heads;
        let split = |i: i64| {
            qkv.narrow(2, i * c, c)
                .reshape([b, t, self.heads, hd])
                .transpose(1, 2)
        };
        let y = Tensor::scaled_dot_product_attention(
            &split(0),
            &split(1),
            &split(2),
            None::<Tensor>,
            p,
            true,
            None,
            false,
        )
        .transpose(1, 2)
        .reshape([b, t, c]);
        let x = x + y.apply(proj.as_ref()).dropout(p, train);
        self.mlp(x, train)
    }

    /// The MLP sublayer with its residual.
    fn mlp(&self, x: Tensor, train: bool) -> Tensor {
        let p = if train { self.dropout } else { 0.0 };
        let m = x
            .apply(&self.ln2)
            .apply(&self.fc)
            .gelu("none")
            .apply(&self.fc_proj);
        &x + m.dropout(p, train)
    }
}

/// The network.
#[derive(Debug)]
pub struct Gpt {
    tok: Embedding,
    pos: Embedding,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    head: Linear,
    dropout: f64,
}

impl Gpt {
    pub(crate) fn new(p: &Path, g: &GptConfig, census: &mut Census<'_>) -> Result<Gpt> {
        let c = g.width;
        let emb = nn::EmbeddingConfig {
            ws_init: Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
            ..Default::default()
        };
        let tok = nn::embedding(p / "tok", g.vocab, c, emb);
        let pos = nn::embedding(p / "pos", g.context, c, emb);
        let resid = 0.02 / (2.0 * g.layers as f64).sqrt();
        let t = g.context;
        let mut blocks = Vec::new();
        let dense = |name, family, c_in, c_out, stdev| Projection {
            name,
            family,
            c_in,
            c_out,
            stdev,
        };
        for l in 0..g.layers {
            let bp = p / format!("h{l}");
            let mixer = if g.slots == GptSlots::Mix {
                let shape = SlotShape::Mix {
                    seq: t,
                    width: c,
                    heads: g.heads,
                };
                Mixer::Slot(census.slot_with_init(p, &format!("h{l}.mix"), shape, resid)?)
            } else {
                let qkv = projection(
                    p,
                    &bp,
                    l,
                    g,
                    census,
                    dense("qkv", GptSlots::Qkv, c, 3 * c, 0.02),
                )?;
                // Attention products (QKᵀ and AV, counted in full).
                census.other(2 * t * t * c);
                let proj = projection(
                    p,
                    &bp,
                    l,
                    g,
                    census,
                    dense("proj", GptSlots::Proj, c, c, resid),
                )?;
                Mixer::Attention {
                    qkv,
                    proj: Box::new(proj),
                }
            };
            let fc = projection(
                p,
                &bp,
                l,
                g,
                census,
                dense("fc", GptSlots::MlpUp, c, 4 * c, 0.02),
            )?;
            let fc_proj = projection(
                p,
                &bp,
                l,
                g,
                census,
                dense("fc_proj", GptSlots::MlpDown, 4 * c, c, resid),
            )?;
            blocks.push(Block {
                ln1: nn::layer_norm(&bp / "ln1", vec![c], Default::default()),
                mixer,
                ln2: nn::layer_norm(&bp / "ln2", vec![c], Default::default()),
                fc,
                fc_proj,
                heads: g.heads,
                dropout: g.dropout,
            });
        }
        census.other(t * c * g.vocab);
        Ok(Gpt {
            tok,
            pos,
            blocks,
            ln_f: nn::layer_norm(p / "ln_f", vec![c], Default::default()),
            head: nn::linear(
                p / "head",
                c,
                g.vocab,
                nn::LinearConfig {
                    ws_init: Init::Randn {
                        mean: 0.0,
                        stdev: 0.02,
                    },
                    bias: false,
                    ..Default::default()
                },
            ),
            dropout: g.dropout,
        })
    }
}

impl ModuleT for Gpt {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let t = xs.size()[1];
        let pos = Tensor::arange(t, (Kind::Int64, xs.device()));
        let mut x = (xs.apply(&self.tok) + pos.apply(&self.pos)).dropout(self.dropout, train);
        for b in &self.blocks {
            x = b.forward_t(&x, train);
        }
        x.apply(&self.ln_f).apply(&self.head)
    }
}
