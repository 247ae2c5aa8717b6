//! [`F16Matrix`]: the compact form every section stores vectors in.
//!
//! On the wire a matrix is `{"dtype": "float16", "encoding": "base64-le",
//! "shape": [rows, cols], "data": "<base64>"}`: the values as IEEE float16,
//! little-endian, row-major, base64 (standard alphabet, padded). In memory
//! the values are `f32`, holding exactly the float16 values.
//!
//! ```
//! use aurora_router::profile::F16Matrix;
//! let m = F16Matrix::from_rows(2, 2, &[1.0, 0.0, 0.1, 0.3]).unwrap();
//! assert_eq!(m.row(0), &[1.0, 0.0]);
//! assert_eq!(m.row(1)[0], half::f16::from_f32(0.1).to_f32()); // rounded to float16
//! let json = serde_json::to_string(&m).unwrap();
//! assert_eq!(serde_json::from_str::<F16Matrix>(&json).unwrap(), m);
//! ```

use base64::Engine as _;
use half::f16;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::ProfileError;

/// Largest number of values a matrix may hold, so a hostile file cannot
/// exhaust memory.
pub const MAX_MATRIX_VALUES: usize = 16 << 20;

/// A row-major matrix of float16 values (held as the equal `f32`s).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct F16Matrix {
    rows: usize,
    cols: usize,
    values: Vec<f32>,
}

impl F16Matrix {
    /// A `rows × cols` matrix from row-major `values`, rounded to float16.
    /// Fails when the length does not match, a value is not finite, or a
    /// value overflows float16.
    pub fn from_rows(rows: usize, cols: usize, values: &[f32]) -> Result<Self, ProfileError> {
        if rows.checked_mul(cols) != Some(values.len()) {
            return Err(ProfileError::invalid(
                "shape",
                format!("{} values, expected {rows} × {cols}", values.len()),
            ));
        }
        if values.len() > MAX_MATRIX_VALUES {
            return Err(ProfileError::invalid(
                "shape",
                format!("{rows} × {cols} is larger than the {MAX_MATRIX_VALUES}-value limit"),
            ));
        }
        let mut out = Vec::with_capacity(values.len());
        for (i, &v) in values.iter().enumerate() {
            let h = f16::from_f32(v).to_f32();
            if !h.is_finite() {
                return Err(ProfileError::invalid(
                    format!("data[{}][{}]", i / cols.max(1), i % cols.max(1)),
                    format!("{v} is not a finite float16 value"),
                ));
            }
            out.push(h);
        }
        Ok(F16Matrix {
            rows,
            cols,
            values: out,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i` (panics when `i ≥ rows`).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.values
    }

    /// Consumes the matrix, returning its row-major values.
    pub fn into_vec(self) -> Vec<f32> {
        self.values
    }

    /// The base64 of the little-endian float16 bytes.
    fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(self.values.len() * 2);
        for &v in &self.values {
            bytes.extend_from_slice(&f16::from_f32(v).to_le_bytes());
        }
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    }
}

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    dtype: std::borrow::Cow<'a, str>,
    encoding: std::borrow::Cow<'a, str>,
    shape: [u64; 2],
    data: std::borrow::Cow<'a, str>,
}

impl Serialize for F16Matrix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            dtype: "float16".into(),
            encoding: "base64-le".into(),
            shape: [self.rows as u64, self.cols as u64],
            data: self.encode().into(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for F16Matrix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let w = Wire::deserialize(d)?;
        if w.dtype != "float16" {
            return Err(D::Error::custom(format!(
                "dtype `{}`: only `float16` is supported",
                w.dtype
            )));
        }
        if w.encoding != "base64-le" {
            return Err(D::Error::custom(format!(
                "encoding `{}`: only `base64-le` is supported",
                w.encoding
            )));
        }
        let [rows, cols] = w.shape;
        let n = rows
            .checked_mul(cols)
            .filter(|&n| n <= MAX_MATRIX_VALUES as u64)
            .ok_or_else(|| D::Error::custom(format!("shape [{rows}, {cols}] is too large")))?
            as usize;
        let expected = (n * 2).div_ceil(3) * 4;
        if w.data.len() != expected {
            return Err(D::Error::custom(format!(
                "data has {} base64 characters, expected {expected} for [{rows}, {cols}] float16 values",
                w.data.len()
            )));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(w.data.as_bytes())
            .map_err(|e| D::Error::custom(format!("data is not valid base64: {e}")))?;
        if bytes.len() != n * 2 {
            return Err(D::Error::custom(format!(
                "data has {} bytes, expected {}",
                bytes.len(),
                n * 2
            )));
        }
        let mut values = Vec::with_capacity(n);
        for (i, b) in bytes.chunks_exact(2).enumerate() {
            let v = f16::from_le_bytes([b[0], b[1]]).to_f32();
            if !v.is_finite() {
                let c = cols.max(1) as usize;
                return Err(D::Error::custom(format!(
                    "data[{}][{}] is not finite",
                    i / c,
                    i % c
                )));
            }
            values.push(v);
        }
        Ok(F16Matrix {
            rows: rows as usize,
            cols: cols as usize,
            values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let m = F16Matrix::from_rows(3, 2, &[1.0, -2.0, 0.5, 0.25, 65504.0, 0.0]).unwrap();
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<F16Matrix>(&s).unwrap(), m);
        assert!(F16Matrix::from_rows(2, 2, &[1.0]).is_err());
        assert!(F16Matrix::from_rows(1, 1, &[1e6]).is_err());
        assert!(F16Matrix::from_rows(1, 1, &[f32::NAN]).is_err());
        for bad in [
            r#"{"dtype":"float32","encoding":"base64-le","shape":[1,1],"data":"ADw="}"#,
            r#"{"dtype":"float16","encoding":"hex","shape":[1,1],"data":"ADw="}"#,
            r#"{"dtype":"float16","encoding":"base64-le","shape":[1,2],"data":"ADw="}"#,
            r#"{"dtype":"float16","encoding":"base64-le","shape":[1,1],"data":"!!!="}"#,
            r#"{"dtype":"float16","encoding":"base64-le","shape":[1,1],"data":"AHw="}"#,
            r#"{"dtype":"float16","encoding":"base64-le","shape":[4294967296,4294967296],"data":""}"#,
        ] {
            assert!(serde_json::from_str::<F16Matrix>(bad).is_err(), "{bad}");
        }
    }
}
