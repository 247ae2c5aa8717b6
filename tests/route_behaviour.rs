//! Routing behaviour: input errors, options, trade-off, subsets, soft
//! assignment, confidence fallback, embedder checks, concurrency.

mod common;

use std::collections::BTreeMap;

use aurora_router::embed::{CactusEmbedder, EmbedError, Embedder};
use aurora_router::route::{
    Assignment, Basis, ModelRef, RouteDecision, RouteError, RouteOptions, Router,
};
use aurora_router::routing::VectorError;
use common::route::*;

fn toy() -> Router {
    Router::from_json(&toy_json()).unwrap()
}

fn opts_p(p: f64) -> RouteOptions {
    RouteOptions::builder().cost_preference(p).check().unwrap()
}

/// Reference implementation of the documented rule, in f64.
fn reference_choice(
    router: &Router,
    errors: &[f64],
    lambda: f64,
    allowed: &dyn Fn(usize) -> bool,
) -> usize {
    let costs: Vec<f64> = router.models().iter().map(|m| m.cost).collect();
    let max = costs.iter().cloned().fold(0.0, f64::max);
    let key = |m: usize| {
        if lambda.is_infinite() {
            (costs[m] / max, costs[m], errors[m], m)
        } else {
            (
                errors[m] + lambda * (costs[m] / max),
                costs[m],
                errors[m],
                m,
            )
        }
    };
    (0..router.model_count())
        .filter(|&m| allowed(m))
        .min_by(|&a, &b| key(a).partial_cmp(&key(b)).unwrap())
        .unwrap()
}

fn naive_sims(router: &Router, q: &[f32]) -> Vec<f64> {
    let qn = q.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    (0..router.cluster_count())
        .map(|c| {
            let row = router.centroid(c).unwrap();
            row.iter()
                .zip(q)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum::<f64>()
                / qn
        })
        .collect()
}

// ---------------------------------------------------------------- input errors

#[test]
fn wrong_dimension_is_a_typed_error() {
    let r = toy();
    for len in [0, 3, 5, 400] {
        let q = vec![1.0; len];
        match r.route_embedding(&q, &RouteOptions::default()) {
            Err(RouteError::Dimension { expected: 4, got }) => assert_eq!(got, len),
            other => panic!("len {len}: {other:?}"),
        }
    }
}

