//! Nearest centroid: unit-length centroids and the one-pass scan over them.

use super::kernel;

/// Why a query vector cannot be routed.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum VectorError {
    /// A component is NaN or infinite.
    #[error("embedding component {index} is not finite ({value})")]
    NonFinite {
        /// Index of the first such component.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// The vector is all zeros: it has no direction.
    #[error("embedding is the zero vector")]
    ZeroVector,
}

/// Scales `row` to unit length in place: `v / ‖v‖`, the norm from the
/// vectorised f32 sum of squares taken in f64. Returns `false` (and leaves
/// `row` alone) when the row is zero or not finite.
///
/// ```
/// let mut v = [3.0f32, 4.0];
/// assert!(aurora_router::routing::unit_row(&mut v));
/// assert_eq!(v, [0.6, 0.8]);
/// assert!(!aurora_router::routing::unit_row(&mut [0.0, 0.0]));
/// ```
pub fn unit_row(row: &mut [f32]) -> bool {
    let ss = f64::from(kernel::sum_squares(row));
    if !(ss.is_finite() && ss > 0.0) {
        return false;
    }
    let inv = 1.0 / ss.sqrt();
    row.iter_mut()
        .for_each(|v| *v = (f64::from(*v) * inv) as f32);
    true
}

/// How the query's norm is applied to its dot products.
#[derive(Clone, Copy)]
pub(crate) enum QueryNorm {
    /// `1 / ‖q‖`, the f32 fast path.
    Fast(f32),
    /// `‖q‖` in f64, for queries whose squared norm leaves f32's range.
    Slow(f64),
}

impl QueryNorm {
    /// The query's norm from one pass that also checks finiteness (a NaN or
    /// an infinity makes the sum of squares non-finite); the exact culprit,
    /// the zero vector and f32 over/underflow are sorted out on the slow
    /// path only.
    #[inline]
    pub(crate) fn of(q: &[f32]) -> Result<Self, VectorError> {
        let ss = kernel::sum_squares(q);
        if ss.is_finite() && ss >= 1e-20 {
            return Ok(QueryNorm::Fast(1.0 / ss.sqrt()));
        }
        if let Some(index) = q.iter().position(|x| !x.is_finite()) {
            return Err(VectorError::NonFinite {
                index,
                value: q[index],
            });
        }
        let ss: f64 = q.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        if ss == 0.0 {
            return Err(VectorError::ZeroVector);
        }
        Ok(QueryNorm::Slow(ss.sqrt()))
    }
}

/// Receives each cluster's similarity during a scan (the top-k buffer for
/// soft assignment, nothing for hard).
pub(crate) trait Sink {
    fn push(&mut self, s: f32, c: usize);
}

impl Sink for () {
    #[inline(always)]
    fn push(&mut self, _: f32, _: usize) {}
}

/// `K` unit-length centroids of dimension `d`, row-major: the float16
/// values a profile stores, re-normalised (float16 rounding moves them off
/// the sphere). Every caller that assigns a vector to a cluster — the
/// router, `add-model`, the baselines — goes through [`Centroids::nearest`]
/// or the router's scan, so they agree on every borderline vector.
#[derive(Clone)]
pub struct Centroids {
    k: usize,
    d: usize,
    rows: Box<[f32]>,
    /// The CPU has AVX2 and FMA (x86-64 only; detected at construction).
    #[cfg(target_arch = "x86_64")]
    avx2_fma: bool,
}

impl std::fmt::Debug for Centroids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Centroids")
            .field("k", &self.k)
            .field("d", &self.d)
            .finish()
    }
}

impl Centroids {
    /// Re-normalises `values` (`K × d`, row-major, `d ≥ 1`). A zero or
    /// non-finite row stays as it is (a validated profile has none).
    pub fn new(values: &[f32], d: usize) -> Self {
        let d = d.max(1);
        let mut rows = values[..values.len() / d * d].to_vec();
        for row in rows.chunks_exact_mut(d) {
            unit_row(row);
        }
        Centroids {
            k: rows.len() / d,
            d,
            rows: rows.into_boxed_slice(),
            #[cfg(target_arch = "x86_64")]
            avx2_fma: std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma"),
        }
    }

    /// Number of centroids `K`.
    pub fn len(&self) -> usize {
        self.k
    }

    /// Whether there is no centroid.
    pub fn is_empty(&self) -> bool {
        self.k == 0
    }

    /// Dimension `d`.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// The unit-length centroid `c` (panics if `c ≥ K`).
    pub fn row(&self, c: usize) -> &[f32] {
        &self.rows[c * self.d..(c + 1) * self.d]
    }

