//! HDBSCAN over a precomputed [`DistanceMatrix`], with the work of a
//! parameter grid shared between its points.
//!
//! # What it computes
//!
//! This follows the Python `hdbscan` library (McInnes, Healy, Astels) on its
//! `algorithm="generic"` / `metric="precomputed"` path, with
//! `cluster_selection_method="eom"`, `allow_single_cluster=False`,
//! `cluster_selection_epsilon=0` and `alpha=1`:
//!
//! 1. **Core distances.** The core distance of a point is its distance to
//!    its `min_samples`-th nearest *other* point. This is the `hdbscan`
//!    library's convention (it takes entry `min_samples` of each sorted
//!    distance row, whose entry 0 is the point itself, and its tree
//!    algorithms query `k = min_samples + 1` neighbours); scikit-learn's
//!    `HDBSCAN` and the `hdbscan` Rust crate count the point itself, so their
//!    `min_samples = s + 1` is our `min_samples = s`.
//! 2. **Minimum spanning tree** of the mutual reachability graph,
//!    `max(d(a, b), core(a), core(b))`, by dense Prim's algorithm started at
//!    point 0 (the library's `mst_linkage_core`, including its tie-breaking:
//!    the lowest index wins among equally close points). It reads the
//!    distance matrix row by row and allocates only `O(n)` beside it.
//! 3. **Single-linkage tree**: the MST edges sorted by weight and merged with
//!    a union-find, in the library's left/right order.
//! 4. **Condensed tree** for a `min_cluster_size` (breadth-first from the
//!    root, as the library's `condense_tree`), **stabilities**
//!    (`compute_stability`) and **excess-of-mass selection**
//!    (`get_clusters`), down to the library's habit of summing child
//!    stabilities in single precision.
//!
//! Labels are `-1` for noise and `0..k` for clusters, numbered in order of
//! first appearance by point index (the library numbers them by condensed
//! tree id instead; the partition is the same).
//!
//! # Sharing work across a grid
//!
//! Steps 1–3 depend only on `min_samples`, step 4 only on the tree and
//! `min_cluster_size`, and step 4 costs `O(n)`. So a sweep computes the core
//! distances of every distinct `min_samples` from one partial selection per
//! matrix row ([`core_distances_multi`]), builds one [`SingleLinkageTree`]
//! per distinct `min_samples`, and calls [`SingleLinkageTree::clusters`] for
//! each `min_cluster_size`; [`sweep`] does exactly that.
//!
//! # Example
//!
//! ```
//! use aurora_router::cluster::hdbscan::{core_distances_multi, SingleLinkageTree};
//! use aurora_router::cluster::{DistanceMatrix, Hdbscan};
//! use ndarray::array;
//!
//! // Two tight groups of directions and one loner.
//! let mut x = array![
//!     [1.0f32, 0.0, 0.0], [0.99, 0.14, 0.0], [0.99, 0.0, 0.14], [0.98, 0.1, 0.1],
//!     [0.0, 1.0, 0.0], [0.14, 0.99, 0.0], [0.0, 0.99, 0.14], [0.1, 0.98, 0.1],
//!     [0.0, 0.0, 1.0],
//! ];
//! for mut row in x.rows_mut() {
//!     let norm = row.dot(&row).sqrt();
//!     row /= norm;
//! }
//! let d = DistanceMatrix::cosine(x.view())?;
//!
//! let fit = Hdbscan::params().min_cluster_size(3).min_samples(2).check()?.fit(&d)?;
//! assert_eq!(fit.labels, vec![0, 0, 0, 0, 1, 1, 1, 1, -1]);
//! assert_eq!(fit.n_clusters, 2);
//! assert!((fit.noise_fraction - 1.0 / 9.0).abs() < 1e-12);
//!
//! // A grid: one tree per min_samples, then each min_cluster_size is O(n).
//! let min_samples = [1, 2];
//! for (s, core) in min_samples.iter().zip(core_distances_multi(&d, &min_samples)) {
//!     let tree = SingleLinkageTree::from_core_distances(&d, &core)?;
//!     for min_cluster_size in [2, 3, 4] {
//!         let r = tree.clusters(min_cluster_size);
//!         let direct = Hdbscan::params()
//!             .min_cluster_size(min_cluster_size)
//!             .min_samples(*s)
//!             .check()?
//!             .fit(&d)?;
//!         assert_eq!(r, direct);
//!     }
//! }
//! # Ok::<(), aurora_router::cluster::ClusterError>(())
//! ```
//!
//! # Why not a crate
//!
//! No HDBSCAN crate can share a precomputed matrix across a grid.
//! `petal-clustering` 0.14 takes only raw vectors (through a ball tree, on
//! ndarray 0.17). The `hdbscan` crate 0.12 does take a precalculated matrix,
//! but only as a `&[Vec<f32>]` copy (another 277 MB for 8,315 points), fully
//! sorts every row, counts the point itself in `min_samples`, and reruns the
//! whole pipeline for each grid point: 4.8 s (plus 0.35 s for the copy) for
//! one grid point of our 8,315 embeddings, against about 0.2 s for a
//! standalone [`HdbscanValidParams::fit`] here and under a millisecond per
//! `min_cluster_size` once the tree is shared.
//!
//! # Differences from the library
//!
//! * The library sorts the MST edges with NumPy's default `argsort`, which
//!   is unstable (a SIMD sort on x86-64, so the result depends on the CPU),
//!   and mutual reachability distances tie often (many equal a point's core
//!   distance). The order of tied edges can move a point or two across a
//!   cluster's edge. We sort stably, keeping Prim's order. With its edges
//!   sorted stably, the library's own pipeline gives exactly our partition
//!   on all 9 default grid points of the 8,315 MiniLM embeddings, and the
//!   adjusted Rand index against the library as it runs is at least 0.998.
//! * Distances are `f32` where the library uses `f64`. On those embeddings
//!   this made no difference: the library gives identical labels on our
//!   `f32` matrix and on its own `f64` one.
//! * `min_samples ≥ n` is an error here; the library silently clamps it to
//!   `n − 1` ([`core_distances`] clamps like the library).

