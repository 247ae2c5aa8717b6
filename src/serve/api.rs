//! The HTTP endpoints: request parsing, the handlers, the token check and
//! the request log.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::Shared;
use crate::embed::Embedder;
use crate::stream::{BatchItem, ClusterInfo};

type ApiResult = Result<Response, ApiError>;

/// The application: every route, the body limit, the token check (all but
/// `/healthz`) and the request log.
pub(super) fn app(state: Arc<Shared>) -> axum::Router {
    let protected = axum::Router::new()
        .route("/groups/{id}/clusters", get(clusters))
        .route("/groups/{id}/items", post(ingest))
        .route("/route", post(route))
        .route("/routes/match", post(routes_match))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    axum::Router::new()
        .route("/healthz", get(healthz))
        .merge(protected)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .with_state(state)
}

/// Logs each request (method, path, status, latency) and counts errors.
async fn log_request(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let t0 = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status();
    let micros = t0.elapsed().as_micros();
    if status.as_u16() >= 400 {
        s.metrics.count_error(status.as_u16());
        tracing::warn!(%method, %path, status = status.as_u16(), micros, "request failed");
    } else {
        tracing::debug!(%method, %path, status = status.as_u16(), micros, "request");
    }
    resp
}

/// `Authorization: Bearer <token>`, compared in constant time.
async fn auth(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    if let Some(token) = &s.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let Some(given) = given else {
            return ApiError::unauthorized("missing `Authorization: Bearer <token>`")
                .into_response();
        };
        // `ct_eq` on slices of different lengths is false at once: only the
        // token's length can leak through timing, never its bytes.
        if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
            return ApiError::unauthorized("wrong token").into_response();
        }
    }
    next.run(req).await
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    let text = s.metrics.render(&s.store.stats());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// The body as JSON `T`: an over-limit body, malformed JSON or a wrong
/// shape is a `400`.
fn parse<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::bad_request(format!("request body over the limit: {e}"))
        } else {
            ApiError::bad_request(format!("cannot read the request body: {e}"))
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
}

/// Runs blocking work (embedding, fsync, cluster updates) off the async
/// workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
}

/// An item id: a JSON string or number.
#[derive(Deserialize)]
#[serde(untagged)]
enum ItemId {
    Str(String),
    Num(serde_json::Number),
}

/// One element of `POST /groups/{id}/items`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemIn {
    id: ItemId,
    #[serde(default)]
    embedding: Option<Vec<f32>>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    quality: Option<f32>,
    #[serde(default)]
    timestamp: Option<f64>,
}

async fn ingest(
    State(s): State<Arc<Shared>>,
    Path(group): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let raw: Vec<ItemIn> = parse(body)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut items = Vec::with_capacity(raw.len());
    let mut texts: Vec<(usize, String)> = Vec::new();
    for (i, it) in raw.into_iter().enumerate() {
        let id = match it.id {
            ItemId::Str(s) => s,
            ItemId::Num(n) => n.to_string(),
        };
        let embedding = match (it.embedding, it.text) {
            (Some(e), None) => e,
            (None, Some(t)) => {
                texts.push((i, t));
                Vec::new()
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "item {i} (`{id}`): give exactly one of `embedding` and `text`"
                )))
            }
        };
        items.push(BatchItem {
            id,
            embedding,
            quality: it.quality,
            timestamp: it.timestamp.unwrap_or(now),
        });
    }
    let s2 = s.clone();
    let out = blocking(move || {
        if !texts.is_empty() {
            let Some(e) = &s2.embedder else {
                return Err(ApiError::bad_request(format!(
                    "item {} has `text`, but the service has no embedder: start it with --model DIR, or send `embedding`",
                    texts[0].0
                )));
            };
            let t0 = Instant::now();
            let refs: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
            let vecs = e.embed_batch(&refs)?;
            s2.metrics.embed.observe(t0.elapsed());
            for ((i, _), v) in texts.iter().zip(vecs) {
                items[*i].embedding = v;
            }
        }
        let t0 = Instant::now();
        let r = s2.store.insert_batch(&group, &items)?;
        s2.metrics.cluster.observe(t0.elapsed());
        let added = r.added;
        s2.metrics
            .items_ingested
            .fetch_add(added as u64, Ordering::Relaxed);
        s2.metrics.batches.fetch_add(1, Ordering::Relaxed);
        let assignments: Vec<Value> = items
            .iter()
            .zip(&r.assignments)
            .map(|(it, a)| json!({"id": it.id, "cluster": a.cluster, "new_cluster": a.new_cluster}))
            .collect();
        Ok(json!({"group": group, "added": added, "assignments": assignments}))
    })
    .await?;
    Ok(Json(out).into_response())
}

