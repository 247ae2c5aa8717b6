//! Routing on a real-ish profile built from `tests/fixtures/mmlu_small`
//! (300 MMLU-Pro prompts, 9 models, MiniLM embeddings): the chosen model's
//! cost never rises with the cost preference.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aurora_router::embed::PrecomputedEmbeddings;
use aurora_router::profile::{Counts, ModelInfo, Profile};
use aurora_router::route::{RouteOptions, Router};
use common::route::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mmlu_small")
        .join(name)
}

/// The fixture's embeddings (unit rows), ids in prompt order, correctness
/// `[prompt][model]` in `models` order, and the models.
struct Fixture {
    x: Vec<Vec<f32>>,
    correct: Vec<Vec<f64>>,
    models: Vec<ModelInfo>,
}

fn load_fixture() -> Fixture {
    let mut emb =
        PrecomputedEmbeddings::load(fixture("embeddings_minilm.f16.npy"), "all-MiniLM-L6-v2")
            .unwrap();
    emb.normalize_rows().unwrap();
    let ids: Vec<String> = std::fs::read_to_string(fixture("prompts.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].to_string().trim_matches('"').to_string()
        })
        .collect();
    assert_eq!(ids.len(), emb.rows());
    let models: Vec<ModelInfo> =
        serde_json::from_str(&std::fs::read_to_string(fixture("models.json")).unwrap()).unwrap();
    let csv = std::fs::read_to_string(fixture("results.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col: Vec<usize> = models
        .iter()
        .map(|m| header.iter().position(|h| *h == m.name).unwrap())
        .collect();
    let by_id: BTreeMap<String, Vec<f64>> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                col.iter()
                    .map(|&c| f[c].trim().parse::<f64>().unwrap())
                    .collect(),
            )
        })
        .collect();
    let correct = ids.iter().map(|id| by_id[id].clone()).collect();
    let x = (0..emb.rows())
        .map(|i| emb.row(i).unwrap().to_vec())
        .collect();
    Fixture { x, correct, models }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Seeded spherical k-means (k-means++ start), enough for a test profile.
fn spherical_kmeans(x: &[Vec<f32>], k: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<usize>) {
    let mut rng = Rng(seed);
    let mut cent = vec![x[rng.below(x.len())].clone()];
    while cent.len() < k {
        let dist: Vec<f64> = x
            .iter()
            .map(|p| {
                cent.iter()
                    .map(|c| f64::from(1.0 - dot(p, c)).max(0.0))
                    .fold(f64::MAX, f64::min)
            })
            .collect();
        let total: f64 = dist.iter().sum();
        let mut t = rng.uniform() * total;
        let mut pick = 0;
        for (i, d) in dist.iter().enumerate() {
            t -= d;
            if t <= 0.0 {
                pick = i;
                break;
            }
        }
        cent.push(x[pick].clone());
    }
    let mut labels = vec![0; x.len()];
    for _ in 0..30 {
        for (i, p) in x.iter().enumerate() {
            labels[i] = (0..k)
                .max_by(|&a, &b| dot(p, &cent[a]).partial_cmp(&dot(p, &cent[b])).unwrap())
                .unwrap();
        }
        for (c, centroid) in cent.iter_mut().enumerate() {
            let mut sum = vec![0.0f32; x[0].len()];
            for (p, _) in x.iter().zip(&labels).filter(|(_, &l)| l == c) {
                sum.iter_mut().zip(p).for_each(|(s, v)| *s += v);
            }
            if sum.iter().any(|&v| v != 0.0) {
                unit(&mut sum);
                *centroid = sum;
            }
        }
    }
    (cent, labels)
}

