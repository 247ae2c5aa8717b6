//! UMAP (McInnes, Healy & Melville 2018) to any number of dimensions,
//! written by hand and shared by the report's 2-D map (`eval::umap_map`)
//! and the taxonomy's per-node `--reduce umap:N`.
//!
//! It follows umap-learn's defaults: cosine k-NN graph (15 neighbours,
//! exact), the fuzzy simplicial set (per-point `ρ` and `σ` with
//! `Σ exp(−(d − ρ)/σ) = log₂ k`, symmetrised by the probabilistic union
//! `a + b − a·b`), then the layout optimised by SGD with negative sampling
//! (`a = 1.577`, `b = 0.895` for `min_dist = 0.1`, 5 negative samples,
//! learning rate 1 decaying linearly, gradients clipped to ±4; 500 epochs up
//! to 10,000 points, 200 above). Edges too weak to be sampled once in the
//! run are dropped, as umap-learn does.
//!
//! Differences from umap-learn: the start is the PCA of the rows scaled to
//! `[−10, 10]` (umap-learn's default is a spectral embedding of the graph),
//! the k-NN is exact rather than NN-descent, and the SGD is single-threaded
//! so that one seed gives one layout, bit for bit.
//!
//! ```
//! use aurora_router::cluster::umap::{umap, UmapParams};
//! // Two tight groups on the unit sphere, 6 dimensions.
//! let x = ndarray::Array2::from_shape_fn((40, 6), |(i, j)| {
//!     let t = (i % 20) as f32 * 0.01;
//!     match (i < 20, j) { (true, 0) | (false, 3) => 1.0 - t, (_, 1) => t, _ => 0.0 }
//! });
//! let y = umap(x.view(), &UmapParams::new(3).seed(7)).unwrap();
//! assert_eq!(y.dim(), (40, 3));
//! ```

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use super::{ClusterError, DistanceMatrix};

/// `a`, `b` of the low-dimensional similarity `1 / (1 + a d^{2b})` (min_dist 0.1, spread 1).
const A: f64 = 1.576_943_460_405_378;
const B: f64 = 0.895_060_878_123_132_4;
/// Negative samples per positive edge sample.
const NEG_SAMPLES: usize = 5;

/// UMAP parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct UmapParams {
    /// Output dimensions (≥ 1).
    pub n_components: usize,
    /// Neighbours of the graph (umap-learn's default 15).
    pub n_neighbors: usize,
    /// Seed of the negative sampling and of the PCA start.
    pub seed: u64,
    /// SGD epochs; `None` is umap-learn's rule (500 up to 10,000 points, 200 above).
    pub n_epochs: Option<usize>,
}

impl UmapParams {
    /// `n_components` output dimensions, 15 neighbours, seed 42, default epochs.
    pub fn new(n_components: usize) -> Self {
        UmapParams {
            n_components,
            n_neighbors: 15,
            seed: 42,
            n_epochs: None,
        }
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets the number of neighbours.
    pub fn n_neighbors(mut self, k: usize) -> Self {
        self.n_neighbors = k;
        self
    }
    /// Sets the number of epochs.
    pub fn n_epochs(mut self, e: usize) -> Self {
        self.n_epochs = Some(e);
        self
    }
}

/// The UMAP embedding of the L2-normalised rows of `x` (cosine metric):
/// `n × n_components`. The k-NN graph comes from one [`DistanceMatrix`]
/// (freed before the layout), the start from [`super::reduce::pca_project`].
/// With fewer than 4 rows, or `n_components ≥ n`, the PCA start is returned.
pub fn umap(x: ArrayView2<'_, f32>, p: &UmapParams) -> Result<Array2<f32>, ClusterError> {
    umap_impl(x, None, p)
}

/// [`umap`] with the rows' cosine [`DistanceMatrix`] already computed (the
/// caller keeps it, e.g. to score clusters in the original space).
pub fn umap_with_distances(
    x: ArrayView2<'_, f32>,
    d: &DistanceMatrix,
    p: &UmapParams,
) -> Result<Array2<f32>, ClusterError> {
    if d.len() != x.nrows() {
        return Err(ClusterError::Data(format!(
            "distance matrix of {} points for {} rows",
            d.len(),
            x.nrows()
        )));
    }
    umap_impl(x, Some(d), p)
}

fn umap_impl(
    x: ArrayView2<'_, f32>,
    given: Option<&DistanceMatrix>,
    p: &UmapParams,
) -> Result<Array2<f32>, ClusterError> {
    if p.n_components == 0 {
        return Err(ClusterError::InvalidParam {
            name: "n_components",
            reason: "must be at least 1".into(),
        });
    }
    if p.n_neighbors < 2 {
        return Err(ClusterError::InvalidParam {
            name: "n_neighbors",
            reason: "must be at least 2".into(),
        });
    }
    let n = x.nrows();
    let init = super::reduce::pca_project(x, p.n_components, p.seed);
    let dim = init.ncols();
    let scale = init
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs() as f64))
        .max(1e-12);
    let start: Vec<f64> = init.iter().map(|&v| 10.0 * v as f64 / scale).collect();
    if n < 4 || p.n_components >= n {
        return Ok(
            Array2::from_shape_vec((n, dim), start.iter().map(|&v| v as f32).collect())
                .expect("shape"),
        );
    }
    let k = p.n_neighbors.min(n - 1);
    let knn = match given {
        Some(d) => knn_from_distances(d, k),
        None => knn_from_distances(&DistanceMatrix::cosine(x)?, k),
    };
    let y = layout(&knn, start, dim, p.seed, p.n_epochs);
    Ok(Array2::from_shape_vec((n, dim), y.into_iter().map(|v| v as f32).collect()).expect("shape"))
}

