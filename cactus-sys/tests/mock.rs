//! Behaviour of the safe wrapper over the C mock. Every test returns early
//! when a real Cactus library is linked instead of the mock.

use std::ffi::{c_char, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr;

use cactus_sys::{CactusError, CactusModel, MOCK_DEFAULT_MODEL};

/// Writes a mock model file under the test's temporary directory.
fn model_file(name: &str, contents: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cactus-sys-mock-{name}.txt"));
    std::fs::write(&path, contents).unwrap();
    path
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn link_info_describes_the_mock() {
    if !cactus_sys::is_mock() {
        return;
    }
    assert!(
        cactus_sys::link_info().starts_with("mock:"),
        "{}",
        cactus_sys::link_info()
    );
    assert!(cactus_sys::live_handles().is_some());
}

#[test]
fn paraphrase_is_closer_than_unrelated() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open(MOCK_DEFAULT_MODEL).unwrap();
    let a = model.embed("How do I reset my password?", true).unwrap();
    let b = model.embed("how can I reset the password", true).unwrap();
    let c = model
        .embed("The weather in Paris is sunny today.", true)
        .unwrap();
    let (close, far) = (cosine(&a, &b), cosine(&a, &c));
    assert!(close > far + 0.3, "paraphrase {close} vs unrelated {far}");

    // Character n-grams make morphological variants close too.
    let d = model.embed("resetting passwords", true).unwrap();
    assert!(
        cosine(&a, &d) > cosine(&c, &d),
        "variants should share n-grams"
    );
}

#[test]
fn vectors_are_unit_norm_when_normalized() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open(MOCK_DEFAULT_MODEL).unwrap();
    for text in [
        "a",
        "hello world",
        "Grüße aus München — 東京タワー 🚀",
        "x y z x y z",
    ] {
        let v = model.embed(text, true).unwrap();
        let norm: f64 = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-6, "{text:?}: norm {norm}");
        assert!(v.iter().all(|x| x.is_finite()));
    }
    let raw = model.embed("hello hello hello world", false).unwrap();
    let norm: f64 = raw
        .iter()
        .map(|x| f64::from(*x).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(norm > 1.5, "unnormalized norm {norm}");
}