    /// All centroids, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.rows
    }

    /// The cluster `aurora route --hard` assigns `v` to: the most similar
    /// centroid (the earliest among equals), by the router's own kernels.
    /// `v` must have length `d`, finite values and a non-zero norm.
    pub fn nearest(&self, v: &[f32]) -> Result<usize, VectorError> {
        let norm = QueryNorm::of(v)?;
        Ok(self.scan_dispatch(v, norm, 1.0 / DEFAULT_T, &mut ()).0)
    }

    /// Picks the kernel: f64 for out-of-range norms, AVX2 + FMA where the
    /// CPU has them (x86-64), NEON four rows at a time on aarch64, the
    /// portable one otherwise. Returns the nearest cluster, its similarity
    /// and its softmax probability at temperature `1 / inv_t`.
    #[inline(always)]
    pub(crate) fn scan_dispatch<S: Sink>(
        &self,
        q: &[f32],
        norm: QueryNorm,
        inv_t: f32,
        sink: &mut S,
    ) -> (usize, f32, f32) {
        match norm {
            QueryNorm::Fast(inv) => {
                #[cfg(target_arch = "x86_64")]
                if self.avx2_fma {
                    // SAFETY: `avx2_fma` is only set when the running CPU
                    // reports both features (`Centroids::new`).
                    return unsafe { self.scan_avx2_fma(q, inv, inv_t, sink) };
                }
                let one = |r: &[f32]| kernel::dot(q, r) * inv;
                #[cfg(target_arch = "aarch64")]
                let four = |rows: &[f32]| kernel::neon::dot4(q, rows).map(|s| s * inv);
                #[cfg(not(target_arch = "aarch64"))]
                let four = |rows: &[f32]| Self::each_row(rows, self.d, one);
                self.scan(four, one, inv_t, sink)
            }
            QueryNorm::Slow(n) => {
                let one = |r: &[f32]| (kernel::dot_f64(q, r) / n) as f32;
                self.scan(
                    |rows: &[f32]| Self::each_row(rows, self.d, one),
                    one,
                    inv_t,
                    sink,
                )
            }
        }
    }

    /// Four single-row similarities.
    #[inline(always)]
    fn each_row(rows: &[f32], d: usize, one: impl Fn(&[f32]) -> f32) -> [f32; 4] {
        let mut out = [0.0; 4];
        for (o, r) in out.iter_mut().zip(rows.chunks_exact(d)) {
            *o = one(r);
        }
        out
    }

    /// [`scan`](Self::scan) with the AVX2 + FMA kernels (four rows at a time).
    ///
    /// # Safety
    ///
    /// The CPU must support `avx2` and `fma`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn scan_avx2_fma<S: Sink>(
        &self,
        q: &[f32],
        inv: f32,
        inv_t: f32,
        sink: &mut S,
    ) -> (usize, f32, f32) {
        // SAFETY (both closures): the caller guarantees the features.
        self.scan(
            |rows: &[f32]| unsafe { kernel::avx2::dot4(q, rows) }.map(|s| s * inv),
            |r: &[f32]| unsafe { kernel::avx2::dot(q, r) } * inv,
            inv_t,
            sink,
        )
    }

    /// One pass over the centroids, four rows at a time (`four`) then one
    /// (`one`): the nearest cluster (earliest among equals), its similarity,
    /// and its softmax probability at temperature `1 / inv_t`, accumulated
    /// online (the running sum is rescaled when the maximum moves), so each
    /// cluster costs one dot product and at most one `exp`.
    #[inline(always)]
    fn scan<F4, F1, S>(&self, four: F4, one: F1, inv_t: f32, sink: &mut S) -> (usize, f32, f32)
    where
        F4: Fn(&[f32]) -> [f32; 4],
        F1: Fn(&[f32]) -> f32,
        S: Sink,
    {
        // Start below any similarity so the first cluster becomes the best
        // with z = 0 · e^… + 1 = 1.
        let (mut best, mut best_s, mut z) = (0usize, f32::NEG_INFINITY, 0.0f32);
        let mut visit = |c: usize, s: f32| {
            if s > best_s {
                // For the first cluster z = 0, so z becomes 1.
                z = z * kernel::exp_neg((best_s - s) * inv_t) + 1.0;
                best_s = s;
                best = c;
            } else {
                z += kernel::exp_neg((s - best_s) * inv_t);
            }
            sink.push(s, c);
        };
        let blocks = self.rows.chunks_exact(4 * self.d);
        let rest = blocks.remainder();
        let mut c = 0;
        for block in blocks {
            for s in four(block) {
                visit(c, s);
                c += 1;
            }
        }
        for row in rest.chunks_exact(self.d) {
            visit(c, one(row));
            c += 1;
        }
        (best, best_s, 1.0 / z)
    }
}

const DEFAULT_T: f32 = super::DEFAULT_TEMPERATURE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_is_the_first_of_equals_and_rejects_bad_vectors() {
        let c = Centroids::new(&[1.0, 0.0, 0.0, 1.0, 1.0, 0.0], 2);
        assert_eq!(c.len(), 3);
        assert_eq!(c.nearest(&[1.0, 0.0]).unwrap(), 0);
        assert_eq!(c.nearest(&[0.0, 3.0]).unwrap(), 1);
        assert_eq!(c.nearest(&[0.0, 0.0]), Err(VectorError::ZeroVector));
        assert!(matches!(
            c.nearest(&[f32::NAN, 0.0]),
            Err(VectorError::NonFinite { index: 0, .. })
        ));
        // Far outside f32's squared range: the f64 path.
        assert_eq!(c.nearest(&[0.0, 3e30]).unwrap(), 1);
    }
}
