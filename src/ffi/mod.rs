//! The C ABI: opaque handles with the `aurora_` prefix, declared in
//! `include/aurora_router.h` (generated from this module by cbindgen; run
//! `scripts/gen-bindings.sh` after changing it — CI fails on a stale header).
//!
//! # Conventions
//!
//! * **Ownership.** Every `aurora_*_from_*` / `aurora_*_open*` handle is
//!   released with its `aurora_*_free` (`NULL` is a no-op). Strings returned
//!   as `char *` are owned by the caller and released with
//!   [`aurora_string_free`]; strings returned as `const char *` are borrowed
//!   and live as long as the handle they came from (or, for
//!   [`aurora_last_error`], until this thread's next call).
//! * **Errors.** Functions returning `int32_t` return `AURORA_STATUS_OK` (0)
//!   or a negative [`AuroraStatus`]; functions returning a handle return
//!   `NULL`; counts return 0. In every error case [`aurora_last_error`] and
//!   [`aurora_last_error_code`] tell what happened, per thread. Outputs
//!   (`AuroraRoute *out`, `float *out`) are written only on success.
//! * **Safety.** `NULL` pointers, misaligned pointers, wrong dimensions,
//!   invalid UTF-8, non-finite or zero embeddings and out-of-range arguments
//!   are reported as errors. No Rust panic crosses the boundary: every entry
//!   point runs under `catch_unwind` and a panic becomes
//!   `AURORA_STATUS_PANIC`. Pointers must otherwise be valid for what they
//!   claim (`len` readable bytes, `dim` readable floats, a live handle).
//! * **Threads.** An `AuroraRouter` is immutable and may be used from any
//!   number of threads at once; an `AuroraEmbedder` serialises its calls.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::embed::{CactusEmbedder, EmbedError, Embedder};
use crate::route::{RouteDecision, RouteError, RouteOptions, Router};

mod stream;
pub use stream::{AuroraStreamInsertion, AuroraStreamStore};
#[cfg(any(test, feature = "fault-injection"))]
pub mod fault;
#[cfg(not(any(test, feature = "fault-injection")))]
pub(crate) mod fault;

/// Status codes of the C ABI (`int32_t`): 0 is success, errors are negative.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuroraStatus {
    /// Success.
    Ok = 0,
    /// A required pointer argument is `NULL`.
    NullPointer = -1,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = -2,
    /// An argument is out of range: a cost preference outside [0, 1] or NaN,
    /// an index past the end, a misaligned pointer.
    InvalidArgument = -3,
    /// The profile cannot be read, is not valid JSON or is invalid.
    Profile = -4,
    /// The embedding's dimension is not the profile's.
    Dimension = -5,
    /// The embedding has a NaN or infinite component, or is all zeros.
    InvalidEmbedding = -6,
    /// The embedder failed (model not found, Cactus error, empty text).
    Embedder = -7,
    /// The embedder is not the model the profile was built with.
    EmbedderMismatch = -8,
    /// An internal error (a Rust panic, caught at the boundary).
    Panic = -9,
    /// A generator model of a pool: none fits the budget, none could be
    /// loaded, or generation failed.
    Model = -10,
    /// The cluster store failed: I/O, a full disk, a read-only directory, a
    /// newer format, an unknown group, item or cluster, a duplicate item.
    Store = -11,
}

/// A routing decision, as returned to C.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuroraRoute {
    /// Index of the chosen model (see `aurora_router_model_name`).
    pub model_index: u32,
    /// The nearest cluster.
    pub cluster: u32,
    /// Cosine similarity of the query to that cluster's centroid, in [-1, 1].
    pub similarity: f32,
    /// Confidence in that cluster, in (0, 1].
    pub confidence: f32,
}

/// A loaded router profile (opaque). Immutable: share it across threads.
pub struct AuroraRouter {
    router: Router,
    names: Box<[CString]>,
    embedding_model: CString,
}

/// An embedding model (opaque): a Cactus model (the real engine on devices,
/// the deterministic mock on hosts without it) or, with the `bert` feature,
/// the pure-Rust all-MiniLM-L6-v2 / BERT embedder.
pub struct AuroraEmbedder {
    embedder: Box<dyn Embedder>,
    model_id: CString,
}