#[test]
fn vectors_are_deterministic_across_calls_and_models() {
    if !cactus_sys::is_mock() {
        return;
    }
    let m1 = CactusModel::open(MOCK_DEFAULT_MODEL).unwrap();
    let m2 = CactusModel::open(MOCK_DEFAULT_MODEL).unwrap();
    let text = "Déjà vu: the same text, the same vector.";
    let first = m1.embed(text, true).unwrap();
    for _ in 0..5 {
        let again = m1.embed(text, true).unwrap();
        assert_eq!(bits(&first), bits(&again));
    }
    assert_eq!(bits(&first), bits(&m2.embed(text, true).unwrap()));
    // ASCII letters are case-folded; non-ASCII bytes are taken as they are.
    let lower = m1.embed("hello world", true).unwrap();
    assert_eq!(bits(&lower), bits(&m1.embed("HeLLo WORLD", true).unwrap()));
    let accented = m1.embed("déjà", true).unwrap();
    assert_ne!(bits(&accented), bits(&m1.embed("DÉJÀ", true).unwrap()));
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn dimension_from_virtual_path_and_file() {
    if !cactus_sys::is_mock() {
        return;
    }
    let default = CactusModel::open(MOCK_DEFAULT_MODEL).unwrap();
    assert_eq!(default.embedding_dim().unwrap(), 384);
    let small = CactusModel::open("mock:64").unwrap();
    assert_eq!(small.embedding_dim().unwrap(), 64);
    assert_eq!(small.embed("hello", true).unwrap().len(), 64);

    let file = model_file("dim48", "# a mock model\ndim = 48\n");
    let from_file = CactusModel::open(&file).unwrap();
    assert_eq!(from_file.embed("hello", true).unwrap().len(), 48);
    assert_eq!(from_file.path(), file.as_path());

    let dir = CactusModel::open(env!("CARGO_TARGET_TMPDIR")).unwrap();
    assert_eq!(dir.embedding_dim().unwrap(), 384);
}

#[test]
fn buffer_grows_when_dimension_exceeds_initial_buffer() {
    if !cactus_sys::is_mock() {
        return;
    }
    let file = model_file("dim2000", "dim=2000\n");

    // Raw FFI: a 1024-float buffer is too small; -2 reports the dimension.
    let c_path = CString::new(file.to_str().unwrap()).unwrap();
    let text = CString::new("hello world").unwrap();
    unsafe {
        let raw = cactus_sys::cactus_init(c_path.as_ptr(), ptr::null(), false);
        assert!(!raw.is_null());
        let mut buf = vec![0f32; 1024];
        let mut dim = 0usize;
        let rc = cactus_sys::cactus_embed(
            raw,
            text.as_ptr(),
            buf.as_mut_ptr(),
            1024 * 4,
            &mut dim,
            true,
        );
        assert_eq!((rc, dim), (-2, 2000));
        // One byte short is still too small: the size is in bytes.
        let mut buf = vec![0f32; 2000];
        let rc = cactus_sys::cactus_embed(
            raw,
            text.as_ptr(),
            buf.as_mut_ptr(),
            2000 * 4 - 1,
            &mut dim,
            true,
        );
        assert_eq!(rc, -2);
        let rc = cactus_sys::cactus_embed(
            raw,
            text.as_ptr(),
            buf.as_mut_ptr(),
            2000 * 4,
            &mut dim,
            true,
        );
        assert_eq!((rc, dim), (2000, 2000));
        cactus_sys::cactus_destroy(raw);
    }

    // The wrapper starts at 1024 floats, gets -2, grows to 2000 and retries.
    let model = CactusModel::open(&file).unwrap();
    let v = model.embed("hello world", true).unwrap();
    assert_eq!(v.len(), 2000);
    assert_eq!(model.embedding_dim().unwrap(), 2000);
    let norm: f64 = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-6);
    // And the cached dimension is used from then on.
    assert_eq!(model.embed("hello again", true).unwrap().len(), 2000);
}

#[test]
fn missing_model_path_is_a_typed_error_naming_the_path() {
    if !cactus_sys::is_mock() {
        return;
    }
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-model.gguf");
    match CactusModel::open(&path) {
        Err(e @ CactusError::ModelNotFound { .. }) => {
            assert!(e.to_string().contains(path.to_str().unwrap()), "{e}");
        }
        other => panic!("expected ModelNotFound, got {other:?}"),
    }

    // The C side fails the same way when called directly.
    let c_path = CString::new(path.to_str().unwrap()).unwrap();
    unsafe {
        assert!(cactus_sys::cactus_init(c_path.as_ptr(), ptr::null(), false).is_null());
        let msg = CStr::from_ptr(cactus_sys::cactus_get_last_error())
            .to_str()
            .unwrap();
        assert!(msg.contains(path.to_str().unwrap()), "{msg}");
    }
}

#[test]
fn invalid_model_files_and_virtual_paths_fail_init() {
    if !cactus_sys::is_mock() {
        return;
    }
    for (name, contents) in [
        ("bad-value", "dim=abc\n"),
        ("zero", "dim=0"),
        ("too-big", "dim=65537"),
        ("unknown-key", "dims=64"),
        ("empty", ""),
        ("two-dims", "dim=8\ndim=8\n"),
    ] {
        let file = model_file(name, contents);
        match CactusModel::open(&file) {
            Err(e @ CactusError::InitFailed { .. }) => {
                let text = e.to_string();
                assert!(text.contains(file.to_str().unwrap()), "{name}: {text}");
            }
            other => panic!("{name}: expected InitFailed, got {other:?}"),
        }
    }
    for path in ["mock:0", "mock:65537", "mock:abc", "mock:-1", "mock: 8"] {
        match CactusModel::open(path) {
            Err(CactusError::InitFailed { message, .. }) => {
                assert!(message.contains(path), "{message}")
            }
            other => panic!("{path}: expected InitFailed, got {other:?}"),
        }
    }
    assert_eq!(
        CactusModel::open("mock:65536")
            .unwrap()
            .embedding_dim()
            .unwrap(),
        65536
    );
}

