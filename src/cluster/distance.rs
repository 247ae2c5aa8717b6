//! The pairwise cosine distance matrix shared by every clustering candidate.

use ndarray::ArrayView2;

use super::ClusterError;

/// A dense, symmetric `n × n` matrix of cosine distances (`1 − cos`) between
/// L2-normalised rows, stored row-major as `f32`, with an exact zero
/// diagonal and every entry clamped to `[0, 2]`.
///
/// It costs `4·n²` bytes (277 MB for 8,315 points) and is computed once per
/// build; HDBSCAN's core distances, its minimum spanning tree and the exact
/// silhouette of every candidate all read from it.
#[derive(Debug, Clone)]
pub struct DistanceMatrix {
    n: usize,
    data: Vec<f32>,
}

impl DistanceMatrix {
    /// Computes cosine distances between the rows of `x`, which must already
    /// be L2-normalised (so `cos` is the dot product).
    pub fn cosine(x: ArrayView2<'_, f32>) -> Result<Self, ClusterError> {
        let n = x.nrows();
        if n < 2 {
            return Err(ClusterError::Data(format!(
                "need at least 2 points, got {n}"
            )));
        }
        let gram = x.dot(&x.t());
        let mut data = gram.into_raw_vec_and_offset().0;
        for i in 0..n {
            for j in 0..n {
                let v = &mut data[i * n + j];
                *v = if i == j {
                    0.0
                } else {
                    (1.0 - *v).clamp(0.0, 2.0)
                };
            }
        }
        // Make it exactly symmetric (the GEMM may round (i,j) and (j,i) differently).
        for i in 0..n {
            for j in (i + 1)..n {
                let v = data[i * n + j];
                data[j * n + i] = v;
            }
        }
        Ok(Self { n, data })
    }

    /// Euclidean distances between the rows of `x` (any scale; used on a
    /// UMAP layout, where HDBSCAN and the silhouette read Euclidean
    /// distances as umap-learn + hdbscan do). Exact zero diagonal, exactly
    /// symmetric.
    pub fn euclidean(x: ArrayView2<'_, f32>) -> Result<Self, ClusterError> {
        let n = x.nrows();
        if n < 2 {
            return Err(ClusterError::Data(format!(
                "need at least 2 points, got {n}"
            )));
        }
        let sq: Vec<f32> = x.rows().into_iter().map(|r| r.dot(&r)).collect();
        let gram = x.dot(&x.t());
        let mut data = gram.into_raw_vec_and_offset().0;
        for i in 0..n {
            for j in i..n {
                let v = if i == j {
                    0.0
                } else {
                    (sq[i] + sq[j] - 2.0 * data[i * n + j]).max(0.0).sqrt()
                };
                data[i * n + j] = v;
                data[j * n + i] = v;
            }
        }
        if data.iter().any(|v| !v.is_finite()) {
            return Err(ClusterError::Data("non-finite coordinates".into()));
        }
        Ok(Self { n, data })
    }

    /// Builds a matrix from raw row-major data, checking its shape, symmetry
    /// and values. Mostly for tests and for callers with their own metric.
    pub fn from_raw(n: usize, data: Vec<f32>) -> Result<Self, ClusterError> {
        if data.len() != n * n {
            return Err(ClusterError::Data(format!(
                "distance matrix has {} entries, expected {n}×{n}",
                data.len()
            )));
        }
        for i in 0..n {
            if data[i * n + i] != 0.0 {
                return Err(ClusterError::Data(format!("diagonal entry {i} is not 0")));
            }
            for j in 0..n {
                let v = data[i * n + j];
                if !v.is_finite() || v < 0.0 || v != data[j * n + i] {
                    return Err(ClusterError::Data(format!(
                        "entry ({i},{j}) = {v} is negative, non-finite or asymmetric"
                    )));
                }
            }
        }
        Ok(Self { n, data })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the matrix has no points (never true for a built matrix).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Distances from point `i` to every point.
    #[inline]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.n..(i + 1) * self.n]
    }

    /// Distance between points `i` and `j`.
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.n + j]
    }
}