/// An error on its way to C.
struct FfiError {
    status: AuroraStatus,
    message: String,
}

impl FfiError {
    fn new(status: AuroraStatus, message: impl Into<String>) -> Self {
        FfiError {
            status,
            message: message.into(),
        }
    }
}

impl From<RouteError> for FfiError {
    fn from(e: RouteError) -> Self {
        let status = match &e {
            RouteError::Profile(_) => AuroraStatus::Profile,
            RouteError::Embed(_) => AuroraStatus::Embedder,
            RouteError::EmbedderMismatch { .. } => AuroraStatus::EmbedderMismatch,
            RouteError::Dimension { .. } => AuroraStatus::Dimension,
            RouteError::InvalidEmbedding(_) => AuroraStatus::InvalidEmbedding,
            _ => AuroraStatus::InvalidArgument,
        };
        FfiError::new(status, e.to_string())
    }
}

impl From<EmbedError> for FfiError {
    fn from(e: EmbedError) -> Self {
        FfiError::new(AuroraStatus::Embedder, e.to_string())
    }
}

thread_local! {
    /// This thread's last error: its status and message.
    static LAST_ERROR: RefCell<(i32, CString)> = RefCell::new((0, CString::default()));
}

/// Makes the next C ABI call on this thread panic inside its guard (tests).
#[cfg(test)]
pub(crate) fn inject_panic() {
    fault::inject_panic();
}

fn set_last_error(status: AuroraStatus, message: &str) {
    let message = CString::new(message.replace('\0', "\u{FFFD}")).unwrap_or_default();
    // During thread teardown the slot may be gone: nothing to report to then.
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = (status as i32, message));
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "unknown panic payload"
    }
}

/// Runs an entry point's body: errors and panics are recorded as this
/// thread's last error and turned into `on_error(status)`.
fn guard<T>(
    on_error: impl FnOnce(AuroraStatus) -> T,
    body: impl FnOnce() -> Result<T, FfiError>,
) -> T {
    let result = catch_unwind(AssertUnwindSafe(|| {
        fault::point();
        body()
    }));
    match result {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            set_last_error(e.status, &e.message);
            on_error(e.status)
        }
        Err(payload) => {
            set_last_error(
                AuroraStatus::Panic,
                &format!("internal error (Rust panic): {}", panic_message(&*payload)),
            );
            // A payload whose destructor panics must not unwind either.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            on_error(AuroraStatus::Panic)
        }
    }
}

/// The status as the C functions return it.
fn status(s: AuroraStatus) -> i32 {
    s as i32
}

fn null(what: &str) -> FfiError {
    FfiError::new(AuroraStatus::NullPointer, format!("`{what}` is NULL"))
}

/// Checks that `p` is non-NULL and aligned for `T`.
fn check_ptr<T>(p: *const T, what: &str) -> Result<(), FfiError> {
    if p.is_null() {
        return Err(null(what));
    }
    if !p.is_aligned() {
        return Err(FfiError::new(
            AuroraStatus::InvalidArgument,
            format!("`{what}` is not aligned for its type"),
        ));
    }
    Ok(())
}

/// Borrows a NUL-terminated UTF-8 string.
///
/// # Safety
///
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
unsafe fn c_str<'a>(p: *const c_char, what: &str) -> Result<&'a str, FfiError> {
    if p.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_str().map_err(|e| {
        FfiError::new(
            AuroraStatus::InvalidUtf8,
            format!("`{what}` is not valid UTF-8: {e}"),
        )
    })
}

/// Borrows a router handle.
///
/// # Safety
///
/// `r` is NULL or a live handle from `aurora_router_from_*`.
unsafe fn router<'a>(r: *const AuroraRouter) -> Result<&'a AuroraRouter, FfiError> {
    check_ptr(r, "router")?;
    // SAFETY: a live handle by the caller's contract.
    Ok(unsafe { &*r })
}

