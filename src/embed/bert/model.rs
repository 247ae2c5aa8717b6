//! The BERT encoder's forward pass (CPU), and mean pooling.
//!
//! Follows Hugging Face `BertModel` (absolute positions, token type 0, exact
//! erf GELU, post-layer-norm) and sentence-transformers' `Pooling`
//! (mean over the attention mask).
//!
//! candle loads the weights and runs every matrix product (its `gemm`
//! kernels); the element-wise steps (bias, residual + layer norm, GELU,
//! masked softmax, pooling) run on plain slices in [`super::kernels`].
//! candle's own element-wise ops hand large tensors to a process-wide
//! thread pool that serialises concurrent callers and spins extra threads:
//! with [`super::MiniLmEmbedder`] already running one batch per core, that
//! pool cost 20 % of the throughput on 2 cores (163 vs 200 texts/s on 300
//! MMLU-Pro questions, `CANDLE_NUM_THREADS=1` being the 200).

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use super::config::BertConfig;
use super::kernels;
use crate::embed::ModelError;

/// A dense layer: `(out, in)` weights for candle's matrix product, the bias
/// as a slice.
struct Dense {
    weight: Tensor,
    bias: Vec<f32>,
}

impl Dense {
    fn load(vb: &VarBuilder, inp: usize, out: usize, scale: f64) -> candle_core::Result<Self> {
        Ok(Self {
            weight: (vb.get((out, inp), "weight")? * scale)?,
            bias: (vb.get(out, "bias")? * scale)?.to_vec1()?,
        })
    }

    /// Concatenates layers with the same input along their outputs.
    fn cat(parts: Vec<Dense>) -> candle_core::Result<Self> {
        let weights: Vec<&Tensor> = parts.iter().map(|d| &d.weight).collect();
        Ok(Self {
            weight: Tensor::cat(&weights, 0)?,
            bias: parts.iter().flat_map(|d| d.bias.iter().copied()).collect(),
        })
    }

    /// `x · Wᵀ + b` for `(rows, in)` rows; returns `(rows, out)` row-major.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Vec<f32>> {
        let mut y = x
            .matmul(&self.weight.t()?)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        kernels::add_row_bias(&mut y, &self.bias);
        Ok(y)
    }
}

/// Layer-norm parameters.
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn load(vb: &VarBuilder, h: usize, eps: f64) -> candle_core::Result<Self> {
        Ok(Self {
            gamma: vb.get(h, "weight")?.to_vec1()?,
            beta: vb.get(h, "bias")?.to_vec1()?,
            eps: eps as f32,
        })
    }

    /// Layer norm in place over rows of the hidden size.
    fn apply(&self, x: &mut [f32]) {
        kernels::layer_norm_rows(x, &self.gamma, &self.beta, self.eps);
    }
}

struct Layer {
    /// Query, key and value in one `(3·hidden, hidden)` projection: one
    /// matrix product per layer instead of three (the query rows are
    /// pre-scaled by 1/√head_dim, see [`Bert::load`]).
    qkv: Dense,
    attn_out: Dense,
    attn_norm: Norm,
    intermediate: Dense,
    output: Dense,
    out_norm: Norm,
}

