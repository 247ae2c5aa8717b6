//! Text → vector: the [`Embedder`] trait and its implementations.
//!
//! * [`CactusEmbedder`] runs a Cactus embedding model through `cactus-sys`
//!   (the real engine on ARM devices, the deterministic C mock on x86 hosts).
//! * [`PrecomputedEmbeddings`] holds vectors computed elsewhere, loaded from
//!   a `.npy` file (float16 or float32).
//! * [`MiniLmEmbedder`] (feature `bert`) runs a sentence-transformers BERT
//!   folder such as all-MiniLM-L6-v2 in pure Rust.
//! * [`open_model`] picks the backend a model path needs.

#[cfg(feature = "bert")]
mod bert;
mod cactus;
mod model_dir;
mod precomputed;
mod sidecar;

#[cfg(feature = "bert")]
pub use bert::{MiniLmEmbedder, MINILM_L6_V2_SHA256};
pub use cactus::CactusEmbedder;
pub use model_dir::{detect_model, open_model, ModelError, ModelKind};
pub use precomputed::PrecomputedEmbeddings;
pub use sidecar::NpySidecar;

use std::path::PathBuf;

/// Errors of the embedding layer.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The Cactus engine (or its mock) failed.
    #[error(transparent)]
    Cactus(#[from] cactus_sys::CactusError),
    /// `--mock` was asked for but this build links the real Cactus library.
    #[error("the mock Cactus backend is not linked in this build (linked: {0})")]
    MockUnavailable(&'static str),
    /// The text to embed is empty or only whitespace.
    #[error("cannot embed empty text")]
    EmptyText,
    /// A `.npy` file could not be read or is not what it should be.
    #[error("{path}: {reason}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An embedding has a component that is NaN or infinite.
    #[error("{source_name}: row {row}, column {col} is not finite ({value})")]
    NonFinite {
        /// Where the vector came from (a file or an embedder).
        source_name: String,
        /// Row index (0-based).
        row: usize,
        /// Column index (0-based).
        col: usize,
        /// The offending value.
        value: f32,
    },
    /// The number of embedding rows differs from the number of prompts.
    #[error(
        "{path}: has {got} rows but there are {expected} prompts (row i must embed prompt line i)"
    )]
    RowCount {
        /// The file.
        path: PathBuf,
        /// Number of prompts.
        expected: usize,
        /// Number of rows in the file.
        got: usize,
    },
    /// A vector has the wrong dimension.
    #[error("embedding has dimension {got}, expected {expected}")]
    Dimension {
        /// Dimension expected.
        expected: usize,
        /// Dimension received.
        got: usize,
    },
    /// A sentence-transformers model folder is missing, partial or
    /// unsupported, or its model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A row index is out of range.
    #[error("row {row} is out of range: there are {rows} rows")]
    RowOutOfRange {
        /// Requested row.
        row: usize,
        /// Number of rows.
        rows: usize,
    },
}

/// Something that turns text into a fixed-dimension embedding.
///
/// Implementations must be deterministic for a given model and report which
/// model they run ([`model_id`](Embedder::model_id)) and whether it is the
/// mock Cactus backend ([`is_mock`](Embedder::is_mock)): a router profile
/// records both, and routing refuses an embedder that does not match the
/// profile it was built with.
///
/// ```
/// use aurora_router::embed::{EmbedError, Embedder};
///
/// /// A toy embedder: counts vowels and consonants.
/// struct Letters;
/// impl Embedder for Letters {
///     fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
///         if text.trim().is_empty() {
///             return Err(EmbedError::EmptyText);
///         }
///         let v = text.chars().filter(|c| "aeiou".contains(*c)).count() as f32;
///         let c = text.chars().filter(|c| c.is_alphabetic()).count() as f32 - v;
///         Ok(vec![v, c])
///     }
///     fn dim(&self) -> usize { 2 }
///     fn model_id(&self) -> &str { "letters" }
///     fn is_mock(&self) -> bool { false }
/// }
///
/// let e = Letters;
/// assert_eq!(e.embed("banana").unwrap(), vec![3.0, 3.0]);
/// assert_eq!(e.embed_batch(&["a", "b"]).unwrap().len(), 2);
/// assert!(e.embed("  ").is_err());
/// ```
pub trait Embedder: Send + Sync {
    /// Embeds one text. Empty text is an error, never a zero vector.
    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError>;

    /// Embeds several texts, in order. The default calls [`embed`](Embedder::embed) for each.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        texts.iter().map(|t| self.embed(t)).collect()
    }

    /// Dimension of the vectors this embedder returns.
    fn dim(&self) -> usize;

    /// Identifier of the embedding model (recorded in profiles as `embedding_model`).
    fn model_id(&self) -> &str;

    /// Whether the vectors come from the mock Cactus backend.
    fn is_mock(&self) -> bool;
}

/// A boxed embedder is an embedder: `open_model` returns one, and every API
/// that takes `&dyn Embedder` accepts `&boxed` through this impl.
impl<E: Embedder + ?Sized> Embedder for Box<E> {
    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        (**self).embed(text)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        (**self).embed_batch(texts)
    }

    fn dim(&self) -> usize {
        (**self).dim()
    }

    fn model_id(&self) -> &str {
        (**self).model_id()
    }

    fn is_mock(&self) -> bool {
        (**self).is_mock()
    }
}

/// Checks that every component of `v` is finite.
pub(crate) fn check_finite(source_name: &str, row: usize, v: &[f32]) -> Result<(), EmbedError> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(col) => Err(EmbedError::NonFinite {
            source_name: source_name.to_string(),
            row,
            col,
            value: v[col],
        }),
    }
}

/// L2-normalises `v` in place; returns its original norm.
pub fn l2_normalize(v: &mut [f32]) -> f32 {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    norm
}
