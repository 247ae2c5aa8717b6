//! Unit tests of the stream store: determinism, errors, durability.

use super::*;

/// A deterministic stream of `n` unit vectors around `k` centres in `dim`.
fn synthetic(n: usize, k: usize, dim: usize, seed: u64) -> Vec<(String, Vec<f32>, usize)> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..k).map(|_| (0..dim).map(|_| rnd()).collect()).collect();
    (0..n)
        .map(|i| {
            let c = (i * 7 + i / 3) % k;
            let v = centres[c].iter().map(|x| x + 0.25 * rnd()).collect();
            (format!("item-{i}"), v, c)
        })
        .collect()
}

fn params() -> CheckedStreamParams {
    StreamParams::new()
        .durability(Durability::Flush)
        .check()
        .unwrap()
}

fn fill(store: &ClusterStore, items: &[(String, Vec<f32>, usize)]) {
    for (i, (id, v, _)) in items.iter().enumerate() {
        store.insert("g", id, v, Some(0.5), i as f64).unwrap();
    }
}

#[test]
fn same_order_same_clusters_and_recovers_structure() {
    let items = synthetic(400, 5, 32, 1);
    let a = ClusterStore::in_memory("m", 32, params()).unwrap();
    let b = ClusterStore::in_memory("m", 32, params()).unwrap();
    fill(&a, &items);
    fill(&b, &items);
    assert_eq!(a.state_digest(), b.state_digest());
    let pred: Vec<Option<u64>> = items
        .iter()
        .map(|(id, _, _)| a.assignment("g", id).unwrap())
        .collect();
    let truth: Vec<usize> = items.iter().map(|t| t.2).collect();
    let s = quality::scores(&pred, &truth);
    assert!(s.ari > 0.9, "{s:?}");
    let cl = a.clusters("g").unwrap();
    assert!(cl.iter().all(|c| c.heroes.len() == 5 && c.spread > 0.0));
}

#[test]
fn reopen_equals_replay_and_remove_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let items = synthetic(200, 4, 16, 2);
    let s = ClusterStore::open(dir.path(), "m", 16, params()).unwrap();
    fill(&s, &items);
    s.remove("g", "item-3").unwrap();
    let before = s.state_digest();
    let heroes = s.clusters("g").unwrap();
    drop(s);
    let s = ClusterStore::open(dir.path(), "m", 16, params()).unwrap();
    assert_eq!(s.state_digest(), before);
    assert_eq!(s.clusters("g").unwrap(), heroes);
    assert_eq!(s.stats().records_replayed, 201);
    assert!(matches!(
        s.assignment("g", "item-3"),
        Err(StreamError::UnknownItem { .. })
    ));
}

#[test]
fn torn_and_corrupt_tails_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let items = synthetic(50, 2, 8, 3);
    let s = ClusterStore::open(dir.path(), "m", 8, params()).unwrap();
    fill(&s, &items[..40]);
    let digest40 = s.state_digest();
    drop(s);
    let log = dir.path().join("log.bin");
    let good_len = std::fs::metadata(&log).unwrap().len();
    // Torn: half a record appended.
    let rec = log::Op::Remove {
        group: "g".into(),
        id: "item-1".into(),
    }
    .encode();
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(&rec[..rec.len() / 2]);
    std::fs::write(&log, &bytes).unwrap();
    let s = ClusterStore::open(dir.path(), "m", 8, params()).unwrap();
    assert_eq!(s.state_digest(), digest40);
    assert!(s.stats().dropped_bytes > 0);
    drop(s);
    assert_eq!(std::fs::metadata(&log).unwrap().len(), good_len);
    // Corrupt: a flipped byte in the last record's payload.
    let mut bytes = std::fs::read(&log).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x55;
    std::fs::write(&log, &bytes).unwrap();
    let s = ClusterStore::open(dir.path(), "m", 8, params()).unwrap();
    assert_eq!(s.stats().records_replayed, 39);
    assert!(s.stats().dropped_bytes > 0);
}

#[test]
fn full_disk_leaves_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let s = ClusterStore::open(dir.path(), "m", 3, params()).unwrap();
    s.insert("g", "a", &[1.0, 0.0, 0.0], None, 0.0).unwrap();
    let before = s.state_digest();
    s.fail_next_write(28); // ENOSPC
    let e = s.insert("g", "b", &[1.0, 0.1, 0.0], None, 1.0).unwrap_err();
    assert!(matches!(e, StreamError::DiskFull { .. }), "{e}");
    assert_eq!(s.state_digest(), before);
    // The half-written record was rolled back: the next insert and a reopen work.
    s.insert("g", "c", &[1.0, 0.2, 0.0], None, 2.0).unwrap();
    let after = s.state_digest();
    drop(s);
    let s = ClusterStore::open(dir.path(), "m", 3, params()).unwrap();
    assert_eq!(s.state_digest(), after);
    assert_eq!(s.stats().dropped_bytes, 0);
}

