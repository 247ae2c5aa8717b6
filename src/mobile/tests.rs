//! The Swift / Kotlin API, exercised from Rust: the same answers as the core
//! router, typed errors, and a Rust-side `Embedder` standing in for an app's.

use std::sync::Arc;

use super::*;
use crate::embed::PrecomputedEmbeddings;
use crate::route::{RouteOptions, Router};

const PROFILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/mmlu_pro-minilm.json");
const EMBEDDINGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/mmlu_pro/embeddings_minilm.f16.npy"
);

/// An app-side embedder: looks texts up in a table of precomputed vectors.
struct Table {
    rows: PrecomputedEmbeddings,
    model_id: String,
}

impl Embedder for Table {
    fn embed(&self, text: String) -> Result<Vec<f32>, RouterError> {
        let row: usize = text
            .strip_prefix("row ")
            .and_then(|r| r.parse().ok())
            .ok_or_else(|| RouterError::Embed {
                reason: format!("unknown text {text:?}"),
            })?;
        Ok(self.rows.row(row).map_err(RouterError::from)?.to_vec())
    }
    fn dim(&self) -> u32 {
        self.rows.dim() as u32
    }
    fn model_id(&self) -> String {
        self.model_id.clone()
    }
    fn is_mock(&self) -> bool {
        false
    }
}

fn table(model_id: &str) -> Arc<dyn Embedder> {
    Arc::new(Table {
        rows: PrecomputedEmbeddings::load(EMBEDDINGS, "all-MiniLM-L6-v2").unwrap(),
        model_id: model_id.into(),
    })
}

#[test]
fn same_answers_as_the_core_router() {
    let core = Router::from_path(PROFILE).unwrap();
    let json = std::fs::read_to_string(PROFILE).unwrap();
    let routers = [
        MobileRouter::from_path(PROFILE.into()).unwrap(),
        MobileRouter::from_json(json.clone()).unwrap(),
        MobileRouter::from_bytes(json.into_bytes()).unwrap(),
    ];
    let rows = PrecomputedEmbeddings::load(EMBEDDINGS, "all-MiniLM-L6-v2").unwrap();
    let embedder = table("all-MiniLM-L6-v2");
    for row in (0..rows.rows()).step_by(97) {
        for p in [0.0, 0.3, 0.5, 1.0] {
            let opts = core.options().cost_preference(p).check().unwrap();
            let want =
                Decision::from_core(&core.route_embedding(rows.row(row).unwrap(), &opts).unwrap());
            for r in &routers {
                assert_eq!(
                    r.route_embedding(rows.row(row).unwrap().to_vec(), p)
                        .unwrap(),
                    want
                );
                let got = r
                    .route_text(format!("row {row}"), embedder.clone(), p)
                    .unwrap();
                assert_eq!(got, want, "row {row}, p {p}");
            }
        }
    }
}

#[test]
fn accessors() {
    let r = MobileRouter::from_path(PROFILE.into()).unwrap();
    let core = Router::from_path(PROFILE).unwrap();
    let s = r.summary();
    assert_eq!(s.model_count as usize, core.model_count());
    assert_eq!(s.cluster_count as usize, core.cluster_count());
    assert_eq!(s.dim, 384);
    assert_eq!(s.embedding_model, "all-MiniLM-L6-v2");
    assert!(!s.is_mock);
    let recommended = core.options().check().unwrap();
    let top_k = match recommended.assignment() {
        crate::route::Assignment::Hard => 1,
        crate::route::Assignment::Soft { top_k } => top_k as u32,
    };
    assert_eq!(s.recommended_top_k, top_k);
    assert_eq!(
        s.recommended_top_k as usize,
        recommended.assignment().clusters_mixed()
    );
    assert_eq!(s.recommended_temperature, recommended.temperature());
    let models = r.models();
    assert_eq!(models.len(), 9);
    assert_eq!(models[3].name, core.models()[3].name);
    assert_eq!(models[3].index, 3);
    let clusters = r.clusters();
    assert_eq!(clusters.len(), core.cluster_count());
    for c in &clusters {
        assert_eq!(
            c.expected_errors,
            core.cluster_error_rates(c.index as usize).unwrap()
        );
        let best = c.expected_errors[c.best_model_index as usize];
        assert!(c.expected_errors.iter().all(|&e| e >= best));
    }
    assert_eq!(version(), crate::VERSION);
}

