//! C ABI of the incremental cluster store ([`crate::stream`]): an opaque
//! `AuroraStreamStore`, safe to use from several threads at once.
//! Descriptors (clusters, heroes, stats) come back as JSON strings owned by
//! the caller (`aurora_string_free`).

use std::ffi::c_char;
use std::ptr;

use super::{c_str, check_ptr, cstring_lossy, guard, status, AuroraStatus, FfiError};
use crate::stream::{ClusterStore, Durability, StreamError, StreamParams};

/// A durable per-group cluster store (opaque).
pub struct AuroraStreamStore {
    store: ClusterStore,
}

/// The result of `aurora_stream_insert`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuroraStreamInsertion {
    /// The item's cluster (meaningful when `pending` is 0).
    pub cluster: u64,
    /// 1 when the item waits in the group's pending pool (no cluster yet).
    pub pending: u8,
    /// 1 when this insert founded a new cluster.
    pub new_cluster: u8,
}

impl From<StreamError> for FfiError {
    fn from(e: StreamError) -> Self {
        let s = match &e {
            StreamError::Dimension { .. } => AuroraStatus::Dimension,
            StreamError::InvalidEmbedding { .. } => AuroraStatus::InvalidEmbedding,
            StreamError::ModelMismatch { .. } => AuroraStatus::EmbedderMismatch,
            StreamError::InvalidParam { .. } | StreamError::InvalidItem { .. } => {
                AuroraStatus::InvalidArgument
            }
            _ => AuroraStatus::Store,
        };
        FfiError::new(s, e.to_string())
    }
}

/// Borrows a store handle.
///
/// # Safety
///
/// `s` is NULL or a live handle from `aurora_stream_open`.
unsafe fn store<'a>(s: *const AuroraStreamStore) -> Result<&'a ClusterStore, FfiError> {
    check_ptr(s, "store")?;
    // SAFETY: a live handle by the caller's contract.
    Ok(&unsafe { &*s }.store)
}

/// Opens (or creates) the store in directory `dir` for `dim`-dimensional
/// vectors of `embedding_model`, with the default parameters; `fsync` 1
/// syncs every write to disk (survives power loss), 0 only writes it
/// (survives a crash of the app). Returns NULL on error.
///
/// # Safety
///
/// `dir` and `embedding_model` are NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn aurora_stream_open(
    dir: *const c_char,
    embedding_model: *const c_char,
    dim: usize,
    fsync: u8,
) -> *mut AuroraStreamStore {
    guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: forwarded contract.
            let dir = unsafe { c_str(dir, "dir") }?;
            // SAFETY: forwarded contract.
            let model = unsafe { c_str(embedding_model, "embedding_model") }?;
            let durability = if fsync != 0 {
                Durability::Fsync
            } else {
                Durability::Flush
            };
            let p = StreamParams::new().durability(durability).check()?;
            let store = ClusterStore::open(dir, model, dim, p)?;
            Ok(Box::into_raw(Box::new(AuroraStreamStore { store })))
        },
    )
}

/// Releases a store (`NULL` is a no-op).
///
/// # Safety
///
/// `s` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn aurora_stream_free(s: *mut AuroraStreamStore) {
    guard(
        |_| (),
        || {
            if !s.is_null() {
                // SAFETY: a live handle from Box::into_raw, released once.
                drop(unsafe { Box::from_raw(s) });
            }
            Ok(())
        },
    )
}

/// Inserts an item: `dim` floats at `embedding`, `quality` (NaN = none),
/// `timestamp`. Writes `*out` and returns 0, or a negative status.
/// Re-inserting the same id with the same vector is a no-op.
///
/// # Safety
///
/// `s` is a live store; `group`, `item_id` are NUL-terminated; `embedding`
/// points to `dim` readable floats; `out` to a writable insertion.
#[no_mangle]
pub unsafe extern "C" fn aurora_stream_insert(
    s: *const AuroraStreamStore,
    group: *const c_char,
    item_id: *const c_char,
    embedding: *const f32,
    dim: usize,
    quality: f32,
    timestamp: f64,
    out: *mut AuroraStreamInsertion,
) -> i32 {
    guard(status, || {
        // SAFETY: forwarded contract.
        let st = unsafe { store(s) }?;
        // SAFETY: forwarded contract.
        let group = unsafe { c_str(group, "group") }?;
        // SAFETY: forwarded contract.
        let id = unsafe { c_str(item_id, "item_id") }?;
        check_ptr(embedding, "embedding")?;
        check_ptr(out, "out")?;
        if dim != st.dim() {
            return Err(StreamError::Dimension {
                group: group.into(),
                item: id.into(),
                expected: st.dim(),
                got: dim,
            }
            .into());
        }
        // SAFETY: non-NULL, aligned, `dim` readable floats by contract.
        let v = unsafe { std::slice::from_raw_parts(embedding, dim) };
        let q = (!quality.is_nan()).then_some(quality);
        let r = st.insert(group, id, v, q, timestamp)?;
        let res = AuroraStreamInsertion {
            cluster: r.cluster.unwrap_or(0),
            pending: u8::from(r.cluster.is_none()),
            new_cluster: u8::from(r.new_cluster),
        };
        // SAFETY: non-NULL, aligned, writable by contract.
        unsafe { out.write(res) };
        Ok(status(AuroraStatus::Ok))
    })
}

