//! The pure-Rust all-MiniLM-L6-v2 embedder (feature `bert`): bad model
//! folders, bad input, parity with sentence-transformers on the shared
//! MMLU-Pro embeddings, and the CLI / C entry points.
//!
//! Tests that need the weights (models/all-MiniLM-L6-v2, from
//! scripts/fetch-minilm.sh) or the shared data skip with a printed reason
//! when they are missing, unless the env var `CI` is set: then they fail.
#![cfg(feature = "bert")]

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aurora_router::embed::{
    detect_model, open_model, EmbedError, Embedder, MiniLmEmbedder, ModelError, ModelKind,
    PrecomputedEmbeddings,
};
use common::{aurora_cmd, root};

/// `path` if it exists; otherwise `None` with a printed reason, or a panic
/// under CI.
fn needed(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let msg = format!("{what} missing at {}", path.display());
    assert!(std::env::var_os("CI").is_none(), "{msg} (CI is set)");
    eprintln!("skipped: {msg}");
    None
}

fn model_dir() -> Option<PathBuf> {
    needed(
        root().join("models/all-MiniLM-L6-v2"),
        "the MiniLM weights (run scripts/fetch-minilm.sh)",
    )
    .filter(|d| d.join("model.safetensors").is_file())
}

/// One embedder shared by the tests of this binary (loading takes ~0.2 s).
fn minilm() -> Option<&'static MiniLmEmbedder> {
    static E: OnceLock<Option<MiniLmEmbedder>> = OnceLock::new();
    E.get_or_init(|| model_dir().map(|d| MiniLmEmbedder::open(d).unwrap()))
        .as_ref()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// A fake folder holding `files` (name → contents).
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, body) in files {
        let p = d.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    d
}

