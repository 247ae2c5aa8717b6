//! Checks `cluster::hdbscan` against the Python `hdbscan` library.
//!
//! * `fixture_matches_python_library` (always runs): 300 MiniLM embeddings
//!   (rows of the shared MMLU-Pro set, stored as f16 in
//!   `tests/fixtures/hdbscan/`) and the labels `hdbscan` 0.8.44 gave them
//!   (`HDBSCAN(metric="cosine", algorithm="generic")` on the float64,
//!   L2-normalised rows), for a 3 × 3 grid. Our labels must be exactly the
//!   partition of the library's own pipeline run with a stable sort of the
//!   minimum spanning tree edges (`labels_stable_ties`), and within an
//!   adjusted Rand index of 0.98 of what `HDBSCAN.fit_predict` returns: the
//!   library sorts the edges with NumPy's unstable (SIMD, CPU-dependent)
//!   argsort, so the order of exactly tied mutual reachability distances,
//!   and with it one or two of these 300 points at a cluster's edge, varies
//!   from machine to machine. (On the full 8,315 points the ARI is ≥ 0.998.)
//!   `tests/fixtures/hdbscan/README.md` says how the fixture was made.
//! * `full_data_vs_python_library` (ignored; run it with
//!   `cargo test --release --test hdbscan_reference -- --ignored --nocapture`):
//!   the whole 8,315-point set from `../shared/data/mmlu_pro/`, the default
//!   grid, timings, and the comparison with the JSON that
//!   `benches/peers/hdbscan_reference.py` writes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use aurora_router::cluster::hdbscan::{self, SingleLinkageTree};
use aurora_router::cluster::{DistanceMatrix, Hdbscan};
use ndarray::Array2;

const FIXTURE_DIR: &str = "tests/fixtures/hdbscan";

fn manifest_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Reads a 2-D float16 `.npy` file into f32 rows, L2-normalised.
fn load_normalised_f16(path: &Path) -> Array2<f32> {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).expect("not an .npy file");
    let shape = npy.shape().to_vec();
    assert_eq!(shape.len(), 2, "{} is not a matrix", path.display());
    let values: Vec<half::f16> = npy.into_vec().expect("not a float16 .npy file");
    let mut x = Array2::from_shape_vec(
        (shape[0] as usize, shape[1] as usize),
        values.into_iter().map(f32::from).collect(),
    )
    .expect("shape mismatch");
    for mut row in x.rows_mut() {
        let norm = row.dot(&row).sqrt();
        assert!(norm > 0.0, "zero embedding row");
        row /= norm;
    }
    x
}

/// Adjusted Rand index (Hubert & Arabie), treating `-1` as an ordinary
/// label, as scikit-learn's `adjusted_rand_score` does.
fn adjusted_rand_index(a: &[i32], b: &[i32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len() as f64;
    let comb2 = |x: f64| x * (x - 1.0) / 2.0;
    let mut cells: HashMap<(i32, i32), f64> = HashMap::new();
    let mut rows: HashMap<i32, f64> = HashMap::new();
    let mut cols: HashMap<i32, f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *cells.entry((x, y)).or_default() += 1.0;
        *rows.entry(x).or_default() += 1.0;
        *cols.entry(y).or_default() += 1.0;
    }
    let index: f64 = cells.values().map(|&c| comb2(c)).sum();
    let sum_a: f64 = rows.values().map(|&c| comb2(c)).sum();
    let sum_b: f64 = cols.values().map(|&c| comb2(c)).sum();
    let expected = sum_a * sum_b / comb2(n);
    let max = (sum_a + sum_b) / 2.0;
    if max == expected {
        // Both partitions trivial (one cluster, or all singletons) alike.
        return 1.0;
    }
    (index - expected) / (max - expected)
}

#[test]
fn ari_helper_sanity() {
    assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
    assert_eq!(adjusted_rand_index(&[-1, -1, -1], &[0, 0, 0]), 1.0);
    // scikit-learn: adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 2]) = 0.5714285714285715
    let v = adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]);
    assert!((v - 0.571_428_571_428_571_5).abs() < 1e-12, "{v}");
    // scikit-learn: adjusted_rand_score([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]) = -0.36363636363636365
    let v = adjusted_rand_index(&[0, 0, 0, 1, 1, 1], &[0, 1, 2, 0, 1, 2]);
    assert!((v + 0.363_636_363_636_363_65).abs() < 1e-12, "{v}");
    // adjusted_rand_score([-1, -1, 0, 0, 1, 1, 2], [-1, 0, 0, 0, 1, 1, -1]) = 0.391304347826087
    let v = adjusted_rand_index(&[-1, -1, 0, 0, 1, 1, 2], &[-1, 0, 0, 0, 1, 1, -1]);
    assert!((v - 0.391_304_347_826_087).abs() < 1e-12, "{v}");
}

