//! `profile add-model`: a model estimated from labelled prompts assigned to
//! the existing clusters, with no re-clustering.

mod common;

use aurora_router::build::ProfileBuilder;
use aurora_router::cluster::sweep::Sweep;
use aurora_router::data::LabelledSet;
use aurora_router::embed::PrecomputedEmbeddings;
use aurora_router::profile::{ModelInfo, Profile};
use common::{fixture, fixture_set};

fn fixture_profile() -> (Profile, LabelledSet, PrecomputedEmbeddings) {
    let (set, e) = fixture_set();
    let sweep = Sweep::params()
        .k_range(6, 6)
        .hdbscan_grid(vec![], vec![])
        .check()
        .unwrap();
    let p = ProfileBuilder::params(sweep)
        .check()
        .unwrap()
        .build(&set, e.view(), e.model_id(), false, &|_, _, _| {})
        .unwrap()
        .profile;
    (p, set, e)
}

#[test]
fn re_adding_a_model_from_its_training_data_reproduces_its_rates() {
    let (mut p, set, e) = fixture_profile();
    for (m, spec) in set.models.iter().enumerate() {
        let correctness: Vec<f64> = set.results.correctness.iter().map(|r| r[m]).collect();
        let info = ModelInfo {
            name: format!("{}-again", spec.name),
            cost: spec.cost,
            extra: Default::default(),
        };
        let r = p
            .add_model(info, e.as_slice(), &correctness, false)
            .unwrap();
        let original = p.error_rates(m).to_vec();
        let again = p.error_rates(r.model_index);
        for (c, (a, b)) in original.iter().zip(again).enumerate() {
            assert!(
                (a - b).abs() < 0.02,
                "{} cluster {c}: {a} vs {b}",
                spec.name
            );
        }
    }
    assert_eq!(p.models.len(), 18);
    Profile::from_json(&p.to_json()).unwrap();
}

#[test]
fn existing_names_need_replace_and_bad_input_is_rejected() {
    let (mut p, _, e) = fixture_profile();
    let info = |name: &str, cost: f64| ModelInfo {
        name: name.into(),
        cost,
        extra: Default::default(),
    };
    let ones = vec![1.0; e.rows()];
    let err = p
        .add_model(info("mathstral-7B", 7.2), e.as_slice(), &ones, false)
        .unwrap_err();
    assert!(err.to_string().contains("already in the profile"), "{err}");
    let r = p
        .add_model(info("mathstral-7B", 7.2), e.as_slice(), &ones, true)
        .unwrap();
    assert!(r.replaced);
    assert!(p.error_rates(r.model_index).iter().all(|&x| x < 0.5));
    assert_eq!(p.models.len(), 9);
    let err = p
        .add_model(info("x", 0.0), e.as_slice(), &ones, false)
        .unwrap_err();
    assert!(err.to_string().contains("must be > 0"), "{err}");
    let err = p
        .add_model(info("x", 1.0), &e.as_slice()[..10], &ones, false)
        .unwrap_err();
    assert!(err.to_string().contains("dimension 384"), "{err}");
    let err = p
        .add_model(info("x", 1.0), e.as_slice(), &vec![2.0; e.rows()], false)
        .unwrap_err();
    assert!(err.to_string().contains("outside [0, 1]"), "{err}");
    let mut nan = e.as_slice().to_vec();
    nan[5] = f32::NAN;
    let err = p.add_model(info("x", 1.0), &nan, &ones, false).unwrap_err();
    assert!(err.to_string().contains("not finite"), "{err}");
}

#[test]
fn cli_add_model_writes_a_routable_profile() {
    let (p, _, _) = fixture_profile();
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.json");
    p.write(&base).unwrap();
    let out = dir.path().join("plus.json");
    let results = std::fs::read_to_string(fixture("results.csv")).unwrap();
    let renamed = results.replacen("mathstral-7B", "newcomer", 1);
    let r = common::write(dir.path(), "r.csv", renamed);
    let run = |extra: &[&str]| {
        common::aurora_cmd()
            .args([
                "profile",
                "add-model",
                "--quiet",
                "--name",
                "newcomer",
                "--cost",
                "5",
                "--path",
                "/models/new.gguf",
            ])
            .arg("--profile")
            .arg(&base)
            .arg("--prompts")
            .arg(fixture("prompts.jsonl"))
            .arg("--results")
            .arg(&r)
            .arg("--embeddings")
            .arg(fixture("embeddings_minilm.f16.npy"))
            .arg("--out")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&["--embedding-model", "all-MiniLM-L6-v2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let q = Profile::read(&out).unwrap();
    let i = q.model_index("newcomer").unwrap();
    assert_eq!(q.models[i].path(), Some("/models/new.gguf"));
    let m = q.model_index("mathstral-7B").unwrap();
    for (a, b) in q.error_rates(m).iter().zip(q.error_rates(i)) {
        assert!((a - b).abs() < 0.02);
    }
    let o = run(&["--embedding-model", "some-other-model"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("do not match"));
}
