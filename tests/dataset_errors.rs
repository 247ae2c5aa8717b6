//! Every malformed input of `profile build` is a typed error naming the
//! file, the line or column, and what is wrong.

mod common;

use aurora_router::data::{read_models, read_prompts, read_results, LabelledSet};
use common::write;

const MODELS: &str = r#"[{"name":"a","cost":1},{"name":"b","cost":2.5,"path":"/m/b.gguf"}]"#;

fn prompts_err(contents: &str) -> String {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "p.jsonl", contents);
    read_prompts(&p).unwrap_err().to_string()
}

fn results_err(prompts: &str, results: &str) -> String {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "p.jsonl", prompts);
    let r = write(d.path(), "r.csv", results);
    let ps = read_prompts(&p).unwrap();
    read_results(&r, &ps).unwrap_err().to_string()
}

fn models_err(contents: &str) -> String {
    let d = tempfile::tempdir().unwrap();
    let m = write(d.path(), "m.json", contents);
    read_models(&m).unwrap_err().to_string()
}

const TWO: &str = "{\"id\":1,\"text\":\"x\"}\n{\"id\":\"two\",\"text\":\"y\",\"category\":\"c\"}\n";

#[test]
fn reads_valid_prompts_with_int_and_string_ids() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "p.jsonl", TWO);
    let ps = read_prompts(&p).unwrap();
    assert_eq!(ps[0].id, "1");
    assert_eq!(ps[1].id, "two");
    assert_eq!(ps[1].category.as_deref(), Some("c"));
}

#[test]
fn prompt_errors_name_file_and_line() {
    let m = prompts_err("{\"id\":1,\"text\":\"x\"}\n{not json}\n");
    assert!(m.contains("p.jsonl:2") && m.contains("invalid JSON"), "{m}");
    let m = prompts_err("{\"id\":1,\"text\":\"x\"}\n{\"text\":\"y\"}\n");
    assert!(m.contains("p.jsonl:2: column `id`: missing"), "{m}");
    let m = prompts_err("{\"id\":1,\"text\":\"x\"}\n{\"id\":1,\"text\":\"y\"}\n");
    assert!(
        m.contains("p.jsonl:2") && m.contains("duplicate id 1"),
        "{m}"
    );
    let m = prompts_err("{\"id\":1,\"text\":\"   \"}\n");
    assert!(m.contains("p.jsonl:1: column `text`: is empty"), "{m}");
    let m = prompts_err("{\"id\":1}\n");
    assert!(m.contains("column `text`: missing"), "{m}");
    let m = prompts_err("{\"id\":1.5,\"text\":\"x\"}\n");
    assert!(m.contains("column `id`"), "{m}");
    let m = prompts_err("{\"id\":1,\"text\":7}\n");
    assert!(m.contains("must be a string"), "{m}");
    let m = prompts_err("[1,2]\n");
    assert!(m.contains("expected a JSON object"), "{m}");
    let m = prompts_err("{\"id\":1,\"text\":\"x\"}\n\n{\"id\":2,\"text\":\"y\"}\n");
    assert!(m.contains("p.jsonl:2: blank line"), "{m}");
    let m = prompts_err("");
    assert!(m.contains("no prompts"), "{m}");
    let m = prompts_err("{\"id\":1,\"text\":\"a\\u0000b\"}\n");
    assert!(m.contains("NUL"), "{m}");
}

#[test]
fn invalid_utf8_names_the_line() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "p.jsonl",
        b"{\"id\":1,\"text\":\"x\"}\n{\"id\":2,\"text\":\"\xff\"}\n",
    );
    let m = read_prompts(&p).unwrap_err().to_string();
    assert!(m.contains("p.jsonl:2: not valid UTF-8"), "{m}");
}

