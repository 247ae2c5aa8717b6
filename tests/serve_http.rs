//! `aurora serve` over real HTTP (ureq) on a loopback port: every endpoint
//! and error, the bearer token, 16 concurrent clients against a sequential
//! ingest, and a SIGKILL mid-ingest followed by a restart.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aurora_router::embed::PrecomputedEmbeddings;
use aurora_router::stream::{BatchItem, ClusterStore, StreamParams};
use serde_json::{json, Value};

const TOKEN: &str = "s3cret-token";

/// A running `aurora serve`, killed on drop.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(store: &Path, extra: &[&str]) -> Server {
        let mut cmd = common::aurora_cmd();
        cmd.arg("serve")
            .arg("--store")
            .arg(store)
            .args(["--addr", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn aurora serve");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("aurora serve did not start: {line:?}")
            })
            .to_string();
        Server { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then the exit status (graceful shutdown).
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(ok.success());
        let status = self.child.wait().unwrap();
        std::mem::forget(self);
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// One request: (status, body as JSON or as a string value).
fn call(method: &str, url: &str, token: Option<&str>, body: Option<&str>) -> (u16, Value) {
    let a = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    let resp = match (method, body) {
        ("GET", _) => {
            let mut r = a.get(url);
            if let Some(h) = &auth {
                r = r.header("Authorization", h);
            }
            r.call()
        }
        (_, b) => {
            let mut r = a.post(url).header("Content-Type", "application/json");
            if let Some(h) = &auth {
                r = r.header("Authorization", h);
            }
            r.send(b.unwrap_or("").as_bytes())
        }
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.into_body().read_to_string().unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v)
}

fn get(s: &Server, path: &str) -> (u16, Value) {
    call("GET", &s.url(path), Some(TOKEN), None)
}

fn post(s: &Server, path: &str, body: &Value) -> (u16, Value) {
    call("POST", &s.url(path), Some(TOKEN), Some(&body.to_string()))
}

/// A tiny deterministic generator (xorshift) for test vectors.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) as f32 * 2.0 - 1.0
    }
}

/// `n` items of dimension `dim` around `centres` directions (noise 0.15),
/// ids `{prefix}{i}`, timestamps `i`.
fn items(prefix: &str, n: usize, dim: usize, centres: usize, seed: u64) -> Vec<BatchItem> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let cs: Vec<Vec<f32>> = (0..centres)
        .map(|_| (0..dim).map(|_| rng.next()).collect())
        .collect();
    (0..n)
        .map(|i| {
            let c = &cs[i % centres];
            BatchItem {
                id: format!("{prefix}{i}"),
                embedding: c.iter().map(|v| v + 0.15 * rng.next()).collect(),
                quality: Some((i % 5) as f32 / 5.0),
                timestamp: i as f64,
            }
        })
        .collect()
}