#[test]
fn bad_inputs_are_typed() {
    let s = ClusterStore::in_memory("m", 3, params()).unwrap();
    let e = s.insert("g", "a", &[1.0, 0.0], None, 0.0).unwrap_err();
    assert!(matches!(
        e,
        StreamError::Dimension {
            expected: 3,
            got: 2,
            ..
        }
    ));
    let e = s
        .insert("g", "a", &[f32::NAN, 0.0, 1.0], None, 0.0)
        .unwrap_err();
    assert!(matches!(e, StreamError::InvalidEmbedding { .. }));
    let e = s.insert("g", "a", &[0.0; 3], None, 0.0).unwrap_err();
    assert!(matches!(e, StreamError::InvalidEmbedding { .. }));
    let e = s
        .insert("g", "a", &[1.0; 3], Some(f32::NAN), 0.0)
        .unwrap_err();
    assert!(matches!(
        e,
        StreamError::InvalidItem {
            field: "quality",
            ..
        }
    ));
    let e = s
        .insert("g", "a", &[1.0; 3], None, f64::INFINITY)
        .unwrap_err();
    assert!(matches!(
        e,
        StreamError::InvalidItem {
            field: "timestamp",
            ..
        }
    ));
    let e = s.insert("g", "", &[1.0; 3], None, 0.0).unwrap_err();
    assert!(matches!(e, StreamError::InvalidItem { field: "id", .. }));
    s.insert("g", "a", &[1.0, 0.0, 0.0], None, 0.0).unwrap();
    // Same id, same vector: idempotent; another vector: duplicate.
    s.insert("g", "a", &[2.0, 0.0, 0.0], None, 0.0).unwrap();
    let e = s.insert("g", "a", &[0.0, 1.0, 0.0], None, 0.0).unwrap_err();
    assert!(matches!(e, StreamError::DuplicateItem { .. }));
    assert!(matches!(
        s.remove("g", "zzz"),
        Err(StreamError::UnknownItem { .. })
    ));
    assert!(matches!(
        s.remove("nope", "a"),
        Err(StreamError::UnknownItem { .. })
    ));
    assert!(matches!(
        s.clusters("nope"),
        Err(StreamError::UnknownGroup { .. })
    ));
    assert!(matches!(
        s.heroes("g", 99, 3),
        Err(StreamError::UnknownCluster { .. })
    ));
    assert!(matches!(
        StreamParams::new().min_founders(0).check(),
        Err(StreamError::InvalidParam {
            name: "min_founders",
            ..
        })
    ));
    assert!(matches!(
        StreamParams::new().join_threshold(f32::NAN).check(),
        Err(StreamError::InvalidParam {
            name: "join_threshold",
            ..
        })
    ));
}

#[test]
fn store_metadata_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    drop(ClusterStore::open(dir.path(), "m", 4, params()).unwrap());
    let e = ClusterStore::open(dir.path(), "other", 4, params()).unwrap_err();
    assert!(matches!(e, StreamError::ModelMismatch { .. }));
    let e = ClusterStore::open(dir.path(), "m", 5, params()).unwrap_err();
    assert!(matches!(e, StreamError::ModelMismatch { .. }));
    let p = StreamParams::new().join_threshold(0.3).check().unwrap();
    let e = ClusterStore::open(dir.path(), "m", 4, p).unwrap_err();
    assert!(matches!(
        e,
        StreamError::ParamsMismatch {
            name: "join_threshold",
            ..
        }
    ));
    // A newer format version is refused.
    let meta = dir.path().join("meta.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(
        &meta,
        text.replace("\"format_version\": 1", "\"format_version\": 99"),
    )
    .unwrap();
    let e = ClusterStore::open(dir.path(), "m", 4, params()).unwrap_err();
    assert!(
        matches!(e, StreamError::NewerFormat { found: 99, .. }),
        "{e}"
    );
    std::fs::write(&meta, "{not json").unwrap();
    let e = ClusterStore::open_existing(dir.path()).unwrap_err();
    assert!(matches!(e, StreamError::CorruptMeta { .. }));
}

#[test]
fn read_only_directory_is_typed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::File::create(ro.join("probe")).is_ok() {
        // Root ignores permissions: simulate with an injected EROFS instead.
        let e = StreamError::io(&ro, std::io::Error::from_raw_os_error(30));
        assert!(matches!(e, StreamError::ReadOnly { .. }));
        eprintln!("skipped the chmod read-only check: running as root");
        return;
    }
    let e = ClusterStore::open(&ro, "m", 4, params()).unwrap_err();
    assert!(matches!(e, StreamError::ReadOnly { .. }), "{e}");
}

#[test]
fn heroes_follow_weights_and_change_with_the_cluster() {
    let p = StreamParams::new()
        .min_founders(1)
        .hero_centrality(0.0)
        .hero_recency(0.0)
        .hero_quality(1.0)
        .heroes(2)
        .check()
        .unwrap();
    let s = ClusterStore::in_memory("m", 2, p).unwrap();
    s.insert("g", "a", &[1.0, 0.0], Some(0.1), 0.0).unwrap();
    s.insert("g", "b", &[1.0, 0.05], Some(0.9), 1.0).unwrap();
    s.insert("g", "c", &[1.0, -0.05], Some(0.5), 2.0).unwrap();
    let c = &s.clusters("g").unwrap()[0];
    assert_eq!(c.heroes, ["b", "c"]);
    let h = s.heroes("g", c.id, 3).unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(h[2].item_id, "a");
    s.remove("g", "b").unwrap();
    assert_eq!(s.clusters("g").unwrap()[0].heroes, ["c", "a"]);
}

