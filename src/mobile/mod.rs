//! The Swift / Kotlin API (feature `uniffi`), exported with uniffi's proc
//! macros. The generated bindings live in `bindings/swift/` and
//! `bindings/kotlin/` (`scripts/gen-bindings.sh`).
//!
//! Foreign names: [`MobileRouter`] is `Router`, [`Decision`] is
//! `RouteDecision`, [`ModelSummary`] is `ModelInfo`, [`Options`] is
//! `RouteOptions`, [`RouterError`] is `RouterError` in Swift and
//! `RouterException` in Kotlin. [`Embedder`] is a foreign trait: an app
//! implements it (Core ML, `NLEmbedding`, MediaPipe…) and routes text
//! through it; [`CactusEmbedder`] is the built-in implementation.
//!
//! ```kotlin
//! val router = Router.fromPath("mmlu_pro-minilm.json")
//! val d = router.routeEmbedding(embedding, 0.3)
//! println("${d.modelName} (cluster ${d.cluster})")
//! ```

use std::sync::Arc;

mod stream;
pub use stream::{ClusterStore, StreamCluster, StreamError, StreamHero, StreamInsertion};

use crate::embed::{self, EmbedError};
use crate::profile::ProfileError;
use crate::route::{self, RouteError};

/// Errors of the Swift / Kotlin API (`RouterError` / `RouterException`).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum RouterError {
    /// The profile cannot be read, is not valid JSON or is invalid.
    #[error("invalid profile: {reason}")]
    InvalidProfile {
        /// What is wrong.
        reason: String,
    },
    /// The embedding's dimension is not the profile's.
    #[error("embedding has dimension {got}, the profile expects {expected}")]
    Dimension {
        /// The profile's dimension.
        expected: u64,
        /// The dimension received.
        got: u64,
    },
    /// The embedding has a NaN or infinite component, or is all zeros.
    #[error("invalid embedding: {reason}")]
    InvalidEmbedding {
        /// What is wrong.
        reason: String,
    },
    /// A routing option is out of range or names an unknown model.
    #[error("invalid option: {reason}")]
    InvalidOption {
        /// What is wrong.
        reason: String,
    },
    /// The embedder is not the model the profile was built with.
    #[error(
        "embedder `{embedder_model}` (mock: {embedder_is_mock}) does not match the profile, \
         built with `{profile_model}` (mock: {profile_is_mock})"
    )]
    EmbedderMismatch {
        /// The profile's embedding model.
        profile_model: String,
        /// Whether the profile's embeddings came from the mock Cactus.
        profile_is_mock: bool,
        /// The embedder's model id.
        embedder_model: String,
        /// Whether the embedder is the mock Cactus.
        embedder_is_mock: bool,
    },
    /// The embedder failed. Foreign [`Embedder`]s throw this for their own
    /// failures.
    #[error("embedding failed: {reason}")]
    Embed {
        /// What went wrong.
        reason: String,
    },
    /// An internal error: a Rust panic, or an unexpected exception thrown
    /// by a foreign embedder.
    #[error("internal error: {reason}")]
    Internal {
        /// What went wrong.
        reason: String,
    },
    /// A model pool's generator: none fits the budget, none could be
    /// loaded, or generation failed.
    #[error("model error: {reason}")]
    Model {
        /// What went wrong.
        reason: String,
    },
}

impl From<ProfileError> for RouterError {
    fn from(e: ProfileError) -> Self {
        RouterError::InvalidProfile {
            reason: e.to_string(),
        }
    }
}

impl From<EmbedError> for RouterError {
    fn from(e: EmbedError) -> Self {
        RouterError::Embed {
            reason: e.to_string(),
        }
    }
}

