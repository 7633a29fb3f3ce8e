//! A character-level GPT: token and learned position embeddings, pre-LayerNorm blocks of
//! causal multi-head attention and a GELU MLP (4× wide), a final LayerNorm and a linear head.
//! Each block's fused QKV projection (`[N, T, C] → [N, T, 3C]`) is a slot. Weights start from
//! N(0, 0.02), residual projections from N(0, 0.02/√(2L)), as GPT-2 does.

use super::slot::{Slot, SlotShape};
use super::{Census, GptConfig};
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

#[derive(Debug)]
struct Block {
    ln1: LayerNorm,
    qkv: Slot,
    proj: Linear,
    ln2: LayerNorm,
    fc: Linear,
    fc_proj: Linear,
    heads: i64,
    dropout: f64,
}

impl Block {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let (b, t, c) = x.size3().expect("GPT activations are [B, T, C]");
        let qkv = self.qkv.forward(&x.apply(&self.ln1));
        let hd = c / self.heads;
        let split = |i: i64| {
            qkv.narrow(2, i * c, c)
                .reshape([b, t, self.heads, hd])
                .transpose(1, 2)
        };
        let p = if train { self.dropout } else { 0.0 };
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
        let x = x + y.apply(&self.proj).dropout(p, train);
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
        for l in 0..g.layers {
            let bp = p / format!("h{l}");
            let qkv = census.slot(p, &format!("h{l}.qkv"), SlotShape::Qkv { seq: t, width: c })?;
            // Attention products (QKᵀ and AV, counted in full), projection, MLP.
            census.other(2 * t * t * c + t * c * c + 8 * t * c * c);
            blocks.push(Block {
                ln1: nn::layer_norm(&bp / "ln1", vec![c], Default::default()),
                qkv,
                proj: linear(&bp / "proj", c, c, resid),
                ln2: nn::layer_norm(&bp / "ln2", vec![c], Default::default()),
                fc: linear(&bp / "fc", c, 4 * c, 0.02),
                fc_proj: linear(&bp / "fc_proj", 4 * c, c, resid),
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