use rayon::prelude::*;

use super::{ClusterError, DistanceMatrix};

/// Default `min_cluster_size` of [`HdbscanParams`] (the library's default).
pub const DEFAULT_MIN_CLUSTER_SIZE: usize = 5;

/// Up to this `min_samples`, core distances keep a small sorted buffer per
/// row; above it they use a partial selection of a copy of the row.
const SMALL_K: usize = 64;

/// Sentinel for "no parent" in the union-find and "no cluster" in labelling.
const NONE: u32 = u32::MAX;

/// Namespace of the HDBSCAN estimator: start with [`Hdbscan::params`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hdbscan;

impl Hdbscan {
    /// Default parameters: `min_cluster_size = 5`, `min_samples` equal to
    /// `min_cluster_size` unless set.
    pub fn params() -> HdbscanParams {
        HdbscanParams::default()
    }
}

/// Unchecked HDBSCAN parameters (a builder); [`HdbscanParams::check`] turns
/// them into [`HdbscanValidParams`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HdbscanParams {
    min_cluster_size: usize,
    min_samples: Option<usize>,
}

impl Default for HdbscanParams {
    fn default() -> Self {
        Self {
            min_cluster_size: DEFAULT_MIN_CLUSTER_SIZE,
            min_samples: None,
        }
    }
}

impl HdbscanParams {
    /// Smallest number of points a cluster may have (at least 2).
    pub fn min_cluster_size(mut self, min_cluster_size: usize) -> Self {
        self.min_cluster_size = min_cluster_size;
        self
    }

    /// Number of *other* points within a point's core distance (at least 1;
    /// see the [module docs](self) for the convention). Defaults to
    /// `min_cluster_size`.
    pub fn min_samples(mut self, min_samples: usize) -> Self {
        self.min_samples = Some(min_samples);
        self
    }

    /// Checks the parameters that do not depend on the data:
    /// `min_cluster_size ≥ 2` and `min_samples ≥ 1`. The bounds that do
    /// (`min_samples < n`, `min_cluster_size ≤ n`) are checked by
    /// [`HdbscanValidParams::fit`].
    pub fn check(&self) -> Result<HdbscanValidParams, ClusterError> {
        if self.min_cluster_size < 2 {
            return Err(ClusterError::InvalidParam {
                name: "min_cluster_size",
                reason: format!("must be at least 2, got {}", self.min_cluster_size),
            });
        }
        let min_samples = self.min_samples.unwrap_or(self.min_cluster_size);
        if min_samples < 1 {
            return Err(ClusterError::InvalidParam {
                name: "min_samples",
                reason: "must be at least 1, got 0".to_string(),
            });
        }
        Ok(HdbscanValidParams {
            min_cluster_size: self.min_cluster_size,
            min_samples,
        })
    }
}

/// Checked HDBSCAN parameters, ready to [`fit`](HdbscanValidParams::fit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HdbscanValidParams {
    min_cluster_size: usize,
    min_samples: usize,
}

impl HdbscanValidParams {
    /// Smallest number of points a cluster may have.
    pub fn min_cluster_size(&self) -> usize {
        self.min_cluster_size
    }

    /// Number of other points within a point's core distance (already
    /// defaulted to `min_cluster_size` if it was not set).
    pub fn min_samples(&self) -> usize {
        self.min_samples
    }

    /// Checks the parameters against a data set of `n` points.
    fn check_for(&self, n: usize) -> Result<(), ClusterError> {
        check_points(n)?;
        if self.min_samples >= n {
            return Err(ClusterError::InvalidParam {
                name: "min_samples",
                reason: format!(
                    "must be less than the number of points ({n}), got {}",
                    self.min_samples
                ),
            });
        }
        if self.min_cluster_size > n {
            return Err(ClusterError::InvalidParam {
                name: "min_cluster_size",
                reason: format!(
                    "must be at most the number of points ({n}), got {}",
                    self.min_cluster_size
                ),
            });
        }
        Ok(())
    }

    /// Clusters the points of `d`.
    ///
    /// Fails with [`ClusterError::InvalidParam`] if `min_samples ≥ n` or
    /// `min_cluster_size > n`, and with [`ClusterError::Data`] if there are
    /// fewer than 2 points or the distances are not finite.
    pub fn fit(&self, d: &DistanceMatrix) -> Result<HdbscanResult, ClusterError> {
        self.check_for(d.len())?;
        let tree = SingleLinkageTree::new(d, self.min_samples)?;
        Ok(tree.clusters(self.min_cluster_size))
    }
}

/// A flat HDBSCAN clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct HdbscanResult {
    /// Cluster of every point: `-1` for noise, else `0..n_clusters`,
    /// numbered in order of first appearance by point index.
    pub labels: Vec<i32>,
    /// Number of clusters found (may be 0: everything is noise).
    pub n_clusters: usize,
    /// Fraction of the points labelled noise, in `[0, 1]`.
    pub noise_fraction: f64,
}

impl HdbscanResult {
    fn from_labels(labels: Vec<i32>, n_clusters: usize) -> Self {
        let noise = labels.iter().filter(|&&l| l < 0).count();
        let noise_fraction = if labels.is_empty() {
            0.0
        } else {
            noise as f64 / labels.len() as f64
        };
        Self {
            labels,
            n_clusters,
            noise_fraction,
        }
    }
}

