//! The clustering sweep: spherical KMeans over a range of K, HDBSCAN over a
//! parameter grid and any other [`ClusterAlgorithm`] given
//! ([`SweepParams::algorithm`]), every candidate scored by mean cosine
//! silhouette on one shared [`DistanceMatrix`], the best kept.

use std::sync::Arc;

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use serde::Serialize;

use super::algorithm::assign_noise;
use super::kmeans::SphericalKMeans;
use super::silhouette::{silhouette, SilhouetteSample};
use super::{ClusterAlgorithm, ClusterError, Clustering, DistanceMatrix};

/// Scores a labelling (`labels`, `k`) by mean silhouette.
type ScoreFn<'a> = dyn Fn(&[usize], usize) -> Result<f64, ClusterError> + Sync + 'a;

/// The clustering algorithm of a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// Spherical KMeans.
    KMeans,
    /// HDBSCAN (noise points assigned to their nearest cluster centroid).
    Hdbscan,
    /// Another [`ClusterAlgorithm`], by its name.
    #[serde(untagged)]
    Other(&'static str),
}

impl Algorithm {
    /// Lower-case name, as written in profiles.
    pub fn name(self) -> &'static str {
        match self {
            Self::KMeans => "kmeans",
            Self::Hdbscan => "hdbscan",
            Self::Other(name) => name,
        }
    }
}

/// Parameters of one candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CandidateParams {
    /// KMeans with `k` clusters.
    KMeans {
        /// Number of clusters.
        k: usize,
    },
    /// HDBSCAN with its two parameters (`min_samples` in the `hdbscan`
    /// library's convention: the point itself is not counted).
    Hdbscan {
        /// Smallest cluster size.
        min_cluster_size: usize,
        /// Neighbours defining the core distance.
        min_samples: usize,
    },
    /// Another algorithm's parameters ([`ClusterAlgorithm::params`]).
    Other(serde_json::Value),
}

impl std::fmt::Display for CandidateParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KMeans { k } => write!(f, "kmeans k={k}"),
            Self::Hdbscan {
                min_cluster_size,
                min_samples,
            } => write!(
                f,
                "hdbscan min_cluster_size={min_cluster_size} min_samples={min_samples}"
            ),
            Self::Other(p) => write!(f, "{p}"),
        }
    }
}

/// One evaluated clustering.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Which algorithm produced it.
    pub algorithm: Algorithm,
    /// Its parameters.
    pub params: CandidateParams,
    /// Number of clusters (after dropping empty ones).
    pub n_clusters: usize,
    /// Fraction of points HDBSCAN called noise (0 for KMeans).
    pub noise_fraction: f64,
    /// Mean cosine silhouette with noise assigned; `None` when rejected.
    pub silhouette: Option<f64>,
    /// Why the candidate was not eligible, if it was not.
    pub rejected: Option<String>,
    /// Cluster of every point (noise assigned to the nearest centroid).
    pub labels: Vec<usize>,
    /// `n_clusters × d` unit-norm centroids.
    pub centroids: Array2<f32>,
}

impl Candidate {
    /// A scored KMeans candidate (`n_clusters` is the number of centroids).
    pub fn kmeans(
        params: CandidateParams,
        labels: Vec<usize>,
        centroids: Array2<f32>,
        silhouette: f64,
    ) -> Self {
        Candidate {
            algorithm: Algorithm::KMeans,
            params,
            n_clusters: centroids.nrows(),
            noise_fraction: 0.0,
            silhouette: Some(silhouette),
            rejected: None,
            labels,
            centroids,
        }
    }
}

/// Sweep parameters, unchecked (builder).
///
/// ```
/// use aurora_router::cluster::sweep::Sweep;
/// let p = Sweep::params().k_range(5, 15).hdbscan_grid(vec![20, 30, 50], vec![5, 10, 15]).check().unwrap();
/// assert_eq!(p.candidate_count(), 11 + 9);
/// assert!(Sweep::params().k_range(9, 3).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SweepParams {
    k_min: usize,
    k_max: usize,
    min_cluster_sizes: Vec<usize>,
    min_samples: Vec<usize>,
    seed: u64,
    kmeans_runs: usize,
    silhouette_max_exact: usize,
    max_noise_fraction: f64,
    algorithms: Algorithms,
}