/// A profile from the fixture: K clusters, error rates shrunk toward each
/// model's global error with pseudo-count 5.
fn fixture_profile(f: &Fixture, k: usize) -> Profile {
    let (cent, labels) = spherical_kmeans(&f.x, k, 7);
    let m = f.models.len();
    let n: Vec<u64> = (0..k)
        .map(|c| labels.iter().filter(|&&l| l == c).count() as u64)
        .collect();
    let mut llm_profiles = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for j in 0..m {
        let errs: Vec<f64> = (0..k)
            .map(|c| {
                f.correct
                    .iter()
                    .zip(&labels)
                    .filter(|(_, &l)| l == c)
                    .map(|(r, _)| 1.0 - r[j])
                    .sum()
            })
            .collect();
        let global = errs.iter().sum::<f64>() / f.x.len() as f64;
        let a = 5.0;
        let rates = (0..k)
            .map(|c| (errs[c] + a * global) / (n[c] as f64 + a))
            .collect();
        llm_profiles.insert(f.models[j].name.clone(), rates);
        counts.insert(
            f.models[j].name.clone(),
            Counts {
                n: n.clone(),
                errors: errs,
            },
        );
    }
    Profile {
        metadata: metadata(k, f.x[0].len(), "all-MiniLM-L6-v2", false),
        centroids: cent
            .iter()
            .flatten()
            .map(|&v| half::f16::from_f32(v).to_f32())
            .collect(),
        cluster_sizes: n,
        llm_profiles,
        counts,
        models: f.models.clone(),
    }
}

/// Fixture rows, mixtures of two rows, noisy rows and random directions.
fn queries(f: &Fixture, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng(seed);
    let d = f.x[0].len();
    let mut out: Vec<Vec<f32>> = f.x.clone();
    for _ in 0..300 {
        let (a, b) = (&f.x[rng.below(f.x.len())], &f.x[rng.below(f.x.len())]);
        let t = rng.uniform() as f32;
        out.push(
            a.iter()
                .zip(b)
                .map(|(x, y)| t * x + (1.0 - t) * y)
                .collect(),
        );
    }
    for _ in 0..200 {
        let a = &f.x[rng.below(f.x.len())];
        out.push(a.iter().map(|x| x + 0.05 * rng.normal()).collect());
    }
    for _ in 0..100 {
        out.push((0..d).map(|_| rng.normal()).collect());
    }
    out
}

fn assert_monotone(
    router: &Router,
    qs: &[Vec<f32>],
    base: aurora_router::route::RouteOptionsBuilder,
    label: &str,
) {
    let grid: Vec<f64> = (0..=50).map(|i| i as f64 / 50.0).collect();
    let mut switches = 0;
    for (qi, q) in qs.iter().enumerate() {
        let mut last: Option<(f64, usize)> = None;
        for &p in &grid {
            let o = base.clone().cost_preference(p).check().unwrap();
            let d = router.route_embedding(q, &o).unwrap();
            let cost = d.model().cost;
            if let Some((prev, prev_m)) = last {
                assert!(
                    cost <= prev,
                    "{label}: query {qi}: cost rose from {prev} to {cost} at p = {p}"
                );
                if prev_m != d.model_index() {
                    switches += 1;
                }
            }
            // The extremes: lowest error at p = 0, cheapest at p = 1.
            let cands: Vec<(usize, f64)> = d.candidates().collect();
            if p == 0.0 {
                let best = cands.iter().map(|c| c.1).fold(f64::MAX, f64::min);
                assert_eq!(d.expected_error(), best, "{label}: query {qi}");
            }
            if p == 1.0 {
                let cheapest = cands
                    .iter()
                    .map(|c| router.models()[c.0].cost)
                    .fold(f64::MAX, f64::min);
                assert_eq!(cost, cheapest, "{label}: query {qi}");
            }
            last = Some((cost, d.model_index()));
        }
    }
    // The sweep actually moves between models.
    assert!(switches > qs.len(), "{label}: only {switches} switches");
}

