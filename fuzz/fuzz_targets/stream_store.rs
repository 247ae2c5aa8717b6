//! The incremental-clustering store's files (`meta.json` and the append-only
//! `log.bin`) as `ClusterStore::open_existing` replays them after a crash or
//! a corrupted copy. Input: a little-endian u16 length, that many bytes of
//! `meta.json`, the rest is `log.bin`.
#![no_main]

#[path = "common.rs"]
mod common;

use aurora_router::stream::ClusterStore;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = usize::from(u16::from_le_bytes([data[0], data[1]])).min(data.len() - 2);
    let (meta, log) = data[2..].split_at(n);
    let dir = common::scratch("store");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    std::fs::write(dir.join("meta.json"), meta).expect("scratch file");
    std::fs::write(dir.join("log.bin"), log).expect("scratch file");
    let _ = ClusterStore::read_model(&dir);
    if let Ok(store) = ClusterStore::open_existing(&dir) {
        let _ = store.stats();
        for g in store.groups() {
            if let Ok(clusters) = store.clusters(&g) {
                for c in clusters.iter().take(4) {
                    let _ = store.heroes(&g, c.id, 3);
                }
            }
        }
    }
});