/// Removes an item. Returns 0 or a negative status.
///
/// # Safety
///
/// `s` is a live store; `group` and `item_id` are NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn aurora_stream_remove(
    s: *const AuroraStreamStore,
    group: *const c_char,
    item_id: *const c_char,
) -> i32 {
    guard(status, || {
        // SAFETY: forwarded contract.
        let st = unsafe { store(s) }?;
        // SAFETY: forwarded contract.
        let group = unsafe { c_str(group, "group") }?;
        // SAFETY: forwarded contract.
        let id = unsafe { c_str(item_id, "item_id") }?;
        st.remove(group, id)?;
        Ok(status(AuroraStatus::Ok))
    })
}

fn json_out(v: impl serde::Serialize) -> Result<*mut c_char, FfiError> {
    let s =
        serde_json::to_string(&v).map_err(|e| FfiError::new(AuroraStatus::Store, e.to_string()))?;
    Ok(cstring_lossy(&s).into_raw())
}

/// A group's clusters as a JSON array of `{id, size, centroid, spread,
/// heroes, first_seen, last_seen}`; NULL on error. Free with
/// `aurora_string_free`.
///
/// # Safety
///
/// `s` is a live store; `group` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn aurora_stream_clusters_json(
    s: *const AuroraStreamStore,
    group: *const c_char,
) -> *mut c_char {
    guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: forwarded contract.
            let st = unsafe { store(s) }?;
            // SAFETY: forwarded contract.
            let group = unsafe { c_str(group, "group") }?;
            json_out(st.clusters(group)?)
        },
    )
}

/// The `n` best items of a cluster as a JSON array of `{item_id, score}`;
/// NULL on error. Free with `aurora_string_free`.
///
/// # Safety
///
/// `s` is a live store; `group` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn aurora_stream_heroes_json(
    s: *const AuroraStreamStore,
    group: *const c_char,
    cluster: u64,
    n: usize,
) -> *mut c_char {
    guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: forwarded contract.
            let st = unsafe { store(s) }?;
            // SAFETY: forwarded contract.
            let group = unsafe { c_str(group, "group") }?;
            json_out(st.heroes(group, cluster, n)?)
        },
    )
}

/// The groups (a JSON array of strings) and counts: `{groups, stats}`;
/// NULL on error. Free with `aurora_string_free`.
///
/// # Safety
///
/// `s` is a live store.
#[no_mangle]
pub unsafe extern "C" fn aurora_stream_stats_json(s: *const AuroraStreamStore) -> *mut c_char {
    guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: forwarded contract.
            let st = unsafe { store(s) }?;
            json_out(serde_json::json!({"groups": st.groups(), "stats": st.stats()}))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{CStr, CString};

    #[test]
    fn c_abi_round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let d = CString::new(dir.path().to_str().unwrap()).unwrap();
        let m = CString::new("toy").unwrap();
        // SAFETY: valid strings; handles used while live.
        unsafe {
            let s = aurora_stream_open(d.as_ptr(), m.as_ptr(), 2, 0);
            assert!(!s.is_null());
            let g = CString::new("rex").unwrap();
            let mut out = AuroraStreamInsertion {
                cluster: 0,
                pending: 0,
                new_cluster: 0,
            };
            for (i, v) in [[1.0f32, 0.0], [0.99, 0.1]].iter().enumerate() {
                let id = CString::new(format!("p{i}")).unwrap();
                let rc = aurora_stream_insert(
                    s,
                    g.as_ptr(),
                    id.as_ptr(),
                    v.as_ptr(),
                    2,
                    f32::NAN,
                    i as f64,
                    &mut out,
                );
                assert_eq!(rc, 0);
            }
            assert_eq!((out.pending, out.new_cluster), (0, 1));
            let bad = [f32::NAN, 0.0];
            let id = CString::new("x").unwrap();
            let rc = aurora_stream_insert(
                s,
                g.as_ptr(),
                id.as_ptr(),
                bad.as_ptr(),
                2,
                0.5,
                0.0,
                &mut out,
            );
            assert_eq!(rc, AuroraStatus::InvalidEmbedding as i32);
            let rc = aurora_stream_insert(
                s,
                g.as_ptr(),
                id.as_ptr(),
                bad.as_ptr(),
                1,
                0.5,
                0.0,
                &mut out,
            );
            assert_eq!(rc, AuroraStatus::Dimension as i32);
            assert_eq!(
                aurora_stream_remove(s, g.as_ptr(), id.as_ptr()),
                AuroraStatus::Store as i32
            );
            let j = aurora_stream_clusters_json(s, g.as_ptr());
            let text = CStr::from_ptr(j).to_str().unwrap().to_string();
            super::super::aurora_string_free(j);
            assert!(text.contains("\"heroes\":[\"p"), "{text}");
            let h = aurora_stream_heroes_json(s, g.as_ptr(), out.cluster, 1);
            assert!(!h.is_null());
            super::super::aurora_string_free(h);
            assert!(aurora_stream_heroes_json(s, g.as_ptr(), 99, 1).is_null());
            let st = aurora_stream_stats_json(s);
            assert!(!st.is_null());
            super::super::aurora_string_free(st);
            assert!(aurora_stream_clusters_json(ptr::null(), g.as_ptr()).is_null());
            aurora_stream_free(s);
            let other = CString::new("other").unwrap();
            assert!(aurora_stream_open(d.as_ptr(), other.as_ptr(), 2, 0).is_null());
        }
    }
}
