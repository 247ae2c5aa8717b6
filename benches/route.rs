//! Routing speed on synthetic random profiles.
//!
//! `cargo bench --bench route -- --warm-up-time 1 --measurement-time 3`
//!
//! Targets (median): one hard `route_embedding` ≤ 1 µs at K = 16, d = 384 and
//! ≤ 4 µs at K = 64, d = 1024; `Router::from_json` of a K = 16, d = 768,
//! 12-model profile ≤ 200 µs. `peer_ndarray_matvec` is the same
//! nearest-centroid search as a plain ndarray product, for a ratio in the
//! same run.

use std::collections::BTreeMap;
use std::hint::black_box;

use aurora_router::eval::{exact_curve, qab, QAB_BUDGETS};
use aurora_router::profile::{Metadata, ModelInfo, Profile};
use aurora_router::route::{RouteOptions, Router};
use criterion::{criterion_group, criterion_main, Criterion};

/// SplitMix64: a tiny deterministic generator (no `rand` dependency).
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Roughly standard normal (Irwin–Hall, 12 uniforms).
    fn normal(&mut self) -> f32 {
        ((0..12).map(|_| self.uniform()).sum::<f64>() - 6.0) as f32
    }
}

fn unit(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

/// A random K × d profile with `m` models, serialised to JSON.
fn profile_json(k: usize, d: usize, m: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut centroids = Vec::with_capacity(k * d);
    for _ in 0..k {
        let mut row: Vec<f32> = (0..d).map(|_| rng.normal()).collect();
        unit(&mut row);
        centroids.extend(row.iter().map(|&v| half::f16::from_f32(v).to_f32()));
    }
    let models: Vec<ModelInfo> = (0..m)
        .map(|j| ModelInfo {
            name: format!("model-{j}"),
            cost: 1.0 + j as f64 * 3.0,
            extra: Default::default(),
        })
        .collect();
    let llm_profiles: BTreeMap<String, Vec<f64>> = models
        .iter()
        .map(|x| {
            (
                x.name.clone(),
                (0..k)
                    .map(|_| (rng.uniform() * 1e6).round() / 1e6)
                    .collect(),
            )
        })
        .collect();
    let p = Profile {
        metadata: Metadata {
            n_clusters: k,
            feature_dim: d,
            embedding_model: "bench".into(),
            is_mock: true,
            silhouette_score: Some(0.1),
            clustering_algorithm: "kmeans".into(),
            params: serde_json::json!({ "k": k }),
            selection: Vec::new(),
            noise_fraction: 0.0,
            dataset_sha256: "0".repeat(64),
            seed,
            generator: "bench".into(),
            selection_method: None,
            shrinkage: None,
            routing: None,
            created_at: None,
            extra: Default::default(),
        },
        centroids,
        cluster_sizes: (0..k).map(|c| 10 + c as u64).collect(),
        llm_profiles,
        counts: BTreeMap::new(),
        models,
    };
    p.to_json()
}

/// Queries near random centroids (a centroid plus noise), not normalised.
fn queries(router: &Router, n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let c = (rng.next_u64() % router.cluster_count() as u64) as usize;
            let centroid = router.centroid(c).unwrap();
            centroid
                .iter()
                .map(|&x| 3.0 * x + 0.05 * rng.normal())
                .collect()
        })
        .collect()
}

fn bench_route(c: &mut Criterion) {
    let mut g = c.benchmark_group("route_embedding");
    for (k, d, m) in [(16, 384, 12), (64, 1024, 12)] {
        let router = Router::from_json(&profile_json(k, d, m, 7)).unwrap();
        let qs = queries(&router, 256, 11);
        let cases = [
            ("hard", RouteOptions::default()),
            (
                "hard_p0.5",
                RouteOptions::builder()
                    .cost_preference(0.5)
                    .check()
                    .unwrap(),
            ),
            ("soft3", RouteOptions::builder().soft(3).check().unwrap()),
            (
                "hard_subset",
                RouteOptions::builder()
                    .allowed_models(["model-1", "model-4", "model-9"])
                    .check()
                    .unwrap(),
            ),
        ];
        for (label, opts) in cases {
            let mut i = 0usize;
            g.bench_function(format!("{label}/K{k}_d{d}_M{m}"), |b| {
                b.iter(|| {
                    i = (i + 1) & 255;
                    let r = router
                        .route_embedding(black_box(&qs[i]), black_box(&opts))
                        .unwrap();
                    black_box(r.model_index())
                })
            });
        }
    }
    g.finish();
}

/// The peer in the same run: the same nearest-centroid search as a plain
/// ndarray matrix-vector product (`centroids · q`) and an argmax, the first
/// thing one would write. Its ratio to `route_embedding/hard` is what to
/// compare across machines: the absolute figures move with the machine.
fn bench_peer(c: &mut Criterion) {
    let mut g = c.benchmark_group("peer_ndarray_matvec");
    for (k, d, m) in [(16, 384, 12), (64, 1024, 12)] {
        let router = Router::from_json(&profile_json(k, d, m, 7)).unwrap();
        let centroids =
            ndarray::Array2::from_shape_fn((k, d), |(i, j)| router.centroid(i).unwrap()[j]);
        let qs: Vec<ndarray::Array1<f32>> = queries(&router, 256, 11)
            .into_iter()
            .map(ndarray::Array1::from)
            .collect();
        let mut i = 0usize;
        g.bench_function(format!("K{k}_d{d}"), |b| {
            b.iter(|| {
                i = (i + 1) & 255;
                let s = centroids.dot(black_box(&qs[i]));
                let mut best = 0;
                for (c, &v) in s.iter().enumerate() {
                    if v > s[best] {
                        best = c;
                    }
                }
                black_box(best)
            })
        });
    }
    g.finish();
}

/// `aurora eval`'s curve: the exact deferral curve and QAB of 5,000
/// prompts with distinct expected errors (the soft-assignment case) and 9
/// models.
fn bench_exact_curve(c: &mut Criterion) {
    let (p, m) = (5000, 9);
    let costs = [3.8, 7.2, 8.0, 35.0, 12.9, 70.6, 94.0, 6.0, 100.0];
    let mut rng = Rng(11);
    let expected: Vec<Vec<f64>> = (0..p)
        .map(|_| (0..m).map(|_| rng.uniform()).collect())
        .collect();
    let correct: Vec<Vec<f64>> = (0..p)
        .map(|_| (0..m).map(|_| f64::from(rng.uniform() < 0.5)).collect())
        .collect();
    c.bench_function("exact_curve/P5000_M9", |b| {
        b.iter(|| {
            let curve = exact_curve(black_box(&expected), &costs, &correct).unwrap();
            black_box(qab(&curve, 100.0, &QAB_BUDGETS).mean)
        })
    });
}

fn bench_load(c: &mut Criterion) {
    let json = profile_json(16, 768, 12, 3);
    c.bench_function("from_json/K16_d768_M12", |b| {
        b.iter(|| Router::from_json(black_box(&json)).unwrap())
    });
}

criterion_group!(
    benches,
    bench_route,
    bench_peer,
    bench_exact_curve,
    bench_load
);
criterion_main!(benches);
