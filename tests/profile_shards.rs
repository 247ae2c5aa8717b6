//! `profile build --centroids-from P --shard I/N` and `profile merge`: the
//! per-cluster counts of shards, merged exactly.

mod common;

use aurora_router::build::{
    centroids_sha256, merge_shards, ProfileBuilder, ShardCounts, ShardError, ShardSpec,
};
use aurora_router::cluster::sweep::Sweep;
use aurora_router::data::LabelledSet;
use aurora_router::embed::PrecomputedEmbeddings;
use aurora_router::profile::Profile;
use common::{fixture, fixture_set};

/// A profile P built on the fixture (K = 6), and its file's bytes.
fn centroid_profile(set: &LabelledSet, e: &PrecomputedEmbeddings, k: usize) -> (Profile, Vec<u8>) {
    let sweep = Sweep::params()
        .k_range(k, k)
        .hdbscan_grid(vec![], vec![])
        .check()
        .unwrap();
    let p = ProfileBuilder::params(sweep)
        .check()
        .unwrap()
        .build(set, e.view(), e.model_id(), false, &|_, _, _| {})
        .unwrap()
        .profile;
    let bytes = p.to_json();
    (p, bytes)
}

fn shards(
    p: &Profile,
    sha: &str,
    set: &LabelledSet,
    e: &PrecomputedEmbeddings,
    n: usize,
) -> Vec<(String, ShardCounts)> {
    (1..=n)
        .map(|i| {
            let spec = ShardSpec { index: i, count: n };
            let s = ShardCounts::compute(p, sha, spec, set, e.as_slice()).unwrap();
            // Through the file format, as `profile merge` reads them.
            let s = ShardCounts::from_json(&s.to_json(), "s").unwrap();
            (format!("shard{i}.json"), s)
        })
        .collect()
}

#[test]
fn four_merged_shards_equal_one_build_with_the_same_centroids() {
    let (set, e) = fixture_set();
    let (p, bytes) = centroid_profile(&set, &e, 6);
    let sha = centroids_sha256(&bytes);
    let all = ShardCounts::compute(&p, &sha, ShardSpec::ALL, &set, e.as_slice()).unwrap();
    let single = merge_shards(&p, &sha, &[("all".into(), all)]).unwrap();
    let mut four = shards(&p, &sha, &set, &e, 4);
    // Every shard holds some prompts, and together all of them once.
    assert!(four.iter().all(|(_, s)| s.prompts > 0));
    assert_eq!(four.iter().map(|(_, s)| s.prompts).sum::<u64>(), 300);
    four.reverse(); // file order does not matter
    let merged = merge_shards(&p, &sha, &four).unwrap();
    assert_eq!(merged.llm_profiles, single.llm_profiles);
    assert_eq!(merged.counts, single.counts);
    assert_eq!(merged.cluster_sizes, single.cluster_sizes);
    assert_eq!(merged.to_json(), single.to_json());
    assert_eq!(merged.cluster_sizes.iter().sum::<u64>(), 300);
    // Reassigning P's own training prompts to its (float16) centroids
    // reproduces P's rates up to the prompts that change cluster.
    for m in &p.models {
        for (c, (a, b)) in p.llm_profiles[&m.name]
            .iter()
            .zip(&merged.llm_profiles[&m.name])
            .enumerate()
        {
            assert!((a - b).abs() < 0.02, "{} cluster {c}: {a} vs {b}", m.name);
        }
    }
    Profile::from_json(&merged.to_json()).unwrap();
}

