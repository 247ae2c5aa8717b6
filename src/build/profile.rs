//! Building a profile from a labelled set and its embeddings.

use std::collections::BTreeMap;

use ndarray::ArrayView2;
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use sha2::{Digest, Sha256};

use super::routing_cv::{routing_cv, ROUTING_CV_PSEUDO_COUNTS};
use crate::cluster::kmeans::SphericalKMeans;
use crate::cluster::silhouette::{silhouette, SilhouetteSample};
use crate::cluster::sweep::{Candidate, CandidateParams, SweepOutcome, SweepValidParams};
use crate::cluster::{ClusterAlgorithm, ClusterError, Clustering, DistanceMatrix};
use crate::data::LabelledSet;
use crate::profile::{
    ClusteringAlgorithm, Counts, Metadata, Profile, RoutingDefaults, SelectionEntry,
    SelectionMethod, Shrinkage, ShrinkageMethod,
};
use crate::routing::{error_rates, round6};

/// Errors of profile building.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Clustering failed or its parameters are invalid.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A build parameter is invalid.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// Parameter name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The embeddings do not fit the labelled set.
    #[error("{0}")]
    Data(String),
}

/// Pseudo-counts tried by cross-validation.
const PSEUDO_COUNT_GRID: [f64; 10] = [0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0];

/// Profile build parameters, unchecked (builder).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileBuildParams {
    sweep: SweepValidParams,
    selection: Selection,
    pseudo_count: Option<f64>,
    cv_folds: usize,
    created_at: Option<String>,
}

/// How the clustering (and the shrinkage) is selected.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// The sweep's best mean cosine silhouette; the pseudo-count by
    /// cross-validated Brier score.
    Silhouette,
    /// Spherical KMeans with the K (from `ks`), the pseudo-count and the
    /// cluster assignment (from `top_ks`) that give the best held-out
    /// routing QAB (see [`routing_cv`](super::routing_cv)); the assignment
    /// is recorded as the profile's `metadata.routing`.
    RoutingCv {
        /// Candidate numbers of clusters. Those above the smallest
        /// cross-validation training fold are skipped (the selection table
        /// lists the Ks tried); none left is an error.
        ks: Vec<usize>,
        /// Candidate assignments, as the number of clusters mixed (1 =
        /// hard); [`ROUTING_CV_TOP_KS`](super::routing_cv::ROUTING_CV_TOP_KS)
        /// by default, `[1]` for a hard-assignment (UniRoute-style) router.
        top_ks: Vec<usize>,
    },
}

/// Default K grid of `--select routing-cv`.
pub const ROUTING_CV_KS: [usize; 9] = [5, 10, 15, 20, 30, 40, 50, 60, 80];

/// Checked profile build parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileBuildValidParams(ProfileBuildParams);

/// Profile builder (namespace for [`ProfileBuilder::params`]).
#[derive(Debug, Clone, Copy)]
pub struct ProfileBuilder;

impl ProfileBuilder {
    /// Parameters around a checked sweep: pseudo-count chosen by 5-fold
    /// cross-validation, no timestamp.
    pub fn params(sweep: SweepValidParams) -> ProfileBuildParams {
        ProfileBuildParams {
            sweep,
            selection: Selection::Silhouette,
            pseudo_count: None,
            cv_folds: 5,
            created_at: None,
        }
    }
}