/// One grid point of a [`sweep`].
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// The `min_cluster_size` of this point.
    pub min_cluster_size: usize,
    /// The `min_samples` of this point.
    pub min_samples: usize,
    /// Its clustering.
    pub result: HdbscanResult,
}

/// Runs HDBSCAN for every pair of `min_cluster_sizes × min_samples`, sharing
/// the core distances (one partial selection per row for all
/// `min_samples`) and one [`SingleLinkageTree`] per distinct `min_samples`
/// (built in parallel).
///
/// Results come in row-major order: for each `min_cluster_size` in turn,
/// every `min_samples`. Every pair is validated as by
/// [`HdbscanParams::check`] and [`HdbscanValidParams::fit`] before any work.
pub fn sweep(
    d: &DistanceMatrix,
    min_cluster_sizes: &[usize],
    min_samples: &[usize],
) -> Result<Vec<SweepPoint>, ClusterError> {
    let n = d.len();
    for &m in min_cluster_sizes {
        for &s in min_samples {
            Hdbscan::params()
                .min_cluster_size(m)
                .min_samples(s)
                .check()?
                .check_for(n)?;
        }
    }
    if min_cluster_sizes.is_empty() {
        return Ok(Vec::new());
    }
    let mut distinct = min_samples.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let cores = core_distances_multi(d, &distinct);

    let trees: Vec<SingleLinkageTree> = cores
        .par_iter()
        .map(|core| SingleLinkageTree::from_core_distances(d, core))
        .collect::<Result<_, _>>()?;

    let mut out = Vec::with_capacity(min_cluster_sizes.len() * min_samples.len());
    for &m in min_cluster_sizes {
        for &s in min_samples {
            let tree = &trees[distinct.binary_search(&s).unwrap_or(0)];
            out.push(SweepPoint {
                min_cluster_size: m,
                min_samples: s,
                result: tree.clusters(m),
            });
        }
    }
    Ok(out)
}

fn check_points(n: usize) -> Result<(), ClusterError> {
    if n < 2 {
        return Err(ClusterError::Data(format!(
            "need at least 2 points, got {n}"
        )));
    }
    if n > (u32::MAX / 2) as usize {
        return Err(ClusterError::Data(format!("too many points: {n}")));
    }
    Ok(())
}

/// Core distance of every point of `d`: the distance to its
/// `min_samples`-th nearest other point (the `hdbscan` library's
/// convention; see the [module docs](self)).
///
/// Like the library, `min_samples` is clamped to `1..=n−1`. With fewer than
/// 2 points there is no other point and every core distance is infinite.
/// This is one partial selection per row, in parallel; use [`core_distances_multi`] for several `min_samples` at once.
pub fn core_distances(d: &DistanceMatrix, min_samples: usize) -> Vec<f32> {
    core_distances_multi(d, &[min_samples])
        .pop()
        .unwrap_or_default()
}

/// [`core_distances`] for several `min_samples` at once, from a single
/// partial selection of each row: element `i` of the result belongs to
/// `min_samples[i]`.
pub fn core_distances_multi(d: &DistanceMatrix, min_samples: &[usize]) -> Vec<Vec<f32>> {
    let n = d.len();
    if min_samples.is_empty() {
        return Vec::new();
    }
    if n < 2 {
        return vec![vec![f32::INFINITY; n]; min_samples.len()];
    }
    let ks: Vec<usize> = min_samples.iter().map(|&k| k.clamp(1, n - 1)).collect();
    // Distinct ranks, largest first: each selection narrows the next.
    let mut ranks = ks.clone();
    ranks.sort_unstable_by(|a, b| b.cmp(a));
    ranks.dedup();
    let m = ranks.len();
    let mut flat = vec![0f32; n * m];

    flat.par_chunks_mut(m)
        .enumerate()
        .for_each_init(Vec::new, |buf, (i, out)| {
            row_order_stats(d.row(i), &ranks, out, buf)
        });

    ks.iter()
        .map(|k| {
            let c = ranks.iter().position(|r| r == k).unwrap_or(0);
            flat.iter().skip(c).step_by(m).copied().collect()
        })
        .collect()
}

/// Writes the order statistics `ranks` (distinct, descending, each
/// `< row.len()`) of `row` into `out`: `out[c]` is what `row[ranks[c]]`
/// would be if `row` were sorted. NaN sorts after everything.
fn row_order_stats(row: &[f32], ranks: &[usize], out: &mut [f32], buf: &mut Vec<f32>) {
    let kmax = ranks[0];
    if kmax < SMALL_K {
        // The kmax+1 smallest values, sorted, by insertion (most values are
        // rejected by one comparison). NaN never enters.
        buf.clear();
        buf.resize(kmax + 1, f32::INFINITY);
        let mut threshold = f32::INFINITY;
        for &v in row {
            if v < threshold {
                let mut p = kmax;
                while p > 0 && buf[p - 1] > v {
                    buf[p] = buf[p - 1];
                    p -= 1;
                }
                buf[p] = v;
                threshold = buf[kmax];
            }
        }
        for (o, &k) in out.iter_mut().zip(ranks) {
            *o = buf[k];
        }
    } else {
        buf.clear();
        buf.extend_from_slice(row);
        let mut upper = buf.len();
        for (o, &k) in out.iter_mut().zip(ranks) {
            buf[..upper].select_nth_unstable_by(k, f32::total_cmp);
            *o = buf[k];
            upper = k;
        }
    }
}

/// One merge of the single-linkage tree (scipy `linkage` layout): nodes
/// `< n` are points, node `n + i` is the cluster made by merge `i`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Merge {
    left: u32,
    right: u32,
    distance: f32,
    size: u32,
}