/// Further algorithms of a sweep (equal when their names and parameters are).
#[derive(Debug, Clone, Default)]
struct Algorithms(Vec<Arc<dyn ClusterAlgorithm>>);

impl PartialEq for Algorithms {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|(a, b)| a.name() == b.name() && a.params() == b.params())
    }
}

/// Checked sweep parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepValidParams(SweepParams);

/// The sweep (namespace for [`Sweep::params`]).
#[derive(Debug, Clone, Copy)]
pub struct Sweep;

impl Sweep {
    /// The default sweep: KMeans K = 5..=15, HDBSCAN `min_cluster_size` ∈
    /// {20, 30, 50} × `min_samples` ∈ {5, 10, 15}, seed 42, exact silhouette
    /// up to 10,000 points, candidates with more than half noise rejected.
    pub fn params() -> SweepParams {
        SweepParams {
            k_min: 5,
            k_max: 15,
            min_cluster_sizes: vec![20, 30, 50],
            min_samples: vec![5, 10, 15],
            seed: 42,
            kmeans_runs: 3,
            silhouette_max_exact: 10_000,
            max_noise_fraction: 0.5,
            algorithms: Algorithms::default(),
        }
    }
}

impl SweepParams {
    /// KMeans K range, inclusive.
    pub fn k_range(mut self, k_min: usize, k_max: usize) -> Self {
        self.k_min = k_min;
        self.k_max = k_max;
        self
    }
    /// HDBSCAN grid; an empty list on either side disables HDBSCAN.
    pub fn hdbscan_grid(mut self, min_cluster_sizes: Vec<usize>, min_samples: Vec<usize>) -> Self {
        self.min_cluster_sizes = min_cluster_sizes;
        self.min_samples = min_samples;
        self
    }
    /// Seed for KMeans initialisation and silhouette sampling.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// KMeans restarts per K.
    pub fn kmeans_runs(mut self, runs: usize) -> Self {
        self.kmeans_runs = runs;
        self
    }
    /// Largest point count scored exactly; above it a seeded sample of this size.
    pub fn silhouette_max_exact(mut self, n: usize) -> Self {
        self.silhouette_max_exact = n;
        self
    }
    /// Candidates with a larger noise fraction are rejected.
    pub fn max_noise_fraction(mut self, f: f64) -> Self {
        self.max_noise_fraction = f;
        self
    }
    /// Adds one more candidate: any [`ClusterAlgorithm`], fitted on the
    /// sweep's rows and shared distance matrix and scored like the others.
    pub fn algorithm(mut self, algorithm: impl ClusterAlgorithm + 'static) -> Self {
        self.algorithms.0.push(Arc::new(algorithm));
        self
    }
    /// Validates the parameters.
    pub fn check(self) -> Result<SweepValidParams, ClusterError> {
        let bad = |name, reason: String| Err(ClusterError::InvalidParam { name, reason });
        if self.k_min < 2 {
            return bad("k_min", format!("must be at least 2, got {}", self.k_min));
        }
        if self.k_max < self.k_min {
            return bad(
                "k_max",
                format!("{} is below k_min = {}", self.k_max, self.k_min),
            );
        }
        if self.min_cluster_sizes.iter().any(|&m| m < 2) {
            return bad("min_cluster_size", "every value must be at least 2".into());
        }
        if self.min_samples.contains(&0) {
            return bad("min_samples", "every value must be at least 1".into());
        }
        if self.kmeans_runs < 1 {
            return bad("kmeans_runs", "must be at least 1".into());
        }
        if self.silhouette_max_exact < 2 {
            return bad("silhouette_sample", "must be at least 2".into());
        }
        if !(0.0..=1.0).contains(&self.max_noise_fraction) {
            return bad("max_noise_fraction", "must be in [0, 1]".into());
        }
        Ok(SweepValidParams(self))
    }
}

/// The outcome of a sweep.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    /// Every candidate, KMeans first (by K), then HDBSCAN (grid order), then
    /// the other algorithms (in the order given).
    pub candidates: Vec<Candidate>,
    /// Index of the best eligible candidate.
    pub best: usize,
}

impl SweepOutcome {
    /// The winning candidate.
    pub fn winner(&self) -> &Candidate {
        &self.candidates[self.best]
    }
}

impl SweepValidParams {
    /// Number of candidates the sweep evaluates.
    pub fn candidate_count(&self) -> usize {
        let p = &self.0;
        (p.k_max - p.k_min + 1)
            + p.min_cluster_sizes.len() * p.min_samples.len()
            + p.algorithms.0.len()
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }

