//! Mean silhouette coefficient with cosine distance, read from the shared
//! [`DistanceMatrix`].

use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::{ClusterError, DistanceMatrix};

/// Which points the silhouette is averaged over.
#[derive(Debug, Clone, PartialEq)]
pub enum SilhouetteSample {
    /// Every point (exact).
    All,
    /// A seeded uniform sample of point indices (sorted).
    Indices(Vec<usize>),
}

impl SilhouetteSample {
    /// Exact when `n ≤ max_exact`, else a sample of `max_exact` points drawn
    /// with `seed` (partial Fisher–Yates, so the same seed gives the same
    /// sample on every platform).
    pub fn for_size(n: usize, max_exact: usize, seed: u64) -> Self {
        if n <= max_exact {
            return Self::All;
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5111_0e77e);
        let mut idx: Vec<usize> = (0..n).collect();
        for i in 0..max_exact {
            let j = i + (rng.next_u64() % (n - i) as u64) as usize;
            idx.swap(i, j);
        }
        idx.truncate(max_exact);
        idx.sort_unstable();
        Self::Indices(idx)
    }
}

/// Mean silhouette of `labels` (cluster ids `0..k`) over `sample`, with the
/// distances in `d`.
///
/// For point `i` in cluster `A`: `a` = mean distance to the other members of
/// `A`, `b` = the smallest mean distance to the members of another cluster,
/// `s(i) = (b − a) / max(a, b)`, and `s(i) = 0` when `A` is a singleton (the
/// scikit-learn convention). With a sample, `a` and `b` are measured within
/// the sample, as `sklearn.metrics.silhouette_score(sample_size=…)` does.
///
/// ```
/// use aurora_router::cluster::{DistanceMatrix, silhouette::{silhouette, SilhouetteSample}};
/// // Two tight pairs far apart.
/// let d = DistanceMatrix::from_raw(4, vec![
///     0.0, 0.1, 1.0, 1.0,
///     0.1, 0.0, 1.0, 1.0,
///     1.0, 1.0, 0.0, 0.1,
///     1.0, 1.0, 0.1, 0.0]).unwrap();
/// let s = silhouette(&d, &[0, 0, 1, 1], 2, &SilhouetteSample::All).unwrap();
/// assert!((s - 0.9).abs() < 1e-6);
/// ```
pub fn silhouette(
    d: &DistanceMatrix,
    labels: &[usize],
    k: usize,
    sample: &SilhouetteSample,
) -> Result<f64, ClusterError> {
    let n = d.len();
    if labels.len() != n {
        return Err(ClusterError::Data(format!(
            "{} labels for {n} points",
            labels.len()
        )));
    }
    if let Some(&bad) = labels.iter().find(|&&l| l >= k) {
        return Err(ClusterError::Data(format!("label {bad} ≥ k = {k}")));
    }
    let points: Vec<usize> = match sample {
        SilhouetteSample::All => (0..n).collect(),
        SilhouetteSample::Indices(idx) => {
            if idx.iter().any(|&i| i >= n) {
                return Err(ClusterError::Data("sample index out of range".into()));
            }
            idx.clone()
        }
    };
    let mut sizes = vec![0usize; k];
    for &i in &points {
        sizes[labels[i]] += 1;
    }
    if sizes.iter().filter(|&&s| s > 0).count() < 2 {
        return Err(ClusterError::Data(
            "silhouette needs at least 2 non-empty clusters".into(),
        ));
    }
    let exact = matches!(sample, SilhouetteSample::All);
    // Per-point values are collected in order and summed sequentially, so
    // the score does not depend on how rayon split the work.
    let per_point: Vec<f64> = points
        .par_iter()
        .map(|&i| {
            let row = d.row(i);
            let mut sums = vec![0.0f64; k];
            if exact {
                // Sum per cluster in f32 chunks, then accumulate in f64.
                for (chunk_d, chunk_l) in row.chunks(256).zip(labels.chunks(256)) {
                    let mut local = [0.0f32; 64];
                    if k <= 64 {
                        for (&dist, &l) in chunk_d.iter().zip(chunk_l) {
                            local[l] += dist;
                        }
                        for (s, &v) in sums.iter_mut().zip(local.iter()) {
                            *s += v as f64;
                        }
                    } else {
                        for (&dist, &l) in chunk_d.iter().zip(chunk_l) {
                            sums[l] += dist as f64;
                        }
                    }
                }
            } else {
                for &j in &points {
                    sums[labels[j]] += row[j] as f64;
                }
            }
            let own = labels[i];
            if sizes[own] <= 1 {
                return 0.0;
            }
            let a = sums[own] / (sizes[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own && sizes[c] > 0)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let m = a.max(b);
            if m > 0.0 {
                (b - a) / m
            } else {
                0.0
            }
        })
        .collect();
    Ok(per_point.iter().sum::<f64>() / points.len() as f64)
}