/// One row of a condensed tree: `child` (a point if `< n`, else a cluster)
/// leaves `parent` at `lambda = 1 / distance`.
#[derive(Debug, Clone, Copy)]
struct CondensedRow {
    parent: u32,
    child: u32,
    lambda: f64,
    size: u32,
}

/// The single-linkage tree of the mutual reachability graph for one
/// `min_samples`: build it once, then call [`clusters`](Self::clusters) for
/// as many `min_cluster_size` values as needed (each `O(n)`).
///
/// Building costs one pass of dense Prim's algorithm over the distance
/// matrix (`O(n²)` time, `O(n)` memory beside the matrix).
#[derive(Debug, Clone, PartialEq)]
pub struct SingleLinkageTree {
    n: usize,
    merges: Vec<Merge>,
}

impl SingleLinkageTree {
    /// Builds the tree for `min_samples` (at least 1, less than the number
    /// of points).
    pub fn new(d: &DistanceMatrix, min_samples: usize) -> Result<Self, ClusterError> {
        let n = d.len();
        check_points(n)?;
        if min_samples == 0 || min_samples >= n {
            return Err(ClusterError::InvalidParam {
                name: "min_samples",
                reason: format!("must be in 1..{n} for {n} points, got {min_samples}"),
            });
        }
        Self::from_core_distances(d, &core_distances(d, min_samples))
    }

    /// Builds the tree from core distances computed beforehand, e.g. by
    /// [`core_distances_multi`]. `core` must have one finite value per point.
    pub fn from_core_distances(d: &DistanceMatrix, core: &[f32]) -> Result<Self, ClusterError> {
        let n = d.len();
        check_points(n)?;
        if core.len() != n {
            return Err(ClusterError::Data(format!(
                "{} core distances for {n} points",
                core.len()
            )));
        }
        if let Some(i) = core.iter().position(|c| !c.is_finite()) {
            return Err(ClusterError::Data(format!(
                "core distance of point {i} is {}: the distances are not finite",
                core[i]
            )));
        }
        let mut edges = prim_mst(d, core);
        if let Some(e) = edges.iter().find(|e| !e.2.is_finite()) {
            return Err(ClusterError::Data(format!(
                "point {} cannot be reached through finite distances (got {})",
                e.1, e.2
            )));
        }
        // Stable: equal weights keep Prim's order.
        edges.sort_by(|a, b| a.2.total_cmp(&b.2));
        Ok(Self {
            n,
            merges: label(&edges, n),
        })
    }

    /// Number of points.
    pub fn n_points(&self) -> usize {
        self.n
    }

    /// The flat clustering for `min_cluster_size` (excess of mass, no single
    /// cluster). Values below 2 are treated as 2; values above the number
    /// of points make everything noise.
    pub fn clusters(&self, min_cluster_size: usize) -> HdbscanResult {
        let (labels, _) = self.select(min_cluster_size, false);
        labels
    }

    /// [`clusters`](Self::clusters) plus the library's membership strength
    /// of every point in `[0, 1]` (`0` for noise, `1` at the cluster's
    /// densest).
    pub fn clusters_with_probabilities(
        &self,
        min_cluster_size: usize,
    ) -> (HdbscanResult, Vec<f64>) {
        self.select(min_cluster_size, true)
    }

    /// Breadth-first order of the nodes under `root`, as the library's
    /// `bfs_from_hierarchy`, appended to `out`.
    fn bfs(&self, root: usize, out: &mut Vec<u32>) {
        let start = out.len();
        out.push(root as u32);
        let mut head = start;
        while head < out.len() {
            let node = out[head] as usize;
            head += 1;
            if node >= self.n {
                let m = self.merges[node - self.n];
                out.push(m.left);
                out.push(m.right);
            }
        }
    }

    /// The library's `condense_tree`, rows in the same order. Clusters are
    /// numbered from `n` (the root) in breadth-first order, so a parent's
    /// id is always below its children's.
    fn condense(&self, min_cluster_size: usize) -> Vec<CondensedRow> {
        let n = self.n;
        let root = 2 * (n - 1);
        let count = |node: u32| -> usize {
            let node = node as usize;
            if node >= n {
                self.merges[node - n].size as usize
            } else {
                1
            }
        };
        let mut order = Vec::with_capacity(root + 1);
        self.bfs(root, &mut order);
        let mut relabel = vec![0u32; root + 1];
        relabel[root] = n as u32;
        let mut next_label = n as u32 + 1;
        let mut ignore = vec![false; root + 1];
        let mut rows = Vec::with_capacity(n + 2 * (n / min_cluster_size.max(1) + 1));
        let mut sub = Vec::new();

        for &node in &order {
            let node = node as usize;
            if node < n || ignore[node] {
                continue;
            }
            let m = self.merges[node - n];
            let lambda = if m.distance > 0.0 {
                1.0 / f64::from(m.distance)
            } else {
                f64::INFINITY
            };
            let parent = relabel[node];
            let (lc, rc) = (count(m.left), count(m.right));
            let (left_big, right_big) = (lc >= min_cluster_size, rc >= min_cluster_size);
            let mut fall_out = |child: u32, rows: &mut Vec<CondensedRow>| {
                sub.clear();
                self.bfs(child as usize, &mut sub);
                for &s in &sub {
                    if (s as usize) < n {
                        rows.push(CondensedRow {
                            parent,
                            child: s,
                            lambda,
                            size: 1,
                        });
                    }
                    ignore[s as usize] = true;
                }
            };
            match (left_big, right_big) {
                (true, true) => {
                    for (child, size) in [(m.left, lc), (m.right, rc)] {
                        relabel[child as usize] = next_label;
                        rows.push(CondensedRow {
                            parent,
                            child: next_label,
                            lambda,
                            size: size as u32,
                        });
                        next_label += 1;
                    }
                }
                (false, false) => {
                    fall_out(m.left, &mut rows);
                    fall_out(m.right, &mut rows);
                }
                (false, true) => {
                    relabel[m.right as usize] = parent;
                    fall_out(m.left, &mut rows);
                }
                (true, false) => {
                    relabel[m.left as usize] = parent;
                    fall_out(m.right, &mut rows);
                }
            }
        }
        rows
    }

