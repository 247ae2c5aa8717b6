//! `aurora_router::eval` as a library: a profile built on 70 % of the
//! shipped MMLU-Pro example, evaluated on the other 30 %; single-model
//! profiles; result alignment; embedding checks; speed of the λ sweep.

mod common;

use std::sync::OnceLock;

use aurora_router::build::ProfileBuilder;
use aurora_router::cluster::sweep::Sweep;
use aurora_router::data::{LabelledSet, Results};
use aurora_router::embed::PrecomputedEmbeddings;
use aurora_router::eval::{
    align_results, check_embedding_model, curve_from_expected_errors, default_lambdas, evaluate,
    evaluate_knn, exact_curve, qab, upper_hull, value_at_budget, EvalError, EvalOptions,
    EvalReport, KnnRouter, QAB_BUDGETS,
};
use aurora_router::profile::Profile;
use aurora_router::route::{RouteOptions, Router};
use ndarray::{Array2, Axis};

/// FNV-1a of the id: a stable split independent of file order.
fn in_train(id: &str) -> bool {
    let h = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    h % 10 < 7
}

fn load(dir: &str) -> (LabelledSet, PrecomputedEmbeddings) {
    let root = common::root().join(dir);
    let set = LabelledSet::load(
        &root.join("prompts.jsonl"),
        &root.join("results.csv"),
        &root.join("models.json"),
    )
    .unwrap();
    let e = PrecomputedEmbeddings::load(root.join("embeddings_minilm.f16.npy"), "all-MiniLM-L6-v2")
        .unwrap();
    e.check_rows(set.prompts.len()).unwrap();
    (set, e)
}

/// The rows `idx` of a labelled set and its embeddings.
fn subset(
    set: &LabelledSet,
    e: &PrecomputedEmbeddings,
    idx: &[usize],
) -> (LabelledSet, PrecomputedEmbeddings) {
    let s = LabelledSet {
        prompts: idx.iter().map(|&i| set.prompts[i].clone()).collect(),
        results: Results {
            models: set.results.models.clone(),
            correctness: idx
                .iter()
                .map(|&i| set.results.correctness[i].clone())
                .collect(),
        },
        models: set.models.clone(),
    };
    let x: Array2<f32> = e.view().select(Axis(0), idx);
    let mut pe = PrecomputedEmbeddings::from_rows(
        x.into_raw_vec_and_offset().0,
        e.dim(),
        e.model_id(),
        "subset",
    )
    .unwrap();
    pe.normalize_rows().unwrap();
    (s, pe)
}

fn build(set: &LabelledSet, e: &PrecomputedEmbeddings, k_min: usize, k_max: usize) -> Profile {
    let sweep = Sweep::params()
        .k_range(k_min, k_max)
        .hdbscan_grid(vec![], vec![])
        .seed(3)
        .check()
        .unwrap();
    ProfileBuilder::params(sweep)
        .check()
        .unwrap()
        .build(set, e.view(), e.model_id(), false, &|_, _, _| {})
        .unwrap()
        .profile
}

struct Split {
    router: Router,
    train: (LabelledSet, PrecomputedEmbeddings),
    test: (LabelledSet, PrecomputedEmbeddings),
}

/// Built once per test binary (profile building is slow unoptimised).
fn split() -> &'static Split {
    static SPLIT: OnceLock<Split> = OnceLock::new();
    SPLIT.get_or_init(make_split)
}

fn make_split() -> Split {
    let (set, e) = load("examples/mmlu_pro");
    let (tr, te): (Vec<usize>, Vec<usize>) =
        (0..set.prompts.len()).partition(|&i| in_train(&set.prompts[i].id));
    let train = subset(&set, &e, &tr);
    let test = subset(&set, &e, &te);
    let router = Router::from_profile(build(&train.0, &train.1, 8, 8)).unwrap();
    Split {
        router,
        train,
        test,
    }
}

