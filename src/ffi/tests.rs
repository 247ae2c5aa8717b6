//! Unit tests of the C ABI's guard: an injected panic in each kind of entry
//! point comes back as `AuroraStatus::Panic`, never as an unwind into C.

use std::ffi::CStr;
use std::ptr;

use super::*;

fn shipped_profile() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/profiles/mmlu_pro-minilm.json"
    ))
    .unwrap()
}

fn last_error() -> String {
    // SAFETY: a valid NUL-terminated string, read before the next call.
    unsafe { CStr::from_ptr(aurora_last_error()) }
        .to_str()
        .unwrap()
        .to_string()
}

fn expect_panic_recorded() {
    assert_eq!(aurora_last_error_code(), AuroraStatus::Panic as i32);
    let msg = last_error();
    assert!(msg.contains("injected test panic"), "{msg}");
}

#[test]
fn injected_panics_become_error_codes() {
    let json = shipped_profile();
    // SAFETY: valid bytes.
    let r = unsafe { aurora_router_from_json(json.as_ptr(), json.len()) };
    assert!(!r.is_null(), "{}", last_error());
    // SAFETY: a live handle.
    let dim = unsafe { aurora_router_dim(r) };
    let q = vec![0.1f32; dim];
    let mut out = AuroraRoute {
        model_index: 99,
        cluster: 99,
        similarity: 9.0,
        confidence: 9.0,
    };
    let before = out;

    inject_panic();
    // SAFETY: valid arguments.
    let rc = unsafe { aurora_router_route_embedding(r, q.as_ptr(), dim, 0.5, &mut out) };
    assert_eq!(rc, AuroraStatus::Panic as i32);
    assert_eq!(out, before, "out is untouched on error");
    expect_panic_recorded();

    inject_panic();
    // SAFETY: valid bytes.
    assert!(unsafe { aurora_router_from_json(json.as_ptr(), json.len()) }.is_null());
    expect_panic_recorded();

    inject_panic();
    // SAFETY: a live handle.
    assert_eq!(unsafe { aurora_router_model_count(r) }, 0);
    expect_panic_recorded();

    inject_panic();
    // SAFETY: a live handle.
    assert!(unsafe { aurora_router_model_name(r, 0) }.is_null());
    expect_panic_recorded();

    inject_panic();
    // SAFETY: a live handle.
    assert!(unsafe { aurora_router_model_cost(r, 0) }.is_nan());
    expect_panic_recorded();

    inject_panic();
    assert!(aurora_embedder_open_mock(8).is_null());
    expect_panic_recorded();

    // The hook fires once: the same calls work again afterwards.
    // SAFETY: valid arguments.
    let rc = unsafe { aurora_router_route_embedding(r, q.as_ptr(), dim, 0.5, &mut out) };
    assert_eq!(rc, 0, "{}", last_error());
    assert!(out.model_index < 9);

    // A panic while freeing leaks the handle rather than unwinding.
    inject_panic();
    // SAFETY: a live handle (leaked by the injected panic).
    unsafe { aurora_router_free(r) };
    expect_panic_recorded();
    // SAFETY: still live: the injected panic happened before the drop.
    unsafe { aurora_router_free(r) };
}

#[test]
fn errors_are_per_thread() {
    // SAFETY: NULL is reported, not dereferenced.
    assert!(unsafe { aurora_router_from_path(ptr::null()) }.is_null());
    assert_eq!(aurora_last_error_code(), AuroraStatus::NullPointer as i32);
    std::thread::spawn(|| {
        assert_eq!(aurora_last_error_code(), 0);
        assert_eq!(last_error(), "");
    })
    .join()
    .unwrap();
    assert!(last_error().contains("`path` is NULL"));
}

/// The names of the `extern "C"` functions defined in `src/ffi/*.rs` (those
/// compiled into this build).
fn entry_points_in_source() -> std::collections::BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/ffi");
    let mut names = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (i, _) in text.match_indices("extern \"C\" fn ") {
            let rest = &text[i + "extern \"C\" fn ".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            names.insert(name);
        }
    }
    if !cfg!(feature = "bert") {
        names.remove("aurora_embedder_open_minilm");
    }
    names
}

/// The functions `include/aurora_router.h` declares.
fn entry_points_in_header() -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/include/aurora_router.h"
    ))
    .unwrap();
    let mut names = std::collections::BTreeSet::new();
    for line in text.lines() {
        let t = line.trim_start();
        if line.starts_with(' ') || t.starts_with("/*") || t.starts_with("//") || t.starts_with('*')
        {
            continue;
        }
        if let Some(i) = line.find("aurora_") {
            let name: String = line[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if line[i + name.len()..].starts_with('(') {
                names.insert(name);
            }
        }
    }
    if !cfg!(feature = "bert") {
        names.remove("aurora_embedder_open_minilm");
    }
    names
}