impl ProfileBuildParams {
    /// How to select the clustering (default: silhouette).
    pub fn selection(mut self, selection: Selection) -> Self {
        self.selection = selection;
        self
    }
    /// Fixes the shrinkage pseudo-count instead of cross-validating it.
    pub fn pseudo_count(mut self, a: Option<f64>) -> Self {
        self.pseudo_count = a;
        self
    }
    /// Number of cross-validation folds for the pseudo-count.
    pub fn cv_folds(mut self, folds: usize) -> Self {
        self.cv_folds = folds;
        self
    }
    /// Records a build time (RFC 3339) in the metadata; off by default so
    /// builds are byte-identical.
    pub fn created_at(mut self, stamp: Option<String>) -> Self {
        self.created_at = stamp;
        self
    }
    /// Validates the parameters.
    pub fn check(self) -> Result<ProfileBuildValidParams, BuildError> {
        if let Some(a) = self.pseudo_count {
            if !(a.is_finite() && a >= 0.0) {
                return Err(BuildError::InvalidParam {
                    name: "pseudo_count",
                    reason: format!("must be a finite number ≥ 0, got {a}"),
                });
            }
        }
        if self.cv_folds < 2 {
            return Err(BuildError::InvalidParam {
                name: "cv_folds",
                reason: format!("must be at least 2, got {}", self.cv_folds),
            });
        }
        if let Selection::RoutingCv { ks, top_ks } = &self.selection {
            if ks.is_empty() || ks.iter().any(|&k| k < 2) {
                return Err(BuildError::InvalidParam {
                    name: "cv_ks",
                    reason: "needs at least one K, each at least 2".into(),
                });
            }
            let max = crate::routing::MAX_SOFT_TOP_K;
            if top_ks.is_empty() || top_ks.iter().any(|&t| !(1..=max).contains(&t)) {
                return Err(BuildError::InvalidParam {
                    name: "cv_top_ks",
                    reason: format!("needs at least one assignment, each in 1..={max}"),
                });
            }
        }
        Ok(ProfileBuildValidParams(self))
    }
}

/// A built profile with the sweep behind it.
#[derive(Debug, Clone)]
pub struct ProfileBuild {
    /// The profile.
    pub profile: Profile,
    /// Every clustering candidate, with labels (for reports).
    pub sweep: SweepOutcome,
}

impl ProfileBuildValidParams {
    /// Builds a profile. `x` holds one L2-normalised row per prompt of `set`;
    /// `progress(done, total, label)` reports the sweep.
    pub fn build(
        &self,
        set: &LabelledSet,
        x: ArrayView2<'_, f32>,
        embedding_model: &str,
        is_mock: bool,
        progress: &(dyn Fn(usize, usize, &str) + Sync),
    ) -> Result<ProfileBuild, BuildError> {
        let n = set.prompts.len();
        if x.nrows() != n {
            return Err(BuildError::Data(format!(
                "{} embeddings for {n} prompts",
                x.nrows()
            )));
        }
        let d = DistanceMatrix::cosine(x)?;
        let (sweep, selection, method, fixed_shrinkage, routing) = match &self.0.selection {
            Selection::Silhouette => {
                let sweep = self.0.sweep.run(x, &d, progress)?;
                let entries = sweep.candidates.iter().map(selection_entry).collect();
                (sweep, entries, SelectionMethod::Silhouette, None, None)
            }
            Selection::RoutingCv { ks, top_ks } => {
                self.routing_cv_outcome(set, x, &d, ks, top_ks, progress)?
            }
        };
        drop(d);
        let winner = sweep.winner();
        let (pseudo_count, shrinkage) = match (self.0.pseudo_count, fixed_shrinkage) {
            (Some(a), _) => (
                a,
                Shrinkage {
                    pseudo_count: a,
                    method: ShrinkageMethod::Fixed,
                    cv_scores: Vec::new(),
                },
            ),
            (None, Some(s)) => (s.pseudo_count, s),
            (None, None) => {
                let scores = cv_pseudo_count(
                    set,
                    &winner.labels,
                    winner.n_clusters,
                    self.0.cv_folds,
                    self.0.sweep.seed(),
                );
                let best = scores
                    .iter()
                    .fold(scores[0], |b, s| if s[1] < b[1] { *s } else { b });
                (
                    best[0],
                    Shrinkage {
                        pseudo_count: best[0],
                        method: ShrinkageMethod::CrossValidation,
                        cv_scores: scores.iter().map(|s| [s[0], round6(s[1])]).collect(),
                    },
                )
            }
        };
        let profile = assemble(
            set,
            x,
            winner,
            selection,
            method,
            pseudo_count,
            shrinkage,
            routing,
            embedding_model,
            is_mock,
            self,
        )?;
        Ok(ProfileBuild { profile, sweep })
    }
}