const MODULES: &str = r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
{"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#;
const POOLING: &str = r#"{"word_embedding_dimension":384,"pooling_mode_mean_tokens":true}"#;

fn model_err(r: Result<MiniLmEmbedder, EmbedError>) -> ModelError {
    match r {
        Err(EmbedError::Model(e)) => e,
        Err(e) => panic!("expected a model error, got {e}"),
        Ok(_) => panic!("expected an error"),
    }
}

#[test]
fn missing_folder_is_a_typed_error() {
    let e = model_err(MiniLmEmbedder::open("/no/such/minilm"));
    assert!(matches!(e, ModelError::MissingFile { .. }), "{e}");
    assert!(e.to_string().contains("/no/such/minilm"));
}

#[test]
fn partial_folder_names_the_missing_file() {
    let d = folder(&[
        ("config.json", r#"{"model_type":"bert"}"#),
        ("modules.json", MODULES),
        ("tokenizer.json", "{}"),
    ]);
    assert_eq!(detect_model(d.path()).0, ModelKind::SentenceTransformers);
    let e = model_err(MiniLmEmbedder::open(d.path()));
    match &e {
        ModelError::MissingFile { file, .. } => assert_eq!(file, "model.safetensors"),
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("fetch-minilm.sh"), "{e}");
    // open_model picks the BERT backend and reports the same error.
    let Err(e) = open_model(d.path()) else {
        panic!("opened a partial folder")
    };
    assert!(e.to_string().contains("model.safetensors"), "{e}");
}

#[test]
fn config_of_another_architecture_is_refused() {
    let d = folder(&[
        (
            "config.json",
            r#"{"model_type":"roberta","hidden_size":768}"#,
        ),
        ("modules.json", MODULES),
        ("tokenizer.json", "{}"),
        ("model.safetensors", "not weights"),
        ("1_Pooling/config.json", POOLING),
    ]);
    let e = model_err(MiniLmEmbedder::open(d.path()));
    match &e {
        ModelError::NotBert { got, .. } => assert_eq!(got, "roberta"),
        other => panic!("{other}"),
    }
}

#[test]
fn unsupported_pooling_and_bad_json_are_typed_errors() {
    let config = std::fs::read_to_string(root().join("tests/fixtures/minilm_config.json")).unwrap();
    let d = folder(&[
        ("config.json", &config),
        ("modules.json", MODULES),
        ("tokenizer.json", "{}"),
        ("model.safetensors", "not weights"),
        (
            "1_Pooling/config.json",
            r#"{"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":false}"#,
        ),
    ]);
    let e = model_err(MiniLmEmbedder::open(d.path()));
    assert!(matches!(e, ModelError::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains("pooling"), "{e}");

    std::fs::write(d.path().join("1_Pooling/config.json"), POOLING).unwrap();
    let e = model_err(MiniLmEmbedder::open(d.path()));
    assert!(matches!(e, ModelError::BadFile { .. }), "{e}");
    assert!(e.to_string().contains("tokenizer.json"), "{e}");

    std::fs::write(d.path().join("config.json"), "{not json").unwrap();
    let e = model_err(MiniLmEmbedder::open(d.path()));
    assert!(matches!(e, ModelError::BadFile { .. }), "{e}");
}

#[test]
fn wrong_sha_is_refused_by_open_verified() {
    let d = folder(&[("model.safetensors", "not the weights")]);
    let e = model_err(MiniLmEmbedder::open_verified(
        d.path(),
        aurora_router::embed::MINILM_L6_V2_SHA256,
    ));
    match &e {
        ModelError::Checksum { got, .. } => assert_eq!(
            got,
            // sha256("not the weights")
            &sha_hex(b"not the weights")
        ),
        other => panic!("{other}"),
    }
}

fn sha_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_folder_without_configs_goes_to_cactus() {
    let d = folder(&[("weights.bin", "x")]);
    assert_eq!(detect_model(d.path()).0, ModelKind::Cactus);
    assert_eq!(detect_model(Path::new("/no/such")).0, ModelKind::Cactus);
}

#[test]
fn empty_text_is_an_error_and_long_text_is_truncated() {
    let Some(e) = minilm() else { return };
    assert!(matches!(e.embed(""), Err(EmbedError::EmptyText)));
    assert!(matches!(e.embed(" \n\t"), Err(EmbedError::EmptyText)));
    assert!(matches!(
        e.embed_batch(&["fine", "  "]),
        Err(EmbedError::EmptyText)
    ));
    assert_eq!(e.max_seq_length(), 256);
    let long = "the quick brown fox jumps over the lazy dog ".repeat(100);
    assert_eq!(e.token_count(&long).unwrap(), 256);
    // Everything past token 256 is ignored.
    let longer = format!("{long} and then something else entirely about chemistry");
    let a = e.embed(&long).unwrap();
    let b = e.embed(&longer).unwrap();
    assert!(cosine(&a, &b) > 0.999_999, "{}", cosine(&a, &b));
    assert_eq!(a.len(), 384);
    assert!((a.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
    assert_eq!(e.model_id(), "all-MiniLM-L6-v2");
    assert!(!e.is_mock());
}

/// Lines of the shared MMLU-Pro questions and the sentence-transformers
/// rows, or None (skipped).
fn shared_mmlu() -> Option<(Vec<String>, PrecomputedEmbeddings)> {
    let dir = needed(root().join("../shared/data/mmlu_pro"), "the shared data")?;
    let texts: Vec<String> = std::fs::read_to_string(dir.join("questions.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let npy =
        PrecomputedEmbeddings::load(dir.join("embeddings_minilm.f16.npy"), "all-MiniLM-L6-v2")
            .unwrap();
    Some((texts, npy))
}

/// Embeds rows `rows` and compares with sentence-transformers: (mean, min) cosine.
fn parity(
    e: &MiniLmEmbedder,
    texts: &[String],
    npy: &PrecomputedEmbeddings,
    rows: &[usize],
) -> (f64, f64) {
    let batch: Vec<&str> = rows.iter().map(|&r| texts[r].as_str()).collect();
    let got = e.embed_batch(&batch).unwrap();
    let cos: Vec<f64> = rows
        .iter()
        .zip(&got)
        .map(|(&r, v)| cosine(v, npy.row(r).unwrap()))
        .collect();
    let mean = cos.iter().sum::<f64>() / cos.len() as f64;
    let min = cos.iter().cloned().fold(f64::INFINITY, f64::min);
    (mean, min)
}

/// A few texts (the longest question among them): small enough for qemu.
#[test]
fn parity_with_sentence_transformers_on_a_few_texts() {
    let Some(e) = minilm() else { return };
    let Some((texts, npy)) = shared_mmlu() else {
        return;
    };
    let longest = (0..texts.len()).max_by_key(|&i| texts[i].len()).unwrap();
    let rows = [0, 1, 2, 1000, 4321, longest];
    let (mean, min) = parity(e, &texts, &npy, &rows);
    assert!(mean >= 0.9999 && min >= 0.999, "mean {mean}, min {min}");
    // embed and embed_batch agree.
    let one = e.embed(&texts[longest]).unwrap();
    assert!(cosine(&one, npy.row(longest).unwrap()) >= 0.999);
}

/// 200 questions: the 50 longest (all truncated at 256 tokens) and 150
/// spread over the file. The full 2,000-row check is in BENCHMARKS.md
/// (`--example minilm_parity`). Skipped under emulation (slow).
#[test]
#[cfg_attr(not(target_arch = "x86_64"), ignore = "slow under qemu")]
fn parity_with_sentence_transformers_on_200_texts() {
    let Some(e) = minilm() else { return };
    let Some((texts, npy)) = shared_mmlu() else {
        return;
    };
    let mut by_len: Vec<usize> = (0..texts.len()).collect();
    by_len.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
    let mut rows: Vec<usize> = by_len[..50].to_vec();
    rows.extend((0..150).map(|k| k * texts.len() / 150));
    rows.sort_unstable();
    rows.dedup();
    let (mean, min) = parity(e, &texts, &npy, &rows);
    eprintln!("{} rows: mean cosine {mean:.7}, min {min:.7}", rows.len());
    assert!(mean >= 0.9999 && min >= 0.999, "mean {mean}, min {min}");
}

#[test]
fn cli_embeds_text_and_prompt_files_with_the_model_folder() {
    let Some(dir) = model_dir() else { return };
    let dir = dir.to_str().unwrap();
    let o = aurora_cmd()
        .args(["embed", "--model", dir, "--text", "route me", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["dim"], 384);
    assert_eq!(v["embedding"].as_array().unwrap().len(), 384);
    assert_eq!(v["is_mock"], false);
    assert_eq!(v["model_id"], "all-MiniLM-L6-v2");

    let t = tempfile::tempdir().unwrap();
    let prompts = t.path().join("p.jsonl");
    std::fs::write(
        &prompts,
        "{\"id\": 1, \"text\": \"route me\"}\n{\"id\": 2, \"text\": \"What is the derivative of x^2?\"}\n",
    )
    .unwrap();
    for (flag, descr) in [(None, "<f2"), (Some("--f32"), "<f4")] {
        let out = t.path().join("e.npy");
        let mut cmd = aurora_cmd();
        cmd.args(["embed", "--model", dir, "--prompts"])
            .arg(&prompts)
            .arg("--out")
            .arg(&out);
        cmd.args(flag);
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            stdout.contains("2 rows") && stdout.contains("all-MiniLM-L6-v2"),
            "{stdout}"
        );
        let bytes = std::fs::read(&out).unwrap();
        assert!(String::from_utf8_lossy(&bytes[..80]).contains(descr));
        let m = PrecomputedEmbeddings::load(&out, "all-MiniLM-L6-v2").unwrap();
        assert_eq!((m.rows(), m.dim()), (2, 384));
        // The sidecar says which model made the rows.
        let side = aurora_router::embed::NpySidecar::read(&out)
            .unwrap()
            .unwrap();
        assert_eq!(
            (side.model.as_str(), side.dim, side.count, side.normalized),
            ("all-MiniLM-L6-v2", 384, 2, true)
        );
        let first: Vec<f64> = v["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let first: Vec<f32> = first.iter().map(|x| *x as f32).collect();
        assert!(cosine(&first, m.row(0).unwrap()) > 0.9999);
    }

    let o = aurora_cmd()
        .args(["doctor", "--json", "--model", dir])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["backend"], "bert");
    assert!(v["backend_reason"]
        .as_str()
        .unwrap()
        .contains("sentence-transformers"));
    assert_eq!(v["model_id"], "all-MiniLM-L6-v2");
    assert_eq!(v["embedding_dim"], 384);
}

#[test]
fn c_entry_point_opens_the_folder_and_reports_bad_paths() {
    use aurora_router::ffi::*;
    use std::ffi::{CStr, CString};
    let bad = CString::new("/no/such/minilm").unwrap();
    // SAFETY: a valid C string.
    let e = unsafe { aurora_embedder_open_minilm(bad.as_ptr()) };
    assert!(e.is_null());
    assert_eq!(aurora_last_error_code(), AuroraStatus::Embedder as i32);
    // SAFETY: the error string is NUL-terminated and lives until the next call.
    let msg = unsafe { CStr::from_ptr(aurora_last_error()) }
        .to_string_lossy()
        .into_owned();
    assert!(msg.contains("/no/such/minilm"), "{msg}");

    let Some(dir) = model_dir() else { return };
    let p = CString::new(dir.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    let e = unsafe { aurora_embedder_open_minilm(p.as_ptr()) };
    assert!(!e.is_null());
    // SAFETY: a live handle.
    assert_eq!(unsafe { aurora_embedder_dim(e) }, 384);
    let text = CString::new("hello").unwrap();
    let mut out = vec![0f32; 384];
    // SAFETY: live handle, C string, 384 writable floats.
    let rc = unsafe { aurora_embedder_embed(e, text.as_ptr(), out.as_mut_ptr(), 384) };
    assert_eq!(rc, 0);
    assert!((out.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
    // SAFETY: a live handle, freed once.
    unsafe { aurora_embedder_free(e) };
}