#[test]
fn results_errors() {
    let m = results_err(TWO, "id,a,b\n1,1,0\n");
    assert!(m.contains("1 prompt id(s) have no row, e.g. two"), "{m}");
    let m = results_err(TWO, "id,a,b\n1,1,0\ntwo,0,1\nthree,1,1\n");
    assert!(
        m.contains("r.csv:4: column `id`: id three is not in the prompts file"),
        "{m}"
    );
    let m = results_err(TWO, "id,a,b\n1,1,0\n1,0,1\n");
    assert!(m.contains("r.csv:3: column `id`: duplicate id 1"), "{m}");
    let m = results_err(TWO, "id,a,b\n1,1,0\ntwo,0,yes\n");
    assert!(
        m.contains("r.csv:3: column `b`: `yes` is not a number"),
        "{m}"
    );
    let m = results_err(TWO, "id,a,b\n1,1.5,0\ntwo,0,1\n");
    assert!(
        m.contains("r.csv:2: column `a`: 1.5 is outside [0, 1]"),
        "{m}"
    );
    let m = results_err(TWO, "id,a,b\n1,1\ntwo,0,1\n");
    assert!(
        m.contains("r.csv:2") && m.contains("has 2 cells, the header has 3"),
        "{m}"
    );
    let m = results_err(TWO, "prompt,a\n1,1\ntwo,0\n");
    assert!(m.contains("r.csv:1: header must start with `id`"), "{m}");
    let m = results_err(TWO, "id,a,a\n1,1,1\ntwo,0,0\n");
    assert!(m.contains("duplicate model column"), "{m}");
    let m = results_err(TWO, "id\n1\ntwo\n");
    assert!(m.contains("names no model column"), "{m}");
    let m = results_err(TWO, "id,a\n1,NaN\ntwo,0\n");
    assert!(m.contains("column `a`"), "{m}");
}

#[test]
fn model_errors() {
    let m = models_err("{\"name\":\"a\"}");
    assert!(m.contains("expected a JSON list"), "{m}");
    let m = models_err(r#"[{"name":"a"}]"#);
    assert!(
        m.contains("column `cost`") && m.contains("`a` has no numeric cost"),
        "{m}"
    );
    let m = models_err(r#"[{"name":"a","cost":0}]"#);
    assert!(m.contains("`a` has cost 0; it must be > 0"), "{m}");
    let m = models_err(r#"[{"name":"a","cost":-3}]"#);
    assert!(m.contains("must be > 0"), "{m}");
    let m = models_err(r#"[{"name":"a","cost":1},{"name":"a","cost":2}]"#);
    assert!(m.contains("duplicate model `a`"), "{m}");
    let m = models_err(r#"[{"cost":1}]"#);
    assert!(m.contains("column `name`"), "{m}");
    let m = models_err("[");
    assert!(m.contains("m.json:1") && m.contains("invalid JSON"), "{m}");
    let m = models_err("[]");
    assert!(m.contains("no models"), "{m}");
}

#[test]
fn every_results_column_needs_a_model_and_extras_are_kept() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "p.jsonl", TWO);
    let r = write(d.path(), "r.csv", "id,b,a\n1,1,0\ntwo,0,1\n");
    let m = write(d.path(), "m.json", MODELS);
    let set = LabelledSet::load(&p, &r, &m).unwrap();
    assert_eq!(set.models[0].name, "b");
    assert_eq!(set.models[0].path(), Some("/m/b.gguf"));
    assert_eq!(set.results.correctness[1], vec![0.0, 1.0]);
    let r2 = write(d.path(), "r2.csv", "id,a,c\n1,1,0\ntwo,0,1\n");
    let e = LabelledSet::load(&p, &r2, &m).unwrap_err().to_string();
    assert!(
        e.contains("m.json") && e.contains("results column `c`"),
        "{e}"
    );
}

#[test]
fn missing_files_name_the_path() {
    let e = read_prompts(std::path::Path::new("/nope/p.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nope/p.jsonl: cannot read"), "{e}");
}