impl From<RouteError> for RouterError {
    fn from(e: RouteError) -> Self {
        match e {
            RouteError::Profile(p) => p.into(),
            RouteError::Embed(x) => x.into(),
            RouteError::EmbedderMismatch {
                profile_model,
                profile_is_mock,
                embedder_model,
                embedder_is_mock,
            } => RouterError::EmbedderMismatch {
                profile_model,
                profile_is_mock,
                embedder_model,
                embedder_is_mock,
            },
            RouteError::Dimension { expected, got } => RouterError::Dimension {
                expected: expected as u64,
                got: got as u64,
            },
            e @ RouteError::InvalidEmbedding(_) => RouterError::InvalidEmbedding {
                reason: e.to_string(),
            },
            e => RouterError::InvalidOption {
                reason: e.to_string(),
            },
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for RouterError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        RouterError::Internal { reason: e.reason }
    }
}

/// Turns text into an embedding. Implement it in Swift or Kotlin to route
/// text with an on-device model of the app's own (Core ML, `NLEmbedding`,
/// MediaPipe…), or use the built-in [`CactusEmbedder`].
///
/// A profile records the embedding model it was built with: routing checks
/// that [`model_id`](Embedder::model_id), [`is_mock`](Embedder::is_mock)
/// and [`dim`](Embedder::dim) match it before embedding anything.
// `rust, foreign` is uniffi 0.32's spelling of `with_foreign`: Rust and
// foreign implementations both cross the boundary.
#[uniffi::export(rust, foreign)]
pub trait Embedder: Send + Sync {
    /// Embeds one text into a vector of [`dim`](Embedder::dim) floats.
    fn embed(&self, text: String) -> Result<Vec<f32>, RouterError>;
    /// Dimension of the vectors.
    fn dim(&self) -> u32;
    /// The embedding model's id, as recorded in profiles (`embedding_model`).
    fn model_id(&self) -> String;
    /// Whether the vectors come from the mock Cactus backend (false for any
    /// real model).
    fn is_mock(&self) -> bool;
}

/// The built-in embedder: a Cactus embedding model (the real engine on
/// devices; the deterministic mock on hosts without it).
#[derive(uniffi::Object)]
pub struct CactusEmbedder {
    inner: embed::CactusEmbedder,
}

#[uniffi::export]
impl CactusEmbedder {
    /// Opens the Cactus model at `path`.
    #[uniffi::constructor]
    pub fn new(path: String) -> Result<Arc<Self>, RouterError> {
        crate::ffi::fault::point();
        Ok(Arc::new(CactusEmbedder {
            inner: embed::CactusEmbedder::open(path)?,
        }))
    }

    /// The mock Cactus's built-in model of dimension `dim` (hosts and tests;
    /// an error when the real engine is linked).
    #[uniffi::constructor]
    pub fn mock(dim: u32) -> Result<Arc<Self>, RouterError> {
        crate::ffi::fault::point();
        Ok(Arc::new(CactusEmbedder {
            inner: embed::CactusEmbedder::mock(dim as usize)?,
        }))
    }
}

#[uniffi::export]
impl Embedder for CactusEmbedder {
    fn embed(&self, text: String) -> Result<Vec<f32>, RouterError> {
        crate::ffi::fault::point();
        Ok(embed::Embedder::embed(&self.inner, &text)?)
    }

    fn dim(&self) -> u32 {
        crate::ffi::fault::point();
        embed::Embedder::dim(&self.inner) as u32
    }

    fn model_id(&self) -> String {
        crate::ffi::fault::point();
        embed::Embedder::model_id(&self.inner).to_string()
    }

    fn is_mock(&self) -> bool {
        crate::ffi::fault::point();
        embed::Embedder::is_mock(&self.inner)
    }
}

/// A model of the profile (`ModelInfo` in Swift and Kotlin).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
#[uniffi(name = "ModelInfo")]
pub struct ModelSummary {
    /// Index in the profile's models (what decisions report).
    pub index: u32,
    /// Model name.
    pub name: String,
    /// Relative cost of one call.
    pub cost: f64,
    /// The model file's path on the device, if the profile gives one.
    pub path: Option<String>,
}

/// A cluster of the profile.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ClusterInfo {
    /// Cluster index.
    pub index: u32,
    /// Number of training prompts in the cluster.
    pub size: u64,
    /// Each model's expected error in this cluster, indexed like `models()`.
    pub expected_errors: Vec<f64>,
    /// The model with the lowest expected error here (cheapest among equals).
    pub best_model_index: u32,
}

/// What a router was loaded from.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RouterSummary {
    /// The profile file format version (the container format; format-2
    /// files are read as it).
    pub format_version: String,
    /// Number of models.
    pub model_count: u32,
    /// Number of clusters.
    pub cluster_count: u32,
    /// Embedding dimension.
    pub dim: u32,
    /// The embedding model the profile was built with.
    pub embedding_model: String,
    /// Whether the profile's embeddings came from the mock Cactus.
    pub is_mock: bool,
    /// The clustering that won the sweep (`kmeans`, `hdbscan`…).
    pub clustering_algorithm: String,
    /// Its cosine silhouette, if computed.
    pub silhouette_score: Option<f64>,
    /// Clusters the profile recommends mixing per query (1 = hard
    /// assignment), what `route_*` does unless `RouteOptions.soft_top_k`
    /// says otherwise.
    pub recommended_top_k: u32,
    /// The temperature of that mix and of the confidence.
    pub recommended_temperature: f32,
}

