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
//! 4. the K with the best mean QAB over folds under hard assignment wins
//!    (as a UniRoute-style router would choose it), then the (assignment,
//!    pseudo-count) pair with the best mean QAB at that K.
//!
//! The cluster assignment is cross-validated the same way: hard (the nearest
//! cluster, `top_k = 1`) or soft over the `top_k` nearest clusters weighted
//! by `exp((s − s_max) / T)` at the router's default temperature, exactly as
//! [`Router`](crate::route::Router) mixes them. On MMLU-Pro soft assignment
//! over a few clusters gains ≈ 0.002 QAB over hard on every fold
//! (BENCHMARKS.md); selecting it by cross-validation keeps hard assignment
//! where it does not help.
//!
//! With hard assignment a held-out prompt's expected errors depend only on
//! its cluster, so each λ costs `O(K·M)` given per-cluster sums of the
//! held-out correctness; soft rows go through
//! [`curve_from_expected_errors`] (one envelope walk per prompt).

use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;

use super::profile::{cluster_counts, seeded_folds, BuildError};
use crate::cluster::{ClusterAlgorithm, ClusterError};
use crate::data::LabelledSet;
use crate::eval::{curve_from_expected_errors, default_lambdas, qab, QAB_BUDGETS};
use crate::routing::{choose, error_rates, mix, TopK, DEFAULT_TEMPERATURE};

/// Pseudo-counts tried by routing cross-validation.
pub const ROUTING_CV_PSEUDO_COUNTS: [f64; 9] =
    [0.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0];

/// Default assignments tried by routing cross-validation, as the number of
/// clusters mixed: 1 is hard assignment.
pub const ROUTING_CV_TOP_KS: [usize; 4] = [1, 4, 8, 16];

/// One K of the routing cross-validation.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingCvScore {
    /// Number of clusters.
    pub k: usize,
    /// The assignments tried (clusters mixed; 1 = hard).
    pub top_ks: Vec<usize>,
    /// Mean held-out QAB: `qab[a][p]` for assignment `top_ks[a]` and
    /// pseudo-count `ROUTING_CV_PSEUDO_COUNTS[p]`.
    pub qab: Vec<Vec<f64>>,
}

/// The best setting found for one K.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoutingCvChoice {
    /// Clusters mixed (1 = hard assignment).
    pub top_k: usize,
    /// Shrinkage pseudo-count.
    pub pseudo_count: f64,
    /// Its mean held-out QAB.
    pub qab: f64,
}

impl RoutingCvScore {
    /// The best (assignment, pseudo-count) for this K; ties go to the
    /// assignment tried first, then the smaller pseudo-count.
    pub fn best(&self) -> RoutingCvChoice {
        let mut best = self.best_for(self.top_ks[0]);
        for &t in &self.top_ks[1..] {
            let c = self.best_for(t);
            if c.qab > best.qab {
                best = c;
            }
        }
        best
    }

    /// Position of `top_k` in [`top_ks`](Self::top_ks); the first when it
    /// was not tried.
    fn position(&self, top_k: usize) -> usize {
        self.top_ks.iter().position(|&t| t == top_k).unwrap_or(0)
    }

    /// The mean held-out QAB of one assignment for each pseudo-count of
    /// [`ROUTING_CV_PSEUDO_COUNTS`] (`top_k` must be one of
    /// [`top_ks`](Self::top_ks); otherwise the first is used).
    pub fn qab_for(&self, top_k: usize) -> &[f64] {
        &self.qab[self.position(top_k)]
    }

    /// The best pseudo-count for one assignment (`top_k` must be one of
    /// [`top_ks`](Self::top_ks); otherwise the first is used).
    pub fn best_for(&self, top_k: usize) -> RoutingCvChoice {
        let row = self.qab_for(top_k);
        let mut best = RoutingCvChoice {
            top_k: self.top_ks[self.position(top_k)],
            pseudo_count: ROUTING_CV_PSEUDO_COUNTS[0],
            qab: row[0],
        };
        for (&pc, &q) in ROUTING_CV_PSEUDO_COUNTS.iter().zip(row) {
            if q > best.qab {
                best.pseudo_count = pc;
                best.qab = q;
            }
        }
        best
    }
}