#[test]
fn non_finite_components_are_typed_errors() {
    let r = toy();
    for (i, bad) in [(2, f32::NAN), (0, f32::INFINITY), (3, f32::NEG_INFINITY)] {
        let mut q = vec![0.5f32; 4];
        q[i] = bad;
        match r.route_embedding(&q, &RouteOptions::default()) {
            Err(RouteError::InvalidEmbedding(VectorError::NonFinite { index, value })) => {
                assert_eq!(index, i);
                assert_eq!(value.to_bits(), bad.to_bits());
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    // Also in a long vector (the vectorised pass), first offender reported.
    let r = Router::from_profile(random_profile(4, 100, 2, 3)).unwrap();
    let mut q = vec![0.1f32; 100];
    q[77] = f32::NAN;
    q[90] = f32::INFINITY;
    assert!(matches!(
        r.route_embedding(&q, &RouteOptions::default()),
        Err(RouteError::InvalidEmbedding(VectorError::NonFinite {
            index: 77,
            ..
        }))
    ));
}

#[test]
fn zero_vector_is_a_typed_error() {
    let r = toy();
    assert!(matches!(
        r.route_embedding(&[0.0; 4], &RouteOptions::default()),
        Err(RouteError::InvalidEmbedding(VectorError::ZeroVector))
    ));
    assert!(matches!(
        r.route_embedding(&[-0.0, 0.0, -0.0, 0.0], &RouteOptions::default()),
        Err(RouteError::InvalidEmbedding(VectorError::ZeroVector))
    ));
}

#[test]
fn extreme_but_finite_vectors_route_like_their_direction() {
    let r = toy();
    let o = RouteOptions::default();
    for scale in [1e-42f32, 1e-30, 1e-12, 1.0, 1e12, 1e30, f32::MAX] {
        let d = r.route_embedding(&[scale, 0.0, 0.0, 0.0], &o).unwrap();
        assert_eq!(d.cluster(), 0, "scale {scale}");
        assert!(
            (d.similarity() - 1.0).abs() < 1e-6,
            "scale {scale}: {}",
            d.similarity()
        );
        let d = r.route_embedding(&[scale, scale, 0.0, 0.0], &o).unwrap();
        assert!(
            (d.similarity() - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-5,
            "scale {scale}"
        );
        assert!(
            (d.confidence() - 0.5).abs() < 1e-5,
            "scale {scale}: {}",
            d.confidence()
        );
    }
}

// ---------------------------------------------------------------- decisions

#[test]
fn toy_decisions_follow_the_documented_rule() {
    let r = toy();
    let near0 = [1.0, 0.05, 0.0, 0.0];
    let d = r.route_embedding(&near0, &RouteOptions::default()).unwrap();
    assert_eq!(
        (d.cluster(), d.model_name(), d.model_index()),
        (0, "big", 1)
    );
    assert_eq!(d.model_path(), Some("/models/big.gguf"));
    assert_eq!(d.model().cost, 10.0);
    assert_eq!(d.expected_errors(), &[0.5, 0.1]);
    assert_eq!(d.expected_error(), 0.1);
    assert_eq!(d.basis(), Basis::Hard);
    assert!(d.is_confident());
    assert_eq!(d.candidates().collect::<Vec<_>>(), vec![(0, 0.5), (1, 0.1)]);
    // Switch point: 0.5 + λ·0.1 = 0.1 + λ·1 at λ = 4/9, p = λ/(1+λ) = 4/13.
    let switch = 4.0 / 13.0;
    assert_eq!(
        r.route_embedding(&near0, &opts_p(switch - 1e-6))
            .unwrap()
            .model_name(),
        "big"
    );
    assert_eq!(
        r.route_embedding(&near0, &opts_p(switch + 1e-6))
            .unwrap()
            .model_name(),
        "small"
    );
    assert_eq!(
        r.route_embedding(&near0, &opts_p(1.0))
            .unwrap()
            .model_name(),
        "small"
    );
    // Equal errors in cluster 1: the cheaper model, whatever the preference.
    for p in [0.0, 0.5, 1.0] {
        let d = r
            .route_embedding(&[0.0, 2.0, 0.1, 0.0], &opts_p(p))
            .unwrap();
        assert_eq!((d.cluster(), d.model_name()), (1, "small"), "p = {p}");
    }
}

#[test]
fn lambda_and_preference_agree() {
    let o = RouteOptions::builder().lambda(1.0).check().unwrap();
    assert_eq!(o.lambda(), 1.0);
    assert_eq!(o.cost_preference(), None);
    assert_eq!(opts_p(0.5).lambda(), 1.0);
    assert_eq!(opts_p(0.75).lambda(), 3.0);
    assert_eq!(opts_p(1.0).lambda(), f64::INFINITY);
    assert_eq!(opts_p(0.0).lambda(), 0.0);
    let r = Router::from_profile(random_profile(8, 16, 5, 4)).unwrap();
    let mut rng = Rng(5);
    for _ in 0..200 {
        let q: Vec<f32> = (0..16).map(|_| rng.normal()).collect();
        for (p, l) in [(0.5, 1.0), (0.75, 3.0), (1.0, f64::INFINITY), (0.0, 0.0)] {
            let a = r.route_embedding(&q, &opts_p(p)).unwrap().model_index();
            let b = r
                .route_embedding(&q, &RouteOptions::builder().lambda(l).check().unwrap())
                .unwrap()
                .model_index();
            assert_eq!(a, b);
        }
    }
}

#[test]
fn ties_are_broken_by_cost_then_error_then_index() {
    let e = vec![vec![1.0f32, 0.0]];
    // Equal error and cost: lowest index.
    let p = profile(
        &e,
        &[1],
        &[("a", 2.0), ("b", 2.0)],
        &[vec![0.3], vec![0.3]],
        "m",
        false,
    );
    let r = Router::from_profile(p).unwrap();
    for pref in [0.0, 0.5, 1.0] {
        assert_eq!(
            r.route_embedding(&[1.0, 0.0], &opts_p(pref))
                .unwrap()
                .model_name(),
            "a"
        );
    }
    // Equal error: the cheaper one, even at p = 0.
    let p = profile(
        &e,
        &[1],
        &[("a", 2.0), ("b", 1.0)],
        &[vec![0.3], vec![0.3]],
        "m",
        false,
    );
    let r = Router::from_profile(p).unwrap();
    assert_eq!(
        r.route_embedding(&[1.0, 0.0], &opts_p(0.0))
            .unwrap()
            .model_name(),
        "b"
    );
    // Equal cost at p = 1: the lower error.
    let p = profile(
        &e,
        &[1],
        &[("a", 1.0), ("b", 1.0), ("c", 5.0)],
        &[vec![0.4], vec![0.2], vec![0.0]],
        "m",
        false,
    );
    let r = Router::from_profile(p).unwrap();
    assert_eq!(
        r.route_embedding(&[1.0, 0.0], &opts_p(1.0))
            .unwrap()
            .model_name(),
        "b"
    );
    assert_eq!(
        r.route_embedding(&[1.0, 0.0], &opts_p(0.0))
            .unwrap()
            .model_name(),
        "c"
    );
}

#[test]
fn decisions_match_a_reference_implementation() {
    let r = Router::from_profile(random_profile(24, 40, 7, 8)).unwrap();
    let mut rng = Rng(9);
    for i in 0..500 {
        let q: Vec<f32> = (0..40).map(|_| rng.normal()).collect();
        let p = [0.0, 0.1, 0.3, 0.5, 0.8, 0.95, 1.0][i % 7];
        let o = opts_p(p);
        let d = r.route_embedding(&q, &o).unwrap();
        let sims = naive_sims(&r, &q);
        let (best, smax) =
            sims.iter().enumerate().fold(
                (0, f64::NEG_INFINITY),
                |b, (c, &s)| if s > b.1 { (c, s) } else { b },
            );
        // Same cluster unless two are within f32 rounding of each other.
        if d.cluster() != best {
            assert!((sims[d.cluster()] - smax).abs() < 1e-5);
        }
        assert!((f64::from(d.similarity()) - sims[d.cluster()]).abs() < 1e-5);
        let z: f64 = sims.iter().map(|s| ((s - smax) / 0.05).exp()).sum();
        assert!(
            (f64::from(d.confidence()) - 1.0 / z).abs() < 1e-4,
            "{} vs {}",
            d.confidence(),
            1.0 / z
        );
        let row = r.cluster_error_rates(d.cluster()).unwrap();
        assert_eq!(d.expected_errors(), row);
        assert_eq!(
            d.model_index(),
            reference_choice(&r, row, o.lambda(), &|_| true)
        );
    }
}

#[test]
fn centroids_are_renormalised_at_load() {
    let p = profile(
        &[vec![3.0, 4.0], vec![0.1, 0.0]],
        &[1, 1],
        &[("a", 1.0)],
        &[vec![0.1, 0.2]],
        "m",
        false,
    );
    let r = Router::from_profile(p).unwrap();
    let c0 = r.centroid(0).unwrap();
    assert!(
        (c0[0] - 0.6).abs() < 1e-6 && (c0[1] - 0.8).abs() < 1e-6,
        "{c0:?}"
    );
    let c1 = r.centroid(1).unwrap();
    assert!((c1[0] - 1.0).abs() < 1e-7 && c1[1] == 0.0);
    assert!(r.centroid(2).is_none());
    assert!(r.cluster_error_rates(2).is_none());
    // The profile itself is kept as stored.
    assert_eq!(r.profile().centroid(0), &[3.0, 4.0]);
    // Random float16 centroids: unit length to f32 precision.
    let r = Router::from_profile(random_profile(10, 384, 2, 1)).unwrap();
    for c in 0..10 {
        let n: f64 = r
            .centroid(c)
            .unwrap()
            .iter()
            .map(|&v| f64::from(v).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!((n - 1.0).abs() < 1e-6, "{n}");
    }
}

#[test]
fn global_error_rates_are_size_weighted() {
    let r = toy();
    let g = r.global_error_rates();
    assert!((g[0] - (10.0 * 0.5 + 12.0 * 0.1) / 22.0).abs() < 1e-12);
    assert!((g[1] - 0.1).abs() < 1e-12);
    // All sizes zero: plain mean.
    let p = profile(
        &[vec![1.0, 0.0], vec![0.0, 1.0]],
        &[0, 0],
        &[("a", 1.0)],
        &[vec![0.2, 0.6]],
        "m",
        false,
    );
    let r = Router::from_profile(p).unwrap();
    assert!((r.global_error_rates()[0] - 0.4).abs() < 1e-12);
}

// ---------------------------------------------------------------- options

#[test]
fn invalid_options_are_typed_errors() {
    let b = RouteOptions::builder;
    let cases: Vec<(&str, Result<RouteOptions, RouteError>)> = vec![
        ("cost_preference", b().cost_preference(1.5).check()),
        ("cost_preference", b().cost_preference(-0.1).check()),
        ("cost_preference", b().cost_preference(f64::NAN).check()),
        ("lambda", b().lambda(-1.0).check()),
        ("lambda", b().lambda(f64::NAN).check()),
        ("soft.top_k", b().soft(0).check()),
        ("soft.top_k", b().soft(65).check()),
        ("temperature", b().temperature(0.0).check()),
        ("temperature", b().temperature(-0.05).check()),
        ("temperature", b().temperature(f32::NAN).check()),
        ("temperature", b().temperature(f32::INFINITY).check()),
        ("temperature", b().temperature(1e-9).check()),
        ("min_confidence", b().min_confidence(1.5).check()),
        ("min_confidence", b().min_confidence(f32::NAN).check()),
        ("min_similarity", b().min_similarity(-2.0).check()),
        (
            "allowed_models",
            b().allowed_models(Vec::<usize>::new()).check(),
        ),
    ];
    for (want, got) in cases {
        match got {
            Err(RouteError::InvalidOption { name, reason }) => {
                assert_eq!(name, want);
                assert!(!reason.is_empty());
            }
            other => panic!("{want}: {other:?}"),
        }
    }
    // The last setter wins between cost_preference and lambda.
    let o = b().cost_preference(2.0).lambda(0.5).check().unwrap();
    assert_eq!(o.lambda(), 0.5);
    assert!(b().lambda(f64::INFINITY).check().is_ok());
    assert!(b()
        .soft(64)
        .temperature(1e-6)
        .min_confidence(1.0)
        .min_similarity(-1.0)
        .check()
        .is_ok());
}

#[test]
fn options_round_trip_through_the_builder() {
    let o = RouteOptions::builder()
        .cost_preference(0.25)
        .soft(4)
        .temperature(0.1)
        .min_confidence(0.3)
        .min_similarity(0.2)
        .allowed_models(["a", "b"])
        .fallback_model("a")
        .check()
        .unwrap();
    assert_eq!(o.cost_preference(), Some(0.25));
    assert_eq!(o.assignment(), Assignment::Soft { top_k: 4 });
    assert_eq!(o.temperature(), 0.1);
    assert_eq!(o.min_confidence(), 0.3);
    assert_eq!(o.min_similarity(), Some(0.2));
    assert_eq!(
        o.allowed_models().unwrap(),
        &[ModelRef::from("a"), ModelRef::from("b")]
    );
    assert_eq!(o.fallback_model(), Some(&ModelRef::Name("a".into())));
    let again = o.clone().into_builder().check().unwrap();
    assert_eq!(again, o);
    let plain = o
        .into_builder()
        .hard()
        .allow_all_models()
        .no_fallback_model()
        .check()
        .unwrap();
    assert_eq!(plain.assignment(), Assignment::Hard);
    assert!(plain.allowed_models().is_none() && plain.fallback_model().is_none());
    let d = RouteOptions::default();
    assert_eq!(
        (
            d.lambda(),
            d.assignment(),
            d.temperature(),
            d.min_confidence()
        ),
        (0.0, Assignment::Hard, 0.05, 0.0)
    );
}

#[test]
fn model_references_are_resolved_against_the_router() {
    let r = toy();
    let run = |o: RouteOptions| {
        r.route_embedding(&[1.0, 0.0, 0.0, 0.0], &o)
            .map(|d| d.model_index())
    };
    let b = RouteOptions::builder;
    assert!(matches!(
        run(b().allowed_models(["ghost"]).check().unwrap()),
        Err(RouteError::UnknownModel(ref n)) if n == "ghost"
    ));
    assert!(matches!(
        run(b().allowed_models([5usize]).check().unwrap()),
        Err(RouteError::ModelIndexOutOfRange { index: 5, count: 2 })
    ));
    assert!(matches!(
        run(b().fallback_model("ghost").check().unwrap()),
        Err(RouteError::UnknownModel(_))
    ));
    assert!(matches!(
        run(b().allowed_models(["small"]).fallback_model("big").check().unwrap()),
        Err(RouteError::FallbackNotAllowed(ref n)) if n == "big"
    ));
    let bad = b().allowed_models([0usize, 9]).check().unwrap();
    assert!(r.check_options(&bad).is_err());
    assert!(r
        .check_options(
            &b().allowed_models(["big", "small"])
                .fallback_model(0usize)
                .check()
                .unwrap()
        )
        .is_ok());
    // Mixed references.
    let mixed = b()
        .allowed_models([ModelRef::from(0usize), ModelRef::from("big")])
        .check()
        .unwrap();
    assert_eq!(run(mixed).unwrap(), 1);
}

// ---------------------------------------------------------------- subsets

#[test]
fn allowed_models_subset_is_respected() {
    let r = Router::from_profile(random_profile(16, 32, 9, 11)).unwrap();
    let mut rng = Rng(12);
    for i in 0..600 {
        let q: Vec<f32> = (0..32).map(|_| rng.normal()).collect();
        let subset: Vec<usize> = (0..9).filter(|_| rng.below(3) == 0).collect();
        let subset = if subset.is_empty() {
            vec![rng.below(9)]
        } else {
            subset
        };
        let p = (i % 11) as f64 / 10.0;
        let by_index = RouteOptions::builder()
            .cost_preference(p)
            .allowed_models(subset.clone());
        let names: Vec<String> = subset.iter().map(|&m| format!("model-{m}")).collect();
        let by_name = RouteOptions::builder()
            .cost_preference(p)
            .allowed_models(&names);
        for (o, soft) in [
            (by_index.clone(), false),
            (by_name, false),
            (by_index.soft(3), true),
        ] {
            let o = o.check().unwrap();
            let d = r.route_embedding(&q, &o).unwrap();
            assert!(
                subset.contains(&d.model_index()),
                "{} not in {subset:?}",
                d.model_index()
            );
            for m in 0..9 {
                assert_eq!(d.is_allowed(m), subset.contains(&m));
            }
            assert_eq!(d.candidates().map(|c| c.0).collect::<Vec<_>>(), subset);
            let want = reference_choice(&r, d.expected_errors(), o.lambda(), &|m| {
                subset.contains(&m)
            });
            assert_eq!(d.model_index(), want, "soft {soft}");
        }
    }
}

#[test]
fn large_model_counts_use_the_heap_paths() {
    // 130 models: a subset needs the heap bit set; soft needs a heap row.
    let r = Router::from_profile(random_profile(6, 8, 130, 13)).unwrap();
    let mut rng = Rng(14);
    for _ in 0..100 {
        let q: Vec<f32> = (0..8).map(|_| rng.normal()).collect();
        let subset = [129usize, 3, 64, 127, 128];
        let o = RouteOptions::builder()
            .allowed_models(subset)
            .soft(3)
            .check()
            .unwrap();
        let d = r.route_embedding(&q, &o).unwrap();
        assert!(subset.contains(&d.model_index()));
        assert_eq!(d.expected_errors().len(), 130);
        assert_eq!(
            d.model_index(),
            reference_choice(&r, d.expected_errors(), 0.0, &|m| subset.contains(&m))
        );
        assert!(!d.is_allowed(130) && d.is_allowed(129) && !d.is_allowed(0));
    }
}

// ---------------------------------------------------------------- soft

#[test]
fn soft_and_hard_agree_when_one_cluster_dominates() {
    let r = Router::from_profile(random_profile(12, 64, 6, 21)).unwrap();
    let mut rng = Rng(22);
    for i in 0..300 {
        let c = rng.below(12);
        // A query right at a centroid: the others are far (random directions
        // in 64-d are ~orthogonal), so their weights are ~e^-20.
        let q: Vec<f32> = r
            .centroid(c)
            .unwrap()
            .iter()
            .map(|&x| x + 0.001 * rng.normal())
            .collect();
        let p = (i % 5) as f64 / 4.0;
        let hard = r.route_embedding(&q, &opts_p(p)).unwrap();
        let soft_o = RouteOptions::builder()
            .cost_preference(p)
            .soft(1 + i % 6)
            .check()
            .unwrap();
        let soft = r.route_embedding(&q, &soft_o).unwrap();
        assert_eq!(hard.cluster(), c);
        assert_eq!(soft.cluster(), c);
        assert!(hard.confidence() > 0.999);
        assert_eq!(soft.model_index(), hard.model_index());
        for (a, b) in soft.expected_errors().iter().zip(hard.expected_errors()) {
            // Other clusters keep weights up to ~e^-13 (random 64-d
            // centroids can be 0.35 apart in cosine).
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
}

#[test]
fn soft_errors_are_the_documented_weighted_mean() {
    let r = Router::from_profile(random_profile(10, 12, 5, 31)).unwrap();
    let mut rng = Rng(32);
    for k in [2usize, 3, 5, 10, 64] {
        for t in [0.05f32, 0.2, 1.0] {
            let q: Vec<f32> = (0..12).map(|_| rng.normal()).collect();
            let o = RouteOptions::builder()
                .soft(k)
                .temperature(t)
                .check()
                .unwrap();
            let d = r.route_embedding(&q, &o).unwrap();
            let used = k.min(10);
            assert_eq!(d.basis(), Basis::Soft { clusters: used });
            let sims = naive_sims(&r, &q);
            let mut order: Vec<usize> = (0..10).collect();
            order.sort_by(|&a, &b| sims[b].partial_cmp(&sims[a]).unwrap());
            let smax = sims[order[0]];
            let mut want = [0.0; 5];
            let mut wsum = 0.0;
            for &c in &order[..used] {
                let w = ((sims[c] - smax) / f64::from(t)).exp();
                wsum += w;
                for (m, e) in r.cluster_error_rates(c).unwrap().iter().enumerate() {
                    want[m] += w * e;
                }
            }
            for (m, &e) in d.expected_errors().iter().enumerate() {
                assert!(
                    (e - want[m] / wsum).abs() < 1e-5,
                    "k {k} t {t}: {e} vs {}",
                    want[m] / wsum
                );
            }
        }
    }
}

// ---------------------------------------------------------------- confidence

#[test]
fn min_confidence_falls_back() {
    let r = toy();
    let between = [1.0, 1.0, 0.0, 0.0];
    let d = r
        .route_embedding(&between, &RouteOptions::default())
        .unwrap();
    assert!((d.confidence() - 0.5).abs() < 1e-6);
    assert_eq!(d.cluster(), 0, "equal similarity: the earlier cluster");
    assert!(d.is_confident());
    // Below the threshold: global rates (small 0.2818, big 0.1) pick `big` at p = 0…
    let o = RouteOptions::builder().min_confidence(0.6).check().unwrap();
    let d = r.route_embedding(&between, &o).unwrap();
    assert!(!d.is_confident());
    assert_eq!(d.basis(), Basis::Fallback);
    assert_eq!(d.model_name(), "big");
    assert_eq!(d.expected_errors(), r.global_error_rates());
    assert_eq!(d.cluster(), 0, "the nearest cluster is still reported");
    // …and `small` at p = 1, or whatever is configured.
    let o = RouteOptions::builder()
        .min_confidence(0.6)
        .cost_preference(1.0)
        .check()
        .unwrap();
    assert_eq!(
        r.route_embedding(&between, &o).unwrap().model_name(),
        "small"
    );
    let o = RouteOptions::builder()
        .min_confidence(0.6)
        .fallback_model("small")
        .check()
        .unwrap();
    let d = r.route_embedding(&between, &o).unwrap();
    assert_eq!((d.model_name(), d.is_confident()), ("small", false));
    // A fallback restricted to the allowed set.
    let o = RouteOptions::builder()
        .min_confidence(0.6)
        .allowed_models(["small"])
        .check()
        .unwrap();
    assert_eq!(
        r.route_embedding(&between, &o).unwrap().model_name(),
        "small"
    );
    // A confident query ignores the fallback.
    let o = RouteOptions::builder()
        .min_confidence(0.6)
        .fallback_model("small")
        .check()
        .unwrap();
    let d = r.route_embedding(&[1.0, 0.0, 0.0, 0.0], &o).unwrap();
    assert_eq!(
        (d.model_name(), d.is_confident(), d.basis()),
        ("big", true, Basis::Hard)
    );
    // A higher temperature flattens the softmax: less confident.
    let hot = RouteOptions::builder().temperature(1.0).check().unwrap();
    let d = r.route_embedding(&[1.0, 0.3, 0.0, 0.0], &hot).unwrap();
    let s0 = 1.0 / (1.09f32).sqrt();
    let s1 = 0.3 / (1.09f32).sqrt();
    let want = 1.0 / (1.0 + (s1 - s0).exp());
    assert!(
        (d.confidence() - want).abs() < 1e-5,
        "{} vs {want}",
        d.confidence()
    );
}

#[test]
fn min_similarity_falls_back() {
    let r = toy();
    let far = [0.2, 0.0, 1.0, 0.0];
    let o = RouteOptions::builder().min_similarity(0.5).check().unwrap();
    let d = r.route_embedding(&far, &o).unwrap();
    assert_eq!(d.cluster(), 0);
    assert!(d.similarity() < 0.5);
    assert!(!d.is_confident());
    let d = r.route_embedding(&[1.0, 0.0, 0.2, 0.0], &o).unwrap();
    assert!(d.is_confident());
}

#[test]
fn one_cluster_is_always_confident() {
    let p = profile(
        &[vec![1.0, 0.0, 0.0]],
        &[3],
        &[("a", 1.0), ("b", 2.0)],
        &[vec![0.3], vec![0.1]],
        "m",
        false,
    );
    let r = Router::from_profile(p).unwrap();
    let o = RouteOptions::builder()
        .min_confidence(1.0)
        .soft(5)
        .check()
        .unwrap();
    let d = r.route_embedding(&[-1.0, 0.5, 0.0], &o).unwrap();
    assert_eq!((d.confidence(), d.cluster(), d.model_name()), (1.0, 0, "b"));
    // `top_k` is clamped to the cluster count, and one cluster is hard.
    assert_eq!(d.basis(), Basis::Hard);
}

// ---------------------------------------------------------------- embedders

fn fake(model: &str, mock: bool, dim: usize) -> FakeEmbedder {
    let mut vectors = BTreeMap::new();
    vectors.insert("math".to_string(), vec![1.0, 0.1, 0.0, 0.0]);
    vectors.insert("chat".to_string(), vec![0.0, 1.0, 0.1, 0.0]);
    FakeEmbedder {
        model: model.into(),
        mock,
        dim,
        vectors,
    }
}

#[test]
fn route_text_requires_the_profiles_embedder() {
    let r = toy();
    let o = RouteOptions::default();
    let ok = fake("toy-4", false, 4);
    let d = r.route_text("math", &ok, &o).unwrap();
    assert_eq!((d.cluster(), d.model_name()), (0, "big"));
    assert_eq!(r.route_text("chat", &ok, &o).unwrap().cluster(), 1);
    assert!(r.check_embedder(&ok).is_ok());
    // Another model id.
    match r.route_text("math", &fake("all-MiniLM-L6-v2", false, 4), &o) {
        Err(RouteError::EmbedderMismatch {
            profile_model,
            embedder_model,
            profile_is_mock: false,
            embedder_is_mock: false,
        }) => assert_eq!(
            (profile_model.as_str(), embedder_model.as_str()),
            ("toy-4", "all-MiniLM-L6-v2")
        ),
        other => panic!("{other:?}"),
    }
    // Same id, but the mock backend.
    assert!(matches!(
        r.route_text("math", &fake("toy-4", true, 4), &o),
        Err(RouteError::EmbedderMismatch {
            embedder_is_mock: true,
            ..
        })
    ));
    // Same id, other dimension.
    assert!(matches!(
        r.route_text("math", &fake("toy-4", false, 8), &o),
        Err(RouteError::Dimension {
            expected: 4,
            got: 8
        })
    ));
    // Embedder errors come through typed.
    assert!(matches!(
        r.route_text("  ", &ok, &o),
        Err(RouteError::Embed(EmbedError::EmptyText))
    ));
}

#[test]
fn a_mock_cactus_embedder_never_routes_a_real_profile() {
    let Ok(mock) = CactusEmbedder::mock(4) else {
        return; // A build linking the real Cactus has no mock.
    };
    assert!(mock.is_mock());
    let r = toy(); // is_mock: false
    assert!(matches!(
        r.route_text("what is 2 + 2?", &mock, &RouteOptions::default()),
        Err(RouteError::EmbedderMismatch { .. })
    ));
    // A profile recorded with that mock model routes its texts.
    let p = profile(
        &[vec![1.0, 0.0, 0.0, 0.0], vec![0.0, 1.0, 0.0, 0.0]],
        &[1, 1],
        &[("a", 1.0)],
        &[vec![0.2, 0.3]],
        mock.model_id(),
        true,
    );
    let r = Router::from_profile(p).unwrap();
    let d = r
        .route_text("what is 2 + 2?", &mock, &RouteOptions::default())
        .unwrap();
    assert_eq!(d.model_name(), "a");
}

// ---------------------------------------------------------------- threads

#[test]
fn router_is_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Router>();
    check::<RouteOptions>();
    check::<RouteError>();
    fn check_decision<'a, T: Send + Sync + 'a>() {}
    check_decision::<RouteDecision<'_>>();
}

#[test]
fn concurrent_routing_gives_single_thread_answers() {
    let r = Router::from_profile(random_profile(32, 96, 6, 41)).unwrap();
    let mut rng = Rng(42);
    let queries: Vec<Vec<f32>> = (0..1500)
        .map(|_| (0..96).map(|_| rng.normal()).collect())
        .collect();
    let options = [
        RouteOptions::default(),
        RouteOptions::builder()
            .cost_preference(0.4)
            .soft(4)
            .check()
            .unwrap(),
        RouteOptions::builder()
            .cost_preference(0.7)
            .allowed_models(["model-1", "model-3", "model-5"])
            .min_confidence(0.4)
            .check()
            .unwrap(),
    ];
    type Answer = (usize, usize, u32, u32, bool, Vec<u64>);
    let answer = |q: &[f32], o: &RouteOptions| -> Answer {
        let d = r.route_embedding(q, o).unwrap();
        (
            d.model_index(),
            d.cluster(),
            d.similarity().to_bits(),
            d.confidence().to_bits(),
            d.is_confident(),
            d.expected_errors().iter().map(|e| e.to_bits()).collect(),
        )
    };
    let single: Vec<Vec<Answer>> = options
        .iter()
        .map(|o| queries.iter().map(|q| answer(q, o)).collect())
        .collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let (queries, options, single, answer) = (&queries, &options, &single, &answer);
                s.spawn(move || {
                    for round in 0..3 {
                        for (oi, o) in options.iter().enumerate() {
                            // Each thread walks the queries in its own order.
                            for k in 0..queries.len() {
                                let i = (k * (2 * t + 1) + round * 7) % queries.len();
                                assert_eq!(
                                    answer(&queries[i], o),
                                    single[oi][i],
                                    "thread {t}, query {i}"
                                );
                            }
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

#[test]
fn the_profile_recommended_assignment_is_the_starting_point() {
    // No `metadata.routing`: hard assignment at the default temperature.
    let hard = toy();
    assert_eq!(hard.options().check().unwrap(), RouteOptions::default());

    // Soft over 2 clusters at T = 0.2, recommended by the profile.
    let json = toy_with(|v| {
        v["metadata"]["routing"] =
            serde_json::json!({"assignment": "soft", "top_k": 2, "temperature": 0.2});
    });
    let r = Router::from_json(&json).unwrap();
    let o = r.options().cost_preference(0.4).check().unwrap();
    assert_eq!(o.assignment(), Assignment::Soft { top_k: 2 });
    assert_eq!(o.temperature(), 0.2);
    let explicit = RouteOptions::builder()
        .cost_preference(0.4)
        .soft(2)
        .temperature(0.2)
        .check()
        .unwrap();
    assert_eq!(o, explicit);
    // Halfway between the clusters both count: the decision is soft.
    let q = [0.7, 0.7, 0.0, 0.0];
    let d = r.route_embedding(&q, &o).unwrap();
    assert_eq!(d.basis(), Basis::Soft { clusters: 2 });
    let e = r.route_embedding(&q, &explicit).unwrap();
    assert_eq!(d.model_index(), e.model_index());
    assert_eq!(d.expected_errors(), e.expected_errors());
    // Anything set on the preset wins over the profile.
    let forced = r.options().hard().check().unwrap();
    assert_eq!(forced.assignment(), Assignment::Hard);
    // A recommendation survives a rewrite of the profile.
    let back = Router::from_json(&r.profile().to_json()).unwrap();
    assert_eq!(
        back.options().check().unwrap(),
        r.options().check().unwrap()
    );
}
