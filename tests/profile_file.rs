//! The open profile file end to end: format-2 files still route exactly as
//! before, `add-model` keeps sections it does not know byte for byte, and
//! its per-cluster counts are the clusters `aurora route --hard` gives.

mod common;

use std::collections::BTreeMap;

use aurora_router::embed::PrecomputedEmbeddings;
use aurora_router::profile::{Profile, ProfileFile};
use aurora_router::route::{RouteOptions, Router};
use common::{aurora_cmd, root};

const EXAMPLE: &str = "examples/mmlu_pro";
const EMBEDDING_MODEL: &str = "all-MiniLM-L6-v2";

fn example(file: &str) -> std::path::PathBuf {
    root().join(EXAMPLE).join(file)
}

fn shipped() -> std::path::PathBuf {
    root().join("profiles/mmlu_pro-minilm.json")
}

fn embeddings() -> PrecomputedEmbeddings {
    PrecomputedEmbeddings::load(example("embeddings_minilm.f16.npy"), EMBEDDING_MODEL).unwrap()
}

#[test]
fn the_format_2_profile_routes_every_example_prompt_like_the_shipped_one() {
    let old =
        Router::from_path(root().join("tests/fixtures/profile-v2/mmlu_pro-minilm.json")).unwrap();
    let new = Router::from_path(shipped()).unwrap();
    let e = embeddings();
    let mut opts = vec![RouteOptions::default()];
    for pref in [0.0, 0.3, 0.98] {
        opts.push(new.options().cost_preference(pref).check().unwrap());
        opts.push(old.options().cost_preference(pref).check().unwrap());
    }
    for r in 0..e.rows() {
        let q = e.row(r).unwrap();
        for o in &opts {
            let (a, b) = (
                old.route_embedding(q, o).unwrap(),
                new.route_embedding(q, o).unwrap(),
            );
            assert_eq!(
                (a.model_index(), a.cluster(), a.expected_errors()),
                (b.model_index(), b.cluster(), b.expected_errors()),
                "row {r}"
            );
        }
    }
}

#[test]
fn a_file_without_a_router_section_is_a_typed_error() {
    let f = br#"{"version":"3.0","x_future":{"a":[1, 2]}}"#;
    assert!(matches!(
        Router::from_json(f),
        Err(aurora_router::route::RouteError::Profile(
            aurora_router::profile::ProfileError::MissingSection(s)
        )) if s == "router"
    ));
}

/// The shipped profile as a 3.0 file with an unknown section beside the
/// router, and the example's results with a copy of a model's column.
fn future_file_and_results(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let file = ProfileFile::read(shipped()).unwrap();
    let router = file.raw_section("router").unwrap();
    let text = format!(r#"{{"version":"3.0","router":{router},"x_future":{{"a": [1, 2]}}}}"#);
    let profile = common::write(dir, "future.json", text);
    let csv = std::fs::read_to_string(example("results.csv")).unwrap();
    let copied: String = csv
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let first = line.split(',').nth(1).unwrap();
            let extra = if i == 0 { "copy-of-first" } else { first };
            format!("{line},{extra}\n")
        })
        .collect();
    let results = common::write(dir, "results.csv", copied);
    (profile, results)
}