/// Borrows an embedder handle.
///
/// # Safety
///
/// `e` is NULL or a live handle from `aurora_embedder_open*`.
unsafe fn embedder<'a>(e: *const AuroraEmbedder) -> Result<&'a AuroraEmbedder, FfiError> {
    check_ptr(e, "embedder")?;
    // SAFETY: a live handle by the caller's contract.
    Ok(unsafe { &*e })
}

fn cstring_lossy(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

/// The profile's recommended options ([`Router::options`]) at this cost
/// preference.
fn options(router: &Router, cost_preference: f32) -> Result<RouteOptions, FfiError> {
    Ok(router
        .options()
        .cost_preference(f64::from(cost_preference))
        .check()?)
}

fn write_route(d: &RouteDecision<'_>, out: *mut AuroraRoute) {
    let route = AuroraRoute {
        // Indices fit: the profile caps clusters and models far below 2^32.
        model_index: d.model_index() as u32,
        cluster: d.cluster() as u32,
        similarity: d.similarity(),
        confidence: d.confidence(),
    };
    // SAFETY: checked non-NULL and aligned; writable by the caller's contract.
    unsafe { out.write(route) };
}

fn into_handle(router: Router) -> *mut AuroraRouter {
    let names = router
        .models()
        .iter()
        .map(|m| cstring_lossy(&m.name))
        .collect();
    let embedding_model = cstring_lossy(router.embedding_model());
    Box::into_raw(Box::new(AuroraRouter {
        router,
        names,
        embedding_model,
    }))
}

/// The library's version, e.g. `"0.1.0"` (static; never freed).
#[no_mangle]
pub extern "C" fn aurora_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    catch_unwind(|| {
        fault::point();
        VERSION.as_ptr().cast()
    })
    .unwrap_or(c"".as_ptr())
}

/// This thread's last error message (`""` if there was none). Borrowed:
/// valid until this thread's next `aurora_*` call that fails.
#[no_mangle]
pub extern "C" fn aurora_last_error() -> *const c_char {
    // Not `guard`: reading the error must not replace it.
    catch_unwind(|| {
        fault::point();
        LAST_ERROR
            .try_with(|e| e.borrow().1.as_ptr())
            .unwrap_or(c"".as_ptr())
    })
    .unwrap_or(c"".as_ptr())
}

/// This thread's last error status (0 if there was none): one of
/// `AuroraStatus`.
#[no_mangle]
pub extern "C" fn aurora_last_error_code() -> i32 {
    catch_unwind(|| {
        fault::point();
        LAST_ERROR.try_with(|e| e.borrow().0).unwrap_or(0)
    })
    .unwrap_or(0)
}

/// Frees a string returned (as `char *`) by this library. `NULL` is a no-op.
///
/// # Safety
///
/// `s` is NULL or a string from this library not yet freed.
#[no_mangle]
pub unsafe extern "C" fn aurora_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    guard(
        |_| (),
        || {
            // SAFETY: allocated by `CString::into_raw` in this library.
            drop(unsafe { CString::from_raw(s) });
            Ok(())
        },
    )
}

/// Loads a router from profile JSON (`len` bytes, not NUL-terminated).
/// Returns `NULL` on error (see `aurora_last_error`).
///
/// # Safety
///
/// `json` points to `len` readable bytes (it may be NULL only if `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn aurora_router_from_json(json: *const u8, len: usize) -> *mut AuroraRouter {
    guard(
        |_| ptr::null_mut(),
        || {
            let bytes: &[u8] = if len == 0 {
                &[]
            } else {
                if json.is_null() {
                    return Err(null("json"));
                }
                if len > isize::MAX as usize {
                    return Err(FfiError::new(
                        AuroraStatus::InvalidArgument,
                        "`len` is too large",
                    ));
                }
                // SAFETY: `len` readable bytes by the caller's contract.
                unsafe { std::slice::from_raw_parts(json, len) }
            };
            Ok(into_handle(Router::from_json(bytes)?))
        },
    )
}

/// Loads a router from a profile file (UTF-8 path). Returns `NULL` on error.
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn aurora_router_from_path(path: *const c_char) -> *mut AuroraRouter {
    guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: forwarded contract.
            let path = unsafe { c_str(path, "path") }?;
            Ok(into_handle(Router::from_path(path)?))
        },
    )
}