fn check_report(r: &EvalReport) {
    // The oracle bounds every operating point.
    for p in &r.points {
        assert!(p.accuracy <= r.oracle.accuracy + 1e-12, "{p:?}");
    }
    // Cost never rises with λ.
    assert!(r
        .points
        .windows(2)
        .all(|w| w[1].lambda > w[0].lambda && w[1].mean_cost < w[0].mean_cost));
    // The hull beats every single model at every budget.
    for m in &r.models {
        let q = qab(&[m], r.max_cost, &QAB_BUDGETS);
        assert!(r.hull_qab >= m.qab_mean - 1e-12);
        assert!((q.mean - m.qab_mean).abs() < 1e-12);
        for (h, v) in r.hull_qab_values.iter().zip(&q.values) {
            assert!(h >= &(v - 1e-12), "{} at a budget: hull {h} < {v}", m.name);
        }
    }
    // The oracle's frontier beats everything at every budget.
    for (i, o) in r.oracle.qab.values.iter().enumerate() {
        assert!(*o + 1e-12 >= r.qab.values[i]);
        assert!(*o + 1e-12 >= r.hull_qab_values[i]);
    }
    assert_eq!(r.qab.values.len(), QAB_BUDGETS.len());
    assert!(r.qab.mean > 0.0 && r.qab.mean <= 1.0);
}

#[test]
fn held_out_evaluation_is_consistent_with_the_router() {
    let s = split();
    let (test, x) = &s.test;
    assert!(test.prompts.len() > 300 && test.prompts.len() < 600);
    let y = align_results(s.router.models(), &test.results).unwrap();
    let r = evaluate(&s.router, x.view(), &y, &EvalOptions::default()).unwrap();
    check_report(&r);
    assert_eq!(r.n_prompts, test.prompts.len());
    // Hard assignment: at most K · (M − 1) breakpoints, so the curve is exact.
    assert!(r.points.len() <= s.router.cluster_count() * 8 + 1);
    // Every curve point is what the router itself picks at that λ.
    for p in &r.points {
        let opts = RouteOptions::builder().lambda(p.lambda).check().unwrap();
        let (mut cost, mut acc) = (0.0, 0.0);
        for (i, row) in x.view().rows().into_iter().enumerate() {
            let d = s
                .router
                .route_embedding(row.as_slice().unwrap(), &opts)
                .unwrap();
            cost += d.model().cost;
            acc += y[i][d.model_index()];
        }
        let n = y.len() as f64;
        assert!((cost / n - p.mean_cost).abs() < 1e-9, "λ = {}", p.lambda);
        assert!((acc / n - p.accuracy).abs() < 1e-9, "λ = {}", p.lambda);
    }
    // An explicit grid gives one point per λ, agreeing with the exact curve.
    let grid = default_lambdas();
    let g = evaluate(
        &s.router,
        x.view(),
        &y,
        &EvalOptions::default().lambdas(grid.clone()),
    )
    .unwrap();
    assert_eq!(g.points.len(), grid.len());
    for p in &g.points {
        assert!(
            r.points
                .iter()
                .any(|e| (e.mean_cost - p.mean_cost).abs() < 1e-9
                    && (e.accuracy - p.accuracy).abs() < 1e-9),
            "grid point {p:?} is not on the exact curve"
        );
    }
    assert!(g.qab.mean <= r.qab.mean + 1e-12);
    // Soft assignment works too.
    let soft =
        EvalOptions::default().route_options(RouteOptions::builder().soft(3).check().unwrap());
    check_report(&evaluate(&s.router, x.view(), &y, &soft).unwrap());
}