    /// Condenses, computes stabilities, selects clusters by excess of mass
    /// and labels the points (the library's `compute_stability`,
    /// `get_clusters` and `do_labelling` / `get_probabilities`).
    fn select(
        &self,
        min_cluster_size: usize,
        with_probabilities: bool,
    ) -> (HdbscanResult, Vec<f64>) {
        let n = self.n;
        let rows = self.condense(min_cluster_size.max(2));
        let n_nodes = rows
            .iter()
            .map(|r| r.parent.max(r.child) as usize + 1)
            .max()
            .unwrap_or(n + 1)
            .max(n + 1);
        let nc = n_nodes - n; // cluster c has index c - n; the root is 0

        let mut birth = vec![0f64; nc];
        let mut parent_of = vec![0usize; nc];
        let mut kids: Vec<Vec<usize>> = vec![Vec::new(); nc];
        for r in &rows {
            if r.child as usize >= n {
                let c = r.child as usize - n;
                birth[c] = r.lambda;
                parent_of[c] = r.parent as usize - n;
                kids[r.parent as usize - n].push(c);
            }
        }
        let mut stability = vec![0f64; nc];
        for r in &rows {
            let p = r.parent as usize - n;
            stability[p] += (r.lambda - birth[p]) * f64::from(r.size);
        }

        // Excess of mass, bottom-up (children have higher ids). The library
        // sums child stabilities into a C `float`; so do we.
        let mut keep = vec![false; nc];
        for c in (1..nc).rev() {
            let mut subtree = 0f32;
            for &k in &kids[c] {
                subtree = (f64::from(subtree) + stability[k]) as f32;
            }
            if f64::from(subtree) > stability[c] {
                stability[c] = f64::from(subtree);
            } else {
                keep[c] = true;
            }
        }
        // A kept cluster is selected unless a (non-root) ancestor was kept;
        // `owner[c]` is the selected cluster at or above `c`.
        let mut owner = vec![NONE; nc];
        for c in 1..nc {
            let p = parent_of[c];
            owner[c] = if owner[p] != NONE {
                owner[p]
            } else if keep[c] {
                c as u32
            } else {
                NONE
            };
        }

        let mut cluster_of = vec![NONE; n];
        let mut point_lambda = vec![0f64; n];
        for r in &rows {
            if (r.child as usize) < n {
                cluster_of[r.child as usize] = owner[r.parent as usize - n];
                point_lambda[r.child as usize] = r.lambda;
            }
        }
        let mut number = vec![-1i32; nc];
        let mut n_clusters = 0usize;
        let labels: Vec<i32> = cluster_of
            .iter()
            .map(|&c| {
                if c == NONE {
                    return -1;
                }
                let slot = &mut number[c as usize];
                if *slot < 0 {
                    *slot = n_clusters as i32;
                    n_clusters += 1;
                }
                *slot
            })
            .collect();

        let probabilities = if with_probabilities {
            let mut death = vec![0f64; nc];
            for r in &rows {
                let p = r.parent as usize - n;
                if r.lambda > death[p] {
                    death[p] = r.lambda;
                }
            }
            cluster_of
                .iter()
                .zip(&point_lambda)
                .map(|(&c, &lambda)| {
                    if c == NONE {
                        return 0.0;
                    }
                    let max = death[c as usize];
                    if max == 0.0 || !lambda.is_finite() {
                        1.0
                    } else {
                        lambda.min(max) / max
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        (
            HdbscanResult::from_labels(labels, n_clusters),
            probabilities,
        )
    }
}

/// Dense Prim's algorithm on the mutual reachability graph, started at
/// point 0, as the library's `mst_linkage_core`: edges `(from, to, weight)`
/// in the order they join the tree. Among equally close candidates the
/// lowest index wins, as in the library's scan.
///
/// Each step is one branch-free pass over the current point's matrix row
/// (which the compiler vectorises): points already in the tree get an
/// infinite core distance, so their mutual reachability never improves, and
/// [`LANES`] running minima with their first indices give the lowest-index
/// minimum without a second pass.
///
/// If no remaining point can be reached with a finite weight (only with
/// non-finite distances), the first remaining one joins with an infinite
/// weight, which the caller reports.
fn prim_mst(d: &DistanceMatrix, core: &[f32]) -> Vec<(u32, u32, f32)> {
    let n = d.len();
    let mut masked_core = core.to_vec();
    let mut best = vec![f32::INFINITY; n];
    let mut src = vec![0u32; n];
    let mut in_tree = vec![false; n];
    let mut edges = Vec::with_capacity(n - 1);
    let mut current = 0usize;
    for _ in 1..n {
        in_tree[current] = true;
        masked_core[current] = f32::INFINITY;
        best[current] = f32::INFINITY;
        let (new_d, new_j) = prim_step(
            d.row(current),
            core[current],
            current as u32,
            &masked_core,
            &mut best,
            &mut src,
        );
        let (new_d, new_j) = match new_j {
            Some(j) => (new_d, j),
            None => (f32::INFINITY, in_tree.iter().position(|&t| !t).unwrap_or(0)),
        };
        edges.push((src[new_j], new_j as u32, new_d));
        current = new_j;
    }
    edges
}

/// Lanes of the vectorised Prim step.
const LANES: usize = 8;

/// One step of [`prim_mst`]: relaxes `best`/`src` with the row of `current`
/// and returns the smallest `best` value and its lowest index (`None` if
/// nothing is below infinity).
#[inline]
fn prim_step(
    row: &[f32],
    cc: f32,
    current: u32,
    masked_core: &[f32],
    best: &mut [f32],
    src: &mut [u32],
) -> (f32, Option<usize>) {
    let mut min_v = [f32::INFINITY; LANES];
    let mut min_i = [u32::MAX; LANES];
    // Mutual reachability `max(d, cc, cj)` written with `>` so that a NaN
    // distance stays NaN (and is then never taken).
    let relax =
        move |a: f32, cj: f32, j: u32, b: &mut f32, s: &mut u32, mv: &mut f32, mi: &mut u32| {
            let m1 = if cc > a { cc } else { a };
            let mr = if cj > m1 { cj } else { m1 };
            let upd = mr < *b;
            let nb = if upd { mr } else { *b };
            *b = nb;
            *s = if upd { current } else { *s };
            let better = nb < *mv;
            *mv = if better { nb } else { *mv };
            *mi = if better { j } else { *mi };
        };
    let full = row.len() / LANES * LANES;
    for (c, (((r, cm), b), s)) in row[..full]
        .chunks_exact(LANES)
        .zip(masked_core[..full].chunks_exact(LANES))
        .zip(best[..full].chunks_exact_mut(LANES))
        .zip(src[..full].chunks_exact_mut(LANES))
        .enumerate()
    {
        let base = (c * LANES) as u32;
        for l in 0..LANES {
            relax(
                r[l],
                cm[l],
                base + l as u32,
                &mut b[l],
                &mut s[l],
                &mut min_v[l],
                &mut min_i[l],
            );
        }
    }
    for j in full..row.len() {
        let l = j - full;
        relax(
            row[j],
            masked_core[j],
            j as u32,
            &mut best[j],
            &mut src[j],
            &mut min_v[l],
            &mut min_i[l],
        );
    }
    let (mut v, mut i) = (f32::INFINITY, u32::MAX);
    for l in 0..LANES {
        if min_v[l] < v || (min_v[l] == v && min_i[l] < i) {
            v = min_v[l];
            i = min_i[l];
        }
    }
    (v, (i != u32::MAX).then_some(i as usize))
}

/// The library's `label`: merges sorted MST edges with a union-find into a
/// single-linkage tree.
fn label(edges: &[(u32, u32, f32)], n: usize) -> Vec<Merge> {
    let mut parent = vec![NONE; 2 * n - 1];
    let mut size = vec![0u32; 2 * n - 1];
    size[..n].fill(1);
    let mut merges = Vec::with_capacity(n - 1);
    for (next, &(a, b, w)) in (n..).zip(edges) {
        let aa = find(&mut parent, a);
        let bb = find(&mut parent, b);
        let s = size[aa as usize] + size[bb as usize];
        merges.push(Merge {
            left: aa,
            right: bb,
            distance: w,
            size: s,
        });
        parent[aa as usize] = next as u32;
        parent[bb as usize] = next as u32;
        size[next] = s;
    }
    merges
}

fn find(parent: &mut [u32], x: u32) -> u32 {
    let mut root = x;
    while parent[root as usize] != NONE {
        root = parent[root as usize];
    }
    let mut p = x;
    while parent[p as usize] != NONE && parent[p as usize] != root {
        let next = parent[p as usize];
        parent[p as usize] = root;
        p = next;
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// A tiny xorshift generator, so the tests need no extra crate.
    struct Rng(u64);

    impl Rng {
        fn next_f32(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    /// `per_blob` unit vectors around each of `blobs` orthogonal axes of
    /// `dim` dimensions, followed by `outliers` lone unit vectors, each on
    /// an axis of its own.
    fn blobs(blobs: usize, per_blob: usize, outliers: usize, spread: f32) -> DistanceMatrix {
        let dim = blobs + outliers + 4;
        let n = blobs * per_blob + outliers;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut x = Array2::<f32>::zeros((n, dim));
        for b in 0..blobs {
            for p in 0..per_blob {
                let mut row = x.row_mut(b * per_blob + p);
                row[b] = 1.0;
                for v in row.iter_mut() {
                    *v += spread * (rng.next_f32() - 0.5);
                }
            }
        }
        for o in 0..outliers {
            x[[blobs * per_blob + o, blobs + o]] = 1.0;
        }
        for mut row in x.rows_mut() {
            let norm = row.dot(&row).sqrt();
            row /= norm;
        }
        DistanceMatrix::cosine(x.view()).unwrap()
    }

    /// Points on a line at the given positions, with `|a − b|` distances.
    fn line(pos: &[f32]) -> DistanceMatrix {
        let n = pos.len();
        let data = (0..n * n)
            .map(|k| (pos[k / n] - pos[k % n]).abs())
            .collect();
        DistanceMatrix::from_raw(n, data).unwrap()
    }

    fn fit(d: &DistanceMatrix, mcs: usize, ms: usize) -> Result<HdbscanResult, ClusterError> {
        Hdbscan::params()
            .min_cluster_size(mcs)
            .min_samples(ms)
            .check()?
            .fit(d)
    }

    #[test]
    fn separated_blobs_are_found_exactly() {
        let d = blobs(3, 30, 0, 0.3);
        let r = fit(&d, 5, 5).unwrap();
        assert_eq!(r.n_clusters, 3);
        assert_eq!(r.noise_fraction, 0.0);
        for b in 0..3 {
            let block = &r.labels[b * 30..(b + 1) * 30];
            assert!(block.iter().all(|&l| l == b as i32), "blob {b}: {block:?}");
        }
    }

    #[test]
    fn lone_points_are_noise() {
        let d = blobs(2, 25, 4, 0.3);
        let r = fit(&d, 5, 3).unwrap();
        assert_eq!(r.n_clusters, 2);
        assert_eq!(&r.labels[50..], &[-1, -1, -1, -1]);
        assert!(r.labels[..25].iter().all(|&l| l == 0));
        assert!(r.labels[25..50].iter().all(|&l| l == 1));
        assert!((r.noise_fraction - 4.0 / 54.0).abs() < 1e-12);
    }

    #[test]
    fn probabilities_are_in_range_and_zero_for_noise() {
        let d = blobs(2, 25, 4, 0.3);
        let tree = SingleLinkageTree::new(&d, 3).unwrap();
        let (r, p) = tree.clusters_with_probabilities(5);
        assert_eq!(r, tree.clusters(5));
        assert_eq!(p.len(), 54);
        for (&l, &q) in r.labels.iter().zip(&p) {
            assert!((0.0..=1.0).contains(&q));
            if l < 0 {
                assert_eq!(q, 0.0);
            }
        }
        assert!(p.contains(&1.0));
    }

    #[test]
    fn min_samples_counts_other_points() {
        // Positions 0, 1, 3, 7: the nearest other points of point 0 are at
        // 1 and 3, of point 1 at 1 and 2, of point 3 at 2 and 3, of point 7
        // at 4 and 6.
        let d = line(&[0.0, 1.0, 3.0, 7.0]);
        assert_eq!(core_distances(&d, 1), vec![1.0, 1.0, 2.0, 4.0]);
        assert_eq!(core_distances(&d, 2), vec![3.0, 2.0, 3.0, 6.0]);
        assert_eq!(
            core_distances_multi(&d, &[2, 1, 2]),
            vec![
                vec![3.0, 2.0, 3.0, 6.0],
                vec![1.0, 1.0, 2.0, 4.0],
                vec![3.0, 2.0, 3.0, 6.0]
            ]
        );
        // Clamped to n − 1 like the library.
        assert_eq!(core_distances(&d, 10), vec![7.0, 6.0, 4.0, 7.0]);
    }

    #[test]
    fn core_distances_large_k_path_matches_sorting() {
        let d = blobs(2, 60, 3, 0.5);
        let n = d.len();
        let ks = [1, 5, 63, 64, 65, 100, n - 1];
        let multi = core_distances_multi(&d, &ks);
        for (c, &k) in ks.iter().enumerate() {
            for (i, &got) in multi[c].iter().enumerate() {
                let mut row = d.row(i).to_vec();
                row.sort_by(f32::total_cmp);
                assert_eq!(got, row[k], "k={k} i={i}");
            }
            assert_eq!(core_distances(&d, k), multi[c]);
        }
    }

    #[test]
    fn matches_the_python_library_on_a_line() {
        // Expected labels (renumbered by first appearance) and probabilities
        // from hdbscan 0.8.44: HDBSCAN(metric="precomputed",
        // min_cluster_size=m, min_samples=s) on |a − b| of these positions,
        // all exact in f32, with many tied distances. min_samples 2 and 3
        // differ at position 6, so this pins the min_samples convention.
        let pos = [
            0.0, 0.125, 0.25, 0.375, 0.625, 3.0, 3.25, 3.375, 3.5, 3.75, 4.0, 6.0, 10.0, 10.125,
            10.25,
        ];
        let d = line(&pos);
        #[rustfmt::skip]
        let cases: [(usize, usize, [i32; 15], [f64; 15]); 8] = [
            (3, 1, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2],
             [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 1.0, 0.5, 0.5, 0.0625, 1.0, 1.0, 1.0]),
            (3, 2, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2],
             [1.0, 1.0, 1.0, 1.0, 0.666667, 0.666667, 1.0, 1.0, 1.0, 1.0, 0.5, 0.111111, 1.0, 1.0, 1.0]),
            (3, 3, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1],
             [0.666667, 1.0, 1.0, 1.0, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 0.6, 0.0, 0.0, 0.0, 0.0]),
            (3, 4, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1],
             [0.8, 1.0, 1.0, 1.0, 0.8, 0.666667, 1.0, 1.0, 1.0, 1.0, 0.666667, 0.0, 0.0, 0.0, 0.0]),
            (3, 5, [-1; 15], [0.0; 15]),
            (2, 2, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2],
             [0.5, 1.0, 1.0, 0.5, 0.333333, 0.666667, 1.0, 1.0, 1.0, 1.0, 0.5, 0.111111, 1.0, 1.0, 1.0]),
            (4, 2, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1],
             [1.0, 1.0, 1.0, 1.0, 0.666667, 0.666667, 1.0, 1.0, 1.0, 1.0, 0.5, 0.111111, 0.0, 0.0, 0.0]),
            (6, 2, [-1; 15], [0.0; 15]),
        ];
        for (m, s, labels, probs) in cases {
            assert_eq!(fit(&d, m, s).unwrap().labels, labels, "m={m} s={s}");
            let (r, p) = SingleLinkageTree::new(&d, s)
                .unwrap()
                .clusters_with_probabilities(m);
            assert_eq!(r.labels, labels);
            for (got, want) in p.iter().zip(probs) {
                assert!((got - want).abs() < 1e-6, "m={m} s={s}: {p:?}");
            }
        }
    }

    #[test]
    fn parameter_validation() {
        let d = blobs(2, 5, 0, 0.3);
        let invalid = |e: Result<HdbscanResult, ClusterError>, which: &str| match e {
            Err(ClusterError::InvalidParam { name, .. }) => assert_eq!(name, which),
            other => panic!("expected InvalidParam({which}), got {other:?}"),
        };
        invalid(fit(&d, 1, 1), "min_cluster_size");
        invalid(fit(&d, 0, 1), "min_cluster_size");
        invalid(fit(&d, 5, 0), "min_samples");
        invalid(fit(&d, 5, 10), "min_samples");
        invalid(fit(&d, 11, 2), "min_cluster_size");
        assert!(fit(&d, 10, 9).is_ok());
        invalid(
            sweep(&d, &[5, 11], &[2]).map(|mut v| v.remove(0).result),
            "min_cluster_size",
        );
        assert!(matches!(
            SingleLinkageTree::new(&d, 10),
            Err(ClusterError::InvalidParam {
                name: "min_samples",
                ..
            })
        ));

        let p = Hdbscan::params().min_cluster_size(7).check().unwrap();
        assert_eq!((p.min_cluster_size(), p.min_samples()), (7, 7));
        let p = Hdbscan::params().check().unwrap();
        assert_eq!((p.min_cluster_size(), p.min_samples()), (5, 5));

        let one = DistanceMatrix::from_raw(1, vec![0.0]).unwrap();
        assert!(matches!(fit(&one, 2, 1), Err(ClusterError::Data(_))));
        assert_eq!(core_distances(&one, 1), vec![f32::INFINITY]);
    }

    #[test]
    fn non_finite_distances_are_an_error_not_a_panic() {
        let mut x = Array2::<f32>::eye(4);
        x[[2, 2]] = f32::NAN;
        let d = DistanceMatrix::cosine(x.view()).unwrap();
        assert!(matches!(fit(&d, 2, 1), Err(ClusterError::Data(_))));
    }

    #[test]
    fn deterministic_and_sweep_matches_single_fits() {
        let d = blobs(3, 20, 5, 0.6);
        let grid = sweep(&d, &[4, 8, 30], &[2, 5, 2]).unwrap();
        assert_eq!(grid.len(), 9);
        for g in &grid {
            let single = fit(&d, g.min_cluster_size, g.min_samples).unwrap();
            assert_eq!(g.result, single);
            assert_eq!(single, fit(&d, g.min_cluster_size, g.min_samples).unwrap());
            let k = g.result.n_clusters as i32;
            assert!(g.result.labels.iter().all(|&l| (-1..k).contains(&l)));
            // Numbered by first appearance.
            let mut seen = -1;
            for &l in &g.result.labels {
                assert!(l <= seen + 1);
                seen = seen.max(l);
            }
        }
        assert!(sweep(&d, &[], &[2]).unwrap().is_empty());
    }

    /// `mst_linkage_core` transcribed literally, as an oracle for the
    /// vectorised [`prim_mst`].
    fn library_prim(d: &DistanceMatrix, core: &[f32]) -> Vec<(u32, u32, f32)> {
        let n = d.len();
        let mut in_tree = vec![false; n];
        let mut current_distances = vec![f32::MAX; n];
        let mut current_sources = vec![0u32; n];
        let mut result = Vec::new();
        let mut current_node = 0;
        for _ in 1..n {
            in_tree[current_node] = true;
            let (mut new_distance, mut new_node, mut source_node) = (f32::MAX, 0, 0);
            for j in 0..n {
                if in_tree[j] {
                    continue;
                }
                let dist = d.get(current_node, j).max(core[current_node]).max(core[j]);
                if dist < current_distances[j] {
                    current_distances[j] = dist;
                    current_sources[j] = current_node as u32;
                }
                if current_distances[j] < new_distance {
                    new_distance = current_distances[j];
                    source_node = current_sources[j];
                    new_node = j;
                }
            }
            result.push((source_node, new_node as u32, new_distance));
            current_node = new_node;
        }
        result
    }

    #[test]
    fn prim_matches_the_library_including_ties() {
        // Manhattan distances between small integer points: many exact ties.
        let mut rng = Rng(42);
        for &(n, span) in &[(37usize, 4.0f32), (100, 6.0), (203, 3.0), (9, 2.0)] {
            let pts: Vec<[f32; 3]> = (0..n)
                .map(|_| [0, 1, 2].map(|_| (rng.next_f32() * span).floor()))
                .collect();
            let data = (0..n * n)
                .map(|k| {
                    let (a, b) = (pts[k / n], pts[k % n]);
                    (0..3).map(|t| (a[t] - b[t]).abs()).sum::<f32>()
                })
                .collect();
            let d = DistanceMatrix::from_raw(n, data).unwrap();
            for s in [1, 2, 5] {
                let core = core_distances(&d, s);
                assert_eq!(prim_mst(&d, &core), library_prim(&d, &core), "n={n} s={s}");
            }
        }
        let d = blobs(3, 40, 7, 0.5);
        let core = core_distances(&d, 4);
        assert_eq!(prim_mst(&d, &core), library_prim(&d, &core));
    }

    #[test]
    fn tiny_inputs() {
        // Two points: one merge, no cluster can split off the root.
        let d = line(&[0.0, 1.0]);
        let r = fit(&d, 2, 1).unwrap();
        assert_eq!(
            (r.labels, r.n_clusters, r.noise_fraction),
            (vec![-1, -1], 0, 1.0)
        );
        // Duplicates: zero distances give infinite lambdas without panics.
        let d = line(&[0.0, 0.0, 0.0, 5.0, 5.0, 5.0]);
        let r = fit(&d, 3, 1).unwrap();
        assert_eq!(r.labels, vec![0, 0, 0, 1, 1, 1]);
        // min_cluster_size above n in the low-level API: everything is noise.
        let tree = SingleLinkageTree::new(&d, 2).unwrap();
        assert_eq!(tree.clusters(100).n_clusters, 0);
        assert_eq!(tree.n_points(), 6);
    }
}
