//! `aurora stream ingest|clusters|eval` contracts (mock embedder, tiny data).

mod common;

use serde_json::Value;

fn write_items(path: &std::path::Path) {
    let topics = [
        ("dog", "my dog runs on the beach with a ball"),
        ("cat", "the cat sleeps on the sofa all afternoon"),
        ("car", "engine oil change for the car at the garage"),
    ];
    let mut s = String::new();
    for i in 0..60 {
        let (label, text) = topics[i % 3];
        s.push_str(&format!(
            "{{\"id\":\"i{i}\",\"group\":\"g{}\",\"timestamp\":{i},\"quality\":0.5,\"label\":\"{label}\",\"text\":\"{text} {}\"}}\n",
            i % 2,
            i % 4
        ));
    }
    std::fs::write(path, s).unwrap();
}

fn run(args: &[&str]) -> std::process::Output {
    common::aurora_cmd().args(args).output().unwrap()
}

#[test]
fn ingest_clusters_eval_contracts() {
    let dir = tempfile::tempdir().unwrap();
    let items = dir.path().join("items.jsonl");
    write_items(&items);
    let store = dir.path().join("store");
    let (i, s) = (items.to_str().unwrap(), store.to_str().unwrap());
    let o = run(&[
        "-q",
        "stream",
        "ingest",
        "--store",
        s,
        "--items",
        i,
        "--mock",
        "--json",
        "--order-seed",
        "3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["items"], 60);
    let o = run(&[
        "stream", "clusters", "--store", s, "--group", "g0", "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    for c in v.as_array().unwrap() {
        for f in [
            "id",
            "size",
            "centroid",
            "spread",
            "heroes",
            "first_seen",
            "last_seen",
        ] {
            assert!(c.get(f).is_some(), "missing {f}");
        }
    }
    let o = run(&[
        "stream",
        "eval",
        "--store",
        s,
        "--items",
        i,
        "--label-field",
        "label",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    for f in [
        "purity",
        "ari",
        "nmi",
        "clusters",
        "true_clusters",
        "hero_label_precision",
    ] {
        assert!(v.get(f).is_some(), "missing {f}");
    }
    assert_eq!(v["true_clusters"], 6);
    assert!(v["ari"].as_f64().unwrap() > 0.9, "{v}");
    // Same items again: idempotent. Another model: refused.
    let o = run(&[
        "-q",
        "stream",
        "ingest",
        "--store",
        s,
        "--items",
        i,
        "--mock",
        "--order-seed",
        "3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&[
        "-q",
        "stream",
        "ingest",
        "--store",
        s,
        "--items",
        i,
        "--mock",
        "--mock-dim",
        "64",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("dimension 64"));
    // Unknown group.
    let o = run(&["stream", "clusters", "--store", s, "--group", "nope"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no group `nope`"));
    // --images is refused with a clear message.
    let o = run(&[
        "stream", "ingest", "--store", s, "--items", i, "--images", "--mock",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cactus_image_embed"));
}

#[test]
fn bad_item_lines_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let items = dir.path().join("items.jsonl");
    std::fs::write(
        &items,
        "{\"id\":\"a\",\"group\":\"g\",\"text\":\"x y\"}\n{\"id\":\"b\",\"text\":\"z\"}\n",
    )
    .unwrap();
    let store = dir.path().join("store");
    let o = run(&[
        "-q",
        "stream",
        "ingest",
        "--store",
        store.to_str().unwrap(),
        "--items",
        items.to_str().unwrap(),
        "--mock",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(":2: field `group`"), "{err}");
}
