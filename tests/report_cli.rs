//! `aurora report` and the papercuts of issue #17: sidecars of `.npy`
//! embeddings, error wording that names the flag, output paths checked
//! before the work, `route --json` rows, `eval --cv`.

mod common;

use common::aurora;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::fixture;
use serde_json::Value;

const MODEL: &str = "all-MiniLM-L6-v2";

fn profile() -> PathBuf {
    common::root().join("profiles/mmlu_pro-minilm.json")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn err_of(o: &Output) -> String {
    assert!(!o.status.success(), "expected a failure");
    let e = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!e.contains("panicked"), "{e}");
    e
}

/// The fixture's embeddings copied without their sidecar.
fn bare_npy(dir: &Path) -> PathBuf {
    let p = dir.join("bare.npy");
    std::fs::copy(fixture("embeddings_minilm.f16.npy"), &p).unwrap();
    p
}

#[test]
fn report_draws_every_chart_without_script_or_network() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let (q, r, e) = (
        fixture("prompts.jsonl"),
        fixture("results.csv"),
        fixture("embeddings_minilm.f16.npy"),
    );
    let o = aurora(&[
        "report",
        "--profile",
        s(&profile()),
        "--prompts",
        s(&q),
        "--results",
        s(&r),
        "--embeddings",
        s(&e),
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(&out).unwrap();
    for chart in ["map", "heatmap", "curves", "selection"] {
        assert!(
            html.contains(&format!("data-chart=\"{chart}\"")),
            "no {chart}"
        );
    }
    assert!(!html.contains("<script"));
    assert!(!html.contains("http://") || !html.contains("src=\"http"));
    assert!(!html.contains("https://"));
    // 300 prompts on the map, 9 × 30 heatmap cells, the winner marked.
    assert!(html.matches("<circle class=\"mark\"").count() >= 300);
    assert!(html.contains("★"));
    assert!(html.contains("hull of single models (QAB"));
}

#[test]
fn out_paths_are_checked_before_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let (q, r, e) = (
        fixture("prompts.jsonl"),
        fixture("results.csv"),
        fixture("embeddings_minilm.f16.npy"),
    );
    let pr = profile();
    let base = [
        "eval",
        "--profile",
        s(&pr),
        "--prompts",
        s(&q),
        "--results",
        s(&r),
        "--embeddings",
        s(&e),
    ];
    let png = dir.path().join("c.png");
    let mut a = base.to_vec();
    a.extend(["--plot", s(&png)]);
    let err = err_of(&aurora(&a));
    assert!(err.contains("--plot") && err.contains(".svg"), "{err}");
    assert!(!png.exists());
    let mut a = base.to_vec();
    a.extend(["--plot", "/nonexistent/dir/c.svg"]);
    let err = err_of(&aurora(&a));
    assert!(
        err.contains("--plot") && err.contains("does not exist"),
        "{err}"
    );

    let err = err_of(&aurora(&[
        "profile",
        "build",
        "--prompts",
        s(&q),
        "--results",
        s(&r),
        "--models",
        s(&fixture("models.json")),
        "--embeddings",
        s(&e),
        "--out",
        "/nonexistent/dir/p.json",
    ]));
    assert!(
        err.contains("--out /nonexistent/dir/p.json") && err.contains("does not exist"),
        "{err}"
    );
    let err = err_of(&aurora(&[
        "report",
        "--profile",
        s(&profile()),
        "--out",
        s(&dir.path().join("r.pdf")),
    ]));
    assert!(err.contains("--out") && err.contains(".html"), "{err}");
}