#[derive(Debug)]
struct Expected {
    min_cluster_size: usize,
    min_samples: usize,
    /// What `hdbscan.HDBSCAN(...).fit_predict` returned.
    labels: Vec<i32>,
    /// The library's own pipeline with a stable sort of the MST edges
    /// (`--stable-ties` of the reference script), if stored.
    labels_stable_ties: Option<Vec<i32>>,
}

fn json_labels(v: &serde_json::Value) -> Vec<i32> {
    v.as_array()
        .expect("labels")
        .iter()
        .map(|v| v.as_i64().expect("label") as i32)
        .collect()
}

fn load_expected(path: &Path) -> Vec<Expected> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("invalid JSON");
    json["grid"]
        .as_array()
        .expect("no grid")
        .iter()
        .map(|g| Expected {
            min_cluster_size: g["min_cluster_size"].as_u64().expect("min_cluster_size") as usize,
            min_samples: g["min_samples"].as_u64().expect("min_samples") as usize,
            labels: json_labels(&g["labels"]),
            labels_stable_ties: g.get("labels_stable_ties").map(json_labels),
        })
        .collect()
}

/// Same partition: equal noise sets and the same clusters up to numbering.
fn same_partition(a: &[i32], b: &[i32]) -> bool {
    let mut map: HashMap<i32, i32> = HashMap::new();
    let mut back: HashMap<i32, i32> = HashMap::new();
    a.len() == b.len()
        && a.iter().zip(b).all(|(&x, &y)| {
            (x < 0) == (y < 0)
                && *map.entry(x).or_insert(y) == y
                && *back.entry(y).or_insert(x) == x
        })
}

#[test]
fn fixture_matches_python_library() {
    let x = load_normalised_f16(&manifest_path(&format!(
        "{FIXTURE_DIR}/embeddings_300.f16.npy"
    )));
    assert_eq!(x.nrows(), 300);
    let d = DistanceMatrix::cosine(x.view()).unwrap();
    let expected = load_expected(&manifest_path(&format!(
        "{FIXTURE_DIR}/expected_labels.json"
    )));
    assert_eq!(expected.len(), 9);
    let mut some_clusters = false;
    for e in &expected {
        let (m, s) = (e.min_cluster_size, e.min_samples);
        let got = Hdbscan::params()
            .min_cluster_size(m)
            .min_samples(s)
            .check()
            .unwrap()
            .fit(&d)
            .unwrap();
        let py_clusters = e.labels.iter().max().map_or(0, |&l| l + 1).max(0) as usize;
        let py_noise = e.labels.iter().filter(|&&l| l < 0).count();
        let rs_noise = got.labels.iter().filter(|&&l| l < 0).count();
        let ari = adjusted_rand_index(&got.labels, &e.labels);
        let stable = e
            .labels_stable_ties
            .as_ref()
            .expect("fixture lacks labels_stable_ties");
        let ari_stable = adjusted_rand_index(&got.labels, stable);
        println!(
            "m={m:2} s={s:2}: ARI {ari:.6} (stable ties {ari_stable:.6}), \
             clusters {py_clusters}/{}, noise {py_noise}/{rs_noise}",
            got.n_clusters
        );
        // The library's pipeline with ties in a stable order: exactly ours.
        assert!(
            same_partition(&got.labels, stable),
            "m={m} s={s}: differs from the library with stable ties (ARI {ari_stable})"
        );
        // The library as it runs (NumPy's unstable argsort of tied MST
        // edges) moves at most a couple of the 300 points across a
        // cluster's edge.
        assert!(
            ari >= 0.98,
            "m={m} s={s}: ARI {ari} with the Python library"
        );
        some_clusters |= py_clusters >= 2;
    }
    assert!(some_clusters, "fixture should exercise real cluster splits");
}

