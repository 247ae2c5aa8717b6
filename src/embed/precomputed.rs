//! Embeddings computed elsewhere and stored as a NumPy `.npy` matrix.

use std::path::{Path, PathBuf};

use ndarray::ArrayView2;

use super::{check_finite, EmbedError};

/// A matrix of precomputed embeddings, row `i` embedding prompt line `i`.
///
/// Loaded from a 2-D, C-order `.npy` file of little-endian float16 (`<f2`)
/// or float32 (`<f4`); every value must be finite. Rows are kept as given
/// (normalise them with [`normalize_rows`](Self::normalize_rows)).
///
/// ```no_run
/// use aurora_router::embed::PrecomputedEmbeddings;
/// let e = PrecomputedEmbeddings::load("embeddings.npy", "all-MiniLM-L6-v2")?;
/// e.check_rows(8315)?;
/// println!("{} × {}", e.rows(), e.dim());
/// # Ok::<(), aurora_router::embed::EmbedError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PrecomputedEmbeddings {
    path: PathBuf,
    model_id: String,
    rows: usize,
    dim: usize,
    data: Vec<f32>,
}

/// Largest `.npy` header accepted (the format's own limit for version 1).
const MAX_NPY_HEADER: usize = 65_535;

/// Checks the `.npy` header's shape before the Python-literal parser sees
/// it: at most [`MAX_NPY_HEADER`] bytes, one `{…}` dict, no `[` (structured
/// dtypes are not supported) and no nested `(`. A deeply nested header made
/// the parser run for minutes (found by fuzzing, `fuzz/` target `npy`).
fn check_npy_header(bytes: &[u8], path: &Path) -> Result<(), EmbedError> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < 10 || !bytes.starts_with(MAGIC) {
        return Err(npy_err(
            path,
            "not a valid .npy file: no NUMPY magic".into(),
        ));
    }
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => {
            return Err(npy_err(
                path,
                format!("not a valid .npy file: format version {v}"),
            ))
        }
    };
    if len > MAX_NPY_HEADER {
        return Err(npy_err(
            path,
            format!("header of {len} bytes (at most {MAX_NPY_HEADER})"),
        ));
    }
    let header = &bytes[start..bytes.len().min(start + len)];
    let (mut paren, mut brace) = (0i32, 0i32);
    for &b in header {
        match b {
            b'[' => {
                return Err(npy_err(
                    path,
                    "unsupported dtype: structured arrays are not embeddings".into(),
                ))
            }
            b'(' => paren += 1,
            b')' => paren -= 1,
            b'{' => brace += 1,
            b'}' => brace -= 1,
            _ => {}
        }
        if !(0..=1).contains(&paren) || !(0..=1).contains(&brace) {
            return Err(npy_err(
                path,
                "not a valid .npy file: malformed header".into(),
            ));
        }
    }
    // The shape's element count must fit in 64 bits (the parser multiplies
    // it unchecked; found by fuzzing).
    if let (Some(open), Some(close)) = (
        header.iter().position(|&b| b == b'('),
        header.iter().position(|&b| b == b')'),
    ) {
        if open < close {
            let mut count: Option<u64> = Some(1);
            for dim in header[open + 1..close].split(|&b| b == b',') {
                let dim = std::str::from_utf8(dim).unwrap_or("").trim();
                if dim.is_empty() {
                    continue;
                }
                // numpy writes plain decimal digits; refuse anything else
                // (`+16`, `1_0`, `0x10` slipped past a digits-only check).
                if !dim.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(npy_err(
                        path,
                        format!(
                            "not a valid .npy file: shape entry `{dim}` is not a decimal integer"
                        ),
                    ));
                }
                count = dim
                    .parse::<u64>()
                    .ok()
                    .and_then(|d| count.and_then(|c| c.checked_mul(d)));
            }
            if count.is_none() {
                return Err(npy_err(
                    path,
                    "truncated: the header's shape has more elements than 2^64".into(),
                ));
            }
        }
    }
    Ok(())
}

