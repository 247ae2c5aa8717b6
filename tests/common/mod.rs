//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod route;

use std::path::{Path, PathBuf};
use std::process::Command;

/// `bytes` (a sealed profile file as the SDK writes it) without its seal, so
/// a test can edit a value and see the reader's validation error rather than
/// the seal mismatch.
pub fn unseal(bytes: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).expect("a profile file is UTF-8");
    let at = text
        .rfind(",\"seal\":{")
        .expect("a file written by the SDK is sealed");
    format!("{}}}\n", &text[..at]).into_bytes()
}

/// The 300-prompt fixture (`tests/fixtures`) as a labelled set, and its
/// MiniLM rows normalised to unit length.
#[cfg(feature = "builder")]
pub fn fixture_set() -> (
    aurora_router::data::LabelledSet,
    aurora_router::embed::PrecomputedEmbeddings,
) {
    let set = aurora_router::data::LabelledSet::load(
        &fixture("prompts.jsonl"),
        &fixture("results.csv"),
        &fixture("models.json"),
    )
    .unwrap();
    let mut e = aurora_router::embed::PrecomputedEmbeddings::load(
        fixture("embeddings_minilm.f16.npy"),
        "all-MiniLM-L6-v2",
    )
    .unwrap();
    e.check_rows(set.prompts.len()).unwrap();
    e.normalize_rows().unwrap();
    (set, e)
}

/// The repo root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The program (and its arguments) that runs a binary built for this
/// target, or nothing when the host runs it directly.
///
/// When the tests run under an emulator (the aarch64 build under
/// `qemu-aarch64` on an x86-64 host), the host kernel cannot exec an aarch64
/// binary they spawn unless binfmt_misc is set up, which containers often
/// lack. `AURORA_TEST_RUNNER` names the runner explicitly; otherwise an
/// aarch64 test on a non-aarch64 host uses `qemu-aarch64 -L
/// /usr/aarch64-linux-gnu`, the runner `.cargo/config.toml` gives cargo.
pub fn emulator() -> Vec<String> {
    if let Ok(runner) = std::env::var("AURORA_TEST_RUNNER") {
        return runner.split_whitespace().map(String::from).collect();
    }
    if cfg!(all(target_arch = "aarch64", target_os = "linux")) {
        // `uname` is a host binary: under qemu-user it reports the host.
        let host_is_aarch64 = Command::new("uname")
            .arg("-m")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "aarch64");
        if !host_is_aarch64 {
            return ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]
                .map(String::from)
                .to_vec();
        }
    }
    Vec::new()
}

/// A `Command` running the `aurora` binary built for these tests (through
/// [`emulator`] when there is one).
#[cfg(feature = "cli")]
pub fn aurora_cmd() -> Command {
    let exe = env!("CARGO_BIN_EXE_aurora");
    let mut words = emulator().into_iter();
    match words.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(words).arg(exe);
            cmd
        }
        None => Command::new(exe),
    }
}

/// Runs `aurora` with `args` and returns its output.
pub fn aurora(args: &[&str]) -> std::process::Output {
    aurora_cmd().args(args).output().expect("run aurora")
}

/// The 300-question fixture derived from the shared MMLU-Pro data.
pub fn fixture(file: &str) -> PathBuf {
    root().join("tests/fixtures/mmlu_small").join(file)
}

/// `../shared/data/<rel>` relative to the repo root, or `None` (with the
/// reason printed) when the shared data is not there: a user's clone has
/// no `../shared`, and such a test skips itself (`let Some(dir) =
/// shared_data(…) else { return };`). When the `CI` environment variable is
/// set, missing data is a failure instead.
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    let p = root().join("../shared/data").join(rel);
    if p.exists() {
        return Some(p);
    }
    let why = format!(
        "this test needs the shared evaluation data at {} (../shared/data relative to the repo root); it is missing",
        p.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{why} (CI is set)");
    eprintln!("skipped: {why}");
    None
}

/// Writes `contents` to `name` inside `dir` and returns the path.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

/// A minimal `.npy` (version 1.0) of the given dtype descriptor and shape.
pub fn npy_bytes(descr: &str, shape: &[usize], fortran: bool, payload: &[u8]) -> Vec<u8> {
    let shape_s = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape_s}, }}",
        if fortran { "True" } else { "False" }
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// Little-endian f32 payload.
pub fn f32_payload(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
