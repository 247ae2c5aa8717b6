//! `aurora taxonomy …` end to end on the 300-question MMLU-Pro fixture, and
//! every bad input the issue lists.

mod common;

use std::path::Path;
use std::process::Output;

use common::{aurora_cmd, f32_payload, fixture, npy_bytes, write};

fn run(args: &[&str]) -> Output {
    aurora_cmd().arg("-q").args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn fails(args: &[&str], needle: &str) {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} should fail");
    assert!(err.contains(needle), "{args:?}: `{err}` lacks `{needle}`");
}

fn p(x: &Path) -> &str {
    x.to_str().unwrap()
}

const MODEL: &str = "all-MiniLM-L6-v2";

fn build(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let out = dir.join("t.json");
    let prompts = fixture("prompts.jsonl");
    let emb = fixture("embeddings_minilm.f16.npy");
    let mut args = vec![
        "taxonomy",
        "build",
        "--prompts",
        p(&prompts),
        "--embeddings",
        p(&emb),
        "--embedding-model",
        MODEL,
        "--out",
        p(&out),
        "--max-depth",
        "2",
    ];
    args.extend_from_slice(extra);
    ok(&args);
    out
}

#[test]
fn build_annotate_stats_eval_show() {
    let dir = tempfile::tempdir().unwrap();
    let tree = build(dir.path(), &[]);
    let prompts = fixture("prompts.jsonl");
    let emb = fixture("embeddings_minilm.f16.npy");
    let ann = dir.path().join("a.jsonl");
    ok(&[
        "taxonomy",
        "annotate",
        "--tree",
        p(&tree),
        "--prompts",
        p(&prompts),
        "--embeddings",
        p(&emb),
        "--embedding-model",
        MODEL,
        "--out",
        p(&ann),
    ]);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&ann)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 300);
    assert_eq!(lines[0]["path"][0], 0);
    assert!(lines[0]["names"].as_array().unwrap().len() >= 2);

    let s = ok(&[
        "taxonomy",
        "stats",
        "--tree",
        p(&tree),
        "--annotations",
        p(&ann),
        "--results",
        p(&fixture("results.csv")),
        "--json",
    ]);
    let s: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(s["models"].as_array().unwrap().len(), 9);
    let q = s["models"][0]["nodes"][0]["q_value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&q));

    let e = ok(&[
        "taxonomy",
        "eval",
        "--tree",
        p(&tree),
        "--annotations",
        p(&ann),
        "--prompts",
        p(&prompts),
        "--labels",
        "category,src",
        "--json",
    ]);
    let e: serde_json::Value = serde_json::from_str(&e).unwrap();
    let d1 = &e["depths"][0];
    assert_eq!(d1["depth"], 1);
    assert_eq!(d1["label"], "category");
    for f in ["nmi", "ari", "purity", "noise_fraction"] {
        assert!(d1[f].is_number(), "{f}");
    }
    assert!(d1["nmi"].as_f64().unwrap() > 0.2, "{d1}");

    let show = ok(&["taxonomy", "show", "--tree", p(&tree)]);
    assert!(show.starts_with("[0] all — 300 items"), "{show}");
    assert!(show.lines().count() >= 3);
}

#[test]
fn same_seed_same_bytes_and_cache_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let a = build(dir.path(), &["--cache-dir", p(&cache)]);
    let first = std::fs::read(&a).unwrap();
    let out = dir.path().join("t2.json");
    let o = run(&[
        "taxonomy",
        "build",
        "--prompts",
        p(&fixture("prompts.jsonl")),
        "--embeddings",
        p(&fixture("embeddings_minilm.f16.npy")),
        "--embedding-model",
        MODEL,
        "--out",
        p(&out),
        "--max-depth",
        "2",
        "--cache-dir",
        p(&cache),
    ]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("loaded tree from cache"));
    assert_eq!(std::fs::read(&out).unwrap(), first);
    // Without the cache, the same inputs and seed give the same bytes.
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let b = build(&x, &[]);
    assert_eq!(std::fs::read(b).unwrap(), first);
}

#[test]
fn mock_embeddings_are_cached_and_mock_labels_marked() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c");
    let out = dir.path().join("t.json");
    let prompts = fixture("prompts.jsonl");
    let args = [
        "taxonomy",
        "build",
        "--prompts",
        p(&prompts),
        "--mock",
        "--out",
        p(&out),
        "--max-depth",
        "1",
        "--cache-dir",
        p(&cache),
        "--name-with",
        "mock",
    ];
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("loaded embeddings from cache") && err.contains("loaded tree from cache"),
        "{err}"
    );
    let t: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let label = &t["taxonomy"]["nodes"][1]["label"];
    assert_eq!(label["is_mock"], true, "{label}");
}