/// A clustering algorithm for each number of clusters K: what routing
/// cross-validation chooses among. Any [`ClusterAlgorithm`] with a K
/// parameter fits (spherical KMeans is the profile builder's).
pub type KFamily<'a> = dyn Fn(usize) -> Result<Box<dyn ClusterAlgorithm>, ClusterError> + Sync + 'a;

/// Runs routing cross-validation for every K in `ks` and every assignment
/// in `top_ks` (clusters mixed; 1 = hard). `x` holds unit-length rows;
/// `algorithm(k)` is the clustering fitted on each training fold.
///
/// Ks larger than the smallest training fold are skipped: the scores
/// returned cover the Ks that could be tried, in the order given.
#[allow(clippy::too_many_arguments)]
pub fn routing_cv(
    set: &LabelledSet,
    x: ArrayView2<'_, f32>,
    ks: &[usize],
    top_ks: &[usize],
    folds: usize,
    seed: u64,
    algorithm: &KFamily<'_>,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<Vec<RoutingCvScore>, BuildError> {
    let n = x.nrows();
    if n < folds {
        return Err(BuildError::InvalidParam {
            name: "cv_folds",
            reason: format!("{folds} folds need at least {folds} prompts, got {n}"),
        });
    }
    // A K above the smallest training fold cannot be fitted; such Ks are
    // skipped (a small labelled set still gets the Ks it can afford), and
    // only a list with none left is an error.
    let min_train = n - n.div_ceil(folds);
    let ks: Vec<usize> = ks.iter().copied().filter(|&k| k <= min_train).collect();
    if ks.is_empty() {
        return Err(BuildError::InvalidParam {
            name: "cv_ks",
            reason: format!(
                "every K is above {min_train}, the smallest training fold of {n} prompts in {folds} folds"
            ),
        });
    }
    let ks = &ks[..];
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
    if top_ks.is_empty() || top_ks.contains(&0) {
        return Err(BuildError::InvalidParam {
            name: "cv_top_ks",
            reason: "needs at least one assignment, each mixing at least 1 cluster".into(),
        });
    }
    let per_job: Vec<Vec<Vec<f64>>> = jobs
        .par_iter()
        .map(|&(k, f)| {
            let train: Vec<usize> = (0..n).filter(|&i| fold_of[i] != f).collect();
            let test: Vec<usize> = (0..n).filter(|&i| fold_of[i] == f).collect();
            let xt = x.select(Axis(0), &train);
            let fit = algorithm(k)?.fit(xt.view(), None)?;
            // Clusters left empty are dropped by the fit.
            let k = fit.centroids.nrows();
            let mut train_labels = vec![usize::MAX; n];
            for (&i, &l) in train.iter().zip(&fit.labels) {
                train_labels[i] = l;
            }
            let counts = cluster_counts(set, &train_labels, k, Some((&fold_of, f)));
            // Every held-out prompt's nearest clusters, most similar first:
            // the first is its hard assignment.
            let nearest = nearest_clusters(
                x.select(Axis(0), &test).view(),
                fit.centroids.view(),
                top_ks,
            );
            let test_labels = nearest.iter().map(|nb| nb[0].1 as usize);
            // Per-cluster count and summed correctness of the held-out prompts.
            let m = costs.len();
            let mut held_n = vec![0usize; k];
            let mut held_correct = vec![vec![0.0f64; m]; k];
            for (&p, c) in test.iter().zip(test_labels) {
                held_n[c] += 1;
                for (j, &v) in set.results.correctness[p].iter().enumerate() {
                    held_correct[c][j] += v;
                }
            }
            // Soft assignment scores each prompt on its own.
            let test_correct: Vec<Vec<f64>> = if top_ks.iter().any(|&t| t > 1) {
                test.iter()
                    .map(|&p| set.results.correctness[p].clone())
                    .collect()
            } else {
                Vec::new()
            };
            let rates_by_pc: Vec<Vec<Vec<f64>>> = ROUTING_CV_PSEUDO_COUNTS
                .iter()
                .map(|&a| {
                    (0..m)
                        .map(|j| {
                            error_rates(&counts.n, &counts.errors[j], counts.global_error(j), a)
                        })
                        .collect()
                })
                .collect();
            let qabs = top_ks
                .iter()
                .map(|&t| {
                    rates_by_pc
                        .iter()
                        .map(|rates| {
                            let curve = if t > 1 {
                                let expected = soft_expected(rates, &nearest, t);
                                curve_from_expected_errors(
                                    &expected,
                                    &costs,
                                    &test_correct,
                                    &lambdas,
                                )
                                .map_err(|e| BuildError::Data(e.to_string()))?
                                .iter()
                                .map(|p| (p.mean_cost, p.accuracy))
                                .collect()
                            } else {
                                cluster_curve(rates, &costs, &held_n, &held_correct, &lambdas)
                            };
                            Ok(qab(&curve, max_cost, &QAB_BUDGETS).mean)
                        })
                        .collect::<Result<Vec<f64>, BuildError>>()
                })
                .collect::<Result<Vec<_>, BuildError>>()?;
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
            let qab = (0..top_ks.len())
                .map(|t| {
                    (0..ROUTING_CV_PSEUDO_COUNTS.len())
                        .map(|a| rows.iter().map(|r| r[t][a]).sum::<f64>() / folds as f64)
                        .collect()
                })
                .collect();
            RoutingCvScore {
                k,
                top_ks: top_ks.to_vec(),
                qab,
            }
        })
        .collect())
}

