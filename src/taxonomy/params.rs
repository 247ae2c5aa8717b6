//! Build parameters: a builder (`TaxonomyParams::new().max_depth(..)`) and
//! `.check()` into [`TaxonomyValidParams`], as linfa does.

use serde::Serialize;

use super::TaxonomyError;

/// The per-node dimension reduction, fitted on that node's own points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Reduce {
    /// No reduction: cosine on the embeddings as given.
    None,
    /// PCA to this many components on the node's centred points, then
    /// re-normalised rows (cosine in the node's own principal subspace).
    Pca(usize),
    /// UMAP (cosine, 15 neighbours, `cluster::umap`) to this many components
    /// on the node's points; HDBSCAN and the silhouette then use Euclidean
    /// distances on the layout.
    Umap(usize),
}

impl std::str::FromStr for Reduce {
    type Err = TaxonomyError;
    /// Parses `none`, `pca:N` or `umap:N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            TaxonomyError::param(
                "reduce",
                format!("`{s}` is not one of none, pca:N, umap:N (N ≥ 2)"),
            )
        };
        if s == "none" {
            return Ok(Reduce::None);
        }
        let (kind, n) = s.split_once(':').ok_or_else(bad)?;
        let n: usize = n.parse().map_err(|_| bad())?;
        if n < 2 {
            return Err(bad());
        }
        match kind {
            "pca" => Ok(Reduce::Pca(n)),
            "umap" => Ok(Reduce::Umap(n)),
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Reduce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reduce::None => write!(f, "none"),
            Reduce::Pca(n) => write!(f, "pca:{n}"),
            Reduce::Umap(n) => write!(f, "umap:{n}"),
        }
    }
}

/// How each node is split into children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Method {
    /// The seed's recipe: HDBSCAN with the depth rule for `min_cluster_size`.
    Hdbscan,
    /// Spherical KMeans, the number of children chosen by silhouette in
    /// `2..=max_children`.
    Kmeans,
    /// Both; the split with the higher silhouette wins (HDBSCAN splits with
    /// more than half noise are not eligible).
    Auto,
}

impl std::str::FromStr for Method {
    type Err = TaxonomyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hdbscan" => Ok(Method::Hdbscan),
            "kmeans" => Ok(Method::Kmeans),
            "auto" => Ok(Method::Auto),
            _ => Err(TaxonomyError::param(
                "method",
                format!("`{s}` is not one of hdbscan, kmeans, auto"),
            )),
        }
    }
}

/// Which item count the `min_cluster_size` rule scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SizeFrom {
    /// `n_total · base_pct · decay^d` (the seed's rule as written): below
    /// the root, clusters smaller than a few % of the *whole* corpus cannot
    /// be found.
    Total,
    /// `n_node · base_pct · decay^d` (the seed's other variant): each node
    /// is zoomed into at its own scale.
    Node,
}

impl std::str::FromStr for SizeFrom {
    type Err = TaxonomyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "total" => Ok(SizeFrom::Total),
            "node" => Ok(SizeFrom::Node),
            _ => Err(TaxonomyError::param(
                "size-from",
                format!("`{s}` is not one of total, node"),
            )),
        }
    }
}

/// Unchecked build parameters (defaults as the CLI's).
///
/// ```
/// use aurora_router::taxonomy::params::{TaxonomyParams, Reduce};
/// let p = TaxonomyParams::new().max_depth(2).reduce(Reduce::Pca(20)).check().unwrap();
/// assert_eq!(p.min_cluster_size(10_000, 1), 350);
/// assert!(TaxonomyParams::new().decay(1.5).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaxonomyParams {
    /// Deepest level of children (the root is depth 0).
    pub max_depth: usize,
    /// `min_cluster_size` at depth 0 as a fraction of all items.
    pub base_pct: f64,
    /// Factor applied to `base_pct` per level.
    pub decay: f64,
    /// Smallest `min_cluster_size`.
    pub floor: usize,
    /// HDBSCAN `min_samples`.
    pub min_samples: usize,
    /// A child is split further only when its silhouette is below this.
    pub silhouette_threshold: f64,
    /// Per-node reduction.
    pub reduce: Reduce,
    /// Split method.
    pub method: Method,
    /// Largest number of children per node (KMeans).
    pub max_children: usize,
    /// Which count the `min_cluster_size` rule scales.
    pub size_from: SizeFrom,
    /// Seed of KMeans, PCA and silhouette sampling.
    pub seed: u64,
    /// Keywords per node.
    pub keywords: usize,
    /// Representative items per node (5–10).
    pub representatives: usize,
}

impl Default for TaxonomyParams {
    fn default() -> Self {
        Self::new()
    }
}

