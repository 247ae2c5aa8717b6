//! `profile build` end to end on the 300-question fixture: determinism,
//! round trip, schema validity, size, mock mode.

mod common;

use std::process::Command;

use aurora_router::build::ProfileBuilder;
use aurora_router::cluster::sweep::Sweep;
use aurora_router::data::LabelledSet;
use aurora_router::embed::{CactusEmbedder, Embedder, PrecomputedEmbeddings};
use aurora_router::profile::{Profile, SelectionMethod, ShrinkageMethod};
use common::{fixture, fixture_set};

fn build(set: &LabelledSet, e: &PrecomputedEmbeddings, seed: u64) -> Profile {
    let sweep = Sweep::params()
        .k_range(3, 8)
        .hdbscan_grid(vec![10, 20], vec![3, 5])
        .seed(seed)
        .check()
        .unwrap();
    ProfileBuilder::params(sweep)
        .check()
        .unwrap()
        .build(set, e.view(), e.model_id(), false, &|_, _, _| {})
        .unwrap()
        .profile
}

/// A KMeans-only profile (K in `k_min..=k_max`) of `e`'s rows.
fn kmeans_profile(
    set: &LabelledSet,
    e: &PrecomputedEmbeddings,
    k_min: usize,
    k_max: usize,
    is_mock: bool,
) -> Profile {
    let sweep = Sweep::params()
        .k_range(k_min, k_max)
        .hdbscan_grid(vec![], vec![])
        .check()
        .unwrap();
    ProfileBuilder::params(sweep)
        .check()
        .unwrap()
        .build(set, e.view(), e.model_id(), is_mock, &|_, _, _| {})
        .unwrap()
        .profile
}

fn schema_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(common::root().join("profiles/profile.schema.json")).unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn builds_a_valid_deterministic_profile() {
    let (set, e) = fixture_set();
    let a = build(&set, &e, 7);
    let b = build(&set, &e, 7);
    assert_eq!(
        a.to_json(),
        b.to_json(),
        "same inputs and seed must give identical bytes"
    );
    let md = &a.metadata;
    assert_eq!(md.feature_dim, 384);
    assert_eq!(md.embedding_model, "all-MiniLM-L6-v2");
    assert!(!md.is_mock);
    assert_eq!(md.seed, 7);
    assert_eq!(md.selection.len(), 6 + 4);
    assert!(md.created_at.is_none());
    assert_eq!(a.models.len(), 9);
    assert_eq!(a.cluster_sizes.iter().sum::<u64>(), 300);
    // The winner is the best-scoring eligible candidate.
    let best = md
        .selection
        .iter()
        .filter_map(|s| s.silhouette)
        .fold(f64::MIN, f64::max);
    assert_eq!(md.silhouette_score, Some(best));
    // Raw counts reproduce the rates with the recorded shrinkage.
    let a_pc = md.shrinkage.as_ref().unwrap().pseudo_count;
    for (m, model) in a.models.iter().enumerate() {
        let c = &a.counts[&model.name];
        let global = c.errors.iter().sum::<f64>() / c.n.iter().sum::<u64>() as f64;
        for k in 0..a.n_clusters() {
            let want = (c.errors[k] + a_pc * global) / (c.n[k] as f64 + a_pc);
            assert!((a.error_rates(m)[k] - want).abs() < 2e-6);
        }
    }
    // Centroids are unit vectors (to float16 precision).
    for k in 0..a.n_clusters() {
        let n: f32 = a.centroid(k).iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 2e-3, "centroid {k} has norm {n}");
    }
}

#[test]
fn a_different_seed_is_recorded() {
    let (set, e) = fixture_set();
    let a = build(&set, &e, 1);
    assert_eq!(a.metadata.seed, 1);
    assert_eq!(
        a.metadata.dataset_sha256,
        build(&set, &e, 2).metadata.dataset_sha256
    );
}

#[test]
fn round_trips_through_json_and_validates_against_the_schema() {
    let (set, e) = fixture_set();
    let p = build(&set, &e, 42);
    let bytes = p.to_json();
    let again = Profile::from_json(&bytes).unwrap();
    assert_eq!(again, p);
    assert_eq!(again.to_json(), bytes);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    p.write(&path).unwrap();
    assert_eq!(Profile::read(&path).unwrap(), p);
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let validator = schema_validator();
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "schema errors: {errors:?}");
}

#[test]
fn the_schema_rejects_what_the_reader_rejects() {
    let validator = schema_validator();
    let (set, e) = fixture_set();
    let mut v: serde_json::Value = serde_json::from_slice(&build(&set, &e, 42).to_json()).unwrap();
    v["router"]["models"][0]["cost"] = serde_json::json!(0);
    assert!(!validator.is_valid(&v));
    v["router"]["models"][0]["cost"] = serde_json::json!(1);
    assert!(validator.is_valid(&v));
    v["version"] = serde_json::json!("1.0");
    assert!(!validator.is_valid(&v));
}

