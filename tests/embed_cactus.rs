//! The Cactus-backed embedder and the setup commands, over the real FFI
//! (the mock Cactus on x86 and aarch64 Linux).

mod common;

use common::aurora;

use aurora_router::embed::{CactusEmbedder, EmbedError, Embedder};

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn mock_embedder_is_deterministic_normalised_and_lexical() {
    if !cactus_sys::is_mock() {
        return;
    }
    let e = CactusEmbedder::mock(384).unwrap();
    assert_eq!(e.dim(), 384);
    assert!(e.is_mock());
    assert_eq!(e.model_id(), "cactus-mock/ngram-d384");
    let a = e.embed("How do I reset my account password?").unwrap();
    let b = e
        .embed("how can I reset the password of my account")
        .unwrap();
    let c = e
        .embed("The mitochondria is the powerhouse of the cell.")
        .unwrap();
    assert_eq!(a, e.embed("How do I reset my account password?").unwrap());
    assert!((cos(&a, &a) - 1.0).abs() < 1e-5);
    assert!(
        cos(&a, &b) > cos(&a, &c) + 0.2,
        "paraphrase {} vs unrelated {}",
        cos(&a, &b),
        cos(&a, &c)
    );
    let batch = e.embed_batch(&["one", "two"]).unwrap();
    assert_eq!(batch[0], e.embed("one").unwrap());
}

#[test]
fn empty_text_is_an_error_not_a_zero_vector() {
    if !cactus_sys::is_mock() {
        return;
    }
    let e = CactusEmbedder::mock(64).unwrap();
    assert!(matches!(e.embed(""), Err(EmbedError::EmptyText)));
    assert!(matches!(e.embed("  \n\t"), Err(EmbedError::EmptyText)));
    let err = e.embed("a\0b").unwrap_err();
    assert!(err.to_string().to_lowercase().contains("nul"), "{err}");
}

#[test]
fn a_missing_model_file_is_a_typed_error_naming_the_path() {
    let err = CactusEmbedder::open("/no/such/model-dir").unwrap_err();
    assert!(matches!(err, EmbedError::Cactus(_)));
    assert!(err.to_string().contains("/no/such/model-dir"), "{err}");
}

#[test]
fn a_model_file_sets_the_dimension() {
    if !cactus_sys::is_mock() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny-embedder");
    std::fs::write(&path, "dim=48\n").unwrap();
    let e = CactusEmbedder::open(&path).unwrap();
    assert_eq!(e.dim(), 48);
    assert_eq!(e.model_id(), "cactus-mock/tiny-embedder");
    assert_eq!(e.embed("hello").unwrap().len(), 48);
}

#[test]
fn embedders_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<CactusEmbedder>();
}

#[test]
fn cli_embed_json_has_the_contract_fields() {
    if !cactus_sys::is_mock() {
        return;
    }
    let o = aurora(&["embed", "--text", "route me", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["dim"], 384);
    assert_eq!(v["embedding"].as_array().unwrap().len(), 384);
    assert_eq!(v["is_mock"], true);
    assert_eq!(v["model_id"], "cactus-mock/ngram-d384");
    let o = aurora(&["embed", "--text", "", "--json"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("empty text"));
    let o = aurora(&["embed", "--text", "x", "--model", "/no/such/model"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("/no/such/model"));
}

#[test]
fn cli_doctor_reports_backend_dimension_and_target() {
    let o = aurora(&["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["is_mock"], cactus_sys::is_mock());
    assert!(v["target"].as_str().unwrap().contains("linux"));
    assert!(!v["linked_from"].as_str().unwrap().is_empty());
    if cactus_sys::is_mock() {
        assert!(o.status.success());
        assert_eq!(v["backend"], "mock");
        assert_eq!(v["embedding_dim"], 384);
    }
}
