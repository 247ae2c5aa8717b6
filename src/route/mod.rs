//! Runtime routing: pick a model for a prompt from a router profile.
//!
//! A [`Router`] is loaded once from a profile (JSON bytes, a file or a
//! [`Profile`]) and then routes embeddings ([`Router::route_embedding`]) or
//! texts through an [`Embedder`] ([`Router::route_text`]):
//!
//! 1. the query's cosine similarity to every cluster centroid is computed
//!    (centroids are re-normalised to unit length at load, since float16
//!    storage rounds them off the sphere);
//! 2. the nearest cluster gives each model's expected error — or, with soft
//!    assignment, a similarity-weighted mix of the top-k clusters does;
//! 3. the model minimising `expected_error + λ · cost / max_cost` among the
//!    allowed models wins (see [`RouteOptions`] for `λ` and tie-breaking);
//! 4. if the nearest cluster is not a confident match
//!    ([`RouteDecision::confidence`] below `min_confidence`), a fallback
//!    model is used instead.
//!
//! # Cost of a call
//!
//! `route_embedding` allocates nothing with hard assignment (the default):
//! the expected errors are a borrowed row of a K × M table precomputed at
//! load. Soft assignment keeps its top-k clusters on the stack and, with up
//! to [`INLINE_MODELS`] (16) models, its mixed errors inline in the
//! decision; more models than that cost one `Vec` per soft call. An
//! allowed-model subset is a bit set on the stack up to 128 models (a heap
//! one beyond). Options naming models by name are resolved by a linear scan
//! of the model names on each call ([`Router::check_options`] validates them
//! once up front).
//!
//! The work is one pass over the query (its norm and the NaN/∞ check
//! together), one vectorised dot product per centroid and one branch-free
//! `exp` per cluster for the confidence. The dot products use several
//! independent SIMD accumulators so LLVM vectorises them without
//! `target-cpu` flags; x86-64 CPUs with AVX2 and FMA (detected at run time)
//! get an AVX2 kernel and aarch64 a NEON one, both reading four centroids
//! per pass over the query.
//!
//! # Confidence
//!
//! [`RouteDecision::confidence`] is the softmax probability of the nearest
//! cluster over all clusters at the options' temperature `T` (default
//! 0.05): `1 / Σ_c exp((s_c − s_max) / T)` with `s_c` the cosine
//! similarities. It is 1 when the nearest centroid is a few `T` nearer than
//! every other, `1/n` when `n` centroids are equally near. Below
//! `min_confidence` (default 0: never) the decision is flagged not
//! confident and the fallback model is used: the configured one, or the
//! model the same trade-off picks from the global error rates
//! ([`Router::global_error_rates`]). A `min_similarity` threshold does the
//! same for queries far from every centroid.
//!
//! ```
//! use aurora_router::route::{RouteOptions, Router};
//! let json = br#"{"version":"2.0",
//!   "metadata":{"n_clusters":2,"feature_dim":2,"embedding_model":"toy","is_mock":false,
//!     "silhouette_score":0.5,"clustering_algorithm":"kmeans","params":{"k":2},"selection":[],
//!     "noise_fraction":0.0,"dataset_sha256":"0","seed":1,"generator":"hand"},
//!   "cluster_centers":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"ADwAAAAAADw="},
//!   "cluster_sizes":[10,10],
//!   "llm_profiles":{"small":[0.5,0.1],"big":[0.1,0.1]},
//!   "models":[{"name":"small","cost":1,"path":"models/small.gguf"},{"name":"big","cost":10}]}"#;
//! let router = Router::from_json(json)?;
//!
//! // Near cluster 0, where `small` is often wrong: the most accurate model wins…
//! let d = router.route_embedding(&[0.9, 0.1], &RouteOptions::default())?;
//! assert_eq!((d.cluster(), d.model_name()), (0, "big"));
//! // …unless cost matters most.
//! let cheap = RouteOptions::builder().cost_preference(1.0).check()?;
//! let d = router.route_embedding(&[0.9, 0.1], &cheap)?;
//! assert_eq!((d.model_name(), d.model_path()), ("small", Some("models/small.gguf")));
//! // In cluster 1 both are equally good, so the cheaper one wins.
//! let d = router.route_embedding(&[0.1, 0.9], &RouteOptions::default())?;
//! assert_eq!((d.cluster(), d.model_name()), (1, "small"));
//! assert_eq!(d.expected_errors(), &[0.1, 0.1]);
//! # Ok::<(), aurora_router::route::RouteError>(())
//! ```