/// The assignment K is selected with: hard (1) when tried, else the
/// fewest clusters mixed.
fn best_top_k(top_ks: &[usize]) -> usize {
    top_ks.iter().copied().min().unwrap_or(1)
}

/// A selection's outcome: the candidates (winner marked), the table for the
/// metadata, the method's name and, when it chose them, the shrinkage and
/// the cluster assignment.
type Selected = (
    SweepOutcome,
    Vec<SelectionEntry>,
    SelectionMethod,
    Option<Shrinkage>,
    Option<RoutingDefaults>,
);

fn selection_entry(c: &Candidate) -> SelectionEntry {
    SelectionEntry {
        algorithm: ClusteringAlgorithm::from_name(c.algorithm.name()),
        params: serde_json::to_value(&c.params).unwrap_or_default(),
        n_clusters: c.n_clusters,
        noise_fraction: round6(c.noise_fraction),
        silhouette: c.silhouette.map(round6),
        rejected: c.rejected.clone(),
        cv_qab: None,
        cv_pseudo_count: None,
        cv_top_k: None,
        cv_top_k_qab: None,
        cv_top_k_pseudo_count: None,
    }
}

impl ProfileBuildValidParams {
    /// Routing cross-validation over `ks`, then the winner fitted on all the
    /// data: one candidate, the selection table, and the chosen shrinkage.
    fn routing_cv_outcome(
        &self,
        set: &LabelledSet,
        x: ArrayView2<'_, f32>,
        d: &DistanceMatrix,
        ks: &[usize],
        top_ks: &[usize],
        progress: &(dyn Fn(usize, usize, &str) + Sync),
    ) -> Result<Selected, BuildError> {
        let seed = self.0.sweep.seed();
        let runs = self.0.sweep.kmeans_runs();
        let kmeans = |k: usize| -> Result<Box<dyn ClusterAlgorithm>, ClusterError> {
            Ok(Box::new(
                SphericalKMeans::params(k).seed(seed).n_runs(runs).check()?,
            ))
        };
        let scores = routing_cv(set, x, ks, top_ks, self.0.cv_folds, seed, &kmeans, progress)?;
        // K (and its pseudo-count) is chosen with hard assignment, as a
        // UniRoute-style router would; the assignment is then chosen at that
        // K. Choosing all three jointly lets the noisier soft scores pick a
        // K that generalises worse (measured: BENCHMARKS.md).
        let hard = best_top_k(top_ks);
        let best = scores.iter().fold(&scores[0], |b, s| {
            if s.best_for(hard).qab > b.best_for(hard).qab {
                s
            } else {
                b
            }
        });
        let choice = best.best();
        let a = choice.pseudo_count;
        let Clustering {
            labels, centroids, ..
        } = kmeans(best.k)?.fit(x, Some(d))?;
        let k = centroids.nrows();
        let s = silhouette(
            d,
            &labels,
            k,
            &SilhouetteSample::for_size(x.nrows(), self.0.sweep.silhouette_max_exact(), seed),
        )?;
        let winner = Candidate::kmeans(CandidateParams::KMeans { k: best.k }, labels, centroids, s);
        let entries = scores
            .iter()
            .map(|sc| {
                // The K criterion (hard assignment), then the best
                // assignment at this K.
                let h = sc.best_for(hard);
                let c = sc.best();
                SelectionEntry {
                    algorithm: ClusteringAlgorithm::KMeans,
                    params: serde_json::json!({ "k": sc.k }),
                    n_clusters: sc.k,
                    noise_fraction: 0.0,
                    silhouette: (sc.k == best.k).then(|| round6(s)),
                    rejected: None,
                    cv_qab: Some(round6(h.qab)),
                    cv_pseudo_count: Some(h.pseudo_count),
                    cv_top_k: Some(c.top_k),
                    cv_top_k_qab: Some(round6(c.qab)),
                    cv_top_k_pseudo_count: Some(c.pseudo_count),
                }
            })
            .collect();
        let shrinkage = Shrinkage {
            pseudo_count: a,
            method: ShrinkageMethod::RoutingCv,
            cv_scores: ROUTING_CV_PSEUDO_COUNTS
                .iter()
                .zip(best.qab_for(choice.top_k))
                .map(|(&a, &q)| [a, round6(q)])
                .collect(),
        };
        let mut routing = if choice.top_k > 1 {
            RoutingDefaults::soft(choice.top_k)
        } else {
            RoutingDefaults::hard()
        };
        routing.cv_scores = best
            .top_ks
            .iter()
            .map(|&t| [t as f64, round6(best.best_for(t).qab)])
            .collect();
        Ok((
            SweepOutcome {
                candidates: vec![winner],
                best: 0,
            },
            entries,
            SelectionMethod::RoutingCv,
            Some(shrinkage),
            Some(routing),
        ))
    }
}