#[test]
fn nested_array_centroids_are_accepted() {
    let (set, e) = fixture_set();
    let p = build(&set, &e, 42);
    let mut v: serde_json::Value = serde_json::from_slice(&p.to_json()).unwrap();
    // An edited file: without its seal, the reader checks the new values.
    v.as_object_mut().unwrap().remove("seal");
    let rows: Vec<Vec<f32>> = (0..p.n_clusters())
        .map(|k| p.centroid(k).to_vec())
        .collect();
    v["router"]["cluster_centers"] = serde_json::json!(rows);
    v["router"]["dtype"] = serde_json::json!("float16");
    assert!(schema_validator().is_valid(&v));
    let again = Profile::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(again.centroids, p.centroids);
}

#[test]
fn a_k16_d768_12_model_profile_stays_under_40_kb() {
    let (set, _) = fixture_set();
    // 300 prompts, 768-d synthetic unit vectors, 12 models: force K = 16.
    let d = 768;
    let mut x = vec![0f32; 300 * d];
    let mut s = 1u64;
    for v in x.iter_mut() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *v = ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
    }
    let mut e = PrecomputedEmbeddings::from_rows(x, d, "synthetic-768", "synthetic").unwrap();
    e.normalize_rows().unwrap();
    let mut set12 = set.clone();
    for extra in 0..3 {
        let mut m = set12.models[extra].clone();
        m.name = format!("{}-copy", m.name);
        set12.models.push(m);
        set12.results.models.push(format!("col{extra}"));
        for row in set12.results.correctness.iter_mut() {
            let v = row[extra];
            row.push(v);
        }
    }
    let p = kmeans_profile(&set12, &e, 16, 16, false);
    assert_eq!((p.n_clusters(), p.dim(), p.models.len()), (16, 768, 12));
    let size = p.to_json().len();
    assert!(size < 40 * 1024, "profile is {size} bytes");
}

#[test]
fn mock_mode_builds_from_texts_only() {
    if !cactus_sys::is_mock() {
        return;
    }
    let (set, _) = fixture_set();
    let emb = CactusEmbedder::mock(256).unwrap();
    let texts: Vec<&str> = set.prompts.iter().map(|p| p.text.as_str()).collect();
    let rows = emb.embed_batch(&texts).unwrap();
    let mut e =
        PrecomputedEmbeddings::from_rows(rows.concat(), 256, emb.model_id(), "mock").unwrap();
    e.normalize_rows().unwrap();
    let p = kmeans_profile(&set, &e, 4, 6, emb.is_mock());
    assert!(p.metadata.is_mock);
    assert_eq!(p.metadata.embedding_model, "cactus-mock/ngram-d256");
    assert_eq!(p.dim(), 256);
}

fn aurora() -> Command {
    common::aurora_cmd()
}