/// Every C entry point, with a panic injected inside it, returns its error
/// value and records `AURORA_STATUS_PANIC`: no unwind into C, no abort. The
/// list is checked against the source and the header, so a new function
/// cannot be left out.
#[test]
#[allow(clippy::too_many_lines)]
fn a_panic_inside_every_entry_point_is_reported() {
    use super::pool::*;
    use super::stream::*;
    use std::ffi::c_char;

    let mut seen = std::collections::BTreeSet::new();
    // Calls `$call` with a panic injected; `$ok` checks its return value.
    macro_rules! check {
        ($name:literal, $call:expr, |$v:ident| $ok:expr) => {{
            inject_panic();
            #[allow(unused_unsafe)]
            let $v = unsafe { $call };
            assert!($ok, "{}: wrong error value", $name);
            assert_eq!(
                aurora_last_error_code(),
                AuroraStatus::Panic as i32,
                "{}",
                $name
            );
            assert!(last_error().contains("injected test panic"), "{}", $name);
            assert!(!super::fault::disarm(), "{}: no fault point", $name);
            seen.insert($name.to_string());
        }};
    }
    let panic = AuroraStatus::Panic as i32;

    let json = shipped_profile();
    // SAFETY (whole test): every pointer is valid for its call.
    let r = unsafe { aurora_router_from_json(json.as_ptr(), json.len()) };
    assert!(!r.is_null(), "{}", last_error());
    let e = aurora_embedder_open_mock(384);
    assert!(!e.is_null());
    let routes_json = br#"{"version":"3.0","routes":{"format":"softmax-head-v1",
      "embedding_model":"toy","dim":2,"is_mock":false,"names":["weather","music"],
      "weights":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"AEoAAAAAAEo="},
      "bias":[0.0,0.0],"temperature":1.0,"threshold":0.9,
      "session":{"decay":0.7,"switch":0.8}}}"#;
    let routes = unsafe { aurora_routes_from_json(routes_json.as_ptr(), routes_json.len()) };
    assert!(!routes.is_null(), "{}", last_error());
    let session = unsafe { aurora_route_session_new(routes) };
    assert!(!session.is_null(), "{}", last_error());
    let mut section = crate::templates::TemplatesSection::new("m");
    section
        .templates
        .push(crate::templates::Template::new("hello there", "hi", 2));
    let tjson = section.to_file_json().unwrap();
    let templates =
        unsafe { aurora_templates_load_with_threshold(tjson.as_ptr(), tjson.len(), e, 0.5) };
    assert!(!templates.is_null(), "{}", last_error());
    let pool_profile = br#"{"version":"2.0",
      "metadata":{"n_clusters":2,"feature_dim":2,"embedding_model":"toy","is_mock":true,
        "silhouette_score":0.5,"clustering_algorithm":"kmeans","params":{"k":2},"selection":[],
        "noise_fraction":0.0,"dataset_sha256":"0","seed":1,"generator":"hand"},
      "cluster_centers":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"ADwAAAAAADw="},
      "cluster_sizes":[10,10],"llm_profiles":{"m0":[0.1,0.9],"m1":[0.9,0.1]},
      "models":[{"name":"m0","cost":1,"path":"mock:","size_mb":10},
                {"name":"m1","cost":1,"path":"mock:","size_mb":10}]}"#;
    let pr = unsafe { aurora_router_from_json(pool_profile.as_ptr(), pool_profile.len()) };
    assert!(!pr.is_null(), "{}", last_error());
    let pool = unsafe { aurora_pool_new(pr, 100.0, ptr::null()) };
    assert!(!pool.is_null(), "{}", last_error());
    let dir = std::env::temp_dir().join(format!("aurora-ffi-panic-{}", std::process::id()));
    let cdir = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    let store = unsafe { aurora_stream_open(cdir.as_ptr(), c"m".as_ptr(), 2, 0) };
    assert!(!store.is_null(), "{}", last_error());

    let q = vec![0.1f32; 384];
    let text: *const c_char = c"what is the weather".as_ptr();
    let messages: *const c_char = c"[{\"role\":\"user\",\"content\":\"hi\"}]".as_ptr();
    let mut route = AuroraRoute {
        model_index: 7,
        cluster: 7,
        similarity: 0.0,
        confidence: 0.0,
    };
    let mut rmatch = unsafe { std::mem::zeroed::<AuroraRouteMatch>() };
    let mut tmatch = unsafe { std::mem::zeroed::<AuroraTemplateMatch>() };
    let mut ins = unsafe { std::mem::zeroed::<AuroraStreamInsertion>() };
    let mut v = vec![0f32; 384];

    // Error readers and the version: a panic inside gives the documented
    // fallback (they cannot record an error themselves).
    inject_panic();
    assert_eq!(
        unsafe { std::ffi::CStr::from_ptr(aurora_version()) }.to_bytes(),
        b""
    );
    assert!(!super::fault::disarm());
    seen.insert("aurora_version".to_string());
    unsafe { aurora_router_model_count(ptr::null()) }; // some error to read
    inject_panic();
    assert_eq!(
        unsafe { std::ffi::CStr::from_ptr(aurora_last_error()) }.to_bytes(),
        b""
    );
    assert!(!super::fault::disarm());
    seen.insert("aurora_last_error".to_string());
    inject_panic();
    assert_eq!(aurora_last_error_code(), 0);
    assert!(!super::fault::disarm());
    seen.insert("aurora_last_error_code".to_string());

    check!(
        "aurora_router_from_json",
        aurora_router_from_json(json.as_ptr(), json.len()),
        |x| x.is_null()
    );
    check!(
        "aurora_router_from_path",
        aurora_router_from_path(c"profiles/mmlu_pro-minilm.json".as_ptr()),
        |x| x.is_null()
    );
    check!(
        "aurora_router_route_embedding",
        aurora_router_route_embedding(r, q.as_ptr(), 384, 0.5, &mut route),
        |x| x == panic && route.model_index == 7
    );
    check!(
        "aurora_router_route_text",
        aurora_router_route_text(r, e, text, 0.5, &mut route),
        |x| x == panic && route.model_index == 7
    );
    check!(
        "aurora_router_model_count",
        aurora_router_model_count(r),
        |x| x == 0
    );
    check!(
        "aurora_router_model_name",
        aurora_router_model_name(r, 0),
        |x| x.is_null()
    );
    check!(
        "aurora_router_model_cost",
        aurora_router_model_cost(r, 0),
        |x| x.is_nan()
    );
    check!(
        "aurora_router_cluster_count",
        aurora_router_cluster_count(r),
        |x| x == 0
    );
    check!("aurora_router_dim", aurora_router_dim(r), |x| x == 0);
    check!(
        "aurora_router_embedding_model",
        aurora_router_embedding_model(r),
        |x| x.is_null()
    );
    check!(
        "aurora_router_summary_json",
        aurora_router_summary_json(r),
        |x| x.is_null()
    );
    check!(
        "aurora_embedder_open",
        aurora_embedder_open(c"mock:8".as_ptr()),
        |x| x.is_null()
    );
    check!(
        "aurora_embedder_open_mock",
        aurora_embedder_open_mock(8),
        |x| x.is_null()
    );
    #[cfg(feature = "bert")]
    check!(
        "aurora_embedder_open_minilm",
        super::aurora_embedder_open_minilm(c"models/all-MiniLM-L6-v2".as_ptr()),
        |x| x.is_null()
    );
    check!("aurora_embedder_dim", aurora_embedder_dim(e), |x| x == 0);
    check!(
        "aurora_embedder_model_id",
        aurora_embedder_model_id(e),
        |x| x.is_null()
    );
    check!(
        "aurora_embedder_embed",
        aurora_embedder_embed(e, text, v.as_mut_ptr(), 384),
        |x| x == panic
    );
    check!(
        "aurora_routes_from_json",
        aurora_routes_from_json(routes_json.as_ptr(), routes_json.len()),
        |x| x.is_null()
    );
    check!(
        "aurora_routes_from_path",
        aurora_routes_from_path(c"routes.json".as_ptr()),
        |x| x.is_null()
    );
    check!("aurora_routes_count", aurora_routes_count(routes), |x| x
        == 0);
    check!("aurora_routes_name", aurora_routes_name(routes, 0), |x| x
        .is_null());
    check!(
        "aurora_routes_match_embedding",
        aurora_routes_match_embedding(routes, q.as_ptr(), 2, &mut rmatch),
        |x| x == panic
    );
    check!(
        "aurora_routes_match_text",
        aurora_routes_match_text(routes, e, text, &mut rmatch),
        |x| x == panic
    );
    check!(
        "aurora_route_session_new",
        aurora_route_session_new(routes),
        |x| x.is_null()
    );
    check!(
        "aurora_route_session_reset",
        aurora_route_session_reset(session),
        |x| x == panic
    );
    check!(
        "aurora_route_session_push_embedding",
        aurora_route_session_push_embedding(session, q.as_ptr(), 2, &mut rmatch),
        |x| x == panic
    );
    check!(
        "aurora_route_session_push_text",
        aurora_route_session_push_text(session, e, text, &mut rmatch),
        |x| x == panic
    );
    check!(
        "aurora_templates_load",
        aurora_templates_load(tjson.as_ptr(), tjson.len(), e),
        |x| x.is_null()
    );
    check!(
        "aurora_templates_load_with_threshold",
        aurora_templates_load_with_threshold(tjson.as_ptr(), tjson.len(), e, 0.5),
        |x| x.is_null()
    );
    check!(
        "aurora_templates_count",
        aurora_templates_count(templates),
        |x| x == 0
    );
    check!(
        "aurora_templates_threshold",
        aurora_templates_threshold(templates),
        |x| x.is_nan()
    );
    check!(
        "aurora_templates_incoming",
        aurora_templates_incoming(templates, 0),
        |x| x.is_null()
    );
    check!(
        "aurora_templates_response",
        aurora_templates_response(templates, 0),
        |x| x.is_null()
    );
    check!(
        "aurora_templates_match_embedding",
        aurora_templates_match_embedding(templates, q.as_ptr(), 384, &mut tmatch),
        |x| x == panic
    );
    check!(
        "aurora_templates_match_text",
        aurora_templates_match_text(templates, e, text, &mut tmatch),
        |x| x == panic
    );
    check!(
        "aurora_pool_new",
        aurora_pool_new(pr, 100.0, ptr::null()),
        |x| x.is_null()
    );
    check!(
        "aurora_pool_complete_embedding",
        aurora_pool_complete_embedding(pool, q.as_ptr(), 2, messages, 0.5),
        |x| x.is_null()
    );
    check!(
        "aurora_pool_complete_text",
        aurora_pool_complete_text(pool, e, text, messages, 0.5),
        |x| x.is_null()
    );
    check!(
        "aurora_pool_resident_mb",
        aurora_pool_resident_mb(pool),
        |x| x.is_nan() || x < 0.0
    );
    check!(
        "aurora_stream_open",
        aurora_stream_open(cdir.as_ptr(), c"m".as_ptr(), 2, 0),
        |x| x.is_null()
    );
    check!(
        "aurora_stream_insert",
        aurora_stream_insert(
            store,
            c"g".as_ptr(),
            c"i".as_ptr(),
            q.as_ptr(),
            2,
            0.5,
            1.0,
            &mut ins
        ),
        |x| x == panic
    );
    check!(
        "aurora_stream_remove",
        aurora_stream_remove(store, c"g".as_ptr(), c"i".as_ptr()),
        |x| x == panic
    );
    check!(
        "aurora_stream_clusters_json",
        aurora_stream_clusters_json(store, c"g".as_ptr()),
        |x| x.is_null()
    );
    check!(
        "aurora_stream_heroes_json",
        aurora_stream_heroes_json(store, c"g".as_ptr(), 0, 3),
        |x| x.is_null()
    );
    check!(
        "aurora_stream_stats_json",
        aurora_stream_stats_json(store),
        |x| x.is_null()
    );
    // A string to free: a panic while freeing leaks it (then it is freed).
    let s = unsafe { aurora_router_summary_json(r) };
    assert!(!s.is_null());
    check!("aurora_string_free", aurora_string_free(s), |_x| true);
    unsafe { aurora_string_free(s) };
    // Frees last: the panic leaks the handle, then the real free runs.
    check!(
        "aurora_route_session_free",
        aurora_route_session_free(session),
        |_x| true
    );
    unsafe { aurora_route_session_free(session) };
    check!("aurora_routes_free", aurora_routes_free(routes), |_x| true);
    unsafe { aurora_routes_free(routes) };
    check!(
        "aurora_templates_free",
        aurora_templates_free(templates),
        |_x| true
    );
    unsafe { aurora_templates_free(templates) };
    check!("aurora_pool_free", aurora_pool_free(pool), |_x| true);
    unsafe { aurora_pool_free(pool) };
    check!("aurora_stream_free", aurora_stream_free(store), |_x| true);
    unsafe { aurora_stream_free(store) };
    check!("aurora_embedder_free", aurora_embedder_free(e), |_x| true);
    unsafe { aurora_embedder_free(e) };
    check!("aurora_router_free", aurora_router_free(r), |_x| true);
    unsafe {
        aurora_router_free(r);
        aurora_router_free(pr);
    }
    let _ = std::fs::remove_dir_all(&dir);

    let source = entry_points_in_source();
    assert_eq!(
        seen, source,
        "every extern \"C\" fn of src/ffi gets a panic test"
    );
    let header = entry_points_in_header();
    assert_eq!(
        header, source,
        "include/aurora_router.h is stale: run scripts/gen-bindings.sh"
    );
}