#[test]
fn interior_nul_is_a_typed_error() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open(MOCK_DEFAULT_MODEL).unwrap();
    assert!(matches!(
        model.embed("hello\0world", true),
        Err(CactusError::InteriorNul { what: "text" })
    ));
    assert!(matches!(
        CactusModel::open("mock:\x0064"),
        Err(CactusError::InteriorNul { what: "model path" })
    ));
    assert!(matches!(
        model.complete("[]\0", None),
        Err(CactusError::InteriorNul {
            what: "messages_json"
        })
    ));
    assert!(matches!(
        model.complete("[]", Some("{\0}")),
        Err(CactusError::InteriorNul {
            what: "options_json"
        })
    ));
}

#[test]
fn empty_text_is_an_error_not_a_zero_vector() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open(MOCK_DEFAULT_MODEL).unwrap();
    for text in ["", "   ", "\t\n"] {
        assert!(
            matches!(model.embed(text, true), Err(CactusError::EmptyText)),
            "{text:?}"
        );
    }
    // Only separators: the wrapper lets it through, the engine says no.
    for _ in 0..2 {
        match model.embed("?!  ...", true) {
            Err(CactusError::EmbedFailed { message }) => {
                assert!(message.contains("text has no tokens"), "{message}")
            }
            other => panic!("expected EmbedFailed, got {other:?}"),
        }
    }
    // The raw call returns -1 and never writes a vector.
    let text = CString::new("").unwrap();
    unsafe {
        let raw = model.as_raw();
        let mut buf = vec![1f32; 384];
        let mut dim = 0usize;
        let rc = cactus_sys::cactus_embed(
            raw,
            text.as_ptr(),
            buf.as_mut_ptr(),
            384 * 4,
            &mut dim,
            true,
        );
        assert_eq!(rc, -1);
        assert!(buf.iter().all(|x| *x == 1.0));
        let msg = CStr::from_ptr(cactus_sys::cactus_get_last_error())
            .to_str()
            .unwrap();
        assert_eq!(msg, "text has no tokens");
    }
}

#[test]
fn null_arguments_return_minus_one() {
    if !cactus_sys::is_mock() {
        return;
    }
    let text = CString::new("hello").unwrap();
    let model = CactusModel::open(MOCK_DEFAULT_MODEL).unwrap();
    let mut buf = vec![0f32; 384];
    let mut dim = 0usize;
    let mut out = vec![0u8; 4096];
    unsafe {
        assert!(cactus_sys::cactus_init(ptr::null(), ptr::null(), false).is_null());
        let rc = cactus_sys::cactus_embed(
            ptr::null_mut(),
            text.as_ptr(),
            buf.as_mut_ptr(),
            384 * 4,
            &mut dim,
            true,
        );
        assert_eq!(rc, -1);
        let rc = cactus_sys::cactus_embed(
            model.as_raw(),
            ptr::null(),
            buf.as_mut_ptr(),
            384 * 4,
            &mut dim,
            true,
        );
        assert_eq!(rc, -1);
        let rc = cactus_sys::cactus_embed(
            model.as_raw(),
            text.as_ptr(),
            buf.as_mut_ptr(),
            384 * 4,
            ptr::null_mut(),
            true,
        );
        assert_eq!(rc, -1);
        let rc = cactus_sys::cactus_complete(
            model.as_raw(),
            ptr::null(),
            out.as_mut_ptr().cast(),
            out.len(),
            ptr::null(),
            ptr::null(),
            None,
            ptr::null_mut(),
        );
        assert_eq!(rc, -1);
        cactus_sys::cactus_destroy(ptr::null_mut());
    }
}

