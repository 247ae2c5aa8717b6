//! The outcome of routing one query.

use crate::profile::ModelInfo;

/// Models whose soft-assignment expected errors are kept inline (no heap).
pub const INLINE_MODELS: usize = 16;

/// Which models may be chosen: all, a bit set on the stack (≤ 128 models),
/// or a heap bit set (more than 128 models with a subset — the only case
/// where a subset allocates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ModelMask {
    All,
    Small([u64; 2]),
    Large(Vec<u64>),
}

impl ModelMask {
    pub(crate) fn empty(models: usize) -> Self {
        if models <= 128 {
            ModelMask::Small([0; 2])
        } else {
            ModelMask::Large(vec![0; models.div_ceil(64)])
        }
    }

    pub(crate) fn insert(&mut self, m: usize) {
        match self {
            ModelMask::All => {}
            ModelMask::Small(b) => b[m / 64] |= 1 << (m % 64),
            ModelMask::Large(b) => b[m / 64] |= 1 << (m % 64),
        }
    }

    #[inline]
    pub(crate) fn contains(&self, m: usize) -> bool {
        match self {
            ModelMask::All => true,
            ModelMask::Small(b) => b.get(m / 64).is_some_and(|w| w >> (m % 64) & 1 == 1),
            ModelMask::Large(b) => b.get(m / 64).is_some_and(|w| w >> (m % 64) & 1 == 1),
        }
    }
}

/// Per-model expected errors behind a decision.
#[derive(Debug, Clone)]
pub(crate) enum Errors<'r> {
    /// A row of the router's K × M table (hard assignment) or its global rates.
    Borrowed(&'r [f64]),
    /// Soft assignment with ≤ [`INLINE_MODELS`] models.
    Inline {
        buf: [f64; INLINE_MODELS],
        len: usize,
    },
    /// Soft assignment with more models.
    Heap(Vec<f64>),
}

impl Errors<'_> {
    #[inline]
    pub(crate) fn as_slice(&self) -> &[f64] {
        match self {
            Errors::Borrowed(s) => s,
            Errors::Inline { buf, len } => &buf[..*len],
            Errors::Heap(v) => v,
        }
    }
}

/// What the expected errors of a decision were computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Basis {
    /// The nearest cluster's error rates (hard assignment).
    Hard,
    /// A similarity-weighted mix of the `clusters` nearest clusters.
    Soft {
        /// Number of clusters mixed (`top_k` clamped to the cluster count).
        clusters: usize,
    },
    /// No confident cluster: the models' global error rates, and the
    /// configured fallback model if there is one.
    Fallback,
}

/// The model chosen for one query, and why.
///
/// Borrowed from the [`Router`](super::Router) (`'r`): the model's name and
/// path are not copied, and with hard assignment neither are the expected
/// errors.
#[derive(Clone)]
pub struct RouteDecision<'r> {
    pub(crate) models: &'r [ModelInfo],
    pub(crate) model: usize,
    pub(crate) cluster: usize,
    pub(crate) similarity: f32,
    pub(crate) confidence: f32,
    pub(crate) basis: Basis,
    pub(crate) errors: Errors<'r>,
    pub(crate) mask: ModelMask,
}

impl<'r> RouteDecision<'r> {
    /// The chosen model.
    pub fn model(&self) -> &'r ModelInfo {
        &self.models[self.model]
    }

    /// Index of the chosen model in the profile's `models`.
    pub fn model_index(&self) -> usize {
        self.model
    }

    /// Name of the chosen model.
    pub fn model_name(&self) -> &'r str {
        &self.models[self.model].name
    }

    /// The chosen model's path on the device (`path` in the profile), if given.
    pub fn model_path(&self) -> Option<&'r str> {
        self.models[self.model].path()
    }

    /// The nearest cluster (reported even when the decision fell back).
    pub fn cluster(&self) -> usize {
        self.cluster
    }

    /// Cosine similarity of the query to the nearest cluster's centroid,
    /// in `[−1, 1]`.
    pub fn similarity(&self) -> f32 {
        self.similarity
    }

    /// Confidence in the nearest cluster, in `(0, 1]`: its softmax
    /// probability over *all* clusters at the options' temperature,
    /// `1 / Σ_c exp((s_c − s_max) / T)`. It is 1 with a single cluster,
    /// about `1/n` when `n` clusters are equally near, and close to 1 when
    /// the nearest centroid is more than a few temperatures nearer than the
    /// next one.
    pub fn confidence(&self) -> f32 {
        self.confidence
    }

    /// Whether the query had a confident cluster (confidence ≥
    /// `min_confidence` and similarity ≥ `min_similarity`). When `false`,
    /// the model is the fallback: the configured one, or the pick of the same
    /// trade-off over the models' global error rates.
    pub fn is_confident(&self) -> bool {
        self.basis != Basis::Fallback
    }

    /// What the expected errors were computed from.
    pub fn basis(&self) -> Basis {
        self.basis
    }

    /// The expected error of *every* model of the profile, indexed like
    /// [`Router::models`](super::Router::models): the nearest cluster's row
    /// (hard), the weighted mix (soft) or the global rates (fallback).
    /// Models outside the allowed subset are still reported (so a caller can
    /// see what it gave up) but were never candidates: see
    /// [`is_allowed`](Self::is_allowed) and [`candidates`](Self::candidates).
    pub fn expected_errors(&self) -> &[f64] {
        self.errors.as_slice()
    }

    /// The chosen model's expected error.
    pub fn expected_error(&self) -> f64 {
        self.errors.as_slice()[self.model]
    }

    /// The decision as the JSON object `aurora route --json` prints and
    /// `POST /route` of `aurora serve` returns: `model`, `model_index`,
    /// `path`, `cost`, `cluster`, `similarity`, `confidence`, `confident`,
    /// `expected_error` and `expected_errors` (`{model name: error}`, finite
    /// errors only).
    pub fn to_json(&self) -> serde_json::Value {
        let errors: serde_json::Map<String, serde_json::Value> = self
            .models
            .iter()
            .map(|m| m.name.as_str())
            .zip(self.expected_errors())
            .filter(|(_, e)| e.is_finite())
            .map(|(n, &e)| (n.to_string(), serde_json::json!(e)))
            .collect();
        serde_json::json!({
            "model": self.model_name(),
            "model_index": self.model_index(),
            "path": self.model_path(),
            "cost": self.model().cost,
            "cluster": self.cluster(),
            "similarity": self.similarity(),
            "confidence": self.confidence(),
            "confident": self.is_confident(),
            "expected_error": self.expected_error(),
            "expected_errors": errors,
        })
    }

    /// Whether model `m` (by index) was a candidate.
    pub fn is_allowed(&self, m: usize) -> bool {
        m < self.models.len() && self.mask.contains(m)
    }

    /// `(index, expected error)` of each candidate model, in index order.
    pub fn candidates(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.errors
            .as_slice()
            .iter()
            .copied()
            .enumerate()
            .filter(|&(m, _)| self.mask.contains(m))
    }
}

impl std::fmt::Debug for RouteDecision<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteDecision")
            .field("model", &self.model_name())
            .field("model_index", &self.model)
            .field("cluster", &self.cluster)
            .field("similarity", &self.similarity)
            .field("confidence", &self.confidence)
            .field("basis", &self.basis)
            .field("expected_errors", &self.expected_errors())
            .finish()
    }
}