mod decision;
pub(crate) mod kernel;
mod options;

use std::path::Path;

pub use decision::{Basis, RouteDecision, INLINE_MODELS};
pub use options::{
    Assignment, ModelRef, RouteOptions, RouteOptionsBuilder, DEFAULT_TEMPERATURE, MAX_SOFT_TOP_K,
};

use decision::{Errors, ModelMask};

use crate::embed::{EmbedError, Embedder};
use crate::profile::{ModelInfo, Profile, ProfileError};

/// Errors of the routing layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The profile cannot be read or is invalid.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The embedder failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The embedder is not the one the profile was built with: its clusters
    /// would mean nothing in another model's embedding space.
    #[error(
        "embedder `{embedder_model}` (mock: {embedder_is_mock}) does not match the profile, \
         built with `{profile_model}` (mock: {profile_is_mock})"
    )]
    EmbedderMismatch {
        /// The profile's `embedding_model`.
        profile_model: String,
        /// The profile's `is_mock`.
        profile_is_mock: bool,
        /// The embedder's [`model_id`](Embedder::model_id).
        embedder_model: String,
        /// The embedder's [`is_mock`](Embedder::is_mock).
        embedder_is_mock: bool,
    },
    /// The embedding (or the embedder) has the wrong dimension.
    #[error("embedding has dimension {got}, the profile expects {expected}")]
    Dimension {
        /// The profile's `feature_dim`.
        expected: usize,
        /// The dimension received.
        got: usize,
    },
    /// An embedding component is NaN or infinite.
    #[error("embedding component {index} is not finite ({value})")]
    NonFinite {
        /// Index of the first such component.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// The embedding is all zeros: it has no direction to route by.
    #[error("embedding is the zero vector")]
    ZeroVector,
    /// A routing option is out of range.
    #[error("invalid route option `{name}`: {reason}")]
    InvalidOption {
        /// The option.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A model named in the options is not in the profile.
    #[error("unknown model `{0}`: not in the profile")]
    UnknownModel(String),
    /// A model index in the options is out of range.
    #[error("model index {index} is out of range: the profile has {count} models")]
    ModelIndexOutOfRange {
        /// The index given.
        index: usize,
        /// Number of models in the profile.
        count: usize,
    },
    /// The configured fallback model is not among the allowed models.
    #[error("fallback model `{0}` is not among the allowed models")]
    FallbackNotAllowed(String),
}

/// A loaded, validated router: immutable, `Send + Sync`, cheap to share
/// behind an `Arc` across threads.
///
/// See the [module documentation](self) for the algorithm and an example.
#[derive(Clone)]
pub struct Router {
    profile: Profile,
    /// Number of clusters `K`.
    k: usize,
    /// Embedding dimension `d`.
    d: usize,
    /// Number of models `M`.
    m: usize,
    /// `K × d` unit-length centroids, row-major.
    centroids: Box<[f32]>,
    /// `K × M` expected errors, row-major: row `c` is cluster `c`.
    errors: Box<[f64]>,
    /// Model costs.
    costs: Box<[f64]>,
    /// `cost / max_cost`.
    cost_norm: Box<[f64]>,
    /// Cluster-size-weighted mean error per model.
    global: Box<[f64]>,
    /// The CPU has AVX2 and FMA (x86-64 only; detected at load).
    #[cfg(target_arch = "x86_64")]
    avx2_fma: bool,
}

// The contract: a router can be shared across threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Router>();
    send_sync::<RouteOptions>();
    send_sync::<RouteDecision<'static>>();
};

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("clusters", &self.k)
            .field("dim", &self.d)
            .field(
                "models",
                &self
                    .profile
                    .models
                    .iter()
                    .map(|m| &m.name)
                    .collect::<Vec<_>>(),
            )
            .field("embedding_model", &self.profile.metadata.embedding_model)
            .field("is_mock", &self.profile.metadata.is_mock)
            .finish()
    }
}