#[test]
fn cost_preference_is_monotone_on_the_fixture_profile() {
    let f = load_fixture();
    let profile = fixture_profile(&f, 8);
    let router = Router::from_profile(profile).unwrap();
    assert_eq!(
        (router.cluster_count(), router.model_count(), router.dim()),
        (8, 9, 384)
    );
    // Round trip through JSON gives the same router decisions.
    let again = Router::from_json(&router.profile().to_json()).unwrap();
    let qs = queries(&f, 3);
    for q in qs.iter().take(100) {
        let (a, b) = (
            router.route_embedding(q, &RouteOptions::default()).unwrap(),
            again.route_embedding(q, &RouteOptions::default()).unwrap(),
        );
        assert_eq!(
            (a.model_index(), a.cluster()),
            (b.model_index(), b.cluster())
        );
    }
    assert_monotone(&router, &qs, RouteOptions::builder(), "hard");
    assert_monotone(&router, &qs, RouteOptions::builder().soft(3), "soft 3");
    assert_monotone(
        &router,
        &qs,
        RouteOptions::builder().soft(8).temperature(0.2),
        "soft 8",
    );
    assert_monotone(
        &router,
        &qs,
        RouteOptions::builder().allowed_models([0usize, 2, 5, 7, 8]),
        "subset",
    );
    // Everything falls back at min_confidence 1: still monotone (global rates).
    assert_monotone(
        &router,
        &qs[..50],
        RouteOptions::builder().min_confidence(1.0),
        "fallback",
    );
}

#[test]
fn lambda_is_monotone_too() {
    let f = load_fixture();
    let router = Router::from_profile(fixture_profile(&f, 12)).unwrap();
    let lambdas = [
        0.0,
        0.01,
        0.05,
        0.1,
        0.2,
        0.5,
        1.0,
        2.0,
        5.0,
        20.0,
        1e3,
        f64::INFINITY,
    ];
    for q in queries(&f, 4) {
        let costs: Vec<f64> = lambdas
            .iter()
            .map(|&l| {
                let o = RouteOptions::builder().lambda(l).check().unwrap();
                router.route_embedding(&q, &o).unwrap().model().cost
            })
            .collect();
        assert!(costs.windows(2).all(|w| w[1] <= w[0]), "{costs:?}");
    }
}

#[test]
fn fixture_prompts_route_to_their_own_cluster_mostly() {
    let f = load_fixture();
    let router = Router::from_profile(fixture_profile(&f, 8)).unwrap();
    let o = RouteOptions::default();
    let (_, labels) = spherical_kmeans(&f.x, 8, 7);
    let agree =
        f.x.iter()
            .zip(&labels)
            .filter(|(q, &l)| router.route_embedding(q, &o).unwrap().cluster() == l)
            .count();
    // float16 centroids may flip a few borderline prompts.
    assert!(agree >= 290, "{agree} / 300");
}

/// The same check on a profile made by the crate's own builder.
#[cfg(feature = "builder")]
#[test]
fn cost_preference_is_monotone_on_a_built_profile() {
    use aurora_router::build::ProfileBuilder;
    use aurora_router::cluster::sweep::Sweep;
    use aurora_router::data::LabelledSet;

    let set = LabelledSet::load(
        &fixture("prompts.jsonl"),
        &fixture("results.csv"),
        &fixture("models.json"),
    )
    .unwrap();
    let mut emb =
        PrecomputedEmbeddings::load(fixture("embeddings_minilm.f16.npy"), "all-MiniLM-L6-v2")
            .unwrap();
    emb.normalize_rows().unwrap();
    let sweep = Sweep::params()
        .k_range(6, 8)
        .hdbscan_grid(vec![], vec![])
        .kmeans_runs(1)
        .seed(5)
        .check()
        .unwrap();
    let built = ProfileBuilder::params(sweep)
        .pseudo_count(Some(5.0))
        .check()
        .unwrap()
        .build(&set, emb.view(), "all-MiniLM-L6-v2", false, &|_, _, _| {})
        .unwrap();
    let router = Router::from_json(&built.profile.to_json()).unwrap();
    let f = load_fixture();
    let qs = queries(&f, 5);
    assert_monotone(&router, &qs[..400], RouteOptions::builder(), "built, hard");
    assert_monotone(
        &router,
        &qs[..400],
        RouteOptions::builder().soft(3),
        "built, soft",
    );
}