impl TaxonomyParams {
    /// The defaults: depth 3, base 5 %, decay 0.7, floor 10, min_samples 10,
    /// silhouette threshold 0.3, no reduction (`none`: measured better than
    /// `pca:50` at depth 2, see BENCHMARKS.md), `min_cluster_size` from the
    /// node's own count, method `auto`, up to 20 children,
    /// seed 42, 10 keywords, 8 representatives.
    pub fn new() -> Self {
        TaxonomyParams {
            max_depth: 3,
            base_pct: 0.05,
            decay: 0.7,
            floor: 10,
            min_samples: 10,
            silhouette_threshold: 0.3,
            reduce: Reduce::None,
            method: Method::Auto,
            max_children: 20,
            size_from: SizeFrom::Node,
            seed: 42,
            keywords: 10,
            representatives: 8,
        }
    }
    /// Sets `max_depth`.
    pub fn max_depth(mut self, v: usize) -> Self {
        self.max_depth = v;
        self
    }
    /// Sets `base_pct`.
    pub fn base_pct(mut self, v: f64) -> Self {
        self.base_pct = v;
        self
    }
    /// Sets `decay`.
    pub fn decay(mut self, v: f64) -> Self {
        self.decay = v;
        self
    }
    /// Sets `floor`.
    pub fn floor(mut self, v: usize) -> Self {
        self.floor = v;
        self
    }
    /// Sets `min_samples`.
    pub fn min_samples(mut self, v: usize) -> Self {
        self.min_samples = v;
        self
    }
    /// Sets the silhouette threshold.
    pub fn silhouette_threshold(mut self, v: f64) -> Self {
        self.silhouette_threshold = v;
        self
    }
    /// Sets the reduction.
    pub fn reduce(mut self, v: Reduce) -> Self {
        self.reduce = v;
        self
    }
    /// Sets the split method.
    pub fn method(mut self, v: Method) -> Self {
        self.method = v;
        self
    }
    /// Sets the largest number of children per node.
    pub fn max_children(mut self, v: usize) -> Self {
        self.max_children = v;
        self
    }
    /// Sets which count the `min_cluster_size` rule scales.
    pub fn size_from(mut self, v: SizeFrom) -> Self {
        self.size_from = v;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, v: u64) -> Self {
        self.seed = v;
        self
    }
    /// Validates.
    pub fn check(self) -> Result<TaxonomyValidParams, TaxonomyError> {
        if self.max_depth < 1 {
            return Err(TaxonomyError::param("max-depth", "must be at least 1"));
        }
        if !(self.base_pct > 0.0 && self.base_pct <= 1.0) {
            return Err(TaxonomyError::param(
                "base-pct",
                format!("{} is not in (0, 1]", self.base_pct),
            ));
        }
        if !(self.decay > 0.0 && self.decay <= 1.0) {
            return Err(TaxonomyError::param(
                "decay",
                format!("{} is not in (0, 1]", self.decay),
            ));
        }
        if self.floor < 2 {
            return Err(TaxonomyError::param("floor", "must be at least 2"));
        }
        if self.min_samples < 1 {
            return Err(TaxonomyError::param("min-samples", "must be at least 1"));
        }
        if !(-1.0..=1.0).contains(&self.silhouette_threshold) {
            return Err(TaxonomyError::param(
                "silhouette-threshold",
                "must be in [-1, 1]",
            ));
        }
        if self.max_children < 2 {
            return Err(TaxonomyError::param("max-children", "must be at least 2"));
        }
        if !(1..=50).contains(&self.keywords) {
            return Err(TaxonomyError::param("keywords", "must be in 1..=50"));
        }
        if !(5..=10).contains(&self.representatives) {
            return Err(TaxonomyError::param("representatives", "must be in 5..=10"));
        }
        Ok(TaxonomyValidParams(self))
    }
}

/// Checked build parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxonomyValidParams(pub(crate) TaxonomyParams);

impl TaxonomyValidParams {
    /// The parameters.
    pub fn get(&self) -> &TaxonomyParams {
        &self.0
    }
    /// The seed's rule: `max(floor, n · base_pct · decay^depth)`, `n` the
    /// total or the node's count ([`SizeFrom`]).
    pub fn min_cluster_size_for(&self, n_total: usize, n_node: usize, depth: usize) -> usize {
        match self.0.size_from {
            SizeFrom::Total => self.min_cluster_size(n_total, depth),
            SizeFrom::Node => self.min_cluster_size(n_node, depth),
        }
    }

    /// `max(floor, n · base_pct · decay^depth)`.
    pub fn min_cluster_size(&self, n_total: usize, depth: usize) -> usize {
        let p = &self.0;
        let m = (n_total as f64 * p.base_pct * p.decay.powi(depth as i32)).round() as usize;
        m.max(p.floor)
    }
}