/// How the query's norm is applied to its dot products.
#[derive(Clone, Copy)]
enum QueryNorm {
    /// `1 / ‖q‖`, the f32 fast path.
    Fast(f32),
    /// `‖q‖` in f64, for queries whose squared norm leaves f32's range.
    Slow(f64),
}

/// Receives each cluster's similarity during a scan (the top-k buffer for
/// soft assignment, nothing for hard).
trait Sink {
    fn push(&mut self, s: f32, c: usize);
}

impl Sink for () {
    #[inline(always)]
    fn push(&mut self, _: f32, _: usize) {}
}

/// The `cap` most similar clusters, most similar first (earlier cluster
/// first among equals), on the stack.
struct TopK {
    buf: [(f32, u32); MAX_SOFT_TOP_K],
    len: usize,
    cap: usize,
}

impl Sink for TopK {
    #[inline]
    fn push(&mut self, s: f32, c: usize) {
        if self.len == self.cap {
            if s <= self.buf[self.len - 1].0 {
                return;
            }
            self.len -= 1;
        }
        let mut i = self.len;
        while i > 0 && self.buf[i - 1].0 < s {
            self.buf[i] = self.buf[i - 1];
            i -= 1;
        }
        // `c < K ≤ 16 Mi` (the profile's size limit), so it fits in u32.
        self.buf[i] = (s, c as u32);
        self.len += 1;
    }
}

