//! `ModelPool` in mock mode: the budget is never exceeded (instrumented
//! loads and frees), LRU order, fallback on a missing model file, concurrent
//! callers.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aurora_router::pool::{LoadedModel, ModelBackend, ModelPool, PoolError, PoolParams, Query};
use aurora_router::route::Router;
use cactus_sys::{
    CactusError, CactusModel, CancelToken, ChatMessage, CompleteOptions, Completion, TokenAction,
};

/// Three clusters on the axes of R^3; model `mK` is the only good one in
/// cluster K, sizes 1000, 1500 and 2000 MB; `huge` never fits.
fn profile(paths: [&str; 3]) -> Router {
    let json = format!(
        r#"{{"version":"2.0",
  "metadata":{{"n_clusters":3,"feature_dim":3,"embedding_model":"toy","is_mock":true,
    "silhouette_score":0.5,"clustering_algorithm":"kmeans","params":{{"k":3}},"selection":[],
    "noise_fraction":0.0,"dataset_sha256":"0","seed":1,"generator":"hand"}},
  "cluster_centers":{{"dtype":"float16","encoding":"base64-le","shape":[3,3],"data":"ADwAAAAAAAAAPAAAAAAAAAA8"}},
  "cluster_sizes":[10,10,10],
  "llm_profiles":{{"m0":[0.0,0.9,0.9],"m1":[0.9,0.0,0.9],"m2":[0.9,0.9,0.0],"huge":[0.5,0.5,0.5],"nopath":[0.0,0.0,0.0]}},
  "models":[{{"name":"m0","cost":1,"path":"{}","size_mb":1000}},
            {{"name":"m1","cost":1,"path":"{}","size_mb":1500}},
            {{"name":"m2","cost":1,"path":"{}","size_mb":2000}},
            {{"name":"huge","cost":1,"path":"mock:","size_mb":99999}},
            {{"name":"nopath","cost":1,"size_mb":10}}]}}"#,
        paths[0], paths[1], paths[2]
    );
    Router::from_json(json.as_bytes()).unwrap()
}

const Q: [[f32; 3]; 3] = [[1.0, 0.1, 0.0], [0.1, 1.0, 0.0], [0.0, 0.1, 1.0]];

/// Wraps the Cactus backend, counting resident MB on every load and free.
#[derive(Default)]
struct Instrumented {
    resident_mb: AtomicU64,
    peak_mb: AtomicU64,
    loads: AtomicUsize,
    frees: AtomicUsize,
    log: Mutex<Vec<String>>,
}

struct Counted {
    inner: CactusModel,
    size: u64,
    backend: Arc<Instrumented>,
    name: String,
}

impl LoadedModel for Counted {
    fn complete(
        &mut self,
        messages: &[ChatMessage],
        options: &CompleteOptions,
        cancel: Option<&CancelToken>,
        on_token: &mut dyn FnMut(&str, u32) -> TokenAction,
    ) -> Result<Completion, CactusError> {
        self.inner
            .complete_streaming(messages, options, cancel, on_token)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.backend
            .resident_mb
            .fetch_sub(self.size, Ordering::SeqCst);
        self.backend.frees.fetch_add(1, Ordering::SeqCst);
        self.backend
            .log
            .lock()
            .unwrap()
            .push(format!("free {}", self.name));
    }
}

struct Backend(Arc<Instrumented>);

impl ModelBackend for Backend {
    fn load(&self, name: &str, path: &Path) -> Result<Box<dyn LoadedModel>, CactusError> {
        let inner = CactusModel::open(path)?;
        let size = match name {
            "m0" => 1000,
            "m1" => 1500,
            _ => 2000,
        };
        let now = self.0.resident_mb.fetch_add(size, Ordering::SeqCst) + size;
        self.0.peak_mb.fetch_max(now, Ordering::SeqCst);
        self.0.loads.fetch_add(1, Ordering::SeqCst);
        self.0.log.lock().unwrap().push(format!("load {name}"));
        Ok(Box::new(Counted {
            inner,
            size,
            backend: self.0.clone(),
            name: name.to_string(),
        }))
    }
}

