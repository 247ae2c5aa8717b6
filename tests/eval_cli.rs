//! `aurora eval` end to end: the JSON contract, the plot, the kNN baseline,
//! and the errors for mismatched inputs.

mod common;

use common::aurora;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::fixture;
use serde_json::Value;

fn profile() -> PathBuf {
    common::root().join("profiles/mmlu_pro-minilm.json")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `aurora eval` on the fixture with the shipped profile, plus `extra` flags.
fn eval(results: &Path, extra: &[&str]) -> Output {
    let (p, q, e) = (
        profile(),
        fixture("prompts.jsonl"),
        fixture("embeddings_minilm.f16.npy"),
    );
    let mut args = vec![
        "eval",
        "--profile",
        s(&p),
        "--prompts",
        s(&q),
        "--results",
        s(results),
        "--embeddings",
        s(&e),
    ];
    args.extend_from_slice(extra);
    aurora(&args)
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "aurora eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

/// Rewrites the fixture's results CSV column by column.
fn rewrite_results(dir: &Path, edit: impl Fn(&mut Vec<Vec<String>>)) -> PathBuf {
    let text = std::fs::read_to_string(fixture("results.csv")).unwrap();
    let mut rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    edit(&mut rows);
    let out: String = rows.iter().map(|r| r.join(",") + "\n").collect();
    common::write(dir, "results.csv", out)
}

#[test]
fn json_output_has_the_contract_fields() {
    let out = eval(
        &fixture("results.csv"),
        &["--json", "--embedding-model", "all-MiniLM-L6-v2"],
    );
    let v = json_of(&out);
    let points = v["points"].as_array().unwrap();
    assert!(points.len() > 5);
    for p in points {
        for f in ["lambda", "mean_cost", "accuracy"] {
            assert!(p.get(f).is_some(), "point without `{f}`: {p}");
        }
    }
    assert_eq!(num(&points[0]["lambda"]), 0.0);
    // λ = ∞ is written null (cost_preference 1).
    let last = points.last().unwrap();
    assert!(last["lambda"].is_null());
    assert_eq!(num(&last["cost_preference"]), 1.0);
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 9);
    for m in models {
        assert!(m["name"].is_string());
        num(&m["cost"]);
        num(&m["accuracy"]);
    }
    let hull_qab = num(&v["hull_qab"]);
    let oracle_acc = num(&v["oracle"]["accuracy"]);
    num(&v["oracle"]["mean_cost"]);
    let qab = &v["qab"];
    let budgets: Vec<f64> = qab["budgets"].as_array().unwrap().iter().map(num).collect();
    assert_eq!(
        budgets,
        [0.05, 0.10, 0.15, 0.20, 0.30, 0.40, 0.50, 0.75, 1.00]
    );
    let values: Vec<f64> = qab["values"].as_array().unwrap().iter().map(num).collect();
    assert_eq!(values.len(), 9);
    let mean = num(&qab["mean"]);
    assert!((mean - values.iter().sum::<f64>() / 9.0).abs() < 1e-12);
    assert!(mean > 0.0 && hull_qab > 0.0 && oracle_acc <= 1.0);
    for p in points {
        assert!(num(&p["accuracy"]) <= oracle_acc + 1e-12);
    }
    assert_eq!(v["n_prompts"], 300);
    assert!(v.get("knn").is_none());
    assert!(v["hull_qab_values"].as_array().unwrap().len() == 9);
    assert!(num(&v["oracle"]["qab"]["mean"]) >= mean);
}

#[test]
fn human_output_plot_and_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("curve.svg");
    let (tp, tr, te) = (
        common::root().join("examples/mmlu_pro/prompts.jsonl"),
        common::root().join("examples/mmlu_pro/results.csv"),
        common::root().join("examples/mmlu_pro/embeddings_minilm.f16.npy"),
    );
    let knn = [
        "--baseline",
        "knn,uniroute",
        "--baseline-ks",
        "4,8",
        "--train-prompts",
        s(&tp),
        "--train-results",
        s(&tr),
        "--train-embeddings",
        s(&te),
        "--knn-k",
        "15",
    ];
    let mut args = vec!["--plot", s(&svg)];
    args.extend_from_slice(&knn);
    let out = eval(&fixture("results.csv"), &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "QAB",
        "router",
        "hull of single models",
        "oracle",
        "kNN (k = 15)",
        "UniRoute (K = ",
        "gemini-1.5-pro-002",
    ] {
        assert!(text.contains(needle), "no `{needle}` in:\n{text}");
    }
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.starts_with("<svg") && plot.trim_end().ends_with("</svg>"));
    assert!(plot.contains("polyline") && plot.contains("accuracy"));
    // Every curve of the table is in the plot's legend, UniRoute included.
    assert!(plot.contains("kNN, k = 15 (QAB"), "no kNN in the plot");
    assert!(plot.contains("UniRoute, K = "), "no UniRoute in the plot");
    // The UniRoute cross-validation says that it is running.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("UniRoute baseline: cross-validating"), "{err}");

    let mut args = vec!["--json"];
    args.extend_from_slice(&knn);
    let v = json_of(&eval(&fixture("results.csv"), &args));
    let k = &v["knn"];
    assert_eq!(k["k"], 15);
    assert!(!k["points"].as_array().unwrap().is_empty());
    assert!(num(&k["qab"]["mean"]) > 0.0);
    let u = &v["uniroute"];
    assert!(u["k"] == 4 || u["k"] == 8, "{u}");
    assert_eq!(u["n_train"], 1501);
    let points = u["points"].as_array().unwrap();
    assert!(points
        .windows(2)
        .all(|w| num(&w[1]["mean_cost"]) <= num(&w[0]["mean_cost"])));
    let uq = num(&u["qab"]["mean"]);
    assert!(uq > 0.3 && uq <= num(&v["oracle"]["qab"]["mean"]), "{uq}");

    // The kNN baseline needs its training data.
    let out = eval(&fixture("results.csv"), &["--baseline", "knn"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--train-prompts"));
}

#[test]
fn unknown_result_columns_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let extra = rewrite_results(dir.path(), |rows| {
        for (i, r) in rows.iter_mut().enumerate() {
            r.insert(
                1,
                if i == 0 {
                    "gpt-unknown".into()
                } else {
                    "1".into()
                },
            );
        }
    });
    let a = json_of(&eval(&fixture("results.csv"), &["--json"]));
    let b = json_of(&eval(&extra, &["--json"]));
    assert_eq!(a, b);
}

