//! A model pool that routes, loads and generates under a memory budget.
//!
//! [`ModelPool`] is created from a router profile whose models have a
//! `path` and a `size_mb`, and a memory budget in MB.
//! [`route_and_complete`](ModelPool::route_and_complete) routes the query
//! (a text through the pool's embedder, or an embedding), loads the chosen
//! model lazily, evicts least-recently-used idle models so that the resident
//! total never exceeds the budget, and generates with `cactus_complete`.
//!
//! * Models whose `size_mb` alone exceeds the budget (or that have no `path`
//!   or `size_mb`) are excluded from routing; [`PoolDecision::excluded`]
//!   says why.
//! * A model that fails to load is skipped and the query re-routed among the
//!   remaining allowed models with the same cost preference;
//!   [`PoolDecision::fallbacks`] says so.
//! * Calls on one model are serialised (a Cactus model is not `Sync`); calls
//!   on different models run in parallel when the budget holds them both,
//!   otherwise a caller waits until a model in use is released.
//!
//! ```
//! use aurora_router::pool::{ModelPool, PoolParams, Query};
//! use aurora_router::route::Router;
//! use cactus_sys::ChatMessage;
//! # if !cactus_sys::is_mock() { return Ok(()); }
//! let json = br#"{"version":"2.0",
//!   "metadata":{"n_clusters":2,"feature_dim":2,"embedding_model":"toy","is_mock":true,
//!     "silhouette_score":0.5,"clustering_algorithm":"kmeans","params":{"k":2},"selection":[],
//!     "noise_fraction":0.0,"dataset_sha256":"0","seed":1,"generator":"hand"},
//!   "cluster_centers":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"ADwAAAAAADw="},
//!   "cluster_sizes":[10,10],
//!   "llm_profiles":{"small":[0.5,0.1],"big":[0.1,0.1],"huge":[0.0,0.0]},
//!   "models":[{"name":"small","cost":1,"path":"mock:","size_mb":800},
//!             {"name":"big","cost":10,"path":"mock:","size_mb":3000},
//!             {"name":"huge","cost":50,"path":"mock:","size_mb":40000}]}"#;
//! let router = Router::from_json(json)?;
//! let pool = ModelPool::new(router, &PoolParams::new().budget_mb(4000.0).check()?)?;
//! let answer = pool.route_and_complete(
//!     Query::Embedding(&[0.9, 0.1]),
//!     &[ChatMessage::user("Which is prime?\nA. 4\nB. 7")],
//!     0.0,
//! )?;
//! assert_eq!(answer.decision.model, "big");
//! assert!(answer.decision.excluded[0].reason.contains("exceeds the memory budget"));
//! assert!(answer.completion.response.contains("The answer is ("));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backend;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use cactus_sys::{CactusError, CancelToken, ChatMessage, CompleteOptions, Completion, TokenAction};

pub use backend::{CactusBackend, LoadedModel, ModelBackend};

use crate::embed::{EmbedError, Embedder};
use crate::route::{ModelRef, RouteError, RouteOptions, Router};

/// Errors of the model pool.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// `budget_mb` is missing, not finite or not positive.
    #[error("budget_mb must be a finite number > 0, got {0}")]
    InvalidBudget(f64),
    /// `cost_preference` is outside `[0, 1]` or the routing failed.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// Embedding the query text failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// A text query was given but the pool has no embedder.
    #[error("a text query needs an embedder: create the pool with `with_embedder`")]
    NoEmbedder,
    /// No model of the profile can run in the pool.
    #[error("no model of the profile fits the pool: {}", list(.excluded))]
    NoEligibleModel {
        /// Every model and why it was excluded.
        excluded: Vec<Skipped>,
    },
    /// Every allowed model failed to load.
    #[error("no model could be loaded: {}", list(.failures))]
    AllFailed {
        /// Each model tried and why it failed.
        failures: Vec<Skipped>,
    },
    /// The chosen model failed to generate.
    #[error("model `{model}` failed to generate: {source}")]
    Complete {
        /// The model.
        model: String,
        /// Cactus's error.
        source: CactusError,
    },
}

fn list(items: &[Skipped]) -> String {
    items
        .iter()
        .map(|s| format!("{} ({})", s.model, s.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A model left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Model name.
    pub model: String,
    /// Why.
    pub reason: String,
}

/// Unchecked pool parameters (`PoolParams::new().budget_mb(..).check()`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolParams {
    budget_mb: Option<f64>,
    base_dir: Option<PathBuf>,
}

/// Checked pool parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedPoolParams {
    budget_mb: f64,
    base_dir: Option<PathBuf>,
}

