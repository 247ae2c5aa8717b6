//! Which backend a `--model DIR` path needs, and opening it: a
//! sentence-transformers folder runs on the pure-Rust BERT embedder (feature
//! `bert`), anything else is handed to Cactus.

use std::path::{Path, PathBuf};

use super::{CactusEmbedder, EmbedError, Embedder};

/// Errors of a sentence-transformers model folder (the `bert` embedder).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file the folder must hold is missing (a partial download).
    #[error("{}: missing {file}: a sentence-transformers folder needs config.json, model.safetensors, tokenizer.json, modules.json and the pooling config (run scripts/fetch-minilm.sh)", dir.display())]
    MissingFile {
        /// The model folder.
        dir: PathBuf,
        /// The missing file, relative to the folder.
        file: String,
    },
    /// A file exists but cannot be read or parsed.
    #[error("{}: {reason}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// `config.json` describes another architecture than BERT.
    #[error("{}: model_type is {got:?}, expected \"bert\" (only BERT encoders such as all-MiniLM-L6-v2 are supported)", path.display())]
    NotBert {
        /// The config file.
        path: PathBuf,
        /// Its `model_type` (or `architectures`).
        got: String,
    },
    /// The folder asks for something this embedder does not implement
    /// (another pooling, activation or position embedding type).
    #[error("{}: unsupported {what}", path.display())]
    Unsupported {
        /// The file that asks for it.
        path: PathBuf,
        /// What is not supported.
        what: String,
    },
    /// A weights file has another sha256 than expected.
    #[error("{}: sha256 is {got}, expected {expected} (corrupt or different weights; re-run scripts/fetch-minilm.sh)", path.display())]
    Checksum {
        /// The weights file.
        path: PathBuf,
        /// The expected digest (hex).
        expected: String,
        /// The actual digest (hex).
        got: String,
    },
    /// The weights do not match the config (a tensor missing or misshapen).
    #[error("{}: weights do not fit config.json: {reason}", path.display())]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// candle's message.
        reason: String,
    },
    /// The tokenizer failed on a text.
    #[error("tokenizer: {0}")]
    Tokenize(String),
    /// The forward pass failed (an internal error, never bad input).
    #[error("BERT forward pass: {0}")]
    Compute(String),
    /// The folder is a sentence-transformers model but this build has no
    /// `bert` feature.
    #[error("{}: is a sentence-transformers model folder, but this build lacks the `bert` feature (rebuild with --features bert)", dir.display())]
    FeatureDisabled {
        /// The model folder.
        dir: PathBuf,
    },
}

/// The backend a model path needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// A sentence-transformers folder (BERT encoder + pooling): the
    /// pure-Rust MiniLM/BERT embedder.
    SentenceTransformers,
    /// Anything else: a Cactus model (the mock on hosts without Cactus).
    Cactus,
}

impl ModelKind {
    /// A short name: `"bert"` or `"cactus"`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::SentenceTransformers => "bert",
            ModelKind::Cactus => "cactus",
        }
    }
}

/// Files whose presence marks a sentence-transformers folder.
const ST_MARKERS: [&str; 3] = ["modules.json", "sentence_bert_config.json", "config.json"];

/// Decides which backend `path` needs, from the folder's contents, and says
/// why. A directory holding `modules.json`, `sentence_bert_config.json` or a
/// `config.json` is a sentence-transformers folder (whether it is complete is
/// checked when it is opened); anything else goes to Cactus.
///
/// ```
/// use aurora_router::embed::{detect_model, ModelKind};
/// let dir = tempfile::tempdir().unwrap();
/// assert_eq!(detect_model(dir.path()).0, ModelKind::Cactus);
/// std::fs::write(dir.path().join("modules.json"), "[]").unwrap();
/// let (kind, why) = detect_model(dir.path());
/// assert_eq!(kind, ModelKind::SentenceTransformers);
/// assert!(why.contains("modules.json"));
/// ```
pub fn detect_model(path: &Path) -> (ModelKind, String) {
    if path.is_dir() {
        if let Some(m) = ST_MARKERS.iter().find(|m| path.join(m).is_file()) {
            return (
                ModelKind::SentenceTransformers,
                format!("the folder holds {m}: a sentence-transformers model, run by the pure-Rust BERT embedder"),
            );
        }
        return (
            ModelKind::Cactus,
            "a folder without modules.json or config.json: a Cactus model".into(),
        );
    }
    (
        ModelKind::Cactus,
        "not a sentence-transformers folder: handed to Cactus".into(),
    )
}

/// Opens the embedder for the model at `path`, picking the backend with
/// [`detect_model`]: a sentence-transformers folder (e.g. all-MiniLM-L6-v2
/// from `scripts/fetch-minilm.sh`) runs on [`MiniLmEmbedder`](super::MiniLmEmbedder)
/// (feature `bert`), anything else on [`CactusEmbedder`].
///
/// ```no_run
/// let e = aurora_router::embed::open_model("models/all-MiniLM-L6-v2")?;
/// assert_eq!(e.model_id(), "all-MiniLM-L6-v2");
/// assert_eq!(e.embed("hello")?.len(), 384);
/// # Ok::<(), aurora_router::embed::EmbedError>(())
/// ```
pub fn open_model(path: impl AsRef<Path>) -> Result<Box<dyn Embedder>, EmbedError> {
    let path = path.as_ref();
    match detect_model(path).0 {
        ModelKind::SentenceTransformers => open_sentence_transformers(path),
        ModelKind::Cactus => Ok(Box::new(CactusEmbedder::open(path)?)),
    }
}

#[cfg(feature = "bert")]
fn open_sentence_transformers(path: &Path) -> Result<Box<dyn Embedder>, EmbedError> {
    Ok(Box::new(super::MiniLmEmbedder::open(path)?))
}

#[cfg(not(feature = "bert"))]
fn open_sentence_transformers(path: &Path) -> Result<Box<dyn Embedder>, EmbedError> {
    Err(ModelError::FeatureDisabled {
        dir: path.to_path_buf(),
    }
    .into())
}
