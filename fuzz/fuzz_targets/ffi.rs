//! Every C ABI entry point that takes bytes or strings, called as a C app
//! would (through `extern "C"` declarations of the exported symbols). The
//! first byte picks the entry points; the rest is the bytes / the string.
//! Errors must come back as status codes / NULL, never as a crash.
#![no_main]

#[path = "common.rs"]
mod common;

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

const DIM: usize = 16;

#[repr(C)]
#[derive(Default)]
struct Route {
    model_index: u32,
    cluster: u32,
    similarity: f32,
    confidence: f32,
}

#[repr(C)]
#[derive(Default)]
struct RouteMatch {
    route: i32,
    best: u32,
    score: f32,
    runner_up: i32,
    runner_up_score: f32,
    margin: f32,
}

#[repr(C)]
#[derive(Default)]
struct TemplateMatch {
    template: u32,
    score: f32,
    matched: u8,
}

#[repr(C)]
#[derive(Default)]
struct StreamInsertion {
    cluster: u64,
    pending: u8,
    new_cluster: u8,
}

type H = *mut c_void;

extern "C" {
    fn aurora_last_error() -> *const c_char;
    fn aurora_string_free(s: *mut c_char);
    fn aurora_router_from_json(json: *const u8, len: usize) -> H;
    fn aurora_router_from_path(path: *const c_char) -> H;
    fn aurora_router_free(r: H);
    fn aurora_router_route_text(r: H, e: H, text: *const c_char, pref: f32, out: *mut Route)
        -> i32;
    fn aurora_router_model_name(r: H, index: usize) -> *const c_char;
    fn aurora_router_summary_json(r: H) -> *mut c_char;
    fn aurora_embedder_open(path: *const c_char) -> H;
    fn aurora_embedder_open_mock(dim: usize) -> H;
    fn aurora_embedder_model_id(e: H) -> *const c_char;
    fn aurora_embedder_embed(e: H, text: *const c_char, out: *mut f32, dim: usize) -> i32;
    fn aurora_routes_from_json(json: *const u8, len: usize) -> H;
    fn aurora_routes_from_path(path: *const c_char) -> H;
    fn aurora_routes_free(r: H);
    fn aurora_routes_count(r: H) -> usize;
    fn aurora_routes_name(r: H, index: usize) -> *const c_char;
    fn aurora_routes_match_text(r: H, e: H, text: *const c_char, out: *mut RouteMatch) -> i32;
    fn aurora_route_session_new(r: H) -> H;
    fn aurora_route_session_free(s: H);
    fn aurora_route_session_push_text(s: H, e: H, text: *const c_char, out: *mut RouteMatch)
        -> i32;
    fn aurora_templates_load(json: *const u8, len: usize, e: H) -> H;
    fn aurora_templates_load_with_threshold(json: *const u8, len: usize, e: H, t: f32) -> H;
    fn aurora_templates_free(t: H);
    fn aurora_templates_count(t: H) -> usize;
    fn aurora_templates_incoming(t: H, index: usize) -> *const c_char;
    fn aurora_templates_response(t: H, index: usize) -> *const c_char;
    fn aurora_templates_match_text(t: H, e: H, text: *const c_char, out: *mut TemplateMatch)
        -> i32;
    fn aurora_stream_open(dir: *const c_char, model: *const c_char, dim: usize, fsync: u8) -> H;
    fn aurora_stream_free(s: H);
    #[allow(clippy::too_many_arguments)]
    fn aurora_stream_insert(
        s: H,
        group: *const c_char,
        item_id: *const c_char,
        embedding: *const f32,
        dim: usize,
        quality: f32,
        timestamp: f64,
        out: *mut StreamInsertion,
    ) -> i32;
    fn aurora_stream_remove(s: H, group: *const c_char, item_id: *const c_char) -> i32;
    fn aurora_stream_clusters_json(s: H, group: *const c_char) -> *mut c_char;
    fn aurora_stream_heroes_json(s: H, group: *const c_char, cluster: u64, n: usize)
        -> *mut c_char;
    fn aurora_stream_stats_json(s: H) -> *mut c_char;
}

/// Handles shared by every iteration (the C ABI's objects are `Send + Sync`).
struct Fixed {
    embedder: usize,
    router: usize,
    templates: usize,
}

fn fixed() -> &'static Fixed {
    static F: OnceLock<Fixed> = OnceLock::new();
    F.get_or_init(|| unsafe {
        let e = aurora_embedder_open_mock(DIM);
        assert!(!e.is_null());
        let id = CStr::from_ptr(aurora_embedder_model_id(e))
            .to_str()
            .unwrap();
        let mut rows = Vec::new();
        for k in 0..3 {
            let row: Vec<String> = (0..DIM)
                .map(|j| if j == k { "1".into() } else { "0".into() })
                .collect();
            rows.push(format!("[{}]", row.join(",")));
        }
        let profile = format!(
            r#"{{"version":"3.0","router":{{"metadata":{{"n_clusters":3,"feature_dim":{DIM},
            "embedding_model":"{id}","is_mock":true,"silhouette_score":0.5,
            "clustering_algorithm":"kmeans","params":{{"k":3}},"selection":[],
            "noise_fraction":0.0,"dataset_sha256":"0","seed":1,"generator":"fuzz"}},
            "cluster_centers":[{}],"dtype":"float16","cluster_sizes":[10,10,10],
            "llm_profiles":{{"small":[0.5,0.1,0.3],"big":[0.1,0.1,0.2]}},
            "models":[{{"name":"small","cost":1}},{{"name":"big","cost":10}}]}}}}"#,
            rows.join(",")
        );
        let r = aurora_router_from_json(profile.as_ptr(), profile.len());
        assert!(!r.is_null(), "{:?}", CStr::from_ptr(aurora_last_error()));
        let templates = format!(
            r#"{{"version":"3.0","templates":{{"format":"1.0","mining_model":"{id}","pairs":3,
            "templates":[{{"incoming":"what time is it","response":"It is noon.","support":2}},
            {{"incoming":"thanks","response":"You're welcome.","support":1}}]}}}}"#
        );
        let t = aurora_templates_load_with_threshold(templates.as_ptr(), templates.len(), e, 0.5);
        Fixed {
            embedder: e as usize,
            router: r as usize,
            templates: t as usize,
        }
    })
}

