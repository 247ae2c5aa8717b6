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