impl PoolParams {
    /// No budget yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The memory budget for resident generators, in MB (required).
    pub fn budget_mb(mut self, mb: f64) -> Self {
        self.budget_mb = Some(mb);
        self
    }

    /// Directory that relative model paths are resolved against.
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }

    /// Validates the parameters.
    pub fn check(self) -> Result<CheckedPoolParams, PoolError> {
        let b = self.budget_mb.unwrap_or(f64::NAN);
        if !(b.is_finite() && b > 0.0) {
            return Err(PoolError::InvalidBudget(b));
        }
        Ok(CheckedPoolParams {
            budget_mb: b,
            base_dir: self.base_dir,
        })
    }
}

/// What to route: a text (embedded by the pool's embedder) or an embedding.
#[derive(Debug, Clone, Copy)]
pub enum Query<'a> {
    /// A prompt text.
    Text(&'a str),
    /// A precomputed embedding.
    Embedding(&'a [f32]),
}

/// How a query was answered.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolDecision {
    /// The model that generated.
    pub model: String,
    /// Its index in the profile's models.
    pub model_index: usize,
    /// The nearest cluster.
    pub cluster: usize,
    /// Routing confidence of the final decision.
    pub confidence: f32,
    /// The chosen model's expected error.
    pub expected_error: f64,
    /// Whether the model was loaded for this call (not already resident).
    pub loaded: bool,
    /// Models evicted to make room, least recently used first.
    pub evicted: Vec<String>,
    /// Better-ranked models that failed to load, in the order tried.
    pub fallbacks: Vec<Skipped>,
    /// Models excluded from routing by the pool (too large for the budget,
    /// no `path`, no `size_mb`).
    pub excluded: Vec<Skipped>,
}

/// The decision and the completion.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolAnswer {
    /// How the query was routed and served.
    pub decision: PoolDecision,
    /// The generated completion.
    pub completion: Completion,
}

type Handle = Arc<Mutex<Box<dyn LoadedModel>>>;

enum State {
    Unloaded,
    Loading,
    Resident(Handle),
}

struct Slot {
    name: String,
    path: PathBuf,
    size_mb: f64,
    state: State,
    last_used: u64,
    in_use: usize,
}

struct Inner {
    slots: Vec<Option<Slot>>,
    resident_mb: f64,
    tick: u64,
}

/// Routes, loads and generates under a memory budget. `Send + Sync`: share
/// it between threads (e.g. in an `Arc`).
pub struct ModelPool {
    router: Router,
    backend: Arc<dyn ModelBackend>,
    embedder: Option<Box<dyn Embedder>>,
    budget_mb: f64,
    excluded: Vec<Skipped>,
    eligible: Vec<usize>,
    inner: Mutex<Inner>,
    released: Condvar,
}

impl std::fmt::Debug for ModelPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelPool")
            .field("budget_mb", &self.budget_mb)
            .field("resident", &self.resident_models())
            .field("excluded", &self.excluded)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A model taken by `acquire`; released on drop (also on panic). Its handle
/// is dropped before the release, so an eviction that follows really frees
/// the model.
struct InUse<'p> {
    pool: &'p ModelPool,
    m: usize,
    handle: Option<Handle>,
}

impl Drop for InUse<'_> {
    fn drop(&mut self) {
        drop(self.handle.take());
        let mut g = lock(&self.pool.inner);
        if let Some(slot) = g.slots[self.m].as_mut() {
            slot.in_use = slot.in_use.saturating_sub(1);
        }
        drop(g);
        self.pool.released.notify_all();
    }
}

impl ModelPool {
    /// A pool over the profile's models, loading them with Cactus.
    pub fn new(router: Router, params: &CheckedPoolParams) -> Result<ModelPool, PoolError> {
        Self::with_backend(router, params, Arc::new(CactusBackend))
    }