/// Frees a router. `NULL` is a no-op.
///
/// # Safety
///
/// `r` is NULL or a handle from `aurora_router_from_*` not yet freed; no
/// other thread is using it, and strings borrowed from it are no longer used.
#[no_mangle]
pub unsafe extern "C" fn aurora_router_free(r: *mut AuroraRouter) {
    if r.is_null() {
        return;
    }
    guard(
        |_| (),
        || {
            // SAFETY: allocated by `Box::into_raw` in `into_handle`.
            drop(unsafe { Box::from_raw(r) });
            Ok(())
        },
    )
}

/// Routes one embedding of `dim` floats (any length-`dim` vector with a
/// finite, non-zero norm) at `cost_preference` in [0, 1] (0 = lowest
/// expected error, 1 = cheapest model), with the cluster assignment the
/// profile recommends (`metadata.routing`; hard when it names none). Writes
/// `*out` and returns 0, or returns a negative `AuroraStatus`.
///
/// # Safety
///
/// `r` is a live router; `embedding` points to `dim` readable floats; `out`
/// points to a writable `AuroraRoute`.
#[no_mangle]
pub unsafe extern "C" fn aurora_router_route_embedding(
    r: *const AuroraRouter,
    embedding: *const f32,
    dim: usize,
    cost_preference: f32,
    out: *mut AuroraRoute,
) -> i32 {
    guard(status, || {
        // SAFETY: forwarded contract.
        let r = unsafe { router(r) }?;
        check_ptr(embedding, "embedding")?;
        check_ptr(out, "out")?;
        if dim != r.router.dim() {
            return Err(RouteError::Dimension {
                expected: r.router.dim(),
                got: dim,
            }
            .into());
        }
        let opts = options(&r.router, cost_preference)?;
        // SAFETY: non-NULL, aligned, `dim` readable floats by the caller's
        // contract; `dim` is the profile's (small) dimension.
        let v = unsafe { std::slice::from_raw_parts(embedding, dim) };
        let d = r.router.route_embedding(v, &opts)?;
        write_route(&d, out);
        Ok(status(AuroraStatus::Ok))
    })
}

/// Embeds `text` (UTF-8) with `embedder` and routes it, as
/// `aurora_router_route_embedding`. The embedder must be the model the
/// profile was built with (`AURORA_STATUS_EMBEDDER_MISMATCH` otherwise).
///
/// # Safety
///
/// `r` and `embedder` are live handles; `text` is NUL-terminated; `out`
/// points to a writable `AuroraRoute`.
#[no_mangle]
pub unsafe extern "C" fn aurora_router_route_text(
    r: *const AuroraRouter,
    embedder: *const AuroraEmbedder,
    text: *const c_char,
    cost_preference: f32,
    out: *mut AuroraRoute,
) -> i32 {
    guard(status, || {
        // SAFETY: forwarded contract.
        let r = unsafe { router(r) }?;
        // SAFETY: forwarded contract.
        let e = unsafe { self::embedder(embedder) }?;
        // SAFETY: forwarded contract.
        let text = unsafe { c_str(text, "text") }?;
        check_ptr(out, "out")?;
        let opts = options(&r.router, cost_preference)?;
        let d = r.router.route_text(text, e.embedder.as_ref(), &opts)?;
        write_route(&d, out);
        Ok(status(AuroraStatus::Ok))
    })
}

/// Number of models (0 on error).
///
/// # Safety
///
/// `r` is NULL or a live router.
#[no_mangle]
pub unsafe extern "C" fn aurora_router_model_count(r: *const AuroraRouter) -> usize {
    // SAFETY: forwarded contract.
    guard(|_| 0, || Ok(unsafe { router(r) }?.router.model_count()))
}

