//! Shared by the fuzz targets (included with `#[path]`).
#![allow(dead_code)]

use std::path::PathBuf;

use aurora_router::profile::{ProfileFile, Section};

/// A section type's properties on arbitrary bytes: parsing never panics,
/// and a section that parses and validates is written (sealed) and read back
/// as a valid section. (Not compared for equality: serde_json without
/// `float_roundtrip` may move a float by one ulp.)
pub fn check_section<S: Section>(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(section) = S::from_section_json(text) else {
        return;
    };
    if section.validate().is_err() {
        return;
    }
    let mut file = ProfileFile::new();
    file.set_section(&section)
        .expect("a valid section is stored");
    let bytes = file.to_json();
    let again = ProfileFile::from_json(&bytes).expect("a written file reads back");
    again.require::<S>().expect("a written section reads back");
    assert_eq!(again.to_json(), bytes, "write → read → write is stable");
}

/// A scratch path private to this fuzzing process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aurora-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir.join(name)
}