fn pool(budget: f64, paths: [&str; 3]) -> (ModelPool, Arc<Instrumented>) {
    let inst = Arc::new(Instrumented::default());
    let params = PoolParams::new().budget_mb(budget).check().unwrap();
    let p =
        ModelPool::with_backend(profile(paths), &params, Arc::new(Backend(inst.clone()))).unwrap();
    (p, inst)
}

fn ask(p: &ModelPool, c: usize, msg: &str) -> aurora_router::pool::PoolAnswer {
    p.route_and_complete(Query::Embedding(&Q[c]), &[ChatMessage::user(msg)], 0.0)
        .unwrap()
}

#[test]
fn excludes_models_that_cannot_fit_with_reasons() {
    if !cactus_sys::is_mock() {
        return;
    }
    let (p, _) = pool(2600.0, ["mock:", "mock:", "mock:"]);
    let ex: Vec<(&str, &str)> = p
        .excluded()
        .iter()
        .map(|s| (s.model.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].0, "huge");
    assert!(
        ex[0].1.contains("exceeds the memory budget of 2600 MB"),
        "{}",
        ex[0].1
    );
    assert_eq!(ex[1].0, "nopath");
    let a = ask(&p, 0, "hi");
    assert_eq!(a.decision.model, "m0");
    assert_eq!(a.decision.excluded.len(), 2);

    assert!(matches!(
        PoolParams::new().budget_mb(-1.0).check(),
        Err(PoolError::InvalidBudget(_))
    ));
    assert!(matches!(
        PoolParams::new().check(),
        Err(PoolError::InvalidBudget(_))
    ));
    let params = PoolParams::new().budget_mb(5.0).check().unwrap();
    assert!(matches!(
        ModelPool::new(profile(["mock:", "mock:", "mock:"]), &params),
        Err(PoolError::NoEligibleModel { .. })
    ));
    // A text query needs an embedder.
    assert!(matches!(
        p.route_and_complete(Query::Text("hello"), &[ChatMessage::user("x")], 0.0),
        Err(PoolError::NoEmbedder)
    ));
}

#[test]
fn budget_is_never_exceeded_and_lru_is_evicted() {
    if !cactus_sys::is_mock() {
        return;
    }
    // 2600 MB holds m0 + m1 (2500) but not m2 with anything but m0? m2 + m0 = 3000 > 2600.
    let (p, inst) = pool(2600.0, ["mock:", "mock:", "mock:"]);
    let a = ask(&p, 0, "q0");
    assert!(a.decision.loaded && a.decision.evicted.is_empty());
    let a = ask(&p, 1, "q1");
    assert!(a.decision.loaded && a.decision.evicted.is_empty());
    assert_eq!(p.resident_models(), ["m0", "m1"]);
    // Touch m0: now m1 is the least recently used.
    assert!(!ask(&p, 0, "q0 again").decision.loaded);
    assert_eq!(p.resident_models(), ["m1", "m0"]);
    // m2 (2000) needs both out.
    let a = ask(&p, 2, "q2");
    assert_eq!(a.decision.evicted, ["m1", "m0"]);
    assert_eq!(p.resident_models(), ["m2"]);
    let a = ask(&p, 0, "q0 third");
    assert_eq!(a.decision.evicted, ["m2"]);
    for i in 0..30 {
        ask(&p, i % 3, &format!("round {i}"));
        assert!(p.resident_mb() <= 2600.0);
    }
    assert!(inst.peak_mb.load(Ordering::SeqCst) <= 2600);
    assert_eq!(
        inst.loads.load(Ordering::SeqCst) - inst.frees.load(Ordering::SeqCst),
        p.resident_models().len()
    );
    let log = inst.log.lock().unwrap();
    assert_eq!(log[..4], ["load m0", "load m1", "free m1", "free m0"]);
}

#[test]
fn missing_model_file_falls_back_to_the_next_best() {
    if !cactus_sys::is_mock() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-model.bin");
    let (p, _) = pool(5000.0, [missing.to_str().unwrap(), "mock:", "mock:"]);
    let a = ask(&p, 0, "cluster 0 question");
    // m0 is best in cluster 0 but cannot load; m1 and m2 tie (0.9): the
    // router's tie-break picks one of them.
    assert_ne!(a.decision.model, "m0");
    assert_eq!(a.decision.fallbacks.len(), 1);
    assert_eq!(a.decision.fallbacks[0].model, "m0");
    assert!(
        a.decision.fallbacks[0].reason.contains("not found"),
        "{}",
        a.decision.fallbacks[0].reason
    );
    assert!(!p.resident_models().contains(&"m0".to_string()));
    assert!(p.resident_mb() <= 5000.0);
}