    /// KMeans restarts per K.
    pub fn kmeans_runs(&self) -> usize {
        self.0.kmeans_runs
    }

    /// Largest point count scored exactly by silhouette.
    pub fn silhouette_max_exact(&self) -> usize {
        self.0.silhouette_max_exact
    }

    /// Runs the sweep over the L2-normalised rows of `x`, whose distances are
    /// `d`. `progress(done, total, label)` is called after each candidate.
    pub fn run(
        &self,
        x: ArrayView2<'_, f32>,
        d: &DistanceMatrix,
        progress: &(dyn Fn(usize, usize, &str) + Sync),
    ) -> Result<SweepOutcome, ClusterError> {
        let p = &self.0;
        let n = x.nrows();
        if d.len() != n {
            return Err(ClusterError::Data(format!(
                "distance matrix has {} points, data has {n}",
                d.len()
            )));
        }
        let total = self.candidate_count();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let tick = |label: &str| {
            let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(k, total, label);
        };
        let sample = SilhouetteSample::for_size(n, p.silhouette_max_exact, p.seed);
        let score = |labels: &[usize], k: usize| -> Result<f64, ClusterError> {
            silhouette(d, labels, k, &sample)
        };

        let ks: Vec<usize> = (p.k_min..=p.k_max).collect();
        let mut candidates: Vec<Candidate> = ks
            .par_iter()
            .map(|&k| {
                let params = CandidateParams::KMeans { k };
                let label = params.to_string();
                let c = if k > n {
                    rejected(
                        Algorithm::KMeans,
                        params,
                        0,
                        0.0,
                        format!("K={k} exceeds the {n} points"),
                        x.ncols(),
                    )
                } else {
                    let fit = SphericalKMeans::params(k)
                        .seed(p.seed)
                        .n_runs(p.kmeans_runs)
                        .check()?
                        .fit(x)?;
                    let (labels, centroids) = compact(fit.labels, fit.centroids);
                    let k = centroids.nrows();
                    if k < 2 {
                        rejected(
                            Algorithm::KMeans,
                            params,
                            k,
                            0.0,
                            "fewer than 2 clusters".into(),
                            x.ncols(),
                        )
                    } else {
                        let s = score(&labels, k)?;
                        Candidate::kmeans(params, labels, centroids, s)
                    }
                };
                tick(&label);
                Ok(c)
            })
            .collect::<Result<_, ClusterError>>()?;

        if !p.min_cluster_sizes.is_empty() && !p.min_samples.is_empty() {
            // One core-distance pass and one single-linkage tree per distinct
            // min_samples serve the whole grid (see `hdbscan::sweep`).
            let fits_n = |m: usize, s: usize| m <= n && s < n;
            let mcs: Vec<usize> = p
                .min_cluster_sizes
                .iter()
                .copied()
                .filter(|&m| m <= n)
                .collect();
            let ms: Vec<usize> = p.min_samples.iter().copied().filter(|&s| s < n).collect();
            let mut points = if mcs.is_empty() || ms.is_empty() {
                Vec::new()
            } else {
                super::hdbscan::sweep(d, &mcs, &ms)?
            }
            .into_iter();
            for &m in &p.min_cluster_sizes {
                for &s in &p.min_samples {
                    let params = CandidateParams::Hdbscan {
                        min_cluster_size: m,
                        min_samples: s,
                    };
                    let label = params.to_string();
                    let c = if !fits_n(m, s) {
                        rejected(
                            Algorithm::Hdbscan,
                            params,
                            0,
                            0.0,
                            format!("parameters exceed the {n} points"),
                            x.ncols(),
                        )
                    } else {
                        let point = points.next().ok_or_else(|| {
                            ClusterError::Data("HDBSCAN sweep returned too few points".into())
                        })?;
                        self.hdbscan_candidate(x, params, point.result, &score)?
                    };
                    tick(&label);
                    candidates.push(c);
                }
            }
        }

        for a in &p.algorithms.0 {
            let params = CandidateParams::Other(a.params());
            let label = format!("{} {params}", a.name());
            let fit = a.fit(x, Some(d))?;
            let k = fit.centroids.nrows();
            let c = if k < 2 {
                rejected(
                    Algorithm::Other(a.name()),
                    params,
                    k,
                    fit.noise_fraction,
                    format!("{k} cluster(s); at least 2 are needed"),
                    x.ncols(),
                )
            } else {
                let s = score(&fit.labels, k)?;
                Candidate {
                    algorithm: Algorithm::Other(a.name()),
                    params,
                    n_clusters: k,
                    noise_fraction: fit.noise_fraction,
                    silhouette: Some(s),
                    rejected: None,
                    labels: fit.labels,
                    centroids: fit.centroids,
                }
            };
            tick(&label);
            candidates.push(c);
        }

        let best = candidates
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.silhouette.map(|s| (i, s)))
            .fold(None, |acc: Option<(usize, f64)>, (i, s)| match acc {
                Some((_, bs)) if bs >= s => acc,
                _ => Some((i, s)),
            })
            .map(|(i, _)| i)
            .ok_or_else(|| {
                ClusterError::Data("no eligible clustering candidate (all were rejected)".into())
            })?;
        Ok(SweepOutcome { candidates, best })
    }

    fn hdbscan_candidate(
        &self,
        x: ArrayView2<'_, f32>,
        params: CandidateParams,
        fit: super::hdbscan::HdbscanResult,
        score: &ScoreFn<'_>,
    ) -> Result<Candidate, ClusterError> {
        let dim = x.ncols();
        let k = fit.n_clusters;
        let noise = fit.noise_fraction;
        if k < 2 {
            return Ok(rejected(
                Algorithm::Hdbscan,
                params,
                k,
                noise,
                format!("{k} cluster(s); at least 2 are needed"),
                dim,
            ));
        }
        if noise > self.0.max_noise_fraction {
            return Ok(rejected(
                Algorithm::Hdbscan,
                params,
                k,
                noise,
                format!(
                    "{:.0}% of the points are noise (more than {:.0}%)",
                    noise * 100.0,
                    self.0.max_noise_fraction * 100.0
                ),
                dim,
            ));
        }
        let Clustering {
            labels, centroids, ..
        } = assign_noise(x, &fit.labels, k, noise);
        let k = centroids.nrows();
        let s = score(&labels, k)?;
        Ok(Candidate {
            algorithm: Algorithm::Hdbscan,
            params,
            n_clusters: k,
            noise_fraction: noise,
            silhouette: Some(s),
            rejected: None,
            labels,
            centroids,
        })
    }
}