/// The payload as a C string: cut at the first NUL, as C would read it.
fn c_string(bytes: &[u8]) -> CString {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).expect("no interior NUL")
}

unsafe fn free_string(s: *mut c_char) {
    if !s.is_null() {
        let _ = CStr::from_ptr(s).to_bytes().len();
        aurora_string_free(s);
    }
}

fuzz_target!(|data: &[u8]| unsafe {
    let f = fixed();
    let e = f.embedder as H;
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 7 {
        0 => {
            let r = aurora_router_from_json(body.as_ptr(), body.len());
            if !r.is_null() {
                free_string(aurora_router_summary_json(r));
                let _ = aurora_router_model_name(r, 0);
                let mut out = Route::default();
                let _ = aurora_router_route_text(r, e, c"hello".as_ptr(), 0.5, &mut out);
                aurora_router_free(r);
            } else {
                let _ = CStr::from_ptr(aurora_last_error());
            }
        }
        1 => {
            let r = aurora_routes_from_json(body.as_ptr(), body.len());
            if !r.is_null() {
                let n = aurora_routes_count(r);
                let _ = aurora_routes_name(r, 0);
                let _ = aurora_routes_name(r, n);
                let mut out = RouteMatch::default();
                let _ = aurora_routes_match_text(r, e, c"hello".as_ptr(), &mut out);
                let s = aurora_route_session_new(r);
                let _ = aurora_route_session_push_text(s, e, c"hello".as_ptr(), &mut out);
                aurora_route_session_free(s);
                aurora_routes_free(r);
            }
        }
        2 => {
            let t = if body.first().is_some_and(|b| b & 1 == 1) {
                aurora_templates_load_with_threshold(body.as_ptr(), body.len(), e, 0.5)
            } else {
                aurora_templates_load(body.as_ptr(), body.len(), e)
            };
            if !t.is_null() {
                let n = aurora_templates_count(t);
                let _ = aurora_templates_incoming(t, 0);
                let _ = aurora_templates_response(t, n);
                let mut out = TemplateMatch::default();
                let _ = aurora_templates_match_text(t, e, c"what time is it".as_ptr(), &mut out);
                aurora_templates_free(t);
            }
        }
        3 => {
            // Text through every text entry point.
            let text = c_string(body);
            let mut out = Route::default();
            let _ = aurora_router_route_text(f.router as H, e, text.as_ptr(), 0.3, &mut out);
            let mut v = [0f32; DIM];
            let _ = aurora_embedder_embed(e, text.as_ptr(), v.as_mut_ptr(), DIM);
            if !(f.templates as H).is_null() {
                let mut m = TemplateMatch::default();
                let _ = aurora_templates_match_text(f.templates as H, e, text.as_ptr(), &mut m);
            }
        }
        4 => {
            // Path strings, confined under a directory that does not exist
            // (so `..` cannot climb out of it).
            let mut p = b"/nonexistent-aurora-fuzz/".to_vec();
            p.extend_from_slice(c_string(body).as_bytes());
            let path = CString::new(p).unwrap();
            assert!(aurora_router_from_path(path.as_ptr()).is_null());
            assert!(aurora_routes_from_path(path.as_ptr()).is_null());
            assert!(aurora_embedder_open(path.as_ptr()).is_null());
            // (Not aurora_stream_open: it creates its directory.)
        }
        5 => {
            // A store in a fresh directory; group, item id and the model id
            // from the payload.
            let mut parts = body.splitn(3, |&b| b == 0xff);
            let model = c_string(parts.next().unwrap_or_default());
            let group = c_string(parts.next().unwrap_or_default());
            let item = c_string(parts.next().unwrap_or_default());
            let dir = common::scratch("ffi-store");
            let _ = std::fs::remove_dir_all(&dir);
            let cdir = CString::new(dir.to_str().unwrap()).unwrap();
            let s = aurora_stream_open(cdir.as_ptr(), model.as_ptr(), 4, 0);
            if !s.is_null() {
                let v = [0.5f32, 0.5, 0.5, 0.5];
                let mut out = StreamInsertion::default();
                for _ in 0..2 {
                    let _ = aurora_stream_insert(
                        s,
                        group.as_ptr(),
                        item.as_ptr(),
                        v.as_ptr(),
                        4,
                        0.5,
                        1.0,
                        &mut out,
                    );
                }
                free_string(aurora_stream_clusters_json(s, group.as_ptr()));
                free_string(aurora_stream_heroes_json(s, group.as_ptr(), out.cluster, 3));
                free_string(aurora_stream_stats_json(s));
                let _ = aurora_stream_remove(s, group.as_ptr(), item.as_ptr());
                aurora_stream_free(s);
            }
        }
        _ => {
            // Bytes handed to the JSON loaders with a wrong length / NULL.
            assert!(aurora_router_from_json(ptr::null(), body.len().max(1)).is_null());
            let _ = aurora_router_from_json(body.as_ptr(), body.len() / 2);
        }
    }
});
