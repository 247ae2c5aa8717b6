//! The C ABI of semantic routes: `AuroraRoutes` (a loaded route set) and
//! `AuroraRouteSession` (turn-by-turn routing of one conversation).

use std::ffi::{c_char, CString};
use std::ptr;
use std::sync::Arc;

use super::{
    c_str, check_ptr, cstring_lossy, embedder, guard, null, status, AuroraStatus, FfiError,
};
use crate::routes::{RouteMatch, RouteSession, RouteSet, RoutesError};

/// A loaded route set (opaque). Immutable: share it across threads.
pub struct AuroraRoutes {
    routes: Arc<RouteSet>,
    names: Box<[CString]>,
}

/// One conversation's routing state (opaque). Not thread-safe: use one
/// session from one thread at a time. It keeps its own reference to the
/// route set, so the `AuroraRoutes` may be freed before it.
pub struct AuroraRouteSession {
    session: RouteSession,
}

/// The answer of a route match, as returned to C.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuroraRouteMatch {
    /// The route's index (see `aurora_routes_name`), or -1 for "none".
    pub route: i32,
    /// Index of the best route, even when `route` is -1.
    pub best: u32,
    /// The best route's score, in [0, 1].
    pub score: f32,
    /// The runner-up's index, or -1 when there is a single route.
    pub runner_up: i32,
    /// The runner-up's score (0 when there is none).
    pub runner_up_score: f32,
    /// `score - runner_up_score`.
    pub margin: f32,
}

impl From<RoutesError> for FfiError {
    fn from(e: RoutesError) -> Self {
        let status = match &e {
            RoutesError::Profile(_) => AuroraStatus::Profile,
            RoutesError::Embed(_) => AuroraStatus::Embedder,
            RoutesError::EmbedderMismatch { .. } => AuroraStatus::EmbedderMismatch,
            RoutesError::Dimension { .. } => AuroraStatus::Dimension,
            RoutesError::InvalidEmbedding { .. } => AuroraStatus::InvalidEmbedding,
            RoutesError::EmptyText => AuroraStatus::Embedder,
            _ => AuroraStatus::InvalidArgument,
        };
        FfiError::new(status, e.to_string())
    }
}

fn write_match(m: &RouteMatch, out: *mut AuroraRouteMatch) {
    let v = AuroraRouteMatch {
        route: if m.route.is_some() {
            m.best_index as i32
        } else {
            -1
        },
        best: m.best_index as u32,
        score: m.score,
        runner_up: m.runner_up.as_ref().map_or(-1, |r| r.index as i32),
        runner_up_score: m.runner_up.as_ref().map_or(0.0, |r| r.score),
        margin: m.margin,
    };
    // SAFETY: checked non-NULL and aligned; writable by the caller's contract.
    unsafe { out.write(v) };
}

fn into_handle(routes: RouteSet) -> *mut AuroraRoutes {
    let names = routes.names().iter().map(|n| cstring_lossy(n)).collect();
    Box::into_raw(Box::new(AuroraRoutes {
        routes: Arc::new(routes),
        names,
    }))
}

/// # Safety
/// `r` is NULL or a live `AuroraRoutes`.
unsafe fn routes<'a>(r: *const AuroraRoutes) -> Result<&'a AuroraRoutes, FfiError> {
    check_ptr(r, "routes")?;
    // SAFETY: a live handle by the caller's contract.
    Ok(unsafe { &*r })
}

/// # Safety
/// `s` is NULL or a live `AuroraRouteSession`, used by this thread only.
unsafe fn session<'a>(s: *mut AuroraRouteSession) -> Result<&'a mut AuroraRouteSession, FfiError> {
    check_ptr(s, "session")?;
    // SAFETY: a live handle, not shared, by the caller's contract.
    Ok(unsafe { &mut *s })
}

/// # Safety
/// `embedding` points to `dim` readable floats.
unsafe fn floats<'a>(
    embedding: *const f32,
    dim: usize,
    want: usize,
) -> Result<&'a [f32], FfiError> {
    check_ptr(embedding, "embedding")?;
    if dim != want {
        return Err(RoutesError::Dimension {
            expected: want,
            got: dim,
        }
        .into());
    }
    // SAFETY: non-NULL, aligned, `dim` readable floats by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(embedding, dim) })
}

/// Loads routes from a route file's JSON (`len` bytes). `NULL` on error.
///
/// # Safety
///
/// `json` points to `len` readable bytes (it may be NULL only if `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn aurora_routes_from_json(json: *const u8, len: usize) -> *mut AuroraRoutes {
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
            Ok(into_handle(RouteSet::from_json(bytes)?))
        },
    )
}