    /// A pool loading models with `backend`.
    pub fn with_backend(
        router: Router,
        params: &CheckedPoolParams,
        backend: Arc<dyn ModelBackend>,
    ) -> Result<ModelPool, PoolError> {
        let budget = params.budget_mb;
        let mut excluded = Vec::new();
        let mut eligible = Vec::new();
        let mut slots = Vec::new();
        for (i, m) in router.models().iter().enumerate() {
            let size = m.extra.get("size_mb").and_then(serde_json::Value::as_f64);
            let reason = match (m.path(), size) {
                (None, _) => Some("no `path` in the profile".to_string()),
                (_, None) => {
                    Some("no `size_mb` in the profile: its memory cannot be budgeted".into())
                }
                (_, Some(s)) if !(s.is_finite() && s >= 0.0) => {
                    Some(format!("invalid size_mb {s}"))
                }
                (_, Some(s)) if s > budget => Some(format!(
                    "size_mb {s} exceeds the memory budget of {budget} MB"
                )),
                _ => None,
            };
            if let Some(reason) = reason {
                excluded.push(Skipped {
                    model: m.name.clone(),
                    reason,
                });
                slots.push(None);
                continue;
            }
            let raw = m.path().unwrap_or_default();
            let path = match &params.base_dir {
                Some(dir)
                    if !raw.starts_with(cactus_sys::MOCK_PATH_PREFIX)
                        && Path::new(raw).is_relative() =>
                {
                    dir.join(raw)
                }
                _ => PathBuf::from(raw),
            };
            eligible.push(i);
            slots.push(Some(Slot {
                name: m.name.clone(),
                path,
                size_mb: size.unwrap_or(0.0),
                state: State::Unloaded,
                last_used: 0,
                in_use: 0,
            }));
        }
        if eligible.is_empty() {
            return Err(PoolError::NoEligibleModel { excluded });
        }
        Ok(ModelPool {
            router,
            backend,
            embedder: None,
            budget_mb: budget,
            excluded,
            eligible,
            inner: Mutex::new(Inner {
                slots,
                resident_mb: 0.0,
                tick: 0,
            }),
            released: Condvar::new(),
        })
    }

    /// Adds the embedder for text queries; it must be the profile's
    /// embedding model.
    pub fn with_embedder(mut self, embedder: Box<dyn Embedder>) -> Result<ModelPool, PoolError> {
        self.router.check_embedder(embedder.as_ref())?;
        self.embedder = Some(embedder);
        Ok(self)
    }

    /// The router.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The memory budget, in MB.
    pub fn budget_mb(&self) -> f64 {
        self.budget_mb
    }

    /// Models excluded from routing, and why.
    pub fn excluded(&self) -> &[Skipped] {
        &self.excluded
    }

    /// Resident models, least recently used first.
    pub fn resident_models(&self) -> Vec<String> {
        let g = lock(&self.inner);
        let mut r: Vec<(u64, String)> = g
            .slots
            .iter()
            .flatten()
            .filter(|s| matches!(s.state, State::Resident(_)))
            .map(|s| (s.last_used, s.name.clone()))
            .collect();
        r.sort();
        r.into_iter().map(|(_, n)| n).collect()
    }

    /// Total `size_mb` of the resident (and loading) models.
    pub fn resident_mb(&self) -> f64 {
        lock(&self.inner).resident_mb
    }

    /// Frees every idle model.
    pub fn unload_idle(&self) {
        let mut g = lock(&self.inner);
        let mut freed = 0.0;
        for s in g.slots.iter_mut().flatten() {
            if s.in_use == 0 && matches!(s.state, State::Resident(_)) {
                s.state = State::Unloaded;
                freed += s.size_mb;
            }
        }
        g.resident_mb -= freed;
    }

