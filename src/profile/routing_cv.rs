//! Choosing K and the shrinkage by routing cross-validation.
//!
//! Silhouette rewards compact, well separated clusters; a router needs
//! clusters in which the models' error rates differ. On MMLU-Pro the K that
//! maximises silhouette (≈ 10–15) is far smaller than the K that routes best,
//! so `--select routing-cv` scores each (K, pseudo-count) pair by what the
//! router would actually achieve on held-out prompts:
//!
//! 1. prompts are split into seeded folds;
//! 2. for each fold and K, spherical KMeans is fitted on the other folds, the
//!    held-out prompts are assigned to their nearest centroid, and per-cluster
//!    error rates are estimated on the training folds with each pseudo-count;
//! 3. the router's deferral curve on the held-out prompts (a dense λ sweep of
//!    `error + λ·cost/max_cost`) gives its quality at budget (QAB: the best
//!    accuracy within 5…100 % of the most expensive model's cost, mixing two
//!    adjacent curve points), averaged over the budgets;
//! 4. the pair with the best mean QAB over folds wins.
//!
//! With hard assignment a held-out prompt's expected errors depend only on
//! its cluster, so each λ costs `O(K·M)` given per-cluster sums of the
//! held-out correctness.

use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;

use super::build::{cluster_counts, seeded_folds, BuildError};
use super::update::error_rates;
use crate::cluster::kmeans::{assign_nearest, SphericalKMeans};
use crate::dataset::LabelledSet;
use crate::eval::{choose, default_lambdas, qab, QAB_BUDGETS};

/// Pseudo-counts tried by routing cross-validation.
pub const ROUTING_CV_PSEUDO_COUNTS: [f64; 9] =
    [0.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0];

/// One K of the routing cross-validation.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingCvScore {
    /// Number of clusters.
    pub k: usize,
    /// Mean held-out QAB for each pseudo-count of [`ROUTING_CV_PSEUDO_COUNTS`].
    pub qab: Vec<f64>,
}

impl RoutingCvScore {
    /// The best pseudo-count for this K and its QAB.
    pub fn best(&self) -> (f64, f64) {
        let mut best = (ROUTING_CV_PSEUDO_COUNTS[0], self.qab[0]);
        for (&a, &q) in ROUTING_CV_PSEUDO_COUNTS.iter().zip(&self.qab) {
            if q > best.1 {
                best = (a, q);
            }
        }
        best
    }
}

/// Runs routing cross-validation for every K in `ks`.
pub fn routing_cv(
    set: &LabelledSet,
    x: ArrayView2<'_, f32>,
    ks: &[usize],
    folds: usize,
    seed: u64,
    kmeans_runs: usize,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<Vec<RoutingCvScore>, BuildError> {
    let n = x.nrows();
    let fold_of = seeded_folds(n, folds, seed);
    let costs: Vec<f64> = set.models.iter().map(|m| m.cost).collect();
    // Every fourth λ of the evaluation grid (12 per decade) is plenty here.
    let lambdas: Vec<f64> = default_lambdas()
        .into_iter()
        .step_by(4)
        .chain([f64::INFINITY])
        .collect();
    let max_cost = costs.iter().copied().fold(0.0, f64::max);
    let total = ks.len() * folds;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let jobs: Vec<(usize, usize)> = ks
        .iter()
        .flat_map(|&k| (0..folds).map(move |f| (k, f)))
        .collect();
    let per_job: Vec<Vec<f64>> = jobs
        .par_iter()
        .map(|&(k, f)| {
            let train: Vec<usize> = (0..n).filter(|&i| fold_of[i] != f).collect();
            let test: Vec<usize> = (0..n).filter(|&i| fold_of[i] == f).collect();
            if train.len() < k || test.is_empty() {
                return Err(BuildError::InvalidParam {
                    name: "cv_ks",
                    reason: format!("K={k} is too large for {n} prompts in {folds} folds"),
                });
            }
            let xt = x.select(Axis(0), &train);
            let fit = SphericalKMeans::params(k)
                .seed(seed)
                .n_runs(kmeans_runs)
                .check()?
                .fit(xt.view())?;
            let mut train_labels = vec![usize::MAX; n];
            for (&i, &l) in train.iter().zip(&fit.labels) {
                train_labels[i] = l;
            }
            let counts = cluster_counts(set, &train_labels, k, Some((&fold_of, f)));
            let test_labels = assign_nearest(x.select(Axis(0), &test).view(), fit.centroids.view());
            // Per-cluster count and summed correctness of the held-out prompts.
            let m = costs.len();
            let mut held_n = vec![0usize; k];
            let mut held_correct = vec![vec![0.0f64; m]; k];
            for (&p, &c) in test.iter().zip(&test_labels) {
                held_n[c] += 1;
                for (j, &v) in set.results.correctness[p].iter().enumerate() {
                    held_correct[c][j] += v;
                }
            }
            let qabs = ROUTING_CV_PSEUDO_COUNTS
                .iter()
                .map(|&a| {
                    let rates: Vec<Vec<f64>> = (0..m)
                        .map(|j| {
                            error_rates(&counts.n, &counts.errors[j], counts.global_error(j), a)
                        })
                        .collect();
                    let curve = cluster_curve(&rates, &costs, &held_n, &held_correct, &lambdas);
                    qab(&curve, max_cost, &QAB_BUDGETS).mean
                })
                .collect();
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(d, total, &format!("routing-cv k={k} fold {}", f + 1));
            Ok(qabs)
        })
        .collect::<Result<_, BuildError>>()?;
    Ok(ks
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let rows = &per_job[i * folds..(i + 1) * folds];
            let qab = (0..ROUTING_CV_PSEUDO_COUNTS.len())
                .map(|a| rows.iter().map(|r| r[a]).sum::<f64>() / folds as f64)
                .collect();
            RoutingCvScore { k, qab }
        })
        .collect())
}

/// (mean cost, accuracy) of hard-assignment routing for each λ, with the
/// router's own choice rule ([`choose`]).
fn cluster_curve(
    rates: &[Vec<f64>],
    costs: &[f64],
    held_n: &[usize],
    held_correct: &[Vec<f64>],
    lambdas: &[f64],
) -> Vec<(f64, f64)> {
    let total: usize = held_n.iter().sum();
    // Per cluster, every model's expected error.
    let by_cluster: Vec<Vec<f64>> = (0..held_n.len())
        .map(|c| rates.iter().map(|r| r[c]).collect())
        .collect();
    lambdas
        .iter()
        .map(|&lambda| {
            let (mut cost, mut correct) = (0.0, 0.0);
            for (c, &nc) in held_n.iter().enumerate() {
                if nc == 0 {
                    continue;
                }
                let pick = choose(&by_cluster[c], costs, lambda);
                cost += costs[pick] * nc as f64;
                correct += held_correct[c][pick];
            }
            (cost / total as f64, correct / total as f64)
        })
        .collect()
}
