//! The error of the templates job.

use crate::embed::EmbedError;
use crate::profile::ProfileError;

/// Errors mining, loading, calibrating or matching reply templates.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The profile file or its `templates` section is invalid.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The embedder failed or its vectors are unusable.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The `templates` section was written by a newer, incompatible version.
    #[error("templates.format: version `{found}` is newer than this reader (supports {supported}.x): upgrade aurora-router")]
    NewerVersion {
        /// The version in the file.
        found: String,
        /// The major version this reader supports.
        supported: u32,
    },
    /// A pairs or dialogues file cannot be read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A line of a pairs or dialogues file is invalid.
    #[error("{path}:{line}: {reason}")]
    Line {
        /// The file.
        path: String,
        /// The line (1-based).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// There are no pairs to mine, calibrate or evaluate with.
    #[error("{0}: no pairs (need at least one incoming → response pair)")]
    EmptyPairs(String),
    /// The section holds no calibration for the serving model.
    #[error("the templates hold no calibrated threshold for serving model `{model}` (calibrated: [{available}]): run `aurora templates calibrate` with that model, or give a threshold explicitly")]
    NoCalibration {
        /// The serving model.
        model: String,
        /// The models that have one, comma-separated.
        available: String,
    },
    /// The serving embedder's dimension differs from the calibration's.
    #[error("the calibration for `{model}` was made with dimension {calibrated}, but the serving embedder has dimension {serving}")]
    CalibrationDimension {
        /// The serving model.
        model: String,
        /// Dimension recorded in the calibration.
        calibrated: usize,
        /// Dimension of the serving embedder.
        serving: usize,
    },
    /// A query embedding has the wrong dimension.
    #[error("query embedding has dimension {got}, the templates were embedded with dimension {expected}")]
    Dimension {
        /// The serving dimension.
        expected: usize,
        /// The query's dimension.
        got: usize,
    },
    /// A query embedding has a NaN or infinite component, or is all zeros.
    #[error("query embedding is not usable: {0}")]
    InvalidEmbedding(String),
    /// Vectors or an embedder of another model than the one the set was loaded with.
    #[error(
        "embedding model mismatch: the templates were embedded with `{expected}`, got `{got}`"
    )]
    ModelMismatch {
        /// The serving model of the set.
        expected: String,
        /// The model given.
        got: String,
    },
    /// A parameter is out of range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Mining found no pattern with enough support.
    #[error("no template has support ≥ {min_support} among {pairs} pairs: lower --min-support")]
    NoTemplates {
        /// The minimum support asked for.
        min_support: usize,
        /// Number of pairs mined.
        pairs: usize,
    },
    /// Clustering failed.
    #[error("clustering failed: {0}")]
    Cluster(String),
    /// Calibration or evaluation needs the true response's acts and a pair has none.
    #[error(
        "{what}: pair {index} has no `acts` label (calibration and evaluation compare act sets)"
    )]
    MissingLabel {
        /// The file or set.
        what: String,
        /// The pair (0-based).
        index: usize,
    },
}