/// For each row of `x`, its `max(top_ks)` most similar centroids as
/// `(similarity, cluster)`, most similar first (ties to the lower index), by
/// the routing core's [`TopK`], as the router orders them.
fn nearest_clusters(
    x: ArrayView2<'_, f32>,
    centroids: ArrayView2<'_, f32>,
    top_ks: &[usize],
) -> Vec<Vec<(f32, u32)>> {
    let t = top_ks
        .iter()
        .copied()
        .max()
        .unwrap_or(1)
        .min(centroids.nrows());
    x.dot(&centroids.t())
        .rows()
        .into_iter()
        .map(|r| {
            let mut top = TopK::new(t);
            for (c, &s) in r.iter().enumerate() {
                top.insert(s, c);
            }
            top.as_slice().to_vec()
        })
        .collect()
}

/// Every prompt's expected errors under soft assignment over its `top_k`
/// nearest clusters, mixed by the routing core ([`mix`]) at the default
/// temperature; `rates[m][c]` are the cluster rates.
fn soft_expected(rates: &[Vec<f64>], nearest: &[Vec<(f32, u32)>], top_k: usize) -> Vec<Vec<f64>> {
    let inv_t = 1.0 / DEFAULT_TEMPERATURE;
    let k = rates.first().map_or(0, Vec::len);
    let by_cluster: Vec<Vec<f64>> = (0..k)
        .map(|c| rates.iter().map(|r| r[c]).collect())
        .collect();
    nearest
        .iter()
        .map(|nb| {
            let mut out = vec![0.0f64; rates.len()];
            mix(
                &nb[..top_k.min(nb.len())],
                inv_t,
                |c| &by_cluster[c][..],
                &mut out,
            );
            out
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_expected_mixes_like_the_router() {
        // Two models, three clusters.
        let rates = vec![vec![0.1, 0.5, 0.9], vec![0.3, 0.3, 0.0]];
        let x = ndarray::array![[1.0f32, 0.0], [0.6, 0.8]];
        let c = ndarray::array![[1.0f32, 0.0], [0.0, 1.0], [0.8, 0.6]];
        let nb = nearest_clusters(x.view(), c.view(), &[1, 2, 8]);
        // Capped at K, most similar first.
        assert_eq!(nb[0].iter().map(|p| p.1).collect::<Vec<_>>(), [0u32, 2, 1]);
        // Row 1's similarities are 0.6, 0.8 and 0.96.
        assert_eq!(nb[1].iter().map(|p| p.1).collect::<Vec<_>>(), [2u32, 1, 0]);
        // top_k = 1 is the nearest cluster's row.
        let hard = soft_expected(&rates, &nb, 1);
        assert_eq!(hard[0], [0.1, 0.3]);
        assert_eq!(hard[1], [0.9, 0.0]);
        // Top 2 of row 1: cluster 2 with weight 1, cluster 1 with
        // exp((0.8 − 0.96) / T).
        let soft = soft_expected(&rates, &nb, 2);
        let w = f64::from((0.8f32 - 0.96) / DEFAULT_TEMPERATURE).exp();
        let want = (0.9 + w * 0.5) / (1.0 + w);
        assert!((soft[1][0] - want).abs() < 1e-6, "{} vs {want}", soft[1][0]);
    }
}