/// The model chosen for one query, and why (`RouteDecision` in Swift and
/// Kotlin).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
#[uniffi(name = "RouteDecision")]
pub struct Decision {
    /// Index of the chosen model.
    pub model_index: u32,
    /// Name of the chosen model.
    pub model_name: String,
    /// The chosen model's path on the device, if the profile gives one.
    pub model_path: Option<String>,
    /// The chosen model's relative cost.
    pub cost: f64,
    /// The nearest cluster.
    pub cluster: u32,
    /// Cosine similarity to the nearest centroid, in [-1, 1].
    pub similarity: f32,
    /// Confidence in the nearest cluster, in (0, 1].
    pub confidence: f32,
    /// False when the decision fell back (confidence or similarity below
    /// the options' thresholds).
    pub confident: bool,
    /// The chosen model's expected error.
    pub expected_error: f64,
    /// Every model's expected error, indexed like `models()`.
    pub expected_errors: Vec<f64>,
}

impl Decision {
    fn from_core(d: &route::RouteDecision<'_>) -> Self {
        let m = d.model();
        Decision {
            model_index: d.model_index() as u32,
            model_name: m.name.clone(),
            model_path: m.path().map(str::to_string),
            cost: m.cost,
            cluster: d.cluster() as u32,
            similarity: d.similarity(),
            confidence: d.confidence(),
            confident: d.is_confident(),
            expected_error: d.expected_error(),
            expected_errors: d.expected_errors().to_vec(),
        }
    }
}

/// Routing options (`RouteOptions` in Swift and Kotlin); every field has a
/// default.
#[derive(Debug, Clone, PartialEq, Default, uniffi::Record)]
#[uniffi(name = "RouteOptions")]
pub struct Options {
    /// 0 = lowest expected error … 1 = cheapest model.
    #[uniffi(default = 0.0)]
    pub cost_preference: f64,
    /// Mix the `k` nearest clusters (soft assignment; 1 = the nearest only);
    /// `None` = the profile's recommendation (`Router.summary()`), else the
    /// nearest only.
    #[uniffi(default = None)]
    pub soft_top_k: Option<u32>,
    /// Softmax temperature of the confidence and soft weights; `None` = the
    /// profile's, else 0.05.
    #[uniffi(default = None)]
    pub temperature: Option<f32>,
    /// Below this confidence the fallback model is used.
    #[uniffi(default = 0.0)]
    pub min_confidence: f32,
    /// Below this similarity to the nearest centroid the fallback is used.
    #[uniffi(default = None)]
    pub min_similarity: Option<f32>,
    /// Only these models (by name) may be chosen; `None` = all.
    #[uniffi(default = None)]
    pub allowed_models: Option<Vec<String>>,
    /// The fallback model (by name); `None` = the best by global error.
    #[uniffi(default = None)]
    pub fallback_model: Option<String>,
}

impl Options {
    /// The checked core options, starting from `router`'s recommended ones.
    fn to_core(&self, router: &route::Router) -> Result<route::RouteOptions, RouterError> {
        let mut b = router
            .options()
            .cost_preference(self.cost_preference)
            .min_confidence(self.min_confidence);
        if let Some(k) = self.soft_top_k {
            b = b.soft(k as usize);
        }
        if let Some(t) = self.temperature {
            b = b.temperature(t);
        }
        if let Some(s) = self.min_similarity {
            b = b.min_similarity(s);
        }
        if let Some(a) = &self.allowed_models {
            b = b.allowed_models(a.iter());
        }
        if let Some(f) = &self.fallback_model {
            b = b.fallback_model(f.as_str());
        }
        Ok(b.check()?)
    }
}

/// Adapts a foreign [`Embedder`] to the core trait for the profile check
/// (its id, flag and dimension are read once).
struct Checked {
    model_id: String,
    dim: usize,
    is_mock: bool,
}

impl embed::Embedder for Checked {
    fn embed(&self, _: &str) -> Result<Vec<f32>, EmbedError> {
        unreachable!("only used by Router::check_embedder")
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn model_id(&self) -> &str {
        &self.model_id
    }
    fn is_mock(&self) -> bool {
        self.is_mock
    }
}

/// A loaded router profile (`Router` in Swift and Kotlin): immutable and
/// thread-safe.
#[derive(Debug, uniffi::Object)]
#[uniffi(name = "Router")]
pub struct MobileRouter {
    inner: route::Router,
}

#[uniffi::export(name = "Router")]
impl MobileRouter {
    /// Loads a router from profile JSON text.
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Arc<Self>, RouterError> {
        crate::ffi::fault::point();
        Self::from_bytes(json.into_bytes())
    }

    /// Loads a router from profile JSON bytes (`Data` / `ByteArray`).
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>, RouterError> {
        crate::ffi::fault::point();
        Ok(Arc::new(MobileRouter {
            inner: route::Router::from_json(&bytes)?,
        }))
    }

    /// Loads a router from a profile file.
    #[uniffi::constructor]
    pub fn from_path(path: String) -> Result<Arc<Self>, RouterError> {
        crate::ffi::fault::point();
        Ok(Arc::new(MobileRouter {
            inner: route::Router::from_path(path)?,
        }))
    }

