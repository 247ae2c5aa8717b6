//! Where embeddings come from: a precomputed `.npy`, a Cactus model, or the mock.

use std::path::PathBuf;

use aurora_router::embed::{CactusEmbedder, Embedder, PrecomputedEmbeddings};
use clap::Args;

use crate::progress;
use crate::CliResult;

/// Embedding source flags shared by the commands that embed a prompt set.
#[derive(Args, Debug, Clone)]
pub struct EmbeddingArgs {
    /// Precomputed embeddings (.npy, float16 or float32), row i = prompt line i.
    #[arg(long, conflicts_with_all = ["model", "mock"])]
    pub embeddings: Option<PathBuf>,
    /// Name of the model that made --embeddings (recorded in the profile).
    #[arg(long, requires = "embeddings")]
    pub embedding_model: Option<String>,
    /// Embed the texts with the Cactus model at this path.
    #[arg(long, conflicts_with = "mock")]
    pub model: Option<PathBuf>,
    /// Embed the texts with the mock Cactus (lexical n-gram hashing).
    #[arg(long)]
    pub mock: bool,
    /// Dimension of the mock's vectors.
    #[arg(long, default_value_t = 384, requires = "mock")]
    pub mock_dim: usize,
}

/// Embeddings for a prompt set, L2-normalised, with the model that made them.
pub struct Embedded {
    /// One row per prompt.
    pub matrix: PrecomputedEmbeddings,
    /// Whether they came from the mock Cactus.
    pub is_mock: bool,
}

impl EmbeddingArgs {
    /// Opens the embedder named by `--model`/`--mock`, if any.
    pub fn embedder(&self) -> CliResult<Option<CactusEmbedder>> {
        Ok(match (&self.model, self.mock) {
            (Some(path), _) => Some(CactusEmbedder::open(path)?),
            (None, true) => Some(CactusEmbedder::mock(self.mock_dim)?),
            (None, false) => None,
        })
    }

    /// Loads or computes one normalised embedding per text.
    pub fn embed_all(&self, texts: &[&str], quiet: bool) -> CliResult<Embedded> {
        if let Some(path) = &self.embeddings {
            let model = self.embedding_model.as_deref().unwrap_or("precomputed");
            let mut m = PrecomputedEmbeddings::load(path, model)?;
            m.check_rows(texts.len())?;
            m.normalize_rows()?;
            return Ok(Embedded {
                matrix: m,
                is_mock: false,
            });
        }
        let Some(embedder) = self.embedder()? else {
            return Err("no embeddings: give --embeddings E.npy, --model PATH or --mock".into());
        };
        let pb = progress::bar(texts.len() as u64, "embedding", quiet);
        let dim = embedder.dim();
        let mut data = Vec::with_capacity(texts.len() * dim);
        for (i, t) in texts.iter().enumerate() {
            let v = embedder
                .embed(t)
                .map_err(|e| format!("prompt line {}: {e}", i + 1))?;
            data.extend_from_slice(&v);
            pb.inc(1);
        }
        pb.finish_and_clear();
        let mut m =
            PrecomputedEmbeddings::from_rows(data, dim, embedder.model_id(), "embedder output")?;
        m.normalize_rows()?;
        Ok(Embedded {
            matrix: m,
            is_mock: embedder.is_mock(),
        })
    }
}