#[test]
fn knn_baseline_on_the_held_out_split() {
    let s = split();
    let (train, tx) = &s.train;
    let (test, x) = &s.test;
    let ty = align_results(s.router.models(), &train.results).unwrap();
    let y = align_results(s.router.models(), &test.results).unwrap();
    let knn = KnnRouter::new(tx.view(), &ty, 20, 2.0).unwrap();
    let costs: Vec<f64> = s.router.models().iter().map(|m| m.cost).collect();
    let k = evaluate_knn(&knn, x.view(), &y, &costs, &EvalOptions::default()).unwrap();
    assert_eq!((k.k, k.n_train), (20, train.prompts.len()));
    assert!(k.qab.mean > 0.3 && k.qab.mean <= 1.0);
    let o = aurora_router::eval::oracle(&costs, &y).unwrap();
    assert!(k.points.iter().all(|p| p.accuracy <= o.accuracy + 1e-12));
    assert!(k
        .points
        .windows(2)
        .all(|w| w[1].mean_cost <= w[0].mean_cost));
    // k = all training prompts, no shrinkage: every estimate is the global rate.
    let all = KnnRouter::new(tx.view(), &ty, usize::MAX, 0.0).unwrap();
    let e = all
        .expected_errors(x.view().row(0).as_slice().unwrap())
        .unwrap();
    for (a, b) in e.iter().zip(all.global_error_rates()) {
        assert!((a - b).abs() < 1e-9);
    }
    assert!(matches!(
        KnnRouter::new(tx.view(), &ty, 0, 2.0),
        Err(EvalError::Invalid { .. })
    ));
    // Wrong query dimension.
    assert!(matches!(
        knn.expected_errors(&[1.0, 2.0]),
        Err(EvalError::Dimension { .. })
    ));
}

#[test]
fn a_single_model_profile_scores_like_that_model() {
    let (set, e) = load("tests/fixtures/mmlu_small");
    let j = set.results.model_index("gemini-1.5-flash-002").unwrap();
    let mut one = set.clone();
    one.models = vec![set.models[j].clone()];
    one.results = Results {
        models: vec![set.results.models[j].clone()],
        correctness: set.results.correctness.iter().map(|r| vec![r[j]]).collect(),
    };
    let mut x = e.clone();
    x.normalize_rows().unwrap();
    let router = Router::from_profile(build(&one, &x, 3, 5)).unwrap();
    assert_eq!(router.model_count(), 1);
    // The full results file: the other eight columns are ignored.
    let y = align_results(router.models(), &set.results).unwrap();
    let r = evaluate(&router, x.view(), &y, &EvalOptions::default()).unwrap();
    let m = &r.models[0];
    let acc = set.results.correctness.iter().map(|r| r[j]).sum::<f64>() / 300.0;
    assert!((m.accuracy - acc).abs() < 1e-12);
    assert_eq!(r.points.len(), 1);
    assert!((r.points[0].accuracy - acc).abs() < 1e-12);
    assert_eq!(r.points[0].mean_cost, m.cost);
    let own = qab(&[(m.cost, m.accuracy)], r.max_cost, &QAB_BUDGETS);
    for (a, b) in r.qab.values.iter().zip(&own.values) {
        assert!((a - b).abs() < 1e-12);
    }
    assert!((r.qab.mean - m.qab_mean).abs() < 1e-12);
    assert!((r.hull_qab - m.qab_mean).abs() < 1e-12);
    // Its only model is the most expensive: only the 100 % budget affords it.
    assert_eq!(r.qab.values[..8], [0.0; 8]);
    check_report(&r);
}