#[allow(clippy::too_many_arguments)]
fn assemble(
    set: &LabelledSet,
    x: ArrayView2<'_, f32>,
    winner: &Candidate,
    selection: Vec<SelectionEntry>,
    selection_method: SelectionMethod,
    pseudo_count: f64,
    shrinkage: Shrinkage,
    routing: Option<RoutingDefaults>,
    embedding_model: &str,
    is_mock: bool,
    params: &ProfileBuildValidParams,
) -> Result<Profile, BuildError> {
    let k = winner.n_clusters;
    let counts = cluster_counts(set, &winner.labels, k, None);
    let mut llm_profiles = BTreeMap::new();
    let mut count_map = BTreeMap::new();
    for (m, spec) in set.models.iter().enumerate() {
        let rates = error_rates(
            &counts.n,
            &counts.errors[m],
            counts.global_error(m),
            pseudo_count,
        );
        llm_profiles.insert(spec.name.clone(), rates.into_iter().map(round6).collect());
        count_map.insert(
            spec.name.clone(),
            Counts {
                n: counts.n.clone(),
                errors: counts.errors[m].iter().map(|&e| round6(e)).collect(),
            },
        );
    }
    let metadata = Metadata {
        n_clusters: k,
        feature_dim: x.ncols(),
        embedding_model: embedding_model.to_string(),
        is_mock,
        silhouette_score: winner.silhouette.map(round6),
        clustering_algorithm: ClusteringAlgorithm::from_name(winner.algorithm.name()),
        params: serde_json::to_value(&winner.params).unwrap_or_default(),
        selection,
        noise_fraction: round6(winner.noise_fraction),
        dataset_sha256: dataset_sha256(set, x),
        seed: params.0.sweep.seed(),
        generator: format!("aurora-router {}", crate::VERSION),
        selection_method: Some(selection_method),
        shrinkage: Some(shrinkage),
        routing,
        created_at: params.0.created_at.clone(),
        extra: Default::default(),
    };
    let profile = Profile {
        metadata,
        centroids: winner
            .centroids
            .iter()
            .map(|&v| half::f16::from_f32(v).to_f32())
            .collect(),
        cluster_sizes: counts.n.clone(),
        llm_profiles,
        counts: count_map,
        models: set.models.clone(),
    };
    profile
        .validate()
        .map_err(|e| BuildError::Data(format!("built an invalid profile: {e}")))?;
    Ok(profile)
}