fn rejected(
    algorithm: Algorithm,
    params: CandidateParams,
    n_clusters: usize,
    noise_fraction: f64,
    reason: String,
    dim: usize,
) -> Candidate {
    Candidate {
        algorithm,
        params,
        n_clusters,
        noise_fraction,
        silhouette: None,
        rejected: Some(reason),
        labels: Vec::new(),
        centroids: Array2::zeros((0, dim)),
    }
}

/// Unit-norm mean of each cluster's members (`labels[i] < 0` is noise and
/// contributes nothing).
pub fn member_centroids(x: ArrayView2<'_, f32>, labels: &[i32], k: usize) -> Array2<f32> {
    let mut c = Array2::<f32>::zeros((k, x.ncols()));
    for (row, &l) in x.rows().into_iter().zip(labels) {
        if l >= 0 {
            let mut target = c.row_mut(l as usize);
            target += &row;
        }
    }
    normalize_rows(&mut c);
    c
}

/// L2-normalises every non-zero row.
pub fn normalize_rows(c: &mut Array2<f32>) {
    for mut row in c.rows_mut() {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row.mapv_inplace(|v| v / norm);
        }
    }
}

/// Drops clusters with no member and renumbers the rest in order.
pub fn compact(labels: Vec<usize>, centroids: Array2<f32>) -> (Vec<usize>, Array2<f32>) {
    let k = centroids.nrows();
    let mut sizes = vec![0usize; k];
    for &l in &labels {
        sizes[l] += 1;
    }
    if sizes.iter().all(|&s| s > 0) {
        return (labels, centroids);
    }
    let mut map = vec![usize::MAX; k];
    let mut keep = Vec::new();
    for (c, &s) in sizes.iter().enumerate() {
        if s > 0 {
            map[c] = keep.len();
            keep.push(c);
        }
    }
    let centroids = centroids.select(ndarray::Axis(0), &keep);
    (labels.into_iter().map(|l| map[l]).collect(), centroids)
}