#[test]
fn extra_result_columns_are_ignored_and_missing_ones_are_errors() {
    let (set, e) = load("tests/fixtures/mmlu_small");
    let router = Router::from_path(common::root().join("profiles/mmlu_pro-minilm.json")).unwrap();
    let base = align_results(router.models(), &set.results).unwrap();
    // Reorder the columns and add an unknown model.
    let mut shuffled = Results {
        models: set.results.models.iter().rev().cloned().collect(),
        correctness: set
            .results
            .correctness
            .iter()
            .map(|r| r.iter().rev().copied().collect())
            .collect(),
    };
    shuffled.models.push("gpt-unknown".into());
    for r in shuffled.correctness.iter_mut() {
        r.push(1.0);
    }
    assert_eq!(align_results(router.models(), &shuffled).unwrap(), base);
    let a = evaluate(&router, e.view(), &base, &EvalOptions::default()).unwrap();
    let b = evaluate(
        &router,
        e.view(),
        &align_results(router.models(), &shuffled).unwrap(),
        &EvalOptions::default(),
    )
    .unwrap();
    assert_eq!(a, b);
    // Drop a profile model's column.
    let mut missing = set.results.clone();
    let j = missing.model_index("mathstral-7B").unwrap();
    missing.models.remove(j);
    for r in missing.correctness.iter_mut() {
        r.remove(j);
    }
    let err = align_results(router.models(), &missing).unwrap_err();
    assert!(matches!(&err, EvalError::MissingModel { model, .. } if model == "mathstral-7B"));
    assert!(err.to_string().contains("`mathstral-7B`"), "{err}");
    // Misaligned correctness is rejected too.
    assert!(matches!(
        evaluate(&router, e.view(), &base[..10], &EvalOptions::default()),
        Err(EvalError::RowCount { .. })
    ));
}

#[test]
fn embeddings_are_checked_against_the_profile() {
    let router = Router::from_path(common::root().join("profiles/mmlu_pro-minilm.json")).unwrap();
    check_embedding_model(&router, "all-MiniLM-L6-v2").unwrap();
    let err = check_embedding_model(&router, "bge-small-en").unwrap_err();
    assert!(matches!(
        &err,
        EvalError::EmbeddingModelMismatch { profile, given }
            if profile == "all-MiniLM-L6-v2" && given == "bge-small-en"
    ));
    let x = Array2::<f32>::ones((4, 128));
    let y = vec![vec![1.0; 9]; 4];
    assert!(matches!(
        evaluate(&router, x.view(), &y, &EvalOptions::default()),
        Err(EvalError::Dimension {
            expected: 384,
            got: 128
        })
    ));
    let mut x = Array2::<f32>::ones((4, 384));
    x.row_mut(2).fill(0.0);
    assert!(matches!(
        evaluate(&router, x.view(), &y, &EvalOptions::default()),
        Err(EvalError::Row { row: 2, .. })
    ));
}

#[test]
fn the_lambda_sweep_on_5000_distinct_prompts() {
    // Its speed is measured in benches/route.rs (`exact_curve`), not here.
    // 5000 prompts, 9 models, every row distinct (the soft-assignment case).
    let (p, m) = (5000, 9);
    let costs = [3.8, 7.2, 8.0, 35.0, 12.9, 70.6, 94.0, 6.0, 100.0];
    let mut s = 11u64;
    let mut next = || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let expected: Vec<Vec<f64>> = (0..p).map(|_| (0..m).map(|_| next()).collect()).collect();
    let correct: Vec<Vec<f64>> = (0..p)
        .map(|_| (0..m).map(|_| f64::from(next() < 0.5)).collect())
        .collect();
    let lambdas: Vec<f64> = (0..200)
        .map(|i| 10f64.powf(-3.0 + 6.0 * i as f64 / 199.0))
        .collect();
    let c = curve_from_expected_errors(&expected, &costs, &correct, &lambdas).unwrap();
    let exact = exact_curve(&expected, &costs, &correct).unwrap();
    let q = qab(&exact, 100.0, &QAB_BUDGETS);
    assert_eq!(c.len(), 200);
    assert!(exact.len() > 1000);
    assert!(q.mean > 0.0);
    // The grid's points lie on or under the exact curve's envelope.
    for p in &c {
        assert!(p.accuracy <= value_at_budget(&exact, p.mean_cost) + 1e-12);
    }
    assert!(!upper_hull(&exact).is_empty());
}
