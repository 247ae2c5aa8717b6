//! `aurora serve`: the cluster store, the LLM router and a route set behind
//! a small HTTP service (axum on tokio, logs through `tracing`), for teams
//! that cluster on a server. Feature `serve` (server-side only: the mobile
//! library never links tokio).
//!
//! It adds no algorithm: every answer comes from the same library calls the
//! phone makes ([`ClusterStore`], [`Router`], [`RouteSet`]) and the JSON is
//! the CLI's ([`RouteDecision::to_json`](crate::route::RouteDecision::to_json),
//! [`RouteMatch::to_json`](crate::routes::RouteMatch::to_json)).
//!
//! # Endpoints
//!
//! | | |
//! |---|---|
//! | `GET /groups/{id}/clusters` | the group's clusters (id, size, centroid, spread, heroes, first/last seen) and coverage: `items`, `clustered`, `clustered_fraction`, `pending`, `pending_ids`; `404` for an unknown group |
//! | `POST /groups/{id}/items` | `[{id, embedding \| text, quality?, timestamp?}]` → `{group, added, assignments: [{id, cluster, new_cluster}]}`; all or nothing, idempotent per item id (`409` for an id already stored with another vector) |
//! | `POST /route` | `{text \| embedding, cost_preference?}` → `aurora route --json`'s object (needs a profile) |
//! | `POST /routes/match` | `{text \| embedding}` → `aurora routes match --json`'s object (needs a route set) |
//! | `GET /metrics` | Prometheus text: latency histograms of embed, cluster, hero and route; counters of items, batches and errors; gauges of the store's groups, items, clusters, pending |
//! | `GET /healthz` | `{"status": "ok"}`, never behind the token |
//!
//! Errors are JSON `{"error": message, "status": code}`: `400` for
//! malformed JSON, a wrong dimension, NaN or infinite values, or a body over
//! the limit; `404` for an unknown group; `401` for a missing or wrong
//! bearer token (compared in constant time).
//!
//! # Sharing the store
//!
//! One [`ClusterStore`] serves every request through an `Arc`, without an
//! outer lock: the store is `Send + Sync` by itself — a `RwLock` over the
//! map of groups, a `Mutex` per group and a `Mutex` on the log. A batch
//! holds its group's lock while it validates, appends its records to the
//! log (one write, one `fdatasync`) and updates the clusters, so batches
//! into one group are serialised (the log's order is the order they were
//! applied in, which replay reproduces) and batches into different groups
//! run in parallel. Blocking work (embedding, disk writes, cluster updates)
//! runs on tokio's blocking pool, never on the async workers.
//!
//! # Shutdown
//!
//! SIGTERM or SIGINT stops accepting connections; requests in flight finish,
//! then the log is `fdatasync`ed ([`ClusterStore::sync`]) and the store
//! closed. Every acknowledged batch was already written before its response
//! (and survives a SIGKILL).

mod api;
mod error;
mod metrics;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub use error::{ApiError, ServeError};
pub use metrics::{Histogram, Metrics, BUCKETS};

use crate::embed::{CactusEmbedder, Embedder};
use crate::route::Router;
use crate::routes::RouteSet;
use crate::stream::ClusterStore;

/// Default request-body limit: 8 MiB (about 5 000 items of 384 numbers).
pub const DEFAULT_BODY_LIMIT: usize = 8 << 20;

/// Parameters of the service; [`check`](Self::check) them into
/// [`CheckedServeParams`].
///
/// ```
/// use aurora_router::serve::ServeParams;
///
/// let p = ServeParams::new().addr("127.0.0.1:0".parse().unwrap()).check().unwrap();
/// assert!(p.addr().ip().is_loopback());
/// assert!(ServeParams::new().body_limit(0).check().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct ServeParams {
    addr: SocketAddr,
    token: Option<String>,
    body_limit: usize,
}

