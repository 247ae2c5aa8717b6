//! Concurrency: one shared `Router` / `RouteSet` / `ClusterStore` used from 8
//! threads gives exactly the answers of one thread. `RouteSession`s are
//! per-conversation objects (`&mut self`): each thread owns its own, and a
//! session shared between threads must be wrapped in a `Mutex` by the app.

mod common;

use std::sync::Arc;

use aurora_router::route::Router;
use aurora_router::routes::{RouteSession, RouteSet};
use aurora_router::stream::{ClusterStore, StreamParams};

const THREADS: usize = 8;

/// A deterministic stream of unit-ish query vectors (xorshift).
fn queries(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    (0..n).map(|_| (0..dim).map(|_| next()).collect()).collect()
}

#[test]
fn eight_threads_on_one_router_give_the_single_thread_answers() {
    let router =
        Arc::new(Router::from_path(common::root().join("profiles/mmlu_pro-minilm.json")).unwrap());
    let qs = Arc::new(queries(400, router.dim(), 7));
    let prefs = [0.0f64, 0.3, 0.9];
    let answer = |r: &Router, q: &[f32], pref: f64| {
        let opts = r.options().cost_preference(pref).check().unwrap();
        let d = r.route_embedding(q, &opts).unwrap();
        (
            d.model_index(),
            d.cluster(),
            d.similarity().to_bits(),
            d.confidence().to_bits(),
        )
    };
    let expected: Vec<_> = qs
        .iter()
        .flat_map(|q| prefs.iter().map(|&p| answer(&router, q, p)))
        .collect();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (router, qs) = (router.clone(), qs.clone());
            std::thread::spawn(move || {
                // Each thread walks the queries from a different start.
                let n = qs.len();
                let mut out = Vec::new();
                for i in (0..n).map(|i| (i + t * 37) % n) {
                    for &p in &prefs {
                        out.push((i, p, answer(&router, &qs[i], p)));
                    }
                }
                out
            })
        })
        .collect();
    for h in handles {
        for (i, p, got) in h.join().unwrap() {
            let j = prefs.iter().position(|&x| x == p).unwrap();
            assert_eq!(
                got,
                expected[i * prefs.len() + j],
                "query {i}, preference {p}"
            );
        }
    }
}

const ROUTES: &[u8] = br#"{"version":"3.0","routes":{"format":"softmax-head-v1",
  "embedding_model":"toy","dim":2,"is_mock":false,"names":["weather","music"],
  "weights":{"dtype":"float16","encoding":"base64-le","shape":[2,2],"data":"AEoAAAAAAEo="},
  "bias":[0.0,0.0],"temperature":1.0,"threshold":0.9,
  "session":{"decay":0.7,"switch":0.8}}}"#;

#[test]
fn eight_threads_on_one_route_set_and_one_session_each() {
    let routes = Arc::new(RouteSet::from_json(ROUTES).unwrap());
    let qs = Arc::new(queries(2000, 2, 11));
    let expected: Vec<_> = qs.iter().map(|q| routes.match_embedding(q).ok()).collect();
    let mut session = RouteSession::new(routes.clone());
    let expected_session: Vec<_> = qs.iter().map(|q| session.push_embedding(q).ok()).collect();
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (routes, qs) = (routes.clone(), qs.clone());
            std::thread::spawn(move || {
                let matches: Vec<_> = qs.iter().map(|q| routes.match_embedding(q).ok()).collect();
                // A session per thread: the same conversation, the same turns.
                let mut s = RouteSession::new(routes.clone());
                let turns: Vec<_> = qs.iter().map(|q| s.push_embedding(q).ok()).collect();
                (matches, turns)
            })
        })
        .collect();
    for h in handles {
        let (matches, turns) = h.join().unwrap();
        assert!(matches == expected);
        assert!(turns == expected_session);
    }
}

#[test]
fn eight_threads_on_one_cluster_store() {
    // Groups are independent: 8 threads each feeding its own groups give
    // the clusters one thread gets feeding the same items in the same order
    // per group.
    let params = || StreamParams::new().check().unwrap();
    let dim = 8;
    let items = move |g: usize| queries(150, dim, 100 + g as u64);
    let single = ClusterStore::in_memory("m", dim, params()).unwrap();
    for g in 0..THREADS * 2 {
        for (i, v) in items(g).iter().enumerate() {
            single
                .insert(&format!("g{g}"), &format!("i{i}"), v, None, i as f64)
                .unwrap();
        }
    }
    let shared = Arc::new(ClusterStore::in_memory("m", dim, params()).unwrap());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for g in [t, t + THREADS] {
                    for (i, v) in items(g).iter().enumerate() {
                        shared
                            .insert(&format!("g{g}"), &format!("i{i}"), v, None, i as f64)
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(shared.groups().len(), THREADS * 2);
    for g in 0..THREADS * 2 {
        let group = format!("g{g}");
        assert_eq!(
            shared.clusters(&group).unwrap(),
            single.clusters(&group).unwrap(),
            "{group}"
        );
    }
}
