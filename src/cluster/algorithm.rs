//! The clustering algorithm trait: what the sweep and routing
//! cross-validation fit.
//!
//! An algorithm is a type implementing [`ClusterAlgorithm`], made from its
//! own parameters in linfa's style: an unchecked builder whose `check()`
//! returns the checked parameters (with a typed [`ClusterError`]), and the
//! checked parameters are the algorithm. [`SphericalKMeansValidParams`] and
//! [`HdbscanValidParams`] are the two built in; [`from_params`] is the
//! registry that names them (one line per algorithm).
//!
//! ```
//! use aurora_router::cluster::{ClusterAlgorithm, kmeans::SphericalKMeans};
//! let x = ndarray::array![[1.0f32, 0.0], [0.99, 0.14], [0.0, 1.0], [0.14, 0.99]];
//! let kmeans = SphericalKMeans::params(2).seed(7).check()?;
//! let fit = ClusterAlgorithm::fit(&kmeans, x.view(), None)?;
//! assert_eq!(fit.centroids.nrows(), 2);
//! assert_eq!(fit.labels[0], fit.labels[1]);
//! assert_ne!(fit.labels[0], fit.labels[2]);
//! assert_eq!(kmeans.name(), "kmeans");
//! # Ok::<(), aurora_router::cluster::ClusterError>(())
//! ```

use ndarray::{Array2, ArrayView2};
use serde_json::{json, Value};

use super::hdbscan::{Hdbscan, HdbscanValidParams};
use super::kmeans::{assign_nearest, SphericalKMeans, SphericalKMeansValidParams};
use super::sweep::{compact, member_centroids};
use super::{ClusterError, DistanceMatrix};

/// A clustering of `n` unit rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// Cluster of every row, in `0..centroids.nrows()`; every cluster has a
    /// member (points an algorithm calls noise are assigned to the nearest
    /// centroid).
    pub labels: Vec<usize>,
    /// `n_clusters × d` unit-norm centroids.
    pub centroids: Array2<f32>,
    /// Fraction of the rows the algorithm called noise (0 for KMeans).
    pub noise_fraction: f64,
}

/// A clustering algorithm with checked parameters.
pub trait ClusterAlgorithm: Send + Sync + std::fmt::Debug {
    /// The name written in profiles (`metadata.clustering_algorithm`).
    fn name(&self) -> &'static str;

    /// The parameters written in profiles (`metadata.params`).
    fn params(&self) -> Value;

    /// Fits the L2-normalised rows of `x`. `distances` is their cosine
    /// distance matrix when the caller has one (the sweep shares one across
    /// candidates); an algorithm that needs it computes it otherwise.
    fn fit(
        &self,
        x: ArrayView2<'_, f32>,
        distances: Option<&DistanceMatrix>,
    ) -> Result<Clustering, ClusterError>;
}

impl ClusterAlgorithm for SphericalKMeansValidParams {
    fn name(&self) -> &'static str {
        "kmeans"
    }

    fn params(&self) -> Value {
        json!({ "k": self.k() })
    }

    fn fit(
        &self,
        x: ArrayView2<'_, f32>,
        _distances: Option<&DistanceMatrix>,
    ) -> Result<Clustering, ClusterError> {
        let fit = SphericalKMeansValidParams::fit(self, x)?;
        let (labels, centroids) = compact(fit.labels, fit.centroids);
        Ok(Clustering {
            labels,
            centroids,
            noise_fraction: 0.0,
        })
    }
}

impl ClusterAlgorithm for HdbscanValidParams {
    fn name(&self) -> &'static str {
        "hdbscan"
    }

    fn params(&self) -> Value {
        json!({
            "min_cluster_size": self.min_cluster_size(),
            "min_samples": self.min_samples(),
        })
    }

    fn fit(
        &self,
        x: ArrayView2<'_, f32>,
        distances: Option<&DistanceMatrix>,
    ) -> Result<Clustering, ClusterError> {
        let own;
        let d = match distances {
            Some(d) => d,
            None => {
                own = DistanceMatrix::cosine(x)?;
                &own
            }
        };
        let fit = HdbscanValidParams::fit(self, d)?;
        Ok(assign_noise(
            x,
            &fit.labels,
            fit.n_clusters,
            fit.noise_fraction,
        ))
    }
}

/// Member centroids of a labelling with noise (`label < 0`), noise assigned
/// to the nearest centroid, empty clusters dropped.
pub(crate) fn assign_noise(
    x: ArrayView2<'_, f32>,
    raw: &[i32],
    k: usize,
    noise_fraction: f64,
) -> Clustering {
    let centroids = member_centroids(x, raw, k);
    let nearest = assign_nearest(x, centroids.view());
    let labels: Vec<usize> = raw
        .iter()
        .zip(nearest)
        .map(|(&l, near)| if l < 0 { near } else { l as usize })
        .collect();
    let (labels, centroids) = compact(labels, centroids);
    Clustering {
        labels,
        centroids,
        noise_fraction,
    }
}

/// The registry: the algorithm called `name` with parameters `params` (a
/// JSON object as written in profiles) and a seed. Adding an algorithm is
/// one new file implementing [`ClusterAlgorithm`] and one line here.
///
/// ```
/// use aurora_router::cluster::from_params;
/// let a = from_params("hdbscan", &serde_json::json!({"min_cluster_size": 20}), 1)?;
/// assert_eq!(a.params()["min_samples"], 20);
/// assert!(from_params("kmeans", &serde_json::json!({"k": 0}), 1).is_err());
/// assert!(from_params("spectral", &serde_json::json!({}), 1).is_err());
/// # Ok::<(), aurora_router::cluster::ClusterError>(())
/// ```
pub fn from_params(
    name: &str,
    params: &Value,
    seed: u64,
) -> Result<Box<dyn ClusterAlgorithm>, ClusterError> {
    let get = |key: &'static str| -> Result<Option<usize>, ClusterError> {
        match params.get(key) {
            None => Ok(None),
            Some(v) => {
                v.as_u64()
                    .map(|v| Some(v as usize))
                    .ok_or_else(|| ClusterError::InvalidParam {
                        name: key,
                        reason: format!("must be a non-negative integer, got {v}"),
                    })
            }
        }
    };
    let need = |key: &'static str| -> Result<usize, ClusterError> {
        get(key)?.ok_or_else(|| ClusterError::InvalidParam {
            name: key,
            reason: "is missing".into(),
        })
    };
    Ok(match name {
        "kmeans" => Box::new(SphericalKMeans::params(need("k")?).seed(seed).check()?),
        "hdbscan" => {
            let mut p = Hdbscan::params().min_cluster_size(need("min_cluster_size")?);
            if let Some(s) = get("min_samples")? {
                p = p.min_samples(s);
            }
            Box::new(p.check()?)
        }
        other => {
            return Err(ClusterError::InvalidParam {
                name: "algorithm",
                reason: format!("unknown clustering algorithm `{other}` (kmeans, hdbscan)"),
            })
        }
    })
}