/// A loaded BERT encoder.
pub(crate) struct Bert {
    /// `(vocab, hidden)` word embeddings, row-major.
    word: Vec<f32>,
    /// `(max_positions, hidden)` position embeddings, row-major.
    position: Vec<f32>,
    /// The embedding of token type 0 (every token here).
    token_type: Vec<f32>,
    emb_norm: Norm,
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
        Self::from_var_builder(vb, c, device).map_err(werr)
    }

    fn from_var_builder(
        vb: VarBuilder,
        c: &BertConfig,
        device: Device,
    ) -> candle_core::Result<Self> {
        // Plain `BertModel` checkpoints prefix every tensor with `bert.`.
        let vb = if vb.contains_tensor("embeddings.word_embeddings.weight") {
            vb
        } else {
            vb.pp("bert")
        };
        let h = c.hidden_size;
        let eps = c.layer_norm_eps;
        let e = vb.pp("embeddings");
        let table = |name: &str, rows: usize| -> candle_core::Result<Vec<f32>> {
            e.pp(name)
                .get((rows, h), "weight")?
                .flatten_all()?
                .to_vec1()
        };
        let word = table("word_embeddings", c.vocab_size)?;
        let position = table("position_embeddings", c.max_position_embeddings)?;
        let mut token_type = table("token_type_embeddings", c.type_vocab_size)?;
        token_type.truncate(h);
        let emb_norm = Norm::load(&e.pp("LayerNorm"), h, eps)?;
        // Scaling the query projection by 1/√head_dim scales q·kᵀ the same
        // way as scaling the scores, on a tensor head_dim wide instead of
        // seq_len wide.
        let q_scale = 1.0 / ((h / c.num_attention_heads) as f64).sqrt();
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            let s = a.pp("self");
            layers.push(Layer {
                qkv: Dense::cat(vec![
                    Dense::load(&s.pp("query"), h, h, q_scale)?,
                    Dense::load(&s.pp("key"), h, h, 1.0)?,
                    Dense::load(&s.pp("value"), h, h, 1.0)?,
                ])?,
                attn_out: Dense::load(&a.pp("output.dense"), h, h, 1.0)?,
                attn_norm: Norm::load(&a.pp("output.LayerNorm"), h, eps)?,
                intermediate: Dense::load(
                    &l.pp("intermediate.dense"),
                    h,
                    c.intermediate_size,
                    1.0,
                )?,
                output: Dense::load(&l.pp("output.dense"), c.intermediate_size, h, 1.0)?,
                out_norm: Norm::load(&l.pp("output.LayerNorm"), h, eps)?,
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

    /// The summed, normalised input embeddings, `(b·s, hidden)`; padding
    /// positions (past a sequence's end) hold token 0.
    fn embeddings(&self, batch: &[&[u32]], s: usize) -> candle_core::Result<Vec<f32>> {
        let h = self.hidden;
        let mut x = vec![0f32; batch.len() * s * h];
        for (seq, rows) in batch.iter().zip(x.chunks_exact_mut(s * h)) {
            for (t, row) in rows.chunks_exact_mut(h).enumerate() {
                let id = seq.get(t).copied().unwrap_or(0) as usize;
                let word = self.word.get(id * h..(id + 1) * h).ok_or_else(|| {
                    candle_core::Error::Msg(format!("token id {id} outside the vocabulary"))
                })?;
                let pos = self.position.get(t * h..(t + 1) * h).ok_or_else(|| {
                    candle_core::Error::Msg(format!("sequence longer than the {t} positions"))
                })?;
                for (((o, w), p), ty) in row.iter_mut().zip(word).zip(pos).zip(&self.token_type) {
                    *o = w + p + ty;
                }
            }
        }
        self.emb_norm.apply(&mut x);
        Ok(x)
    }

    fn forward_pooled(&self, batch: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let b = batch.len();
        let s = batch.iter().map(|x| x.len()).max().unwrap_or(0);
        if b == 0 || s == 0 {
            return Ok(Vec::new());
        }
        let h = self.hidden;
        let rows = |v: Vec<f32>, width: usize| Tensor::from_vec(v, (b * s, width), &self.device);
        let mut x = self.embeddings(batch, s)?;
        for l in &self.layers {
            let xt = rows(x.clone(), h)?;
            // (b·s, 3·hidden) → (3, b, heads, s, head_dim), one copy.
            let qkv = rows(l.qkv.forward(&xt)?, 3 * h)?
                .reshape((b, s, 3, self.heads, self.head_dim))?
                .permute((2, 0, 3, 1, 4))?
                .contiguous()?;
            let (q, k, v) = (qkv.get(0)?, qkv.get(1)?, qkv.get(2)?);
            let mut scores = q.matmul(&k.t()?)?.flatten_all()?.to_vec1::<f32>()?;
            let block = self.heads * s * s;
            for (seq, scores) in batch.iter().zip(scores.chunks_exact_mut(block)) {
                kernels::masked_softmax_rows(scores, s, seq.len());
            }
            let probs = Tensor::from_vec(scores, (b, self.heads, s, s), &self.device)?;
            let ctx = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b * s, h))?;
            let mut a = l.attn_out.forward(&ctx)?;
            kernels::add(&mut a, &x);
            l.attn_norm.apply(&mut a);
            let mut i = l.intermediate.forward(&rows(a.clone(), h)?)?;
            kernels::gelu_erf(&mut i);
            let i = Tensor::from_vec(i, (b * s, l.intermediate.bias.len()), &self.device)?;
            x = l.output.forward(&i)?;
            kernels::add(&mut x, &a);
            l.out_norm.apply(&mut x);
        }

        // Mean pooling over the attention mask (each sequence's own tokens).
        Ok(batch
            .iter()
            .zip(x.chunks_exact(s * h))
            .map(|(seq, rows)| {
                let n = seq.len().min(s);
                let mut sum = vec![0f32; h];
                for row in rows.chunks_exact(h).take(n) {
                    kernels::add(&mut sum, row);
                }
                sum.iter_mut().for_each(|v| *v /= n as f32);
                sum
            })
            .collect())
    }
}
