//! Semantic routes: building from the tiny CLINC150-derived fixture
//! (`tests/fixtures/routes/`, 6 intents + out-of-scope lines, MiniLM
//! embeddings), matching, sessions, the CLI contract, and one test per bad input.

mod common;

use common::aurora;

use std::path::PathBuf;
use std::sync::Arc;

use aurora_router::embed::{EmbedError, Embedder, PrecomputedEmbeddings};
use aurora_router::profile::{ProfileError, ProfileFile};
use aurora_router::routes::{
    evaluate_prompts, read_examples, read_json_map, Example, NoneRule, RouteSession, RouteSet,
    RoutesBuilder, RoutesError, RoutesParams,
};
use ndarray::Array2;
use serde_json::Value;

const MODEL: &str = "all-MiniLM-L6-v2";

fn fx(name: &str) -> PathBuf {
    common::root().join("tests/fixtures/routes").join(name)
}

fn load(split: &str) -> (Vec<Example>, Array2<f32>) {
    let lines = read_examples(fx(&format!("{split}.jsonl"))).unwrap();
    let e = PrecomputedEmbeddings::load(fx(&format!("{split}.npy")), MODEL).unwrap();
    (lines, e.view().to_owned())
}

fn builder() -> RoutesBuilder {
    RoutesBuilder::new(RoutesParams::new().check().unwrap(), MODEL, false)
}

fn built() -> RouteSet {
    let (e, x) = load("train");
    let (v, vx) = load("val");
    builder()
        .build(&e, x.view(), Some((&v, vx.view())))
        .unwrap()
}

#[test]
fn builds_matches_and_round_trips() {
    let routes = built();
    assert_eq!(routes.len(), 6);
    assert_eq!(routes.build_info().threshold_source, "validation");
    assert_eq!(routes.none_rule(), NoneRule::Energy);
    assert!(routes.threshold().is_finite() && routes.threshold() > f32::MIN);
    let (t, tx) = load("test");
    let r = evaluate_prompts(&routes, &t, tx.view(), "test").unwrap();
    assert!(r.closed_set_accuracy.unwrap() >= 0.9, "{r:?}");
    assert!(r.oos_recall.unwrap() >= 0.5, "{r:?}");
    assert!(r.auroc.unwrap() >= 0.8, "{r:?}");
    // Round trip through the container, and beside another section.
    let json = routes.to_json().unwrap();
    let again = RouteSet::from_json(&json).unwrap();
    assert_eq!(again, routes);
    let mut file = ProfileFile::from_json(&json).unwrap();
    assert!(file.raw_section("routes").is_some());
    file.remove_section("routes");
    assert!(matches!(
        RouteSet::from_json(&file.to_json()),
        Err(RoutesError::Profile(ProfileError::MissingSection(_)))
    ));
    // A match: best route, runner-up, margin.
    let m = routes
        .match_embedding(tx.row(0).as_slice().unwrap())
        .unwrap();
    assert_eq!(m.route.as_deref(), t[0].route.as_deref());
    let ru = m.runner_up.unwrap();
    assert!((m.margin - (m.score - ru.score)).abs() < 1e-6);
}

#[test]
fn threshold_by_cross_validation_without_val() {
    let (e, x) = load("train");
    let routes = builder().build(&e, x.view(), None).unwrap();
    assert_eq!(routes.build_info().threshold_source, "cross-validation");
    assert!(routes.threshold() > f32::MIN);
    // Without any out-of-scope line, never "none".
    let ins: Vec<usize> = (0..e.len()).filter(|&i| e[i].route.is_some()).collect();
    let e2: Vec<Example> = ins.iter().map(|&i| e[i].clone()).collect();
    let x2 = x.select(ndarray::Axis(0), &ins);
    let r2 = builder().build(&e2, x2.view(), None).unwrap();
    assert_eq!(r2.threshold(), f32::MIN);
    for row in x.rows() {
        assert!(r2
            .match_embedding(row.as_slice().unwrap())
            .unwrap()
            .route
            .is_some());
    }
    assert_eq!(r2.build_info().threshold_source, "none");
}

