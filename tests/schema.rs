//! One source of truth for the profile format: `profiles/profile.schema.json`
//! is generated from the section types. This test regenerates it and fails
//! when the committed file differs (`AURORA_BLESS=1` rewrites it), and checks
//! the shipped profile against it.
#![cfg(feature = "schema")]

mod common;

#[test]
fn the_committed_schema_is_generated_from_the_types() {
    let path = common::root().join("profiles/profile.schema.json");
    let mut want = serde_json::to_string_pretty(&aurora_router::profile::router_schema()).unwrap();
    want.push('\n');
    if std::env::var_os("AURORA_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let got = std::fs::read_to_string(&path).unwrap();
    assert!(
        got == want,
        "{} is stale: run `AURORA_BLESS=1 cargo test --features schema --test schema`",
        path.display()
    );
    let schema: serde_json::Value = serde_json::from_str(&got).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let shipped: serde_json::Value = serde_json::from_slice(
        &std::fs::read(common::root().join("profiles/mmlu_pro-minilm.json")).unwrap(),
    )
    .unwrap();
    if shipped["version"] == "3.0" {
        let errors: Vec<String> = validator
            .iter_errors(&shipped)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // An unknown section is allowed; a wrong type in the router is not.
    let mut future = shipped.clone();
    future["x_future"] = serde_json::json!({"a": [1, 2]});
    if shipped["version"] == "3.0" {
        assert!(validator.is_valid(&future));
        future["router"]["metadata"]["routing"]["assignment"] = "sideways".into();
        assert!(!validator.is_valid(&future));
    }
}
