//! Loading profiles into a `Router`: every malformed or hostile profile is a
//! typed error, never a panic.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use aurora_router::profile::{Profile, ProfileError};
use aurora_router::route::{RouteError, RouteOptions, Router};
use common::route::*;
use serde_json::json;

/// Loads `bytes`, turning a panic into a test failure that says so.
fn load(bytes: &[u8]) -> Result<Router, RouteError> {
    match catch_unwind(AssertUnwindSafe(|| Router::from_json(bytes))) {
        Ok(r) => r,
        Err(_) => panic!("Router::from_json panicked"),
    }
}

fn invalid_field(bytes: &[u8]) -> String {
    match load(bytes) {
        Err(RouteError::Profile(ProfileError::Invalid { field, .. })) => field,
        other => panic!("expected ProfileError::Invalid, got {other:?}"),
    }
}

/// Not JSON, or JSON of the wrong shape (at the top level or inside the
/// `router` section).
fn is_json_error(bytes: &[u8]) -> bool {
    matches!(
        load(bytes),
        Err(RouteError::Profile(
            ProfileError::Json(_) | ProfileError::Section { .. }
        ))
    )
}

#[test]
fn the_toy_profile_loads() {
    let r = load(&toy_json()).unwrap();
    assert_eq!((r.cluster_count(), r.dim(), r.model_count()), (2, 4, 2));
    assert_eq!(r.embedding_model(), "toy-4");
    assert!(!r.is_mock());
    assert_eq!(r.model_index("big"), Some(1));
    assert_eq!(r.model_index("nope"), None);
    assert_eq!(r.models()[1].path(), Some("/models/big.gguf"));
}

#[test]
fn truncated_json() {
    let good = toy_json();
    for cut in [0, 1, good.len() / 3, good.len() / 2, good.len() - 1] {
        assert!(is_json_error(&good[..cut]), "cut at {cut}");
    }
    assert!(is_json_error(b"null"));
    assert!(is_json_error(b"[1, 2]"));
    assert!(is_json_error(b"\xff\xfe not utf-8"));
}

#[test]
fn wrong_version() {
    for v in ["1.0", "20.0", "", "v2", "4.0"] {
        let bytes = toy_with(|p| p["version"] = json!(v));
        assert!(
            matches!(load(&bytes), Err(RouteError::Profile(ProfileError::Version(ref got))) if got == v),
            "version {v:?}"
        );
    }
    // A version that is not a string names the field.
    assert_eq!(
        invalid_field(&toy_with(|p| p["version"] = json!(2.0))),
        "version"
    );
    // Any 2.x is accepted.
    assert!(load(&toy_with(|p| p["version"] = json!("2.7"))).is_ok());
    // A 3.x container whose router fields sit at the top level has no
    // `router` section: a typed error, not a guess.
    assert!(matches!(
        load(&toy_with(|p| p["version"] = json!("3.0"))),
        Err(RouteError::Profile(ProfileError::MissingSection(ref s))) if s == "router"
    ));
    // The same fields under `router` in a 3.0 file load, and unknown
    // sections beside it are ignored.
    let toy: serde_json::Value = serde_json::from_slice(&toy_json()).unwrap();
    let mut router = toy.clone();
    router.as_object_mut().unwrap().remove("version");
    let v3 = json!({"version": "3.0", "router": router, "x_future": {"a": [1, 2]}});
    let r = load(&serde_json::to_vec(&v3).unwrap()).unwrap();
    assert_eq!(r.cluster_count(), 2);
}

#[test]
fn shape_mismatch_with_feature_dim() {
    assert_eq!(
        invalid_field(&toy_with(|p| p["cluster_centers"]["shape"] = json!([2, 3]))),
        "cluster_centers.shape"
    );
    assert_eq!(
        invalid_field(&toy_with(|p| p["metadata"]["feature_dim"] = json!(8))),
        "cluster_centers.shape"
    );
    assert_eq!(
        invalid_field(&toy_with(|p| p["metadata"]["n_clusters"] = json!(3))),
        "cluster_centers.shape"
    );
    // Nested-array form: wrong row count, wrong row length.
    let f = invalid_field(&toy_with(|p| p["cluster_centers"] = json!([[1, 0, 0, 0]])));
    assert_eq!(f, "cluster_centers");
    let f = invalid_field(&toy_with(|p| {
        p["cluster_centers"] = json!([[1, 0, 0, 0], [0, 1, 0]])
    }));
    assert_eq!(f, "cluster_centers[1]");
}