/// The `k` nearest other points of every point, nearest first (ties by index).
pub fn knn_from_distances(d: &DistanceMatrix, k: usize) -> Vec<Vec<(usize, f64)>> {
    let n = d.len();
    (0..n)
        .into_par_iter()
        .map(|i| {
            let row = d.row(i);
            let mut v: Vec<(usize, f64)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| (j, row[j] as f64))
                .collect();
            select_nearest(&mut v, k);
            v
        })
        .collect()
}

/// Keeps the `k` smallest `(index, distance)` pairs, sorted (ties by index).
pub(crate) fn select_nearest(v: &mut Vec<(usize, f64)>, k: usize) {
    let k = k.min(v.len());
    if k < v.len() {
        v.select_nth_unstable_by(k, |a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        v.truncate(k);
    }
    v.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The fuzzy simplicial set of a k-NN graph: symmetric edges `(i, j, w)`
/// with `i < j`, in index order.
fn fuzzy_graph(knn: &[Vec<(usize, f64)>]) -> Vec<(usize, usize, f64)> {
    let mut directed: Vec<Vec<(usize, f64)>> = Vec::with_capacity(knn.len());
    for nb in knn {
        let k = nb.len().max(2);
        let target = (k as f64).log2();
        let rho = nb.iter().map(|x| x.1).find(|&d| d > 0.0).unwrap_or(0.0);
        let (mut lo, mut hi, mut sigma) = (0.0f64, f64::INFINITY, 1.0f64);
        for _ in 0..64 {
            let s: f64 = nb
                .iter()
                .map(|&(_, d)| (-((d - rho).max(0.0)) / sigma).exp())
                .sum();
            if (s - target).abs() < 1e-5 {
                break;
            }
            if s > target {
                hi = sigma;
                sigma = (lo + hi) / 2.0;
            } else {
                lo = sigma;
                sigma = if hi.is_finite() {
                    (lo + hi) / 2.0
                } else {
                    sigma * 2.0
                };
            }
        }
        let mean = nb.iter().map(|x| x.1).sum::<f64>() / nb.len().max(1) as f64;
        let sigma = sigma.max(1e-3 * mean);
        directed.push(
            nb.iter()
                .map(|&(j, d)| (j, (-((d - rho).max(0.0)) / sigma.max(1e-12)).exp()))
                .collect(),
        );
    }
    let mut edges: std::collections::BTreeMap<(usize, usize), (f64, f64)> =
        std::collections::BTreeMap::new();
    for (i, nb) in directed.iter().enumerate() {
        for &(j, w) in nb {
            let e = edges.entry((i.min(j), i.max(j))).or_insert((0.0, 0.0));
            if i < j {
                e.0 = w;
            } else {
                e.1 = w;
            }
        }
    }
    edges
        .into_iter()
        .map(|((i, j), (a, b))| (i, j, a + b - a * b))
        .filter(|e| e.2 > 0.0)
        .collect()
}

/// Optimises the layout of the k-NN graph `knn` from `start` (`n × dim`,
/// row-major) and returns it (row-major). Deterministic for a seed.
pub fn layout(
    knn: &[Vec<(usize, f64)>],
    start: Vec<f64>,
    dim: usize,
    seed: u64,
    n_epochs: Option<usize>,
) -> Vec<f64> {
    let n = knn.len();
    let mut y = start;
    if n < 2 || dim == 0 {
        return y;
    }
    let edges = fuzzy_graph(knn);
    let n_epochs = n_epochs.unwrap_or(if n <= 10_000 { 500 } else { 200 });
    let w_max = edges.iter().map(|e| e.2).fold(0.0, f64::max);
    let edges: Vec<(usize, usize, f64)> = edges
        .into_iter()
        .filter(|e| e.2 >= w_max / n_epochs as f64)
        .collect();
    let eps: Vec<f64> = edges.iter().map(|e| w_max / e.2).collect();
    let eps_neg: Vec<f64> = eps.iter().map(|e| e / NEG_SAMPLES as f64).collect();
    let mut next = eps.clone();
    let mut next_neg = eps_neg.clone();
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let clip = |v: f64| v.clamp(-4.0, 4.0);
    let mut diff = vec![0.0f64; dim];
    for epoch in 0..n_epochs {
        let e = epoch as f64;
        let lr = 1.0 - e / n_epochs as f64;
        for (x, &(i, j, _)) in edges.iter().enumerate() {
            if next[x] > e {
                continue;
            }
            let mut d2 = 0.0;
            for c in 0..dim {
                diff[c] = y[i * dim + c] - y[j * dim + c];
                d2 += diff[c] * diff[c];
            }
            let g = if d2 > 0.0 {
                let pb = d2.powf(B);
                -2.0 * A * B * (pb / d2) / (1.0 + A * pb)
            } else {
                0.0
            };
            for c in 0..dim {
                let step = clip(g * diff[c]) * lr;
                y[i * dim + c] += step;
                y[j * dim + c] -= step;
            }
            next[x] += eps[x];
            let n_neg = ((e - next_neg[x]) / eps_neg[x]).max(0.0) as usize;
            for _ in 0..n_neg {
                let k = rng.below(n);
                if k == i {
                    continue;
                }
                let mut d2 = 0.0;
                for c in 0..dim {
                    diff[c] = y[i * dim + c] - y[k * dim + c];
                    d2 += diff[c] * diff[c];
                }
                let g = 2.0 * B / ((0.001 + d2) * (1.0 + A * d2.powf(B)));
                for c in 0..dim {
                    let step = if g > 0.0 && d2 > 0.0 {
                        clip(g * diff[c])
                    } else {
                        4.0
                    };
                    y[i * dim + c] += step * lr;
                }
            }
            next_neg[x] += n_neg as f64 * eps_neg[x];
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three groups of 30 points on the unit sphere in 8 dimensions.
    fn groups() -> Array2<f32> {
        let mut x = Array2::from_shape_fn((90, 8), |(i, j)| {
            let g = i / 30;
            let t = ((i * 37 + j * 11) % 17) as f32 * 0.02;
            if j == g * 2 {
                1.0
            } else {
                t
            }
        });
        for mut r in x.rows_mut() {
            let n = r.dot(&r).sqrt();
            r.mapv_inplace(|v| v / n);
        }
        x
    }

    #[test]
    fn keeps_groups_apart_and_is_deterministic() {
        let x = groups();
        let p = UmapParams::new(5).seed(3).n_epochs(100);
        let y = umap(x.view(), &p).unwrap();
        assert_eq!(y.dim(), (90, 5));
        assert_eq!(y, umap(x.view(), &p).unwrap(), "same seed, same layout");
        // Every point's nearest other point in the layout is in its group.
        for i in 0..90 {
            let nearest = (0..90)
                .filter(|&j| j != i)
                .min_by(|&a, &b| {
                    let da: f32 = (&y.row(i) - &y.row(a)).mapv(|v| v * v).sum();
                    let db: f32 = (&y.row(i) - &y.row(b)).mapv(|v| v * v).sum();
                    da.total_cmp(&db)
                })
                .unwrap();
            assert_eq!(nearest / 30, i / 30, "point {i}");
        }
    }

    #[test]
    fn bad_parameters_are_errors() {
        let x = groups();
        assert!(matches!(
            umap(x.view(), &UmapParams::new(0)),
            Err(ClusterError::InvalidParam {
                name: "n_components",
                ..
            })
        ));
        assert!(matches!(
            umap(x.view(), &UmapParams::new(2).n_neighbors(1)),
            Err(ClusterError::InvalidParam {
                name: "n_neighbors",
                ..
            })
        ));
    }
}