/// The body of `GET /groups/{id}/clusters` (serialised straight from the
/// store's float32 values: shortest decimals, about half the bytes of going
/// through `serde_json::Value`).
#[derive(Serialize)]
struct ClustersOut {
    group: String,
    embedding_model: String,
    items: usize,
    clustered: usize,
    clustered_fraction: f64,
    pending: usize,
    pending_ids: Vec<String>,
    clusters: Vec<ClusterInfo>,
}

async fn clusters(State(s): State<Arc<Shared>>, Path(group): Path<String>) -> ApiResult {
    let out = blocking(move || {
        let t0 = Instant::now();
        let cl = s.store.clusters(&group)?;
        s.metrics.hero.observe(t0.elapsed());
        let pending = s.store.pending(&group)?;
        let clustered: usize = cl.iter().map(|c| c.size).sum();
        let items = clustered + pending.len();
        Ok(ClustersOut {
            group,
            embedding_model: s.store.embedding_model().to_string(),
            items,
            clustered,
            clustered_fraction: if items == 0 {
                0.0
            } else {
                clustered as f64 / items as f64
            },
            pending: pending.len(),
            pending_ids: pending,
            clusters: cl,
        })
    })
    .await?;
    Ok(Json(out).into_response())
}

/// The body of `POST /route` and `POST /routes/match`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    embedding: Option<Vec<f32>>,
    #[serde(default)]
    cost_preference: Option<f64>,
}

/// The query's vector: its `embedding`, or its `text` embedded with `e`.
fn query_vector(q: Query, e: Option<&Arc<dyn Embedder>>, s: &Shared) -> Result<Vec<f32>, ApiError> {
    match (q.embedding, q.text) {
        (Some(v), None) => Ok(v),
        (None, Some(t)) => {
            let Some(e) = e else {
                return Err(ApiError::bad_request(
                    "`text` needs an embedder of the file's model: start the service with --model DIR, or send `embedding`",
                ));
            };
            let t0 = Instant::now();
            let v = e.embed(&t)?;
            s.metrics.embed.observe(t0.elapsed());
            Ok(v)
        }
        _ => Err(ApiError::bad_request(
            "give exactly one of `text` and `embedding`",
        )),
    }
}

async fn route(State(s): State<Arc<Shared>>, body: Result<Bytes, BytesRejection>) -> ApiResult {
    let q: Query = parse(body)?;
    let needs_embedding = q.text.is_some();
    let run = move |s: &Shared, q: Query| -> Result<Value, ApiError> {
        let Some(router) = s.router.as_ref() else {
            return Err(ApiError::not_found(
                "no router profile: start the service with --profile P.json",
            ));
        };
        let mut b = router.options();
        if let Some(c) = q.cost_preference {
            b = b.cost_preference(c);
        }
        let opts = b.check()?;
        if let (Some(e), true) = (&s.router_embedder, q.text.is_some()) {
            router.check_embedder(e.as_ref())?;
        }
        let v = query_vector(q, s.router_embedder.as_ref(), s)?;
        let t0 = Instant::now();
        let d = router.route_embedding(&v, &opts)?;
        s.metrics.route.observe(t0.elapsed());
        Ok(d.to_json())
    };
    let out = if needs_embedding {
        let s2 = s.clone();
        blocking(move || run(&s2, q)).await?
    } else {
        run(&s, q)?
    };
    Ok(Json(out).into_response())
}

async fn routes_match(
    State(s): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let q: Query = parse(body)?;
    if q.cost_preference.is_some() {
        return Err(ApiError::bad_request(
            "`cost_preference` applies to POST /route only",
        ));
    }
    let needs_embedding = q.text.is_some();
    let run = move |s: &Shared, q: Query| -> Result<Value, ApiError> {
        let Some(routes) = s.routes.as_ref() else {
            return Err(ApiError::not_found(
                "no route set: start the service with --routes R.json",
            ));
        };
        if let (Some(e), true) = (&s.routes_embedder, q.text.is_some()) {
            routes.check_embedder(e.as_ref())?;
        }
        let v = query_vector(q, s.routes_embedder.as_ref(), s)?;
        let t0 = Instant::now();
        let m = routes.match_embedding(&v)?;
        s.metrics.routes_match.observe(t0.elapsed());
        Ok(m.to_json())
    };
    let out = if needs_embedding {
        let s2 = s.clone();
        blocking(move || run(&s2, q)).await?
    } else {
        run(&s, q)?
    };
    Ok(Json(out).into_response())
}