#[test]
#[allow(clippy::needless_range_loop)]
fn concurrent_callers_get_the_right_answers() {
    if !cactus_sys::is_mock() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<String> = (0..3)
        .map(|i| {
            let d = dir.path().join(format!("model{i}"));
            std::fs::create_dir(&d).unwrap();
            d.to_str().unwrap().to_string()
        })
        .collect();
    let paths3 = [paths[0].as_str(), paths[1].as_str(), paths[2].as_str()];
    // Reference answers, one model at a time.
    let expected: Vec<Vec<String>> = (0..3)
        .map(|c| {
            let m = CactusModel::open(paths3[c]).unwrap();
            (0..8)
                .map(|i| {
                    m.complete_messages(
                        &[ChatMessage::user(format!("Q{i}?\nA. x\nB. y\nC. z\nD. w"))],
                        &CompleteOptions::new(),
                    )
                    .unwrap()
                    .response
                })
                .collect()
        })
        .collect();
    // Budget for two models at once (m1 + m2 = 3500 > 3000: those two queue).
    let (p, inst) = pool(3000.0, paths3);
    let p = Arc::new(p);
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let p = p.clone();
            let expected = expected.clone();
            std::thread::spawn(move || {
                for i in 0..8 {
                    let c = (t + i) % 3;
                    let a = p
                        .route_and_complete(
                            Query::Embedding(&Q[c]),
                            &[ChatMessage::user(format!("Q{i}?\nA. x\nB. y\nC. z\nD. w"))],
                            0.0,
                        )
                        .unwrap();
                    assert_eq!(a.decision.model, format!("m{c}"));
                    assert_eq!(a.completion.response, expected[c][i]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(
        inst.peak_mb.load(Ordering::SeqCst) <= 3000,
        "{:?}",
        inst.peak_mb
    );
    assert!(p.resident_mb() <= 3000.0);
}

#[test]
fn c_abi_route_and_complete() {
    use aurora_router::ffi::pool::{
        aurora_pool_complete_embedding, aurora_pool_free, aurora_pool_new, aurora_pool_resident_mb,
    };
    use aurora_router::ffi::{aurora_router_free, aurora_router_from_path, aurora_string_free};
    use std::ffi::{CStr, CString};
    if !cactus_sys::is_mock() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    std::fs::write(
        &path,
        profile(["mock:", "mock:", "mock:"]).profile().to_json(),
    )
    .unwrap();
    let cpath = CString::new(path.to_str().unwrap()).unwrap();
    let msgs = CString::new(r#"[{"role":"user","content":"Pick one\nA. x\nB. y"}]"#).unwrap();
    unsafe {
        let r = aurora_router_from_path(cpath.as_ptr());
        assert!(!r.is_null());
        assert!(aurora_pool_new(r, -5.0, std::ptr::null()).is_null());
        let p = aurora_pool_new(r, 2600.0, std::ptr::null());
        aurora_router_free(r);
        assert!(!p.is_null());
        let out = aurora_pool_complete_embedding(p, Q[1].as_ptr(), 3, msgs.as_ptr(), 0.0);
        assert!(!out.is_null());
        let v: serde_json::Value =
            serde_json::from_str(CStr::from_ptr(out).to_str().unwrap()).unwrap();
        aurora_string_free(out);
        assert_eq!(v["decision"]["model"], "m1");
        assert_eq!(v["decision"]["excluded"][0]["model"], "huge");
        assert!(v["completion"]["response"]
            .as_str()
            .unwrap()
            .contains("answer is ("));
        assert_eq!(aurora_pool_resident_mb(p), 1500.0);
        let bad = CString::new("not json").unwrap();
        assert!(aurora_pool_complete_embedding(p, Q[1].as_ptr(), 3, bad.as_ptr(), 0.0).is_null());
        aurora_pool_free(p);
    }
}
