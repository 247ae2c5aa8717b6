//! Reply templates: mining, the text-only section, re-embedding at load,
//! matching, calibration, evaluation, the CLI contracts and every bad input.

mod common;

use common::aurora;

use std::path::{Path, PathBuf};
use std::process::Output;

use aurora_router::embed::{CactusEmbedder, EmbedError, Embedder};
use aurora_router::templates::{
    calibrate, curve, evaluate, mine, read_dialogue_pairs, read_pairs, Calibration, MineParams,
    Pair, PairSet, Template, TemplateError, TemplateSet, TemplatesSection,
};
use ndarray::Array2;
use serde_json::Value;

fn fx(name: &str) -> PathBuf {
    common::root().join("tests/fixtures/templates").join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mock() -> Option<CactusEmbedder> {
    if !cactus_sys::is_mock() {
        eprintln!("skipped: the real Cactus is linked (these tests use the mock embedder)");
        return None;
    }
    Some(CactusEmbedder::mock(384).unwrap())
}

/// Every text of `set` embedded by `e`, normalised.
fn embed_set(set: &PairSet, e: &dyn Embedder) -> Array2<f32> {
    let mut data = Vec::new();
    for t in &set.row_texts {
        let mut v = e.embed(t).unwrap();
        aurora_router::embed::l2_normalize(&mut v);
        data.extend(v);
    }
    Array2::from_shape_vec((set.rows, e.dim()), data).unwrap()
}

fn mined(e: &dyn Embedder) -> TemplatesSection {
    let set = read_dialogue_pairs(fx("train.jsonl")).unwrap();
    let x = embed_set(&set, e);
    let p = MineParams::new()
        .min_support(2)
        .max_templates(10)
        .incoming_clusters(3)
        .response_clusters(3)
        .check()
        .unwrap();
    mine(&set, x.view(), e.model_id(), &p).unwrap()
}

/// A second embedder, of another model and dimension (a fake).
struct Other;
impl Embedder for Other {
    fn embed(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        if text.trim().is_empty() {
            return Err(EmbedError::EmptyText);
        }
        let mut v = vec![0.0f32; 8];
        for (i, b) in text.bytes().enumerate() {
            v[(b as usize + i) % 8] += 1.0;
        }
        Ok(v)
    }
    fn dim(&self) -> usize {
        8
    }
    fn model_id(&self) -> &str {
        "other-8"
    }
    fn is_mock(&self) -> bool {
        false
    }
}

#[test]
fn mines_text_only_templates_and_matches_after_re_embedding() {
    let Some(e) = mock() else { return };
    let sec = mined(&e);
    assert!(!sec.templates.is_empty() && sec.templates.len() <= 10);
    assert_eq!(sec.mining_model, "cactus-mock/ngram-d384");
    // Text and counts only: no vectors in the file.
    let json = String::from_utf8(sec.to_file_json().unwrap()).unwrap();
    assert!(!json.contains("float16") && !json.contains("base64"));
    for t in &sec.templates {
        assert!(t.support >= 2 && t.coherence > 0.0 && t.coherence <= 1.0);
        assert!(t.response_acts.is_some());
    }
    let set = TemplateSet::load_with_threshold(json.as_bytes(), &e, 0.3).unwrap();
    let m = set
        .match_text("Could you book a dinner table for me?", &e)
        .unwrap();
    let t = set.template(m.template);
    assert_eq!(
        t.response_acts.as_deref(),
        Some(&["REQUEST".to_string()][..])
    );
    assert!(m.matched && m.score > 0.3);
    // Same answer from the embedding.
    let v = e.embed("Could you book a dinner table for me?").unwrap();
    assert_eq!(set.match_embedding(&v).unwrap(), m);
}

#[test]
fn mining_and_serving_models_may_differ() {
    let Some(e) = mock() else { return };
    let sec = mined(&e);
    let bytes = sec.to_file_json().unwrap();
    // Mined with the mock, served with another model of another dimension.
    let set = TemplateSet::load_with_threshold(&bytes, &Other, 0.0).unwrap();
    assert_eq!(set.dim(), 8);
    assert_eq!(set.model(), "other-8");
    assert_eq!(set.mining_model(), "cactus-mock/ngram-d384");
    assert!(set.match_text("Thanks, bye!", &Other).is_ok());
}

#[test]
fn calibration_is_keyed_by_serving_model() {
    let Some(e) = mock() else { return };
    let mut sec = mined(&e);
    let held = read_dialogue_pairs(fx("test.jsonl")).unwrap();
    let ts = TemplateSet::from_section(sec.clone(), &e, Some(1.0)).unwrap();
    let x = embed_set(&held, &e);
    let q = x.select(ndarray::Axis(0), &held.incoming_rows);
    let acts: Vec<_> = held.pairs.iter().map(|p| p.acts.clone()).collect();
    let scored = evaluate(&ts, q.view(), &acts).unwrap();
    let c = calibrate(&scored, ts.model(), ts.dim(), 0.9).unwrap();
    assert!(c.precision >= 0.9, "{c:?}");
    sec.set_calibration(c.clone());
    let bytes = sec.to_file_json().unwrap();
    let set = TemplateSet::load(&bytes, &e).unwrap();
    assert!(set.is_calibrated());
    assert_eq!(set.threshold(), c.threshold);
    // No calibration for another serving model: a typed error naming both.
    match TemplateSet::load(&bytes, &Other) {
        Err(TemplateError::NoCalibration { model, available }) => {
            assert_eq!(model, "other-8");
            assert_eq!(available, "cactus-mock/ngram-d384");
        }
        other => panic!("{other:?}"),
    }
    // A calibration of another dimension for the serving model's id.
    let mut bad = sec.clone();
    bad.calibrations = vec![Calibration { dim: 8, ..c }];
    match TemplateSet::load(&bad.to_file_json().unwrap(), &e) {
        Err(TemplateError::CalibrationDimension {
            calibrated: 8,
            serving: 384,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn curve_runs_from_full_coverage_to_ten_percent() {
    let scored: Vec<(f32, bool)> = (0..100).map(|i| (i as f32 / 100.0, i >= 50)).collect();
    let c = curve(&scored);
    assert_eq!(c.len(), 19);
    assert_eq!(c[0].coverage, 1.0);
    assert!((c.last().unwrap().coverage - 0.1).abs() < 1e-6);
    assert_eq!(c[0].act_precision, 0.5);
    assert_eq!(c.last().unwrap().act_precision, 1.0);
    let cal = calibrate(&scored, "m", 2, 0.8).unwrap();
    // The lowest threshold at which precision ≥ 0.8: answer the top 62.
    assert!(cal.precision >= 0.8 && cal.coverage > 0.6, "{cal:?}");
    assert!(matches!(
        calibrate(&scored, "m", 2, 0.0),
        Err(TemplateError::InvalidParam {
            name: "target_precision",
            ..
        })
    ));
    assert!(matches!(
        calibrate(&[], "m", 2, 0.5),
        Err(TemplateError::EmptyPairs(_))
    ));
}

#[test]
fn bad_inputs_get_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Empty pairs.
    let p = common::write(d, "empty.jsonl", "\n");
    assert!(matches!(read_pairs(&p), Err(TemplateError::EmptyPairs(_))));
    assert!(matches!(
        PairSet::from_pairs("mem", vec![]),
        Err(TemplateError::EmptyPairs(_))
    ));
    // Pairs with empty text, naming the line.
    let p = common::write(
        d,
        "blank.jsonl",
        "{\"incoming\":\"hi\",\"response\":\"hello\"}\n{\"incoming\":\" \",\"response\":\"x\"}\n",
    );
    match read_pairs(&p) {
        Err(TemplateError::Line {
            line: 2, reason, ..
        }) => assert!(reason.contains("incoming")),
        other => panic!("{other:?}"),
    }
    // Not JSON / missing field.
    let p = common::write(d, "bad.jsonl", "{\"incoming\":\"hi\"}\n");
    assert!(matches!(
        read_pairs(&p),
        Err(TemplateError::Line { line: 1, .. })
    ));
    assert!(matches!(
        read_pairs(d.join("missing.jsonl")),
        Err(TemplateError::Io { .. })
    ));
    // Dialogues without any user → system pair.
    let p = common::write(
        d,
        "d.jsonl",
        "{\"turns\":[{\"speaker\":\"system\",\"text\":\"hello\"}]}\n",
    );
    assert!(matches!(
        read_dialogue_pairs(&p),
        Err(TemplateError::EmptyPairs(_))
    ));
    // A template file from a newer version.
    let mut sec = TemplatesSection::new("m");
    sec.templates.push(Template::new("a", "b", 1));
    let newer = String::from_utf8(common::unseal(&sec.to_file_json().unwrap()))
        .unwrap()
        .replace("\"format\":\"1.0\"", "\"format\":\"2.0\"");
    assert!(newer.contains("2.0"));
    match TemplatesSection::from_file_json(newer.as_bytes()) {
        Err(TemplateError::NewerVersion {
            found,
            supported: 1,
        }) => assert_eq!(found, "2.0"),
        other => panic!("{other:?}"),
    }
    // No templates section / invalid section fields.
    let none = br#"{"version":"3.0"}"#;
    assert!(matches!(
        TemplatesSection::from_file_json(none),
        Err(TemplateError::Profile(_))
    ));
    let mut empty_text = sec.clone();
    empty_text.templates[0].representative_response = " ".into();
    let err = empty_text.to_file_json().unwrap_err().to_string();
    assert!(
        err.contains("templates.templates[0].representative_response"),
        "{err}"
    );
    // Miner parameters.
    assert!(matches!(
        MineParams::new().min_support(0).check(),
        Err(TemplateError::InvalidParam {
            name: "min_support",
            ..
        })
    ));
    assert!(matches!(
        MineParams::new().coherence_weight(f32::NAN).check(),
        Err(TemplateError::InvalidParam {
            name: "coherence_weight",
            ..
        })
    ));
}

#[test]
fn bad_queries_and_embeddings_are_refused() {
    let Some(e) = mock() else { return };
    let sec = mined(&e);
    let bytes = sec.to_file_json().unwrap();
    let set = TemplateSet::load_with_threshold(&bytes, &e, 0.5).unwrap();
    assert!(matches!(
        set.match_embedding(&[1.0; 3]),
        Err(TemplateError::Dimension {
            expected: 384,
            got: 3
        })
    ));
    let mut v = vec![0.0f32; 384];
    assert!(matches!(
        set.match_embedding(&v),
        Err(TemplateError::InvalidEmbedding(_))
    ));
    v[0] = f32::NAN;
    assert!(matches!(
        set.match_embedding(&v),
        Err(TemplateError::InvalidEmbedding(_))
    ));
    assert!(matches!(
        set.match_text("hi", &Other),
        Err(TemplateError::ModelMismatch { .. })
    ));
    assert!(matches!(
        set.match_text("  ", &e),
        Err(TemplateError::Embed(_))
    ));
    assert!(matches!(
        TemplateSet::load_with_threshold(&bytes, &e, f32::NAN),
        Err(TemplateError::InvalidParam {
            name: "threshold",
            ..
        })
    ));
    // Mining with too few pairs for the support asked.
    let pairs: Vec<Pair> = (0..3)
        .map(|i| Pair {
            incoming: format!("message {i}"),
            response: format!("reply {i}"),
            acts: None,
            extra: Default::default(),
        })
        .collect();
    let ps = PairSet::from_pairs("mem", pairs).unwrap();
    let x = embed_set(&ps, &e);
    let p = MineParams::new().min_support(5).check().unwrap();
    assert!(matches!(
        mine(&ps, x.view(), "m", &p),
        Err(TemplateError::NoTemplates {
            min_support: 5,
            pairs: 3
        })
    ));
    // Embeddings of the wrong row count.
    let p = MineParams::new().min_support(1).check().unwrap();
    assert!(matches!(
        mine(&ps, x.slice(ndarray::s![..2, ..]), "m", &p),
        Err(TemplateError::InvalidParam {
            name: "embeddings",
            ..
        })
    ));
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn cli_mine_calibrate_match_eval() {
    if mock().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.json");
    let (train, test, pairs) = (fx("train.jsonl"), fx("test.jsonl"), fx("pairs.jsonl"));
    ok(&aurora(&[
        "-q",
        "templates",
        "mine",
        "--pairs",
        s(&pairs),
        "--mock",
        "--out",
        s(&t),
        "--min-support",
        "2",
        "--max-templates",
        "10",
        "--seed",
        "3",
    ]));
    // Matching needs a calibration (or an explicit threshold).
    let o = aurora(&[
        "templates",
        "match",
        "--templates",
        s(&t),
        "--mock",
        "--text",
        "hi",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no calibrated threshold"));
    let out = ok(&aurora(&[
        "-q",
        "templates",
        "calibrate",
        "--templates",
        s(&t),
        "--dialogues",
        s(&test),
        "--mock",
        "--target-precision",
        "0.8",
        "--json",
    ]));
    let c: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(c["embedding_model"], "cactus-mock/ngram-d384");
    let out = ok(&aurora(&[
        "templates",
        "match",
        "--templates",
        s(&t),
        "--mock",
        "--text",
        "Thanks so much, goodbye.",
        "--json",
    ]));
    let m: Value = serde_json::from_str(&out).unwrap();
    for k in ["template", "incoming", "response", "score", "matched"] {
        assert!(m.get(k).is_some(), "missing {k} in {m}");
    }
    // --embedding-json of the wrong model or dimension.
    let o = aurora(&[
        "templates",
        "match",
        "--templates",
        s(&t),
        "--mock",
        "--embedding-json",
        "[1,2]",
        "--embedding-model",
        "all-MiniLM-L6-v2",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("mismatch"));
    let o = aurora(&[
        "templates",
        "match",
        "--templates",
        s(&t),
        "--mock",
        "--embedding-json",
        "[1,2]",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("dimension 2"));
    let out = ok(&aurora(&[
        "-q",
        "templates",
        "eval",
        "--templates",
        s(&t),
        "--dialogues",
        s(&test),
        "--mock",
        "--baseline-dialogues",
        s(&train),
        "--json",
    ]));
    let r: Value = serde_json::from_str(&out).unwrap();
    for k in [
        "pairs",
        "templates",
        "threshold",
        "coverage",
        "act_precision",
        "curve",
    ] {
        assert!(r.get(k).is_some(), "missing {k} in {r}");
    }
    assert_eq!(r["pairs"], 15);
    assert_eq!(r["curve"][0]["coverage"], 1.0);
    assert!(r["curve"][0]["act_precision"].as_f64().unwrap() > 0.5);
    assert!(r["baseline"]["curve"].as_array().unwrap().len() == 19);
    // Bad input on the command line: empty pairs.
    let empty = common::write(dir.path(), "e.jsonl", "");
    let o = aurora(&[
        "templates",
        "mine",
        "--pairs",
        s(&empty),
        "--mock",
        "--out",
        s(&t),
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no pairs"));
}

#[test]
fn c_abi_loads_matches_and_reports_errors() {
    use aurora_router::ffi::*;
    use std::ffi::{CStr, CString};
    if mock().is_none() {
        return;
    }
    let e = aurora_embedder_open_mock(384);
    assert!(!e.is_null());
    let mut sec = TemplatesSection::new("m");
    sec.templates.push(Template::new(
        "wanna grab lunch?",
        "yeah, what time works?",
        3,
    ));
    sec.templates.push(Template::new(
        "where is the station?",
        "two blocks north.",
        2,
    ));
    let bytes = sec.to_file_json().unwrap();
    unsafe {
        // No calibration for the mock: an error, NULL.
        assert!(aurora_templates_load(bytes.as_ptr(), bytes.len(), e).is_null());
        assert_eq!(aurora_last_error_code(), AuroraStatus::Profile as i32);
        let t = aurora_templates_load_with_threshold(bytes.as_ptr(), bytes.len(), e, 0.2);
        assert!(!t.is_null());
        assert_eq!(aurora_templates_count(t), 2);
        let text = CString::new("want to grab lunch?").unwrap();
        let mut m = AuroraTemplateMatch {
            template: 9,
            score: 0.0,
            matched: 0,
        };
        assert_eq!(aurora_templates_match_text(t, e, text.as_ptr(), &mut m), 0);
        assert_eq!(m.template, 0);
        assert_eq!(m.matched, 1);
        let r = CStr::from_ptr(aurora_templates_response(t, 0))
            .to_str()
            .unwrap();
        assert_eq!(r, "yeah, what time works?");
        assert!(aurora_templates_response(t, 5).is_null());
        let q = [1.0f32; 3];
        assert_eq!(
            aurora_templates_match_embedding(t, q.as_ptr(), 3, &mut m),
            AuroraStatus::Dimension as i32
        );
        assert_eq!(
            aurora_templates_match_text(t, e, text.as_ptr(), std::ptr::null_mut()),
            AuroraStatus::NullPointer as i32
        );
        aurora_templates_free(t);
        aurora_embedder_free(e);
    }
}