    /// Routes an embedding at `cost_preference` (0 = lowest expected error
    /// … 1 = cheapest model).
    pub fn route_embedding(
        &self,
        embedding: Vec<f32>,
        cost_preference: f64,
    ) -> Result<Decision, RouterError> {
        crate::ffi::fault::point();
        self.route_embedding_with(
            embedding,
            Options {
                cost_preference,
                ..Options::default()
            },
        )
    }

    /// Routes an embedding with full options.
    pub fn route_embedding_with(
        &self,
        embedding: Vec<f32>,
        options: Options,
    ) -> Result<Decision, RouterError> {
        crate::ffi::fault::point();
        let opts = options.to_core(&self.inner)?;
        let d = self.inner.route_embedding(&embedding, &opts)?;
        Ok(Decision::from_core(&d))
    }

    /// Embeds `text` with `embedder` and routes it at `cost_preference`. The
    /// embedder must be the model the profile was built with.
    pub fn route_text(
        &self,
        text: String,
        embedder: Arc<dyn Embedder>,
        cost_preference: f64,
    ) -> Result<Decision, RouterError> {
        crate::ffi::fault::point();
        self.route_text_with(
            text,
            embedder,
            Options {
                cost_preference,
                ..Options::default()
            },
        )
    }

    /// Embeds `text` with `embedder` and routes it with full options.
    pub fn route_text_with(
        &self,
        text: String,
        embedder: Arc<dyn Embedder>,
        options: Options,
    ) -> Result<Decision, RouterError> {
        crate::ffi::fault::point();
        let opts = options.to_core(&self.inner)?;
        let checked = Checked {
            model_id: embedder.model_id(),
            dim: embedder.dim() as usize,
            is_mock: embedder.is_mock(),
        };
        // The same steps as `route::Router::route_text`, with the foreign
        // embedder's own error passed through.
        self.inner.check_embedder(&checked)?;
        let v = embedder.embed(text)?;
        let d = self.inner.route_embedding(&v, &opts)?;
        Ok(Decision::from_core(&d))
    }

    /// The models, in profile order.
    pub fn models(&self) -> Vec<ModelSummary> {
        crate::ffi::fault::point();
        self.inner
            .models()
            .iter()
            .enumerate()
            .map(|(i, m)| ModelSummary {
                index: i as u32,
                name: m.name.clone(),
                cost: m.cost,
                path: m.path().map(str::to_string),
            })
            .collect()
    }

    /// The clusters with each model's expected error.
    pub fn clusters(&self) -> Vec<ClusterInfo> {
        crate::ffi::fault::point();
        let sizes = &self.inner.profile().cluster_sizes;
        let costs: Vec<f64> = self.inner.models().iter().map(|m| m.cost).collect();
        (0..self.inner.cluster_count())
            .map(|c| {
                let errors = self.inner.cluster_error_rates(c).unwrap_or(&[]).to_vec();
                let best = (0..errors.len())
                    .min_by(|&a, &b| {
                        errors[a]
                            .total_cmp(&errors[b])
                            .then(costs[a].total_cmp(&costs[b]))
                    })
                    .unwrap_or(0);
                ClusterInfo {
                    index: c as u32,
                    size: sizes.get(c).copied().unwrap_or(0),
                    expected_errors: errors,
                    best_model_index: best as u32,
                }
            })
            .collect()
    }

    /// What the router was loaded from.
    pub fn summary(&self) -> RouterSummary {
        crate::ffi::fault::point();
        let p = self.inner.profile();
        // The profile's routing defaults were validated at load.
        let recommended = self.inner.options().check().unwrap_or_default();
        RouterSummary {
            format_version: crate::profile::CONTAINER_VERSION.to_string(),
            model_count: self.inner.model_count() as u32,
            cluster_count: self.inner.cluster_count() as u32,
            dim: self.inner.dim() as u32,
            embedding_model: self.inner.embedding_model().to_string(),
            is_mock: self.inner.is_mock(),
            clustering_algorithm: p.metadata.clustering_algorithm.to_string(),
            silhouette_score: p.metadata.silhouette_score,
            recommended_top_k: recommended.assignment().clusters_mixed() as u32,
            recommended_temperature: recommended.temperature(),
        }
    }

    /// The embedding dimension the profile expects.
    pub fn dim(&self) -> u32 {
        crate::ffi::fault::point();
        self.inner.dim() as u32
    }
}

/// The library's version.
#[uniffi::export]
pub fn version() -> String {
    crate::ffi::fault::point();
    crate::VERSION.to_string()
}

mod templates;
pub use templates::{TemplateMatch, Templates};
mod routes;
pub use routes::{MobileRouteSession, MobileRouteSet, RouteMatch};
#[cfg(feature = "bert")]
mod bert;
pub mod pool;
#[cfg(feature = "bert")]
pub use bert::MiniLmEmbedder;

#[cfg(test)]
mod tests;