#[test]
fn complete_returns_cactus_shaped_json() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open(MOCK_DEFAULT_MODEL).unwrap();
    let messages = r#"[{"role":"user","content":"Say \"hi\" to the router"}]"#;
    let out = model
        .complete(messages, Some(r#"{"max_tokens":32}"#))
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["success"], true);
    assert!(json["error"].is_null());
    assert_eq!(json["cloud_handoff"], false);
    assert!(json["function_calls"].as_array().unwrap().is_empty());
    let response = json["response"].as_str().unwrap();
    assert!(response.starts_with("mock completion "), "{response}");
    let (prefill, decode) = (
        json["prefill_tokens"].as_u64().unwrap(),
        json["decode_tokens"].as_u64().unwrap(),
    );
    assert!(prefill > 0 && decode > 0);
    assert_eq!(json["total_tokens"].as_u64().unwrap(), prefill + decode);

    // Deterministic, and derived from the messages.
    assert_eq!(out, model.complete(messages, None).unwrap());
    let other = model
        .complete(r#"[{"role":"user","content":"bye"}]"#, None)
        .unwrap();
    let other: serde_json::Value = serde_json::from_str(&other).unwrap();
    assert_ne!(other["response"], json["response"]);
}

unsafe extern "C" fn collect_token(token: *const c_char, _id: u32, user_data: *mut c_void) {
    let tokens = unsafe { &mut *user_data.cast::<Vec<String>>() };
    tokens.push(
        unsafe { CStr::from_ptr(token) }
            .to_str()
            .unwrap()
            .to_owned(),
    );
}

#[test]
fn complete_streams_tokens_and_reports_small_buffers() {
    if !cactus_sys::is_mock() {
        return;
    }
    let model = CactusModel::open(MOCK_DEFAULT_MODEL).unwrap();
    let messages = CString::new(r#"[{"role":"user","content":"hello"}]"#).unwrap();
    let mut tokens: Vec<String> = Vec::new();
    let mut small = vec![0u8; 16];
    let mut out = vec![0u8; 4096];
    unsafe {
        let rc = cactus_sys::cactus_complete(
            model.as_raw(),
            messages.as_ptr(),
            small.as_mut_ptr().cast(),
            small.len(),
            ptr::null(),
            ptr::null(),
            Some(collect_token),
            (&mut tokens as *mut Vec<String>).cast(),
        );
        // Like the real engine: -1, an error JSON when it fits, and the
        // tokens were streamed before the size was known.
        assert_eq!(rc, -1);
        let err = CStr::from_ptr(cactus_sys::cactus_get_last_error());
        assert_eq!(err.to_str().unwrap(), "Response buffer too small");
        tokens.clear();

        let rc = cactus_sys::cactus_complete(
            model.as_raw(),
            messages.as_ptr(),
            out.as_mut_ptr().cast(),
            out.len(),
            ptr::null(),
            ptr::null(),
            Some(collect_token),
            (&mut tokens as *mut Vec<String>).cast(),
        );
        assert!(rc > 0);
        let text = std::str::from_utf8(&out[..rc as usize]).unwrap();
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(tokens.concat(), json["response"].as_str().unwrap());
        assert_eq!(tokens.len() as u64, json["decode_tokens"].as_u64().unwrap());
        assert_eq!(out[rc as usize], 0, "NUL-terminated");
    }
}

#[test]
fn concurrent_models_on_several_threads() {
    if !cactus_sys::is_mock() {
        return;
    }
    let reference = CactusModel::open(MOCK_DEFAULT_MODEL)
        .unwrap()
        .embed("shared text for every thread", true)
        .unwrap();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let model = CactusModel::open(MOCK_DEFAULT_MODEL).unwrap();
                let mut last = Vec::new();
                for i in 0..50 {
                    let own = model.embed(&format!("thread {t} text {i}"), true).unwrap();
                    assert_eq!(own.len(), 384);
                    last = model.embed("shared text for every thread", true).unwrap();
                    // Errors are per thread too.
                    assert!(model.embed("!!!", true).is_err());
                }
                last
            })
        })
        .collect();
    for h in handles {
        assert_eq!(bits(&h.join().unwrap()), bits(&reference));
    }

    // A model can also be moved to another thread (it is Send).
    let model = CactusModel::open("mock:32").unwrap();
    let dim = std::thread::spawn(move || model.embedding_dim().unwrap())
        .join()
        .unwrap();
    assert_eq!(dim, 32);
}