#[test]
fn session_holds_and_switches() {
    let routes = Arc::new(built());
    let (t, tx) = load("test");
    let row = |r: &str| {
        let i = t
            .iter()
            .position(|l| l.route.as_deref() == Some(r))
            .unwrap();
        tx.row(i).to_vec()
    };
    let mut s = RouteSession::new(routes.clone());
    assert_eq!(
        s.push_embedding(&row("weather")).unwrap().route.as_deref(),
        Some("weather")
    );
    // A blend leaning to weather stays on weather.
    let blend: Vec<f32> = row("weather")
        .iter()
        .zip(row("timer"))
        .map(|(a, b)| a + 0.6 * b)
        .collect();
    assert_eq!(
        s.push_embedding(&blend).unwrap().route.as_deref(),
        Some("weather")
    );
    // A confident turn of another route switches at once.
    assert_eq!(
        s.push_embedding(&row("timer")).unwrap().route.as_deref(),
        Some("timer")
    );
    s.reset();
    assert_eq!(
        s.push_embedding(&row("translate"))
            .unwrap()
            .route
            .as_deref(),
        Some("translate")
    );
}

// ---- every bad input gets a typed error ----

#[test]
fn error_empty_route_set() {
    let (e, x) = load("train");
    let oos: Vec<usize> = (0..e.len()).filter(|&i| e[i].route.is_none()).collect();
    let e2: Vec<Example> = oos.iter().map(|&i| e[i].clone()).collect();
    let x2 = x.select(ndarray::Axis(0), &oos);
    assert!(matches!(
        builder().build(&e2, x2.view(), None),
        Err(RoutesError::Empty(_))
    ));
    // A section with no names.
    let mut v: Value =
        serde_json::from_slice(&common::unseal(&built().to_json().unwrap())).unwrap();
    v["routes"]["names"] = serde_json::json!([]);
    let err = RouteSet::from_json(v.to_string().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("routes.names"), "{err}");
}