/// Loads routes from a route file (or a profile holding a `routes` section). `NULL` on error.
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn aurora_routes_from_path(path: *const c_char) -> *mut AuroraRoutes {
    guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: forwarded contract.
            let path = unsafe { c_str(path, "path") }?;
            Ok(into_handle(RouteSet::from_path(path)?))
        },
    )
}

/// Frees routes. `NULL` is a no-op.
///
/// # Safety
///
/// `r` is NULL or a handle from `aurora_routes_from_*` not yet freed, no
/// longer used by any thread (sessions made from it stay valid).
#[no_mangle]
pub unsafe extern "C" fn aurora_routes_free(r: *mut AuroraRoutes) {
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

/// Number of routes (0 on error).
///
/// # Safety
///
/// `r` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn aurora_routes_count(r: *const AuroraRoutes) -> usize {
    // SAFETY: forwarded contract.
    guard(|_| 0, || Ok(unsafe { routes(r) }?.names.len()))
}

/// The name of route `index` (borrowed, lives as long as `r`), or `NULL`.
///
/// # Safety
///
/// `r` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn aurora_routes_name(r: *const AuroraRoutes, index: usize) -> *const c_char {
    guard(
        |_| ptr::null(),
        || {
            // SAFETY: forwarded contract.
            let r = unsafe { routes(r) }?;
            r.names.get(index).map(|n| n.as_ptr()).ok_or_else(|| {
                FfiError::new(
                    AuroraStatus::InvalidArgument,
                    format!(
                        "route index {index} is out of range ({} routes)",
                        r.names.len()
                    ),
                )
            })
        },
    )
}

/// Matches one embedding of `dim` floats. Writes `*out` and returns 0, or a
/// negative `AuroraStatus`.
///
/// # Safety
///
/// `r` is a live handle; `embedding` points to `dim` floats; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn aurora_routes_match_embedding(
    r: *const AuroraRoutes,
    embedding: *const f32,
    dim: usize,
    out: *mut AuroraRouteMatch,
) -> i32 {
    guard(status, || {
        // SAFETY: forwarded contract.
        let r = unsafe { routes(r) }?;
        check_ptr(out, "out")?;
        // SAFETY: forwarded contract.
        let v = unsafe { floats(embedding, dim, r.routes.dim()) }?;
        write_match(&r.routes.match_embedding(v)?, out);
        Ok(status(AuroraStatus::Ok))
    })
}

/// Embeds `text` with `embedder` (the routes' model) and matches it.
///
/// # Safety
///
/// `r`, `embedder` are live handles; `text` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn aurora_routes_match_text(
    r: *const AuroraRoutes,
    embedder: *const super::AuroraEmbedder,
    text: *const c_char,
    out: *mut AuroraRouteMatch,
) -> i32 {
    guard(status, || {
        // SAFETY: forwarded contract.
        let r = unsafe { routes(r) }?;
        // SAFETY: forwarded contract.
        let e = unsafe { self::embedder(embedder) }?;
        // SAFETY: forwarded contract.
        let text = unsafe { c_str(text, "text") }?;
        check_ptr(out, "out")?;
        let m = r.routes.match_text(text, &*e.embedder)?;
        write_match(&m, out);
        Ok(status(AuroraStatus::Ok))
    })
}

/// A new conversation over `r`. `NULL` on error. Free with `aurora_route_session_free`.
///
/// # Safety
///
/// `r` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn aurora_route_session_new(
    r: *const AuroraRoutes,
) -> *mut AuroraRouteSession {
    guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: forwarded contract.
            let r = unsafe { routes(r) }?;
            Ok(Box::into_raw(Box::new(AuroraRouteSession {
                session: RouteSession::new(r.routes.clone()),
            })))
        },
    )
}

/// Frees a session. `NULL` is a no-op.
///
/// # Safety
///
/// `s` is NULL or a session not yet freed and not in use.
#[no_mangle]
pub unsafe extern "C" fn aurora_route_session_free(s: *mut AuroraRouteSession) {
    if s.is_null() {
        return;
    }
    guard(
        |_| (),
        || {
            // SAFETY: allocated by `Box::into_raw` in `aurora_route_session_new`.
            drop(unsafe { Box::from_raw(s) });
            Ok(())
        },
    )
}

/// Forgets every turn of the session. Returns 0 or a negative status.
///
/// # Safety
///
/// `s` is NULL or a live session used by this thread only.
#[no_mangle]
pub unsafe extern "C" fn aurora_route_session_reset(s: *mut AuroraRouteSession) -> i32 {
    guard(status, || {
        // SAFETY: forwarded contract.
        unsafe { session(s) }?.session.reset();
        Ok(status(AuroraStatus::Ok))
    })
}