#[test]
fn typed_errors() {
    assert!(matches!(
        MobileRouter::from_json("{\"version\": \"2.0\"".into()),
        Err(RouterError::InvalidProfile { .. })
    ));
    assert!(matches!(
        MobileRouter::from_path("/nonexistent/profile.json".into()),
        Err(RouterError::InvalidProfile { .. })
    ));
    let r = MobileRouter::from_path(PROFILE.into()).unwrap();
    assert!(matches!(
        r.route_embedding(vec![1.0; 3], 0.0),
        Err(RouterError::Dimension {
            expected: 384,
            got: 3
        })
    ));
    assert!(matches!(
        r.route_embedding(vec![0.0; 384], 0.0),
        Err(RouterError::InvalidEmbedding { .. })
    ));
    let mut nan = vec![1.0; 384];
    nan[7] = f32::NAN;
    assert!(matches!(
        r.route_embedding(nan, 0.0),
        Err(RouterError::InvalidEmbedding { .. })
    ));
    assert!(matches!(
        r.route_embedding(vec![1.0; 384], 1.5),
        Err(RouterError::InvalidOption { .. })
    ));
    let unknown = Options {
        allowed_models: Some(vec!["nope".into()]),
        ..Options::default()
    };
    assert!(matches!(
        r.route_embedding_with(vec![1.0; 384], unknown),
        Err(RouterError::InvalidOption { .. })
    ));
    // A foreign embedder for another model is refused before it embeds.
    assert!(matches!(
        r.route_text("row 0".into(), table("some-other-model"), 0.0),
        Err(RouterError::EmbedderMismatch { .. })
    ));
    // The foreign embedder's own error comes back as it was thrown.
    match r.route_text("hello".into(), table("all-MiniLM-L6-v2"), 0.0) {
        Err(RouterError::Embed { reason }) => assert!(reason.contains("unknown text"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn options_reach_the_core() {
    let r = MobileRouter::from_path(PROFILE.into()).unwrap();
    let core = Router::from_path(PROFILE).unwrap();
    let rows = PrecomputedEmbeddings::load(EMBEDDINGS, "all-MiniLM-L6-v2").unwrap();
    let q = rows.row(5).unwrap();
    let name = core.models()[2].name.clone();
    let o = Options {
        cost_preference: 0.2,
        soft_top_k: Some(3),
        temperature: Some(0.1),
        min_confidence: 0.99,
        min_similarity: None,
        allowed_models: Some(vec![name.clone(), core.models()[4].name.clone()]),
        fallback_model: Some(name.clone()),
    };
    let core_opts = RouteOptions::builder()
        .cost_preference(0.2)
        .soft(3)
        .temperature(0.1)
        .min_confidence(0.99)
        .allowed_models([name.clone(), core.models()[4].name.clone()])
        .fallback_model(name.as_str())
        .check()
        .unwrap();
    let want = Decision::from_core(&core.route_embedding(q, &core_opts).unwrap());
    assert_eq!(r.route_embedding_with(q.to_vec(), o).unwrap(), want);
}

#[test]
fn cactus_embedder_routes_a_mock_profile() {
    if !cactus_sys::is_mock() {
        return;
    }
    let e = CactusEmbedder::mock(384).unwrap();
    assert!(e.is_mock());
    assert_eq!(e.dim(), 384);
    let v = e.embed("What is the derivative of x^2?".into()).unwrap();
    assert_eq!(v.len(), 384);
    // The shipped profile is MiniLM's: the mock is refused.
    let r = MobileRouter::from_path(PROFILE.into()).unwrap();
    assert!(matches!(
        r.route_text("What is 2 + 2?".into(), e.clone(), 0.0),
        Err(RouterError::EmbedderMismatch { .. })
    ));
    assert!(matches!(
        CactusEmbedder::new("/nonexistent/model".into()),
        Err(RouterError::Embed { .. })
    ));
}
