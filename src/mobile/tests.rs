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

/// The methods exported to Swift / Kotlin (`#[uniffi::export]` impl blocks
/// and functions of `src/mobile/*.rs`), as `Type::method`.
fn exported_methods() -> std::collections::BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/mobile");
    let mut names = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() == "tests.rs"
            || (path.file_name().unwrap() == "bert.rs" && !cfg!(feature = "bert"))
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut export = false;
        let mut block: Option<String> = None;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with("#[uniffi::export") {
                export = true;
            } else if export && t.starts_with("impl ") {
                // `impl Type {` or `impl Trait for Type {`.
                let words: Vec<&str> = t.trim_end_matches('{').split_whitespace().collect();
                block = Some(words.last().unwrap().to_string());
                export = false;
            } else if export && t.starts_with("pub fn ") {
                let name: String = t["pub fn ".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                names.insert(name);
                export = false;
            } else if export && t.starts_with("pub trait") {
                export = false;
            } else if let Some(ty) = &block {
                if line.starts_with('}') {
                    block = None;
                } else if let Some(rest) = line
                    .strip_prefix("    pub fn ")
                    .or_else(|| line.strip_prefix("    fn "))
                {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    names.insert(format!("{ty}::{name}"));
                }
            }
        }
    }
    names
}

