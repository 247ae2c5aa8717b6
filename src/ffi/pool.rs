//! C ABI of the model pool ([`crate::pool::ModelPool`]): route, load under a
//! memory budget and generate.
//!
//! ```c
//! AuroraPool *pool = aurora_pool_new(router, 4000.0, NULL);
//! char *json = aurora_pool_complete_embedding(pool, emb, dim,
//!     "[{\"role\":\"user\",\"content\":\"Hi\"}]", 0.0f);
//! // {"decision":{"model":"big",...,"fallbacks":[],"excluded":[...]},
//! //  "completion":{"response":"...","total_tokens":...}}
//! aurora_string_free(json);
//! aurora_pool_free(pool);
//! ```
//!
//! A pool is `Send + Sync`: call it from any number of threads.

use std::ffi::c_char;
use std::path::PathBuf;
use std::ptr;

use cactus_sys::ChatMessage;
use serde_json::{json, Value};

use super::{
    c_str, check_ptr, cstring_lossy, embedder, guard, router, AuroraEmbedder, AuroraRouter,
    AuroraStatus, FfiError,
};
use crate::embed::Embedder;
use crate::pool::{ModelPool, PoolAnswer, PoolError, PoolParams, Query, Skipped};

/// A model pool (opaque).
pub struct AuroraPool {
    pool: ModelPool,
}

impl From<PoolError> for FfiError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Route(r) => r.into(),
            PoolError::Embed(e) => e.into(),
            PoolError::InvalidBudget(_) => {
                FfiError::new(AuroraStatus::InvalidArgument, e.to_string())
            }
            PoolError::NoEmbedder => FfiError::new(AuroraStatus::NullPointer, e.to_string()),
            _ => FfiError::new(AuroraStatus::Model, e.to_string()),
        }
    }
}

fn skipped(v: &[Skipped]) -> Value {
    Value::Array(
        v.iter()
            .map(|s| json!({"model": s.model, "reason": s.reason}))
            .collect(),
    )
}

/// The JSON handed to C (and to uniffi callers).
pub(crate) fn answer_json(a: &PoolAnswer) -> Value {
    let d = &a.decision;
    let c = &a.completion;
    json!({
        "decision": {
            "model": d.model,
            "model_index": d.model_index,
            "cluster": d.cluster,
            "confidence": d.confidence,
            "expected_error": d.expected_error,
            "loaded": d.loaded,
            "evicted": d.evicted,
            "fallbacks": skipped(&d.fallbacks),
            "excluded": skipped(&d.excluded),
        },
        "completion": {
            "response": c.response,
            "cancelled": c.cancelled,
            "time_to_first_token_ms": c.time_to_first_token_ms,
            "total_time_ms": c.total_time_ms,
            "prefill_tokens": c.prefill_tokens,
            "decode_tokens": c.decode_tokens,
            "total_tokens": c.total_tokens,
        },
    })
}

/// Parses a JSON array of `{"role","content"}` messages.
pub(crate) fn parse_messages(json: &str) -> Result<Vec<ChatMessage>, String> {
    let m: Vec<ChatMessage> = serde_json::from_str(json)
        .map_err(|e| format!("`messages_json` is not a JSON array of {{role, content}}: {e}"))?;
    if m.is_empty() {
        return Err("`messages_json` has no message".into());
    }
    Ok(m)
}

/// Borrows a pool handle.
///
/// # Safety
///
/// `p` is NULL or a live handle from `aurora_pool_new`.
unsafe fn pool<'a>(p: *const AuroraPool) -> Result<&'a ModelPool, FfiError> {
    check_ptr(p, "pool")?;
    // SAFETY: a live handle by the caller's contract.
    Ok(&unsafe { &*p }.pool)
}