/// Routes the conversation's next turn, given its embedding.
///
/// # Safety
///
/// `s` is a live session used by this thread only; `embedding` points to
/// `dim` floats; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn aurora_route_session_push_embedding(
    s: *mut AuroraRouteSession,
    embedding: *const f32,
    dim: usize,
    out: *mut AuroraRouteMatch,
) -> i32 {
    guard(status, || {
        // SAFETY: forwarded contract.
        let s = unsafe { session(s) }?;
        check_ptr(out, "out")?;
        // SAFETY: forwarded contract.
        let v = unsafe { floats(embedding, dim, s.session.routes().dim()) }?;
        write_match(&s.session.push_embedding(v)?, out);
        Ok(status(AuroraStatus::Ok))
    })
}

/// Embeds the next turn's text with `embedder` and routes it.
///
/// # Safety
///
/// `s` is a live session used by this thread only; `embedder` is live;
/// `text` is NUL-terminated; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn aurora_route_session_push_text(
    s: *mut AuroraRouteSession,
    embedder: *const super::AuroraEmbedder,
    text: *const c_char,
    out: *mut AuroraRouteMatch,
) -> i32 {
    guard(status, || {
        // SAFETY: forwarded contract.
        let s = unsafe { session(s) }?;
        // SAFETY: forwarded contract.
        let e = unsafe { self::embedder(embedder) }?;
        // SAFETY: forwarded contract.
        let text = unsafe { c_str(text, "text") }?;
        check_ptr(out, "out")?;
        let m = s.session.push_text(text, &*e.embedder)?;
        write_match(&m, out);
        Ok(status(AuroraStatus::Ok))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &[u8] = br#"{"version":"3.0","routes":{"format":"softmax-head-v1",
      "embedding_model":"toy","dim":2,"is_mock":false,"names":["weather","music"],
      "weights":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"AEoAAAAAAEo="},
      "bias":[0.0,0.0],"temperature":1.0,"threshold":0.9,
      "session":{"decay":0.7,"switch":0.8}}}"#;

    #[test]
    fn routes_and_session_through_the_c_abi() {
        unsafe {
            let r = aurora_routes_from_json(JSON.as_ptr(), JSON.len());
            assert!(!r.is_null());
            assert_eq!(aurora_routes_count(r), 2);
            let name = std::ffi::CStr::from_ptr(aurora_routes_name(r, 1));
            assert_eq!(name.to_str().unwrap(), "music");
            assert!(aurora_routes_name(r, 2).is_null());
            let mut out = std::mem::zeroed::<AuroraRouteMatch>();
            let q = [1.0f32, 0.0];
            assert_eq!(aurora_routes_match_embedding(r, q.as_ptr(), 2, &mut out), 0);
            assert_eq!(out.route, 0);
            assert_eq!(out.runner_up, 1);
            let none = [1.0f32, 1.0];
            assert_eq!(
                aurora_routes_match_embedding(r, none.as_ptr(), 2, &mut out),
                0
            );
            assert_eq!(out.route, -1);
            assert_eq!(
                aurora_routes_match_embedding(r, q.as_ptr(), 3, &mut out),
                AuroraStatus::Dimension as i32
            );
            let nan = [f32::NAN, 0.0];
            assert_eq!(
                aurora_routes_match_embedding(r, nan.as_ptr(), 2, &mut out),
                AuroraStatus::InvalidEmbedding as i32
            );
            let s = aurora_route_session_new(r);
            aurora_routes_free(r); // the session keeps its own reference
            assert_eq!(
                aurora_route_session_push_embedding(s, q.as_ptr(), 2, &mut out),
                0
            );
            let unsure = [1.0f32, 1.05];
            assert_eq!(
                aurora_route_session_push_embedding(s, unsure.as_ptr(), 2, &mut out),
                0
            );
            assert_eq!(out.route, 0);
            assert_eq!(aurora_route_session_reset(s), 0);
            assert_eq!(
                aurora_route_session_push_embedding(s, unsure.as_ptr(), 2, &mut out),
                0
            );
            assert_eq!(out.route, -1);
            aurora_route_session_free(s);
            assert!(aurora_routes_from_json(b"{}".as_ptr(), 2).is_null());
            assert_eq!(aurora_routes_count(ptr::null()), 0);
            assert_eq!(
                aurora_route_session_reset(ptr::null_mut()),
                AuroraStatus::NullPointer as i32
            );
        }
    }
}
