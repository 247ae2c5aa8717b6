//! A pure-Rust sentence-transformers embedder for BERT models such as
//! all-MiniLM-L6-v2 (feature `bert`): WordPiece tokenization truncated at
//! the model's `max_seq_length`, the BERT encoder on candle (CPU), mean
//! pooling over the attention mask and L2 normalisation, as
//! sentence-transformers does.

mod config;
mod kernels;
mod model;
mod tokenize;

use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::{check_finite, l2_normalize, EmbedError, Embedder, ModelError};
use config::FolderConfig;
use model::Bert;
use tokenize::WordPiece;

/// The sha256 of all-MiniLM-L6-v2's `model.safetensors` as
/// `scripts/fetch-minilm.sh` installs it (for [`MiniLmEmbedder::open_verified`]).
pub const MINILM_L6_V2_SHA256: &str =
    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";

/// Most texts per forward pass in [`Embedder::embed_batch`] (after sorting
/// by length, so that padding stays small).
const BATCH: usize = 64;

/// Most padded tokens per forward pass. Memory grows with batch × length²
/// (the attention scores, heads × len × len floats per text): 32 texts
/// padded to 256 tokens held ~100 MB per score tensor, and two passes in
/// flight took the process to 733 MB. 2,048 tokens is 8 texts at 256 (25 MB
/// of scores) and still 64 short texts at 32 tokens.
const TOKEN_BUDGET: usize = 2048;

/// Splits `order` (indices sorted by decreasing length) into batches of at
/// most [`BATCH`] texts and [`TOKEN_BUDGET`] padded tokens (a longer text
/// than the budget goes alone).
fn token_batches(order: &[usize], len: impl Fn(usize) -> usize) -> Vec<&[usize]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < order.len() {
        // Sorted by decreasing length: the first text sets the padding.
        let longest = len(order[start]).max(1);
        let n = (TOKEN_BUDGET / longest).clamp(1, BATCH);
        let end = (start + n).min(order.len());
        out.push(&order[start..end]);
        start = end;
    }
    out
}

/// An [`Embedder`] running a sentence-transformers BERT folder (e.g.
/// all-MiniLM-L6-v2) in pure Rust.
///
/// The folder must hold `config.json` (`model_type` `"bert"`),
/// `model.safetensors`, `tokenizer.json`, `modules.json` (Transformer,
/// Pooling, optionally Normalize) and the pooling config (mean pooling).
/// Texts longer than `max_seq_length` tokens (from
/// `sentence_bert_config.json`: 256 for all-MiniLM-L6-v2, [CLS] and [SEP]
/// included) are **truncated**, as sentence-transformers does: only their
/// beginning is embedded. The model id is the folder's name
/// (`models/all-MiniLM-L6-v2` → `all-MiniLM-L6-v2`, the name the shared
/// `.npy` files are recorded with).
///
/// ```no_run
/// use aurora_router::embed::{Embedder, MiniLmEmbedder};
/// let e = MiniLmEmbedder::open("models/all-MiniLM-L6-v2")?;
/// let v = e.embed("How do I reset my password?")?;
/// assert_eq!(v.len(), 384);
/// let rows = e.embed_batch(&["first text", "second text"])?;
/// assert_eq!(rows.len(), 2);
/// # Ok::<(), aurora_router::embed::EmbedError>(())
/// ```
pub struct MiniLmEmbedder {
    bert: Bert,
    tokenizer: WordPiece,
    config: FolderConfig,
    model_id: String,
    dir: PathBuf,
}

impl std::fmt::Debug for MiniLmEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLmEmbedder")
            .field("model_id", &self.model_id)
            .field("dir", &self.dir)
            .field("dim", &self.config.bert.hidden_size)
            .field("max_seq_length", &self.config.max_seq_length)
            .finish()
    }
}