#[test]
fn bad_inputs_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prompts = fixture("prompts.jsonl");
    let emb = fixture("embeddings_minilm.f16.npy");
    let base = |out: &Path| -> Vec<String> {
        [
            "taxonomy",
            "build",
            "--prompts",
            p(&prompts),
            "--embeddings",
            p(&emb),
            "--embedding-model",
            MODEL,
            "--out",
            p(out),
        ]
        .map(String::from)
        .to_vec()
    };
    let out = d.join("t.json");
    let with = |extra: &[&str]| {
        let mut v = base(&out);
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    fn as_refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    // Fewer points than floor.
    fails(
        &as_refs(&with(&["--floor", "400"])),
        "fewer than --floor 400",
    );
    // Malformed reductions name the flag.
    for bad in ["umap:0", "umap:x", "umap", "pca:1"] {
        fails(
            &as_refs(&with(&["--reduce", bad])),
            "invalid parameter `reduce`",
        );
    }
    fails(
        &as_refs(&with(&["--reduce", "tsne"])),
        "invalid parameter `reduce`",
    );
    fails(
        &as_refs(&with(&["--decay", "0"])),
        "invalid parameter `decay`",
    );
    // All-identical embeddings.
    let lines: Vec<String> = (0..20)
        .map(|i| format!("{{\"id\": {i}, \"text\": \"q {i}\", \"c\": \"x\"}}"))
        .collect();
    let small = write(d, "small.jsonl", lines.join("\n") + "\n");
    let same = write(
        d,
        "same.npy",
        npy_bytes("<f4", &[20, 4], false, &f32_payload(&[0.5; 80])),
    );
    fails(
        &[
            "taxonomy",
            "build",
            "--prompts",
            p(&small),
            "--embeddings",
            p(&same),
            "--embedding-model",
            "toy",
            "--out",
            p(&out),
        ],
        "identical",
    );
    // A tree, then dimension / model mismatches at annotate.
    let tree = build(d, &[]);
    let other = write(
        d,
        "d4.npy",
        npy_bytes("<f4", &[300, 4], false, &f32_payload(&[0.1; 1200])),
    );
    fails(
        &[
            "taxonomy",
            "annotate",
            "--tree",
            p(&tree),
            "--prompts",
            p(&prompts),
            "--embeddings",
            p(&other),
            "--embedding-model",
            MODEL,
            "--out",
            p(&d.join("a.jsonl")),
        ],
        "dimension mismatch",
    );
    fails(
        &[
            "taxonomy",
            "annotate",
            "--tree",
            p(&tree),
            "--prompts",
            p(&prompts),
            "--embeddings",
            p(&emb),
            "--embedding-model",
            "other",
            "--out",
            p(&d.join("a.jsonl")),
        ],
        "were made by `all-MiniLM-L6-v2`",
    );
    let ann = d.join("a.jsonl");
    ok(&[
        "taxonomy",
        "annotate",
        "--tree",
        p(&tree),
        "--prompts",
        p(&prompts),
        "--embeddings",
        p(&emb),
        "--embedding-model",
        MODEL,
        "--out",
        p(&ann),
    ]);
    // Unknown label field.
    fails(
        &[
            "taxonomy",
            "eval",
            "--tree",
            p(&tree),
            "--annotations",
            p(&ann),
            "--prompts",
            p(&prompts),
            "--labels",
            "category,nope",
        ],
        "unknown label field `nope`",
    );
    // Annotations that do not match the tree.
    let bad = write(
        d,
        "bad.jsonl",
        "{\"id\": \"74\", \"path\": [0, 9999], \"names\": [\"a\", \"b\"]}\n",
    );
    fails(
        &[
            "taxonomy",
            "stats",
            "--tree",
            p(&tree),
            "--annotations",
            p(&bad),
            "--results",
            p(&fixture("results.csv")),
        ],
        "annotation does not match the tree",
    );
    let partial = write(
        d,
        "partial.jsonl",
        std::fs::read_to_string(&ann)
            .unwrap()
            .lines()
            .take(10)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    fails(
        &[
            "taxonomy",
            "eval",
            "--tree",
            p(&tree),
            "--annotations",
            p(&partial),
            "--prompts",
            p(&prompts),
            "--labels",
            "category",
        ],
        "has no annotation",
    );
    // A file that is not a taxonomy.
    let notree = write(d, "n.json", "{\"version\": \"3.0\"}");
    fails(
        &["taxonomy", "show", "--tree", p(&notree)],
        "no `taxonomy` section",
    );
}