impl Default for ServeParams {
    fn default() -> Self {
        ServeParams {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

impl ServeParams {
    /// Loopback port 8080, no token, an 8 MiB body limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// The address to listen on (loopback by default).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Require `Authorization: Bearer <token>` on every endpoint but `/healthz`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Reads the token from the first line of `path` (surrounding
    /// whitespace ignored).
    pub fn token_file(self, path: impl AsRef<Path>) -> Result<Self, ServeError> {
        let path = path.as_ref();
        let err = |reason: String| ServeError::TokenFile {
            path: path.into(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let token = text.lines().next().unwrap_or("").trim();
        if token.is_empty() {
            return Err(err("the token file is empty".into()));
        }
        Ok(self.token(token))
    }

    /// The largest request body accepted, in bytes (larger: `400`).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Checks the parameters.
    pub fn check(self) -> Result<CheckedServeParams, ServeError> {
        if self.body_limit == 0 {
            return Err(ServeError::InvalidParam {
                name: "body_limit",
                reason: "must be at least 1 byte".into(),
            });
        }
        if let Some(t) = &self.token {
            if t.is_empty() || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ServeError::InvalidParam {
                    name: "token",
                    reason: "must be non-empty, without whitespace or control characters".into(),
                });
            }
        }
        Ok(CheckedServeParams(self))
    }
}

/// Checked [`ServeParams`].
#[derive(Debug, Clone)]
pub struct CheckedServeParams(ServeParams);

impl CheckedServeParams {
    /// The address to listen on.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// Whether a bearer token is required.
    pub fn has_token(&self) -> bool {
        self.0.token.is_some()
    }
}

/// What the service answers with: the store, and optionally an embedder
/// (for `text`), a router profile and a route set.
///
/// ```
/// use aurora_router::serve::Service;
/// use aurora_router::stream::{ClusterStore, StreamParams};
///
/// let store = ClusterStore::in_memory("toy", 2, StreamParams::new().check().unwrap()).unwrap();
/// let service = Service::new(store);
/// assert!(service.store().groups().is_empty());
/// ```
pub struct Service {
    store: ClusterStore,
    embedder: Option<Arc<dyn Embedder>>,
    router: Option<Router>,
    routes: Option<RouteSet>,
}

impl Service {
    /// A service over `store` (no embedder, router or route set yet).
    pub fn new(store: ClusterStore) -> Self {
        Service {
            store,
            embedder: None,
            router: None,
            routes: None,
        }
    }

    /// The embedder for items, route and route-set queries given as `text`.
    /// It must make the store's vectors (model and dimension).
    pub fn embedder(mut self, embedder: Box<dyn Embedder>) -> Result<Self, ServeError> {
        self.store
            .check_model(embedder.model_id(), embedder.dim())?;
        self.embedder = Some(Arc::from(embedder));
        Ok(self)
    }

    /// The router profile behind `POST /route`.
    pub fn router(mut self, router: Router) -> Self {
        self.router = Some(router);
        self
    }

    /// The route set behind `POST /routes/match`.
    pub fn routes(mut self, routes: RouteSet) -> Self {
        self.routes = Some(routes);
        self
    }

    /// The store.
    pub fn store(&self) -> &ClusterStore {
        &self.store
    }

    /// The embedder used for a file's `text` queries: the service's when it
    /// makes that file's vectors, else the mock for a file built on mock
    /// vectors (as the CLI does), else the service's (which the file then
    /// refuses with a clear error).
    fn embedder_for(&self, model: &str, dim: usize, is_mock: bool) -> Option<Arc<dyn Embedder>> {
        let own = self.embedder.clone();
        if own
            .as_ref()
            .is_some_and(|e| e.model_id() == model && e.dim() == dim)
        {
            return own;
        }
        if is_mock {
            if let Ok(m) = CactusEmbedder::mock(dim) {
                return Some(Arc::new(m) as Arc<dyn Embedder>);
            }
        }
        own
    }
}

/// What every handler shares.
struct Shared {
    store: ClusterStore,
    embedder: Option<Arc<dyn Embedder>>,
    router: Option<Router>,
    router_embedder: Option<Arc<dyn Embedder>>,
    routes: Option<RouteSet>,
    routes_embedder: Option<Arc<dyn Embedder>>,
    token: Option<String>,
    body_limit: usize,
    metrics: Metrics,
}

/// Serves `service` on `params.addr()` until `shutdown` resolves, then
/// lets requests in flight finish and syncs the store. `on_bound` gets the
/// bound address (useful with port 0).
pub async fn serve(
    service: Service,
    params: CheckedServeParams,
    on_bound: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let p = params.0;
    let router_embedder = service
        .router
        .as_ref()
        .and_then(|r| service.embedder_for(r.embedding_model(), r.dim(), r.is_mock()));
    let routes_embedder = service
        .routes
        .as_ref()
        .and_then(|r| service.embedder_for(r.embedding_model(), r.dim(), r.is_mock()));
    let shared = Arc::new(Shared {
        store: service.store,
        embedder: service.embedder,
        router: service.router,
        router_embedder,
        routes: service.routes,
        routes_embedder,
        token: p.token,
        body_limit: p.body_limit,
        metrics: Metrics::default(),
    });
    let listener = tokio::net::TcpListener::bind(p.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: p.addr,
            source,
        })?;
    let bound = listener.local_addr().map_err(ServeError::Server)?;
    if !bound.ip().is_loopback() && shared.token.is_none() {
        tracing::warn!(%bound, "listening beyond loopback without a token (--token-file)");
    }
    tracing::info!(
        %bound,
        model = shared.store.embedding_model(),
        dim = shared.store.dim(),
        groups = shared.store.stats().groups,
        router = shared.router.is_some(),
        routes = shared.routes.is_some(),
        token = shared.token.is_some(),
        "serving"
    );
    on_bound(bound);
    axum::serve(listener, api::app(shared.clone()))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServeError::Server)?;
    tracing::info!("stopped accepting requests; syncing the store");
    shared.store.sync()?;
    Ok(())
}

/// A future that resolves on SIGTERM or SIGINT (Ctrl-C). The handlers are
/// installed when this is called (inside a tokio runtime), so a signal that
/// arrives before the future is first polled is not lost.
pub fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, ServeError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(ServeError::Server)?;
        let mut int = signal(SignalKind::interrupt()).map_err(ServeError::Server)?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
                _ = int.recv() => tracing::info!("SIGINT: shutting down"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("Ctrl-C: shutting down");
        })
    }
}

/// Runs [`serve`] on a multi-threaded tokio runtime until SIGTERM or
/// SIGINT (what `aurora serve` calls).
pub fn run(
    service: Service,
    params: CheckedServeParams,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Server)?;
    rt.block_on(async {
        let shutdown = shutdown_signal()?;
        serve(service, params, on_bound, shutdown).await
    })
}