#[test]
fn store_is_send_sync_and_parallel_groups_are_deterministic() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ClusterStore>();
    let items = synthetic(300, 3, 16, 4);
    let s = std::sync::Arc::new(ClusterStore::in_memory("m", 16, params()).unwrap());
    std::thread::scope(|sc| {
        for g in 0..4 {
            let s = s.clone();
            let items = &items;
            sc.spawn(move || {
                for (i, (id, v, _)) in items.iter().enumerate() {
                    s.insert(&format!("g{g}"), id, v, None, i as f64).unwrap();
                }
            });
        }
    });
    let d = s.state_digest();
    assert_eq!(d.len(), 4);
    assert!(d.windows(2).all(|w| w[0].1 == w[1].1 && w[0].2 == w[1].2));
}

fn batch(data: &[(String, Vec<f32>, usize)]) -> Vec<BatchItem> {
    data.iter()
        .enumerate()
        .map(|(i, (id, v, _))| BatchItem {
            id: id.clone(),
            embedding: v.clone(),
            quality: None,
            timestamp: i as f64,
        })
        .collect()
}

#[test]
fn a_batch_equals_its_inserts_one_by_one() {
    let data = synthetic(60, 3, 8, 5);
    let one = ClusterStore::in_memory("m", 8, params()).unwrap();
    for (i, (id, v, _)) in data.iter().enumerate() {
        one.insert("g", id, v, None, i as f64).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let b = ClusterStore::open(dir.path(), "m", 8, params()).unwrap();
    let items = batch(&data);
    let mut added = 0;
    for chunk in items.chunks(7) {
        added += b.insert_batch("g", chunk).unwrap().added;
    }
    assert_eq!(added, 60);
    assert_eq!(b.state_digest(), one.state_digest());
    // A retry of the whole stream, repeats inside one batch: no-ops.
    let r = b
        .insert_batch("g", &[items.clone(), items.clone()].concat())
        .unwrap();
    assert_eq!(r.added, 0);
    assert_eq!(r.assignments.len(), 120);
    assert_eq!(b.state_digest(), one.state_digest());
    drop(b);
    let b = ClusterStore::open(dir.path(), "m", 8, params()).unwrap();
    assert_eq!(b.state_digest(), one.state_digest());
}

#[test]
fn a_failed_batch_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = ClusterStore::open(dir.path(), "m", 8, params()).unwrap();
    let items = batch(&synthetic(20, 2, 8, 9));
    s.insert_batch("g", &items[..10]).unwrap();
    let before = s.state_digest();
    // A bad item anywhere: nothing applied, nothing logged.
    let mut bad = items[10..].to_vec();
    bad[5].embedding[2] = f32::NAN;
    let e = s.insert_batch("g", &bad).unwrap_err();
    assert!(matches!(e, StreamError::InvalidEmbedding { .. }), "{e}");
    let mut dup = items[10..].to_vec();
    dup[3].id = dup[1].id.clone(); // same id, another vector
    let e = s.insert_batch("g", &dup).unwrap_err();
    assert!(matches!(e, StreamError::DuplicateItem { .. }), "{e}");
    // A new group that fails is not created.
    assert!(s.insert_batch("h", &bad).is_err());
    assert!(matches!(
        s.clusters("h"),
        Err(StreamError::UnknownGroup { .. })
    ));
    // A failed write: rolled back.
    s.fail_next_write(28);
    let e = s.insert_batch("g", &items[10..]).unwrap_err();
    assert!(matches!(e, StreamError::DiskFull { .. }), "{e}");
    assert_eq!(s.state_digest(), before);
    s.insert_batch("g", &items[10..]).unwrap();
    let after = s.state_digest();
    drop(s);
    let s = ClusterStore::open(dir.path(), "m", 8, params()).unwrap();
    assert_eq!(s.state_digest(), after);
    assert_eq!(s.stats().dropped_bytes, 0);
}

#[test]
fn a_reopened_store_is_bit_identical_and_retries_stay_idempotent() {
    // Replay keeps the logged float16 bits: no re-normalisation drift.
    let dir = tempfile::tempdir().unwrap();
    let data = synthetic(3000, 4, 8, 77);
    let s = ClusterStore::open(dir.path(), "m", 8, params()).unwrap();
    for (i, (id, v, _)) in data.iter().enumerate() {
        s.insert("g", id, v, None, i as f64).unwrap();
    }
    let live = s.clusters("g").unwrap();
    drop(s);
    let s = ClusterStore::open(dir.path(), "m", 8, params()).unwrap();
    assert_eq!(s.clusters("g").unwrap(), live);
    for (i, (id, v, _)) in data.iter().enumerate() {
        s.insert("g", id, v, None, i as f64).unwrap();
    }
    assert_eq!(s.stats().items, 3000);
}