#[test]
fn base64_length_wrong() {
    let data = toy_value()["cluster_centers"]["data"]
        .as_str()
        .unwrap()
        .to_string();
    let short = data[..data.len() - 4].to_string();
    assert_eq!(
        invalid_field(&toy_with(|p| p["cluster_centers"]["data"] = json!(short))),
        "cluster_centers.data"
    );
    let long = format!("{data}AAAA");
    assert_eq!(
        invalid_field(&toy_with(|p| p["cluster_centers"]["data"] = json!(long))),
        "cluster_centers.data"
    );
    // Right length, one value short (padding absorbs it): caught on decode.
    let seven = f16_base64(&[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    assert!(load(&toy_with(|p| p["cluster_centers"]["data"] = json!(seven))).is_err());
}

#[test]
fn invalid_base64() {
    let data = toy_value()["cluster_centers"]["data"]
        .as_str()
        .unwrap()
        .to_string();
    let bad = "!".repeat(data.len());
    assert_eq!(
        invalid_field(&toy_with(|p| p["cluster_centers"]["data"] = json!(bad))),
        "cluster_centers.data"
    );
    let spaced = format!(" {}", &data[1..]);
    assert_eq!(
        invalid_field(&toy_with(|p| p["cluster_centers"]["data"] = json!(spaced))),
        "cluster_centers.data"
    );
    assert_eq!(
        invalid_field(&toy_with(|p| p["cluster_centers"]["data"] = json!(7))),
        "cluster_centers.data"
    );
}

#[test]
fn non_finite_centroids() {
    use base64::Engine as _;
    let enc = |bits: [u16; 8]| {
        let bytes: Vec<u8> = bits.iter().flat_map(|b| b.to_le_bytes()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    for bad in [0x7C00u16, 0xFC00, 0x7E00, 0x7C01] {
        let data = enc([0x3C00, 0, 0, 0, 0, bad, 0, 0]);
        let f = invalid_field(&toy_with(|p| p["cluster_centers"]["data"] = json!(data)));
        assert_eq!(f, "cluster_centers[1]", "bits {bad:#06x}");
    }
    // Nested arrays: a value beyond float16's range rounds to infinity.
    let f = invalid_field(&toy_with(|p| {
        p["cluster_centers"] = json!([[70000.0, 0, 0, 0], [0, 1, 0, 0]])
    }));
    assert_eq!(f, "cluster_centers[0]");
    // JSON cannot hold NaN; 1e400 overflows f64 and is a parse error.
    let text = String::from_utf8(toy_json()).unwrap();
    let text = text.replace("[0.5,0.1]", "[1e400,0.1]");
    assert!(text.contains("1e400"));
    assert!(is_json_error(text.as_bytes()));
    let nested = String::from_utf8(toy_with(|p| {
        p["cluster_centers"] = json!([[1, 0, 0, 0], [0, 1, 0, 0]])
    }))
    .unwrap()
    .replacen("[1,0,0,0]", "[1e400,0,0,0]", 1);
    assert!(nested.contains("1e400"));
    assert!(is_json_error(nested.as_bytes()));
    // A zero centroid has no direction.
    let zero = f16_base64(&[0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    assert_eq!(
        invalid_field(&toy_with(|p| p["cluster_centers"]["data"] = json!(zero))),
        "cluster_centers[0]"
    );
}

#[test]
fn error_rate_outside_unit_interval() {
    for bad in [1.5, -0.1, 1.000001, -1e-9] {
        let f = invalid_field(&toy_with(|p| {
            p["llm_profiles"]["small"] = json!([bad, 0.1])
        }));
        assert_eq!(f, "llm_profiles.small[0]", "rate {bad}");
    }
    assert!(is_json_error(&toy_with(
        |p| p["llm_profiles"]["big"] = json!([0.1, null])
    )));
    assert!(is_json_error(&toy_with(
        |p| p["llm_profiles"]["big"] = json!([0.1, "0.1"])
    )));
    // The bounds themselves are fine.
    assert!(load(&toy_with(|p| p["llm_profiles"]["small"] = json!([0.0, 1.0]))).is_ok());
}

#[test]
fn wrong_number_of_rates() {
    let f = invalid_field(&toy_with(|p| p["llm_profiles"]["big"] = json!([0.1])));
    assert_eq!(f, "llm_profiles.big");
    let f = invalid_field(&toy_with(|p| {
        p["llm_profiles"]["big"] = json!([0.1, 0.1, 0.1])
    }));
    assert_eq!(f, "llm_profiles.big");
}

#[test]
fn zero_clusters() {
    let bytes = toy_with(|p| {
        p["metadata"]["n_clusters"] = json!(0);
        p["cluster_centers"]["shape"] = json!([0, 4]);
        p["cluster_centers"]["data"] = json!("");
        p["cluster_sizes"] = json!([]);
        p["llm_profiles"] = json!({"small": [], "big": []});
        p["counts"] = json!({});
    });
    assert_eq!(invalid_field(&bytes), "metadata.n_clusters");
}

#[test]
fn zero_feature_dim() {
    let bytes = toy_with(|p| {
        p["metadata"]["feature_dim"] = json!(0);
        p["cluster_centers"]["shape"] = json!([2, 0]);
        p["cluster_centers"]["data"] = json!("");
    });
    assert_eq!(invalid_field(&bytes), "metadata.feature_dim");
}

#[test]
fn zero_models() {
    let bytes = toy_with(|p| {
        p["models"] = json!([]);
        p["llm_profiles"] = json!({});
        p["counts"] = json!({});
    });
    assert_eq!(invalid_field(&bytes), "models");
}

#[test]
fn cost_not_positive() {
    for bad in [json!(0), json!(-3), json!(-0.0), json!(0.0)] {
        let f = invalid_field(&toy_with(|p| p["models"][1]["cost"] = bad.clone()));
        assert_eq!(f, "models[1].cost", "cost {bad}");
    }
    assert!(is_json_error(&toy_with(
        |p| p["models"][1]["cost"] = json!("10")
    )));
    assert!(is_json_error(&toy_with(
        |p| p["models"][1]["cost"] = json!(null)
    )));
    let text = String::from_utf8(toy_json())
        .unwrap()
        .replace("\"cost\":10", "\"cost\":1e400");
    assert!(text.contains("1e400"));
    assert!(is_json_error(text.as_bytes()));
}

#[test]
fn duplicate_model_names() {
    let bytes = toy_with(|p| {
        p["models"][1]["name"] = json!("small");
        p["llm_profiles"].as_object_mut().unwrap().remove("big");
        p["counts"].as_object_mut().unwrap().remove("big");
    });
    assert_eq!(invalid_field(&bytes), "models[1].name");
    let bytes = toy_with(|p| p["models"][0]["name"] = json!(""));
    assert_eq!(invalid_field(&bytes), "models[0].name");
}

#[test]
fn missing_llm_profiles_for_a_model() {
    let bytes = toy_with(|p| {
        p["llm_profiles"].as_object_mut().unwrap().remove("big");
        p["counts"].as_object_mut().unwrap().remove("big");
    });
    assert_eq!(invalid_field(&bytes), "llm_profiles");
    assert!(is_json_error(&toy_with(|p| {
        p.as_object_mut().unwrap().remove("llm_profiles");
    })));
}

#[test]
fn extra_model_in_llm_profiles() {
    let bytes = toy_with(|p| p["llm_profiles"]["ghost"] = json!([0.2, 0.2]));
    assert_eq!(invalid_field(&bytes), "llm_profiles");
    let bytes = toy_with(|p| p["counts"]["ghost"] = json!({"n": [1, 1], "errors": [0, 0]}));
    assert_eq!(invalid_field(&bytes), "counts");
}

#[test]
fn huge_declared_shape() {
    for (k, d) in [
        (1_000_000_000u64, 1_000_000_000u64),
        (u64::MAX, 4),
        (1, 1 << 40),
        (1 << 20, 1 << 10),
    ] {
        let bytes = toy_with(|p| {
            p["metadata"]["n_clusters"] = json!(k);
            p["metadata"]["feature_dim"] = json!(d);
            p["cluster_centers"]["shape"] = json!([k, d]);
        });
        assert_eq!(invalid_field(&bytes), "metadata", "{k} × {d}");
    }
    // Negative or fractional sizes do not even parse.
    assert!(is_json_error(&toy_with(
        |p| p["metadata"]["n_clusters"] = json!(-2)
    )));
    assert!(is_json_error(&toy_with(
        |p| p["metadata"]["n_clusters"] = json!(2.5)
    )));
}

#[test]
fn other_shape_errors() {
    assert_eq!(
        invalid_field(&toy_with(|p| p["cluster_sizes"] = json!([10]))),
        "cluster_sizes"
    );
    assert_eq!(
        invalid_field(&toy_with(
            |p| p["cluster_centers"]["dtype"] = json!("float32")
        )),
        "cluster_centers.dtype"
    );
    assert_eq!(
        invalid_field(&toy_with(
            |p| p["cluster_centers"]["encoding"] = json!("hex")
        )),
        "cluster_centers.encoding"
    );
    assert_eq!(
        invalid_field(&toy_with(|p| p["cluster_centers"] = json!("AAAA"))),
        "cluster_centers"
    );
    assert_eq!(
        invalid_field(&toy_with(|p| p["metadata"]["embedding_model"] = json!(" "))),
        "metadata.embedding_model"
    );
    assert_eq!(
        invalid_field(&toy_with(|p| p["counts"]["big"]["errors"] = json!([11, 1]))),
        "counts.big.errors[0]"
    );
}

#[test]
fn in_memory_profiles_are_validated_too() {
    let good = random_profile(3, 5, 2, 9);
    assert!(Router::from_profile(good.clone()).is_ok());
    type Edit = Box<dyn Fn(&mut aurora_router::profile::Profile)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("zero dim", Box::new(|p| p.metadata.feature_dim = 0)),
        ("zero clusters", Box::new(|p| p.metadata.n_clusters = 0)),
        (
            "overflowing shape",
            Box::new(|p| p.metadata.n_clusters = usize::MAX / 2),
        ),
        (
            "centroid count",
            Box::new(|p| {
                p.centroids.pop();
            }),
        ),
        ("nan centroid", Box::new(|p| p.centroids[3] = f32::NAN)),
        ("inf centroid", Box::new(|p| p.centroids[0] = f32::INFINITY)),
        (
            "nan rate",
            Box::new(|p| p.llm_profiles.get_mut("model-0").unwrap()[1] = f64::NAN),
        ),
        ("inf cost", Box::new(|p| p.models[1].cost = f64::INFINITY)),
        ("nan cost", Box::new(|p| p.models[1].cost = f64::NAN)),
        ("no models", Box::new(|p| p.models.clear())),
        ("sizes", Box::new(|p| p.cluster_sizes.push(1))),
    ];
    for (what, f) in cases {
        let mut p = good.clone();
        f(&mut p);
        let r = catch_unwind(AssertUnwindSafe(|| Router::from_profile(p)));
        assert!(
            matches!(r, Ok(Err(RouteError::Profile(_)))),
            "{what}: {r:?}"
        );
    }
}

#[test]
fn from_path_reports_io_errors() {
    let r = Router::from_path("/definitely/not/here/profile.json");
    assert!(
        matches!(r, Err(RouteError::Profile(ProfileError::Io { .. }))),
        "{r:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    std::fs::write(&path, toy_json()).unwrap();
    assert_eq!(Router::from_path(&path).unwrap().cluster_count(), 2);
}

#[test]
fn broken_profile_corpus_is_rejected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken_profiles");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "only {} files in {}",
        files.len(),
        dir.display()
    );
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(path).unwrap();
        match catch_unwind(AssertUnwindSafe(|| {
            (Router::from_json(&bytes), Router::from_path(path))
        })) {
            Err(_) => failures.push(format!("{name}: panicked")),
            Ok((Ok(_), _)) | Ok((_, Ok(_))) => failures.push(format!("{name}: accepted")),
            Ok((Err(e), Err(_))) => {
                // Every error is a profile error and says something.
                assert!(matches!(e, RouteError::Profile(_)), "{name}: {e:?}");
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn random_byte_corruption_never_panics() {
    let good = toy_json();
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let mut bytes = good.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(bytes.len());
            bytes[i] = rng.next_u64() as u8;
        }
        if rng.below(4) == 0 {
            bytes.truncate(rng.below(bytes.len()));
        }
        let r = catch_unwind(AssertUnwindSafe(|| {
            if let Ok(router) = Router::from_json(&bytes) {
                // Whatever loads must route.
                let q = vec![0.5f32; router.dim()];
                router
                    .route_embedding(&q, &RouteOptions::default())
                    .map(|d| d.model_index())
                    .ok();
            }
        }));
        assert!(
            r.is_ok(),
            "panicked on {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

#[test]
fn helpers_build_valid_profiles() {
    assert!(Profile::from_json(&toy_json()).is_ok());
    random_profile(5, 7, 3, 1).validate().unwrap();
    assert_eq!(f16_base64(&[1.0, 0.0]), "ADwAAA==");
}