#[test]
fn cli_builds_in_mock_mode_and_twice_gives_identical_bytes() {
    if !cactus_sys::is_mock() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &str| {
        let o = aurora()
            .args([
                "profile",
                "build",
                "--mock",
                "--k-min",
                "3",
                "--k-max",
                "5",
                "--min-cluster-sizes",
                "10",
                "--min-samples",
                "5",
                "--quiet",
                "--out",
            ])
            .arg(dir.path().join(out))
            .arg("--prompts")
            .arg(fixture("prompts.jsonl"))
            .arg("--results")
            .arg(fixture("results.csv"))
            .arg("--models")
            .arg(fixture("models.json"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(dir.path().join(out)).unwrap()
    };
    let a = run("a.json");
    assert_eq!(a, run("b.json"));
    let p = Profile::from_json(&a).unwrap();
    assert!(p.metadata.is_mock);
}

#[test]
fn cli_input_errors_are_one_line_and_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = common::write(dir.path(), "r.csv", "id,a\n");
    let o = aurora()
        .args([
            "profile",
            "build",
            "--quiet",
            "--out",
            "/tmp/never.json",
            "--embeddings",
        ])
        .arg(fixture("embeddings_minilm.f16.npy"))
        .arg("--prompts")
        .arg(fixture("prompts.jsonl"))
        .arg("--results")
        .arg(&bad)
        .arg("--models")
        .arg(fixture("models.json"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("r.csv") && err.contains("have no row"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn cli_rejects_embeddings_with_the_wrong_row_count() {
    let o = aurora()
        .args([
            "profile",
            "build",
            "--quiet",
            "--out",
            "/tmp/never.json",
            "--embeddings",
        ])
        .arg(common::root().join("examples/mmlu_pro/embeddings_minilm.f16.npy"))
        .arg("--prompts")
        .arg(fixture("prompts.jsonl"))
        .arg("--results")
        .arg(fixture("results.csv"))
        .arg("--models")
        .arg(fixture("models.json"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("has 1501 rows but there are 300 prompts"),
        "{err}"
    );
}

#[test]
fn routing_cv_selects_k_and_shrinkage_by_held_out_qab() {
    use aurora_router::build::Selection;
    let (set, e) = fixture_set();
    let sweep = Sweep::params().seed(3).check().unwrap();
    let p = ProfileBuilder::params(sweep)
        .selection(Selection::RoutingCv {
            ks: vec![2, 4, 8],
            top_ks: vec![1, 3],
        })
        .check()
        .unwrap()
        .build(&set, e.view(), e.model_id(), false, &|_, _, _| {})
        .unwrap()
        .profile;
    let md = &p.metadata;
    assert_eq!(md.selection_method, Some(SelectionMethod::RoutingCv));
    assert_eq!(md.selection.len(), 3);
    let best = md
        .selection
        .iter()
        .max_by(|a, b| a.cv_qab.unwrap().total_cmp(&b.cv_qab.unwrap()))
        .unwrap();
    assert_eq!(md.n_clusters, best.n_clusters);
    let sh = md.shrinkage.as_ref().unwrap();
    assert_eq!(sh.method, ShrinkageMethod::RoutingCv);
    // K is chosen by its hard-assignment QAB (above); the shrinkage and the
    // assignment are the best pair at that K.
    assert_eq!(sh.pseudo_count, best.cv_top_k_pseudo_count.unwrap());
    assert!(best.cv_top_k_qab.unwrap() >= best.cv_qab.unwrap());
    for s in &md.selection {
        let q = s.cv_qab.unwrap();
        assert!((0.0..=1.0).contains(&q) && q > 0.2, "implausible QAB {q}");
    }
    // The assignment is cross-validated too: the best of the two tried,
    // recorded for the router, which starts from it.
    let routing = md
        .routing
        .as_ref()
        .expect("routing-cv records the assignment");
    let tried: Vec<f64> = routing.cv_scores.iter().map(|s| s[0]).collect();
    assert_eq!(tried, [1.0, 3.0]);
    let best_assignment =
        routing.cv_scores.iter().fold(
            routing.cv_scores[0],
            |b, s| if s[1] > b[1] { *s } else { b },
        );
    assert_eq!(routing.clusters_mixed() as f64, best_assignment[0]);
    assert_eq!(
        best.cv_top_k.map(|k| k as u64),
        Some(routing.clusters_mixed() as u64)
    );
    let router = aurora_router::route::Router::from_profile(p.clone()).unwrap();
    let opts = router.options().check().unwrap();
    let want = match routing.clusters_mixed() {
        1 => aurora_router::route::Assignment::Hard,
        k => aurora_router::route::Assignment::Soft { top_k: k },
    };
    assert_eq!(opts.assignment(), want);
    let v: serde_json::Value = serde_json::from_slice(&p.to_json()).unwrap();
    assert!(schema_validator().is_valid(&v));
    // Read back, the routing defaults survive.
    let back = aurora_router::profile::Profile::from_json(&p.to_json()).unwrap();
    assert_eq!(back.metadata.routing, md.routing);
    let bad = ProfileBuilder::params(Sweep::params().check().unwrap())
        .selection(Selection::RoutingCv {
            ks: vec![],
            top_ks: vec![1],
        })
        .check();
    assert!(bad.is_err());
    for top_ks in [vec![], vec![0], vec![65]] {
        let bad = ProfileBuilder::params(Sweep::params().check().unwrap())
            .selection(Selection::RoutingCv {
                ks: vec![4],
                top_ks,
            })
            .check();
        assert!(bad.is_err());
    }
}

#[test]
fn routing_cv_skips_ks_too_large_for_the_training_folds() {
    use aurora_router::build::{BuildError, Selection};
    let (set, e) = fixture_set();
    let n = set.prompts.len();
    let build = |ks: Vec<usize>| {
        ProfileBuilder::params(Sweep::params().seed(3).check().unwrap())
            .selection(Selection::RoutingCv {
                ks,
                top_ks: vec![1],
            })
            .check()
            .unwrap()
            .build(&set, e.view(), e.model_id(), false, &|_, _, _| {})
    };
    // 5 folds: the smallest training fold holds n − ⌈n/5⌉ prompts.
    let min_train = n - n.div_ceil(5);
    let p = build(vec![3, min_train + 1, 4, 10 * n]).unwrap().profile;
    let tried: Vec<u64> = p
        .metadata
        .selection
        .iter()
        .map(|e| e.params["k"].as_u64().unwrap())
        .collect();
    assert_eq!(tried, [3, 4]);
    match build(vec![min_train + 1, 10 * n]) {
        Err(BuildError::InvalidParam { name, reason }) => {
            assert_eq!(name, "cv_ks");
            assert!(reason.contains(&min_train.to_string()), "{reason}");
        }
        other => panic!("expected a cv_ks error, got {:?}", other.map(|_| ())),
    }
    // More folds than prompts leaves a fold with nothing to score.
    let more_folds = ProfileBuilder::params(Sweep::params().seed(3).check().unwrap())
        .selection(Selection::RoutingCv {
            ks: vec![3],
            top_ks: vec![1],
        })
        .cv_folds(n + 1)
        .check()
        .unwrap()
        .build(&set, e.view(), e.model_id(), false, &|_, _, _| {});
    match more_folds {
        Err(BuildError::InvalidParam { name, .. }) => assert_eq!(name, "cv_folds"),
        other => panic!("expected a cv_folds error, got {:?}", other.map(|_| ())),
    }
}