/// Name of model `index`, borrowed: lives as long as `r`. `NULL` on error.
///
/// # Safety
///
/// `r` is NULL or a live router.
#[no_mangle]
pub unsafe extern "C" fn aurora_router_model_name(
    r: *const AuroraRouter,
    index: usize,
) -> *const c_char {
    guard(
        |_| ptr::null(),
        || {
            // SAFETY: forwarded contract.
            let r = unsafe { router(r) }?;
            r.names.get(index).map(|n| n.as_ptr()).ok_or_else(|| {
                FfiError::new(
                    AuroraStatus::InvalidArgument,
                    format!(
                        "model index {index} is out of range: the profile has {} models",
                        r.names.len()
                    ),
                )
            })
        },
    )
}

/// Relative cost of model `index` (NaN on error).
///
/// # Safety
///
/// `r` is NULL or a live router.
#[no_mangle]
pub unsafe extern "C" fn aurora_router_model_cost(r: *const AuroraRouter, index: usize) -> f64 {
    guard(
        |_| f64::NAN,
        || {
            // SAFETY: forwarded contract.
            let r = unsafe { router(r) }?;
            r.router.models().get(index).map(|m| m.cost).ok_or_else(|| {
                FfiError::new(
                    AuroraStatus::InvalidArgument,
                    format!(
                        "model index {index} is out of range: the profile has {} models",
                        r.names.len()
                    ),
                )
            })
        },
    )
}

/// Number of clusters (0 on error).
///
/// # Safety
///
/// `r` is NULL or a live router.
#[no_mangle]
pub unsafe extern "C" fn aurora_router_cluster_count(r: *const AuroraRouter) -> usize {
    // SAFETY: forwarded contract.
    guard(|_| 0, || Ok(unsafe { router(r) }?.router.cluster_count()))
}

/// Embedding dimension the profile expects (0 on error).
///
/// # Safety
///
/// `r` is NULL or a live router.
#[no_mangle]
pub unsafe extern "C" fn aurora_router_dim(r: *const AuroraRouter) -> usize {
    // SAFETY: forwarded contract.
    guard(|_| 0, || Ok(unsafe { router(r) }?.router.dim()))
}

/// The embedding model the profile was built with, borrowed: lives as long
/// as `r`. `NULL` on error.
///
/// # Safety
///
/// `r` is NULL or a live router.
#[no_mangle]
pub unsafe extern "C" fn aurora_router_embedding_model(r: *const AuroraRouter) -> *const c_char {
    guard(
        |_| ptr::null(),
        // SAFETY: forwarded contract.
        || Ok(unsafe { router(r) }?.embedding_model.as_ptr()),
    )
}

/// A JSON summary of the router (models with cost and path, cluster count,
/// dimension, embedding model, mock flag). Owned: free it with
/// `aurora_string_free`. `NULL` on error.
///
/// # Safety
///
/// `r` is NULL or a live router.
#[no_mangle]
pub unsafe extern "C" fn aurora_router_summary_json(r: *const AuroraRouter) -> *mut c_char {
    guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: forwarded contract.
            let r = &unsafe { router(r) }?.router;
            let models: Vec<_> = r
                .models()
                .iter()
                .map(|m| serde_json::json!({"name": m.name, "cost": m.cost, "path": m.path()}))
                .collect();
            let v = serde_json::json!({
                "version": crate::VERSION,
                "models": models,
                "clusters": r.cluster_count(),
                "dim": r.dim(),
                "embedding_model": r.embedding_model(),
                "is_mock": r.is_mock(),
            });
            Ok(cstring_lossy(&v.to_string()).into_raw())
        },
    )
}

fn embedder_handle(embedder: impl Embedder + 'static) -> *mut AuroraEmbedder {
    boxed_embedder_handle(Box::new(embedder))
}

fn boxed_embedder_handle(embedder: Box<dyn Embedder>) -> *mut AuroraEmbedder {
    let model_id = cstring_lossy(embedder.model_id());
    Box::into_raw(Box::new(AuroraEmbedder { embedder, model_id }))
}

/// Opens the embedding model at `path` (UTF-8), picking the backend from
/// its contents: a sentence-transformers folder runs on the pure-Rust BERT
/// embedder (when built with the `bert` feature; an error otherwise),
/// anything else on Cactus. Returns `NULL` on error.
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn aurora_embedder_open(path: *const c_char) -> *mut AuroraEmbedder {
    guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: forwarded contract.
            let path = unsafe { c_str(path, "path") }?;
            Ok(boxed_embedder_handle(crate::embed::open_model(path)?))
        },
    )
}

