//! A cluster taxonomy: recursive clustering that zooms into each cluster,
//! names every node, annotates items with their path, and tests where models
//! fail (issue #13).
//!
//! * [`section`] — the `taxonomy` profile section (the wire format): the tree
//!   with node names, sizes, silhouettes and float16 centroids.
//! * [`runtime`] — "which path does this embedding fall into", in the lean
//!   library (no heavy dependencies).
//! * [`ctfidf`] — class-based TF-IDF keywords (BERTopic's c-TF-IDF),
//!   reusable by any job that names clusters.
//! * `params`, `reduce`, `build`, `naming` (feature `builder`) — the recursive
//!   builder: per-node PCA or UMAP (`cluster::reduce`, `cluster::umap`), HDBSCAN / spherical KMeans from [`crate::cluster`],
//!   c-TF-IDF names and MMR representatives.
//! * `annotate`, `stats`, `metrics` (feature `builder`) — item paths, χ² /
//!   Fisher tests with Benjamini–Hochberg q-values, NMI / ARI / purity.

pub mod ctfidf;
pub mod error;
pub mod runtime;
pub mod section;

#[cfg(feature = "builder")]
pub mod annotate;
#[cfg(feature = "builder")]
pub mod build;
#[cfg(feature = "builder")]
pub mod cache;
#[cfg(feature = "builder")]
pub mod metrics;
#[cfg(feature = "builder")]
pub mod naming;
#[cfg(feature = "builder")]
pub mod params;
/// The per-node reductions (moved to the cluster layer, kept here as a path).
#[cfg(feature = "builder")]
pub use crate::cluster::reduce;
#[cfg(feature = "builder")]
pub mod stats;

pub use error::TaxonomyError;
pub use section::{Taxonomy, TaxonomyNode};