    /// Takes model `m` for one generation: loads it if needed, evicting
    /// idle models least recently used first; waits while the budget is held
    /// by models in use.
    fn acquire(&self, m: usize) -> Result<(InUse<'_>, bool, Vec<String>), CactusError> {
        let mut g = lock(&self.inner);
        let mut evicted = Vec::new();
        loop {
            g.tick += 1;
            let tick = g.tick;
            let inner = &mut *g;
            let slot = inner.slots[m].as_mut().expect("eligible model");
            match &slot.state {
                State::Resident(h) => {
                    let h = h.clone();
                    slot.in_use += 1;
                    slot.last_used = tick;
                    let in_use = InUse {
                        pool: self,
                        m,
                        handle: Some(h),
                    };
                    return Ok((in_use, false, evicted));
                }
                State::Loading => {
                    g = self.released.wait(g).unwrap_or_else(|e| e.into_inner());
                    continue;
                }
                State::Unloaded => {}
            }
            let size = slot.size_mb;
            while inner.resident_mb + size > self.budget_mb {
                let victim = inner
                    .slots
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| Some((i, s.as_ref()?)))
                    .filter(|(i, s)| {
                        *i != m && s.in_use == 0 && matches!(s.state, State::Resident(_))
                    })
                    .min_by_key(|(_, s)| s.last_used)
                    .map(|(i, _)| i);
                let Some(v) = victim else { break };
                let s = inner.slots[v].as_mut().expect("victim");
                s.state = State::Unloaded; // drops the model: cactus_destroy
                inner.resident_mb -= s.size_mb;
                evicted.push(s.name.clone());
            }
            if inner.resident_mb + size > self.budget_mb {
                // The budget is held by models in use: wait for a release.
                g = self.released.wait(g).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            inner.resident_mb += size;
            let slot = inner.slots[m].as_mut().expect("eligible model");
            slot.state = State::Loading;
            slot.in_use += 1;
            let (name, path) = (slot.name.clone(), slot.path.clone());
            drop(g);

            let loaded = self.backend.load(&name, &path);

            let mut g = lock(&self.inner);
            let inner = &mut *g;
            let slot = inner.slots[m].as_mut().expect("eligible model");
            let out = match loaded {
                Ok(model) => {
                    let h: Handle = Arc::new(Mutex::new(model));
                    slot.state = State::Resident(h.clone());
                    slot.last_used = tick;
                    let in_use = InUse {
                        pool: self,
                        m,
                        handle: Some(h),
                    };
                    Ok((in_use, true, evicted))
                }
                Err(e) => {
                    slot.state = State::Unloaded;
                    slot.in_use -= 1;
                    inner.resident_mb -= size;
                    Err(e)
                }
            };
            drop(g);
            self.released.notify_all();
            return out;
        }
    }

    /// Routes `query`, loads the chosen model (within the budget) and
    /// generates a completion of `messages`. `cost_preference` ∈ `[0, 1]`
    /// trades expected error for cost as in [`RouteOptions`].
    pub fn route_and_complete(
        &self,
        query: Query<'_>,
        messages: &[ChatMessage],
        cost_preference: f64,
    ) -> Result<PoolAnswer, PoolError> {
        self.route_and_complete_with(
            query,
            messages,
            cost_preference,
            &CompleteOptions::new(),
            None,
            &mut |_, _| TokenAction::Continue,
        )
    }

    /// [`route_and_complete`](Self::route_and_complete) with generation
    /// options, a cancel token and a streaming closure.
    pub fn route_and_complete_with(
        &self,
        query: Query<'_>,
        messages: &[ChatMessage],
        cost_preference: f64,
        options: &CompleteOptions,
        cancel: Option<&CancelToken>,
        on_token: &mut dyn FnMut(&str, u32) -> TokenAction,
    ) -> Result<PoolAnswer, PoolError> {
        let embedding: Cow<'_, [f32]> = match query {
            Query::Embedding(e) => Cow::Borrowed(e),
            Query::Text(t) => {
                let emb = self.embedder.as_ref().ok_or(PoolError::NoEmbedder)?;
                Cow::Owned(emb.embed(t)?)
            }
        };
        let mut allowed = self.eligible.clone();
        let mut fallbacks = Vec::new();
        loop {
            if allowed.is_empty() {
                return Err(PoolError::AllFailed {
                    failures: fallbacks,
                });
            }
            let opts = RouteOptions::builder()
                .cost_preference(cost_preference)
                .allowed_models(allowed.iter().map(|&i| ModelRef::Index(i)))
                .check()?;
            let d = self.router.route_embedding(&embedding, &opts)?;
            let m = d.model_index();
            match self.acquire(m) {
                Ok((in_use, loaded, evicted)) => {
                    let decision = PoolDecision {
                        model: d.model_name().to_string(),
                        model_index: m,
                        cluster: d.cluster(),
                        confidence: d.confidence(),
                        expected_error: d.expected_error(),
                        loaded,
                        evicted,
                        fallbacks,
                        excluded: self.excluded.clone(),
                    };
                    let handle = in_use.handle.as_ref().expect("taken model");
                    let completion = lock(handle)
                        .complete(messages, options, cancel, on_token)
                        .map_err(|source| PoolError::Complete {
                            model: decision.model.clone(),
                            source,
                        })?;
                    return Ok(PoolAnswer {
                        decision,
                        completion,
                    });
                }
                Err(e) => {
                    fallbacks.push(Skipped {
                        model: d.model_name().to_string(),
                        reason: format!("failed to load, fell back to the next best model: {e}"),
                    });
                    allowed.retain(|&i| i != m);
                }
            }
        }
    }
}