impl Router {
    /// Parses, validates and loads a profile from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RouteError> {
        // `Profile::from_json` has validated it.
        Ok(Self::from_valid_profile(Profile::from_json(bytes)?))
    }

    /// Reads, validates and loads a profile file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, RouteError> {
        Ok(Self::from_valid_profile(Profile::read(path)?))
    }

    /// Validates ([`Profile::validate`]) and loads a profile: re-normalises
    /// the centroids and precomputes the K × M error table, the normalised
    /// costs and the global error rates.
    pub fn from_profile(profile: Profile) -> Result<Self, RouteError> {
        profile.validate()?;
        Ok(Self::from_valid_profile(profile))
    }

    /// Loads a profile that passed [`Profile::validate`].
    fn from_valid_profile(profile: Profile) -> Self {
        let k = profile.n_clusters();
        let d = profile.dim();
        let m = profile.models.len();
        let mut centroids = Vec::with_capacity(k * d);
        for row in profile.centroids.chunks_exact(d) {
            // Finite and non-zero by validation. Float16 values (|v| ≤ 65504,
            // at most 16 Mi of them) cannot overflow an f32 sum of squares,
            // and the vectorised sum is accurate to a few f32 ulps.
            let inv = 1.0 / f64::from(kernel::sum_squares(row)).sqrt();
            centroids.extend(row.iter().map(|&v| (f64::from(v) * inv) as f32));
        }
        let mut errors = vec![0.0f64; k * m];
        for (j, model) in profile.models.iter().enumerate() {
            // Present with K entries in [0, 1] by validation.
            let rates = profile
                .llm_profiles
                .get(&model.name)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            for (c, &e) in rates.iter().enumerate().take(k) {
                errors[c * m + j] = e;
            }
        }
        let costs: Box<[f64]> = profile.models.iter().map(|x| x.cost).collect();
        let max_cost = costs.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
        let cost_norm = costs.iter().map(|&c| c / max_cost).collect();
        // Cluster-size-weighted mean; uniform if every size is zero.
        let sizes: Vec<f64> = profile.cluster_sizes.iter().map(|&n| n as f64).collect();
        let total: f64 = sizes.iter().sum();
        let global = (0..m)
            .map(|j| {
                let (num, den) = (0..k).fold((0.0, 0.0), |(num, den), c| {
                    let w = if total > 0.0 { sizes[c] } else { 1.0 };
                    (num + w * errors[c * m + j], den + w)
                });
                (num / den).clamp(0.0, 1.0)
            })
            .collect();
        Router {
            profile,
            k,
            d,
            m,
            centroids: centroids.into_boxed_slice(),
            errors: errors.into_boxed_slice(),
            costs,
            cost_norm,
            global,
            #[cfg(target_arch = "x86_64")]
            avx2_fma: std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma"),
        }
    }

    /// The profile this router was loaded from (centroids as stored, not
    /// re-normalised).
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The models, in profile order (a model's index is its position here).
    pub fn models(&self) -> &[ModelInfo] {
        &self.profile.models
    }

    /// Number of models.
    pub fn model_count(&self) -> usize {
        self.m
    }

    /// Number of clusters.
    pub fn cluster_count(&self) -> usize {
        self.k
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// The embedding model the profile was built with.
    pub fn embedding_model(&self) -> &str {
        &self.profile.metadata.embedding_model
    }

    /// Whether the profile's embeddings came from the mock Cactus backend.
    pub fn is_mock(&self) -> bool {
        self.profile.metadata.is_mock
    }

    /// Index of the model called `name`.
    pub fn model_index(&self, name: &str) -> Option<usize> {
        self.profile.models.iter().position(|m| m.name == name)
    }

    /// Each model's global expected error: the mean of its per-cluster
    /// errors weighted by cluster size (unweighted if every size is 0).
    /// This is what a non-confident decision routes on.
    pub fn global_error_rates(&self) -> &[f64] {
        &self.global
    }

    /// Each model's expected error in cluster `c`, indexed like
    /// [`models`](Self::models); `None` if `c` is out of range.
    pub fn cluster_error_rates(&self, c: usize) -> Option<&[f64]> {
        (c < self.k).then(|| self.error_row(c))
    }

    /// Routing options preset with the profile's recommended cluster
    /// assignment (`metadata.routing`, chosen by `--select routing-cv`:
    /// hard, or soft over its `top_k` nearest clusters at its temperature);
    /// hard assignment at the default temperature when the profile names
    /// none. Set the trade-off and anything else on it, then `check()`.
    ///
    /// ```
    /// # use aurora_router::route::Router;
    /// # fn demo(router: &Router, embedding: &[f32]) -> Result<(), Box<dyn std::error::Error>> {
    /// let opts = router.options().cost_preference(0.3).check()?;
    /// let decision = router.route_embedding(embedding, &opts)?;
    /// println!("{}", decision.model().name);
    /// # Ok(()) }
    /// ```
    pub fn options(&self) -> RouteOptionsBuilder {
        let b = RouteOptions::builder();
        match &self.profile.metadata.routing {
            None => b,
            // Validated at load: the temperature is a positive finite f32.
            Some(r) => b
                .assignment(match r.clusters_mixed() {
                    1 => Assignment::Hard,
                    k => Assignment::Soft { top_k: k },
                })
                .temperature(r.temperature as f32),
        }
    }

    /// The unit-length centroid of cluster `c`; `None` if out of range.
    pub fn centroid(&self, c: usize) -> Option<&[f32]> {
        (c < self.k).then(|| &self.centroids[c * self.d..(c + 1) * self.d])
    }

    /// Checks that `embedder` is the one the profile was built with (same
    /// `model_id`, same `is_mock`, same dimension).
    pub fn check_embedder(&self, embedder: &dyn Embedder) -> Result<(), RouteError> {
        if embedder.model_id() != self.embedding_model() || embedder.is_mock() != self.is_mock() {
            return Err(RouteError::EmbedderMismatch {
                profile_model: self.embedding_model().to_string(),
                profile_is_mock: self.is_mock(),
                embedder_model: embedder.model_id().to_string(),
                embedder_is_mock: embedder.is_mock(),
            });
        }
        if embedder.dim() != self.d {
            return Err(RouteError::Dimension {
                expected: self.d,
                got: embedder.dim(),
            });
        }
        Ok(())
    }

    /// Resolves the options' model names and indices against this router
    /// (unknown names, out-of-range indices, a fallback outside the allowed
    /// set), so a caller can reject bad options once instead of on each
    /// route.
    pub fn check_options(&self, opts: &RouteOptions) -> Result<(), RouteError> {
        let mask = self.resolve_mask(opts)?;
        self.resolve_fallback(opts, &mask).map(drop)
    }

    /// Embeds `text` with `embedder` and routes it. The embedder must match
    /// the profile ([`check_embedder`](Self::check_embedder)): a profile
    /// built from one embedding model is never used with another's vectors.
    pub fn route_text(
        &self,
        text: &str,
        embedder: &dyn Embedder,
        opts: &RouteOptions,
    ) -> Result<RouteDecision<'_>, RouteError> {
        self.check_embedder(embedder)?;
        let v = embedder.embed(text)?;
        self.route_embedding(&v, opts)
    }

    /// Routes one embedding (any length-`dim()` vector with a finite,
    /// non-zero norm; it need not be normalised).
    ///
    /// Errors: [`RouteError::Dimension`], [`RouteError::NonFinite`],
    /// [`RouteError::ZeroVector`], and for options naming models,
    /// [`RouteError::UnknownModel`], [`RouteError::ModelIndexOutOfRange`],
    /// [`RouteError::FallbackNotAllowed`].
    pub fn route_embedding(
        &self,
        embedding: &[f32],
        opts: &RouteOptions,
    ) -> Result<RouteDecision<'_>, RouteError> {
        if embedding.len() != self.d {
            return Err(RouteError::Dimension {
                expected: self.d,
                got: embedding.len(),
            });
        }
        let mask = self.resolve_mask(opts)?;
        let fallback = self.resolve_fallback(opts, &mask)?;
        let norm = query_norm(embedding)?;
        let inv_t = 1.0 / opts.temperature();
        let top_k = match opts.assignment() {
            Assignment::Hard => 1,
            Assignment::Soft { top_k } => top_k.min(self.k),
        };
        let mut top = None;
        let (best, sim, confidence) = if top_k <= 1 {
            self.scan_dispatch(embedding, norm, inv_t, &mut ())
        } else {
            let t = top.insert(TopK {
                buf: [(0.0, 0); MAX_SOFT_TOP_K],
                len: 0,
                cap: top_k,
            });
            self.scan_dispatch(embedding, norm, inv_t, t)
        };
        let sim = sim.clamp(-1.0, 1.0);
        let confident =
            confidence >= opts.min_confidence() && opts.min_similarity().is_none_or(|s| sim >= s);
        let (basis, errors) = match (&top, confident) {
            (_, false) => (Basis::Fallback, Errors::Borrowed(&self.global[..])),
            (None, true) => (Basis::Hard, Errors::Borrowed(self.error_row(best))),
            (Some(t), true) => (Basis::Soft { clusters: t.len }, self.mix(t, inv_t)),
        };
        let model = match (basis, fallback) {
            (Basis::Fallback, Some(f)) => f,
            _ => self.choose(errors.as_slice(), opts.lambda(), &mask),
        };
        Ok(RouteDecision {
            models: &self.profile.models,
            model,
            cluster: best,
            similarity: sim,
            confidence,
            basis,
            errors,
            mask,
        })
    }

    #[inline]
    fn error_row(&self, c: usize) -> &[f64] {
        &self.errors[c * self.m..(c + 1) * self.m]
    }

    /// Picks the kernel: f64 for out-of-range norms, AVX2 + FMA where the
    /// CPU has them (x86-64), NEON four rows at a time on aarch64, the
    /// portable one otherwise.
    #[inline(always)]
    fn scan_dispatch<S: Sink>(
        &self,
        q: &[f32],
        norm: QueryNorm,
        inv_t: f32,
        sink: &mut S,
    ) -> (usize, f32, f32) {
        match norm {
            QueryNorm::Fast(inv) => {
                #[cfg(target_arch = "x86_64")]
                if self.avx2_fma {
                    // SAFETY: `avx2_fma` is only set when the running CPU
                    // reports both features (`Router::from_profile`).
                    return unsafe { self.scan_avx2_fma(q, inv, inv_t, sink) };
                }
                let one = |r: &[f32]| kernel::dot(q, r) * inv;
                #[cfg(target_arch = "aarch64")]
                let four = |rows: &[f32]| kernel::neon::dot4(q, rows).map(|s| s * inv);
                #[cfg(not(target_arch = "aarch64"))]
                let four = |rows: &[f32]| Self::each_row(rows, self.d, one);
                self.scan(four, one, inv_t, sink)
            }
            QueryNorm::Slow(n) => {
                let one = |r: &[f32]| (kernel::dot_f64(q, r) / n) as f32;
                self.scan(
                    |rows: &[f32]| Self::each_row(rows, self.d, one),
                    one,
                    inv_t,
                    sink,
                )
            }
        }
    }

    /// Four single-row similarities.
    #[inline(always)]
    fn each_row(rows: &[f32], d: usize, one: impl Fn(&[f32]) -> f32) -> [f32; 4] {
        let mut out = [0.0; 4];
        for (o, r) in out.iter_mut().zip(rows.chunks_exact(d)) {
            *o = one(r);
        }
        out
    }

    /// [`scan`](Self::scan) with the AVX2 + FMA kernels (four rows at a time).
    ///
    /// # Safety
    ///
    /// The CPU must support `avx2` and `fma`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn scan_avx2_fma<S: Sink>(
        &self,
        q: &[f32],
        inv: f32,
        inv_t: f32,
        sink: &mut S,
    ) -> (usize, f32, f32) {
        // SAFETY (both closures): the caller guarantees the features.
        self.scan(
            |rows: &[f32]| unsafe { kernel::avx2::dot4(q, rows) }.map(|s| s * inv),
            |r: &[f32]| unsafe { kernel::avx2::dot(q, r) } * inv,
            inv_t,
            sink,
        )
    }

    /// One pass over the centroids, four rows at a time (`four`) then one
    /// (`one`): the nearest cluster (earliest among equals), its similarity,
    /// and its softmax probability at temperature `1 / inv_t`, accumulated
    /// online (the running sum is rescaled when the maximum moves), so each
    /// cluster costs one dot product and at most one `exp`.
    #[inline(always)]
    fn scan<F4, F1, S>(&self, four: F4, one: F1, inv_t: f32, sink: &mut S) -> (usize, f32, f32)
    where
        F4: Fn(&[f32]) -> [f32; 4],
        F1: Fn(&[f32]) -> f32,
        S: Sink,
    {
        // Start below any similarity so the first cluster becomes the best
        // with z = 0 · e^… + 1 = 1.
        let (mut best, mut best_s, mut z) = (0usize, f32::NEG_INFINITY, 0.0f32);
        let mut visit = |c: usize, s: f32| {
            if s > best_s {
                // For the first cluster z = 0, so z becomes 1.
                z = z * kernel::exp_neg((best_s - s) * inv_t) + 1.0;
                best_s = s;
                best = c;
            } else {
                z += kernel::exp_neg((s - best_s) * inv_t);
            }
            sink.push(s, c);
        };
        let blocks = self.centroids.chunks_exact(4 * self.d);
        let rest = blocks.remainder();
        let mut c = 0;
        for block in blocks {
            for s in four(block) {
                visit(c, s);
                c += 1;
            }
        }
        for row in rest.chunks_exact(self.d) {
            visit(c, one(row));
            c += 1;
        }
        (best, best_s, 1.0 / z)
    }

    /// Soft assignment: the weighted mean of the top clusters' error rows.
    fn mix(&self, top: &TopK, inv_t: f32) -> Errors<'_> {
        let s_max = top.buf[0].0;
        let fill = |out: &mut [f64]| {
            let mut wsum = 0.0f64;
            for &(s, c) in &top.buf[..top.len] {
                let w = f64::from((s - s_max) * inv_t).exp();
                wsum += w;
                for (o, &e) in out.iter_mut().zip(self.error_row(c as usize)) {
                    *o += w * e;
                }
            }
            // wsum ≥ 1: the nearest cluster has weight exp(0).
            for o in out.iter_mut() {
                *o = (*o / wsum).clamp(0.0, 1.0);
            }
        };
        if self.m <= INLINE_MODELS {
            let mut buf = [0.0; INLINE_MODELS];
            fill(&mut buf[..self.m]);
            Errors::Inline { buf, len: self.m }
        } else {
            let mut v = vec![0.0; self.m];
            fill(&mut v);
            Errors::Heap(v)
        }
    }

    /// The allowed model minimising `e + λ · cost / max_cost`; ties to the
    /// lower cost, then the lower error, then the lower index. `λ = ∞` is
    /// pure cost.
    fn choose(&self, errors: &[f64], lambda: f64, mask: &ModelMask) -> usize {
        let pure_cost = lambda.is_infinite();
        let mut best: Option<(usize, f64)> = None;
        for (m, &e) in errors.iter().enumerate().take(self.m) {
            if !mask.contains(m) {
                continue;
            }
            let score = if pure_cost {
                self.cost_norm[m]
            } else {
                e + lambda * self.cost_norm[m]
            };
            let better = match best {
                None => true,
                Some((b, bs)) => {
                    score < bs
                        || (score == bs
                            && (self.costs[m] < self.costs[b]
                                || (self.costs[m] == self.costs[b] && e < errors[b])))
                }
            };
            if better {
                best = Some((m, score));
            }
        }
        // The mask is never empty (an allowed list has ≥ 1 resolved model).
        best.map_or(0, |(m, _)| m)
    }

    fn resolve(&self, r: &ModelRef) -> Result<usize, RouteError> {
        match r {
            ModelRef::Index(i) if *i < self.m => Ok(*i),
            ModelRef::Index(i) => Err(RouteError::ModelIndexOutOfRange {
                index: *i,
                count: self.m,
            }),
            ModelRef::Name(n) => self
                .model_index(n)
                .ok_or_else(|| RouteError::UnknownModel(n.clone())),
        }
    }

    fn resolve_mask(&self, opts: &RouteOptions) -> Result<ModelMask, RouteError> {
        let Some(list) = opts.allowed_models() else {
            return Ok(ModelMask::All);
        };
        let mut mask = ModelMask::empty(self.m);
        for r in list {
            mask.insert(self.resolve(r)?);
        }
        Ok(mask)
    }

    fn resolve_fallback(
        &self,
        opts: &RouteOptions,
        mask: &ModelMask,
    ) -> Result<Option<usize>, RouteError> {
        let Some(r) = opts.fallback_model() else {
            return Ok(None);
        };
        let f = self.resolve(r)?;
        if !mask.contains(f) {
            return Err(RouteError::FallbackNotAllowed(
                self.profile.models[f].name.clone(),
            ));
        }
        Ok(Some(f))
    }
}

/// The query's norm from one pass that also checks finiteness (a NaN or an
/// infinity makes the sum of squares non-finite); the exact culprit, the
/// zero vector and f32 over/underflow are sorted out on the slow path only.
#[inline]
fn query_norm(q: &[f32]) -> Result<QueryNorm, RouteError> {
    let ss = kernel::sum_squares(q);
    if ss.is_finite() && ss >= 1e-20 {
        return Ok(QueryNorm::Fast(1.0 / ss.sqrt()));
    }
    if let Some(index) = q.iter().position(|x| !x.is_finite()) {
        return Err(RouteError::NonFinite {
            index,
            value: q[index],
        });
    }
    let ss: f64 = q.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    if ss == 0.0 {
        return Err(RouteError::ZeroVector);
    }
    Ok(QueryNorm::Slow(ss.sqrt()))
}
