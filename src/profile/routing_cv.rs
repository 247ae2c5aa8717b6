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

/// QAB budgets, as fractions of the most expensive model's cost.
pub const QAB_BUDGETS: [f64; 9] = [0.05, 0.10, 0.15, 0.20, 0.30, 0.40, 0.50, 0.75, 1.00];

/// Pseudo-counts tried by routing cross-validation.
pub const ROUTING_CV_PSEUDO_COUNTS: [f64; 9] = [0.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0];

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
    let lambdas = lambda_grid();
    let total = ks.len() * folds;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let jobs: Vec<(usize, usize)> = ks.iter().flat_map(|&k| (0..folds).map(move |f| (k, f))).collect();
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
            let fit = SphericalKMeans::params(k).seed(seed).n_runs(kmeans_runs).check()?.fit(xt.view())?;
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
                        .map(|j| error_rates(&counts.n, &counts.errors[j], counts.global_error(j), a))
                        .collect();
                    let curve = cluster_curve(&rates, &costs, &held_n, &held_correct, &lambdas);
                    mean_qab(&curve, &costs)
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

/// λ values of the sweep: 0, a geometric grid over 1e-4 … 1e4, and ∞.
fn lambda_grid() -> Vec<f64> {
    let mut l = vec![0.0];
    l.extend((0..=160).map(|i| 10f64.powf(-4.0 + 8.0 * i as f64 / 160.0)));
    l.push(f64::INFINITY);
    l
}

/// (mean cost, accuracy) of hard-assignment routing for each λ.
fn cluster_curve(
    rates: &[Vec<f64>],
    costs: &[f64],
    held_n: &[usize],
    held_correct: &[Vec<f64>],
    lambdas: &[f64],
) -> Vec<(f64, f64)> {
    let max_cost = costs.iter().cloned().fold(0.0, f64::max);
    let total: usize = held_n.iter().sum();
    lambdas
        .iter()
        .map(|&lambda| {
            let (mut cost, mut correct) = (0.0, 0.0);
            for (c, &nc) in held_n.iter().enumerate() {
                if nc == 0 {
                    continue;
                }
                let pick = choose(rates.iter().map(|r| r[c]), costs, max_cost, lambda);
                cost += costs[pick] * nc as f64;
                correct += held_correct[c][pick];
            }
            (cost / total as f64, correct / total as f64)
        })
        .collect()
}

/// The model minimising `error + λ·cost/max_cost` (λ = ∞: the cheapest, ties
/// by lower error); ties go to the lower index.
fn choose(errors: impl Iterator<Item = f64>, costs: &[f64], max_cost: f64, lambda: f64) -> usize {
    let mut best = (0, f64::INFINITY, f64::INFINITY);
    for (j, e) in errors.enumerate() {
        let key = if lambda.is_infinite() { (costs[j], e) } else { (e + lambda * costs[j] / max_cost, 0.0) };
        if key.0 < best.1 || (key.0 == best.1 && key.1 < best.2) {
            best = (j, key.0, key.1);
        }
    }
    best.0
}

/// Mean over [`QAB_BUDGETS`] of the best accuracy reachable within each
/// budget by mixing two curve points (the upper concave envelope).
pub fn mean_qab(curve: &[(f64, f64)], costs: &[f64]) -> f64 {
    let max_cost = costs.iter().cloned().fold(0.0, f64::max);
    let hull = upper_envelope(curve);
    QAB_BUDGETS
        .iter()
        .map(|b| envelope_at(&hull, b * max_cost))
        .sum::<f64>()
        / QAB_BUDGETS.len() as f64
}

/// Upper concave envelope of (cost, accuracy) points, non-decreasing in cost.
fn upper_envelope(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut p: Vec<(f64, f64)> = points.to_vec();
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut hull: Vec<(f64, f64)> = Vec::new();
    for q in p {
        if hull.last().is_some_and(|h| q.1 <= h.1) {
            continue; // dominated: costs more, no better
        }
        while hull.len() >= 2 {
            let (a, b) = (hull[hull.len() - 2], hull[hull.len() - 1]);
            // Drop b if it lies on or below the segment a → q.
            if (b.1 - a.1) * (q.0 - a.0) <= (q.1 - a.1) * (b.0 - a.0) {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(q);
    }
    hull
}

/// The envelope's accuracy at `budget` (0 when even its cheapest point costs more).
fn envelope_at(hull: &[(f64, f64)], budget: f64) -> f64 {
    match hull.iter().position(|h| h.0 > budget) {
        Some(0) => 0.0,
        None => hull.last().map(|h| h.1).unwrap_or(0.0),
        Some(i) => {
            let (a, b) = (hull[i - 1], hull[i]);
            a.1 + (b.1 - a.1) * (budget - a.0) / (b.0 - a.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_mixes_adjacent_points() {
        let hull = upper_envelope(&[(1.0, 0.4), (2.0, 0.45), (3.0, 0.7), (10.0, 0.8), (5.0, 0.5)]);
        assert_eq!(hull, vec![(1.0, 0.4), (3.0, 0.7), (10.0, 0.8)]);
        assert!((envelope_at(&hull, 2.0) - 0.55).abs() < 1e-12);
        assert_eq!(envelope_at(&hull, 0.5), 0.0);
        assert_eq!(envelope_at(&hull, 20.0), 0.8);
    }

    #[test]
    fn single_model_qab_is_its_accuracy_within_budget() {
        // One model costing 100 (the maximum): only the 100 % budget fits it.
        let q = mean_qab(&[(100.0, 0.6)], &[100.0]);
        assert!((q - 0.6 / 9.0).abs() < 1e-12);
    }
}
