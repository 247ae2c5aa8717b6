//! The sidecar of a `.npy` embedding matrix: `E.npy.json` beside `E.npy`,
//! written by `aurora embed --out E.npy`, says which model made the rows so
//! that every reader can refuse rows of another model.
//!
//! ```
//! use aurora_router::embed::NpySidecar;
//! let dir = std::env::temp_dir().join(format!("aurora-sidecar-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let npy = dir.join("e.npy");
//! let s = NpySidecar { model: "all-MiniLM-L6-v2".into(), dim: 384, normalized: true, count: 3, is_mock: false };
//! s.write(&npy)?;
//! assert_eq!(NpySidecar::read(&npy)?, Some(s));
//! assert_eq!(NpySidecar::path_for(&npy), dir.join("e.npy.json"));
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), aurora_router::embed::EmbedError>(())
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::EmbedError;

/// What `E.npy.json` says about `E.npy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NpySidecar {
    /// The model that made the rows (an embedder's `model_id`).
    pub model: String,
    /// Columns of the matrix.
    pub dim: usize,
    /// Whether the rows are L2-normalised.
    pub normalized: bool,
    /// Rows of the matrix.
    pub count: usize,
    /// Whether the rows came from the mock Cactus.
    #[serde(default)]
    pub is_mock: bool,
}

impl NpySidecar {
    /// `E.npy` → `E.npy.json`.
    pub fn path_for(npy: &Path) -> PathBuf {
        let mut s = npy.as_os_str().to_owned();
        s.push(".json");
        PathBuf::from(s)
    }

    /// Reads the sidecar of `npy`; `Ok(None)` when there is none.
    pub fn read(npy: &Path) -> Result<Option<Self>, EmbedError> {
        let path = Self::path_for(npy);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(EmbedError::Npy {
                    path,
                    reason: e.to_string(),
                })
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| EmbedError::Npy {
                path,
                reason: format!("not a valid sidecar ({{model, dim, normalized, count}}): {e}"),
            })
    }

    /// Writes the sidecar of `npy`.
    pub fn write(&self, npy: &Path) -> Result<(), EmbedError> {
        let path = Self::path_for(npy);
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        std::fs::write(&path, bytes).map_err(|e| EmbedError::Npy {
            path,
            reason: format!("cannot write: {e}"),
        })
    }

    /// Checks a loaded matrix against the sidecar: same rows and columns.
    pub fn check(&self, npy: &Path, rows: usize, dim: usize) -> Result<(), EmbedError> {
        if rows != self.count || dim != self.dim {
            return Err(EmbedError::Npy {
                path: npy.to_path_buf(),
                reason: format!(
                    "{rows} rows × {dim}, but its sidecar {} says {} × {}: the two files do not belong together",
                    Self::path_for(npy).display(),
                    self.count,
                    self.dim
                ),
            });
        }
        Ok(())
    }
}