/// Per-cluster counts: prompts per cluster and summed error per model.
#[derive(Debug, Clone)]
pub(crate) struct ClusterCounts {
    pub(crate) n: Vec<u64>,
    /// `errors[model][cluster]`.
    pub(crate) errors: Vec<Vec<f64>>,
}

impl ClusterCounts {
    pub(crate) fn global_error(&self, m: usize) -> f64 {
        let total: u64 = self.n.iter().sum();
        if total == 0 {
            return 0.5;
        }
        self.errors[m].iter().sum::<f64>() / total as f64
    }
}

/// Counts over the prompts whose fold is not `skip_fold` (all when `None`).
pub(crate) fn cluster_counts(
    set: &LabelledSet,
    labels: &[usize],
    k: usize,
    skip: Option<(&[usize], usize)>,
) -> ClusterCounts {
    let m = set.models.len();
    let mut n = vec![0u64; k];
    let mut errors = vec![vec![0.0f64; k]; m];
    for (p, &c) in labels.iter().enumerate() {
        if let Some((folds, f)) = skip {
            if folds[p] == f {
                continue;
            }
        }
        n[c] += 1;
        for (j, &correct) in set.results.correctness[p].iter().enumerate() {
            errors[j][c] += 1.0 - correct;
        }
    }
    ClusterCounts { n, errors }
}

/// Cross-validated Brier score of the shrunk rates for each pseudo-count in
/// the grid: prompts are split into seeded folds; rates estimated on the
/// other folds predict each held-out prompt's per-model error.
fn cv_pseudo_count(
    set: &LabelledSet,
    labels: &[usize],
    k: usize,
    folds: usize,
    seed: u64,
) -> Vec<[f64; 2]> {
    let n = labels.len();
    let fold_of = seeded_folds(n, folds, seed);
    let m = set.models.len();
    let fold_counts: Vec<ClusterCounts> = (0..folds)
        .map(|f| cluster_counts(set, labels, k, Some((&fold_of, f))))
        .collect();
    PSEUDO_COUNT_GRID
        .iter()
        .map(|&a| {
            let mut sq = 0.0;
            for (f, counts) in fold_counts.iter().enumerate() {
                let rates: Vec<Vec<f64>> = (0..m)
                    .map(|j| error_rates(&counts.n, &counts.errors[j], counts.global_error(j), a))
                    .collect();
                for p in (0..n).filter(|&p| fold_of[p] == f) {
                    for (j, rates) in rates.iter().enumerate() {
                        let err = 1.0 - set.results.correctness[p][j];
                        sq += (rates[labels[p]] - err).powi(2);
                    }
                }
            }
            [a, sq / (n * m) as f64]
        })
        .collect()
}

/// Fold of each of `n` items: a seeded permutation dealt round-robin.
pub(crate) fn seeded_folds(n: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0xf01d);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let mut fold_of = vec![0; n];
    for (rank, &i) in order.iter().enumerate() {
        fold_of[i] = rank % folds;
    }
    fold_of
}

/// SHA-256 over the training data's content: ids, texts, model names and
/// costs, the correctness matrix and the embeddings (little-endian f32),
/// each field length-prefixed. Independent of file formatting.
pub fn dataset_sha256(set: &LabelledSet, x: ArrayView2<'_, f32>) -> String {
    let mut h = Sha256::new();
    let mut field = |b: &[u8]| {
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    };
    for p in &set.prompts {
        field(p.id.as_bytes());
        field(p.text.as_bytes());
    }
    for m in &set.models {
        field(m.name.as_bytes());
        field(&m.cost.to_le_bytes());
    }
    for row in &set.results.correctness {
        let bytes: Vec<u8> = row.iter().flat_map(|v| v.to_le_bytes()).collect();
        field(&bytes);
    }
    for row in x.rows() {
        let bytes: Vec<u8> = row.iter().flat_map(|v| v.to_le_bytes()).collect();
        field(&bytes);
    }
    let digest = h.finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
