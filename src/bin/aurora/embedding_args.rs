//! Where embeddings come from: a precomputed `.npy`, a model folder
//! (sentence-transformers → the pure-Rust MiniLM/BERT embedder, else Cactus),
//! or the mock.

use std::path::{Path, PathBuf};

use aurora_router::embed::{
    open_model, CactusEmbedder, Embedder, NpySidecar, PrecomputedEmbeddings,
};
use clap::Args;

use crate::progress;
use crate::CliResult;

/// Embedding source flags shared by the commands that embed a prompt set.
#[derive(Args, Debug, Clone)]
pub struct EmbeddingArgs {
    /// Precomputed embeddings (.npy, float16 or float32), row i = prompt line i;
    /// their model is read from the sidecar E.npy.json that `aurora embed --out` writes.
    #[arg(long, conflicts_with_all = ["model", "mock"])]
    pub embeddings: Option<PathBuf>,
    /// Name of the model that made --embeddings: needed when the .npy has no
    /// sidecar E.npy.json; checked against the sidecar and the profile.
    #[arg(long, requires = "embeddings")]
    pub embedding_model: Option<String>,
    /// Embed the texts with the model at this path: a sentence-transformers
    /// folder (e.g. models/all-MiniLM-L6-v2) or a Cactus model.
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
    pub fn embedder(&self) -> CliResult<Option<Box<dyn Embedder>>> {
        Ok(match (&self.model, self.mock) {
            (Some(path), _) => Some(open_model(path)?),
            (None, true) => Some(Box::new(CactusEmbedder::mock(self.mock_dim)?)),
            (None, false) => None,
        })
    }

    /// Loads or computes one normalised embedding per text.
    pub fn embed_all(&self, texts: &[&str], quiet: bool) -> CliResult<Embedded> {
        if let Some(path) = &self.embeddings {
            let (mut m, sidecar) = load_npy(path, self.embedding_model.as_deref(), None)?;
            m.check_rows(texts.len())?;
            m.normalize_rows()?;
            return Ok(Embedded {
                matrix: m,
                is_mock: sidecar.is_some_and(|s| s.is_mock),
            });
        }
        let Some(embedder) = self.embedder()? else {
            return Err("no embeddings: give --embeddings E.npy, --model PATH or --mock".into());
        };
        let data = embed_rows(embedder.as_ref(), texts, quiet)?;
        let dim = embedder.dim();
        let mut m =
            PrecomputedEmbeddings::from_rows(data, dim, embedder.model_id(), "embedder output")?;
        m.normalize_rows()?;
        Ok(Embedded {
            matrix: m,
            is_mock: embedder.is_mock(),
        })
    }
}

/// Loads `npy` with the model that made it: the one its sidecar
/// (`E.npy.json`) names, which `--embedding-model` (`flag_model`) must then
/// agree with; without a sidecar, `--embedding-model` is required.
/// `profile_model` (the model the reading profile was built with) only
/// makes the error message more helpful. Also checks the sidecar's shape.
pub fn load_npy(
    npy: &Path,
    flag_model: Option<&str>,
    profile_model: Option<&str>,
) -> CliResult<(PrecomputedEmbeddings, Option<NpySidecar>)> {
    let sidecar = NpySidecar::read(npy)?;
    let model = match (&sidecar, flag_model) {
        (Some(s), Some(f)) if s.model != f => {
            return Err(format!(
                "--embedding-model {f}, but {} says --embeddings {} were made by `{}`",
                NpySidecar::path_for(npy).display(),
                npy.display(),
                s.model
            )
            .into())
        }
        (Some(s), _) => s.model.clone(),
        (None, Some(f)) => f.to_string(),
        (None, None) => {
            return Err(format!(
                "--embeddings {}: no sidecar {} names the model that made these rows; give --embedding-model NAME{}",
                npy.display(),
                NpySidecar::path_for(npy).display(),
                profile_model
                    .map(|m| format!(" (the profile was built with `{m}`)"))
                    .unwrap_or_default()
            )
            .into())
        }
    };
    let m = PrecomputedEmbeddings::load(npy, &model)?;
    if let Some(s) = &sidecar {
        s.check(npy, m.rows(), m.dim())?;
    }
    Ok((m, sidecar))
}

/// The model named for `npy`: `--embedding-model` (`flag_model`), else its
/// sidecar's; an error when both are given and differ. `None` when neither
/// names one (the caller decides).
pub fn npy_model_name(npy: &Path, flag_model: Option<&str>) -> CliResult<Option<String>> {
    let sidecar = NpySidecar::read(npy)?;
    match (sidecar, flag_model) {
        (Some(s), Some(f)) if s.model != f => Err(format!(
            "--embedding-model {f}, but {} says --embeddings {} were made by `{}`",
            NpySidecar::path_for(npy).display(),
            npy.display(),
            s.model
        )
        .into()),
        (_, Some(f)) => Ok(Some(f.to_string())),
        (Some(s), None) => Ok(Some(s.model)),
        (None, None) => Ok(None),
    }
}

/// Texts per `embed_batch` call (the progress bar moves between chunks).
const CHUNK: usize = 512;

/// Embeds `texts` in order with a progress bar, in chunks through
/// [`Embedder::embed_batch`] (all cores for the BERT embedder); returns the
/// rows concatenated. Errors name the prompt line.
pub fn embed_rows(embedder: &dyn Embedder, texts: &[&str], quiet: bool) -> CliResult<Vec<f32>> {
    let pb = progress::bar(texts.len() as u64, "embedding", quiet);
    let dim = embedder.dim();
    let mut data = Vec::with_capacity(texts.len() * dim);
    for (c, chunk) in texts.chunks(CHUNK).enumerate() {
        let rows = match embedder.embed_batch(chunk) {
            Ok(rows) => rows,
            Err(_) => {
                // Find the failing line for the message.
                for (i, t) in chunk.iter().enumerate() {
                    embedder
                        .embed(t)
                        .map_err(|e| format!("prompt line {}: {e}", c * CHUNK + i + 1))?;
                }
                return Err("embedding failed".into());
            }
        };
        for v in rows {
            if v.len() != dim {
                return Err(
                    format!("embedder returned dimension {}, expected {dim}", v.len()).into(),
                );
            }
            data.extend_from_slice(&v);
        }
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    Ok(data)
}
