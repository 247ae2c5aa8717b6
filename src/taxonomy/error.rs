//! The error of the taxonomy job.

use std::path::PathBuf;

/// Errors building, reading, annotating or testing a taxonomy.
#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    /// A parameter (CLI flag) is out of its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter's name, as the CLI flag.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Fewer points than `floor`: nothing to cluster.
    #[error("{n} points is fewer than --floor {floor}: too few to build a taxonomy")]
    TooFewPoints {
        /// Points given.
        n: usize,
        /// The floor.
        floor: usize,
    },
    /// Every embedding is the same vector: there is no structure to find.
    #[error("all {0} embeddings are identical: there is nothing to cluster")]
    IdenticalEmbeddings(usize),
    /// A vector or matrix has the wrong dimension or row count.
    #[error("dimension mismatch in {what}: expected {expected}, got {got}")]
    DimensionMismatch {
        /// What was checked (e.g. `embeddings`, `query`).
        what: String,
        /// The expected size.
        expected: usize,
        /// The size found.
        got: usize,
    },
    /// Embeddings come from another model than the tree's.
    #[error("embedding model mismatch: the taxonomy was built with `{expected}`, got `{got}`")]
    ModelMismatch {
        /// The tree's embedding model.
        expected: String,
        /// The given embeddings' model.
        got: String,
    },
    /// A label field asked for is not on a prompt line.
    #[error("{path}:{line}: unknown label field `{field}` (not on this line)")]
    UnknownLabelField {
        /// The prompts file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The field.
        field: String,
    },
    /// An annotations file does not match the tree (or the prompts/results).
    #[error("{path}:{line}: annotation does not match the tree: {reason}")]
    AnnotationMismatch {
        /// The annotations file.
        path: PathBuf,
        /// 1-based line (0 for the file as a whole).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A file is malformed.
    #[error("{path}:{line}: {reason}")]
    Input {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 for the file as a whole).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The embedder failed.
    #[error(transparent)]
    Embed(#[from] crate::embed::EmbedError),
    /// The profile container or the section is invalid.
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
    /// Clustering failed.
    #[cfg(feature = "builder")]
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    /// A prompts / results file is invalid.
    #[cfg(feature = "builder")]
    #[error(transparent)]
    Dataset(#[from] crate::dataset::DatasetError),
}

impl TaxonomyError {
    #[cfg_attr(not(feature = "builder"), allow(dead_code))]
    pub(crate) fn param(name: &'static str, reason: impl Into<String>) -> Self {
        TaxonomyError::InvalidParam {
            name,
            reason: reason.into(),
        }
    }
}