#[test]
fn error_duplicate_route_names() {
    let mut v: Value =
        serde_json::from_slice(&common::unseal(&built().to_json().unwrap())).unwrap();
    let first = v["routes"]["names"][0].clone();
    v["routes"]["names"][1] = first;
    let err = RouteSet::from_json(v.to_string().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("duplicate route name"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let p = common::write(dir.path(), "d.json", r#"{"weather": "a", "weather": "b"}"#);
    assert!(matches!(
        read_json_map::<String>(&p),
        Err(RoutesError::DuplicateRoute { route, .. }) if route == "weather"
    ));
}

#[test]
fn error_route_without_examples() {
    let (e, x) = load("train");
    let b = builder().descriptions(vec![("no_such_route".into(), "nothing".into())]);
    assert!(matches!(
        b.build(&e, x.view(), None),
        Err(RoutesError::RouteWithoutExamples { route, .. }) if route == "no_such_route"
    ));
}

#[test]
fn error_dimension_mismatch() {
    let routes = built();
    assert!(matches!(
        routes.match_embedding(&[0.1; 10]),
        Err(RoutesError::Dimension {
            expected: 384,
            got: 10
        })
    ));
    let (e, x) = load("train");
    let (v, vx) = load("val");
    let short = vx.slice(ndarray::s![.., ..100]).to_owned();
    assert!(matches!(
        builder().build(&e, x.view(), Some((&v, short.view()))),
        Err(RoutesError::Dimension { .. })
    ));
}

#[test]
fn error_nan() {
    let routes = built();
    let mut q = vec![0.05f32; 384];
    q[7] = f32::NAN;
    assert!(matches!(
        routes.match_embedding(&q),
        Err(RoutesError::InvalidEmbedding { index: 7, .. })
    ));
    assert!(matches!(
        routes.match_embedding(&[0.0; 384]),
        Err(RoutesError::InvalidEmbedding { .. })
    ));
    let (e, mut x) = load("train");
    x[[3, 5]] = f32::NAN;
    assert!(matches!(
        builder().build(&e, x.view(), None),
        Err(RoutesError::InvalidEmbedding { .. })
    ));
}

#[test]
fn error_val_line_names_unknown_route() {
    let (e, x) = load("train");
    let (mut v, vx) = load("val");
    v[2].route = Some("book_hotel".into());
    assert!(matches!(
        builder().build(&e, x.view(), Some((&v, vx.view()))),
        Err(RoutesError::UnknownRoute { line: 3, .. })
    ));
}

/// A toy embedder: a fixed vector per text length (enough to test the checks).
struct Toy(&'static str, usize);
impl Embedder for Toy {
    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut v = vec![0.1; self.1];
        v[text.len() % self.1] = 1.0;
        Ok(v)
    }
    fn dim(&self) -> usize {
        self.1
    }
    fn model_id(&self) -> &str {
        self.0
    }
    fn is_mock(&self) -> bool {
        false
    }
}

#[test]
fn error_empty_text_and_embedder_mismatch() {
    let routes = built();
    let ok = Toy(MODEL, 384);
    assert!(matches!(
        routes.match_text("  ", &ok),
        Err(RoutesError::EmptyText)
    ));
    assert!(routes.match_text("what's the weather", &ok).is_ok());
    for other in [Toy("other-model", 384), Toy(MODEL, 128)] {
        assert!(matches!(
            routes.match_text("hello", &other),
            Err(RoutesError::EmbedderMismatch { .. })
        ));
        let mut s = RouteSession::new(Arc::new(routes.clone()));
        assert!(matches!(
            s.push_text("hello", &other),
            Err(RoutesError::EmbedderMismatch { .. })
        ));
    }
    let mut s = RouteSession::new(Arc::new(routes));
    assert!(matches!(s.push_text("", &ok), Err(RoutesError::EmptyText)));
}

#[test]
fn error_bad_params() {
    assert!(matches!(
        RoutesParams::new().folds(1).check(),
        Err(RoutesError::Param { name: "folds", .. })
    ));
    assert!(RoutesParams::new().temperature(0.0).check().is_err());
    assert!(RoutesParams::new().learning_rate(f32::NAN).check().is_err());
}

// ---- the CLI contract ----

#[test]
fn cli_build_match_eval() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    let (tr, trn, va, van, te, ten) = (
        s(&fx("train.jsonl")),
        s(&fx("train.npy")),
        s(&fx("val.jsonl")),
        s(&fx("val.npy")),
        s(&fx("test.jsonl")),
        s(&fx("test.npy")),
    );
    let o = aurora(&[
        "-q",
        "routes",
        "build",
        "--examples",
        &tr,
        "--val",
        &va,
        "--embeddings",
        &trn,
        "--embedding-model",
        MODEL,
        "--val-embeddings",
        &van,
        "--out",
        &s(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = aurora(&[
        "routes",
        "match",
        "--routes",
        &s(&out),
        "--embeddings",
        &ten,
        "--row",
        "0",
        "--embedding-model",
        MODEL,
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in ["route", "score", "runner_up", "margin"] {
        assert!(v.get(k).is_some(), "{v}");
    }
    assert_eq!(v["route"], "translate");
    assert!(v["runner_up"]["route"].is_string() && v["runner_up"]["score"].is_number());
    let o = aurora(&[
        "routes",
        "eval",
        "--routes",
        &s(&out),
        "--prompts",
        &te,
        "--embeddings",
        &ten,
        "--embedding-model",
        MODEL,
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in [
        "n",
        "closed_set_accuracy",
        "in_scope_accuracy",
        "oos_recall",
        "oos_precision",
        "auroc",
        "per_route",
    ] {
        assert!(v.get(k).is_some(), "{k} missing: {v}");
    }
    // Another model's vectors are refused.
    let o = aurora(&[
        "routes",
        "match",
        "--routes",
        &s(&out),
        "--embeddings",
        &ten,
        "--row",
        "0",
        "--embedding-model",
        "other",
        "--json",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("embedder mismatch"));
    // Dialogues: one user turn per route, a domain-less turn, and a system turn.
    let d = r#"{"dialogue_id":"a","services":[],"turns":[
      {"speaker":"user","text":"x","domains":["weather"]},
      {"speaker":"system","text":"y","domains":["weather"]},
      {"speaker":"user","text":"z","domains":[]}]}"#
        .replace('\n', "");
    let dp = common::write(dir.path(), "d.jsonl", format!("{d}\n"));
    let (t, tx) = load("test");
    let w = t
        .iter()
        .position(|l| l.route.as_deref() == Some("weather"))
        .unwrap();
    let rows: Vec<f32> = [w, w, 0].iter().flat_map(|&i| tx.row(i).to_vec()).collect();
    let npy = common::npy_bytes("<f4", &[3, 384], false, &common::f32_payload(&rows));
    let np = common::write(dir.path(), "d.npy", npy);
    let o = aurora(&[
        "routes",
        "eval",
        "--routes",
        &s(&out),
        "--dialogues",
        &s(&dp),
        "--embeddings",
        &s(&np),
        "--embedding-model",
        MODEL,
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["turns"], 1);
    assert_eq!(v["session_accuracy"], 1.0);
    // A V line naming an unknown route is refused with its line.
    let bad = common::write(
        dir.path(),
        "v.jsonl",
        "{\"text\":\"hi\",\"route\":\"nope\"}\n",
    );
    let npy1 = common::npy_bytes(
        "<f4",
        &[1, 384],
        false,
        &common::f32_payload(&tx.row(0).to_vec()),
    );
    let bn = common::write(dir.path(), "v.npy", npy1);
    let o = aurora(&[
        "routes",
        "build",
        "--examples",
        &tr,
        "--val",
        &s(&bad),
        "--embeddings",
        &trn,
        "--embedding-model",
        MODEL,
        "--val-embeddings",
        &s(&bn),
        "--out",
        &s(&out),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown route `nope`"));
}

#[test]
fn the_none_rule_bounds_the_threshold() {
    let mut routes = built();
    // An energy threshold is any finite number; a probability one is in [0, 1].
    routes.set_threshold(7.5).unwrap();
    assert!(matches!(
        routes.set_threshold(f32::NAN),
        Err(RoutesError::Param {
            name: "threshold",
            ..
        })
    ));
    let p = RoutesParams::new()
        .none_rule(NoneRule::MaxProbability)
        .check()
        .unwrap();
    let (e, x) = load("train");
    let (v, vx) = load("val");
    let mut prob = RoutesBuilder::new(p, MODEL, false)
        .build(&e, x.view(), Some((&v, vx.view())))
        .unwrap();
    assert_eq!(prob.none_rule(), NoneRule::MaxProbability);
    assert!((0.0..=1.0).contains(&prob.threshold()));
    assert!(prob.set_threshold(7.5).is_err());
    // The rule is part of the file: a probability threshold above 1 is refused on load.
    // (Unsealed: the edits below would otherwise fail the seal, not the rule.)
    let json = String::from_utf8(common::unseal(&prob.to_json().unwrap())).unwrap();
    let t = format!("\"threshold\":{}", prob.threshold());
    assert!(json.contains(&t), "{json}");
    let bad = json.replace(&t, "\"threshold\":7.5");
    assert!(RouteSet::from_json(bad.as_bytes()).is_err());
    let energy = bad.replace(
        "\"none_rule\":\"max_probability\"",
        "\"none_rule\":\"energy\"",
    );
    assert_eq!(
        RouteSet::from_json(energy.as_bytes()).unwrap().threshold(),
        7.5
    );
}

#[test]
fn cli_checks_the_out_path_before_any_work() {
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    let o = aurora(&[
        "routes",
        "build",
        "--examples",
        &s(&fx("train.jsonl")),
        "--embeddings",
        &s(&fx("train.npy")),
        "--embedding-model",
        MODEL,
        "--out",
        "/nonexistent/dir/routes.json",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--out /nonexistent/dir/routes.json") && err.contains("does not exist"),
        "{err}"
    );
}