#[test]
fn a_profile_model_missing_from_the_results_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = rewrite_results(dir.path(), |rows| {
        let j = rows[0].iter().position(|c| c == "jamba-1.5-large").unwrap();
        for r in rows.iter_mut() {
            r.remove(j);
        }
    });
    let out = eval(&missing, &["--json"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`jamba-1.5-large`") && err.contains("no column"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn mismatched_embeddings_are_errors() {
    let out = eval(
        &fixture("results.csv"),
        &["--json", "--embedding-model", "bge-small-en-v1.5"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bge-small-en-v1.5") && err.contains("all-MiniLM-L6-v2"),
        "{err}"
    );
    // The mock embedder is not the profile's embedding model.
    if cactus_sys::is_mock() {
        let (p, q, r) = (profile(), fixture("prompts.jsonl"), fixture("results.csv"));
        let out = aurora(&[
            "eval",
            "--profile",
            s(&p),
            "--prompts",
            s(&q),
            "--results",
            s(&r),
            "--mock",
        ]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("does not match the profile"), "{err}");
    }
    // Embeddings of the wrong dimension.
    let dir = tempfile::tempdir().unwrap();
    let npy = common::write(
        dir.path(),
        "e.npy",
        common::npy_bytes(
            "<f4",
            &[300, 8],
            false,
            &common::f32_payload(&vec![0.5f32; 2400]),
        ),
    );
    let (p, q, r) = (profile(), fixture("prompts.jsonl"), fixture("results.csv"));
    let out = aurora(&[
        "eval",
        "--profile",
        s(&p),
        "--prompts",
        s(&q),
        "--results",
        s(&r),
        "--embeddings",
        s(&npy),
        "--embedding-model",
        "all-MiniLM-L6-v2",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("dimension 8") && err.contains("384"), "{err}");
}

/// A prompt line's id as written in a results CSV.
fn id_of(line: &str) -> String {
    match &serde_json::from_str::<Value>(line).unwrap()["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The shipped profile was built from `examples/mmlu_pro`; the shared
/// MMLU-Pro data minus those prompts is genuinely held out.
#[test]
fn shipped_profile_on_shared_held_out_data() {
    let Some(dir) = common::shared_data("mmlu_pro") else {
        return;
    };
    let train_ids: std::collections::HashSet<String> =
        std::fs::read_to_string(common::root().join("examples/mmlu_pro/prompts.jsonl"))
            .unwrap()
            .lines()
            .map(id_of)
            .collect();
    // Write the held-out prompts, results and embeddings.
    let tmp = tempfile::tempdir().unwrap();
    let questions = std::fs::read_to_string(dir.join("questions.jsonl")).unwrap();
    let keep: Vec<(usize, &str)> = questions
        .lines()
        .enumerate()
        .filter(|(_, l)| !train_ids.contains(&id_of(l)))
        .collect();
    assert!(keep.len() > 6000, "{} held-out prompts", keep.len());
    let prompts: String = keep.iter().map(|(_, l)| format!("{l}\n")).collect();
    let prompts = common::write(tmp.path(), "prompts.jsonl", prompts);
    let csv = std::fs::read_to_string(dir.join("correctness.csv")).unwrap();
    let results: String = csv
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || !train_ids.contains(l.split(',').next().unwrap().trim()))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let results = common::write(tmp.path(), "results.csv", results);
    let e = aurora_router::embed::PrecomputedEmbeddings::load(
        dir.join("embeddings_minilm.f16.npy"),
        "all-MiniLM-L6-v2",
    )
    .unwrap();
    let mut payload = Vec::new();
    for &(i, _) in &keep {
        payload.extend(common::f32_payload(e.row(i).unwrap()));
    }
    let npy = common::write(
        tmp.path(),
        "e.npy",
        common::npy_bytes("<f4", &[keep.len(), e.dim()], false, &payload),
    );
    let out = aurora(&[
        "eval",
        "--profile",
        s(&profile()),
        "--prompts",
        s(&prompts),
        "--results",
        s(&results),
        "--embeddings",
        s(&npy),
        "--embedding-model",
        "all-MiniLM-L6-v2",
        "--json",
    ]);
    let v = json_of(&out);
    assert_eq!(v["n_prompts"].as_u64().unwrap() as usize, keep.len());
    let (router, hull, oracle) = (
        num(&v["qab"]["mean"]),
        num(&v["hull_qab"]),
        num(&v["oracle"]["qab"]["mean"]),
    );
    assert!(router > 0.4 && hull > 0.4 && oracle > router && oracle > hull);
}