/// Opens the mock Cactus's built-in model of dimension `dim` (hosts and
/// tests; fails with `AURORA_STATUS_EMBEDDER` when the real engine is
/// linked). Returns `NULL` on error.
#[no_mangle]
pub extern "C" fn aurora_embedder_open_mock(dim: usize) -> *mut AuroraEmbedder {
    guard(
        |_| ptr::null_mut(),
        || Ok(embedder_handle(CactusEmbedder::mock(dim)?)),
    )
}

/// Frees an embedder. `NULL` is a no-op.
///
/// # Safety
///
/// `e` is NULL or a handle from `aurora_embedder_open*` not yet freed; no
/// other thread is using it.
#[no_mangle]
pub unsafe extern "C" fn aurora_embedder_free(e: *mut AuroraEmbedder) {
    if e.is_null() {
        return;
    }
    guard(
        |_| (),
        || {
            // SAFETY: allocated by `Box::into_raw` in `embedder_handle`.
            drop(unsafe { Box::from_raw(e) });
            Ok(())
        },
    )
}

/// Dimension of the embedder's vectors (0 on error).
///
/// # Safety
///
/// `e` is NULL or a live embedder.
#[no_mangle]
pub unsafe extern "C" fn aurora_embedder_dim(e: *const AuroraEmbedder) -> usize {
    // SAFETY: forwarded contract.
    guard(|_| 0, || Ok(unsafe { embedder(e) }?.embedder.dim()))
}

/// The embedder's model id (what a profile's `embedding_model` must be),
/// borrowed: lives as long as `e`. `NULL` on error.
///
/// # Safety
///
/// `e` is NULL or a live embedder.
#[no_mangle]
pub unsafe extern "C" fn aurora_embedder_model_id(e: *const AuroraEmbedder) -> *const c_char {
    guard(
        |_| ptr::null(),
        // SAFETY: forwarded contract.
        || Ok(unsafe { embedder(e) }?.model_id.as_ptr()),
    )
}

/// Embeds `text` (UTF-8) into `out`, which holds `dim` floats (`dim` must
/// be the embedder's dimension). Returns 0 or a negative `AuroraStatus`.
///
/// # Safety
///
/// `e` is a live embedder; `text` is NUL-terminated; `out` points to `dim`
/// writable floats.
#[no_mangle]
pub unsafe extern "C" fn aurora_embedder_embed(
    e: *const AuroraEmbedder,
    text: *const c_char,
    out: *mut f32,
    dim: usize,
) -> i32 {
    guard(status, || {
        // SAFETY: forwarded contract.
        let e = unsafe { embedder(e) }?;
        // SAFETY: forwarded contract.
        let text = unsafe { c_str(text, "text") }?;
        check_ptr(out, "out")?;
        if dim != e.embedder.dim() {
            return Err(FfiError::new(
                AuroraStatus::Dimension,
                format!(
                    "`out` holds {dim} floats, the embedder's dimension is {}",
                    e.embedder.dim()
                ),
            ));
        }
        let v = e.embedder.embed(text)?;
        // SAFETY: `dim == v.len()` writable floats by the caller's contract.
        unsafe { ptr::copy_nonoverlapping(v.as_ptr(), out, dim) };
        Ok(status(AuroraStatus::Ok))
    })
}

mod templates;
pub use templates::*;
mod routes;
pub use routes::{
    aurora_route_session_free, aurora_route_session_new, aurora_route_session_push_embedding,
    aurora_route_session_push_text, aurora_route_session_reset, aurora_routes_count,
    aurora_routes_free, aurora_routes_from_json, aurora_routes_from_path,
    aurora_routes_match_embedding, aurora_routes_match_text, aurora_routes_name, AuroraRouteMatch,
    AuroraRouteSession, AuroraRoutes,
};
#[cfg(feature = "bert")]
mod bert;
pub mod pool;
#[cfg(feature = "bert")]
pub use bert::aurora_embedder_open_minilm;

#[cfg(test)]
mod tests;