impl PrecomputedEmbeddings {
    /// Loads a `.npy` file. `model_id` names the model that produced the
    /// vectors (recorded in profiles; `"precomputed"` when unknown).
    pub fn load(path: impl AsRef<Path>, model_id: &str) -> Result<Self, EmbedError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| npy_err(path, format!("cannot read: {e}")))?;
        Self::from_npy_bytes(&bytes, path, model_id)
    }

    /// Parses `.npy` bytes; `path` is only used in error messages.
    pub fn from_npy_bytes(bytes: &[u8], path: &Path, model_id: &str) -> Result<Self, EmbedError> {
        check_npy_header(bytes, path)?;
        let npy = npyz::NpyFile::new(bytes)
            .map_err(|e| npy_err(path, format!("not a valid .npy file: {e}")))?;
        let shape = npy.shape().to_vec();
        if shape.len() != 2 {
            return Err(npy_err(
                path,
                format!("expected a 2-D matrix (rows × dim), got shape {shape:?}"),
            ));
        }
        if npy.order() != npyz::Order::C {
            return Err(npy_err(
                path,
                "expected C (row-major) order, got Fortran order".into(),
            ));
        }
        let (rows, dim) = (shape[0] as usize, shape[1] as usize);
        if rows == 0 || dim == 0 {
            return Err(npy_err(path, format!("empty matrix of shape {shape:?}")));
        }
        // A hostile shape must not allocate beyond the data present.
        let values = usize::try_from(shape[0])
            .ok()
            .zip(usize::try_from(shape[1]).ok())
            .and_then(|(r, d)| r.checked_mul(d));
        if values.is_none_or(|v| v > bytes.len() / 2) {
            return Err(npy_err(
                path,
                format!("truncated: shape {shape:?} needs more data than the file holds"),
            ));
        }
        let descr = match npy.dtype() {
            npyz::DType::Plain(t) => t.to_string(),
            other => format!("{other:?}"),
        };
        let data: Vec<f32> = match descr.as_str() {
            "<f4" => npy
                .into_vec::<f32>()
                .map_err(|e| npy_err(path, format!("cannot read float32 data: {e}")))?,
            "<f2" => npy
                .into_vec::<half::f16>()
                .map_err(|e| npy_err(path, format!("cannot read float16 data: {e}")))?
                .into_iter()
                .map(f32::from)
                .collect(),
            other => {
                return Err(npy_err(
                    path,
                    format!("unsupported dtype {other}: expected little-endian float16 (<f2) or float32 (<f4)"),
                ))
            }
        };
        if data.len() != rows * dim {
            return Err(npy_err(
                path,
                format!("truncated: {} values for shape [{rows}, {dim}]", data.len()),
            ));
        }
        let name = path.display().to_string();
        for (r, row) in data.chunks_exact(dim).enumerate() {
            check_finite(&name, r, row)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            model_id: model_id.to_string(),
            rows,
            dim,
            data,
        })
    }

    /// Builds from an in-memory row-major matrix (checked like a file).
    pub fn from_rows(
        data: Vec<f32>,
        dim: usize,
        model_id: &str,
        source_name: &str,
    ) -> Result<Self, EmbedError> {
        let path = PathBuf::from(source_name);
        if dim == 0 || data.is_empty() || data.len() % dim != 0 {
            return Err(npy_err(
                &path,
                format!("{} values do not form rows of dimension {dim}", data.len()),
            ));
        }
        for (r, row) in data.chunks_exact(dim).enumerate() {
            check_finite(source_name, r, row)?;
        }
        Ok(Self {
            rows: data.len() / dim,
            path,
            model_id: model_id.to_string(),
            dim,
            data,
        })
    }

    /// Fails unless there is exactly one row per prompt.
    pub fn check_rows(&self, prompts: usize) -> Result<(), EmbedError> {
        if self.rows != prompts {
            return Err(EmbedError::RowCount {
                path: self.path.clone(),
                expected: prompts,
                got: self.rows,
            });
        }
        Ok(())
    }

    /// L2-normalises every row; a zero row is an error naming it.
    pub fn normalize_rows(&mut self) -> Result<(), EmbedError> {
        for (r, row) in self.data.chunks_exact_mut(self.dim).enumerate() {
            if super::l2_normalize(row) == 0.0 {
                return Err(npy_err(&self.path, format!("row {r} is a zero vector")));
            }
        }
        Ok(())
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Dimension of each row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The model that produced the vectors.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> Result<&[f32], EmbedError> {
        if i >= self.rows {
            return Err(EmbedError::RowOutOfRange {
                row: i,
                rows: self.rows,
            });
        }
        Ok(&self.data[i * self.dim..(i + 1) * self.dim])
    }

    /// The whole matrix as an `rows × dim` view.
    pub fn view(&self) -> ArrayView2<'_, f32> {
        ArrayView2::from_shape((self.rows, self.dim), &self.data).expect("shape checked on load")
    }

    /// The row-major data.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }
}

fn npy_err(path: &Path, reason: String) -> EmbedError {
    EmbedError::Npy {
        path: path.to_path_buf(),
        reason,
    }
}