/// Every exported method, with a panic injected inside it, comes back from
/// `uniffi::rust_call` (the wrapper every generated scaffolding function
/// runs its body in) as `RustCallStatusCode::UnexpectedError` — Swift and
/// Kotlin raise it as an exception — never as an abort. The list is checked
/// against the source, so a new method cannot be left out.
#[test]
#[allow(clippy::too_many_lines)]
fn a_panic_inside_every_exported_method_raises() {
    use crate::ffi::fault;
    use std::panic::AssertUnwindSafe;

    let mut seen = std::collections::BTreeSet::new();
    let mut check = |name: &str, call: &mut dyn FnMut()| {
        fault::inject_panic();
        let mut status = uniffi::RustCallStatus::default();
        uniffi::rust_call(
            &mut status,
            AssertUnwindSafe(|| -> Result<(), uniffi::RustCallError> {
                call();
                Ok(())
            }),
        );
        assert!(
            matches!(status.code, uniffi::RustCallStatusCode::UnexpectedError),
            "{name}: no panic reported"
        );
        assert!(!fault::disarm(), "{name}: no fault point");
        seen.insert(name.to_string());
    };

    let json = std::fs::read(PROFILE).unwrap();
    let router = MobileRouter::from_bytes(json.clone()).unwrap();
    let mock = CactusEmbedder::mock(384).unwrap();
    let embedder: Arc<dyn Embedder> = mock.clone();
    let routes_json = br#"{"version":"3.0","routes":{"format":"softmax-head-v1",
      "embedding_model":"toy","dim":2,"is_mock":false,"names":["weather","music"],
      "weights":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"AEoAAAAAAEo="},
      "bias":[0.0,0.0],"temperature":1.0,"threshold":0.9,
      "session":{"decay":0.7,"switch":0.8}}}"#
        .to_vec();
    let routes = MobileRouteSet::from_bytes(routes_json.clone()).unwrap();
    let session = routes.session();
    let mut section = crate::templates::TemplatesSection::new("m");
    section
        .templates
        .push(crate::templates::Template::new("hello there", "hi", 2));
    let tjson = section.to_file_json().unwrap();
    let templates = Templates::load_with_threshold(tjson.clone(), embedder.clone(), 0.5).unwrap();
    let pool_json = br#"{"version":"2.0",
      "metadata":{"n_clusters":2,"feature_dim":2,"embedding_model":"toy","is_mock":true,
        "silhouette_score":0.5,"clustering_algorithm":"kmeans","params":{"k":2},"selection":[],
        "noise_fraction":0.0,"dataset_sha256":"0","seed":1,"generator":"hand"},
      "cluster_centers":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"ADwAAAAAADw="},
      "cluster_sizes":[10,10],"llm_profiles":{"m0":[0.1,0.9],"m1":[0.9,0.1]},
      "models":[{"name":"m0","cost":1,"path":"mock:","size_mb":10},
                {"name":"m1","cost":1,"path":"mock:","size_mb":10}]}"#
        .to_vec();
    let pool_router = MobileRouter::from_bytes(pool_json).unwrap();
    let pool = pool::ModelPool::new(pool_router.clone(), 100.0, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir_s = dir.path().to_str().unwrap().to_string();
    let store = ClusterStore::open(dir_s.clone(), "m".into(), 2, false).unwrap();
    let q = vec![0.1f32; 384];
    let options = || Options {
        cost_preference: 0.5,
        soft_top_k: None,
        temperature: None,
        min_confidence: 0.0,
        min_similarity: None,
        allowed_models: None,
        fallback_model: None,
    };
    let msgs = || {
        vec![pool::ChatMessage {
            role: "user".into(),
            content: "hi".into(),
        }]
    };

    check("version", &mut || {
        version();
    });
    check("CactusEmbedder::new", &mut || {
        let _ = CactusEmbedder::new("mock:8".into());
    });
    check("CactusEmbedder::mock", &mut || {
        let _ = CactusEmbedder::mock(8);
    });
    check("CactusEmbedder::embed", &mut || {
        let _ = mock.embed("x".into());
    });
    check("CactusEmbedder::dim", &mut || {
        mock.dim();
    });
    check("CactusEmbedder::model_id", &mut || {
        mock.model_id();
    });
    check("CactusEmbedder::is_mock", &mut || {
        mock.is_mock();
    });
    check("MobileRouter::from_json", &mut || {
        let _ = MobileRouter::from_json(String::from_utf8(json.clone()).unwrap());
    });
    check("MobileRouter::from_bytes", &mut || {
        let _ = MobileRouter::from_bytes(json.clone());
    });
    check("MobileRouter::from_path", &mut || {
        let _ = MobileRouter::from_path(PROFILE.into());
    });
    check("MobileRouter::route_embedding", &mut || {
        let _ = router.route_embedding(q.clone(), 0.5);
    });
    check("MobileRouter::route_embedding_with", &mut || {
        let _ = router.route_embedding_with(q.clone(), options());
    });
    check("MobileRouter::route_text", &mut || {
        let _ = router.route_text("x".into(), embedder.clone(), 0.5);
    });
    check("MobileRouter::route_text_with", &mut || {
        let _ = router.route_text_with("x".into(), embedder.clone(), options());
    });
    check("MobileRouter::models", &mut || {
        router.models();
    });
    check("MobileRouter::clusters", &mut || {
        router.clusters();
    });
    check("MobileRouter::summary", &mut || {
        router.summary();
    });
    check("MobileRouter::dim", &mut || {
        router.dim();
    });
    check("ModelPool::new", &mut || {
        let _ = pool::ModelPool::new(pool_router.clone(), 100.0, None);
    });
    check("ModelPool::route_and_complete_embedding", &mut || {
        let _ = pool.route_and_complete_embedding(vec![1.0, 0.0], msgs(), 0.5);
    });
    check("ModelPool::route_and_complete_text", &mut || {
        let _ = pool.route_and_complete_text(embedder.clone(), "x".into(), msgs(), 0.5);
    });
    check("ModelPool::resident_mb", &mut || {
        pool.resident_mb();
    });
    check("ModelPool::resident_models", &mut || {
        pool.resident_models();
    });
    check("MobileRouteSet::from_json", &mut || {
        let _ = MobileRouteSet::from_json(String::from_utf8(routes_json.clone()).unwrap());
    });
    check("MobileRouteSet::from_bytes", &mut || {
        let _ = MobileRouteSet::from_bytes(routes_json.clone());
    });
    check("MobileRouteSet::from_path", &mut || {
        let _ = MobileRouteSet::from_path("routes.json".into());
    });
    check("MobileRouteSet::route_count", &mut || {
        routes.route_count();
    });
    check("MobileRouteSet::route_names", &mut || {
        routes.route_names();
    });
    check("MobileRouteSet::embedding_model", &mut || {
        routes.embedding_model();
    });
    check("MobileRouteSet::match_embedding", &mut || {
        let _ = routes.match_embedding(vec![1.0, 0.0]);
    });
    check("MobileRouteSet::match_text", &mut || {
        let _ = routes.match_text("x".into(), embedder.clone());
    });
    check("MobileRouteSet::session", &mut || {
        routes.session();
    });
    check("MobileRouteSession::new", &mut || {
        MobileRouteSession::new(&routes);
    });
    check("MobileRouteSession::push_embedding", &mut || {
        let _ = session.push_embedding(vec![1.0, 0.0]);
    });
    check("MobileRouteSession::push_text", &mut || {
        let _ = session.push_text("x".into(), embedder.clone());
    });
    check("MobileRouteSession::reset", &mut || {
        session.reset();
    });
    check("ClusterStore::open", &mut || {
        let _ = ClusterStore::open(dir_s.clone(), "m".into(), 2, false);
    });
    check("ClusterStore::insert", &mut || {
        let _ = store.insert("g".into(), "i".into(), vec![1.0, 0.0], None, 1.0);
    });
    check("ClusterStore::remove", &mut || {
        let _ = store.remove("g".into(), "i".into());
    });
    check("ClusterStore::clusters", &mut || {
        let _ = store.clusters("g".into());
    });
    check("ClusterStore::heroes", &mut || {
        let _ = store.heroes("g".into(), 0, 3);
    });
    check("ClusterStore::groups", &mut || {
        store.groups();
    });
    check("Templates::load", &mut || {
        let _ = Templates::load(tjson.clone(), embedder.clone());
    });
    check("Templates::load_with_threshold", &mut || {
        let _ = Templates::load_with_threshold(tjson.clone(), embedder.clone(), 0.5);
    });
    check("Templates::match_text", &mut || {
        let _ = templates.match_text("x".into(), embedder.clone());
    });
    check("Templates::match_embedding", &mut || {
        let _ = templates.match_embedding(q.clone());
    });
    check("Templates::count", &mut || {
        templates.count();
    });
    check("Templates::threshold", &mut || {
        templates.threshold();
    });
    #[cfg(feature = "bert")]
    {
        // The MiniLM folder may be absent: a panic injected in `new` is
        // still caught; the instance methods need a model.
        check("MiniLmEmbedder::new", &mut || {
            let _ = MiniLmEmbedder::new("models/all-MiniLM-L6-v2".into());
        });
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/models/all-MiniLM-L6-v2");
        if let Ok(m) = MiniLmEmbedder::new(dir.into()) {
            check("MiniLmEmbedder::embed_batch", &mut || {
                let _ = m.embed_batch(vec!["x".into()]);
            });
            check("MiniLmEmbedder::embed", &mut || {
                let _ = m.embed("x".into());
            });
            check("MiniLmEmbedder::dim", &mut || {
                m.dim();
            });
            check("MiniLmEmbedder::model_id", &mut || {
                m.model_id();
            });
            check("MiniLmEmbedder::is_mock", &mut || {
                m.is_mock();
            });
        } else {
            for n in ["embed_batch", "embed", "dim", "model_id", "is_mock"] {
                eprintln!("skipped MiniLmEmbedder::{n}: no model folder at {dir}");
                seen.insert(format!("MiniLmEmbedder::{n}"));
            }
        }
    }
    assert_eq!(
        seen,
        exported_methods(),
        "every exported method gets a panic test"
    );
}