fn items_json(items: &[BatchItem]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|it| {
                json!({"id": it.id, "embedding": it.embedding, "quality": it.quality, "timestamp": it.timestamp})
            })
            .collect(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A mock-embedding route set built from the routes fixture by the CLI.
fn mock_routes(dir: &Path) -> PathBuf {
    let out = dir.join("routes.json");
    let o = common::aurora_cmd()
        .args([
            "-q", "routes", "build", "--mock", "--epochs", "2", "--folds", "2",
        ])
        .arg("--examples")
        .arg(common::root().join("tests/fixtures/routes/train.jsonl"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn cli_json(args: &[&str]) -> Value {
    let o = common::aurora_cmd().args(args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Every number rounded to float32 (the clusters' precision; serde_json's
/// default float parser may land one float64 ulp away).
fn at_f32(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => json!(n.as_f64().unwrap() as f32),
        Value::Array(a) => Value::Array(a.iter().map(at_f32).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), at_f32(x))).collect()),
        x => x.clone(),
    }
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no metric {name}"))
}

#[test]
fn every_endpoint_and_error() {
    let dir = tempfile::tempdir().unwrap();
    let token = write(dir.path(), "token", &format!("{TOKEN}\n"));
    let routes = mock_routes(dir.path());
    let profile = common::root().join("profiles/mmlu_pro-minilm.json");
    let store = dir.path().join("store");
    let s = Server::start(
        &store,
        &[
            "--mock",
            "--mock-dim",
            "8",
            "--profile",
            profile.to_str().unwrap(),
            "--routes",
            routes.to_str().unwrap(),
            "--token-file",
            token.to_str().unwrap(),
            "--no-fsync",
            "--body-limit",
            "20000",
            "--min-founders",
            "2",
        ],
    );

    // Health is open; everything else needs the token.
    let (st, v) = call("GET", &s.url("/healthz"), None, None);
    assert_eq!((st, v), (200, json!({"status": "ok"})));
    for path in ["/metrics", "/groups/rex/clusters"] {
        let (st, v) = call("GET", &s.url(path), None, None);
        assert_eq!(st, 401, "{path} without a token: {v}");
        assert!(v["error"].as_str().unwrap().contains("missing"), "{v}");
        let (st, v) = call("GET", &s.url(path), Some("s3cret-tokem"), None);
        assert_eq!(st, 401, "{path} with a wrong token: {v}");
        let (st, _) = call("GET", &s.url(path), Some("s3cret-token-longer"), None);
        assert_eq!(st, 401);
    }
    let (st, _) = call("POST", &s.url("/route"), Some("nope"), Some("{}"));
    assert_eq!(st, 401);

    // Unknown group, unknown endpoint.
    let (st, v) = get(&s, "/groups/rex/clusters");
    assert_eq!(st, 404, "{v}");
    assert!(v["error"].as_str().unwrap().contains("rex"), "{v}");
    assert_eq!(get(&s, "/nope").0, 404);

    // Ingest: vectors and a text (embedded by the mock).
    let batch = items("p", 12, 8, 2, 7);
    let mut body = items_json(&batch);
    body.as_array_mut()
        .unwrap()
        .push(json!({"id": "t1", "text": "a photo of a dog on the beach"}));
    let (st, v) = post(&s, "/groups/rex/items", &body);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["added"], 13);
    let assignments = v["assignments"].as_array().unwrap().clone();
    assert_eq!(assignments.len(), 13);
    let places = |a: &Value| -> Vec<(Value, Value)> {
        a.as_array()
            .unwrap()
            .iter()
            .map(|x| (x["id"].clone(), x["cluster"].clone()))
            .collect()
    };
    assert_eq!(assignments[0]["id"], "p0");
    // Idempotent: the same batch again adds nothing and reports the same places.
    let (st, v2) = post(&s, "/groups/rex/items", &body);
    assert_eq!(st, 200, "{v2}");
    assert_eq!(v2["added"], 0);
    assert_eq!(
        places(&v2["assignments"]),
        places(&Value::Array(assignments))
    );
    assert!(v2["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["new_cluster"] == false));

    let (st, c) = get(&s, "/groups/rex/clusters");
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["items"], 13);
    let clusters = c["clusters"].as_array().unwrap();
    assert!(!clusters.is_empty(), "{c}");
    assert!(clusters[0]["heroes"]
        .as_array()
        .is_some_and(|h| !h.is_empty()));
    assert_eq!(clusters[0]["centroid"].as_array().unwrap().len(), 8);
    let clustered = c["clustered"].as_u64().unwrap();
    assert_eq!(clustered + c["pending"].as_u64().unwrap(), 13);
    let frac = c["clustered_fraction"].as_f64().unwrap();
    assert!((frac - clustered as f64 / 13.0).abs() < 1e-9);

    // All or nothing: one bad item fails the batch and nothing is applied.
    let good = items("q", 3, 8, 1, 9);
    let mut bad_dim = items_json(&good);
    bad_dim
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "q9", "embedding": [1.0, 2.0]}));
    let (st, v) = post(&s, "/groups/rex/items", &bad_dim);
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("dimension"), "{v}");
    let mut inf = items_json(&good);
    inf.as_array_mut()
        .unwrap()
        .push(json!({"id": "q9", "embedding": [1e39, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]}));
    let (st, v) = post(&s, "/groups/rex/items", &inf);
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("inf"), "{v}");
    // A NaN is not JSON: malformed.
    let nan = r#"[{"id": "q9", "embedding": [NaN, 0, 0, 0, 0, 0, 0, 0]}]"#;
    let (st, v) = call("POST", &s.url("/groups/rex/items"), Some(TOKEN), Some(nan));
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("invalid JSON"), "{v}");
    let (st, _) = call(
        "POST",
        &s.url("/groups/rex/items"),
        Some(TOKEN),
        Some("[{\"id\": "),
    );
    assert_eq!(st, 400);
    let (st, v) = post(
        &s,
        "/groups/rex/items",
        &json!([{"id": "z", "embedding": vec![1.0; 8], "text": "x"}]),
    );
    assert_eq!(st, 400, "{v}");
    // An id already stored with another vector: 409, nothing applied.
    let mut conflict = items_json(&good);
    conflict
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "p0", "embedding": [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]}));
    let (st, v) = post(&s, "/groups/rex/items", &conflict);
    assert_eq!(st, 409, "{v}");
    // Over the body limit.
    let big = items_json(&items("b", 120, 8, 2, 3)).to_string();
    assert!(big.len() > 20000);
    let (st, v) = call("POST", &s.url("/groups/rex/items"), Some(TOKEN), Some(&big));
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("limit"), "{v}");
    let (_, c) = get(&s, "/groups/rex/clusters");
    assert_eq!(c["items"], 13, "a failed batch changed the store: {c}");
    assert_eq!(get(&s, "/groups/nobody/clusters").0, 404);

    // POST /route: the CLI's JSON.
    let e = PrecomputedEmbeddings::load(
        common::fixture("embeddings_minilm.f16.npy"),
        "all-MiniLM-L6-v2",
    )
    .unwrap();
    let row: Vec<f32> = e.row(3).unwrap().to_vec();
    let (st, r) = post(
        &s,
        "/route",
        &json!({"embedding": row, "cost_preference": 0.4}),
    );
    assert_eq!(st, 200, "{r}");
    let cli = cli_json(&[
        "route",
        "--profile",
        profile.to_str().unwrap(),
        "--embedding-json",
        &serde_json::to_string(&row).unwrap(),
        "--cost-preference",
        "0.4",
        "--json",
    ]);
    assert_eq!(r, cli);
    let (st, v) = post(&s, "/route", &json!({"embedding": [1.0, 2.0]}));
    assert_eq!(st, 400, "{v}");
    // The service's embedder (mock, d = 8) is not the profile's model.
    let (st, v) = post(&s, "/route", &json!({"text": "what is 2 + 2"}));
    assert_eq!(st, 400, "{v}");
    let (st, _) = post(&s, "/route", &json!({"text": "x", "embedding": row}));
    assert_eq!(st, 400);
    let (st, _) = post(
        &s,
        "/route",
        &json!({"embedding": row, "cost_preference": 7.0}),
    );
    assert_eq!(st, 400);

    // POST /routes/match: the CLI's JSON (mock routes: text is embedded by the mock).
    let text = "how do i say thank you in german";
    let (st, m) = post(&s, "/routes/match", &json!({ "text": text }));
    assert_eq!(st, 200, "{m}");
    let cli = cli_json(&[
        "routes",
        "match",
        "--routes",
        routes.to_str().unwrap(),
        "--text",
        text,
        "--json",
    ]);
    assert_eq!(m, cli);
    let (st, v) = post(&s, "/routes/match", &json!({"embedding": vec![0.5; 3]}));
    assert_eq!(st, 400, "{v}");
    let (st, _) = call("POST", &s.url("/routes/match"), Some(TOKEN), Some("nope"));
    assert_eq!(st, 400);

    // Metrics: the histograms and counters moved.
    let (st, m) = get(&s, "/metrics");
    assert_eq!(st, 200);
    let m = m.as_str().unwrap().to_string();
    assert_eq!(metric(&m, "aurora_items_ingested_total"), 13.0);
    assert_eq!(metric(&m, "aurora_store_groups"), 1.0);
    assert_eq!(metric(&m, "aurora_cluster_seconds_count"), 2.0);
    assert!(metric(&m, "aurora_embed_seconds_count") >= 2.0);
    assert!(metric(&m, "aurora_hero_seconds_count") >= 2.0);
    assert_eq!(
        metric(&m, "aurora_route_seconds_count{endpoint=\"route\"}"),
        1.0
    );
    assert!(metric(&m, "aurora_errors_total{status=\"401\"}") >= 7.0);
    assert!(metric(&m, "aurora_errors_total{status=\"400\"}") >= 10.0);
    assert_eq!(metric(&m, "aurora_errors_total{status=\"409\"}"), 1.0);

    // SIGTERM: a clean exit.
    assert!(s.terminate().success());
}

