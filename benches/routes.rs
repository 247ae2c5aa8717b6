//! Semantic routes: matching one 384-d embedding against 150 routes, and a
//! plain ndarray peer doing the same maths (matrix-vector product, bias,
//! softmax, best and runner-up). See BENCHMARKS.md, "Semantic routes".

use std::hint::black_box;

use aurora_router::routes::{Example, RouteSet, RoutesBuilder, RoutesParams};
use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::{Array1, Array2};

const K: usize = 150;
const D: usize = 384;

/// Deterministic pseudo-random values in [-1, 1).
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn routes() -> RouteSet {
    let per = 4;
    let centers = noise(K * D, 1);
    let jitter = noise(K * per * D, 2);
    let mut rows = Vec::with_capacity(K * per * D);
    let mut examples = Vec::new();
    for k in 0..K {
        for j in 0..per {
            for c in 0..D {
                rows.push(centers[k * D + c] + 0.3 * jitter[(k * per + j) * D + c]);
            }
            examples.push(Example {
                text: format!("example {k}/{j}"),
                route: Some(format!("route_{k}")),
            });
        }
    }
    let x = Array2::from_shape_vec((K * per, D), rows).unwrap();
    let params = RoutesParams::new().epochs(1).check().unwrap();
    RoutesBuilder::new(params, "bench", false)
        .build(&examples, x.view(), None)
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let set = routes();
    let q = noise(D, 3);
    // The peer: the same weights as an ndarray matrix.
    let json: serde_json::Value = serde_json::from_slice(&set.to_json().unwrap()).unwrap();
    let w: aurora_router::profile::F16Matrix =
        serde_json::from_value(json["routes"]["weights"].clone()).unwrap();
    let w = Array2::from_shape_vec((K, D), w.into_vec()).unwrap();
    let b: Vec<f32> = serde_json::from_value(json["routes"]["bias"].clone()).unwrap();
    let b = Array1::from(b);
    let t: f32 = serde_json::from_value(json["routes"]["temperature"].clone()).unwrap();
    let qa = Array1::from(q.clone());

    let mut g = c.benchmark_group("routes_match_150x384");
    g.bench_function("aurora", |bch| {
        bch.iter(|| black_box(set.match_embedding(black_box(&q)).unwrap().best_index))
    });
    g.bench_function("ndarray_peer", |bch| {
        bch.iter(|| {
            let q = black_box(&qa);
            let qn = q / q.dot(q).sqrt();
            let mut z = (w.dot(&qn) + &b) / t;
            let m = z.fold(f32::NEG_INFINITY, |a, &v| a.max(v));
            z.mapv_inplace(|v| (v - m).exp());
            let s = z.sum();
            z /= s;
            let (mut best, mut second) = (0usize, 1usize);
            for k in 0..K {
                if z[k] > z[best] {
                    second = best;
                    best = k;
                } else if k != best && z[k] > z[second] {
                    second = k;
                }
            }
            black_box((best, z[best], second, z[second]))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
