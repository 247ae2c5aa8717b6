//! The embedder backed by a Cactus model (or the mock Cactus).

use std::path::Path;
use std::sync::Mutex;

use cactus_sys::CactusModel;

use super::{check_finite, EmbedError, Embedder};

/// An [`Embedder`] running a Cactus embedding model through `cactus-sys`.
///
/// A Cactus model must not be called from two threads at once, so the model
/// sits behind a mutex: the embedder is `Send + Sync` and calls are
/// serialised. Vectors are L2-normalised by Cactus.
///
/// ```
/// # if cactus_sys::is_mock() {
/// use aurora_router::embed::{CactusEmbedder, Embedder};
/// let e = CactusEmbedder::mock(384).unwrap();
/// let v = e.embed("How do I reset my password?").unwrap();
/// assert_eq!(v.len(), 384);
/// assert!(e.is_mock());
/// # }
/// ```
pub struct CactusEmbedder {
    model: Mutex<CactusModel>,
    dim: usize,
    model_id: String,
}

impl std::fmt::Debug for CactusEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CactusEmbedder")
            .field("model_id", &self.model_id)
            .field("dim", &self.dim)
            .field("is_mock", &cactus_sys::is_mock())
            .finish()
    }
}

impl CactusEmbedder {
    /// Opens the Cactus model at `path` and probes its embedding dimension.
    ///
    /// The model id is the last component of the path (e.g. the model
    /// folder's name), prefixed with `cactus-mock/` when the mock is linked.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, EmbedError> {
        let path = path.as_ref();
        let model = CactusModel::open(path)?;
        let dim = model.embedding_dim()?;
        let name = path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_string_lossy().into_owned());
        Ok(Self::with_model(model, dim, name))
    }

    /// Opens the mock Cactus's built-in lexical model of dimension `dim`
    /// (hashed word and character n-grams). Fails with
    /// [`EmbedError::MockUnavailable`] when this build links the real Cactus.
    pub fn mock(dim: usize) -> Result<Self, EmbedError> {
        if !cactus_sys::is_mock() {
            return Err(EmbedError::MockUnavailable(cactus_sys::link_info()));
        }
        let model = CactusModel::open(format!("mock:{dim}"))?;
        let dim = model.embedding_dim()?;
        Ok(Self::with_model(model, dim, format!("ngram-d{dim}")))
    }

    fn with_model(model: CactusModel, dim: usize, name: String) -> Self {
        let model_id = if cactus_sys::is_mock() {
            format!("cactus-mock/{name}")
        } else {
            name
        };
        Self {
            model: Mutex::new(model),
            dim,
            model_id,
        }
    }
}

impl Embedder for CactusEmbedder {
    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        if text.trim().is_empty() {
            return Err(EmbedError::EmptyText);
        }
        // A poisoned lock only means another thread panicked mid-call; the
        // model handle itself is still valid.
        let model = self.model.lock().unwrap_or_else(|p| p.into_inner());
        let v = model.embed(text, true)?;
        drop(model);
        if v.len() != self.dim {
            return Err(EmbedError::Dimension {
                expected: self.dim,
                got: v.len(),
            });
        }
        check_finite(&self.model_id, 0, &v)?;
        Ok(v)
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn is_mock(&self) -> bool {
        cactus_sys::is_mock()
    }
}