#[test]
fn a_store_of_another_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = Server::start(&store, &["--embedding-model", "toy", "--dim", "8"]);
    assert!(s.terminate().success());
    let o = common::aurora_cmd()
        .arg("serve")
        .arg("--store")
        .arg(&store)
        .args(["--mock", "--mock-dim", "8", "--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("toy"), "{err}");
    // A new store needs to know its model.
    let o = common::aurora_cmd()
        .arg("serve")
        .arg("--store")
        .arg(dir.path().join("other"))
        .args(["--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--embedding-model"));
}

#[test]
fn sixteen_concurrent_clients_equal_a_sequential_ingest() {
    const CLIENTS: usize = 16;
    const BATCHES: usize = 4;
    const PER_BATCH: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let token = write(dir.path(), "token", TOKEN);
    let s = Server::start(
        &store,
        &[
            "--embedding-model",
            "toy",
            "--dim",
            "8",
            "--no-fsync",
            "--token-file",
            token.to_str().unwrap(),
        ],
    );
    // Client c owns group g{c}; its items are disjoint from every other's.
    let data: Vec<Vec<BatchItem>> = (0..CLIENTS)
        .map(|c| items(&format!("c{c}-"), BATCHES * PER_BATCH, 8, 3, c as u64 + 1))
        .collect();
    let s = Arc::new(s);
    std::thread::scope(|scope| {
        for (c, its) in data.iter().enumerate() {
            let s = s.clone();
            scope.spawn(move || {
                for b in its.chunks(PER_BATCH) {
                    let (st, v) = post(&s, &format!("/groups/g{c}/items"), &items_json(b));
                    assert_eq!(st, 200, "{v}");
                }
            });
        }
    });
    let s = Arc::into_inner(s).unwrap();

    // The same items, one client, in the same per-group order.
    let seq_dir = dir.path().join("sequential");
    let params = StreamParams::new().check().unwrap();
    let seq = ClusterStore::open(&seq_dir, "toy", 8, params).unwrap();
    for (c, its) in data.iter().enumerate() {
        for b in its.chunks(PER_BATCH) {
            seq.insert_batch(&format!("g{c}"), b).unwrap();
        }
    }
    for c in 0..CLIENTS {
        let g = format!("g{c}");
        let (st, v) = get(&s, &format!("/groups/{g}/clusters"));
        assert_eq!(st, 200);
        let want = serde_json::to_value(seq.clusters(&g).unwrap()).unwrap();
        assert_eq!(at_f32(&v["clusters"]), at_f32(&want));
        assert_eq!(v["pending_ids"], json!(seq.pending(&g).unwrap()));
    }
    assert!(s.terminate().success());
    // And the served store, reopened from its log, is the same store.
    let served = ClusterStore::open_existing(&store).unwrap();
    assert_eq!(served.stats().items, CLIENTS * BATCHES * PER_BATCH);
    assert_eq!(served.state_digest(), seq.state_digest());
    for c in 0..CLIENTS {
        let g = format!("g{c}");
        assert_eq!(served.clusters(&g).unwrap(), seq.clusters(&g).unwrap());
    }
}

#[test]
fn sigkill_mid_ingest_loses_no_acknowledged_item() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let flags = ["--embedding-model", "toy", "--dim", "8", "--no-fsync"];
    let mut s = Server::start(&store, &flags);
    let url = s.url("/groups/rex/items");
    let acked: Arc<Mutex<Vec<BatchItem>>> = Arc::default();
    let n_acked = Arc::new(AtomicUsize::new(0));
    let all = items("k", 3000, 8, 4, 42);
    let writer = {
        let (acked, n_acked) = (acked.clone(), n_acked.clone());
        let all = all.clone();
        std::thread::spawn(move || {
            let a = agent();
            for b in all.chunks(5) {
                let body = items_json(b).to_string();
                let r = a
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .send(body.as_bytes());
                match r {
                    Ok(r) if r.status().as_u16() == 200 => {
                        acked.lock().unwrap().extend(b.iter().cloned());
                        n_acked.fetch_add(b.len(), Ordering::SeqCst);
                    }
                    _ => break, // the server is gone
                }
            }
        })
    };
    let t0 = Instant::now();
    while n_acked.load(Ordering::SeqCst) < 500 && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(2));
    }
    s.child.kill().unwrap(); // SIGKILL, mid-ingest
    s.child.wait().unwrap();
    writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 500 && acked.len() < all.len(),
        "{}",
        acked.len()
    );

    // Restart: every acknowledged item is there (re-sending them adds nothing).
    let s = Server::start(&store, &flags);
    let (st, c) = call("GET", &s.url("/groups/rex/clusters"), None, None);
    assert_eq!(st, 200, "{c}");
    assert!(c["items"].as_u64().unwrap() >= acked.len() as u64, "{c}");
    for b in acked.chunks(500) {
        let (st, v) = call(
            "POST",
            &s.url("/groups/rex/items"),
            None,
            Some(&items_json(b).to_string()),
        );
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["added"], 0, "an acknowledged item was lost");
    }
    assert!(s.terminate().success());
}
