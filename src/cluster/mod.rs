//! Clustering of L2-normalised embeddings with cosine distance.
//!
//! Every algorithm implements [`ClusterAlgorithm`] (fit rows → labels and
//! centroids, with its own checked parameters). The profile builder sweeps
//! spherical KMeans over a range of K, HDBSCAN over a parameter grid and
//! any other algorithm it is given, scores every candidate by mean cosine
//! silhouette and keeps the best. All candidates share one
//! [`DistanceMatrix`], computed once, which is what makes the sweep fast.

mod algorithm;
pub mod distance;
pub mod hdbscan;
pub mod kmeans;
pub mod reduce;
pub mod silhouette;
pub mod sweep;
pub mod umap;

pub use algorithm::{from_params, ClusterAlgorithm, Clustering};
pub use distance::DistanceMatrix;
pub use hdbscan::{Hdbscan, HdbscanParams, HdbscanValidParams};

/// Errors of the clustering layer.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClusterError {
    /// A parameter is out of its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter's name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The data cannot be clustered as asked.
    #[error("cannot cluster: {0}")]
    Data(String),
}