#[test]
fn add_model_keeps_unknown_sections_and_counts_what_route_hard_routes() {
    let dir = tempfile::tempdir().unwrap();
    let (profile, results) = future_file_and_results(dir.path());
    let out = dir.path().join("out.json");
    let npy = example("embeddings_minilm.f16.npy");
    let status = aurora_cmd()
        .args(["profile", "add-model", "--profile"])
        .arg(&profile)
        .arg("--prompts")
        .arg(example("prompts.jsonl"))
        .arg("--results")
        .arg(&results)
        .arg("--embeddings")
        .arg(&npy)
        .args(["--embedding-model", EMBEDDING_MODEL])
        .args(["--name", "copy-of-first", "--cost", "1.5", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    // The unknown section is written back exactly as it was read.
    let file = ProfileFile::read(&out).unwrap();
    assert_eq!(file.raw_section("x_future"), Some(r#"{"a": [1, 2]}"#));
    assert_eq!(file.version(), "3.0");
    // And the file still routes.
    let router = Router::from_path(&out).unwrap();
    assert!(router.model_index("copy-of-first").is_some());

    // Per-cluster counts of the added model = `aurora route --hard` over
    // the same prompts.
    let p: Profile = file.require().unwrap();
    let counts = &p.counts["copy-of-first"].n;
    let n = embeddings().rows();
    let mut cmd = aurora_cmd();
    cmd.args(["route", "--profile"])
        .arg(&out)
        .arg("--embeddings")
        .arg(&npy)
        .args(["--embedding-model", EMBEDDING_MODEL, "--hard", "--json"]);
    for r in 0..n {
        cmd.arg("--row").arg(r.to_string());
    }
    let routed = cmd.output().unwrap();
    assert!(routed.status.success());
    let mut hist: BTreeMap<usize, u64> = BTreeMap::new();
    let all: serde_json::Value = serde_json::from_slice(&routed.stdout).unwrap();
    for v in all.as_array().unwrap() {
        *hist
            .entry(v["cluster"].as_u64().unwrap() as usize)
            .or_default() += 1;
    }
    let want: Vec<u64> = (0..p.n_clusters())
        .map(|c| hist.get(&c).copied().unwrap_or(0))
        .collect();
    assert_eq!(counts, &want);
    // The copy's rates equal the original model's up to shrinkage toward
    // the same global error: the copy is the same column.
    assert_eq!(counts.iter().sum::<u64>(), n as u64);
}

/// `aurora profile verify|seal`: a hand-edited file fails `verify` with an
/// error naming it, `seal` re-seals it, and `verify` then passes.
#[test]
fn cli_verify_and_seal() {
    let dir = tempfile::tempdir().unwrap();
    let sealed = dir.path().join("sealed.json");
    let edited = dir.path().join("hand-edited.json");
    let file = ProfileFile::from_json_ignoring_seal(&std::fs::read(shipped()).unwrap()).unwrap();
    file.write(&sealed).unwrap();
    let run = |args: &[&std::ffi::OsStr]| aurora_cmd().args(args).output().unwrap();
    let os = |s: &'static str| std::ffi::OsStr::new(s);

    let o = run(&[os("profile"), os("verify"), sealed.as_os_str()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("seal OK") && out.contains("router"), "{out}");

    // A hand edit (a model's recorded accuracy): the seal no longer matches.
    let text = std::fs::read_to_string(&sealed).unwrap().replacen(
        "\"accuracy\":0.4114",
        "\"accuracy\":0.4115",
        1,
    );
    assert!(text.contains("0.4115"));
    std::fs::write(&edited, text).unwrap();
    let o = run(&[os("profile"), os("verify"), edited.as_os_str()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("hand-edited.json") && err.contains("seal"),
        "{err}"
    );

    // Re-sealed into another file, then in place.
    let resealed = dir.path().join("resealed.json");
    let o = run(&[
        os("profile"),
        os("seal"),
        edited.as_os_str(),
        os("--out"),
        resealed.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(run(&[os("profile"), os("verify"), resealed.as_os_str()])
        .status
        .success());
    assert!(!run(&[os("profile"), os("verify"), edited.as_os_str()])
        .status
        .success());
    let o = run(&[os("profile"), os("seal"), edited.as_os_str()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(&edited).unwrap(),
        std::fs::read(&resealed).unwrap()
    );

    // An unsealed file: verify refuses it unless told, naming the file.
    let legacy = root().join("tests/fixtures/profile-v2/mmlu_pro-minilm.json");
    let o = run(&[os("profile"), os("verify"), legacy.as_os_str()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("mmlu_pro-minilm.json") && err.contains("not sealed"),
        "{err}"
    );
    assert!(run(&[
        os("profile"),
        os("verify"),
        os("--allow-unsealed"),
        legacy.as_os_str()
    ])
    .status
    .success());

    // An invalid section is not sealed; the error names the file.
    let invalid = dir.path().join("invalid.json");
    let text = std::fs::read_to_string(&sealed)
        .unwrap()
        .replacen("\"cost\":", "\"cost\":-", 1);
    std::fs::write(&invalid, text).unwrap();
    let o = run(&[os("profile"), os("seal"), invalid.as_os_str()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("invalid.json") && err.contains("cost"),
        "{err}"
    );
    // A missing file.
    let o = run(&[os("profile"), os("verify"), os("no-such-profile.json")]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no-such-profile.json"));
}
