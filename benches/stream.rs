//! Insert throughput, latency, reopen time and peak RSS of the cluster store
//! (issue #14). Items are rows of the MMLU-Pro MiniLM embeddings plus seeded
//! noise; `STREAM_BENCH_GROUPS` groups (default 10000) × 100 items.
//!
//! `STREAM_BENCH_GROUPS=1000 cargo bench --bench stream`

use std::time::Instant;

use aurora_router::embed::PrecomputedEmbeddings;
use aurora_router::stream::{ClusterStore, Durability, StreamParams};

fn main() {
    let groups: usize = std::env::var("STREAM_BENCH_GROUPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/mmlu_pro/embeddings_minilm.f16.npy");
    let Ok(e) = PrecomputedEmbeddings::load(&path, "all-MiniLM-L6-v2") else {
        eprintln!("skipped: {} is missing", path.display());
        return;
    };
    let (rows, dim) = (e.rows(), e.dim());
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    // Each group draws its 100 items around 5 source rows.
    let n = groups * 100;
    let mut items: Vec<(u32, Vec<f32>)> = Vec::with_capacity(n);
    for g in 0..groups {
        let bases: Vec<usize> = (0..5).map(|_| (rnd() % rows as u64) as usize).collect();
        for _ in 0..100 {
            let b = e.row(bases[(rnd() % 5) as usize]).unwrap();
            let v = b
                .iter()
                .map(|x| x + 0.02 * ((rnd() >> 40) as f32 / (1u64 << 24) as f32 - 0.5))
                .collect();
            items.push((g as u32, v));
        }
    }
    // Interleave groups, as photos of many pets would arrive.
    let order: Vec<usize> = (0..n).map(|i| (i % groups) * 100 + i / groups).collect();
    for mode in ["memory", "flush", "fsync"] {
        let dir = tempfile::tempdir().unwrap();
        let p = StreamParams::new()
            .durability(if mode == "fsync" {
                Durability::Fsync
            } else {
                Durability::Flush
            })
            .check()
            .unwrap();
        let store = if mode == "memory" {
            ClusterStore::in_memory("all-MiniLM-L6-v2", dim, p.clone()).unwrap()
        } else {
            ClusterStore::open(dir.path(), "all-MiniLM-L6-v2", dim, p.clone()).unwrap()
        };
        let limit = if mode == "fsync" { n.min(2000) } else { n };
        let mut lat = Vec::with_capacity(limit);
        let t0 = Instant::now();
        for &i in &order[..limit] {
            let (g, v) = &items[i];
            let t = Instant::now();
            store
                .insert(&format!("pet{g}"), &format!("p{i}"), v, None, i as f64)
                .unwrap();
            lat.push(t.elapsed().as_nanos() as u64);
        }
        let secs = t0.elapsed().as_secs_f64();
        lat.sort_unstable();
        let st = store.stats();
        println!(
            "{mode}: {limit} inserts in {secs:.2}s = {:.0}/s; p50 {:.1} us, p99 {:.1} us; {} clusters, {} pending",
            limit as f64 / secs,
            lat[limit / 2] as f64 / 1e3,
            lat[limit * 99 / 100] as f64 / 1e3,
            st.clusters,
            st.pending
        );
        if mode == "flush" {
            drop(store);
            let t = Instant::now();
            let s2 = ClusterStore::open(dir.path(), "all-MiniLM-L6-v2", dim, p).unwrap();
            let _ = s2.clusters("pet0").unwrap();
            println!(
                "reopen ({} records): first query after {:.2}s",
                s2.stats().records_replayed,
                t.elapsed().as_secs_f64()
            );
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(l) = status.lines().find(|l| l.starts_with("VmHWM")) {
        println!("peak RSS ({l}) — includes the {n} generated f32 items");
    }
}