/// Creates a pool over `router`'s models (copied: the router may be freed
/// afterwards) with a memory budget of `budget_mb` MB. Relative model paths
/// are resolved against `base_dir` (may be NULL). Returns `NULL` on error
/// (`AURORA_STATUS_MODEL` when no model fits).
///
/// # Safety
///
/// `r` is NULL or a live router; `base_dir` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn aurora_pool_new(
    r: *const AuroraRouter,
    budget_mb: f64,
    base_dir: *const c_char,
) -> *mut AuroraPool {
    guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: forwarded contract.
            let router = unsafe { router(r) }?.router.clone();
            let mut params = PoolParams::new().budget_mb(budget_mb);
            if !base_dir.is_null() {
                // SAFETY: forwarded contract.
                params = params.base_dir(PathBuf::from(unsafe { c_str(base_dir, "base_dir") }?));
            }
            let pool = ModelPool::new(router, &params.check()?)?;
            Ok(Box::into_raw(Box::new(AuroraPool { pool })))
        },
    )
}

/// Frees a pool and every model it holds. `NULL` is a no-op.
///
/// # Safety
///
/// `p` is NULL or a pool not yet freed; no other thread is using it.
#[no_mangle]
pub unsafe extern "C" fn aurora_pool_free(p: *mut AuroraPool) {
    if p.is_null() {
        return;
    }
    guard(
        |_| (),
        || {
            // SAFETY: allocated by `Box::into_raw` in `aurora_pool_new`.
            drop(unsafe { Box::from_raw(p) });
            Ok(())
        },
    )
}

fn complete(
    pool: &ModelPool,
    query: Query<'_>,
    messages_json: &str,
    cost_preference: f32,
) -> Result<*mut c_char, FfiError> {
    let messages = parse_messages(messages_json)
        .map_err(|m| FfiError::new(AuroraStatus::InvalidArgument, m))?;
    let answer = pool.route_and_complete(query, &messages, f64::from(cost_preference))?;
    Ok(cstring_lossy(&answer_json(&answer).to_string()).into_raw())
}

/// Routes the embedding (`dim` floats), loads the chosen model within the
/// budget and generates a completion of `messages_json` (a JSON array of
/// `{"role","content"}`). Returns the decision and the completion as JSON
/// (owned: free with `aurora_string_free`), or `NULL` on error.
///
/// # Safety
///
/// `p` is a live pool; `embedding` points to `dim` floats; `messages_json`
/// is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn aurora_pool_complete_embedding(
    p: *const AuroraPool,
    embedding: *const f32,
    dim: usize,
    messages_json: *const c_char,
    cost_preference: f32,
) -> *mut c_char {
    guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: forwarded contract.
            let pool = unsafe { pool(p) }?;
            check_ptr(embedding, "embedding")?;
            // SAFETY: `dim` readable floats by the caller's contract.
            let e = unsafe { std::slice::from_raw_parts(embedding, dim) };
            // SAFETY: forwarded contract.
            let m = unsafe { c_str(messages_json, "messages_json") }?;
            complete(pool, Query::Embedding(e), m, cost_preference)
        },
    )
}

/// Like `aurora_pool_complete_embedding`, embedding `text` with `e` (which
/// must be the profile's embedding model) first.
///
/// # Safety
///
/// `p` is a live pool, `e` a live embedder; the strings are NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn aurora_pool_complete_text(
    p: *const AuroraPool,
    e: *const AuroraEmbedder,
    text: *const c_char,
    messages_json: *const c_char,
    cost_preference: f32,
) -> *mut c_char {
    guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: forwarded contract.
            let pool = unsafe { pool(p) }?;
            // SAFETY: forwarded contract.
            let e: &dyn Embedder = &*unsafe { embedder(e) }?.embedder;
            pool.router().check_embedder(e)?;
            // SAFETY: forwarded contract.
            let text = unsafe { c_str(text, "text") }?;
            // SAFETY: forwarded contract.
            let m = unsafe { c_str(messages_json, "messages_json") }?;
            let v = e.embed(text)?;
            complete(pool, Query::Embedding(&v), m, cost_preference)
        },
    )
}

/// Total `size_mb` of the models resident in the pool (-1 on error).
///
/// # Safety
///
/// `p` is NULL or a live pool.
#[no_mangle]
pub unsafe extern "C" fn aurora_pool_resident_mb(p: *const AuroraPool) -> f64 {
    // SAFETY: forwarded contract.
    guard(|_| -1.0, || Ok(unsafe { pool(p) }?.resident_mb()))
}