#[test]
fn bad_shard_specs_are_typed_errors() {
    for bad in ["5/4", "0/0", "x/2", "0/3", "3", "1/x", "2/99999999999"] {
        match bad.parse::<ShardSpec>() {
            Err(ShardError::Spec { spec, .. }) => assert_eq!(spec, bad),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert_eq!(
        "3/4".parse::<ShardSpec>().unwrap(),
        ShardSpec { index: 3, count: 4 }
    );
}

#[test]
fn shards_of_other_centroids_missing_and_duplicate_shards_are_refused() {
    let (set, e) = fixture_set();
    let (p, bytes) = centroid_profile(&set, &e, 6);
    let sha = centroids_sha256(&bytes);
    let (p5, bytes5) = centroid_profile(&set, &e, 5);
    let sha5 = centroids_sha256(&bytes5);
    let mut mixed = shards(&p, &sha, &set, &e, 4);
    mixed[2] = shards(&p5, &sha5, &set, &e, 4).remove(2);
    let err = merge_shards(&p, &sha, &mixed).unwrap_err();
    assert!(
        matches!(&err, ShardError::CentroidsMismatch { file, found, .. } if file == "shard3.json" && *found == sha5),
        "{err}"
    );
    let mut missing = shards(&p, &sha, &set, &e, 4);
    missing.remove(1);
    let err = merge_shards(&p, &sha, &missing).unwrap_err();
    assert!(
        matches!(&err, ShardError::Missing { count: 4, missing } if missing == &[2]),
        "{err}"
    );
    let mut dup = shards(&p, &sha, &set, &e, 4);
    dup.push(("again.json".into(), dup[0].1.clone()));
    let err = merge_shards(&p, &sha, &dup).unwrap_err();
    assert!(
        matches!(
            &err,
            ShardError::Duplicate {
                index: 1,
                count: 4,
                ..
            }
        ),
        "{err}"
    );
    let mut other_n = shards(&p, &sha, &set, &e, 4);
    other_n[0] = shards(&p, &sha, &set, &e, 3).remove(0);
    let err = merge_shards(&p, &sha, &other_n).unwrap_err();
    assert!(matches!(err, ShardError::Inconsistent { .. }), "{err}");
    assert!(matches!(
        merge_shards(&p, &sha, &[]).unwrap_err(),
        ShardError::Empty
    ));
    let err = ShardCounts::from_json(b"{\"format\":\"x\"}", "bad.json").unwrap_err();
    assert!(err.to_string().contains("bad.json"), "{err}");
}

#[test]
fn cli_shards_merge_to_the_single_build_and_name_bad_input() {
    let (set, e) = fixture_set();
    let (_, bytes) = centroid_profile(&set, &e, 6);
    let dir = tempfile::tempdir().unwrap();
    let p = common::write(dir.path(), "P.json", &bytes);
    let base = |out: &std::path::Path| -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = ["profile", "build", "--quiet", "--embeddings"]
            .iter()
            .map(Into::into)
            .collect();
        for a in [
            fixture("embeddings_minilm.f16.npy").into_os_string(),
            "--prompts".into(),
            fixture("prompts.jsonl").into_os_string(),
            "--results".into(),
            fixture("results.csv").into_os_string(),
            "--models".into(),
            fixture("models.json").into_os_string(),
            "--centroids-from".into(),
            p.clone().into_os_string(),
            "--out".into(),
            out.as_os_str().into(),
        ] {
            v.push(a);
        }
        v
    };
    let run = |args: Vec<std::ffi::OsString>| {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        common::aurora_cmd().args(args).output().unwrap()
    };
    let single = dir.path().join("single.json");
    let o = run(base(&single));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut merge: Vec<std::ffi::OsString> = vec!["profile".into(), "merge".into()];
    for i in 1..=4 {
        let out = dir.path().join(format!("s{i}.json"));
        let mut args = base(&out);
        args.push("--shard".into());
        args.push(format!("{i}/4").into());
        let o = run(args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        merge.push(out.into_os_string());
    }
    let merged = dir.path().join("merged.json");
    for a in [
        "--centroids-from".into(),
        p.clone().into_os_string(),
        "--out".into(),
        merged.clone().into_os_string(),
    ] {
        merge.push(a);
    }
    let o = run(merge.clone());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(&merged).unwrap(),
        std::fs::read(&single).unwrap()
    );
    // A bad --shard is one line naming the flag, never a panic.
    let mut args = base(&dir.path().join("x.json"));
    args.push("--shard".into());
    args.push("5/4".into());
    let o = run(args);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--shard 5/4"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Merging without shard 4.
    let mut missing = merge.clone();
    missing.remove(5);
    let o = run(missing);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("missing shards") && err.contains("[4]"),
        "{err}"
    );
}
