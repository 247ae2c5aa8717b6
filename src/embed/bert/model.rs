//! The BERT encoder's forward pass on candle (CPU), and mean pooling.
//!
//! Follows Hugging Face `BertModel` (absolute positions, token type 0, exact
//! erf GELU, post-layer-norm) and sentence-transformers' `Pooling`
//! (mean over the attention mask).

use std::path::Path;

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{embedding, layer_norm, linear, Embedding, LayerNorm, Linear, VarBuilder};

use super::config::BertConfig;
use crate::embed::ModelError;

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

/// A loaded BERT encoder.
pub(crate) struct Bert {
    word: Embedding,
    position: Embedding,
    token_type: Tensor,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    hidden: usize,
    device: Device,
}

fn compute(e: candle_core::Error) -> ModelError {
    ModelError::Compute(e.to_string())
}

impl Bert {
    /// Loads the weights (`model.safetensors`, memory-mapped while loading).
    pub(crate) fn load(weights: &Path, c: &BertConfig) -> Result<Self, ModelError> {
        let device = Device::Cpu;
        let werr = |e: candle_core::Error| ModelError::Weights {
            path: weights.to_path_buf(),
            reason: e.to_string(),
        };
        // SAFETY: the file is mapped read-only while the tensors are copied
        // out of it; it must not be truncated meanwhile (as with any mmap).
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &device) }
            .map_err(werr)?;
        // Plain `BertModel` checkpoints prefix every tensor with `bert.`.
        let vb = if vb.contains_tensor("embeddings.word_embeddings.weight") {
            vb
        } else {
            vb.pp("bert")
        };
        let h = c.hidden_size;
        let eps = c.layer_norm_eps;
        let e = vb.pp("embeddings");
        let word = embedding(c.vocab_size, h, e.pp("word_embeddings")).map_err(werr)?;
        let position =
            embedding(c.max_position_embeddings, h, e.pp("position_embeddings")).map_err(werr)?;
        let token_type = e
            .pp("token_type_embeddings")
            .get((c.type_vocab_size, h), "weight")
            .and_then(|t| t.get(0))
            .map_err(werr)?;
        let emb_norm = layer_norm(h, eps, e.pp("LayerNorm")).map_err(werr)?;
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            layers.push(Layer {
                query: linear(h, h, a.pp("self.query")).map_err(werr)?,
                key: linear(h, h, a.pp("self.key")).map_err(werr)?,
                value: linear(h, h, a.pp("self.value")).map_err(werr)?,
                attn_out: linear(h, h, a.pp("output.dense")).map_err(werr)?,
                attn_norm: layer_norm(h, eps, a.pp("output.LayerNorm")).map_err(werr)?,
                intermediate: linear(h, c.intermediate_size, l.pp("intermediate.dense"))
                    .map_err(werr)?,
                output: linear(c.intermediate_size, h, l.pp("output.dense")).map_err(werr)?,
                out_norm: layer_norm(h, eps, l.pp("output.LayerNorm")).map_err(werr)?,
            });
        }
        Ok(Self {
            word,
            position,
            token_type,
            emb_norm,
            layers,
            heads: c.num_attention_heads,
            head_dim: h / c.num_attention_heads,
            hidden: h,
            device,
        })
    }

    /// Embeds a batch of token id sequences (each non-empty, at most
    /// `max_position_embeddings` long): returns one mean-pooled vector per
    /// sequence (not normalised), row-major.
    pub(crate) fn embed_ids(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.forward_pooled(batch).map_err(compute)
    }

    fn forward_pooled(&self, batch: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let b = batch.len();
        let s = batch.iter().map(|x| x.len()).max().unwrap_or(0);
        if b == 0 || s == 0 {
            return Ok(Vec::new());
        }
        let mut ids = vec![0u32; b * s];
        let mut mask = vec![0f32; b * s];
        for (r, seq) in batch.iter().enumerate() {
            ids[r * s..r * s + seq.len()].copy_from_slice(seq);
            mask[r * s..r * s + seq.len()]
                .iter_mut()
                .for_each(|m| *m = 1.0);
        }
        let ids = Tensor::from_vec(ids, (b, s), &self.device)?;
        let mask = Tensor::from_vec(mask, (b, s), &self.device)?;

        let positions = Tensor::arange(0u32, s as u32, &self.device)?;
        let mut x = self
            .word
            .forward(&ids)?
            .broadcast_add(&self.position.forward(&positions)?)?
            .broadcast_add(&self.token_type)?;
        x = self.emb_norm.forward(&x)?;

        // 0 where a key is a real token, a large negative number on padding.
        let bias = ((mask.clone() - 1.0)? * 1e9)?.reshape((b, 1, 1, s))?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let split = |t: Tensor| -> candle_core::Result<Tensor> {
            t.reshape((b, s, self.heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        for l in &self.layers {
            let q = split(l.query.forward(&x)?)?;
            let k = split(l.key.forward(&x)?)?;
            let v = split(l.value.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let ctx =
                probs
                    .matmul(&v)?
                    .transpose(1, 2)?
                    .contiguous()?
                    .reshape((b, s, self.hidden))?;
            let a = l.attn_norm.forward(&(l.attn_out.forward(&ctx)? + &x)?)?;
            let i = l.intermediate.forward(&a)?.gelu_erf()?;
            x = l.out_norm.forward(&(l.output.forward(&i)? + &a)?)?;
        }

        // Mean pooling over the attention mask.
        let m = mask.unsqueeze(D::Minus1)?;
        let sum = x.broadcast_mul(&m)?.sum(1)?;
        let count = m.sum(1)?;
        sum.broadcast_div(&count)?.to_vec2::<f32>()
    }
}