#[test]
fn bare_npy_needs_its_model_and_sidecars_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let npy = bare_npy(dir.path());
    let p = profile();
    // route: no sidecar, no --embedding-model → refused, naming the profile's model.
    let err = err_of(&aurora(&[
        "route",
        "--profile",
        s(&p),
        "--embeddings",
        s(&npy),
        "--row",
        "0",
    ]));
    assert!(
        err.contains("--embedding-model") && err.contains(MODEL) && err.contains("sidecar"),
        "{err}"
    );
    // With the name it routes.
    let o = aurora(&[
        "route",
        "--profile",
        s(&p),
        "--embeddings",
        s(&npy),
        "--embedding-model",
        MODEL,
        "--row",
        "0",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A sidecar naming another model: refused by route, eval and add-model.
    std::fs::write(
        dir.path().join("bare.npy.json"),
        r#"{"model": "bge-small-en-v1.5", "dim": 384, "normalized": true, "count": 300}"#,
    )
    .unwrap();
    let err = err_of(&aurora(&[
        "route",
        "--profile",
        s(&p),
        "--embeddings",
        s(&npy),
        "--row",
        "0",
    ]));
    assert!(
        err.contains("bge-small-en-v1.5") && err.contains(MODEL),
        "{err}"
    );
    let (q, r) = (fixture("prompts.jsonl"), fixture("results.csv"));
    let err = err_of(&aurora(&[
        "eval",
        "--profile",
        s(&p),
        "--prompts",
        s(&q),
        "--results",
        s(&r),
        "--embeddings",
        s(&npy),
    ]));
    assert!(
        err.contains("bge-small-en-v1.5") && err.contains(MODEL),
        "{err}"
    );
    let err = err_of(&aurora(&[
        "profile",
        "add-model",
        "--profile",
        s(&p),
        "--prompts",
        s(&q),
        "--results",
        s(&r),
        "--embeddings",
        s(&npy),
        "--name",
        "Phi-3-mini-4k-instruct",
        "--replace",
        "--cost",
        "1",
        "--out",
        s(&dir.path().join("p.json")),
    ]));
    assert!(err.contains("bge-small-en-v1.5"), "{err}");
    // A sidecar of another shape: the files do not belong together.
    std::fs::write(
        dir.path().join("bare.npy.json"),
        r#"{"model": "all-MiniLM-L6-v2", "dim": 384, "normalized": true, "count": 7}"#,
    )
    .unwrap();
    let err = err_of(&aurora(&[
        "route",
        "--profile",
        s(&p),
        "--embeddings",
        s(&npy),
        "--row",
        "0",
    ]));
    assert!(err.contains("do not belong together"), "{err}");
}

#[test]
fn profile_build_takes_the_model_from_the_sidecar_never_precomputed() {
    let dir = tempfile::tempdir().unwrap();
    let (q, r, m) = (
        fixture("prompts.jsonl"),
        fixture("results.csv"),
        fixture("models.json"),
    );
    let build = |npy: &Path, extra: &[&str]| {
        let out = dir.path().join("p.json");
        let mut a = vec![
            "-q",
            "profile",
            "build",
            "--prompts",
            s(&q),
            "--results",
            s(&r),
            "--models",
            s(&m),
            "--embeddings",
            s(npy),
            "--k-min",
            "3",
            "--k-max",
            "4",
            "--no-hdbscan",
            "--out",
            s(&out),
        ];
        a.extend_from_slice(extra);
        (aurora(&a), out)
    };
    // The fixture has a sidecar: its model is recorded.
    let (o, out) = build(&fixture("embeddings_minilm.f16.npy"), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["router"]["metadata"]["embedding_model"], MODEL);
    // Item 10: the summary speaks of groups of similar prompts, not `kmeans {"k":3}`.
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("groups of similar prompts"), "{said}");
    assert!(!said.contains("{\"k\""), "{said}");
    // A bare .npy without --embedding-model is refused.
    let bare = bare_npy(dir.path());
    let (o, _) = build(&bare, &[]);
    let err = err_of(&o);
    assert!(err.contains("--embedding-model"), "{err}");
}