/// Full data set, default grid, timings; writes our labels as JSON and
/// compares them with the Python reference JSON if it exists.
///
/// Environment: `AURORA_HDBSCAN_DATA` (embeddings .npy, default
/// `../shared/data/mmlu_pro/embeddings_minilm.f16.npy`), `AURORA_HDBSCAN_REF`
/// (default `target/peers/hdbscan_reference.json`), `AURORA_HDBSCAN_OUT`
/// (default `target/peers/hdbscan_rust.json`), `AURORA_HDBSCAN_DUMP_DISTANCES`
/// (optional: write the f32 distance matrix there, raw little-endian, for
/// `hdbscan_reference.py --distance-matrix`).
#[test]
#[ignore = "needs ../shared/data and takes a few seconds in release mode"]
fn full_data_vs_python_library() {
    let env_path = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| manifest_path(default))
    };
    let data = env_path(
        "AURORA_HDBSCAN_DATA",
        "../shared/data/mmlu_pro/embeddings_minilm.f16.npy",
    );
    assert!(
        data.is_file(),
        "embeddings not found at {} (the shared data set lives next to the repository; \
         set AURORA_HDBSCAN_DATA to another .npy)",
        data.display()
    );
    let x = load_normalised_f16(&data);
    let t = Instant::now();
    let d = DistanceMatrix::cosine(x.view()).unwrap();
    let distance_seconds = t.elapsed().as_secs_f64();
    println!(
        "{} points: distance matrix {distance_seconds:.3} s",
        d.len()
    );
    if let Some(path) = std::env::var_os("AURORA_HDBSCAN_DUMP_DISTANCES") {
        let mut raw = Vec::with_capacity(d.len() * d.len() * 4);
        for i in 0..d.len() {
            for v in d.row(i) {
                raw.extend_from_slice(&v.to_le_bytes());
            }
        }
        std::fs::write(&path, raw).unwrap();
    }

    let (mcs, ms) = ([20, 30, 50], [5, 10, 15]);
    let t = Instant::now();
    let cores = hdbscan::core_distances_multi(&d, &ms);
    let core_seconds = t.elapsed().as_secs_f64();
    let mut tree_seconds = Vec::new();
    let mut trees = Vec::new();
    for core in &cores {
        let t = Instant::now();
        trees.push(SingleLinkageTree::from_core_distances(&d, core).unwrap());
        tree_seconds.push(t.elapsed().as_secs_f64());
    }
    println!("core distances for {ms:?}: {core_seconds:.3} s; trees: {tree_seconds:.3?} s");

    let t = Instant::now();
    let swept = hdbscan::sweep(&d, &mcs, &ms).unwrap();
    let sweep_seconds = t.elapsed().as_secs_f64();
    println!("whole 9-point sweep (shared work): {sweep_seconds:.3} s");

    let mut grid = Vec::new();
    for (i, &m) in mcs.iter().enumerate() {
        for (j, &s) in ms.iter().enumerate() {
            let t = Instant::now();
            let r = Hdbscan::params()
                .min_cluster_size(m)
                .min_samples(s)
                .check()
                .unwrap()
                .fit(&d)
                .unwrap();
            let fit_seconds = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let from_tree = trees[j].clusters(m);
            let select_seconds = t.elapsed().as_secs_f64();
            assert_eq!(r, from_tree);
            assert_eq!(r, swept[i * ms.len() + j].result);
            println!(
                "m={m} s={s}: {} clusters, noise {:.4}; fit {fit_seconds:.3} s, from shared tree {:.2} ms",
                r.n_clusters,
                r.noise_fraction,
                select_seconds * 1e3
            );
            grid.push(serde_json::json!({
                "min_cluster_size": m,
                "min_samples": s,
                "seconds": fit_seconds,
                "select_seconds": select_seconds,
                "n_clusters": r.n_clusters,
                "noise_fraction": r.noise_fraction,
                "labels": r.labels,
            }));
        }
    }
    let out = env_path("AURORA_HDBSCAN_OUT", "target/peers/hdbscan_rust.json");
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let doc = serde_json::json!({
        "implementation": "aurora_router::cluster::hdbscan",
        "n": d.len(),
        "distance_seconds": distance_seconds,
        "core_seconds": core_seconds,
        "tree_seconds": tree_seconds,
        "sweep_seconds": sweep_seconds,
        "grid": grid,
    });
    std::fs::write(&out, serde_json::to_string(&doc).unwrap()).unwrap();
    println!("wrote {}", out.display());

    let reference = env_path("AURORA_HDBSCAN_REF", "target/peers/hdbscan_reference.json");
    if !reference.is_file() {
        println!(
            "no reference at {}: run benches/peers/hdbscan_reference.py to compare",
            reference.display()
        );
        return;
    }
    let expected = load_expected(&reference);
    for e in &expected {
        let ours = grid.iter().find(|g| {
            g["min_cluster_size"] == e.min_cluster_size && g["min_samples"] == e.min_samples
        });
        let Some(ours) = ours else { continue };
        let labels: Vec<i32> = ours["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap() as i32)
            .collect();
        let ari = adjusted_rand_index(&labels, &e.labels);
        let stable = e
            .labels_stable_ties
            .as_ref()
            .map(|l| format!(", with stable ties {:.6}", adjusted_rand_index(&labels, l)))
            .unwrap_or_default();
        println!(
            "m={} s={}: ARI with the Python library {ari:.6}{stable}",
            e.min_cluster_size, e.min_samples
        );
        assert!(ari >= 0.99, "ARI {ari}");
    }
}
