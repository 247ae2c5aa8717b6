//! The build cache: embeddings keyed by sha256 of the corpus and the
//! embedding model, trees by corpus + configuration + model.
//!
//! Files in the cache directory: `emb-<key>.bin` (little-endian `u64` rows,
//! `u64` dim, then `f32` values row-major) and `tree-<key>.json` (a profile
//! file holding the `taxonomy` section).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::TaxonomyError;

fn hex(d: impl AsRef<[u8]>) -> String {
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of the texts (length-prefixed, in order) and the model id.
pub fn embeddings_key<S: AsRef<str>>(texts: &[S], model: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"aurora-taxonomy-emb-v1\0");
    h.update(model.as_bytes());
    h.update([0]);
    for t in texts {
        let t = t.as_ref().as_bytes();
        h.update((t.len() as u64).to_le_bytes());
        h.update(t);
    }
    hex(h.finalize())
}

/// sha256 of the embeddings key, the embeddings themselves, and the
/// configuration (its JSON).
pub fn tree_key(emb_key: &str, embeddings: &[f32], config_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"aurora-taxonomy-tree-v1\0");
    h.update(emb_key.as_bytes());
    for v in embeddings {
        h.update(v.to_le_bytes());
    }
    h.update(config_json.as_bytes());
    hex(h.finalize())
}

/// Path of a cached embeddings file.
pub fn embeddings_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("emb-{key}.bin"))
}

/// Path of a cached tree.
pub fn tree_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("tree-{key}.json"))
}

/// Writes embeddings (rows × dim) to the cache.
pub fn write_embeddings(
    path: &Path,
    rows: usize,
    dim: usize,
    data: &[f32],
) -> Result<(), TaxonomyError> {
    let mut bytes = Vec::with_capacity(16 + data.len() * 4);
    bytes.extend((rows as u64).to_le_bytes());
    bytes.extend((dim as u64).to_le_bytes());
    for v in data {
        bytes.extend(v.to_le_bytes());
    }
    write_atomic(path, &bytes)
}

/// Reads cached embeddings: `(rows, dim, values)`; `None` when the file is
/// missing or malformed (then the caller recomputes).
pub fn read_embeddings(path: &Path) -> Option<(usize, usize, Vec<f32>)> {
    let bytes = std::fs::read(path).ok()?;
    let rows = u64::from_le_bytes(bytes.get(0..8)?.try_into().ok()?) as usize;
    let dim = u64::from_le_bytes(bytes.get(8..16)?.try_into().ok()?) as usize;
    let body = bytes.get(16..)?;
    if rows.checked_mul(dim)?.checked_mul(4)? != body.len() {
        return None;
    }
    let data = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Some((rows, dim, data))
}

/// Writes a file through a temporary name, so a reader never sees half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TaxonomyError> {
    let io = |source| TaxonomyError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