impl MiniLmEmbedder {
    /// Opens a sentence-transformers folder; the model id is the folder's
    /// name.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, EmbedError> {
        let dir = dir.as_ref();
        let name = std::fs::canonicalize(dir)
            .ok()
            .and_then(|p| p.file_name().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.to_string_lossy().into_owned());
        Self::open_with_id(dir, &name)
    }

    /// Opens a sentence-transformers folder with an explicit model id.
    pub fn open_with_id(dir: impl AsRef<Path>, model_id: &str) -> Result<Self, EmbedError> {
        let dir = dir.as_ref();
        let config = FolderConfig::load(dir)?;
        let tokenizer = WordPiece::load(&config.tokenizer, config.max_seq_length)?;
        let bert = Bert::load(&config.weights, &config.bert)?;
        Ok(Self {
            bert,
            tokenizer,
            config,
            model_id: model_id.to_string(),
            dir: dir.to_path_buf(),
        })
    }

    /// Like [`open`](Self::open), after checking that `model.safetensors`
    /// has the sha256 `expected` (hex), e.g. [`MINILM_L6_V2_SHA256`]. Hashing
    /// reads the whole weights file once (~0.3 s for all-MiniLM-L6-v2).
    pub fn open_verified(dir: impl AsRef<Path>, expected: &str) -> Result<Self, EmbedError> {
        let dir = dir.as_ref();
        let weights = dir.join("model.safetensors");
        if !weights.is_file() {
            return Err(ModelError::MissingFile {
                dir: dir.to_path_buf(),
                file: "model.safetensors".into(),
            }
            .into());
        }
        let got = sha256_file(&weights)?;
        if !got.eq_ignore_ascii_case(expected) {
            return Err(ModelError::Checksum {
                path: weights,
                expected: expected.to_string(),
                got,
            }
            .into());
        }
        Self::open(dir)
    }

    /// Tokens kept per text ([CLS] and [SEP] included); longer texts are
    /// truncated.
    pub fn max_seq_length(&self) -> usize {
        self.config.max_seq_length
    }

    /// The model folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of tokens `text` is embedded with (after truncation).
    pub fn token_count(&self, text: &str) -> Result<usize, EmbedError> {
        Ok(self.tokenizer.encode(text)?.len())
    }

    fn finish(&self, row: usize, mut v: Vec<f32>) -> Result<Vec<f32>, EmbedError> {
        if self.config.normalize {
            l2_normalize(&mut v);
        }
        check_finite(&self.model_id, row, &v)?;
        Ok(v)
    }
}

/// Hex sha256 of a file.
fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let bad = |e: std::io::Error| ModelError::BadFile {
        path: path.to_path_buf(),
        reason: format!("cannot read: {e}"),
    };
    let mut f = std::fs::File::open(path).map_err(bad)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(bad)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

impl Embedder for MiniLmEmbedder {
    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let ids = self.tokenizer.encode(text)?;
        let mut rows = self.bert.embed_ids(&[&ids])?;
        let v = rows.pop().ok_or(ModelError::Compute("no output".into()))?;
        self.finish(0, v)
    }

    /// Embeds the texts sorted by token count in batches of at most 64 texts
    /// and 2,048 padded tokens (padded to the batch's longest), the batches
    /// in parallel on all cores; rows come back in the input order.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let ids: Vec<Vec<u32>> = texts
            .par_iter()
            .map(|t| self.tokenizer.encode(t))
            .collect::<Result<_, _>>()?;
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let batches: Vec<Vec<Vec<f32>>> = token_batches(&order, |i| ids[i].len())
            .into_par_iter()
            .map(|chunk| {
                let seqs: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
                self.bert.embed_ids(&seqs)
            })
            .collect::<Result<_, _>>()?;
        let mut out = vec![Vec::new(); texts.len()];
        for (&i, v) in order.iter().zip(batches.into_iter().flatten()) {
            out[i] = self.finish(i, v)?;
        }
        Ok(out)
    }

    fn dim(&self) -> usize {
        self.config.bert.hidden_size
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn is_mock(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_the_token_budget_and_keep_every_text() {
        let lens = [256, 256, 200, 40, 30, 30, 12, 3, 3];
        let order: Vec<usize> = (0..lens.len()).collect();
        let b = token_batches(&order, |i| lens[i]);
        assert_eq!(b.concat(), order);
        for batch in &b {
            assert!(batch.len() * lens[batch[0]] <= TOKEN_BUDGET && batch.len() <= BATCH);
        }
        // 8 texts padded to 256 fill the budget; the last one goes on its own.
        assert_eq!(b, vec![&order[..8], &order[8..]]);
        // One text over the budget still gets a batch of its own.
        let long = [5000, 10];
        assert_eq!(
            token_batches(&[0, 1], |i| long[i]),
            vec![&[0][..], &[1][..]]
        );
    }
}