#[test]
fn messages_name_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let e = fixture("embeddings_minilm.f16.npy");
    // The path is said once.
    let err = err_of(&aurora(&[
        "route",
        "--profile",
        "nope.json",
        "--embeddings",
        s(&e),
        "--row",
        "0",
    ]));
    assert_eq!(err.matches("nope.json").count(), 1, "{err}");
    assert!(err.contains("--profile"), "{err}");
    // --soft out of range: the flag, in words.
    let err = err_of(&aurora(&[
        "route",
        "--profile",
        s(&profile()),
        "--embeddings",
        s(&e),
        "--row",
        "0",
        "--soft",
        "100",
    ]));
    assert!(
        err.contains("--soft") && err.contains("between 1 and 64") && !err.contains("..="),
        "{err}"
    );
    // add-model: an existing model, a zero cost.
    let (q, r) = (fixture("prompts.jsonl"), fixture("results.csv"));
    let v: Value =
        serde_json::from_slice(&std::fs::read(profile()).unwrap()).expect("profile JSON");
    let existing = v["router"]["models"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let add = |name: &str, cost: &str| {
        aurora(&[
            "profile",
            "add-model",
            "--profile",
            s(&profile()),
            "--prompts",
            s(&q),
            "--results",
            s(&r),
            "--embeddings",
            s(&e),
            "--name",
            name,
            "--cost",
            cost,
            "--out",
            s(&dir.path().join("p.json")),
        ])
    };
    let err = err_of(&add(&existing, "1"));
    assert!(
        err.contains("--replace") && !err.contains("invalid profile"),
        "{err}"
    );
    let err = err_of(&add("new-model", "0"));
    assert!(
        err.contains("--cost") && !err.contains("invalid profile"),
        "{err}"
    );
    // No line 0 in a file-level error.
    let models = common::write(dir.path(), "models.json", "[]");
    let err = err_of(&aurora(&[
        "profile",
        "build",
        "--prompts",
        s(&q),
        "--results",
        s(&r),
        "--models",
        s(&models),
        "--embeddings",
        s(&e),
        "--out",
        s(&dir.path().join("p.json")),
    ]));
    assert!(!err.contains(":0:") && err.contains("no models"), "{err}");
}

#[test]
fn route_json_rows_are_one_array_with_the_row() {
    let e = fixture("embeddings_minilm.f16.npy");
    let o = aurora(&[
        "route",
        "--profile",
        s(&profile()),
        "--embeddings",
        s(&e),
        "--row",
        "3",
        "--row",
        "7",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    let rows: Vec<u64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, vec![3, 7]);
}

#[test]
fn route_shows_prompts_keywords_and_a_summary() {
    let (q, r, e) = (
        fixture("prompts.jsonl"),
        fixture("results.csv"),
        fixture("embeddings_minilm.f16.npy"),
    );
    let o = aurora(&[
        "route",
        "--profile",
        s(&profile()),
        "--embeddings",
        s(&e),
        "--prompts",
        s(&q),
        "--results",
        s(&r),
        "--row",
        "0",
        "--row",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("cluster") && text.contains("router"),
        "{text}"
    );
    assert!(
        text.contains("accuracy") && text.contains("mean cost"),
        "{text}"
    );
}

#[test]
fn eval_help_does_not_say_recorded_in_the_profile() {
    let o = aurora(&["eval", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("--embedding-model"));
    assert!(!help.contains("recorded in the profile"), "{help}");
}

#[test]
fn embed_out_writes_a_sidecar() {
    if !cactus_sys::is_mock() {
        eprintln!("skipped: needs the mock Cactus backend");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e.npy");
    let o = aurora(&[
        "-q",
        "embed",
        "--prompts",
        s(&fixture("prompts.jsonl")),
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("e.npy.json")).unwrap()).unwrap();
    assert_eq!(v["count"], 300);
    assert!(v["model"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(v["dim"].as_u64().unwrap() > 0);
    assert!(v["normalized"].is_boolean());
}

#[test]
fn eval_cv_builds_on_the_other_folds() {
    let (q, r, m, e) = (
        fixture("prompts.jsonl"),
        fixture("results.csv"),
        fixture("models.json"),
        fixture("embeddings_minilm.f16.npy"),
    );
    let o = aurora(&[
        "-q",
        "eval",
        "--cv",
        "3",
        "--cv-ks",
        "3,5",
        "--prompts",
        s(&q),
        "--results",
        s(&r),
        "--models",
        s(&m),
        "--embeddings",
        s(&e),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let folds = v["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    let n: u64 = folds.iter().map(|f| f["n_prompts"].as_u64().unwrap()).sum();
    assert_eq!(n, 300, "every prompt is scored once");
    let q = v["mean"]["router_qab"].as_f64().unwrap();
    assert!(q > 0.2 && q < 1.0, "{q}");
}
